# Thin wrappers over scripts/, which .ci/run calls too.
PORT ?= 8000
export PORT

.PHONY: run test bench lint i18n clean prove screenshots

run:
	@scripts/venv.sh
	.venv/bin/schutz serve --demo --port $(PORT)

test:
	@scripts/venv.sh test
	scripts/test.sh

# `make prove BUDGET=3600`: the model test of issue 13 for BUDGET seconds (default 600).
BUDGET ?= 600
prove:
	@scripts/venv.sh test
	scripts/prove.sh --budget $(BUDGET)

# `make bench BENCHES=bench/serve.py` runs only the named ones (their sections are replaced).
bench:
	@scripts/venv.sh bench
	scripts/bench.sh $(BENCHES)

lint:
	@scripts/venv.sh lint
	.venv/bin/ruff check src tests bench
	.venv/bin/ruff format --check src tests bench
	.venv/bin/mypy
	.venv/bin/mypy --config-file tests/mypy.ini
	PYTHONPATH=src .venv/bin/lint-imports

i18n:
	@scripts/venv.sh
	scripts/i18n.sh

clean:
	rm -rf .venv schutz-data .pytest_cache .mypy_cache .ruff_cache

# Regenerate docs/screenshots/ (console, privacy centre, banner, public pages) with Chromium.
screenshots:
	@scripts/venv.sh test
	.venv/bin/python scripts/screenshots.py
