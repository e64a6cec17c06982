#!/usr/bin/env bash
# Run pg-restore.sh inside the cluster, next to the database's private network (the managed database
# admits only the cluster): a one-off pod of the backup image, labelled like the backup job so its
# NetworkPolicy lets it reach PostgreSQL (25060) and S3 (443), with the same restricted security
# context, and a throw-away Secret holding the operator's credentials. Both are deleted on exit.
#
#   NAMESPACE, CRONJOB (the backup CronJob, whose labels the pod borrows), IMAGE (the backup image)
#   SERVER_URL, S3_BUCKET, AWS_REGION, BACKUP_STACK, S3_PREFIX (default postgres)
#   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (optional): a reader's credentials
#   arguments: passed to pg-restore.sh (--new-db NAME [--owner ROLE] [--at ISO8601 | --key KEY])
#   DRY_RUN=1: print the pod manifest and exit (no kubectl).
set -euo pipefail

: "${NAMESPACE:?}" "${CRONJOB:?}" "${IMAGE:?}" "${SERVER_URL:?}" "${S3_BUCKET:?}" "${AWS_REGION:?}" "${BACKUP_STACK:?}"
name="pg-restore-$(date -u +%Y%m%d%H%M%S)"
python="${PYTHON:-python3}"

manifest="$("$python" - "$name" "$NAMESPACE" "$CRONJOB" "$IMAGE" "$@" <<'PY'
import json
import sys

name, namespace, cronjob, image, *args = sys.argv[1:]
env = [{"name": "HOME", "value": "/tmp"}]
print(json.dumps({
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {
        "name": name,
        "namespace": namespace,
        "labels": {"app.kubernetes.io/name": "pg-backup", "app.kubernetes.io/instance": cronjob,
                   "app.kubernetes.io/component": "restore"},
    },
    "spec": {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001, "fsGroup": 10001,
                            "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{
            "name": "pg-restore",
            "image": image,
            "command": ["/usr/local/bin/pg-restore.sh", *args],
            "envFrom": [{"secretRef": {"name": name}}],
            "env": env,
            "securityContext": {"allowPrivilegeEscalation": False, "privileged": False,
                                "readOnlyRootFilesystem": True, "runAsNonRoot": True, "runAsUser": 10001,
                                "runAsGroup": 10001, "capabilities": {"drop": ["ALL"]},
                                "seccompProfile": {"type": "RuntimeDefault"}},
            # Inside the namespace quota's headroom for one-off pods, even while a backup runs.
            "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
            "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
        }],
        "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "16Gi"}}],
    },
}, indent=2))
PY
)"
if [[ "${DRY_RUN:-}" == "1" ]]; then
  printf '%s\n' "$manifest"
  exit 0
fi

cleanup() { kubectl -n "$NAMESPACE" delete pod,secret "$name" --ignore-not-found --wait=false >/dev/null; }
trap cleanup EXIT
# Values go through a file descriptor, never through kubectl's argv.
kubectl -n "$NAMESPACE" create secret generic "$name" --from-env-file=<(
  printf 'SERVER_URL=%s\nS3_BUCKET=%s\nS3_PREFIX=%s\nAWS_REGION=%s\nBACKUP_STACK=%s\n' \
    "$SERVER_URL" "$S3_BUCKET" "${S3_PREFIX:-postgres}" "$AWS_REGION" "$BACKUP_STACK"
  printf 'AWS_ACCESS_KEY_ID=%s\nAWS_SECRET_ACCESS_KEY=%s\n' "${AWS_ACCESS_KEY_ID:?}" "${AWS_SECRET_ACCESS_KEY:?}"
  if [[ -n "${AWS_SESSION_TOKEN:-}" ]]; then printf 'AWS_SESSION_TOKEN=%s\n' "$AWS_SESSION_TOKEN"; fi
) >/dev/null
printf '%s\n' "$manifest" | kubectl apply -f - >/dev/null
kubectl -n "$NAMESPACE" wait --for=jsonpath='{.status.phase}'=Running "pod/$name" --timeout=10m >/dev/null || true
kubectl -n "$NAMESPACE" logs -f "pod/$name"
phase="$(kubectl -n "$NAMESPACE" get "pod/$name" -o jsonpath='{.status.phase}')"
echo "restore pod $name: $phase" >&2
[[ "$phase" == "Succeeded" ]]
