# Sourced by the scripts in scripts/contracts/: where the cache is and how a pinned npm tree gets
# into it. Nothing here writes into the repository.

cache="${KEYBOT_CACHE:-$HOME/.cache/keybot-ci}"

sha256() {
  if command -v sha256sum >/dev/null; then sha256sum "$@"; else shasum -a 256 "$@"; fi
}

# npm_tree SRC NAME [npm ci flags...]: installs SRC/package.json + package-lock.json (exact
# versions and integrity hashes, `npm ci`) into $cache/tools/NAME/<hash of both>/ unless there
# already, and prints that tree's node_modules. One tree per lock file: a changed pin installs
# beside the old one (another checkout may still use it), never over a tree in use. The same
# layout as scripts/compile-contracts.sh, so `npm_tree assets/contracts contracts` is its tree.
npm_tree() {
  local src="$1" name="$2"
  shift 2
  local hash root dir tmp
  hash="$(cat "$src/package.json" "$src/package-lock.json" | sha256 | cut -c1-16)"
  root="$cache/tools/$name"
  dir="$root/$hash"
  if [ ! -f "$dir/.installed" ]; then
    command -v npm >/dev/null || { echo "$0: needs npm on PATH" >&2; return 127; }
    mkdir -p "$root"
    tmp="$(mktemp -d "$root/.install.XXXXXX")"
    cp "$src/package.json" "$src/package-lock.json" "$tmp/"
    echo "$0: installing $src/package-lock.json into $dir" >&2
    if ! npm ci --prefix "$tmp" --no-audit --no-fund --loglevel=error "$@" >&2; then
      rm -rf "$tmp"
      return 1
    fi
    touch "$tmp/.installed"
    # A run beside this one may have finished first; its tree is as good as this one.
    if [ -f "$dir/.installed" ]; then rm -rf "$tmp"; else rm -rf "$dir" && mv "$tmp" "$dir"; fi
  fi
  echo "$dir/node_modules"
}

# foundry_bin TOOL: the cast/anvil that .ci/run installs from scripts/foundry, else TOOL on PATH.
foundry_bin() {
  local b="$cache/tools/node_modules/.bin/$1"
  if [ -x "$b" ]; then echo "$b"; elif command -v "$1" >/dev/null; then command -v "$1"; else
    echo "$0: no $1 (run .ci/run once, or npm ci --prefix $cache/tools with scripts/foundry/package*.json)" >&2
    return 127
  fi
}
