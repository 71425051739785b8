#!/bin/sh
# Publishes the journal write-path benchmark with Native AOT and runs it: pwrite, pwritev and
# mmap writes (and a growing file) into segments on the real disk, flat out and paced at 100k
# records/s, beside a bare 4 KiB fdatasync. Writes artifacts/bench/journal.json and journal.md.
# QUICK=1 for a ~30 s run; ROUNDS=N interleaves N rounds (rates: best; latency: merged);
# METHODS=pwrite,mmap-msync narrows the methods; JOURNAL_BENCH_DIR moves the segments (default
# artifacts/journal-bench: the repository's disk). BENCH_LOCK=/tmp/eventd-bench.lock makes the
# script take that lock itself (shared to publish, exclusive to measure).
set -eu
cd "$(dirname "$0")/.."
out=artifacts/perf-journal
dir=${JOURNAL_BENCH_DIR:-artifacts/journal-bench}

locked() {
  mode=$1
  shift
  if [ -n "${BENCH_LOCK:-}" ]; then flock "$mode" "$BENCH_LOCK" "$@"; else "$@"; fi
}

locked -s dotnet publish perf/EventDaemon.Perf.Journal -c Release -r linux-x64 -o "$out" -nologo -clp:ErrorsOnly \
  | grep -E "error|warning" && exit 1 || true

mkdir -p "$dir" artifacts/bench
# A journal on tmpfs syncs nothing: its numbers would say nothing about a disk.
fstype=$(stat -f -c %T "$dir")
case $fstype in
  tmpfs|ramfs)
    echo "bench-journal: $dir is on $fstype; set JOURNAL_BENCH_DIR to a directory on a disk" >&2
    exit 1 ;;
esac
echo "bench-journal: segments in $dir ($fstype, $(df -P "$dir" | awk 'NR == 2 { print $1 }'))"

set -- "$dir" artifacts/bench/journal.json artifacts/bench/journal.md
[ "${QUICK:-0}" = 1 ] && set -- "$@" --quick
[ -n "${ROUNDS:-}" ] && set -- "$@" --rounds "$ROUNDS"
[ -n "${METHODS:-}" ] && set -- "$@" --methods "$METHODS"
status=0
locked -x "$out/EventDaemon.Perf.Journal" "$@" || status=$?
rm -rf "$dir"
exit $status
