#!/usr/bin/env bash
# The whole test suite: the README's test command. Fetches the test models and builds llama.cpp's
# reference tools (once, cached), puts foundry's cast and anvil on PATH when .ci/run installed
# them, and runs formatting, clippy, the fuzz targets' build and every test.
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${KEYBOT_CACHE:-$HOME/.cache/keybot-ci}"
# Everything is built with target-cpu=native (.cargo/config.toml): outputs built on one CPU can
# crash with SIGILL on another, so a cache moved between machines must not reuse them. The
# reference tools are keyed by the CPU's model and feature flags; keybot's build outputs by those
# and .cargo/config.toml's compiler flags too (scripts/build-key.sh says why).
cpu_key="$(grep -m2 -E '^(model name|flags)' /proc/cpuinfo 2>/dev/null | sha256sum | cut -c1-12)"
export KEYBOT_CPU_KEY="$cpu_key"
build_key="$(bash scripts/build-key.sh)"
export KEYBOT_BUILD_KEY="$build_key"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$cache/target-$build_key}"

if [ -d "$cache/tools/node_modules/.bin" ]; then
  export PATH="$cache/tools/node_modules/.bin:$PATH"
fi
export KEYBOT_ECIESJS_DIR="${KEYBOT_ECIESJS_DIR:-$cache/tools/eciesjs}"
# Each helper prints `export` lines; a failing fetch or build stops the run here, loudly (an
# `eval "$(…)"` would run whatever was printed and go on).
models_env="$(KEYBOT_CACHE="$cache" bash scripts/fetch-test-models.sh)" \
  || { echo "test.sh: fetching the test models failed" >&2; exit 1; }
eval "$models_env"
cargo fetch --locked --quiet
# llama.cpp's own llama-completion / llama-bench from the same vendored source (cached after the
# first build), for the byte-for-byte chat test.
tools_env="$(KEYBOT_CACHE="$cache" bash scripts/build-llama-tools.sh)" \
  || { echo "test.sh: building llama.cpp's reference tools failed" >&2; exit 1; }
eval "$tools_env"

# One TLS stack: rustls on ring. aws-lc-rs (a second crypto library, built with cmake) must not
# come back through a dependency's default features.
if cargo tree --locked -e normal --workspace --features test-weak-kdf -i aws-lc-rs 2>/dev/null | grep -q aws-lc-rs; then
  echo "test.sh: aws-lc-rs is compiled in next to ring (cargo tree -i aws-lc-rs)" >&2
  exit 1
fi
echo "TLS: one crypto provider:"
cargo tree --locked -e normal --workspace --features test-weak-kdf -i ring --depth 1
cargo fmt --all -- --check
cargo clippy --locked --workspace --all-targets --features test-weak-kdf -- -D warnings
# The fuzz targets compile (fuzz/ is its own workspace with its own lock file). Same target dir:
# fuzz/Cargo.toml repeats the root's dev profile, so the dependencies' builds are shared.
(cd fuzz && cargo check --locked --bins --all-features --quiet)
cargo test --locked --workspace --features test-weak-kdf "$@"
