#!/usr/bin/env bash
# The GPU path without a GPU: builds keybot with `--features vulkan` and runs the base test model
# on mesa's software Vulkan driver (llvmpipe) with every layer offloaded, then checks that the
# greedy output equals the CPU build's and that the stats line reports all layers offloaded.
#
# Slow (a second llama.cpp build with its Vulkan shaders, then minutes of shader compilation
# and ~0.35 tokens/s on llvmpipe), so it is not part of the default test run. Debian 12 needs:
#   - glslc, spirv-headers, mesa-vulkan-drivers, libvulkan-dev (apt-get; run as root)
#   - Vulkan headers newer than Debian 12's 1.3.239 (this llama.cpp uses VK_EXT_layer_settings):
#     Debian 13's libvulkan-dev, fetched with apt-get download from a private trixie source list
#     and unpacked with dpkg -x into the cache; its include dir goes first on CPATH.
#   - GGML_VK_VISIBLE_DEVICES=0 at run time: ggml skips CPU-type Vulkan devices otherwise.
#
#   scripts/vulkan-check.sh [TOKENS]        (default 4 tokens)
#   KEYBOT_CPU_BIN=… KEYBOT_VULKAN_BIN=… scripts/vulkan-check.sh 8      (binaries built elsewhere)
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${KEYBOT_CACHE:-$HOME/.cache/keybot-ci}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$cache/target}"
tokens="${1:-4}"
prompt="The capital of France is"

need=()
command -v glslc >/dev/null || need+=(glslc)
[ -d /usr/include/spirv ] || need+=(spirv-headers)
[ -e /usr/share/vulkan/icd.d/lvp_icd.x86_64.json ] || need+=(mesa-vulkan-drivers)
ldconfig -p | grep -q 'libvulkan.so ' || need+=(libvulkan-dev)
if [ ${#need[@]} -gt 0 ]; then
  echo "vulkan-check: installing ${need[*]}" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >&2
fi

# Newer Vulkan headers, unpacked (never installed) into the cache.
vk="$cache/vulkan-headers"
if ! ls "$vk"/usr/include/vulkan/vulkan_core.h >/dev/null 2>&1; then
  tmp=$(mktemp -d)
  mkdir -p "$tmp/lists/partial" "$tmp/archives/partial"
  echo "deb http://deb.debian.org/debian trixie main" > "$tmp/trixie.list"
  apt_opts=(-o "Dir::Etc::SourceList=$tmp/trixie.list" -o "Dir::Etc::SourceParts=/dev/null"
            -o "Dir::State::Lists=$tmp/lists" -o "Dir::Cache::Archives=$tmp/archives"
            -o "Debug::NoLocking=1")
  apt-get "${apt_opts[@]}" update -qq >&2
  (cd "$tmp" && apt-get "${apt_opts[@]}" download libvulkan-dev/trixie >&2)
  mkdir -p "$vk"
  dpkg -x "$tmp"/libvulkan-dev_*.deb "$vk"
  rm -rf "$tmp"
fi
export CPATH="$vk/usr/include${CPATH:+:$CPATH}"
echo "vulkan-check: Vulkan headers $(sed -n 's/.*#define VK_HEADER_VERSION \([0-9]*\).*/1.x.\1/p' "$vk/usr/include/vulkan/vulkan_core.h")" >&2

eval "$(KEYBOT_CACHE="$cache" bash scripts/fetch-test-models.sh)"
model="$KEYBOT_TEST_MODEL_BASE"

# KEYBOT_CPU_BIN / KEYBOT_VULKAN_BIN: compare two already-built binaries instead of building.
cpu_bin="${KEYBOT_CPU_BIN:-$cache/keybot-cpu}"
vk_bin="${KEYBOT_VULKAN_BIN:-$cache/keybot-vulkan}"
if [ -z "${KEYBOT_CPU_BIN:-}" ]; then
  echo "vulkan-check: building the CPU keybot (release)…" >&2
  cargo build --release --bin keybot >&2
  cp "$CARGO_TARGET_DIR/release/keybot" "$cpu_bin"
fi
if [ -z "${KEYBOT_VULKAN_BIN:-}" ]; then
  echo "vulkan-check: building the Vulkan keybot (release; a second llama.cpp build)…" >&2
  cargo build --release --bin keybot --features vulkan >&2
  cp "$CARGO_TARGET_DIR/release/keybot" "$vk_bin"
fi

home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
cpu_out=$(KEYBOT_HOME="$home" "$cpu_bin" chat --raw --greedy --max-tokens "$tokens" \
  --model "$model" "$prompt" 2> "$home/cpu.err")
echo "CPU:    $(cat "$home/cpu.err")" >&2
echo "vulkan-check: running on llvmpipe (shader compilation takes minutes)…" >&2
start=$(date +%s)
gpu_out=$(GGML_VK_VISIBLE_DEVICES=0 KEYBOT_HOME="$home" "$vk_bin" chat --raw --greedy \
  --max-tokens "$tokens" --gpu-layers all --model "$model" "$prompt" 2> "$home/gpu.err") || {
  echo "vulkan-check: FAILED to run: $(cat "$home/gpu.err")" >&2; exit 1; }
echo "Vulkan: $(cat "$home/gpu.err") ($(( $(date +%s) - start )) s)" >&2

printf 'CPU    output: %q\nVulkan output: %q\n' "$cpu_out" "$gpu_out"
layers=$(sed -n 's/.* \([0-9]*\)\/\([0-9]*\) layers.*/\1 \2/p' "$home/gpu.err")
read -r got total <<< "$layers"
if [ "$cpu_out" != "$gpu_out" ]; then
  echo "vulkan-check: FAIL: greedy output differs between CPU and Vulkan" >&2; exit 1
fi
if [ -z "${got:-}" ] || [ "$got" != "$total" ]; then
  echo "vulkan-check: FAIL: not every layer was offloaded ($layers)" >&2; exit 1
fi
echo "vulkan-check: OK: $got/$total layers on $(sed -n 's/.*| \(.*\) [0-9]*\/[0-9]* layers.*/\1/p' "$home/gpu.err"), same greedy output as the CPU"
