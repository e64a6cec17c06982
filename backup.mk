# Disaster-recovery targets (docs/disaster-recovery.md). Included by the Makefile beside ops.mk.
#
#   make list-backups STACK=production                       newest off-site dumps (time, bytes, key)
#   make backup-now   STACK=production                       run the backup CronJob once, now
#   make restore-db   STACK=production NEW_DB=app_restored [AT=2026-11-22T07:00:00Z] [OWNER=app] [IN_CLUSTER=1]
#
# restore-db restores the newest dump started at or before AT (default: now) into the NEW database
# NEW_DB on the server of SERVER_URL (environment: a role that may CREATE DATABASE, e.g. doadmin),
# verifying its checksum, and prints every table's row count. AWS credentials come from your own
# environment/profile (a reader of the bucket), never from the stack. IN_CLUSTER=1 runs it in a
# one-off pod of the backup image inside the cluster, which is the only place that reaches the
# managed database's private network (then export AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY[/AWS_SESSION_TOKEN]).

PULUMI ?= pulumi
BACKUP_PYTHON ?= $(abspath $(or $(BIN),.venv/bin))/python
backup_output = $(PULUMI) stack output --stack $(STACK) $(1)

.PHONY: list-backups backup-now restore-db backup-require-stack

# A DR command against the wrong stack is the worst mistake available here: no default stack.
backup-require-stack:
	@case "$(origin STACK)" in command\ line|environment) ;; \
	  *) echo "say which stack: make $(MAKECMDGOALS) STACK=staging|production" >&2; exit 2 ;; esac

list-backups: backup-require-stack
	@set -euo pipefail; \
	export AWS_REGION="$$($(call backup_output,backupRegion))"; \
	$(BACKUP_PYTHON) scripts/backup/s3obj.py list --bucket "$$($(call backup_output,backupBucket))" \
	  --prefix "postgres/$(STACK)/"

backup-now: backup-require-stack
	@set -euo pipefail; \
	ns="$$($(call backup_output,kubernetesNamespace))"; \
	cronjob="$$($(call backup_output,backupCronJob))"; \
	kubectl -n "$$ns" create job --from="cronjob/$$cronjob" "pg-backup-manual-$$(date -u +%s)"; \
	echo "follow it: kubectl -n $$ns logs -f -l app.kubernetes.io/instance=$$cronjob --max-log-requests=1"

restore-db: backup-require-stack
	@test -n "$(NEW_DB)" || { echo "NEW_DB=<database to create> is required (restores never overwrite)" >&2; exit 2; }
	@test -n "$$SERVER_URL" || { echo "export SERVER_URL=postgresql://doadmin:...@<private host>:25060/defaultdb?sslmode=require (docs/disaster-recovery.md)" >&2; exit 2; }
	@set -euo pipefail; \
	export BACKUP_STACK="$(STACK)" PYTHON="$(BACKUP_PYTHON)"; \
	export S3_BUCKET="$$($(call backup_output,backupBucket))"; \
	export AWS_REGION="$$($(call backup_output,backupRegion))"; \
	args=(--new-db "$(NEW_DB)"); \
	if [ -n "$(AT)" ]; then args+=(--at "$(AT)"); fi; \
	if [ -n "$(OWNER)" ]; then args+=(--owner "$(OWNER)"); fi; \
	if [ -n "$(IN_CLUSTER)" ]; then \
	  export NAMESPACE="$$($(call backup_output,kubernetesNamespace))"; \
	  export CRONJOB="$$($(call backup_output,backupCronJob))"; \
	  export IMAGE="$$($(call backup_output,backupImage))"; \
	  scripts/backup/restore-in-cluster.sh "$${args[@]}"; \
	else \
	  scripts/backup/pg-restore.sh "$${args[@]}"; \
	fi
