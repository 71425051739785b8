#!/bin/sh
# What a tap costs the pipeline (make bench-tap): the per-key pipeline of bench-e2e (tcp json ->
# filter 'wanted' -> aggregate by type and key -> blackhole) flat out from eventd-loadgen, in
# three modes: no tap; 'eventd tap wanted' attached and reading (to /dev/null, as fast as it can);
# 'eventd tap wanted' attached and never reading (its stdout is a pipe nobody reads, so the tap
# fills and drops). Rounds interleave the modes (each round starts with the next one), so drift
# on a shared machine falls on all three; each mode's rate is the filter's processed events over
# a window after a warm-up, and the table gives each round's rates and the median ratio of each
# mode to no tap. The idle tap is cut off by the daemon 5 s after it stops taking bytes: the
# window (WARMUP + MEASURE, default 1 + 3 s) ends before that, and its drops are printed to show
# it was attached and full throughout.
#
# Environment: ROUNDS (default 3), WARMUP and MEASURE seconds, CONNECTIONS (default 2), PORT
# (default 17490), TAP_SKIP_BUILD=1 to reuse artifacts/eventd and artifacts/loadgen.
# Run it alone: flock -x /tmp/eventd-bench.lock sh scripts/bench-tap.sh
set -eu
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-3}
warmup=${WARMUP:-1}
measure=${MEASURE:-3}
connections=${CONNECTIONS:-2}
port=${PORT:-17490}
eventd=artifacts/eventd
loadgen=artifacts/loadgen/eventd-loadgen

if [ "${TAP_SKIP_BUILD:-0}" != 1 ]; then
  sh scripts/publish.sh
  log=artifacts/loadgen-publish.log
  if ! dotnet publish perf/EventDaemon.LoadGen -c Release -r linux-x64 -o artifacts/loadgen -nologo >"$log" 2>&1; then
    cat "$log"; echo "bench-tap: load generator publish failed" >&2; exit 1
  fi
fi
[ -x "$eventd" ] && [ -x "$loadgen" ] || { echo "bench-tap: $eventd or $loadgen missing (run without TAP_SKIP_BUILD)" >&2; exit 1; }

dir=$(mktemp -d /tmp/eventd-bench-tap.XXXXXX)
daemon=""
client=""
cleanup() {
  [ -n "$client" ] && kill "$client" 2>/dev/null || true
  [ -n "$daemon" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT INT TERM

cat >"$dir/eventd.toml" <<EOF
[daemon]
control_socket = "$dir/ctl.sock"
ring_size = 65536
arena_size = "64MiB"
lock_memory = false

[sources.in]
type = "tcp"
address = "127.0.0.1:$port"
format = "json"

[transforms.wanted]
type = "filter"
inputs = ["in"]
condition = 'value >= 10 && .region != "ap"'

[transforms.agg]
type = "aggregate"
inputs = ["wanted"]
window = "1s"
time = "processing"
group_by = ["type", "key"]
metrics = ["count", "sum", "max", "p99"]

[sinks.discard]
type = "blackhole"
inputs = ["agg"]
EOF

# The value of one series of 'eventd stats' (0 when absent).
stat() {
  "$eventd" stats --socket "$dir/ctl.sock" | awk -v s="$1" '$1 == s { v = $2 } END { print v + 0 }'
}

now_ns() { date +%s%N; }

# One run: prints "mode rate tap_taken tap_dropped" (counts within the window).
run() {
  mode=$1
  rm -f "$dir/ctl.sock"
  "$eventd" run --config "$dir/eventd.toml" >"$dir/eventd.log" 2>&1 &
  daemon=$!
  tries=0
  until "$eventd" stats --socket "$dir/ctl.sock" >/dev/null 2>&1; do
    tries=$((tries + 1))
    [ "$tries" -lt 100 ] || { cat "$dir/eventd.log" >&2; echo "bench-tap: eventd did not start" >&2; exit 1; }
    sleep 0.1
  done
  case $mode in
    reading) "$eventd" tap wanted --socket "$dir/ctl.sock" >/dev/null 2>"$dir/tap.log" & client=$! ;;
    idle) "$eventd" tap wanted --socket "$dir/ctl.sock" 2>"$dir/tap.log" | sleep 600 & client=$! ;;
  esac
  "$loadgen" send --to "tcp://127.0.0.1:$port" --workload per-key --connections "$connections" \
    --duration "$((warmup + measure + 1))" >"$dir/loadgen.log" 2>&1 &
  sender=$!
  sleep "$warmup"
  p0=$(stat 'events_processed_total{stage="wanted"}'); t0=$(now_ns)
  k0=$(stat 'tap_events_total{stage="wanted"}'); d0=$(stat 'tap_dropped_total{stage="wanted"}')
  sleep "$measure"
  p1=$(stat 'events_processed_total{stage="wanted"}'); t1=$(now_ns)
  k1=$(stat 'tap_events_total{stage="wanted"}'); d1=$(stat 'tap_dropped_total{stage="wanted"}')
  wait "$sender" || { cat "$dir/loadgen.log" >&2; echo "bench-tap: the load generator failed" >&2; exit 1; }
  # The daemon first: its stopping ends the tap client (whose 'wait' covers the whole pipeline).
  kill "$daemon"; wait "$daemon" 2>/dev/null || true; daemon=""
  [ -n "$client" ] && { kill "$client" 2>/dev/null || true; wait "$client" 2>/dev/null || true; client=""; }
  awk -v m="$mode" -v p="$((p1 - p0))" -v t="$((t1 - t0))" -v k="$((k1 - k0))" -v d="$((d1 - d0))" \
    'BEGIN { printf "%s %.0f %d %d\n", m, p / (t / 1e9), k, d }'
}

modes="none reading idle"
: >"$dir/results"
echo "bench-tap: per-key pipeline flat out, $connections connection(s), ${warmup} s warm-up + ${measure} s window, $rounds round(s)"
printf '%-6s %-8s %14s %12s %12s\n' round mode "events/s" "tap taken" "tap dropped"
r=1
while [ "$r" -le "$rounds" ]; do
  # Each round starts with the next mode: none first, then reading, then idle, then none again.
  case $((r % 3)) in
    1) order="none reading idle" ;;
    2) order="reading idle none" ;;
    *) order="idle none reading" ;;
  esac
  for mode in $order; do
    line=$(run "$mode")
    echo "$r $line" >>"$dir/results"
    echo "$r $line" | awk '{ printf "%-6s %-8s %14d %12d %12d\n", $1, $2, $3, $4, $5 }'
  done
  r=$((r + 1))
done

# Median of each mode's rates, and its ratio to no tap's.
echo
printf '%-8s %14s %10s\n' mode "median ev/s" "vs no tap"
for mode in $modes; do
  awk -v m="$mode" '$2 == m { print $3 }' "$dir/results" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }' >"$dir/median.$mode"
done
base=$(cat "$dir/median.none")
for mode in $modes; do
  awk -v m="$mode" -v v="$(cat "$dir/median.$mode")" -v b="$base" 'BEGIN { printf "%-8s %14.0f %10.3f\n", m, v, v / b }'
done
