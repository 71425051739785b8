#!/bin/sh
# Two tiers over a 3-node NATS JetStream cluster, all on loopback (README "Beyond one machine"):
#   ingest tier:      tcp json -> nats sink, subject demo.{partition} by hash of "key" (8 partitions)
#   aggregation tier: two eventd instances, nats source with partitions claimed through leases
#                     -> aggregate count/sum by key per 2 s window -> one file each
# Sends events, shows which instance owns which partitions and the aggregates (each key in one
# instance only), kills one instance (-9), shows its partitions moving to the other; cleans up
# every process it started on exit.
set -eu
cd "$(dirname "$0")/.."
bin=$(pwd)/artifacts/eventd
[ -x "$bin" ] || { echo "demo-cluster: $bin is missing: run make publish" >&2; exit 1; }
nats=$(command -v nats-server || echo /usr/sbin/nats-server)
[ -x "$nats" ] || { echo "demo-cluster: nats-server is missing: run scripts/deps.sh" >&2; exit 1; }
# A port range of its own per run (DEMO_PORT_BASE to choose): a cluster whose route ports another
# cluster on the machine also lists would join it.
base=${DEMO_PORT_BASE:-$((20000 + ($$ % 400) * 50))}
dir=$(mktemp -d)
pids=""
cleanup() {
  for p in $pids; do kill -9 "$p" 2>/dev/null || true; done
  for p in $pids; do wait "$p" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== a 3-node nats cluster on 127.0.0.1:$((base + 1))-$((base + 3)) (JetStream, routes between all three)"
routes="nats://127.0.0.1:$((base + 11)),nats://127.0.0.1:$((base + 12)),nats://127.0.0.1:$((base + 13))"
urls="nats://127.0.0.1:$((base + 1)),nats://127.0.0.1:$((base + 2)),nats://127.0.0.1:$((base + 3))"
for i in 1 2 3; do
  mkdir -p "$dir/n$i"
  "$nats" -a 127.0.0.1 -p $((base + i)) -m $((base + 20 + i)) -js -sd "$dir/n$i" --server_name "n$i" \
    --cluster_name demo --cluster "nats://127.0.0.1:$((base + 10 + i))" --routes "$routes" >"$dir/n$i.log" 2>&1 &
  pids="$pids $!"
done
for i in 1 2 3; do
  n=0
  until curl -fs "http://127.0.0.1:$((base + 20 + i))/healthz?js-enabled-only=true" >/dev/null 2>&1; do
    n=$((n + 1)); [ "$n" -lt 300 ] || { cat "$dir/n$i.log"; echo "demo-cluster: nats n$i did not come up" >&2; exit 1; }
    sleep 0.1
  done
done

# The stream, replicated on all three (R3), through the JetStream API over the plain protocol (no
# nats CLI is packaged for Debian). The API's answer may come from another server before this
# short-lived connection's interest reached it, so success is read from the monitoring endpoint
# (/jsz counts the streams) rather than from the answer; repeated until the cluster has a meta leader.
stream='{"name":"DEMO","subjects":["demo.>"],"num_replicas":3,"duplicate_window":120000000000}'
n=0
until curl -fs "http://127.0.0.1:$((base + 21))/jsz" 2>/dev/null | grep -q '"streams": *[1-9]'; do
  n=$((n + 1)); [ "$n" -lt 30 ] || { tail -n 20 "$dir/n1.log"; echo "demo-cluster: could not create the stream DEMO" >&2; exit 1; }
  printf 'CONNECT {"verbose":false}\r\nPUB $JS.API.STREAM.CREATE.DEMO _INBOX.demo %d\r\n%s\r\nPING\r\n' \
    "${#stream}" "$stream" | nc -q 1 127.0.0.1 $((base + 1)) >/dev/null 2>&1 || true
  sleep 0.5
done
echo "== stream DEMO (demo.>) replicated on 3 servers"

cat >"$dir/ingest.toml" <<EOF
[daemon]
control_socket = "$dir/ingest.sock"
ring_size = 4096
arena_size = "4MiB"

[sources.in]
type = "tcp"
address = "127.0.0.1:$((base + 30))"
format = "json"

[sinks.bus]
type = "nats"
inputs = ["in"]
url = "$urls"
subject = "demo.{partition}"
partition_by = "key"
partitions = 8
EOF

for a in a b; do
  cat >"$dir/agg-$a.toml" <<EOF
[daemon]
control_socket = "$dir/agg-$a.sock"
ring_size = 4096
arena_size = "4MiB"

[sources.bus]
type = "nats"
url = "$urls"
stream = "DEMO"
consumer = "agg"
subject = "demo.{partition}"
partitions = "auto"
partition_count = 8
lease_ttl = "3s"
ack_wait = "5s"

[transforms.per_key]
type = "aggregate"
inputs = ["bus"]
window = "2s"
group_by = ["key"]
metrics = ["count", "sum"]
time = "processing"

[sinks.out]
type = "file"
inputs = ["per_key"]
path = "$dir/agg-$a.jsonl"
EOF
done

start() { # name
  "$bin" run --config "$dir/$1.toml" >"$dir/$1.stdout" 2>"$dir/$1.stderr" &
  pids="$pids $!"
  eval "pid_$(echo "$1" | tr - _)=$!"
  n=0
  until "$bin" stats --socket "$dir/$1.sock" >/dev/null 2>&1; do
    n=$((n + 1)); [ "$n" -lt 200 ] || { cat "$dir/$1.stderr"; echo "demo-cluster: eventd $1 did not come up" >&2; exit 1; }
    sleep 0.05
  done
}
owned() { # name
  "$bin" stats --socket "$dir/$1.sock" 2>/dev/null | sed -n 's/^nats_partitions_owned{source="bus"} //p'
}

echo "== ingest tier: tcp 127.0.0.1:$((base + 30)) -> nats sink demo.{partition} (8 partitions by key)"
start ingest
echo "== aggregation tier: two instances claiming the 8 partitions through leases (bucket agg_leases, TTL 3 s)"
start agg-a
start agg-b
n=0
until [ "$(owned agg-a)" = 4 ] && [ "$(owned agg-b)" = 4 ]; do
  n=$((n + 1)); [ "$n" -lt 200 ] || { echo "demo-cluster: the partitions were not split: a=$(owned agg-a) b=$(owned agg-b)" >&2; exit 1; }
  sleep 0.1
done
echo "   agg-a owns $(owned agg-a) partitions, agg-b owns $(owned agg-b)"
grep -h "claimed\|gave up" "$dir/agg-a.stderr" "$dir/agg-b.stderr" | sed 's/^/   /'

send() { # from to
  i=$1
  while [ "$i" -lt "$2" ]; do
    printf '{"type":"click","key":"user-%d","value":%d}\n' $((i % 12)) $((i % 10))
    i=$((i + 1))
  done | nc -q 1 127.0.0.1 $((base + 30))
}
echo "== sending 6000 events over 12 keys"
send 0 6000
sleep 3

echo "== agg-a's aggregates (count and sum per key per 2 s window):"
cat "$dir/agg-a.jsonl" | sed 's/^/   /'
echo "== agg-b's aggregates:"
cat "$dir/agg-b.jsonl" | sed 's/^/   /'
a_keys=$(grep -o '"key":"[^"]*"' "$dir/agg-a.jsonl" | sort -u | tr '\n' ' ')
b_keys=$(grep -o '"key":"[^"]*"' "$dir/agg-b.jsonl" | sort -u | tr '\n' ' ')
echo "   keys in a: $a_keys"
echo "   keys in b: $b_keys"
both=$( { grep -o '"key":"[^"]*"' "$dir/agg-a.jsonl" | sort -u; grep -o '"key":"[^"]*"' "$dir/agg-b.jsonl" | sort -u; } | sort | uniq -d | wc -l)
[ "$both" -eq 0 ] && echo "   no key is aggregated in both instances" || echo "   $both keys were aggregated in both (a handover happened)"

echo "== kill -9 agg-a: its leases age out (3 s) and agg-b claims its partitions at its next round"
# shellcheck disable=SC2154
kill -9 "$pid_agg_a"
killed=$(date +%s)
n=0
until [ "$(owned agg-b)" = 8 ]; do
  n=$((n + 1)); [ "$n" -lt 200 ] || { echo "demo-cluster: agg-b did not take over: $(owned agg-b) partitions" >&2; exit 1; }
  sleep 0.1
done
echo "   agg-b owns $(owned agg-b) partitions $(( $(date +%s) - killed )) s after the kill"
grep -h "claimed" "$dir/agg-b.stderr" | tail -1 | sed 's/^/   /'
echo "== sending 1200 more events"
send 6000 7200
sleep 3
echo "== agg-b's aggregates since the kill (every key now):"
tail -n 12 "$dir/agg-b.jsonl" | sed 's/^/   /'
echo "== agg-b's nats counters"
"$bin" stats --socket "$dir/agg-b.sock" | grep -E "nats_(acks|redelivered|partitions_owned|lease)" | sed 's/^/   /'
echo "== events counted per key over both instances' files (6000 + 1200 sent: 600 per key)"
cat "$dir/agg-a.jsonl" "$dir/agg-b.jsonl" | sed -n 's/.*"key":"\([^"]*\)","count":\([0-9]*\).*/\1 \2/p' \
  | awk '{ n[$1] += $2 } END { for (k in n) printf "%s=%d ", k, n[k]; printf "\n" }' | tr ' ' '\n' | sort -t- -k2 -n | tr '\n' ' ' | sed 's/^ */   /'
echo
