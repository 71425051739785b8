#!/bin/sh
# Publishes the ring benchmark with Native AOT and runs it: a table on stdout and
# artifacts/bench/ring.json. Arguments: events per run, repeats.
set -eu
cd "$(dirname "$0")/.."
out=artifacts/perf-ring
dotnet publish perf/EventDaemon.Perf.Ring -c Release -r linux-x64 -o "$out" -nologo -clp:ErrorsOnly | grep -E "error|warning" && exit 1 || true
"$out/EventDaemon.Perf.Ring" "${1:-20000000}" "${2:-3}" artifacts/bench/ring.json ${3:+"$3"}
