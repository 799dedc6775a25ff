#!/usr/bin/env bash
# The long model run of issue 13: random sequences against SQLite, then PostgreSQL, for
# --budget SECONDS in all (default 600, split between the backends). Hypothesis keeps every
# failing example in .hypothesis-prove/ (gitignored) and replays it first on the next run;
# turn each into a test in tests/prove/test_regressions.py. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
budget=600
args=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --budget) budget="$2"; shift 2 ;;
        --budget=*) budget="${1#*=}"; shift ;;
        *) args+=("$1"); shift ;;
    esac
done
[[ "$budget" =~ ^[0-9]+$ ]] || { echo "error: --budget takes whole seconds, not '$budget'" >&2; exit 2; }
export PROVE_PROFILE=prove PROVE_BUDGET=$((budget / 2)) PYTHONPATH=src
start=$(date +%s)
for backend in sqlite postgresql; do
    .venv/bin/python -m pytest tests/prove/test_machine.py -p no:cacheprovider -q -s \
        -k "$backend" ${args[@]+"${args[@]}"}
done
echo "prove: ran $(( $(date +%s) - start )) s (budget ${budget} s); examples kept in .hypothesis-prove/"
