# One entry point per job: `make demo` runs the main job, `make test` sets up and passes the tests.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: venv test lint typecheck pytest demo bench clean

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
	$(BIN)/pytest -q -p no:cacheprovider

test: lint typecheck pytest

demo: venv
	@echo "== 1. checking the sample claims shipped in gateway/samples/ =="
	$(BIN)/gateway validate gateway/samples/*.json
	@echo "== 2. building one 837 interchange per kind of claim into demo-out/ =="
	rm -rf demo-out
	$(BIN)/gateway --home . build gateway/samples/*.json -o demo-out --partner example
	@echo "== 3. validating the 837s (pyx12, our 837D map, and our own rules) =="
	$(BIN)/gateway validate demo-out/*.x12
	@echo "== 4. reading each 837 back as claim records (demo-out/*.json) =="
	for f in demo-out/*.x12; do $(BIN)/gateway parse $$f > $${f%.x12}.json && echo "$$f -> $${f%.x12}.json"; done
	@echo "done: the 837 files and their read-back claim records are in demo-out/"

bench: venv
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) demo-out .pytest_cache .mypy_cache .ruff_cache
