#!/usr/bin/env bash
# A random-weight GGUF of a real Qwen2.5 size (1.5B, 3B or 7B), for throughput benchmarks only:
# speed depends on shapes and quantization, not on the weights, so no big download is needed.
#   bash scripts/random-gguf.sh SOURCE.gguf OUT.gguf [--size 1.5b|3b|7b]
# SOURCE is a small qwen2 GGUF (e.g. qwen2.5-coder-0.5b-instruct-q4_k_m.gguf from
# scripts/fetch-test-models.sh); its tokenizer and template are kept. scripts/random-gguf.py says more.
# Needs PyPI once: numpy and gguf-py are kept in a venv under ~/.cache/keybot-ci/tools.
# The file is Q8_0; the usual Q4_K_M is llama.cpp's own requantization of it
# (eval "$(bash scripts/build-llama-tools.sh)" sets KEYBOT_LLAMA_QUANTIZE):
#   "$KEYBOT_LLAMA_QUANTIZE" --allow-requantize OUT.gguf OUT-q4_k_m.gguf Q4_K_M
set -euo pipefail
venv="${KEYBOT_CACHE:-$HOME/.cache/keybot-ci}/tools/gguf-venv"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import numpy, gguf' 2>/dev/null; then
    python3 -m venv "$venv"
    # Pinned: random-gguf.py streams tensors through GGUFWriter's lower-level calls.
    "$venv/bin/pip" install -q numpy gguf==0.17.1
fi
exec "$venv/bin/python" "$(dirname "$0")/random-gguf.py" "$@"
