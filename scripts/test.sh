#!/usr/bin/env bash
# The whole test suite: the README's test command. Fetches the test models, puts foundry's cast
# and anvil on PATH when .ci/run installed them, checks formatting, builds every target once with
# clippy linting keybot's crates on the way, links llama.cpp's reference tools against the
# llama.cpp that build produced, checks the fuzz targets compile, and runs every test.
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
step() { echo "== test.sh: $1 (at ${SECONDS} s)"; }
step "test models"
# Each helper prints `export` lines; a failing fetch or build stops the run here, loudly (an
# `eval "$(…)"` would run whatever was printed and go on).
models_env="$(KEYBOT_CACHE="$cache" bash scripts/fetch-test-models.sh)" \
  || { echo "test.sh: fetching the test models failed" >&2; exit 1; }
eval "$models_env"
step "the MCP client"
# The official MCP Python SDK, the peer of keybot mcp's test (tests/chain/mcp_client.rs).
mcp_env="$(KEYBOT_CACHE="$cache" bash scripts/mcp/venv.sh)" \
  || { echo "test.sh: installing the MCP Python SDK failed" >&2; exit 1; }
eval "$mcp_env"
step "fetch, TLS check, formatting"
cargo fetch --locked --quiet

# One TLS stack: rustls on ring. aws-lc-rs (a second crypto library, built with cmake) must not
# come back through a dependency's default features.
if cargo tree --locked -e normal --workspace --features test-weak-kdf -i aws-lc-rs 2>/dev/null | grep -q aws-lc-rs; then
  echo "test.sh: aws-lc-rs is compiled in next to ring (cargo tree -i aws-lc-rs)" >&2
  exit 1
fi
echo "TLS: one crypto provider:"
cargo tree --locked -e normal --workspace --features test-weak-kdf -i ring --depth 1
cargo fmt --all -- --check

# Clippy runs inside the test build: clippy-driver as cargo's workspace wrapper lints keybot's own
# crates while it compiles them (dependencies are compiled by rustc as always), with every warning
# an error — what `cargo clippy --all-targets -- -D warnings` checks, without compiling every
# dependency a second time in check mode (that was a third of a cold run). CLIPPY_ARGS is how
# cargo-clippy hands clippy its arguments; the probe crate proves the gate still bites.
step "lint probe"
clippy_driver="$(rustup which clippy-driver 2>/dev/null || command -v clippy-driver || true)"
[ -x "$clippy_driver" ] || { echo "test.sh: clippy-driver is missing (rustup component add clippy)" >&2; exit 1; }
export RUSTC_WORKSPACE_WRAPPER="$clippy_driver"
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
probe_log="$(mktemp)"
if CARGO_TARGET_DIR="$cache/lint-probe-target" cargo build --locked --quiet \
     --manifest-path scripts/lint-probe/Cargo.toml >"$probe_log" 2>&1; then
  echo "test.sh: the lint probe built: clippy is not gating the build" >&2
  exit 1
fi
for lint in unused-variables clippy::unwrap-used clippy::needless-return; do
  grep -q -- "-D $lint" "$probe_log" \
    || { echo "test.sh: the lint probe was not stopped by $lint:" >&2; cat "$probe_log" >&2; exit 1; }
done
rm -f "$probe_log"

# Build (and lint) every target once; cargo's JSON names the OUT_DIR of llama-cpp-sys-2, whose
# libraries the reference tools link (its diagnostics still print as text).
step "build and lint every target"
build_json="$(mktemp)"
cargo test --locked --workspace --all-targets --features test-weak-kdf --no-run \
  --message-format=json-render-diagnostics > "$build_json"
KEYBOT_LLAMA_SYS_OUT="$(bash scripts/llama-sys-out.sh < "$build_json")"
rm -f "$build_json"
export KEYBOT_LLAMA_SYS_OUT
# llama.cpp's own llama-completion / llama-bench linked against those libraries (cached), for the
# byte-for-byte chat test.
step "llama.cpp reference tools"
tools_env="$(KEYBOT_CACHE="$cache" bash scripts/build-llama-tools.sh)" \
  || { echo "test.sh: building llama.cpp's reference tools failed" >&2; exit 1; }
eval "$tools_env"

# The fuzz targets compile (fuzz/ is its own workspace with its own lock file; same target dir,
# and fuzz/Cargo.toml repeats the root's dev profile). txfile_parse, the one that links keybot,
# keeps its body in fuzz/fuzz_targets/txfile_body.rs, which tests/fast/fuzz_seeds.rs compiles and
# runs over the committed seeds. .ci/run sets KEYBOT_FUZZ_CHECK=no: its fuzz step builds the
# targets anyway (and it checks them itself when it leaves that step out).
if [ "${KEYBOT_FUZZ_CHECK:-yes}" != no ]; then
  step "fuzz targets compile"
  (cd fuzz && env -u RUSTC_WORKSPACE_WRAPPER cargo check --locked --bins --quiet)
fi
step "tests"
cargo test --locked --workspace --features test-weak-kdf "$@"
