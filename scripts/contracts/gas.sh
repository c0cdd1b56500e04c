#!/usr/bin/env bash
# Sanity check and gas figures of DataMarket v2 against v1 on anvil (scripts/contracts/gas.mjs):
# a buy with a real one-time key, deliveries of a wrong and a right key, the challenge that
# refunds and the one that reverts, refund, dispute, settle and withdraw. Fails when the contract
# does otherwise; prints the table that GAS.md keeps. v1 is DataMarket.json at $V1_REV (the last
# commit with v1). Installs @noble/curves and @noble/hashes (scripts/contracts/package-lock.json)
# into the cache, not the repository.
#
#   scripts/contracts/gas.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/contracts/lib.sh
v1_rev="${V1_REV:-f0c01e7}"

nm="$(npm_tree scripts/contracts contracts-scripts --ignore-scripts)"
anvil="$(foundry_bin anvil)"
cast="$(foundry_bin cast)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
git show "$v1_rev:assets/contracts/DataMarket.json" >"$tmp/DataMarketV1.json"

node scripts/contracts/gas.mjs --node-modules "$nm" --anvil "$anvil" --cast "$cast" \
  --v1 "$tmp/DataMarketV1.json" --v2 assets/contracts/DataMarket.json --token assets/contracts/TestToken.json
