#!/usr/bin/env bash
# Reads cargo's JSON messages (--message-format=json…) on stdin and prints the OUT_DIR of the
# llama-cpp-sys-2 build script that ran (or was fresh) in that build: where keybot's llama.cpp
# libraries are. scripts/build-llama-tools.sh links the reference tools against them.
set -euo pipefail
cd "$(dirname "$0")/.."
crate_version=$(sed -n 's/^llama-cpp-sys-2 = { version = "=\([0-9.]*\)".*/\1/p' Cargo.toml | head -n1)
sed -n 's/.*"reason":"build-script-executed".*"package_id":"[^"]*llama-cpp-sys-2[@#]'"$crate_version"'".*"out_dir":"\([^"]*\)".*/\1/p' \
  | tail -n1
