#!/usr/bin/env bash
# Compiles assets/contracts/*.sol into the committed artifacts (assets/contracts/<Contract>.json);
# with --check, only verifies that the committed artifacts are what the pinned compiler builds.
# The compiler is solc-js and the libraries OpenZeppelin Contracts, both from npm at the exact
# versions in assets/contracts/package.json (+ package-lock.json). They are installed into the
# cache, not the repository: ${KEYBOT_CACHE:-~/.cache/keybot-ci}/tools/contracts/<lock hash>/.
#
#   scripts/compile-contracts.sh [--check]
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${KEYBOT_CACHE:-$HOME/.cache/keybot-ci}"
src=assets/contracts

for tool in node npm; do
  command -v "$tool" >/dev/null || {
    echo "compile-contracts.sh: needs $tool on PATH (Node.js 18 or newer with npm, e.g. apt-get install nodejs npm)" >&2
    exit 127
  }
done

sha256() {
  if command -v sha256sum >/dev/null; then sha256sum "$@"; else shasum -a 256 "$@"; fi
}
# One install per lock file: a changed pin installs beside the old one (another checkout may
# still use it), never over a tree in use.
hash="$(cat "$src/package.json" "$src/package-lock.json" | sha256 | cut -c1-16)"
root="$cache/tools/contracts"
dir="$root/$hash"
if [ ! -f "$dir/.installed" ]; then
  mkdir -p "$root"
  tmp="$(mktemp -d "$root/.install.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  cp "$src/package.json" "$src/package-lock.json" "$tmp/"
  echo "compile-contracts.sh: installing the pinned solc-js and OpenZeppelin Contracts into $dir" >&2
  # npm ci: exactly the lock file's versions and integrity hashes. No install scripts: solc-js
  # ships its compiler (soljson.js) in the package and needs none.
  npm ci --prefix "$tmp" --ignore-scripts --no-audit --no-fund --loglevel=error >&2
  touch "$tmp/.installed"
  # A run beside this one may have finished first; its tree is as good as this one.
  if [ -f "$dir/.installed" ]; then rm -rf "$tmp"; else rm -rf "$dir" && mv "$tmp" "$dir"; fi
  trap - EXIT
fi

exec node "$src/compile.mjs" --node-modules "$dir/node_modules" "$@"
