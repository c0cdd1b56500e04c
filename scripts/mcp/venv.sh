#!/usr/bin/env bash
# The official MCP Python SDK for keybot mcp's test, at the exact versions of
# scripts/mcp/requirements.txt, in a venv in the cache:
# ${KEYBOT_CACHE:-~/.cache/keybot-ci}/tools/mcp-<hash of requirements.txt and python3 -V>.
# Prints `export KEYBOT_MCP_PYTHON=…` (its python) for scripts/test.sh to eval.
#
#   eval "$(bash scripts/mcp/venv.sh)"
set -euo pipefail
cd "$(dirname "$0")/../.."
cache="${KEYBOT_CACHE:-$HOME/.cache/keybot-ci}"
command -v python3 >/dev/null || { echo "mcp/venv.sh: needs python3 (with venv: apt-get install python3-venv)" >&2; exit 127; }
hash="$({ cat scripts/mcp/requirements.txt; python3 --version; } | sha256sum | cut -c1-16)"
venv="$cache/tools/mcp-$hash"
if [ ! -f "$venv/.installed" ]; then
  echo "mcp/venv.sh: installing scripts/mcp/requirements.txt into $venv" >&2
  # A venv names its own path in its scripts: built in place; .installed marks a finished one.
  rm -rf "$venv"
  mkdir -p "$cache/tools"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps -r scripts/mcp/requirements.txt >&2
  "$venv/bin/pip" check --disable-pip-version-check >&2
  touch "$venv/.installed"
fi
echo "export KEYBOT_MCP_PYTHON=$venv/bin/python"
