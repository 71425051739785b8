#!/bin/sh
# nats benchmark (make bench-nats): publishes eventd, builds the harness, and runs both systems on
# one local nats-server: nats -> filter -> aggregate -> nats through eventd, then a plain
# NATS.Client consumer loop doing the same work, each reading the same stream. Prints a table and
# writes artifacts/bench/nats.json. NATS_BENCH_MESSAGES=N changes the stream's size (default 500000).
# The publish and build take the bench lock shared, the timed run exclusive.
set -eu
cd "$(dirname "$0")/.."
lock=${BENCH_LOCK:-/tmp/eventd-bench.lock}
flock -s "$lock" sh scripts/publish.sh
flock -s "$lock" dotnet build perf/EventDaemon.Perf.Nats -c Release -o artifacts/perf-nats -nologo -clp:ErrorsOnly
mkdir -p artifacts/bench
flock -x "$lock" dotnet artifacts/perf-nats/eventd-bench-nats.dll artifacts/eventd artifacts/bench/nats.json
