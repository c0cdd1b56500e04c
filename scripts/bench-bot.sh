#!/usr/bin/env bash
# The bot's benchmark: 36 questions over a seeded local chain (`keybot chain dev`: a vault item,
# a listing, a sent transfer), each asked with `keybot ask --greedy --json`; for each, the tool
# the model should call first. Prints the share of right first calls and of calls whose
# arguments were read, the median and worst time to the answer, and the cost of the tools on a
# turn that calls none (`ask` against `chat` on the same question, tokens per second and time,
# with bot.tools = asked, where that question goes without them, and = always).
#
#   bash scripts/bench-bot.sh [MODEL.gguf]     # default: the test chat model ($KEYBOT_TEST_MODEL)
# Needs anvil (scripts/foundry or PATH). Uses the test-weak-kdf build: the figures are the model's.
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${KEYBOT_CACHE:-$HOME/.cache/keybot-ci}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$cache/target}"
export PATH="$cache/tools/node_modules/.bin:$PATH"
model="${1:-${KEYBOT_TEST_MODEL:-}}"
[ -f "$model" ] || { echo "bench-bot: give a GGUF (or set KEYBOT_TEST_MODEL)" >&2; exit 2; }
cargo build --quiet --features test-weak-kdf
bin="$CARGO_TARGET_DIR/debug/keybot"
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
export KEYBOT_PASSWORD=pw KEYBOT_TEST_WEAK_KDF=1 KEYBOT_HOME="$work/home"
friend=0x2546BcD3c84621e976D8185a91A922aE77ECEc30
echo "test test test test test test test test test test test junk" | "$bin" init --import >/dev/null 2>&1
"$bin" model add --name bench "$model" >/dev/null
"$bin" chain dev --port 0 --accounts 1 >"$work/dev.log" 2>&1 &
pids+=($!)
until grep -q '^ready' "$work/dev.log"; do sleep 0.2; done
printf 'Sow tomatoes in March; water at dawn.\n' >"$work/garden.txt"
item=$("$bin" market add --file "$work/garden.txt" --title "Gardening notes" 2>/dev/null | tail -n 1)
"$bin" market consent "$item" --yes >/dev/null 2>&1
"$bin" market sell "$item" --price 1 --token tUSD --yes >/dev/null 2>&1
"$bin" wallet send --to "$friend" --value 2 --token tUSD --yes >/dev/null 2>&1

questions=(
  "balances|What are my balances?"
  "balances|How much ETH do I have?"
  "balances|How many tUSD do I hold?"
  "balances|What is in my wallet?"
  "balances|Show my account balances."
  "balances|Do I have enough ETH to pay fees?"
  "activity|What did I send recently?"
  "activity|Show my recent transactions."
  "activity|Did I receive anything lately?"
  "activity|List my last 3 transfers."
  "activity|What is my transaction history?"
  "vault_items|What is in my sale vault?"
  "vault_items|Which vault items have I consented to sell?"
  "vault_items|How many items are in my vault?"
  "vault_items|What did the redaction remove from my vault items?"
  "vault_items|List my vault items."
  "market_listings|Is there anything about gardening for under 2 tUSD?"
  "market_listings|What is for sale on the market?"
  "market_listings|Show listings cheaper than 1 tUSD."
  "market_listings|Find listings about cooking."
  "market_listings|Which data is on the market?"
  "market_listings|Browse the market."
  "networks|Which network am I on?"
  "networks|What tokens are configured?"
  "networks|What is the chain id of my network?"
  "transfer|Send 1 tUSD to $friend"
  "transfer|Pay 0.5 ETH to $friend"
  "transfer|Transfer 2 tUSD to $friend"
  "transfer|Send 0.01 ETH to $friend"
  "transfer|Please send 3 tUSD to $friend"
  "earnings|What did I earn selling data?"
  "my_listings|Which of my listings sold?"
  "market_proposal|Buy listing 1 for at most 2 tUSD."
  "market_proposal|Change the price of my listing 1 to 3 tUSD."
  "market_proposal|Take my listing 1 off the market."
  "market_proposal|Withdraw my tUSD earnings."
)
right=0 valid=0 n=0
times=()
for q in "${questions[@]}"; do
  want=${q%%|*}
  text=${q#*|}
  t0=$(date +%s%N)
  out=$("$bin" ask --greedy --json --rounds 1 --max-tokens 96 "$text" 2>/dev/null </dev/null || echo '{}')
  t1=$(date +%s%N)
  times+=($(( (t1 - t0) / 1000000 )))
  got=$(printf '%s' "$out" | python3 -c 'import json,sys; v=json.load(sys.stdin); c=v.get("tool_calls") or [{}]; print(c[0].get("name","-"))')
  ok=$(printf '%s' "$out" | python3 -c 'import json,sys; v=json.load(sys.stdin); c=v.get("tool_calls") or [{}]; r=c[0].get("result"); e=r.get("error","") if isinstance(r,dict) else ""; print(0 if (not c[0] or "wrong arguments" in e or "no tool" in e) else 1)')
  n=$((n + 1))
  [ "$got" = "$want" ] && right=$((right + 1))
  valid=$((valid + ok))
  printf '%-16s %-16s %6s ms  %s\n' "$want" "$got" "${times[-1]}" "$text"
done
sorted=$(printf '%s\n' "${times[@]}" | sort -n)
echo
echo "model: $(basename "$model")"
echo "right first tool: $right of $n ($(( 100 * right / n ))%); arguments read: $valid of $n"
echo "time to the answer: median $(echo "$sorted" | sed -n "$(( (n + 1) / 2 ))p") ms, worst $(echo "$sorted" | tail -n 1) ms"

# A turn that calls no tool: the same question through `ask` and through `chat`, plain and with
# a system prompt about as long as the tools' descriptions (the tools' cost is the prompt they
# add, which a conversation's KV cache keeps after its first turn; the grammar waits unused).
plain="Write one sentence about the sea."
filler=$(python3 -c "print(' '.join(['The wallet keeps balances of tokens and the market lists data for sale.'] * 48))")
chat_stats=$("$bin" chat --greedy --max-tokens 64 "$plain" 2>&1 >/dev/null | tail -n 1)
long_stats=$("$bin" chat --greedy --max-tokens 64 --system "$filler" "$plain" 2>&1 >/dev/null | tail -n 1)
# `ask` sends a question that names nothing of the wallet or the market without the tools
# (bot.tools = asked, the default); bot.tools = always sends them with it.
ask_json=$("$bin" ask --greedy --json --max-tokens 64 "$plain" 2>/dev/null </dev/null)
"$bin" settings bot.tools always >/dev/null
always_json=$("$bin" ask --greedy --json --max-tokens 64 "$plain" 2>/dev/null </dev/null)
"$bin" settings bot.tools asked >/dev/null
stats='import json,sys; s=json.load(sys.stdin).get("stats",{}); print("prompt %s tokens, %s generated, prefill %.0f ms, generation %.1f tok/s" % (s.get("prompt_tokens"), s.get("generated"), s.get("prefill_ms",0), s.get("generated",0) / max(s.get("generate_ms",1),1) * 1000))'
echo "no tool call, 64 tokens:"
echo "  chat:                     $chat_stats"
echo "  chat, a long system:      $long_stats"
echo "  ask (bot.tools = asked):  $(printf '%s' "$ask_json" | python3 -c "$stats")"
echo "  ask (bot.tools = always): $(printf '%s' "$always_json" | python3 -c "$stats")"
