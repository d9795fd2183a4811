#!/usr/bin/env bash
# Health of each service as it answers on its /health endpoint.
cd "$(dirname "$0")/.."
source deploy/env.sh
for pair in meetings:${CHIBO_MEETINGS_PORT} evaluation:${CHIBO_EVALUATION_PORT} notifications:${CHIBO_NOTIFICATIONS_PORT} gateway:${CHIBO_GATEWAY_PORT}; do
  name=${pair%%:*}; port=${pair##*:}
  printf '%-14s ' "$name"
  curl -s --max-time 5 "http://127.0.0.1:$port/health" || printf 'down'
  echo
done
