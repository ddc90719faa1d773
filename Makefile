# reoffend: `make demo` and `make test` set up a fresh clone (install, then run).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SAMPLE := data/sample

.PHONY: install demo test lint format sample bench bench-quick clean

# A virtual environment with the package installed editable with its dev and bench extras.
# Re-runs pip only when pyproject.toml changes.
install: $(STAMP)
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $(STAMP)

demo: install
	@echo "== proven reoffending by cohort ($(SAMPLE))"
	$(BIN)/reoffend measure $(SAMPLE)/releases.csv $(SAMPLE)/convictions.csv \
		--exclude-offences $(SAMPLE)/excluded_offences.txt --by cohort --format table
	@echo "== the latest cohort by establishment"
	$(BIN)/reoffend measure $(SAMPLE)/releases.csv $(SAMPLE)/convictions.csv \
		--exclude-offences $(SAMPLE)/excluded_offences.txt --by cohort,establishment --latest-cohort --format table

test: install lint
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check reoffend tests
	$(BIN)/ruff format --check reoffend tests

format: install
	$(BIN)/ruff format reoffend tests
	$(BIN)/ruff check --fix reoffend tests

# Regenerate the committed sample (small, CSV, seeded).
sample: install
	$(BIN)/reoffend synth --releases 10000 --seed 20240401 --format csv --out $(SAMPLE)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
