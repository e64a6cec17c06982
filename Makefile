# One target per thing a human (or CI) runs. CI's .ci/run calls `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STACK ?= staging

.PHONY: test test-all venv lint typecheck shellcheck unit tools engine plan bench docs clean cost diagram mutation

## test: create the virtualenv, install everything, build the real Pulumi engine, lint, type-check,
## shellcheck, run the whole suite (unit tests under mocks and the lifecycle through the real CLI).
## Two jobs at a time: the downloads (pip, npm, Go modules) overlap the builds and mypy; each target's
## output stays together (--output-sync), and any failure fails the whole.
test:
	@$(MAKE) --no-print-directory -j2 --output-sync=target test-all

test-all: venv tools engine lint typecheck shellcheck unit

venv: $(VENV)/.installed
$(VENV)/.installed: requirements.txt requirements-dev.txt policies/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt -r policies/requirements.txt
	touch $@

## tools: the offline checkers that are not Python packages of this venv
tools:
	bash scripts/install-tools.sh

## engine: the Pulumi CLI and Python language host from Go modules (tools/pulumi; cached in build/engine)
engine:
	bash scripts/build-engine.sh

## plan: what STACK would deploy, offline: the real CLI, echo providers, the policy pack's verdict
## (WITH_AWS=1: with EKS and the AWS tenant enabled beside the DigitalOcean side)
plan: venv engine
	bash scripts/plan-offline.sh $(STACK) $(if $(WITH_AWS),--with-aws)

# Every shell script in the repository (tracked or new, hooks and workflows' helpers included).
SHELL_SCRIPTS = $(shell git ls-files --cached --others --exclude-standard | grep -E '\.sh$$|^tests/engine/bin/echo-provider$$')
shellcheck: tools
	@for f in $(SHELL_SCRIPTS); do bash -n "$$f" || exit 1; done
	shellcheck -S warning -x $(SHELL_SCRIPTS)
	@echo "shellcheck: $(words $(SHELL_SCRIPTS)) scripts, bash -n and shellcheck -S warning clean"

lint: venv tools
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	build/tools/actionlint .github/workflows/*.yml

typecheck: venv
	$(BIN)/mypy .

# Two workers on CI's 2 cores; files stay whole on one worker so module fixtures (the PostgreSQL
# server of the backup round trip, checkov's single run) start once.
unit: venv tools engine
	$(BIN)/pytest -n 2 --dist loadfile

## mutation: cosmic-ray over policies/ and stack_config/, one process per folder, each in a copy of the tree
## under build/mutation/ (minutes, CPU heavy; not part of `make test`). MUTATION_ARGS="--sample 300" samples.
mutation: venv
	$(BIN)/python mutation/runner.py $(MUTATION_ARGS)

## bench: resource counts and in-process evaluation time per stack; time of `make cost` / `make diagram`
bench: venv
	$(BIN)/python benchmarks/bench_stacks.py
	$(BIN)/python benchmarks/bench_insights.py

## docs: regenerate docs/configuration.md from the config models, and the README's cost estimates and
## docs/diagrams/ from the evaluated stacks
docs: venv
	$(BIN)/python scripts/gen_config_reference.py
	$(BIN)/python scripts/gen_insights.py

## cost: monthly cost estimate of STACK from the evaluated program (ARGS=--json for machines)
cost: venv
	$(BIN)/python scripts/cost.py --stack $(STACK) $(ARGS)

## diagram: architecture diagram of STACK (docs/diagrams/<stack>.mmd, .dot, .svg; needs `make tools`)
diagram: venv
	$(BIN)/python scripts/make_diagram.py --stack $(STACK)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build

# Operator targets: stacks (preview/up/drift, bootstrap, secrets) in ops.mk; backups/restores in backup.mk.
-include ops.mk
-include backup.mk
