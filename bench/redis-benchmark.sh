#!/usr/bin/env bash
# redis-benchmark (Debian's redis-tools) against Osprey over RESP and against redis-server, in one
# session, same shapes, alternating runs. Usage: bench/redis-benchmark.sh [rounds] [redis persistence].
# Persistence: "aof" (default: appendonly yes, appendfsync everysec — like Osprey's sync_policy
# batch, whose WAL is always on) or "none" (no persistence at all).
# Prints one line per run and a table of best-of-rounds ops/s with the Osprey/Redis ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
persistence=${2:-aof}
bun=./node_modules/.bin/bun
work=$(mktemp -d)
free_port() { $bun -e 'const s=Bun.listen({hostname:"127.0.0.1",port:0,socket:{data(){}}});console.log(s.port);s.stop(true)'; }
oport=$(free_port); rport=$(free_port)
printf 'listen_addr = "127.0.0.1:%s"\ndata_dir = "%s/osprey"\n' "$oport" "$work" > "$work/osprey.toml"
$bun run src/server.ts --config "$work/osprey.toml" 2> "$work/osprey.log" &
opid=$!
redis_persist=(--save '' --appendonly no)
[ "$persistence" = aof ] && redis_persist=(--save '' --appendonly yes --appendfsync everysec)
redis-server --port "$rport" --bind 127.0.0.1 "${redis_persist[@]}" --dir "$work" > "$work/redis.log" 2>&1 &
rpid=$!
cleanup() { kill "$opid" "$rpid" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
for port in "$oport" "$rport"; do
  for _ in $(seq 1 100); do [ "$(redis-cli -p "$port" PING 2>/dev/null)" = PONG ] && break; sleep 0.1; done
done

results="$work/results.csv"
run() { # target pipeline requests
  local target=$1 p=$2 n=$3 port=$oport
  [ "$target" = redis ] && port=$rport
  redis-benchmark -h 127.0.0.1 -p "$port" -c 50 -P "$p" -d 100 -r 100000 -n "$n" -t set,get,incr --csv 2>/dev/null |
    tail -n +2 | while IFS=, read -r test rps _; do
      test=${test//\"/}; rps=${rps//\"/}
      echo "$target,$p,$test,$rps" >> "$results"
      echo "round $round $target P=$p $test: $rps" >&2
    done
}
for round in $(seq 1 "$rounds"); do
  # Alternate who goes first, so drift in the machine's load does not favour one side.
  order="osprey redis"; [ $((round % 2)) -eq 0 ] && order="redis osprey"
  for p in 1 16; do
    n=300000; [ "$p" = 16 ] && n=2000000
    for target in $order; do run "$target" "$p" "$n"; done
  done
done

echo "| shape | Osprey best ops/s | Redis best ops/s | best ratio | per-round ratios |"
echo "|---|---|---|---|---|"
for p in 1 16; do
  for test in SET GET INCR; do
    o=$(awk -F, -v p="$p" -v t="$test" '$1=="osprey" && $2==p && $3==t {print $4}' "$results")
    r=$(awk -F, -v p="$p" -v t="$test" '$1=="redis" && $2==p && $3==t {print $4}' "$results")
    ob=$(printf '%s\n' $o | sort -g | tail -1); rb=$(printf '%s\n' $r | sort -g | tail -1)
    per=$(paste -d' ' <(printf '%s\n' $o) <(printf '%s\n' $r) | awk '{printf "%s%.2f", (NR>1?", ":""), $1/$2}')
    printf '| %s P=%s | %.0f | %.0f | %.2f | %s |\n' "$test" "$p" "$ob" "$rb" "$(awk -v a="$ob" -v b="$rb" 'BEGIN{print a/b}')" "$per"
  done
done
