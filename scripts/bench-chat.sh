#!/usr/bin/env bash
# keybot's chat engine next to llama.cpp's own llama-bench, linked against the llama.cpp libraries keybot's
# release build uses (scripts/build-llama-tools.sh): same GGUF, same threads, same batch sizes (2048/512),
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

# KEYBOT_BIN: benchmark an already-built binary instead of building a release one here.
keybot="${KEYBOT_BIN:-}"
if [ -z "$keybot" ]; then
  features=()
  if [ -n "${KEYBOT_BENCH_FEATURES:-}" ]; then features=(--features "$KEYBOT_BENCH_FEATURES"); fi
  cargo build --release --bin keybot "${features[@]}" >&2
  keybot="$CARGO_TARGET_DIR/release/keybot"
fi
# llama-bench linked against the release build's llama.cpp libraries, the ones keybot runs (a
# GPU feature's backend library is not linked in: on a GPU, set KEYBOT_LLAMA_BENCH to a
# llama-bench built with that backend).
if [ -z "${KEYBOT_LLAMA_BENCH:-}" ]; then
  eval "$(bash scripts/build-llama-tools.sh --release --bin keybot)"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
lb_ngl="$ngl"
if [ "$ngl" = "all" ]; then lb_ngl=999; fi
# keybot's flash-attention policy (src/chat/engine.rs, flash_attention): off on the CPU alone,
# llama.cpp's choice with GPU layers. llama-bench runs the same.
lb_fa=auto
if [ "$ngl" = "0" ]; then lb_fa=off; fi

# Alternate the two a few times, so background load on a shared machine hits both alike.
rounds="${KEYBOT_BENCH_ROUNDS:-3}"
for i in $(seq 1 "$rounds"); do
  echo "round $i/$rounds: llama-bench ($pp/$tg, $threads threads, $reps reps)…" >&2
  /usr/bin/time -v "$KEYBOT_LLAMA_BENCH" -m "$model" -p "$pp" -n "$tg" -t "$threads" -r "$reps" \
    -ngl "$lb_ngl" -fa "$lb_fa" -o json > "$work/lb.$i.json" 2> "$work/lb.$i.time"
  echo "round $i/$rounds: keybot bench chat…" >&2
  /usr/bin/time -v env KEYBOT_HOME="$work/home" "$keybot" bench chat --model "$model" \
    -p "$pp" -n "$tg" -r "$reps" -t "$threads" --ctx $((pp + tg)) --gpu-layers "$ngl" --turns 0 --json \
    > "$work/kb.$i.json" 2> "$work/kb.$i.time"
done
echo "running keybot chat turns…" >&2
env KEYBOT_HOME="$work/home" "$keybot" bench chat --model "$model" -p 0 -n 0 -r 1 -t "$threads" \
  --ctx 4096 --gpu-layers "$ngl" --turns 10 --json > "$work/turns.json"

python3 - "$work" "$model" "$threads" "$rounds" <<'PY'
import json, re, sys, os, statistics as st
work, model, threads, rounds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
def rss(path):
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(path).read())
    return int(m.group(1)) / 1024 if m else float("nan")
lb_pp, lb_tg, kb_pp, kb_tg = [], [], [], []
for i in range(1, rounds + 1):
    for r in json.load(open(f"{work}/lb.{i}.json")):
        (lb_pp if r["n_gen"] == 0 else lb_tg).extend(r["samples_ts"])
    kb = json.load(open(f"{work}/kb.{i}.json"))
    kb_pp += kb["pp_runs"]
    kb_tg += kb["tg_runs"]
turns = json.load(open(f"{work}/turns.json"))
print(f"model: {os.path.basename(model)}   threads: {threads}   device: {kb['device']}, {kb['gpu_layers']} GPU layers")
print(f"{rounds} alternating rounds x {len(kb_pp) // rounds} runs each; llama-bench built from the same vendored llama.cpp")
print(f"{'test':<8}{'llama-bench mean':>20}{'keybot mean':>16}{'ratio':>7}   {'best: llama-bench':>17}{'keybot':>9}{'ratio':>7}")
for name, l, k in [(f"pp{kb['pp']}", lb_pp, kb_pp), (f"tg{kb['tg']}", lb_tg, kb_tg)]:
    lm, km = st.mean(l), st.mean(k)
    ls, ks = (st.stdev(l) if len(l) > 1 else 0), (st.stdev(k) if len(k) > 1 else 0)
    print(f"{name:<8}{lm:>12.2f} ± {ls:<5.2f}{km:>9.2f} ± {ks:<5.2f}{km / lm:>6.3f}   {max(l):>17.2f}{max(k):>9.2f}{max(k) / max(l):>7.3f}")
t = turns["ttft_ms"]
if t:
    print(f"time to first token: turn 1 {t[0]:.1f} ms, turn {len(t)} {t[-1]:.1f} ms "
          f"(prompt {turns['turn_prompt_tokens'][0]} -> {turns['turn_prompt_tokens'][-1]} tokens; "
          f"turn {len(t)} decoded {turns['turn_prefilled'][-1]})")
lr = max(rss(f"{work}/lb.{i}.time") for i in range(1, rounds + 1))
kr = max(rss(f"{work}/kb.{i}.time") for i in range(1, rounds + 1))
print(f"peak RSS: llama-bench {lr:.0f} MiB, keybot {kr:.0f} MiB")
PY
