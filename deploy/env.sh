# The demo's settings; anything already set in the environment wins.
export CHIBO_AMQP_URL=${CHIBO_AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/}
export CHIBO_DATABASE_URL=${CHIBO_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/chibo}
export CHIBO_LOG_JSON=${CHIBO_LOG_JSON:-true}
export CHIBO_SMTP_HOST=${CHIBO_SMTP_HOST:-127.0.0.1}
export CHIBO_SMTP_PORT=${CHIBO_SMTP_PORT:-8025}
export CHIBO_GATEWAY_PORT=${CHIBO_GATEWAY_PORT:-8000}
if [ -z "${CHIBO_JWT_SECRET:-}" ]; then
  mkdir -p var
  [ -f var/jwt-secret ] || python3 -c 'import secrets; print(secrets.token_urlsafe(48))' >var/jwt-secret
  CHIBO_JWT_SECRET=$(cat var/jwt-secret)
fi
export CHIBO_JWT_SECRET
if [ -z "${CHIBO_SECRET_KEY:-}" ]; then
  mkdir -p var
  [ -f var/secret-key ] || python3 -c 'import secrets; print(secrets.token_urlsafe(48))' >var/secret-key
  CHIBO_SECRET_KEY=$(cat var/secret-key)
fi
export CHIBO_SECRET_KEY
