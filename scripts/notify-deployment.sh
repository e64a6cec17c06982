#!/usr/bin/env bash
# The seed's deployment notice to Slack (#deployments), posted by .github/workflows/deploy.yml after
# each stack's deploy, whatever its outcome.
#
# Environment: SLACK_WEBHOOK (incoming-webhook URL, a secret), STATUS (success|failure|cancelled),
# STACK, IMAGE_TAG, RUN_URL. Without SLACK_WEBHOOK it says so and succeeds: a missing notice must
# not fail a deploy that worked.
# The webhook URL is the credential: it never appears on a command line (curl reads it from stdin,
# so it is not in the process list) and is never printed.
set -euo pipefail

if [ -z "${SLACK_WEBHOOK:-}" ]; then
  echo "notify-deployment: SLACK_WEBHOOK is not set; no Slack notice sent" >&2
  exit 0
fi
case "${STATUS:-}" in
  success) icon=":white_check_mark:" ;;
  failure) icon=":x:" ;;
  *) icon=":warning:" ;;
esac
text="${icon} deploy ${STACK:-?}: ${STATUS:-unknown} (image tag ${IMAGE_TAG:-unchanged}) ${RUN_URL:-}"
payload="$(jq -n --arg channel "#deployments" --arg text "$text" '{channel: $channel, text: $text}')"
printf 'url = "%s"\n' "$SLACK_WEBHOOK" \
  | curl --fail --silent --show-error --max-time 20 --config - \
    -H 'Content-Type: application/json' --data "$payload" >/dev/null
