# One entry point per job: `make demo` runs the main job, `make test` sets up and passes the tests.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: venv test lint typecheck pytest demo demo-web demo-837 bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

lint: venv
	$(BIN)/ruff check gateway tests bench
	$(BIN)/ruff format --check gateway tests bench

typecheck: venv
	$(BIN)/mypy

pytest: venv
	bash scripts/ensure-postgres.sh
	bash scripts/ensure-sshd.sh
	bash scripts/ensure-systemd.sh
	bash scripts/ensure-chromium.sh
	$(BIN)/pytest -q -p no:cacheprovider -n auto --maxprocesses=4 --dist worksteal

test: lint typecheck pytest

demo: venv
	@echo "== the whole cycle: generated claims -> daemon -> payer simulator -> postings and balances =="
	rm -rf demo-home
	$(BIN)/gateway demo --home demo-home
	@echo "== the home is kept in demo-home/: try .venv/bin/gateway --home demo-home claims =="

demo-web: venv
	@echo "== the demo, then its home in the web view on http://127.0.0.1:8080/ (Ctrl-C stops it) =="
	rm -rf demo-home
	$(BIN)/gateway demo --home demo-home --web

demo-837: venv
	@echo "== building one 837 per kind from gateway/samples/ into demo-out/, validating, reading back =="
	rm -rf demo-out
	$(BIN)/gateway --home . build gateway/samples/*.json -o demo-out --partner example
	$(BIN)/gateway validate demo-out/*.x12
	for f in demo-out/*.x12; do $(BIN)/gateway parse $$f > $${f%.x12}.json && echo "$$f -> $${f%.x12}.json"; done

bench: venv
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) demo-out demo-home .pytest_cache .mypy_cache .ruff_cache
