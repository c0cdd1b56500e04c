#!/usr/bin/env bash
# What keybot adds to a model on a server: llama-server (built by build-llama-tools.sh against the
# release build's llama.cpp libraries) serves MODEL on loopback, and `keybot bench chat` sends it
# the same greedy request several times, printing what it measured next to what the server
# reports for the same request: time to first token against the server's prompt time, and
# tokens per second as streamed against the server's own figure.
#
#   bash scripts/bench-server.sh [MODEL.gguf]    # default: the test chat model ($KEYBOT_TEST_MODEL)
set -euo pipefail
cd "$(dirname "$0")/.."
model="${1:-${KEYBOT_TEST_MODEL:-}}"
[ -f "$model" ] || { echo "bench-server: give a GGUF (or set KEYBOT_TEST_MODEL)" >&2; exit 2; }
eval "$(bash scripts/build-llama-tools.sh --release --bin keybot)"
keybot="${CARGO_TARGET_DIR:-target}/release/keybot"
threads="${KEYBOT_BENCH_THREADS:-$(nproc)}"
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$KEYBOT_LLAMA_SERVER" -m "$model" --host 127.0.0.1 --port "$port" -c 4096 -t "$threads" \
  -fa off -np 1 --jinja > "$work/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
until curl -sf "127.0.0.1:$port/health" >/dev/null; do
  kill -0 "$server" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
  sleep 0.2
done
export KEYBOT_HOME="$work/home"
"$keybot" model add-server bench "http://127.0.0.1:$port" >/dev/null
"$keybot" bench chat --model bench -n "${KEYBOT_BENCH_TG:-128}" -r "${KEYBOT_BENCH_REPS:-5}"
