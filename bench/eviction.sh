#!/usr/bin/env bash
# Speed and RSS at the memory limit: SETs of new keys with eviction running all the time, Osprey
# against redis-server at the same maxmemory and policy, alternating runs (as compare.sh).
# Usage: bench/eviction.sh [duration_s] [rounds]. LIMIT_MB (default 64) and POLICY (default
# allkeys-lru) set both servers' limit; SYNC=always|batch|os as compare.sh (unset: Osprey's default
# sync_policy, Redis without persistence).
# Keys are drawn from 10^9, so nearly every SET adds a key and evicts one once the limit is reached;
# both servers are first filled past it. Prints each run, a ratio table, and each server's RSS: idle
# (started, empty), peak while evicting (sampled every 200 ms) against 1.15 × limit + idle.
# RSS_LOG=FILE keeps the samples ("seconds osprey_rss redis_rss" a line) and marks where each
# phase and run began ("# seconds what"), to see when a peak happens.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-5}
rounds=${2:-1}
limit=$(( ${LIMIT_MB:-64} * 1024 * 1024 ))
policy=${POLICY:-allkeys-lru}
keyspace=1000000000
bun=./node_modules/.bin/bun
work=$(mktemp -d)
free_port() { $bun -e 'const s=Bun.listen({hostname:"127.0.0.1",port:0,socket:{data(){}}});console.log(s.port);s.stop(true)'; }
oport=$(free_port); rport=$(free_port)
printf 'listen_addr = "127.0.0.1:%s"\ndata_dir = "%s/data"\nmax_memory_bytes = %s\neviction_policy = "%s"\n' "$oport" "$work" "$limit" "$policy" > "$work/osprey.toml"
redis_persist=(--appendonly no)
case "${SYNC:-}" in
  always) redis_persist=(--appendonly yes --appendfsync always) ;;
  batch) redis_persist=(--appendonly yes --appendfsync everysec) ;;
  os) redis_persist=(--appendonly yes --appendfsync no) ;;
esac
[ -n "${SYNC:-}" ] && printf 'sync_policy = "%s"\n' "$SYNC" >> "$work/osprey.toml"
$bun run src/server.ts --config "$work/osprey.toml" 2> "$work/osprey.log" &
opid=$!
redis-server --port "$rport" --bind 127.0.0.1 --save '' "${redis_persist[@]}" --dir "$work" \
  --maxmemory "$limit" --maxmemory-policy "$policy" > "$work/redis.log" 2>&1 &
rpid=$!
sampler=""
cleanup() { [ -n "$sampler" ] && kill "$sampler" 2>/dev/null; kill "$opid" "$rpid" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
for port in "$oport" "$rport"; do
  for _ in $(seq 1 100); do [ "$(redis-cli -p "$port" PING 2>/dev/null)" = PONG ] && break; sleep 0.1; done
done
echo "uptime at start: $(uptime)" >&2
rss() { awk '/^VmRSS:/ { print $2 * 1024 }' "/proc/$1/status"; }
sleep 1
oidle=$(rss "$opid"); ridle=$(rss "$rpid")

# Peak RSS of both servers from here on, one line per sample.
t0=$(date +%s%N)
now() { local ms=$(( ($(date +%s%N) - t0) / 1000000 )); printf '%d.%03d' $((ms / 1000)) $((ms % 1000)); }
mark() { echo "# $(now) $*" >> "$work/rss.txt"; }
( while :; do echo "$(now) $(rss "$opid") $(rss "$rpid")" >> "$work/rss.txt"; sleep 0.2; done ) &
sampler=$!

setrun() { # target pipeline duration → the bench's JSON line
  local target=$1 p=$2 d=$3 port=$oport proto=osprey
  [ "$target" = redis ] && { port=$rport; proto=resp; }
  $bun run bench/bench.ts --port "$port" --protocol "$proto" --op set --pipeline "$p" --clients 50 \
    --value-size 100 --keyspace "$keyspace" --duration "$d" --json 2>/dev/null | tail -1
}
evicted() { redis-cli -p "$1" INFO stats | tr -d '\r' | awk -F: '$1 == "evicted_keys" { print $2 }'; }

# Fill both past the limit, so every measured run evicts all along.
for target in osprey redis; do
  port=$oport; [ "$target" = redis ] && port=$rport
  mark "$target fill"
  while [ "$(evicted "$port")" = 0 ]; do setrun "$target" 16 3 > /dev/null; done
  echo "$target: evicting (evicted_keys $(evicted "$port"))" >&2
done

results="$work/results.jsonl"
for round in $(seq 1 "$rounds"); do
  # The second server of a pair is biased (~2% at P=16): the order swaps every round.
  order="osprey redis"; [ $((round % 2)) = 0 ] && order="redis osprey"
  for p in 1 16; do
    for target in $order; do
      port=$oport; [ "$target" = redis ] && port=$rport
      before=$(evicted "$port")
      mark "round $round $target P=$p"
      line=$(setrun "$target" "$p" "$duration")
      after=$(evicted "$port")
      echo "{\"target\":\"$target\",\"round\":$round,\"evicted\":$((after - before)),\"r\":$line}" >> "$results"
      echo "round $round $target set P=$p: evicted $((after - before)) during the run: $line" >&2
    done
  done
done
kill "$sampler" 2>/dev/null; sampler=""
[ -n "${RSS_LOG:-}" ] && cp "$work/rss.txt" "$RSS_LOG"
echo "uptime at end: $(uptime)" >&2
omem=$(redis-cli -p "$oport" INFO memory | tr -d '\r' | awk -F: '$1 == "used_memory" { print $2 }')
rmem=$(redis-cli -p "$rport" INFO memory | tr -d '\r' | awk -F: '$1 == "used_memory" { print $2 }')

$bun -e '
const [file, rssFile, limit, oidle, ridle, ofinal, rfinal, omem, rmem] = process.argv.slice(1);
const rows = require("fs").readFileSync(file, "utf8").trim().split("\n").map(JSON.parse);
const best = {};
for (const { target, r, evicted } of rows) {
  const k = `set P=${r.pipeline ?? r.options?.pipeline}`;
  const ops = r.opsPerSec ?? r.ops_per_sec ?? r.ops;
  best[k] ??= {};
  if (!best[k][target] || ops > best[k][target].ops) best[k][target] = { ops, p99: r.p99Ms ?? r.p99_ms ?? r.latencyMs?.p99, evicted };
}
console.log(`maxmemory ${limit} bytes (${(limit / 2 ** 20).toFixed(0)} MiB), both servers evicting all along`);
console.log("| shape | Osprey ops/s | Redis ops/s | ratio | Osprey p99 ms | Redis p99 ms | evicted during the run (Osprey / Redis) |");
console.log("|---|---|---|---|---|---|---|");
for (const [k, v] of Object.entries(best)) {
  const o = v.osprey, r = v.redis;
  console.log(`| ${k} | ${Math.round(o.ops).toLocaleString("en")} | ${Math.round(r.ops).toLocaleString("en")} | ${(o.ops / r.ops).toFixed(2)} | ${o.p99?.toFixed(3)} | ${r.p99?.toFixed(3)} | ${o.evicted} / ${r.evicted} |`);
}
const samples = require("fs").readFileSync(rssFile, "utf8").trim().split("\n").filter((l) => !l.startsWith("#")).map((l) => l.split(" ").slice(1).map(Number));
const peak = (i) => Math.max(...samples.map((s) => s[i]));
const p95 = (i) => samples.map((s) => s[i]).sort((a, b) => a - b)[Math.floor(samples.length * 0.95)];
const mib = (n) => (Number(n) / 2 ** 20).toFixed(1);
const bound = (idle) => 1.15 * Number(limit) + Number(idle);
console.log(`\n| server | idle RSS MiB | peak RSS while evicting MiB | 95th percentile of ${samples.length} samples MiB | RSS at the end MiB | used_memory MiB | bound 1.15 × limit + idle MiB | peak / bound |`);
console.log("|---|---|---|---|---|---|---|---|");
console.log(`| osprey | ${mib(oidle)} | ${mib(peak(0))} | ${mib(p95(0))} | ${mib(ofinal)} | ${mib(omem)} | ${mib(bound(oidle))} | ${(peak(0) / bound(oidle)).toFixed(2)} |`);
console.log(`| redis | ${mib(ridle)} | ${mib(peak(1))} | ${mib(p95(1))} | ${mib(rfinal)} | ${mib(rmem)} | ${mib(bound(ridle))} | ${(peak(1) / bound(ridle)).toFixed(2)} |`);
' "$results" "$work/rss.txt" "$limit" "$oidle" "$ridle" "$(rss "$opid")" "$(rss "$rpid")" "$omem" "$rmem"
