#!/bin/sh
# Filter and aggregate cost per event against a LINQ/Dictionary baseline over POCOs, as a Native
# AOT program: a table on stdout and artifacts/bench/stages.json. Arguments: events, repeats.
set -eu
cd "$(dirname "$0")/.."
out=artifacts/perf-stages
dotnet publish perf/EventDaemon.Perf.Stages -c Release -r linux-x64 -o "$out" -nologo -clp:ErrorsOnly | grep -E "error|warning" && exit 1 || true
"$out/EventDaemon.Perf.Stages" "${1:-1000000}" "${2:-3}" artifacts/bench/stages.json
