# What each process `make up` starts gets beyond deploy/env.sh: its own broker user's CHIBO_AMQP_URL, and the
# CHIBO_SYSTEM_PUBLISHERS / CHIBO_RPC_CALLERS computed from the broker users. Shared by deploy/up.sh and
# deploy/serve.sh (a second process of a service), so both compute them the same way. Sourced after deploy/env.sh.

# amqp_url_of NAME: the CHIBO_AMQP_URL process NAME runs with (every process keeps CHIBO_AMQP_URL until
# use_broker_credentials gives each its own user)
amqp_url_of() { echo "$CHIBO_AMQP_URL"; }

# the admin user of CHIBO_AMQP_URL (it declares the topology and sends the demo seed)
admin=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.unquote(urllib.parse.urlsplit(sys.argv[1]).username or "guest"))' "$CHIBO_AMQP_URL")
# only this system's own producers may send under a urn:chibo: source on chibo.ingest (the demo seed, as the admin
# user of CHIBO_AMQP_URL; meetings judges a delivery by its user_id, which RabbitMQ checks): never the feed user
export CHIBO_SYSTEM_PUBLISHERS="[\"$admin\"]"
# the virtual host is the one CHIBO_AMQP_URL names (its path; none is "/"), so one variable moves the whole demo
vhost=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.unquote(urllib.parse.urlsplit(sys.argv[1]).path[1:]) or "/")' "$CHIBO_AMQP_URL")

# per_process_users: whether each process gets a broker user of its own (docs/security.md); without rabbitmqctl here
# (a remote or containerised broker), or with CHIBO_SHARED_BROKER_USER set, every process keeps CHIBO_AMQP_URL
per_process_users() { command -v rabbitmqctl >/dev/null 2>&1 && [ -z "${CHIBO_SHARED_BROKER_USER:-}" ]; }

# use_broker_credentials: reads var/broker-credentials.env (deploy/broker_users.sh writes it): each process's URL,
# and the gateway's user as the one RPC caller the services answer
use_broker_credentials() {
  # shellcheck source=/dev/null
  source var/broker-credentials.env
  amqp_url_of() { local key="CHIBO_AMQP_URL_$(echo "$1" | tr '[:lower:]' '[:upper:]')"; echo "${!key:-$CHIBO_AMQP_URL}"; }
  export CHIBO_RPC_CALLERS="[\"$(python3 -c 'import sys, urllib.parse; print(urllib.parse.urlsplit(sys.argv[1]).username)' "$CHIBO_AMQP_URL_GATEWAY")\"]"
}
