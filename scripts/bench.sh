#!/usr/bin/env bash
# Every benchmark (or those named: scripts/bench.sh bench/serve.py), each beside its baseline
# in the same run; results in bench/results.md.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null; then
  # bench/serve.py loads the HTTP edge with wrk.
  echo "installing wrk ..."
  if [ "$(id -u)" = 0 ]; then apt-get install -y wrk; else sudo apt-get install -y wrk; fi
fi
out=bench/results.md
benches=("$@")
if [ ${#benches[@]} -eq 0 ]; then
  benches=(bench/engine.py bench/vault.py bench/audience.py bench/orders.py bench/collect.py
           bench/audit.py bench/load.py bench/serve.py bench/sdk_size.py bench/dsr.py)
  {
    echo "# Schutz benchmarks"
    echo
    echo "Run on $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, Python $(.venv/bin/python -c 'import platform; print(platform.python_version())')."
    echo "Each figure is measured beside its baseline in the same run; compare ratios, not absolutes."
    echo
  } > "$out"
fi
for bench in "${benches[@]}"; do
  .venv/bin/python "$bench" "$out"
done
echo "wrote $out"
