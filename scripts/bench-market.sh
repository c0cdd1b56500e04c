#!/usr/bin/env bash
# Market figures on a local anvil (`keybot chain dev`), in one run:
#  - the time from a buyer's `Purchased` (the buy's receipt) to the buyer holding the checked
#    plaintext, with `keybot market serve --poll 1` delivering, over RUNS purchases (median and
#    worst). The gas per call is printed by the market_contract test (named at the end).
# Needs anvil and cast (scripts/foundry or PATH). Uses the test-weak-kdf build so that each
# command unlocks in milliseconds: the figure is the market's, not scrypt's.
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${KEYBOT_CACHE:-$HOME/.cache/keybot-ci}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$cache/target}"
export PATH="$cache/tools/node_modules/.bin:$PATH"
runs="${RUNS:-5}"
cargo build --quiet --features test-weak-kdf
bin="$CARGO_TARGET_DIR/debug/keybot"
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
export KEYBOT_PASSWORD=pw KEYBOT_TEST_WEAK_KDF=1
seller="abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"
buyer="legal winner thank year wave sausage worth useful legal winner thank yellow"
S="$work/seller" B="$work/buyer"
echo "$seller" | KEYBOT_HOME=$S "$bin" init --import >/dev/null 2>&1
echo "$buyer" | KEYBOT_HOME=$B "$bin" init --import >/dev/null 2>&1
buyer0=$(KEYBOT_HOME=$B "$bin" wallet addresses --count 1 --json | grep -o '0x[0-9a-fA-F]\{40\}' | head -1)
KEYBOT_HOME=$S "$bin" chain dev --port 0 --accounts 1 --fund "$buyer0" >"$work/dev.log" 2>&1 &
pids+=($!)
until grep -q '^ready' "$work/dev.log"; do sleep 0.2; done
rpc=$(awk '/^RPC/ {print $2}' "$work/dev.log")
market=$(awk '/^market/ {print $2}' "$work/dev.log")
tusd=$(awk '/^tUSD/ {print $2}' "$work/dev.log")
KEYBOT_HOME=$B "$bin" chain add local --rpc "$rpc" --yes >/dev/null
KEYBOT_HOME=$B "$bin" token add "$tusd" >/dev/null
KEYBOT_HOME=$B "$bin" market join "$market" >/dev/null
head -c 4096 /dev/urandom | base64 -w 76 | head -c 3000 >"$work/note.txt"
item=$(KEYBOT_HOME=$S "$bin" market add --file "$work/note.txt" 2>/dev/null | tail -n 1)
KEYBOT_HOME=$S "$bin" market consent "$item" --yes >/dev/null 2>&1
listing=$(KEYBOT_HOME=$S "$bin" market sell "$item" --price 1 --token tUSD --yes 2>/dev/null | tail -n 1)
KEYBOT_HOME=$S "$bin" market serve --poll 1 >"$work/serve.log" 2>&1 &
pids+=($!)
times=()
for _ in $(seq "$runs"); do
  purchase=$(KEYBOT_HOME=$B "$bin" market buy "$listing" --again --yes 2>/dev/null | tail -n 1)
  t0=$(date +%s%N)
  until KEYBOT_HOME=$B "$bin" market fetch "$purchase" --out "$work/got-$purchase" --no-wait >/dev/null 2>&1; do
    sleep 0.05
  done
  t1=$(date +%s%N)
  times+=($(( (t1 - t0) / 1000000 )))
done
sorted=$(printf '%s\n' "${times[@]}" | sort -n)
echo "Purchased -> delivered and fetched, market serve --poll 1, $runs purchases:"
echo "  median $(echo "$sorted" | sed -n "$(( (runs + 1) / 2 ))p") ms, worst $(echo "$sorted" | tail -n 1) ms"
echo "Gas per call: cargo test --features test-weak-kdf --test chain market_contract::gas -- --nocapture"
