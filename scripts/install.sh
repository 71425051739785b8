#!/bin/sh
# Installs eventd: the binary, the systemd unit, a default config (an existing one is kept), the
# man page eventd(1) and the bash completion script.
#
#   sh scripts/install.sh                 # after `make publish`, as root
#   DESTDIR=/tmp/stage sh scripts/install.sh
#
# Environment:
#   PREFIX         where the binary goes, under $PREFIX/bin (default /usr/local); the unit's
#                  ExecStart follows it
#   DESTDIR        staging root prepended to every path (packaging, tests); nothing is started
#   EVENTD_BINARY  the binary to install (default artifacts/eventd; artifacts/eventd.dbg beside
#                  it, if present, goes where perf and gdb look for it)
#   SYSCONFDIR     default /etc; UNITDIR default $SYSCONFDIR/systemd/system
#   MANDIR         default $PREFIX/share/man; COMPLETIONDIR default $PREFIX/share/bash-completion/completions
#                  (bash-completion looks there for /usr/local, and under /usr/share for PREFIX=/usr)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
PREFIX=${PREFIX:-/usr/local}
DESTDIR=${DESTDIR:-}
SYSCONFDIR=${SYSCONFDIR:-/etc}
UNITDIR=${UNITDIR:-$SYSCONFDIR/systemd/system}
MANDIR=${MANDIR:-$PREFIX/share/man}
COMPLETIONDIR=${COMPLETIONDIR:-$PREFIX/share/bash-completion/completions}
binary=${EVENTD_BINARY:-$root/artifacts/eventd}

fail() { echo "install.sh: $*" >&2; exit 1; }

[ -f "$binary" ] || fail "$binary not found: run 'make publish' first, or set EVENTD_BINARY"
[ -f "$here/eventd.service" ] || fail "$here/eventd.service is missing"
[ -f "$here/eventd.toml" ] || fail "$here/eventd.toml is missing"
[ -f "$root/docs/eventd.1" ] || fail "$root/docs/eventd.1 is missing"
[ -f "$root/docs/eventd.bash-completion" ] || fail "$root/docs/eventd.bash-completion is missing"
case "$PREFIX" in /*) ;; *) fail "PREFIX must be an absolute path, not '$PREFIX'" ;; esac

bindir=$DESTDIR$PREFIX/bin
confdir=$DESTDIR$SYSCONFDIR/eventd
unitdir=$DESTDIR$UNITDIR
mkdir -p "$bindir" "$confdir" "$unitdir"

# Copy, then rename over the old file: a running eventd keeps its inode ("text file busy" otherwise).
cp "$binary" "$bindir/.eventd.new"
chmod 0755 "$bindir/.eventd.new"
mv -f "$bindir/.eventd.new" "$bindir/eventd"
echo "installed $bindir/eventd"

if [ -f "$binary.dbg" ]; then
  # perf and gdb look up debug files under /usr/lib/debug by the binary's own directory.
  debugdir=$DESTDIR/usr/lib/debug$PREFIX/bin
  mkdir -p "$debugdir"
  cp "$binary.dbg" "$debugdir/eventd.dbg"
  chmod 0644 "$debugdir/eventd.dbg"
  echo "installed $debugdir/eventd.dbg"
fi

sed "s|^ExecStart=/usr/local/bin/eventd |ExecStart=$PREFIX/bin/eventd |; s|^ExecReload=/usr/local/bin/eventd |ExecReload=$PREFIX/bin/eventd |; s|--config /etc/eventd/eventd.toml|--config $SYSCONFDIR/eventd/eventd.toml|" \
  "$here/eventd.service" >"$unitdir/.eventd.service.new"
chmod 0644 "$unitdir/.eventd.service.new"
mv -f "$unitdir/.eventd.service.new" "$unitdir/eventd.service"
echo "installed $unitdir/eventd.service"

# Both are checked in, made by 'make docs' from the binary's one command table, and the tests keep
# them equal to what it prints ('eventd help --man', 'eventd completion bash').
mandir=$DESTDIR$MANDIR/man1
mkdir -p "$mandir"
cp "$root/docs/eventd.1" "$mandir/eventd.1"
chmod 0644 "$mandir/eventd.1"
echo "installed $mandir/eventd.1"

completiondir=$DESTDIR$COMPLETIONDIR
mkdir -p "$completiondir"
cp "$root/docs/eventd.bash-completion" "$completiondir/.eventd.new"
chmod 0644 "$completiondir/.eventd.new"
mv -f "$completiondir/.eventd.new" "$completiondir/eventd"
echo "installed $completiondir/eventd"

if [ -e "$confdir/eventd.toml" ]; then
  echo "kept existing $confdir/eventd.toml"
else
  cp "$here/eventd.toml" "$confdir/eventd.toml"
  chmod 0644 "$confdir/eventd.toml"
  echo "installed $confdir/eventd.toml"
fi

if [ -z "$DESTDIR" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  systemctl daemon-reload
  echo "next: systemctl enable --now eventd   (status: systemctl status eventd; counters: eventd stats --socket /run/eventd/eventd.sock)"
fi
