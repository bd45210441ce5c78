#!/usr/bin/env bash
# Do reads wait for fsyncs? 25 clients GET while 25 other clients SET, against Osprey with
# sync_policy "always" and then "os" (same session, alternating rounds). Under "always" every SET's
# reply waits for an fdatasync; the GETs of other clients should not.
# Usage: bench/sync-reads.sh [duration_s] [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-5}
rounds=${2:-2}
bun=./node_modules/.bin/bun
work=$(mktemp -d)
free_port() { $bun -e 'const s=Bun.listen({hostname:"127.0.0.1",port:0,socket:{data(){}}});console.log(s.port);s.stop(true)'; }
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
summary() { $bun -e 'const r=JSON.parse(process.argv[1]);console.log(`${r.op} ${Math.round(r.opsPerSec)} ops/s p50 ${r.latencyMs.p50} ms p99 ${r.latencyMs.p99} ms`)' "$1"; }

for round in $(seq 1 "$rounds"); do
  for policy in always os; do
    port=$(free_port)
    rm -rf "$work/data"
    printf 'listen_addr = "127.0.0.1:%s"\ndata_dir = "%s/data"\nsync_policy = "%s"\n' "$port" "$work" "$policy" > "$work/osprey.toml"
    $bun run src/server.ts --config "$work/osprey.toml" 2> "$work/osprey.log" & pid=$!
    sleep 1.2
    $bun run bench/bench.ts --port "$port" --op get --keyspace 10000 --preload --duration 0.5 --warmup 0 >/dev/null 2>&1
    $bun run bench/bench.ts --port "$port" --op set --clients 25 --keyspace 10000 --duration "$duration" --warmup 1 --json 2>/dev/null | tail -1 > "$work/set.json" &
    setter=$!
    gets=$($bun run bench/bench.ts --port "$port" --op get --clients 25 --keyspace 10000 --duration "$duration" --warmup 1 --json 2>/dev/null | tail -1)
    wait $setter
    echo "round $round $policy: $(summary "$gets") | $(summary "$(cat "$work/set.json")")"
    kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
  done
done
