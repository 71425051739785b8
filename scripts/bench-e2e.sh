#!/bin/sh
# End-to-end benchmark (make bench-e2e): builds eventd, the load generator, the floors and the
# baseline, runs them all from one harness (eventd-loadgen e2e): the throughput matrix (per-key,
# per-key-journal, per-key-1m, by-type, binary), latency, the zero-GC steady state and acks (ack
# latency at 100k events/s with [journal] fsync = "batch", at each sender pacing, beside a 4 KiB
# fdatasync timed on the journal's filesystem in the same run); prints a markdown table and leaves artifacts/bench/e2e.json,
# e2e.md, latency/*.hgrm and the plot e2e-latency.svg. per-key-journal is per-key with the journal on
# (eventd only): the table gives its events/s as a share of per-key's (target >= 80 %). The journal's
# segments go in the run's temporary directory (TMPDIR): keep that on a disk, not tmpfs. By default
# the journal row runs with 64 MiB segments and a retention of eight (512 MiB), warmed up for 8 s so that the
# measured window writes into recycled segments (a journal at its retention); E2E_JOURNAL=fresh runs
# it with the shipped settings instead (128 MiB segments, 8 GiB retention: every segment zeroed).
#
# Exit status: non-zero when a build fails; 4 when a workload could not run (its row says why and
# carries no numbers); 3 when the steady-state run shows a GC collection or >= 0.01 managed bytes
# allocated per event (the zero-GC regression check).
#
# Environment: E2E_QUICK=1 for a short development run (numbers not to be quoted);
# E2E_WORKLOADS=per-key,by-type runs a subset (of per-key, per-key-journal, per-key-1m, by-type,
# binary, latency, steady, acks; default all; E2E_WORKLOADS=per-key,per-key-journal,acks is the
# journal's part alone, about two minutes); E2E_AGG_THREADS=N writes threads = N into the aggregate's table (default:
# not written); E2E_ROUNDS=N runs each throughput row N times, the systems taking turns, and keeps
# each one's best (default 1); E2E_STEADY=SECONDS overrides the steady-state length (default 60);
# E2E_SKIP_BUILD=1 reuses the binaries already in artifacts/; E2E_ACK_PACES=0,100 sets the acks
# section's sender pacings in µs, one row each, taking turns in each of the E2E_ROUNDS rounds (0 =
# frame by frame, row acks; N = a write every N µs with the wait for acks between on the socket, row
# acks-Nus; default 0,100); E2E_ARGS passes more options to eventd-loadgen e2e.
set -eu
cd "$(dirname "$0")/.."
out=artifacts/bench

if [ "${E2E_SKIP_BUILD:-0}" != 1 ]; then
  sh scripts/publish.sh
  log=artifacts/loadgen-publish.log
  if ! dotnet publish perf/EventDaemon.LoadGen -c Release -r linux-x64 -o artifacts/loadgen -nologo >"$log" 2>&1; then
    cat "$log"; echo "bench-e2e: load generator publish failed" >&2; exit 1
  fi
  if grep -Eq "warning (IL|AOT)[0-9]+" "$log"; then
    grep -E "warning (IL|AOT)[0-9]+" "$log" | sort -u; echo "bench-e2e: AOT/trim warnings in the load generator" >&2; exit 1
  fi
  # The baseline stays on the JIT: it is what a .NET user ships by default.
  if ! dotnet publish perf/EventDaemon.Baseline -c Release -o artifacts/baseline -nologo >"$log" 2>&1; then
    cat "$log"; echo "bench-e2e: baseline publish failed" >&2; exit 1
  fi
  cc=${CC:-$(command -v cc || command -v gcc || command -v clang || true)}
  [ -n "$cc" ] || { echo "bench-e2e: a C compiler is needed for the floors (apt-get install gcc)" >&2; exit 1; }
  mkdir -p artifacts/floor
  "$cc" -O2 -Wall -Wextra -Werror -pthread -o artifacts/floor/floor perf/floor/floor.c
fi

if ! command -v gnuplot >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "bench-e2e: installing gnuplot-nox for the plot"
    apt-get update -qq >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gnuplot-nox >/dev/null 2>&1 || true
  fi
fi

mkdir -p "$out"
rm -rf "$out/latency"
quick=""
[ "${E2E_QUICK:-0}" = 1 ] && quick="--quick"
steady=""
[ -n "${E2E_STEADY:-}" ] && steady="--steady $E2E_STEADY"
workloads=""
[ -n "${E2E_WORKLOADS:-}" ] && workloads="--workloads $E2E_WORKLOADS"
threads=""
[ -n "${E2E_AGG_THREADS:-}" ] && threads="--agg-threads $E2E_AGG_THREADS"
rounds=""
[ -n "${E2E_ROUNDS:-}" ] && rounds="--rounds $E2E_ROUNDS"
[ "${E2E_JOURNAL:-recycling}" = fresh ] || rounds="$rounds --journal-recycle"
paces=""
[ -n "${E2E_ACK_PACES:-}" ] && paces="--ack-paces $E2E_ACK_PACES"
rm -f "$out/e2e-latency.gp" "$out/e2e-latency.svg"
status=0
# shellcheck disable=SC2086 # quick, steady, workloads, threads, rounds, paces and E2E_ARGS are lists of words on purpose
artifacts/loadgen/eventd-loadgen e2e --eventd artifacts/eventd --baseline artifacts/baseline/eventd-baseline \
  --floor artifacts/floor/floor --out "$out" $quick $steady $workloads $threads $rounds $paces ${E2E_ARGS:-} || status=$?
if [ "$status" -ne 0 ]; then
  echo "bench-e2e: FAILED (exit $status): see the lines starting with 'e2e: FAILED' above" >&2
fi

if [ -f "$out/e2e-latency.gp" ]; then
  if command -v gnuplot >/dev/null 2>&1; then
    if (cd "$out" && gnuplot e2e-latency.gp) 2>"$out/gnuplot.log"; then
      echo "bench-e2e: plot: $out/e2e-latency.svg"
    else
      cat "$out/gnuplot.log" >&2; echo "bench-e2e: gnuplot failed; the data is in $out/latency/" >&2
    fi
  else
    echo "bench-e2e: gnuplot is not installed (apt-get install gnuplot-nox): no plot; the data is in $out/latency/" >&2
  fi
fi
exit "$status"
