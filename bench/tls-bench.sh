#!/usr/bin/env bash
# redis-benchmark over TLS: Osprey (Bun's TLS) against redis-server 7 with --tls-port, GET and SET
# at P=1 and P=16, with throw-away certificates made by openssl here; then Osprey over plain TCP
# with and without auth_password (AUTH is sent once per connection, so the ratio should be ~1).
# Usage: bench/tls-bench.sh [requests at P=1] [requests at P=16]. One run of each shape.
set -euo pipefail
cd "$(dirname "$0")/.."
n1=${1:-100000}
n16=${2:-400000}
bun=./node_modules/.bin/bun
work=$(mktemp -d)
free_port() { $bun -e 'const s=Bun.listen({hostname:"127.0.0.1",port:0,socket:{data(){}}});console.log(s.port);s.stop(true)'; }

# A CA and a server certificate for 127.0.0.1, valid one day, never kept.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/ca.key" -out "$work/ca.pem" -days 1 -subj "/CN=bench CA" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout "$work/server.key" -out "$work/server.csr" -subj "/CN=127.0.0.1" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' > "$work/ext.cnf"
openssl x509 -req -in "$work/server.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial -days 1 -extfile "$work/ext.cnf" -out "$work/server.pem" 2>/dev/null

pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

osprey() { # name port extra-toml-lines
  mkdir -p "$work/$1"
  printf 'listen_addr = "127.0.0.1:%s"\ndata_dir = "%s/%s"\n%s\n' "$2" "$work" "$1" "$3" > "$work/$1.toml"
  $bun run src/server.ts --config "$work/$1.toml" 2> "$work/$1.log" &
  pids+=($!)
}
tport=$(free_port); pport=$(free_port); aport=$(free_port); rport=$(free_port)
osprey tls "$tport" "tls_cert_file = \"$work/server.pem\"
tls_key_file = \"$work/server.key\""
osprey plain "$pport" ""
osprey auth "$aport" 'auth_password = "bench-password"'
redis-server --port 0 --tls-port "$rport" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" \
  --tls-cert-file "$work/server.pem" --tls-key-file "$work/server.key" --tls-ca-cert-file "$work/ca.pem" --tls-auth-clients no > "$work/redis.log" 2>&1 &
pids+=($!)
tls=(--tls --cacert "$work/ca.pem")
for p in "$tport" "$rport"; do
  for _ in $(seq 1 100); do [ "$(redis-cli "${tls[@]}" -p "$p" PING 2>/dev/null)" = PONG ] && break; sleep 0.1; done
done
for p in "$pport"; do
  for _ in $(seq 1 100); do [ "$(redis-cli -p "$p" PING 2>/dev/null)" = PONG ] && break; sleep 0.1; done
done
for _ in $(seq 1 100); do [ "$(redis-cli --no-auth-warning -a bench-password -p "$aport" PING 2>/dev/null)" = PONG ] && break; sleep 0.1; done

run() { # label port pipeline extra-args...
  local label=$1 port=$2 p=$3
  shift 3
  local n=$n1
  [ "$p" = 16 ] && n=$n16
  redis-benchmark -h 127.0.0.1 -p "$port" "$@" -c 50 -P "$p" -d 100 -r 100000 -n "$n" -t set,get --csv 2>/dev/null |
    tail -n +2 | while IFS=, read -r test rps _; do
      printf '%-22s P=%-2s %-4s %12s\n' "$label" "$p" "${test//\"/}" "${rps//\"/}"
    done
}
for p in 1 16; do
  run "osprey TLS" "$tport" "$p" "${tls[@]}"
  run "redis-server TLS" "$rport" "$p" "${tls[@]}"
done
for p in 1 16; do
  run "osprey TCP" "$pport" "$p"
  run "osprey TCP + AUTH" "$aport" "$p" -a bench-password
done
