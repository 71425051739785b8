#!/bin/sh
# The daemon's main job on its embedded default: JSON over TCP :7400 and UDP :7401, a 1 s
# aggregate by type, results on stdout. Sends a few seconds of events, shows the stats, drains.
set -eu
cd "$(dirname "$0")/.."
bin=artifacts/eventd
out=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$out"' EXIT INT TERM

echo "== starting: $bin run (embedded default config)"
"$bin" run >"$out/stdout" 2>"$out/stderr" &
pid=$!
i=0
until "$bin" ctl health >/dev/null 2>&1; do
  i=$((i + 1)); [ "$i" -lt 100 ] || { cat "$out/stderr"; echo "demo: the daemon did not come up" >&2; exit 1; }
  sleep 0.05
done
cat "$out/stderr"

echo "== sending events for 3 seconds (TCP and UDP; a few malformed lines on purpose)"
end=$(( $(date +%s) + 3 ))
n=0
while [ "$(date +%s)" -lt "$end" ]; do
  {
    for t in click view purchase click; do
      printf '{"type":"%s","key":"user-%d","value":%d.5}\n' "$t" $((n % 7)) $((n % 40))
      n=$((n + 1))
    done
  } | nc -q0 127.0.0.1 7400
  printf '{"type":"heartbeat","value":1}\n' | nc -u -q0 127.0.0.1 7401
done
printf 'this is not json\n{"type":42}\n' | nc -q0 127.0.0.1 7400
sleep 1.2

echo "== eventd stats"
"$bin" stats
echo "== eventd ctl errors"
"$bin" ctl errors
echo "== eventd ctl drain"
"$bin" ctl drain
wait "$pid" || true
echo "== the aggregate's output (one line per type per 1 s window)"
cat "$out/stdout"
