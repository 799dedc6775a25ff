#!/usr/bin/env bash
# Every benchmark, each beside its baseline in the same run; results in bench/results.md.
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/results.md
{
  echo "# Schutz benchmarks"
  echo
  echo "Run on $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, Python $(.venv/bin/python -c 'import platform; print(platform.python_version())')."
  echo "Each figure is measured beside its baseline in the same run; compare ratios, not absolutes."
  echo
} > "$out"
for bench in bench/engine.py bench/vault.py bench/audience.py bench/orders.py bench/collect.py bench/load.py; do
  .venv/bin/python "$bench" "$out"
done
echo "wrote $out"
