#!/usr/bin/env bash
# One more process of a service on this machine, beside the ones `make up` started (docs/operations.md, "A second
# process on one machine"):
#
#   deploy/serve.sh meetings|evaluation|notifications|gateway PORT
#
# It runs in the foreground with the settings `make up` started this checkout with (deploy/env.sh: an exported
# variable, else var/up.env, else the defaults) and the per-process ones up.sh computes (deploy/process_env.sh): the
# service's own broker user as CHIBO_AMQP_URL, CHIBO_RPC_CALLERS and CHIBO_SYSTEM_PUBLISHERS; its HTTP port
# (/health, /metrics) is PORT, which must differ from the first process's. Run `make up` first. Its pid is kept in
# var/run/serve-NAME-PORT.pid (deploy/pids.sh), so `make down` stops it with the rest; Ctrl-C stops it too.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { echo "usage: deploy/serve.sh meetings|evaluation|notifications|gateway PORT" >&2; exit 2; }
[ $# -eq 2 ] || usage
name=$1 port=$2
case $name in meetings | evaluation | notifications | gateway) ;; *) usage ;; esac
[[ "$port" =~ ^[0-9]+$ ]] && [ "$port" -ge 1 ] && [ "$port" -le 65535 ] || usage

# shellcheck source=deploy/env.sh
source deploy/env.sh
# shellcheck source=deploy/process_env.sh
source deploy/process_env.sh
if per_process_users; then
  if [ ! -f var/broker-credentials.env ]; then
    echo "serve: var/broker-credentials.env is missing: run \`make up\` in this checkout first" >&2
    exit 1
  fi
  use_broker_credentials
fi

export CHIBO_AMQP_URL
CHIBO_AMQP_URL=$(amqp_url_of "$name")
export CHIBO_HTTP_PORT=$port
# the environment's own interpreter, not a `uv run` wrapper: the pid is the service's own (as up.sh starts them);
# CHIBO_SERVE_PYTHON replaces it (tests)
py=${CHIBO_SERVE_PYTHON:-$(uv run --frozen python -c 'import sys; print(sys.executable)')}
echo "serve: $name on port $port as broker user $(python3 -c 'import sys, urllib.parse; print(urllib.parse.urlsplit(sys.argv[1]).username)' "$CHIBO_AMQP_URL")" >&2
# exec keeps this shell's pid: the pid file names the service's own process, for `make down` (deploy/down.sh)
mkdir -p var/run
echo $$ >"var/run/serve-$name-$port.pid"
exec "$py" -m "services.$name" serve
