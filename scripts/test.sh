#!/usr/bin/env bash
# The whole suite: unit, HTTP, PostgreSQL and browser tests. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python -m pytest --cov=schutz --cov-branch --cov-report=term:skip-covered "$@"
