# Operator targets: one per thing a human runs on a stack. Each calls scripts/pulumi-stack.sh,
# the same command the workflows run (docs/operations.md is the runbook, docs/ci.md the CI side).
# Included by the Makefile; STACK defaults to staging there.
#
#   make preview STACK=production
#   make up STACK=production CONFIRM=production
OPS := bash scripts/pulumi-stack.sh
# The confirmation is typed on the command line each time: a CONFIRM left exported in the shell
# (or set in a file) is ignored, so `make up STACK=production` alone is always refused.
CONFIRMED := $(if $(filter command line,$(origin CONFIRM)),$(CONFIRM),)

.PHONY: preview up drift smoke destroy-staging bootstrap-stack set-secrets rotate-db-password \
	spaces-profile policy-test workflows-check

## preview: pulumi preview STACK with the policy pack and policies/config/STACK.json
preview:
	$(OPS) preview $(STACK)

## up: pulumi up STACK (production also needs CONFIRM=production), policy pack enforced
up:
	CONFIRM="$(CONFIRMED)" $(OPS) up $(STACK)

## drift: fail when STACK's live resources differ from this checkout (what the scheduled job runs)
drift:
	$(OPS) refresh-check $(STACK)

## smoke: GET the API health endpoint of STACK (stack output apiUrl, else publicUrls.api) until it answers
smoke:
	$(OPS) smoke $(STACK)

## destroy-staging: destroy the staging stack (CONFIRM=staging); production is refused by the script
destroy-staging:
	CONFIRM="$(CONFIRMED)" $(OPS) destroy staging

## bootstrap-stack: pulumi stack init STACK in the state bucket (SECRETS_PROVIDER, default passphrase)
bootstrap-stack:
	$(OPS) bootstrap $(STACK)

## set-secrets: prompt for every secret of stack_config/secrets.py and store it encrypted in STACK
set-secrets:
	$(OPS) set-secrets $(STACK)

## rotate-db-password: new PostgreSQL password for STACK (doctl reset, refresh, up)
rotate-db-password:
	CONFIRM="$(CONFIRMED)" $(OPS) rotate-db-password $(STACK)

## spaces-profile: write the Spaces key (SPACES_ACCESS_KEY_ID/SECRET) into the `spaces` AWS profile
spaces-profile:
	bash scripts/ops/spaces-profile.sh spaces

## policy-test: the policy pack's tests and the checks of its manifest and per-stack configs (offline)
policy-test: venv
	$(BIN)/pytest -q $(wildcard tests/policies tests/test_polic*.py) tests/test_project_files.py

## workflows-check: the GitHub workflows and the composite action against their JSON schemas (offline)
workflows-check: venv
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	$(BIN)/check-jsonschema --builtin-schema vendor.github-actions .github/actions/*/action.yml
