# reoffend: `make demo` and `make test` set up a fresh clone (install, then run).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SAMPLE := data/sample

.PHONY: install install-run install-bench demo test test-fast lint format sample browser java bench bench-quick bench-drift mutate clean

# One virtual environment, filled in steps: `make demo` installs the package alone (what the demo runs, about a
# minute); `make test` adds the dev extra (pytest, hypothesis, ruff, mypy and the peers the tests compare with:
# DuckDB, pyarrow, pyspark, calamine, selenium); `make bench` adds the bench extra (chainladder). Each step
# re-runs pip only when pyproject.toml changes.
RUN_STAMP := $(VENV)/.installed-run
BENCH_STAMP := $(VENV)/.installed-bench

install-run: $(RUN_STAMP)
$(RUN_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(RUN_STAMP)

install: $(STAMP)
$(STAMP): pyproject.toml $(RUN_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install-bench: $(BENCH_STAMP)
$(BENCH_STAMP): pyproject.toml $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $(BENCH_STAMP)

demo: install-run
	@echo "== proven reoffending by cohort ($(SAMPLE))"
	$(BIN)/reoffend measure $(SAMPLE)/releases.csv $(SAMPLE)/convictions.csv \
		--exclude-offences $(SAMPLE)/excluded_offences.txt --by cohort --format table
	@echo "== the latest cohort by establishment"
	$(BIN)/reoffend measure $(SAMPLE)/releases.csv $(SAMPLE)/convictions.csv \
		--exclude-offences $(SAMPLE)/excluded_offences.txt --by cohort,establishment --latest-cohort --format table
	@echo "== Doncaster style: EST042 in 2023 against its 2022 baseline"
	$(BIN)/reoffend compare baseline $(SAMPLE)/releases.csv $(SAMPLE)/convictions.csv \
		--exclude-offences $(SAMPLE)/excluded_offences.txt --site EST042 --period year \
		--current 2023 --baseline 2022 --target 5 --format table
	@echo "== Peterborough style: EST042 against a propensity-matched comparison group"
	$(BIN)/reoffend compare matched $(SAMPLE)/releases.csv $(SAMPLE)/convictions.csv \
		--exclude-offences $(SAMPLE)/excluded_offences.txt --treated establishment=EST042 \
		--covariates age,sex,sentence_months,prior_convictions,index_offence --style peterborough --format table
	@echo "== national mechanism: EST042 in 2023 against the risk-adjusted 2022 baseline"
	$(BIN)/reoffend compare adjusted $(SAMPLE)/releases.csv $(SAMPLE)/convictions.csv \
		--exclude-offences $(SAMPLE)/excluded_offences.txt --period year --baseline 2022 \
		--covariates age,sex,sentence_months,prior_convictions,index_offence \
		--current-filter establishment=EST042 --format table
	@echo "== the quarterly bulletin: out/bulletin/index.html"
	@mkdir -p out
	$(BIN)/reoffend bulletin --config $(SAMPLE)/job.toml -o out/bulletin

test: install lint browser java
	$(BIN)/python -m pytest -q

# The everyday subset while working (about 5 minutes on 2 cores): no browser, Spark or slow tests, no lint.
# `make test` runs everything before a commit lands.
test-fast: install
	$(BIN)/python -m pytest -q -m "not slow and not browser and not spark"

# The bulletin's page is checked in headless Chromium (rendering, print to PDF, axe-core accessibility through
# selenium and chromedriver; the PDF read with poppler's pdftotext/pdfimages). Install Debian's packages when we
# can, else those tests skip (pytest prints the reason).
BROWSER_PACKAGES := chromium chromium-driver poppler-utils
# axe-core itself comes from the npm registry, pinned: the copy bundled with axe-selenium-python was 3.1 (2018),
# which misses many of today's WCAG 2.2 rules. npm pack checks the tarball's integrity against the registry.
AXE_CORE_VERSION := 4.14.1
AXE_CORE := $(VENV)/axe-core/axe.min.js
browser: install
	@if [ -f $(AXE_CORE) ] && grep -q "axe v$(AXE_CORE_VERSION)" $(AXE_CORE); then :; \
	elif command -v npm >/dev/null 2>&1; then \
		rm -rf $(VENV)/axe-core && mkdir -p $(VENV)/axe-core && cd $(VENV)/axe-core \
		&& npm pack --silent axe-core@$(AXE_CORE_VERSION) >/dev/null \
		&& tar -xzf axe-core-$(AXE_CORE_VERSION).tgz --strip-components=1 package/axe.min.js package/LICENSE \
		&& rm axe-core-$(AXE_CORE_VERSION).tgz \
		|| echo "make: could not fetch axe-core $(AXE_CORE_VERSION) from npm; the accessibility tests will be skipped"; \
	else echo "make: no npm to fetch axe-core $(AXE_CORE_VERSION); the accessibility tests will be skipped"; fi
	@if (command -v chromium || command -v chromium-browser || command -v google-chrome) >/dev/null 2>&1 \
		&& command -v chromedriver >/dev/null 2>&1 && command -v pdftotext >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(BROWSER_PACKAGES) >/dev/null) \
		|| echo "make: could not install $(BROWSER_PACKAGES); the browser tests will be skipped"; \
	else echo "make: no Chromium/chromedriver/poppler and no root apt-get to install them; the browser tests will be skipped"; fi

# The spark dialect of `reoffend sql` is checked in Spark local mode, which needs Java; install Debian's when we
# can, else the Spark tests skip (pytest prints the reason).
java:
	@if command -v java >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jre-headless >/dev/null) \
		|| echo "make: could not install default-jre-headless; the Spark tests will be skipped"; \
	else echo "make: no Java and no root apt-get to install it; the Spark tests will be skipped"; fi

lint: install
	$(BIN)/ruff check reoffend tests tools
	$(BIN)/ruff format --check reoffend tests tools
	$(BIN)/mypy
	$(BIN)/mypy tools/mutate.py
	$(BIN)/mypy --strict --follow-imports=silent reoffend/api.py reoffend/__init__.py

format: install
	$(BIN)/ruff format reoffend tests tools
	$(BIN)/ruff check --fix reoffend tests tools

# Regenerate the committed sample (small, CSV, seeded).
sample: install
	$(BIN)/reoffend synth --releases 10000 --seed 20240401 --format csv --out $(SAMPLE)

# Benchmark against a DuckDB reference (bench/README.md); regenerates bench/RESULTS.md (commit it).
# Data is generated once into bench/data/ (git-ignored): about 3 GB and a few minutes the first time.
bench: install-bench
	$(BIN)/python bench/run.py --out bench/RESULTS.md

# The 100,000-release size only (under a minute); results go to bench/data/RESULTS-quick.md and the terminal.
bench-quick: install-bench
	$(BIN)/python bench/run.py --quick --out bench/data/RESULTS-quick.md

# The nowcast under a moving level and slower courts against Mack's chain ladder (issue 25; a few minutes):
# coverage and error pooled over seeds and origins, as Markdown (bench/NOTES.md quotes it).
bench-drift: install-bench
	$(BIN)/python bench/nowcast_drift.py

# Mutation testing of the core modules (tools/mutate.py; tests/README.md says how to read it). Two workers (one
# per core; JOBS=1 on a busier machine), niced: the machine is shared. Rewrites the score table in tests/README.md.
# MODULES=reoffend/window.py for one module.
MODULES ?=
JOBS ?= 2
mutate: install
	nice -n 10 $(BIN)/python tools/mutate.py --jobs $(JOBS) --update-readme $(MODULES)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
