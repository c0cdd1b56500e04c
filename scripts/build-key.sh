#!/usr/bin/env bash
# Prints the key of the cached build outputs (target directories under ~/.cache/keybot-ci).
#
# Two things decide what the C/C++ and Rust compilers produce here, and cargo notices a change
# of neither on its own:
# - the CPU: everything is built with target-cpu=native (and llama.cpp with -march=native), so
#   outputs from another CPU can crash with SIGILL;
# - .cargo/config.toml: its rustflags and the C/C++ flags in its [env] (no AMX). llama-cpp-sys-2's
#   build script does not ask cargo to rerun when CFLAGS change, so a cache built before a
#   change of those flags kept its old llama.cpp (it did: keybot kept ggml's AMX kernels after
#   the flags took them out, and the reference tools were built without them).
set -euo pipefail
cd "$(dirname "$0")/.."
{
  grep -m2 -E '^(model name|flags)' /proc/cpuinfo 2>/dev/null || true
  cat .cargo/config.toml
} | sha256sum | cut -c1-12
