# The settings `make up` started this checkout with, kept in var/up.env (not committed; mode 600, the URLs may hold
# passwords) so that a later `make up` (after a kill -9), `make status`, deploy/serve.sh and deploy/broker_users.sh
# run without the variables exported find this checkout's own database, vhost, broker users and ports, not the
# defaults (another checkout's system). A variable set in the environment wins over the saved one.
# Sourced from the checkout's root (deploy/env.sh sources it first).

# the variables computed per process or per run, never saved: up.sh derives them again each time
CHIBO_UNSAVED_SETTINGS='^CHIBO_(AMQP_URL_[A-Z]+|HTTP_PORT|RPC_CALLERS|SYSTEM_PUBLISHERS|UNSAVED_SETTINGS|GIVEN_SETTINGS)$'

# each saved `export NAME=VALUE` line whose NAME the environment does not set (VALUE is quoted as printf %q quotes)
if [ -f var/up.env ]; then
  while IFS= read -r chibo_saved_line; do
    [[ "$chibo_saved_line" =~ ^export\ (CHIBO_[A-Z0-9_]+)= ]] || continue
    chibo_saved_name=${BASH_REMATCH[1]}
    [[ "$chibo_saved_name" =~ $CHIBO_UNSAVED_SETTINGS ]] && continue
    [ -n "${!chibo_saved_name+set}" ] && continue
    eval "$chibo_saved_line"
  done <var/up.env
  unset chibo_saved_line chibo_saved_name
fi

# the CHIBO_ variables given (exported, or saved by an earlier make up) before deploy/env.sh fills in its defaults:
# these are saved as they are; of env.sh's own settings only the base ones (not those derived from them, such as
# CHIBO_SERVICE_HEALTH_URLS from the ports, or CHIBO_SECRET_KEY read from var/secret-key) are saved
CHIBO_GIVEN_SETTINGS=$(compgen -e | grep '^CHIBO_' || true)

# save_settings: writes the effective settings to var/up.env (mode 600), one `export NAME=VALUE` line each
save_settings() {
  local name base="CHIBO_AMQP_URL CHIBO_DATABASE_URL CHIBO_LOG_JSON CHIBO_SMTP_HOST CHIBO_SMTP_PORT CHIBO_GATEWAY_PORT
    CHIBO_MEETINGS_PORT CHIBO_EVALUATION_PORT CHIBO_NOTIFICATIONS_PORT CHIBO_BROKER_USER_PREFIX"
  mkdir -p var
  (
    umask 077
    echo "# the settings the last \`make up\` in this checkout started with (deploy/settings.sh); an exported variable wins"
    for name in $(printf '%s\n' $base $CHIBO_GIVEN_SETTINGS | sort -u); do
      [[ "$name" =~ $CHIBO_UNSAVED_SETTINGS ]] && continue
      [ -n "${!name+set}" ] || continue
      printf 'export %s=%q\n' "$name" "${!name}"
    done
  ) >var/up.env.tmp
  chmod 600 var/up.env.tmp
  mv var/up.env.tmp var/up.env
}
