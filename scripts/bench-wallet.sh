#!/usr/bin/env bash
# Wallet figures side by side with foundry's cast, in one run:
#  - unlock: `keybot wallet addresses --count 1` (scrypt N=2^18 r=8 p=1 + seed + derivation) against
#    `cast wallet decrypt-keystore` on a geth-standard keystore (the same scrypt cost);
#  - in-process figures from `cargo bench -p keybot-keystore` (unlock, addresses per second).
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${KEYBOT_CACHE:-$HOME/.cache/keybot-ci}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$cache/target}"
export PATH="$cache/tools/node_modules/.bin:$PATH"
runs="${RUNS:-5}"

# The dev profile builds the keystore and every dependency at opt-level 3 (Cargo.toml), so the
# unlock path runs the same optimised code as a release build without rebuilding llama.cpp.
cargo build --quiet
bin="$CARGO_TARGET_DIR/debug/keybot"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "test test test test test test test test test test test junk" |
  KEYBOT_HOME="$work/home" KEYBOT_PASSWORD=pw "$bin" init --import 2>/dev/null
mkdir "$work/ks"
KEYBOT_HOME="$work/home" KEYBOT_PASSWORD=pw KEYBOT_KEYSTORE_PASSWORD=pw \
  "$bin" wallet export-keystore --account 0 --out "$work/ks/k.json" 2>/dev/null

ms() { # median wall time in ms of "$@" over $runs runs
  local times=()
  for _ in $(seq "$runs"); do
    local t0 t1; t0=$(date +%s%N); "$@" >/dev/null 2>&1; t1=$(date +%s%N)
    times+=($(( (t1 - t0) / 1000000 )))
  done
  printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p"
}
k=$(ms env KEYBOT_HOME="$work/home" KEYBOT_PASSWORD=pw "$bin" wallet addresses --count 1)
c=$(ms cast wallet decrypt-keystore -k "$work/ks" k.json --unsafe-password pw)
echo "unlock, whole process (median of $runs): keybot ${k} ms, cast decrypt-keystore ${c} ms, ratio cast/keybot $(python3 -c "print(f'{$c/$k:.2f}')")"
cargo bench --quiet -p keybot-keystore --bench wallet 2>/dev/null
