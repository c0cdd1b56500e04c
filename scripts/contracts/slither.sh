#!/usr/bin/env bash
# Static analysis of DataMarket.sol with Slither. Fails (exit 1) on any finding of High or Medium
# impact: such a finding is fixed in the contract, or explained in a comment next to the code and
# excluded there with `// slither-disable-next-line <detector>` (the only way to exclude one; no
# detector is switched off here). Lower findings are printed for information.
#
# No native solc can be downloaded on the CI machine, so Slither compiles through
# scripts/contracts/solc, a `solc` executable over the pinned solc-js of assets/contracts
# (installed into the cache like scripts/compile-contracts.sh does). Slither itself, at the exact
# versions of scripts/contracts/requirements.txt, goes into a venv in the cache:
# ${KEYBOT_CACHE:-~/.cache/keybot-ci}/tools/slither-<hash of requirements.txt and python3 -V>.
#
# Slither does not see into OpenZeppelin 5's SafeERC20 and Address calls (inline assembly), so
# no reentrancy finding proves little: the guard and the order of effects answer reentrancy.
#
#   scripts/contracts/slither.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
repo="$(pwd)"
. scripts/contracts/lib.sh

command -v python3 >/dev/null || { echo "slither.sh: needs python3 (with venv: apt-get install python3-venv)" >&2; exit 127; }
nm="$(npm_tree assets/contracts contracts --ignore-scripts)"

hash="$({ cat scripts/contracts/requirements.txt; python3 --version; } | sha256 | cut -c1-16)"
venv="$cache/tools/slither-$hash"
if [ ! -f "$venv/.installed" ]; then
  echo "slither.sh: installing scripts/contracts/requirements.txt into $venv" >&2
  # A venv cannot be moved after creation (its scripts name their own path), so it is built in
  # place; .installed marks a finished one, and an unfinished one is built again.
  rm -rf "$venv"
  mkdir -p "$cache/tools"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps -r scripts/contracts/requirements.txt
  "$venv/bin/pip" check --disable-pip-version-check >&2
  touch "$venv/.installed"
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# A directory target (with --solc-standard-json) makes crytic-compile use --standard-json, the
# only compiler mode the shim has. Only the market: the test contracts are attacks on purpose.
mkdir "$tmp/src"
cp assets/contracts/DataMarket.sol "$tmp/src/"
export KEYBOT_CONTRACTS_NODE_MODULES="$nm"
set +e
(cd "$tmp" && "$venv/bin/slither" src --solc-standard-json --solc "$repo/scripts/contracts/solc" \
  --solc-remaps "@openzeppelin/=$nm/@openzeppelin/" --filter-paths "@openzeppelin" \
  --json "$tmp/slither.json" >"$tmp/slither.log" 2>&1)
set -e

python3 - "$tmp/slither.json" "$tmp/slither.log" <<'EOF'
import json, sys

out, log = sys.argv[1], sys.argv[2]
try:
    with open(out) as f:
        report = json.load(f)
except (OSError, ValueError) as e:
    sys.stderr.write(open(log).read())
    sys.exit(f"slither.sh: Slither wrote no report ({e})")
if not report.get("success"):
    sys.stderr.write(open(log).read())
    sys.exit(f"slither.sh: Slither failed: {report.get('error')}")

findings = report.get("results", {}).get("detectors", [])
blocking = [r for r in findings if r["impact"] in ("High", "Medium")]
for r in findings:
    first = r["description"].strip().splitlines()[0]
    mark = "FAIL" if r in blocking else "info"
    print(f"slither.sh: {mark} {r['impact']}/{r['confidence']} {r['check']}: {first}")
if blocking:
    sys.exit(
        f"slither.sh: {len(blocking)} finding(s) of High or Medium impact in DataMarket.sol: fix each, "
        "or explain it next to the code and exclude it there (// slither-disable-next-line <detector>)"
    )
print(f"slither.sh: DataMarket.sol has no High or Medium finding ({len(findings)} lower)")
EOF
