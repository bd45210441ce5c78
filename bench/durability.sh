#!/usr/bin/env bash
# Snapshot and recovery figures for 1M keys × 100 B, Osprey and redis-server in one session.
#   1. Osprey: preload, GET and SET (throughput, p99) idle and while snapshots run back to back,
#      the snapshot's work and longest slice (STATS), then kill -9 and time the recovery.
#   2. Redis: the same keys and loads around BGSAVE, then restart from RDB and from AOF and read
#      their load times.
# Usage: [SNAPSHOT_FORK=false] bench/durability.sh [keys]. Needs redis-server. Takes about two minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
keys=${1:-1000000}
bun=./node_modules/.bin/bun
work=$(mktemp -d)
free_port() { $bun -e 'const s=Bun.listen({hostname:"127.0.0.1",port:0,socket:{data(){}}});console.log(s.port);s.stop(true)'; }
oport=$(free_port); rport=$(free_port)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

stat() { printf 'STATS\r\n' | nc -q1 127.0.0.1 "$oport" | tr -d '\r' | grep "^$1=" | head -1 | cut -d= -f2; }
# Waits until no snapshot (Osprey) or BGSAVE (Redis) runs, so that "idle" is idle.
osnap_wait() { while [ "$(stat snapshot_in_progress)" != 0 ]; do sleep 0.2; done; }
rsave_wait() { while redis-cli -p "$rport" info persistence | grep -q 'rdb_bgsave_in_progress:1'; do sleep 0.2; done; }
load() { # port protocol op duration [extra]
  $bun run bench/bench.ts --port "$1" --protocol "$2" --op "$3" --clients 50 --pipeline 1 --value-size 100 \
    --keyspace "$keys" --duration "$4" --warmup 1 --json ${5:-} 2>/dev/null | tail -1
}
# A 5 s `load` of op while snapshots run back to back for 7 s: one redis-cli asks either server for
# a BGSAVE every 50 ms over one connection (one that finds a snapshot running is refused). A
# process per request instead (a redis-cli started every 50 ms, measured with no snapshot running)
# cost Osprey's SET 7% of its throughput and 2.5x its p99 on its own (bench/RESULTS.md, session 12).
while_snapshots() { # port protocol op
  redis-cli -p "$1" -r 140 -i 0.05 bgsave >/dev/null 2>&1 &
  load "$1" "$2" "$3" 5
  wait $!
}
# The server's minor page faults so far (/proc/PID/stat field 10): copy-on-write after a fork shows here.
faults() { awk '{print $10}' "/proc/$([ "$1" = redis ] && echo "$rpid" || echo "$opid")/stat"; }
p99() { $bun -e 'const r=JSON.parse(process.argv[1]);console.log(`${Math.round(r.opsPerSec)} ops/s, p99 ${r.latencyMs.p99} ms`)' "$1"; }
# GET, then SET: each idle, then while snapshots (Osprey) or BGSAVEs (Redis) run back to back for
# the whole measured window; the next idle run waits for the last of them to end.
idle_and_during() { # osprey|redis
  local port=$oport proto=osprey settle=osnap_wait what=snapshots
  [ "$1" = redis ] && { port=$rport; proto=resp; settle=rsave_wait; what=BGSAVE; }
  for op in GET SET; do
    local f0; f0=$(faults "$1")
    printf '%-22s%s\n' "$op idle:" "$(p99 "$(load "$port" "$proto" "${op,,}" 5)"), $(( $(faults "$1") - f0 )) page faults"
    f0=$(faults "$1")
    printf '%-22s%s\n' "$op during $what:" "$(p99 "$(while_snapshots "$port" "$proto" "${op,,}")"), $(( $(faults "$1") - f0 )) page faults"
    $settle
  done
}

echo "== Osprey: $keys keys x 100 B (sync_policy os, wal_max_bytes 4 GiB so only BGSAVE and SNAPSHOT start snapshots)"
printf 'listen_addr = "127.0.0.1:%s"\ndata_dir = "%s/osprey"\nsync_policy = "os"\nwal_max_bytes = 4294967296\n' "$oport" "$work" > "$work/osprey.toml"
# SNAPSHOT_FORK=false writes snapshots in slices on the event loop instead of a forked child.
[ -n "${SNAPSHOT_FORK:-}" ] && printf 'snapshot_fork = %s\n' "$SNAPSHOT_FORK" >> "$work/osprey.toml"
$bun run src/server.ts --config "$work/osprey.toml" 2> "$work/osprey.log" & pids+=($!); opid=$!
sleep 1.5
$bun run bench/bench.ts --port "$oport" --op get --keyspace "$keys" --preload --duration 1 --warmup 0 --pipeline 16 >/dev/null 2>&1
echo "keys: $(stat keys), rss: $(( $(stat mem_rss_bytes) / 1048576 )) MiB"
idle_and_during osprey
echo "snapshots: $(stat snapshots_total), last: $(stat last_snapshot_keys) keys, $(stat last_snapshot_bytes) bytes, work $(stat last_snapshot_work_ms) ms, longest slice $(stat last_snapshot_longest_slice_ms) ms, wall $(stat last_snapshot_duration_ms) ms (under load)"
printf 'SNAPSHOT\r\n' | nc -q1 127.0.0.1 "$oport" >/dev/null; sleep 3
echo "idle snapshot: work $(stat last_snapshot_work_ms) ms, longest slice $(stat last_snapshot_longest_slice_ms) ms, wall $(stat last_snapshot_duration_ms) ms"
# Some WAL after the snapshot, then a crash.
$bun run bench/bench.ts --port "$oport" --op set --keyspace "$keys" --duration 2 --warmup 0 >/dev/null 2>&1
kill -9 "$opid"; wait "$opid" 2>/dev/null || true
ls -la "$work/osprey" | grep -E "osnap|oswal" | awk '{print "  " $5 " " $9}'
t0=$(date +%s%N)
$bun run src/server.ts --config "$work/osprey.toml" 2> "$work/osprey2.log" & pids+=($!)
until grep -q listening "$work/osprey2.log"; do sleep 0.01; done
t1=$(date +%s%N)
echo "restart to listening: $(( (t1 - t0) / 1000000 )) ms (process start included); $(grep -o 'recovered.*' "$work/osprey2.log")"

echo "== Redis $(redis-server --version | grep -o 'v=[0-9.]*'): same keys"
redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly yes --appendfsync no --dir "$work" --dbfilename dump.rdb > "$work/redis.log" 2>&1 & pids+=($!); rpid=$!
sleep 1
$bun run bench/bench.ts --port "$rport" --protocol resp --op get --keyspace "$keys" --preload --duration 1 --warmup 0 --pipeline 16 >/dev/null 2>&1
idle_and_during redis
redis-cli -p "$rport" save >/dev/null
redis-cli -p "$rport" shutdown nosave >/dev/null 2>&1 || true
sleep 1
redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" --dbfilename dump.rdb > "$work/redis-rdb.log" 2>&1 & pids+=($!)
until grep -q "Ready to accept" "$work/redis-rdb.log"; do sleep 0.01; done
echo "RDB load: $(grep -o 'DB loaded from disk: [0-9.]* seconds' "$work/redis-rdb.log")"
redis-cli -p "$rport" shutdown nosave >/dev/null 2>&1 || true
sleep 1
redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly yes --aof-use-rdb-preamble no --dir "$work" --dbfilename none.rdb > "$work/redis-aof.log" 2>&1 & pids+=($!)
until grep -q "Ready to accept" "$work/redis-aof.log"; do sleep 0.01; done
echo "AOF load: $(grep -o 'DB loaded from append only file: [0-9.]* seconds' "$work/redis-aof.log" || grep -io 'loaded.*' "$work/redis-aof.log" | tail -1)"
