# One target per thing a human (or CI) runs. CI's .ci/run calls `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STACK ?= staging

.PHONY: test venv lint typecheck unit tools bench docs clean

## test: create the virtualenv, install everything, lint, type-check, run the whole suite
test: venv tools lint typecheck unit

venv: $(VENV)/.installed
$(VENV)/.installed: requirements.txt requirements-dev.txt policies/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt -r policies/requirements.txt
	touch $@

## tools: the offline checkers that are not Python packages of this venv
tools:
	bash scripts/install-tools.sh

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv
	$(BIN)/mypy .

# Two workers on CI's 2 cores; files stay whole on one worker so module fixtures (the PostgreSQL
# server of the backup round trip, checkov's single run) start once.
unit: venv
	$(BIN)/pytest -n 2 --dist loadfile

## bench: resource counts and in-process evaluation time per stack
bench: venv
	$(BIN)/python benchmarks/bench_stacks.py

## docs: regenerate docs/configuration.md from the config models
docs: venv
	$(BIN)/python scripts/gen_config_reference.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build

# Operator targets: stacks (preview/up/drift, bootstrap, secrets) in ops.mk; backups/restores in backup.mk.
-include ops.mk
-include backup.mk
