#!/usr/bin/env bash
# Terminal app figures, printed (not pass/fail):
#  - frame time of the chat screen with 1,000 messages (benches/tui_render.rs);
#  - launch to first frame and key-to-frame latency while the model generates, from a real run in
#    tmux with KEYBOT_TIMINGS (the app records them; see src/tui/app.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${KEYBOT_CACHE:-$HOME/.cache/keybot-ci}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$cache/target}"
eval "$(KEYBOT_CACHE="$cache" bash scripts/fetch-test-models.sh)"

# Dependencies are opt-level 3 in the dev profile; build keybot itself optimised too.
export CARGO_PROFILE_DEV_OPT_LEVEL=3
cargo bench --quiet --profile dev --bench tui_render --features test-weak-kdf
cargo build --quiet --features test-weak-kdf
bin="$CARGO_TARGET_DIR/debug/keybot"

work=$(mktemp -d)
sock="$work/tmux.sock"
trap 'tmux -S "$sock" kill-server 2>/dev/null || true; rm -rf "$work"' EXIT
export KEYBOT_HOME="$work/home" KEYBOT_TEST_WEAK_KDF=1
echo "test test test test test test test test test test test junk" | KEYBOT_PASSWORD=pw "$bin" init --import 2>/dev/null
"$bin" model add "$KEYBOT_TEST_MODEL" >/dev/null 2>&1

t() { tmux -S "$sock" "$@"; }
wait_for() { for _ in $(seq 600); do t capture-pane -p | grep -q "$1" && return 0; sleep 0.05; done; echo "timed out waiting for $1" >&2; return 1; }
t -f /dev/null new-session -d -x 120 -y 40 "env KEYBOT_TIMINGS=$work/timings KEYBOT_HOME=$KEYBOT_HOME $bin; sleep 60"
wait_for "Your wallet is locked"
t send-keys -l pw; t send-keys Enter
wait_for "is ready"
t send-keys -l "Write a long story about a robot who learns to garden. Use many paragraphs."; t send-keys Enter
sleep 2
# Type while the answer streams, one key every 40 ms.
for c in $(echo "the quick brown fox jumps over the lazy dog again and again" | grep -o .); do
  t send-keys -l "$c"; sleep 0.04
done
t send-keys Escape; sleep 1; t send-keys Escape; t send-keys q
for _ in $(seq 100); do [ -s "$work/timings" ] && break; sleep 0.1; done
python3 - "$work/timings" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1])]
first = [float(r[1]) for r in rows if r[0] == "first_frame_ms"]
gen = sorted(float(r[1]) for r in rows if r[0] == "key_ms" and r[2] == "generating")
print(f"launch to first frame (inside the app): {first[0]:.1f} ms")
if gen:
    p = lambda q: gen[min(len(gen) - 1, int(len(gen) * q))]
    print(f"key to frame while generating: {len(gen)} keys, median {p(0.5):.1f} ms, p95 {p(0.95):.1f} ms")
else:
    print("no keys were recorded while generating")
PY
