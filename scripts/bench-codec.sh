#!/bin/sh
# Publishes the codec benchmark with Native AOT and runs it: a table on stdout and
# artifacts/bench/codec.json. Arguments: events in the corpus, passes per run, runs (best kept).
set -eu
cd "$(dirname "$0")/.."
out=artifacts/perf-codec
dotnet publish perf/EventDaemon.Perf.Codec -c Release -r linux-x64 -o "$out" -nologo -clp:ErrorsOnly | grep -E "error|warning" && exit 1 || true
"$out/EventDaemon.Perf.Codec" "${1:-200000}" "${2:-5}" "${3:-3}" artifacts/bench/codec.json
