# The demo's settings; anything already set in the environment wins, then what the last `make up` in this checkout
# started with (var/up.env, deploy/settings.sh), then these defaults. Sourced from the checkout's root.
# shellcheck source=deploy/settings.sh
source deploy/settings.sh
# the defaults, by name: var/up.env keeps only the values that differ from them (deploy/settings.sh), so a default
# changed here reaches a checkout that has run `make up` before
declare -gA CHIBO_DEFAULTS=(
  [CHIBO_AMQP_URL]=amqp://guest:guest@127.0.0.1:5672/
  [CHIBO_DATABASE_URL]=postgresql://postgres@127.0.0.1:5432/chibo
  [CHIBO_LOG_JSON]=true
  [CHIBO_SMTP_HOST]=127.0.0.1
  [CHIBO_SMTP_PORT]=8025
  [CHIBO_GATEWAY_PORT]=8000
  [CHIBO_MEETINGS_PORT]=8101
  [CHIBO_EVALUATION_PORT]=8102
  [CHIBO_NOTIFICATIONS_PORT]=8103
  # the per-process broker users are global to the broker (not per vhost): a second checkout trying `make up` in
  # its own vhost picks its own prefix, or it would re-key the first one's users
  [CHIBO_BROKER_USER_PREFIX]=chibo-
)
for chibo_name in "${!CHIBO_DEFAULTS[@]}"; do
  [ -n "${!chibo_name:-}" ] || printf -v "$chibo_name" '%s' "${CHIBO_DEFAULTS[$chibo_name]}"
  export "${chibo_name?}"
done
unset chibo_name
# where the gateway's health and operator pages find the three services
export CHIBO_SERVICE_HEALTH_URLS=${CHIBO_SERVICE_HEALTH_URLS:-"{\"meetings\": \"http://127.0.0.1:${CHIBO_MEETINGS_PORT}/health\", \"evaluation\": \"http://127.0.0.1:${CHIBO_EVALUATION_PORT}/health\", \"notifications\": \"http://127.0.0.1:${CHIBO_NOTIFICATIONS_PORT}/health\"}"}
# the address mails link the web app's pages at (notifications); set it empty for mails without links
export CHIBO_PUBLIC_BASE_URL=${CHIBO_PUBLIC_BASE_URL-"http://127.0.0.1:${CHIBO_GATEWAY_PORT}"}
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
