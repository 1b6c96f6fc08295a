#!/usr/bin/env bash
# The seed's flow for a person to click through: the example page (php -S), a throwaway redis-server,
# and `smsworker run` with the dry-run log provider printing each SMS it would send. Ctrl-C stops all.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PORT=${PORT:-8080}
workdir=$(mktemp -d)
redis_port=$("$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$workdir" \
    --logfile "$workdir/redis.log" &
pids=($!)
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$workdir"; }
trap cleanup EXIT INT TERM
until redis-cli -p "$redis_port" ping >/dev/null 2>&1; do sleep 0.05; done
SMSWORKER_REDIS_URL="redis://127.0.0.1:$redis_port/0" SMSWORKER_PROVIDER=log "$VENV/bin/smsworker" run &
pids+=($!)
REDIS_PORT=$redis_port php -S "127.0.0.1:$PORT" -t contrib/php-producer/example >/dev/null 2>&1 &
pids+=($!)
echo "Open http://127.0.0.1:$PORT/index.html and click 发送; the worker's log below shows each SMS. Ctrl-C stops."
wait
