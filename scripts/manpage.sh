#!/usr/bin/env bash
# Generates keybot's man pages from its clap definitions (examples/manpage.rs) into DIR
# (default: target/man). Read one with `man -l target/man/keybot.1`.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-target/man}"
cargo run --quiet --locked --example manpage -- "$out"
echo "man pages in $out:" >&2
ls "$out" >&2
