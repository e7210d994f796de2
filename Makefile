# benchlib: `make report` sets everything up and runs the default sweep plus the report;
# `make test` runs the test suite. Both create the environment (.venv) when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.benchlib-installed
SWEEP ?= params/local-cpu.yaml

.PHONY: setup native report sweep test test-unit bench lab clean-runs

setup: $(STAMP)

# Re-run the install when the dependencies change. llama-cpp-python compiles from source
# the first time (about 6-8 minutes on 2 cores); pip's wheel cache makes later installs quick.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,onnx,convert]"
	$(BIN)/benchlib models install
	$(BIN)/python -m ipykernel install --sys-prefix --name benchlib --display-name "Python (benchlib)"
	@touch $(STAMP)

# llama.cpp's own llama-server and llama-bench, from the vendored llama.cpp of the pinned
# llama-cpp-python (about 9 minutes on 2 cores, once per machine: kept in ~/.cache/benchlib/native).
native: setup
	$(BIN)/benchlib native build

sweep: setup
	$(BIN)/benchlib sweep $(SWEEP)

report: sweep
	$(BIN)/benchlib report
	@echo "Runs: data/runs/   Figures and summary: figures/   Executed notebooks: data/report/"

test: setup native
	$(BIN)/python -m pytest

# The fast half (seconds): the package's unit tests and the compatibility pins; no server, no native build.
test-unit: setup
	$(BIN)/python -m pytest tests/unit tests/test_compat_pins.py

bench: setup native
	$(BIN)/benchlib bench

lab: setup
	$(BIN)/jupyter lab notebooks/

clean-runs:
	rm -rf data/runs data/report
