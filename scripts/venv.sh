#!/usr/bin/env bash
# Create .venv and install Schutz with the named extras; reinstall only when pyproject changes.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
py="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$py" -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
fi
spec="."
[ -n "$extras" ] && spec=".[$extras]"
stamp=".venv/.installed-${extras:-base}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "installing schutz${extras:+ with $extras} into .venv ..."
  .venv/bin/python -m pip install --quiet -e "$spec"
  touch "$stamp"
fi
# The browser tests check pages with axe-core (npm, pinned in tests/axe/package-lock.json).
if [[ ",$extras," == *",test,"* ]] && [ ! -f tests/axe/node_modules/axe-core/axe.min.js ]; then
  if ! command -v npm >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null
  fi
  echo "installing axe-core into tests/axe/node_modules ..."
  npm ci --prefix tests/axe --no-audit --no-fund --silent
fi
