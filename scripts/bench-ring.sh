#!/bin/sh
# Publishes the ring benchmark with Native AOT and runs every scenario under every wait strategy,
# one process per pair under `perf stat`, which counts that run's futex, membarrier and
# sched_yield calls. Writes artifacts/bench/NAME.json and NAME.md (NAME defaults to ring).
# Arguments: events per run (10000000), runs per pair (3), NAME.
# STRATEGIES and SCENARIOS (space-separated) narrow the matrix.
set -eu
cd "$(dirname "$0")/.."
events=${1:-10000000}
repeats=${2:-3}
name=${3:-ring}
out=artifacts/perf-ring
runs=artifacts/bench/$name-runs
dotnet publish perf/EventDaemon.Perf.Ring -c Release -r linux-x64 -o "$out" -nologo -clp:ErrorsOnly | grep -E "error|warning" && exit 1 || true
bin="$out/EventDaemon.Perf.Ring"

if ! command -v perf >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "bench-ring: installing linux-perf"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq linux-perf >/dev/null
  else
    echo "bench-ring: perf is missing (apt-get install linux-perf): system calls are not counted" >&2
  fi
fi
events_list='syscalls:sys_enter_futex,syscalls:sys_enter_membarrier,syscalls:sys_enter_sched_yield'
counting=no
if command -v perf >/dev/null 2>&1 && perf stat -x, -e "$events_list" -o /dev/null -- true >/dev/null 2>&1; then
  counting=yes
else
  echo "bench-ring: perf cannot read syscall tracepoints here: system calls are not counted" >&2
fi

rm -rf "$runs"
mkdir -p "$runs"
nproc=$(nproc)
for scenario in ${SCENARIOS:-1p1c 1p1c-batched pipeline multicast 3p1c}; do
  for strategy in ${STRATEGIES:-adaptive blocking yielding sleeping busy-spin channels}; do
    # Busy-spin takes a core per consumer and never yields it: only where every thread
    # (producers and consumers) has a core of its own.
    if [ "$strategy" = busy-spin ]; then
      case $scenario in
        1p1c|1p1c-batched) threads=2 ;;
        pipeline|multicast) threads=4 ;;
        3p1c) threads=4 ;;
      esac
      [ "$threads" -le "$nproc" ] || continue
    fi
    result="$runs/$strategy.$scenario.json"
    if [ "$counting" = yes ]; then
      perf stat -x, -e "$events_list" -o "$runs/$strategy.$scenario.perf" -- \
        "$bin" run "$strategy" "$scenario" "$events" "$repeats" "$result"
    else
      "$bin" run "$strategy" "$scenario" "$events" "$repeats" "$result"
    fi
  done
done
"$bin" pingpong "$runs/pingpong.json"
"$bin" report "$runs" "artifacts/bench/$name.json" "artifacts/bench/$name.md"
