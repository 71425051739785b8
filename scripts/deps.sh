#!/bin/sh
# Installs what the build, tests and demo need on a fresh Debian machine, only if missing.
set -eu
need=""
command -v dotnet >/dev/null 2>&1 || { echo "deps: the .NET SDK 10 (dotnet) is required" >&2; exit 1; }
command -v clang >/dev/null 2>&1 || command -v gcc >/dev/null 2>&1 || need="$need clang"
[ -e /usr/lib/x86_64-linux-gnu/libz.so ] || [ -e /usr/lib/x86_64-linux-gnu/libz.a ] || need="$need zlib1g-dev"
command -v socat >/dev/null 2>&1 || need="$need socat"
command -v nc >/dev/null 2>&1 || need="$need netcat-openbsd"
command -v prlimit >/dev/null 2>&1 || need="$need util-linux"
command -v systemd-analyze >/dev/null 2>&1 || need="$need systemd"
# The HTTP endpoint's tests: curl against /health, /ready, /metrics; promtool (in Debian's
# prometheus package, whose own service is not used) checks the metrics exposition.
command -v curl >/dev/null 2>&1 || need="$need curl"
command -v promtool >/dev/null 2>&1 || need="$need prometheus"
# eventd top is tested in a real terminal: a detached tmux session of 80x24.
command -v tmux >/dev/null 2>&1 || need="$need tmux"
# The NATS tests start their own servers; the package's systemd unit is not used.
command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] || need="$need nats-server"
if [ -n "$need" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing packages:$need (run as root or install them)" >&2; exit 1
  fi
  echo "deps: installing$need"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
fi
