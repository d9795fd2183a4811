#!/usr/bin/env bash
# Bring the whole system up on this machine: environment, broker and database, migrations,
# the demo mail sink, the four services, and a seeded demo province. Prints where to go.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

# the settings first: what is exported, else what the last `make up` here started with (var/up.env), else the
# defaults; they are saved again at once, so a later `make up` / `make status` without them exported finds this
# checkout's own database, vhost, broker users and ports (deploy/settings.sh)
# shellcheck source=deploy/env.sh
source deploy/env.sh
save_settings

deploy/bootstrap.sh
deploy/infra.sh

mkdir -p var/log var/run var/mail

# one broker user per process, each allowed only its own queues and the exchanges it needs (docs/security.md), and
# the variables computed from them (deploy/process_env.sh; deploy/serve.sh starts a second process the same way)
# shellcheck source=deploy/process_env.sh
source deploy/process_env.sh
if per_process_users; then
  deploy/broker_users.sh --vhost "$vhost" --admin "$admin" --prefix "$CHIBO_BROKER_USER_PREFIX" --out var/broker-credentials.env
  use_broker_credentials
else
  echo "up: rabbitmqctl not available (or CHIBO_SHARED_BROKER_USER set): every process uses CHIBO_AMQP_URL" >&2
fi

# the migrations' log lines go to var/log/migrate.log, so the summary at the end is not buried under them; the four
# services' migrations run in one process (one interpreter start instead of four)
echo "up: applying migrations to ${CHIBO_DATABASE_URL} (log var/log/migrate.log)"
if ! uv run --frozen python -m deploy.migrate >>var/log/migrate.log 2>&1; then
  echo "up: migrations failed; see var/log/migrate.log" >&2
  tail -n 30 var/log/migrate.log >&2
  exit 1
fi

# running NAME: its pid file names a live process of ours (not a pid reused since by another program)
# shellcheck source=deploy/pids.sh
source deploy/pids.sh

# The services run on the environment's own interpreter, not under a `uv run` wrapper: the pid written is the
# service's own, so `make down`, `make status` and a kill -9 all see the process itself (no orphan left behind).
py=$(uv run --frozen python -c 'import sys; print(sys.executable)')

start() {
  local name=$1 port=$2; shift 2
  if running "$name"; then
    echo "up: $name already running (pid $(cat "var/run/$name.pid"))"
    return
  fi
  if [ "$port" != 0 ] && curl -fsS --max-time 2 "http://127.0.0.1:$port/health" >/dev/null 2>&1; then
    echo "up: port $port is taken by a process this checkout did not start (another checkout's make up?);" \
      "stop it first" >&2
    exit 1
  fi
  local cmd=("$@")
  [ "${cmd[0]}" = python ] && cmd[0]=$py
  CHIBO_AMQP_URL=$(amqp_url_of "$name") CHIBO_HTTP_PORT=$port nohup "${cmd[@]}" >>"var/log/$name.log" 2>&1 &
  echo $! >"var/run/$name.pid"
  echo "up: started $name (pid $!, log var/log/$name.log)"
}

start mailsink 0 python -m deploy.mailsink --port "${CHIBO_SMTP_PORT}" --dir "$root/var/mail"
start meetings "${CHIBO_MEETINGS_PORT}" python -m services.meetings serve
start evaluation "${CHIBO_EVALUATION_PORT}" python -m services.evaluation serve
start notifications "${CHIBO_NOTIFICATIONS_PORT}" python -m services.notifications serve
start gateway "${CHIBO_GATEWAY_PORT}" python -m services.gateway serve

# asks every 0.2 s for up to 90 s: a service just (re)started is seen healthy as soon as it is
wait_healthy() {
  local name=$1 url=$2 deadline=$((SECONDS + 90))
  while [ "$SECONDS" -lt "$deadline" ]; do
    if curl -fsS --max-time 5 "$url" >/dev/null 2>&1; then echo "up: $name healthy"; return 0; fi
    if ! running "$name"; then echo "up: $name exited; see var/log/$name.log" >&2; tail -n 30 "var/log/$name.log" >&2; return 1; fi
    sleep 0.2
  done
  echo "up: $name did not become healthy at $url; see var/log/$name.log" >&2
  return 1
}
wait_healthy meetings "http://127.0.0.1:${CHIBO_MEETINGS_PORT}/health"
wait_healthy evaluation "http://127.0.0.1:${CHIBO_EVALUATION_PORT}/health"
wait_healthy notifications "http://127.0.0.1:${CHIBO_NOTIFICATIONS_PORT}/health"
wait_healthy gateway "http://127.0.0.1:${CHIBO_GATEWAY_PORT}/health"

# sent only when the database's meetings service has not taken in every event of the seed yet (a re-run skips it)
echo "up: seeding the demo province unless it is already in ${CHIBO_DATABASE_URL}"
# as the admin user (CHIBO_SYSTEM_PUBLISHERS): the seed's source urn:chibo:demo-seed is refused to the feed user
uv run --frozen python -m deploy.seed_demo --amqp-url "$CHIBO_AMQP_URL" --database-url "$CHIBO_DATABASE_URL"

# the demo's API tokens and people's sign-ins for the web app (demo passwords; change them anywhere real), all in one
# process through the gateway's own commands' code (deploy/demo_access.py lists them), so with the gateway's broker
# user: meetings answers its RPC (a feed's sources are reserved there) only to the callers in CHIBO_RPC_CALLERS
web_password=chibo-demo-2026
# the demo's latest closed month (deploy/seed_demo.py: its history ends with last month in Vietnam), for the hint below
demo_period=$(TZ=Asia/Ho_Chi_Minh date -d "$(TZ=Asia/Ho_Chi_Minh date +%Y-%m-01) -1 month" +%Y-%m)
tokens=$(CHIBO_AMQP_URL=$(amqp_url_of gateway) uv run --frozen python -m deploy.demo_access --password "$web_password")

(umask 077 && cat >var/demo-tokens.env) <<TOKENS
$tokens
TOKENS
chmod 600 var/demo-tokens.env

cat <<DONE

chibo is up.
  web app:        http://127.0.0.1:${CHIBO_GATEWAY_PORT}/app/   (password for every demo person: $web_password)
                    can-bo-tinh       officer of Tỉnh ủy Demo
                    can-bo-xa         officer of Đảng ủy xã Hòa Bình
                    uv-phu-trach      committee member following the cells of Đảng ủy xã Hòa Bình (monitor)
                    bi-thu-thon-1     secretary of Chi bộ thôn 1
                    dang-vien-thon-1  member of Chi bộ thôn 1
                    van-hanh          operator: services, queues, dead letters, parked rows, held events
  gateway:        http://127.0.0.1:${CHIBO_GATEWAY_PORT}   (OpenAPI: /docs, /openapi.json)
  services:       meetings :${CHIBO_MEETINGS_PORT}, evaluation :${CHIBO_EVALUATION_PORT}, notifications :${CHIBO_NOTIFICATIONS_PORT}  (/health, /asyncapi)
  demo mail:      $root/var/mail   (every e-mail the system sends, as .eml files with a readable .txt beside each)
  demo tokens:    var/demo-tokens.env   (source it; e.g. curl -H "Authorization: Bearer \$OFFICER_TOKEN" ...)
  broker logins:  var/broker-credentials.env   (source it; \$CHIBO_AMQP_URL_FEED sends, \$CHIBO_AMQP_URL_LISTEN listens: docs/integrations.md)
  logs:           var/log/<service>.log    stop with: make down
Try:  source var/demo-tokens.env && curl -s -H "Authorization: Bearer \$OFFICER_TOKEN" http://127.0.0.1:${CHIBO_GATEWAY_PORT}/v1/committees/demo-tinh-uy/rollup?period=${demo_period}
DONE
