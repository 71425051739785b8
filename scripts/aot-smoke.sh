#!/bin/sh
# Publishes the ring's AOT smoke program (any AOT/trim warning fails the publish), runs it, and
# checks that locking beyond RLIMIT_MEMLOCK is a warning, not a failure.
set -eu
cd "$(dirname "$0")/.."
out=artifacts/aot-smoke
log=$out/publish.log
mkdir -p "$out"
if ! dotnet publish tests/EventDaemon.Ring.AotSmoke -c Release -r linux-x64 -o "$out" >"$log" 2>&1; then
  cat "$log"; echo "aot-smoke: publish failed" >&2; exit 1
fi
if grep -Eq "warning (IL|AOT)[0-9]+" "$log"; then
  grep -E "warning (IL|AOT)[0-9]+" "$log"; echo "aot-smoke: AOT/trim warnings" >&2; exit 1
fi
"$out/EventDaemon.Ring.AotSmoke"
# Without CAP_IPC_LOCK and with a zero memlock limit, a lock request must warn and carry on.
if command -v setpriv >/dev/null 2>&1 && command -v prlimit >/dev/null 2>&1; then
  result=$(prlimit --memlock=0:0 setpriv --inh-caps=-ipc_lock --bounding-set=-ipc_lock \
    "$out/EventDaemon.Ring.AotSmoke" lock 1048576)
  case "$result" in
    warning:*RLIMIT_MEMLOCK*) echo "ok   lock beyond RLIMIT_MEMLOCK warns: $result" ;;
    *) echo "FAIL lock beyond RLIMIT_MEMLOCK: got '$result'" >&2; exit 1 ;;
  esac
fi
