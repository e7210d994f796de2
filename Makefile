# benchlib: `make report` sets everything up and runs the default sweep plus the report;
# `make test` runs the test suite. Both create the environment (.venv) when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.benchlib-installed
SWEEP ?= params/local-cpu.yaml
# Python's default: cache compiled bytecode (a machine that sets PYTHONDONTWRITEBYTECODE=1 recompiles benchlib in
# every process and pytest rewrites every test module on every run: +4 s of collection per test worker).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: setup native prometheus-tools browser-tools docs report docs-images sweep test test-unit test-under-load bench lab clean-runs

setup: $(STAMP)

# Re-run the install when the dependencies change. llama-cpp-python compiles from source
# the first time (about 6-8 minutes on 2 cores); pip's wheel cache makes later installs quick.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,onnx,convert,fleet]"
	$(BIN)/benchlib models install
	$(BIN)/python -m ipykernel install --sys-prefix --name benchlib --display-name "Python (benchlib)"
	@touch $(STAMP)

# llama.cpp's own llama-server and llama-bench, from the vendored llama.cpp of the pinned
# llama-cpp-python (about 9 minutes on 2 cores, once per machine: kept in ~/.cache/benchlib/native).
native: setup
	$(BIN)/benchlib native build

# A real Prometheus server and node_exporter for the tests of the prometheus power source and the
# exporter (Debian's packages; nothing is started here). Without root or apt-get, those tests skip,
# unless BENCHLIB_REQUIRE_PROMETHEUS=1 (CI) makes them fail.
PROMETHEUS_PACKAGES := prometheus prometheus-node-exporter
prometheus-tools:
	@if command -v prometheus >/dev/null && command -v prometheus-node-exporter >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get install -y -q --no-install-recommends $(PROMETHEUS_PACKAGES) >/dev/null \
		|| { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends $(PROMETHEUS_PACKAGES) >/dev/null; }; \
	else echo "prometheus-tools: install $(PROMETHEUS_PACKAGES) (sudo apt-get install ...) to run the Prometheus tests; they skip without them"; fi

# Debian's headless Chromium and its WebDriver for the browser test of figures/report.html (nothing downloads a
# browser build of its own). Without root or apt-get, the browser tests skip, unless BENCHLIB_REQUIRE_BROWSER=1
# (CI) makes them fail.
BROWSER_PACKAGES := chromium chromium-driver
browser-tools:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get install -y -q --no-install-recommends $(BROWSER_PACKAGES) >/dev/null \
		|| { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends $(BROWSER_PACKAGES) >/dev/null; }; \
	else echo "browser-tools: install $(BROWSER_PACKAGES) (sudo apt-get install ...) to run the browser tests; they skip without them"; fi

# The documentation site (mkdocs-material, API reference from the docstrings), built strictly: a broken link, a
# missing page or image fails it. Part of `make test`. Output in site/ (not in git).
docs: setup
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet -d site

sweep: setup
	$(BIN)/benchlib sweep $(SWEEP)

report: sweep
	$(BIN)/benchlib report
	@echo "Report: figures/report.html   Runs: data/runs/   Figures and tables: figures/   Executed notebooks: data/report/"

# The images the README and the docs show (docs/images/), drawn again from the committed example runs
# (tests/fixtures/runs, tests/fixtures/workload_runs); figures/ is a report's output and not in git.
docs-images: setup browser-tools
	$(BIN)/python -m benchlib.docs_images
	BENCHLIB_UPDATE_SCREENSHOT=1 $(BIN)/python -m pytest -q tests/integration/test_report_browser.py -k screenshot

# One pytest-xdist worker per core, each pinned to its core (tests/conftest.py). Whole files go to a worker
# (loadfile), so a module's expensive fixture (the Ray cluster, a llama-server) starts once. (loadgroup would
# not do: with pytest 9.2 it silently stops grouping, pytest-xdist issue 1386.)
PARALLEL := -n auto --dist loadfile
test: setup native prometheus-tools browser-tools docs
	$(BIN)/python -m pytest $(PARALLEL)

# The fast tier: the unit tests that need no model, server, notebook kernel, subprocess or real-clock wait
# (the resource markers in pyproject.toml; tests/unit/test_test_tiers.py keeps them honest).
UNIT_TIER := not (model or server or notebook or prometheus or ray or browser or gpu or realtime or subprocess)
test-unit: setup
	$(BIN)/python -m pytest tests/unit -m "$(UNIT_TIER)" $(PARALLEL)

# The whole suite RUNS times in a row while a busy loop keeps one core loaded, as a busy CI runner would:
# a test that passes only on a quiet machine fails here. `make test-under-load RUNS=1` for one round.
RUNS ?= 3
test-under-load: setup native prometheus-tools browser-tools
	@$(BIN)/python -c "while True: pass" & busy=$$!; trap "kill $$busy" EXIT; \
	for round in $$(seq 1 $(RUNS)); do \
		echo "== round $$round of $(RUNS), one core busy"; \
		BENCHLIB_REQUIRE_PROMETHEUS=1 BENCHLIB_REQUIRE_BROWSER=1 $(BIN)/python -m pytest $(PARALLEL) -q -p no:cacheprovider || exit 1; \
	done

bench: setup native
	$(BIN)/benchlib bench

lab: setup
	$(BIN)/jupyter lab notebooks/

clean-runs:
	rm -rf data/runs data/report
