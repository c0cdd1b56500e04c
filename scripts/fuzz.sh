#!/usr/bin/env bash
# Runs each cargo-fuzz target for SECONDS (default 300), starting from the committed seeds in
# fuzz/seeds/<target> (what it finds goes to fuzz/corpus/<target>, not committed). cargo-fuzz
# needs nightly features; RUSTC_BOOTSTRAP=1 enables them on the stable toolchain this project
# uses. FUZZ_TARGETS picks targets (default: all six). Only txfile_parse links keybot (and so
# llama.cpp, behind the fuzz crate's `txfile` feature); the other five need the keystore or the
# redact crate alone.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs="${1:-300}"
# FUZZ_SANITIZER=none (what .ci/run uses) builds without AddressSanitizer: the fuzzed crates
# forbid unsafe code, so what a short run hunts is panics, overflows and hangs, which libFuzzer
# catches alone, and the build and each input are much faster. The default keeps ASan for long
# runs by hand, which also watch the dependencies' unsafe code.
sanitizer="${FUZZ_SANITIZER:-address}"
cache="${KEYBOT_CACHE:-$HOME/.cache/keybot-ci}"
# The fuzz crate builds under the repository's .cargo/config.toml too: keyed like keybot's outputs.
build_key="${KEYBOT_BUILD_KEY:-$(bash ../scripts/build-key.sh)}"
if ! command -v cargo-fuzz >/dev/null; then
  export PATH="$cache/tools/cargo/bin:$PATH"
  command -v cargo-fuzz >/dev/null || cargo install --locked --root "$cache/tools/cargo" cargo-fuzz
fi
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="$cache/fuzz-target-$build_key"
# cargo-fuzz has no --locked: fail here, before it builds, if fuzz/Cargo.lock would have to change.
cargo metadata --locked --format-version 1 >/dev/null
for t in ${FUZZ_TARGETS:-mnemonic_parse keystore_v3 vault_file gguf_header redact txfile_parse}; do
  mkdir -p "corpus/$t"
  # libFuzzer exits 1 without a word in our output when a corpus folder is missing.
  [ -d "seeds/$t" ] || { echo "fuzz.sh: no seeds in fuzz/seeds/$t (are they committed?)" >&2; exit 1; }
  echo "== $t for ${secs}s"
  # A crash makes cargo fuzz exit non-zero: the run fails and the artifact is in fuzz/artifacts.
  features=()
  [ "$t" = txfile_parse ] && features=(--features txfile)
  cargo fuzz run --sanitizer "$sanitizer" "${features[@]}" "$t" "corpus/$t" "seeds/$t" -- -max_total_time="$secs" -rss_limit_mb=3072 -timeout=30 2>&1 | tail -n 15
done
