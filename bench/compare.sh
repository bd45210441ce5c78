#!/usr/bin/env bash
# Osprey against redis-server in one session, same generator, same shapes, alternating runs.
# Usage: bench/compare.sh [duration_s] [rounds]. Needs redis-server (apt-get install redis-server).
# SYNC=always|batch|os sets Osprey's sync_policy and the matching Redis AOF (appendfsync
# always|everysec|no); unset, Osprey runs its default and Redis without persistence.
# SHAPES="set 1,get 16" picks the workloads (default: set/get at pipeline 1 and 16).
# Prints one line per run and a summary table with the Osprey/Redis ratio of the best runs.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10}
rounds=${2:-2}
bun=./node_modules/.bin/bun
work=$(mktemp -d)
free_port() { $bun -e 'const s=Bun.listen({hostname:"127.0.0.1",port:0,socket:{data(){}}});console.log(s.port);s.stop(true)'; }
oport=$(free_port); rport=$(free_port)
printf 'listen_addr = "127.0.0.1:%s"\ndata_dir = "%s/data"\n' "$oport" "$work" > "$work/osprey.toml"
redis_persist=(--appendonly no)
case "${SYNC:-}" in
  always) redis_persist=(--appendonly yes --appendfsync always) ;;
  batch) redis_persist=(--appendonly yes --appendfsync everysec) ;;
  os) redis_persist=(--appendonly yes --appendfsync no) ;;
esac
[ -n "${SYNC:-}" ] && printf 'sync_policy = "%s"\n' "$SYNC" >> "$work/osprey.toml"
$bun run src/server.ts --config "$work/osprey.toml" 2> "$work/osprey.log" &
opid=$!
redis-server --port "$rport" --bind 127.0.0.1 --save '' "${redis_persist[@]}" --dir "$work" > "$work/redis.log" 2>&1 &
rpid=$!
cleanup() { kill "$opid" "$rpid" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
sleep 1.5

run() { # target op pipeline
  local target=$1 op=$2 p=$3 port=$oport proto=osprey pre=""
  [ "$target" = redis ] && { port=$rport; proto=resp; }
  [ "$op" = get ] && pre=--preload
  $bun run bench/bench.ts --port "$port" --protocol "$proto" --op "$op" --pipeline "$p" --clients 50 \
    --value-size 100 --keyspace 100000 --duration "$duration" $pre --json 2>/dev/null | tail -1
}

results="$work/results.jsonl"
for round in $(seq 1 "$rounds"); do
  IFS=, read -ra shapes <<< "${SHAPES:-set 1,get 1,set 16,get 16}"
  for shape in "${shapes[@]}"; do
    set -- $shape
    for target in osprey redis; do
      line=$(run "$target" "$1" "$2")
      echo "{\"target\":\"$target\",\"round\":$round,\"r\":$line}" >> "$results"
      echo "round $round $target $1 P=$2: $line" >&2
    done
  done
done

$bun -e '
const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
const best = {};
for (const { target, r } of rows) {
  const k = `${r.op ?? r.options?.op} P=${r.pipeline ?? r.options?.pipeline}`;
  const ops = r.opsPerSec ?? r.ops_per_sec ?? r.ops;
  best[k] ??= {};
  if (!best[k][target] || ops > best[k][target].ops) best[k][target] = { ops, p99: r.p99Ms ?? r.p99_ms ?? r.latencyMs?.p99 };
}
console.log("| shape | Osprey ops/s | Redis ops/s | ratio | Osprey p99 ms | Redis p99 ms | p99 ratio |");
console.log("|---|---|---|---|---|---|---|");
for (const [k, v] of Object.entries(best)) {
  const o = v.osprey, r = v.redis;
  console.log(`| ${k} | ${Math.round(o.ops).toLocaleString("en")} | ${Math.round(r.ops).toLocaleString("en")} | ${(o.ops / r.ops).toFixed(2)} | ${o.p99?.toFixed(3)} | ${r.p99?.toFixed(3)} | ${(o.p99 / r.p99).toFixed(2)} |`);
}' "$results"
