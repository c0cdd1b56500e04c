#!/usr/bin/env bash
# Runs each cargo-fuzz target for SECONDS (default 300). cargo-fuzz needs nightly features;
# RUSTC_BOOTSTRAP=1 enables them on the stable toolchain this project uses.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs="${1:-300}"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${KEYBOT_CACHE:-$HOME/.cache/keybot-ci}/fuzz-target"
for t in ${FUZZ_TARGETS:-mnemonic_parse keystore_v3 vault_file}; do
  echo "== $t for ${secs}s"
  cargo fuzz run "$t" -- -max_total_time="$secs" -rss_limit_mb=3072 -timeout=30 2>&1 | tail -n 15
done
