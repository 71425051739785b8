#!/bin/sh
# nats benchmark (make bench-nats): publishes eventd, builds the harness, and runs both systems on
# one local nats-server, then on a 3-node loopback cluster with R3 streams: nats -> filter ->
# aggregate -> nats through eventd, then a plain NATS.Client consumer loop doing the same work,
# each reading the same stream. Prints a table and writes artifacts/bench/nats.json.
# NATS_BENCH_MESSAGES=N changes the stream's size (default 200000).
# STEADY=1: instead, a steady state nats -> filter -> nats for NATS_STEADY_SECONDS (60) at
# NATS_STEADY_RATE messages/s (20000): eventd's GC collections and managed B/message over the
# window (artifacts/bench/nats-steady.json).
# The publish and build take the bench lock shared, the timed run exclusive.
set -eu
cd "$(dirname "$0")/.."
lock=${BENCH_LOCK:-/tmp/eventd-bench.lock}
flock -s "$lock" sh scripts/publish.sh
flock -s "$lock" dotnet build perf/EventDaemon.Perf.Nats -c Release -o artifacts/perf-nats -nologo -clp:ErrorsOnly
mkdir -p artifacts/bench
flock -x "$lock" dotnet artifacts/perf-nats/eventd-bench-nats.dll artifacts/eventd artifacts/bench/nats.json
