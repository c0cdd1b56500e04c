#!/usr/bin/env bash
# keybot's chat engine next to llama.cpp's own llama-bench, built from the same vendored llama.cpp
# source (scripts/build-llama-tools.sh): same GGUF, same threads, same batch sizes (2048/512),
# same context for pp/tg (prompt + generated tokens, as llama-bench sizes it).
# Prints pp512 / tg128 tokens per second for both and the ratio, time to first token of chat
# turns 1 and 10 (KV-cache reuse keeps it flat), and the peak RSS of both processes.
#
#   scripts/bench-chat.sh [MODEL.gguf] [THREADS]
#   KEYBOT_BENCH_FEATURES=cuda KEYBOT_BENCH_NGL=all scripts/bench-chat.sh   # a GPU build
#   KEYBOT_BIN=path/to/keybot scripts/bench-chat.sh                          # a given binary
# A figure report, not a test: it never fails on a ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${KEYBOT_CACHE:-$HOME/.cache/keybot-ci}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$cache/target}"

model="${1:-}"
if [ -z "$model" ]; then
  eval "$(KEYBOT_CACHE="$cache" bash scripts/fetch-test-models.sh)"
  model="$KEYBOT_TEST_MODEL"
fi
threads="${2:-$(nproc)}"
ngl="${KEYBOT_BENCH_NGL:-0}"
pp=512
tg=128
reps="${KEYBOT_BENCH_REPS:-5}"

eval "$(bash scripts/build-llama-tools.sh)"
# KEYBOT_BIN: benchmark an already-built binary instead of building a release one here.
keybot="${KEYBOT_BIN:-}"
if [ -z "$keybot" ]; then
  features=()
  if [ -n "${KEYBOT_BENCH_FEATURES:-}" ]; then features=(--features "$KEYBOT_BENCH_FEATURES"); fi
  cargo build --release --bin keybot "${features[@]}" >&2
  keybot="$CARGO_TARGET_DIR/release/keybot"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
lb_ngl="$ngl"
if [ "$ngl" = "all" ]; then lb_ngl=999; fi

echo "running llama-bench ($pp/$tg, $threads threads, $reps reps)…" >&2
/usr/bin/time -v "$KEYBOT_LLAMA_BENCH" -m "$model" -p "$pp" -n "$tg" -t "$threads" -r "$reps" \
  -ngl "$lb_ngl" -o json > "$work/lb.json" 2> "$work/lb.time"
echo "running keybot bench chat…" >&2
/usr/bin/time -v env KEYBOT_HOME="$work/home" "$keybot" bench chat --model "$model" \
  -p "$pp" -n "$tg" -r "$reps" -t "$threads" --ctx $((pp + tg)) --gpu-layers "$ngl" --turns 0 --json \
  > "$work/kb.json" 2> "$work/kb.time"
echo "running keybot chat turns…" >&2
env KEYBOT_HOME="$work/home" "$keybot" bench chat --model "$model" -p 0 -n 0 -r 1 -t "$threads" \
  --ctx 4096 --gpu-layers "$ngl" --turns 10 --json > "$work/turns.json"

python3 - "$work" "$model" "$threads" <<'PY'
import json, re, sys, os
work, model, threads = sys.argv[1:4]
lb = json.load(open(f"{work}/lb.json"))
kb = json.load(open(f"{work}/kb.json"))
turns = json.load(open(f"{work}/turns.json"))
def rss(path):
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(path).read())
    return int(m.group(1)) / 1024 if m else float("nan")
lb_pp = next(r for r in lb if r["n_prompt"] > 0 and r["n_gen"] == 0)
lb_tg = next(r for r in lb if r["n_gen"] > 0 and r["n_prompt"] == 0)
print(f"model: {os.path.basename(model)}   threads: {threads}   device: {kb['device']}, {kb['gpu_layers']} GPU layers")
print(f"llama.cpp: {lb_pp.get('build_commit', '?')} (llama-bench from the vendored source)")
print(f"{'test':<8}{'llama-bench t/s':>18}{'keybot t/s':>16}{'ratio':>8}")
for name, l, k in [(f"pp{kb['pp']}", lb_pp, (kb["pp_tps"], kb["pp_sd"])), (f"tg{kb['tg']}", lb_tg, (kb["tg_tps"], kb["tg_sd"]))]:
    lt, ls = l["avg_ts"], l["stddev_ts"]
    print(f"{name:<8}{lt:>11.2f} ± {ls:<5.2f}{k[0]:>9.2f} ± {k[1]:<5.2f}{k[0] / lt:>7.3f}")
t = turns["ttft_ms"]
if t:
    print(f"time to first token: turn 1 {t[0]:.1f} ms, turn {len(t)} {t[-1]:.1f} ms "
          f"(prompt {turns['turn_prompt_tokens'][-1]} tokens, {turns['turn_prefilled'][-1]} decoded)")
print(f"peak RSS: llama-bench {rss(f'{work}/lb.time'):.0f} MiB, keybot {rss(f'{work}/kb.time'):.0f} MiB")
PY
