#!/bin/sh
# make profile: runs one of eventd's benchmark pipelines under load from eventd-loadgen, records
# `perf record -g -e cpu-clock` on the published binary for a few seconds (names come from
# artifacts/eventd.dbg, found through the binary's .gnu_debuglink), and leaves in artifacts/profile/:
#   flamegraph.svg   the CPU flame graph (open it in a browser: hover and click to zoom)
#   top.txt          `perf report` top entries by self time, with the callers of the top ones
#   perf.data        the raw recording (perf report -i artifacts/profile/perf.data)
#   alloc.txt        where managed allocations hit the GC allocator's slow path while under load
#                    (a uprobe on RhpGcAlloc; empty when the pipeline allocates nothing)
# Pipelines (PROFILE_PIPELINE):
#   throughput  (default) bench-e2e's by-type row as it always was: TCP → filter on type →
#               aggregate by type (count sum p99) → blackhole, the clickstream events of 160 B;
#   by-type     bench-e2e's by-type row: the same pipeline on its ~107 B events, 2 connections;
#   per-key     bench-e2e's per-key row: `value >= 10 && .region != "ap"` → aggregate by type, key
#               over 5,000 keys (count sum max p99) → blackhole, ~107 B events, 2 connections;
#   per-key-1m  the same at ~1M groups a window (max_groups raised);
#   latency     TCP → filter → tcp sink into a byte counter.
# Environment: PROFILE_SECONDS (5), PROFILE_RATE events/s (0 = flat out), PROFILE_FORMAT
# (json|binary; per-key with binary is bench-e2e's binary row), PROFILE_PIPELINE (above),
# PROFILE_CONNECTIONS (1 for throughput and latency, 2 for the bench-e2e rows), PROFILE_AGG_THREADS=N
# writes threads = N into the aggregate, PROFILE_HANDOFF=0 for idle_handoff = false,
# PROFILE_SKIP_BUILD=1 to reuse artifacts/.
# PROFILE_JOURNAL=batch|never adds bench-e2e's per-key-journal `[journal]` (that fsync, 64 MiB segments,
# 512 MiB retention) with its state_dir in a temporary directory under artifacts/ (on disk: tmpfs would
# hide the page-cache and ext4 costs of the writes), and warms up PROFILE_JOURNAL_WARMUP seconds (8)
# before recording, so that the journal writes into recycled segments as in bench-e2e's row; top.txt
# then also gives the journal's pwrite and fdatasync calls per second (tracepoints, over 1 s), beside
# the records appended in that second: records per write.
# Examples: the realistic case flat out; the latency pipeline at the rate of a latency target:
#   make profile PROFILE_PIPELINE=per-key
#   make profile PROFILE_PIPELINE=latency PROFILE_RATE=100000
#   make profile PROFILE_PIPELINE=per-key PROFILE_JOURNAL=batch
#
# The flame graph is drawn by the npm package `flamegraph` (folds `perf script` output and renders
# the SVG), installed under artifacts/tools on first use.
set -eu
cd "$(dirname "$0")/.."
out=artifacts/profile
seconds=${PROFILE_SECONDS:-5}
rate=${PROFILE_RATE:-0}
format=${PROFILE_FORMAT:-json}
pipeline=${PROFILE_PIPELINE:-throughput}
case "$pipeline" in
  throughput|latency) connections=${PROFILE_CONNECTIONS:-1}; workload="" ;;
  per-key|per-key-1m|by-type) connections=${PROFILE_CONNECTIONS:-2}; workload=$pipeline ;;
  *) echo "profile: PROFILE_PIPELINE=$pipeline: one of throughput, by-type, per-key, per-key-1m, latency" >&2; exit 2 ;;
esac
[ "$pipeline" = per-key ] && [ "$format" = binary ] && workload=binary
handoff=true
journal=${PROFILE_JOURNAL:-}
case "$journal" in
  ""|batch|never) ;;
  *) echo "profile: PROFILE_JOURNAL=$journal: batch or never" >&2; exit 2 ;;
esac
warmup=1
[ -n "$journal" ] && warmup=${PROFILE_JOURNAL_WARMUP:-8}
[ "${PROFILE_HANDOFF:-1}" = 0 ] && handoff=false
tools=artifacts/tools
flamegraph_version=1.3.0

need=""
command -v perf >/dev/null 2>&1 || need="$need linux-perf"
command -v node >/dev/null 2>&1 || need="$need nodejs"
command -v npm >/dev/null 2>&1 || need="$need npm"
if [ -n "$need" ]; then
  [ "$(id -u)" -eq 0 ] || { echo "profile: missing packages:$need (run as root or install them)" >&2; exit 1; }
  echo "profile: installing$need"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
fi
if [ ! -x "$tools/node_modules/.bin/flamegraph" ]; then
  echo "profile: installing the flamegraph renderer (npm flamegraph@$flamegraph_version) into $tools"
  mkdir -p "$tools"
  npm install --silent --no-audit --no-fund --prefix "$tools" "flamegraph@$flamegraph_version" >/dev/null
fi

if [ "${PROFILE_SKIP_BUILD:-0}" != 1 ]; then
  sh scripts/publish.sh
  log=artifacts/loadgen-publish.log
  if ! dotnet publish perf/EventDaemon.LoadGen -c Release -r linux-x64 -o artifacts/loadgen -nologo >"$log" 2>&1; then
    cat "$log"; echo "profile: load generator publish failed" >&2; exit 1
  fi
fi
if [ "$pipeline" = latency ] && [ ! -x artifacts/floor/floor ]; then
  mkdir -p artifacts/floor
  "${CC:-cc}" -O2 -Wall -Wextra -Werror -pthread -o artifacts/floor/floor perf/floor/floor.c
fi

tmp=$(mktemp -d)
journal_dir=""
pid=""
probe=""
counter=""
cleanup() {
  [ -n "$probe" ] && perf probe -q -d "$probe" >/dev/null 2>&1 || true
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  [ -n "$counter" ] && kill "$counter" 2>/dev/null || true
  rm -rf "$tmp"
  [ -n "$journal_dir" ] && rm -rf "$journal_dir" || true
}
trap cleanup EXIT INT TERM

port=$(( 20000 + $$ % 20000 ))
cat >"$tmp/profile.toml" <<TOML
[daemon]
control_socket = "$tmp/ctl.sock"
ring_size = 65536
arena_size = "64MiB"
idle_handoff = $handoff
TOML
if [ -n "$journal" ]; then
  mkdir -p artifacts
  journal_dir=$(mktemp -d "$(pwd)/artifacts/profile-journal.XXXXXX")
  cat >>"$tmp/profile.toml" <<TOML
state_dir = "$journal_dir"

[journal]
fsync = "$journal"
segment_bytes = "64MiB"
retention_bytes = "512MiB"
TOML
fi
cat >>"$tmp/profile.toml" <<TOML

[sources.in]
type = "tcp"
address = "127.0.0.1:$port"
format = "$format"

TOML
if [ "$pipeline" = latency ]; then
  # The sink's peer only counts what arrives, so the profile is of eventd alone.
  artifacts/floor/floor count --listen "127.0.0.1:$((port + 1))" >/dev/null 2>&1 &
  counter=$!
  cat >>"$tmp/profile.toml" <<TOML
[transforms.all]
type = "filter"
inputs = ["in"]
condition = 'value >= 0'

[sinks.back]
type = "tcp"
inputs = ["all"]
address = "127.0.0.1:$((port + 1))"
TOML
elif [ -n "$workload" ]; then
  # The filter and aggregate of bench-e2e's row (perf/EventDaemon.LoadGen/Bench/Workload.cs).
  case "$workload" in
    per-key|per-key-1m) condition='value >= 10 && .region != "ap"'; group_by='["type", "key"]'; metrics='["count", "sum", "max", "p99"]' ;;
    binary) condition='value >= 10'; group_by='["type", "key"]'; metrics='["count", "sum", "max", "p99"]' ;;
    by-type) condition='type == "purchase" || type == "click"'; group_by='["type"]'; metrics='["count", "sum", "p99"]' ;;
  esac
  {
    cat <<TOML
[transforms.wanted]
type = "filter"
inputs = ["in"]
condition = '$condition'

[transforms.agg]
type = "aggregate"
inputs = ["wanted"]
window = "1s"
time = "processing"
group_by = $group_by
metrics = $metrics
TOML
    [ "$workload" = per-key-1m ] && echo 'max_groups = 2500000'
    [ -n "${PROFILE_AGG_THREADS:-}" ] && echo "threads = $PROFILE_AGG_THREADS"
    cat <<TOML

[sinks.discard]
type = "blackhole"
inputs = ["agg"]
TOML
  } >>"$tmp/profile.toml"
else
  cat >>"$tmp/profile.toml" <<TOML
[transforms.wanted]
type = "filter"
inputs = ["in"]
condition = 'type == "purchase" || type == "click"'

[transforms.per_type]
type = "aggregate"
inputs = ["wanted"]
window = "1s"
time = "processing"
group_by = ["type"]
metrics = ["count", "sum", "p99"]

[sinks.discard]
type = "blackhole"
inputs = ["per_type"]
TOML
fi

artifacts/eventd run --config "$tmp/profile.toml" >"$tmp/eventd.log" 2>&1 &
pid=$!
i=0
until artifacts/eventd stats --socket "$tmp/ctl.sock" >/dev/null 2>&1; do
  i=$((i + 1)); [ "$i" -lt 200 ] || { cat "$tmp/eventd.log"; echo "profile: eventd did not come up" >&2; exit 1; }
  sleep 0.05
done

mkdir -p "$out"
rm -f "$out/perf.data" "$out/perf.data.old" "$out/alloc.data"
# Load for warm-up + CPU profile + perf stat + allocation profile.
total=$(( seconds * 2 + 3 + warmup ))
# shellcheck disable=SC2046 # the workload option is one or no pair of words
artifacts/loadgen/eventd-loadgen send --to "tcp://127.0.0.1:$port" --format "$format" --rate "$rate" \
  --connections "$connections" $( [ -n "$workload" ] && echo "--workload $workload" ) \
  --duration "$total" >"$tmp/loadgen.log" 2>&1 &
sender=$!
sleep "$warmup"
if ! kill -0 "$sender" 2>/dev/null; then
  cat "$tmp/loadgen.log" "$tmp/eventd.log"; echo "profile: the load generator stopped before the recording" >&2; exit 1
fi
echo "profile: recording eventd (pid $pid, $pipeline pipeline$( [ -n "$journal" ] && echo ", journal fsync = $journal")) for $seconds s under load ($( [ "$rate" = 0 ] && echo "flat out" || echo "$rate events/s"), $format, $connections connection(s))"
perf record -q -g -e cpu-clock -p "$pid" -o "$out/perf.data" -- sleep "$seconds" >/dev/null 2>&1
# CPUs used and thread switches per second: on two shared cores, hand-offs between threads cost
# more than the work when each one parks and is woken per small batch.
perf stat -e task-clock,context-switches,cpu-migrations -p "$pid" -- sleep 1 2>"$tmp/stat.txt" >/dev/null || true
if [ -n "$journal" ]; then
  # How many writes (groups) and syncs the journal makes for the events it takes: its per-call costs.
  stats() { artifacts/eventd stats --socket "$tmp/ctl.sock" 2>/dev/null | awk -v k="$1" '$1 == k { print $2; exit }'; }
  records0=$(stats journal_appended_total)
  perf stat -e syscalls:sys_enter_pwrite64,syscalls:sys_enter_fdatasync -p "$pid" -- sleep 1 2>"$tmp/journal-stat.txt" >/dev/null || true
  records1=$(stats journal_appended_total)
  echo "records/s $(( ${records1:-0} - ${records0:-0} )) appended" >>"$tmp/journal-stat.txt"
fi

# Allocations: RhpGcAlloc is the Native AOT allocator's slow path (a thread's allocation context is
# used up, or an object is large), so every steady allocation shows up here with its stack.
addr=$(nm artifacts/eventd.dbg 2>/dev/null | awk '$3 == "RhpGcAlloc" { print $1; exit }')
if [ -n "$addr" ] && perf probe -q -x "$(pwd)/artifacts/eventd" --add "eventd_gcalloc=0x$addr" >/dev/null 2>&1; then
  probe="probe_eventd:eventd_gcalloc"
  perf record -q -g -e "$probe" -p "$pid" -o "$out/alloc.data" -- sleep "$seconds" >/dev/null 2>&1 || true
  {
    echo "# Stacks that reached the GC allocator's slow path (RhpGcAlloc) during $seconds s under load."
    echo "# No samples below = no managed allocation on the steady-state path."
    perf report -i "$out/alloc.data" --no-children --stdio 2>/dev/null | grep -v '^#' | grep -v '^$' || true
  } >"$out/alloc.txt"
else
  echo "# uprobes unavailable here (needs root and tracefs): no allocation profile" >"$out/alloc.txt"
fi

wait "$sender" || true
artifacts/eventd ctl drain --socket "$tmp/ctl.sock" >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
pid=""

{
  echo "# eventd, $pipeline pipeline$( [ -n "$journal" ] && echo " with [journal] fsync = $journal"), under load: $(tail -n 1 "$tmp/loadgen.log")"
  echo "# perf stat, 1 s:"
  grep -E 'task-clock|context-switches|cpu-migrations' "$tmp/stat.txt" | sed 's/^ */#   /' || true
  if [ -n "$journal" ]; then
    echo "# the journal, 1 s: system calls (all threads: the appending thread writes, journal-sync syncs) and what it took"
    grep -E 'sys_enter|records/s' "$tmp/journal-stat.txt" | sed 's/^ */#   /' || true
  fi
  echo "# perf record -g -e cpu-clock, $seconds s; $(perf report -i "$out/perf.data" --stdio -g none 2>/dev/null | grep -m1 '^# Samples' | sed 's/^# //' || true)"
  echo "# self time by symbol ([k] kernel, [.] user), entries >= 0.5 %"
  perf report -i "$out/perf.data" --no-children --sort symbol --stdio -g none --percent-limit 0.5 2>/dev/null \
    | grep -v '^#' | grep -v '^$' | sed 's/[ -]*$//'
  echo
  echo "# self time by thread (stage threads are named after their component; src-*-conn read sockets)"
  perf report -i "$out/perf.data" --no-children --sort comm --stdio -g none 2>/dev/null \
    | grep -v '^#' | grep -v '^$' | sed 's/[ -]*$//'
} >"$out/top.txt"
# Without symbol offsets, so that one function is one frame; the renderer's template leaves a bare
# "&&" in an attribute, which browsers refuse in a standalone SVG: escape it.
perf script -i "$out/perf.data" -F comm,tid,time,period,event,ip,sym,dso 2>/dev/null >"$tmp/perf.script"
"$tools/node_modules/.bin/flamegraph" -t perf --internals --titletext "eventd, $pipeline pipeline, $format, $( [ "$rate" = 0 ] && echo "flat out" || echo "$rate events/s"): cpu-clock" \
  <"$tmp/perf.script" | sed "s/=== 'function' \&\& /=== 'function' \&amp;\&amp; /g" >"$out/flamegraph.svg"

echo "profile: $out/flamegraph.svg, $out/top.txt, $out/alloc.txt ($out/perf.data for perf report)"
sed -n '1,40p' "$out/top.txt"
