#!/usr/bin/env bash
# Health of each component `make up` started: each service as it answers on its /health endpoint, then the mail sink
# (its SMTP greeting), one line each. Exit 0 when every one is ok, 1 when one is degraded (or stopping) and none is
# down, 2 when one is down (not answering, or its /health says down); docs/operations.md, "make status".
cd "$(dirname "$0")/.."
source deploy/env.sh

worst=0
judge() { # the exit code a component's status asks for, kept when worse than the one so far
  local code
  case "$1" in
    ok) code=0 ;;
    down) code=2 ;;
    *) code=1 ;;
  esac
  ((code > worst)) && worst=$code
  return 0
}

for pair in meetings:${CHIBO_MEETINGS_PORT} evaluation:${CHIBO_EVALUATION_PORT} notifications:${CHIBO_NOTIFICATIONS_PORT} gateway:${CHIBO_GATEWAY_PORT}; do
  name=${pair%%:*}; port=${pair##*:}
  printf '%-14s ' "$name"
  body=$(curl -s --max-time 5 "http://127.0.0.1:$port/health")
  if [[ -n "$body" ]]; then
    printf '%s' "$body"
    # the body's own status: the first "status" key, the top level's (service, status, then the report)
    status=$(grep -o '"status" *: *"[a-z]*"' <<<"$body" | head -n 1 | sed 's/.*"\([a-z]*\)"$/\1/')
    judge "${status:-degraded}"
  else
    printf 'down'
    judge down
  fi
  echo
done

# the mail sink answers SMTP, not HTTP: ok when it greets with 220, as a mail client is greeted
printf '%-14s ' mailsink
greeting=$(timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && IFS= read -r line <&3 && printf "QUIT\r\n" >&3 && printf "%s" "$line"' _ "${CHIBO_SMTP_PORT}" 2>/dev/null | tr -d '\r')
if [[ "$greeting" == 220* ]]; then
  printf '{"service": "mailsink", "status": "ok", "smtp": "127.0.0.1:%s"}' "${CHIBO_SMTP_PORT}"
  judge ok
elif [[ -n "$greeting" ]]; then
  printf '{"service": "mailsink", "status": "degraded", "smtp": "127.0.0.1:%s", "greeting": "%s"}' \
    "${CHIBO_SMTP_PORT}" "${greeting//\"/\'}"
  judge degraded
else
  printf 'down'
  judge down
fi
echo
exit "$worst"
