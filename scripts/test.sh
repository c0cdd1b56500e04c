#!/usr/bin/env bash
# The whole test suite: the README's test command. Fetches the test models and builds llama.cpp's
# reference tools (once, cached), puts foundry's cast and anvil on PATH when .ci/run installed
# them, and runs formatting, clippy and every test.
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${KEYBOT_CACHE:-$HOME/.cache/keybot-ci}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$cache/target}"

if [ -d "$cache/tools/node_modules/.bin" ]; then
  export PATH="$cache/tools/node_modules/.bin:$PATH"
fi
# shellcheck disable=SC1090
eval "$(KEYBOT_CACHE="$cache" bash scripts/fetch-test-models.sh)"
# llama.cpp's own llama-completion / llama-bench from the same vendored source (cached after the
# first build), for the byte-for-byte chat test.
cargo fetch --quiet
# shellcheck disable=SC1090
eval "$(KEYBOT_CACHE="$cache" bash scripts/build-llama-tools.sh)"

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --features test-weak-kdf -- -D warnings
cargo test --workspace --features test-weak-kdf "$@"
