#!/usr/bin/env bash
# The whole path on a throwaway Redis: PHP-style tasks in, the worker "sends" them with the dry-run
# log provider, an invalid number lands in the dead-letter list. Stops and removes what it started.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
smsworker="$VENV/bin/smsworker"

workdir=$(mktemp -d)
port=$("$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$workdir" \
    --logfile "$workdir/redis.log" &
redis_pid=$!
worker_pid=""
cleanup() {
    [ -z "$worker_pid" ] || kill "$worker_pid" 2>/dev/null || true
    kill "$redis_pid" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$workdir"
}
trap cleanup EXIT
rcli() { redis-cli -p "$port" "$@"; }
until rcli ping >/dev/null 2>&1; do sleep 0.05; done

export SMSWORKER_REDIS_URL="redis://127.0.0.1:$port/0"
export SMSWORKER_PROVIDER=log
export SMSWORKER_LOG_FORMAT=${SMSWORKER_LOG_FORMAT:-console}
if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold="" plain=""; fi
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }

step "A throwaway redis-server on port $port. Pushing the seed article's tasks, byte for byte as PHP writes them"
rcli LPUSH sms_queue '{"template_id":123,"mobiles":["13800138000","13800138001"],"content":"Test SMS"}' >/dev/null
rcli LPUSH sms_queue '{"template_id":123,"mobiles":["13800138000","13800138001"],"content":"\u6d4b\u8bd5\u77ed\u4fe1"}' >/dev/null
# $_POST strings, array_unique() holes and an invalid number: accepted, and the bad number dead-lettered
rcli LPUSH sms_queue '{"template_id":"123","mobiles":{"0":"13800138002","2":"12345"},"content":"Your code is 1234"}' >/dev/null
"$smsworker" enqueue --template-id 123 --mobile 13800138003 --content "pushed with smsworker enqueue"
"$smsworker" stats

step "smsworker run --provider log   (a dry run: each message it would send is logged)"
"$smsworker" run &
worker_pid=$!
for _ in $(seq 1 300); do
    [ "$(rcli HGET '{sms_queue}:stats' tasks)" = "4" ] && break
    sleep 0.1
done
kill -TERM "$worker_pid"
wait "$worker_pid"
worker_pid=""

step "smsworker stats"
"$smsworker" stats
step "smsworker dlq list   (the invalid number, with the reason and the original payload)"
"$smsworker" dlq list
sent=$(rcli HGET '{sms_queue}:stats' sent)
if [ "$sent" != "6" ]; then
    echo "demo failed: expected 6 messages sent, got ${sent:-none}" >&2
    exit 1
fi
step "Done: 6 messages sent (dry run), 1 dead-lettered."
# The venv is not on PATH: say where the command is, and how to install it for real.
cat <<EOF
The command is $smsworker (not on your PATH):
    $smsworker --help     or     . $VENV/bin/activate   then   smsworker --help
To install it for real: pipx install .   (or pip install . in a venv of your own, or a wheel:
pip wheel --no-deps -w dist . ). Next: README.md, and make test.
EOF
