#!/usr/bin/env bash
# DataMarket v2's invariants under random call sequences: forge's invariant runner drives
# scripts/contracts/invariant/test/Handler.sol (runs and depth in invariant/foundry.toml); fails
# when an invariant breaks or a call does other than the model says.
#
# forge comes from npm at the exact version of scripts/contracts/forge/package-lock.json, into the
# cache like cast and anvil. It compiles with the pinned solc-js through scripts/contracts/solc
# (`forge --use`), offline; forge-std is not used (it comes by git). The project is assembled in
# a temporary directory: invariant/ with the market and the test token copied into src/ and
# OpenZeppelin remapped to assets/contracts' pinned npm tree.
#
#   scripts/contracts/invariants.sh [extra forge test arguments, e.g. -vv]
set -euo pipefail
cd "$(dirname "$0")/../.."
repo="$(pwd)"
. scripts/contracts/lib.sh

nm="$(npm_tree assets/contracts contracts --ignore-scripts)"
forge="$(npm_tree scripts/contracts/forge forge)/.bin/forge"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cp -r scripts/contracts/invariant/. "$tmp/"
mkdir -p "$tmp/src"
cp assets/contracts/DataMarket.sol assets/contracts/TestToken.sol "$tmp/src/"
ln -s "$nm" "$tmp/node_modules"
echo "@openzeppelin/=node_modules/@openzeppelin/" >"$tmp/remappings.txt"

export KEYBOT_CONTRACTS_NODE_MODULES="$nm"
# No telemetry or update checks exist to switch off in forge 1.7; --offline keeps it off the network.
cd "$tmp"
"$forge" test --root "$tmp" --use "$repo/scripts/contracts/solc" --offline "$@"
