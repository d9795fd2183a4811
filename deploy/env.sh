# The demo's settings; anything already set in the environment wins, then what the last `make up` in this checkout
# started with (var/up.env, deploy/settings.sh), then these defaults. Sourced from the checkout's root.
# shellcheck source=deploy/settings.sh
source deploy/settings.sh
export CHIBO_AMQP_URL=${CHIBO_AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/}
export CHIBO_DATABASE_URL=${CHIBO_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/chibo}
export CHIBO_LOG_JSON=${CHIBO_LOG_JSON:-true}
export CHIBO_SMTP_HOST=${CHIBO_SMTP_HOST:-127.0.0.1}
export CHIBO_SMTP_PORT=${CHIBO_SMTP_PORT:-8025}
export CHIBO_GATEWAY_PORT=${CHIBO_GATEWAY_PORT:-8000}
export CHIBO_MEETINGS_PORT=${CHIBO_MEETINGS_PORT:-8101}
export CHIBO_EVALUATION_PORT=${CHIBO_EVALUATION_PORT:-8102}
export CHIBO_NOTIFICATIONS_PORT=${CHIBO_NOTIFICATIONS_PORT:-8103}
# where the gateway's health and operator pages find the three services
export CHIBO_SERVICE_HEALTH_URLS=${CHIBO_SERVICE_HEALTH_URLS:-"{\"meetings\": \"http://127.0.0.1:${CHIBO_MEETINGS_PORT}/health\", \"evaluation\": \"http://127.0.0.1:${CHIBO_EVALUATION_PORT}/health\", \"notifications\": \"http://127.0.0.1:${CHIBO_NOTIFICATIONS_PORT}/health\"}"}
# the per-process broker users are global to the broker (not per vhost): a second checkout trying `make up` in its
# own vhost picks its own prefix, or it would re-key the first one's users
export CHIBO_BROKER_USER_PREFIX=${CHIBO_BROKER_USER_PREFIX:-chibo-}
# The token signing key has one source: the gateway keeps it in its schema (gateway.signing_secret), so
# `python -m services.gateway issue-token` signs with the gateway's key whether or not this file was sourced.
# Secret files are readable by their owner only.
mkdir -p var
chmod 700 var
for secret_file in var/jwt-secret var/secret-key var/demo-tokens.env var/broker-credentials.env var/up.env; do
  [ -f "$secret_file" ] && chmod 600 "$secret_file"
done
if [ -z "${CHIBO_SECRET_KEY:-}" ]; then
  [ -f var/secret-key ] || (umask 077 && python3 -c 'import secrets; print(secrets.token_urlsafe(48))' >var/secret-key)
  CHIBO_SECRET_KEY=$(cat var/secret-key)
fi
export CHIBO_SECRET_KEY
