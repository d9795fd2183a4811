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
# only these are saved (those derived, such as CHIBO_SERVICE_HEALTH_URLS from the ports or CHIBO_SECRET_KEY read
# from var/secret-key, and the defaults are not)
CHIBO_GIVEN_SETTINGS=$(compgen -e | grep '^CHIBO_' || true)

# save_settings: writes to var/up.env (mode 600) one `export NAME=VALUE` line for each setting given (exported, or
# saved by an earlier make up) whose value is not deploy/env.sh's default (CHIBO_DEFAULTS): a default is derived
# again each run, so a later change of a default reaches this checkout (a file of an earlier version, which kept
# the defaults too, loses them at the next make up)
save_settings() {
  local name
  mkdir -p var
  (
    umask 077
    echo "# the settings the last \`make up\` in this checkout was given (deploy/settings.sh); an exported variable wins"
    for name in $(printf '%s\n' $CHIBO_GIVEN_SETTINGS | sort -u); do
      [[ "$name" =~ $CHIBO_UNSAVED_SETTINGS ]] && continue
      [ -n "${!name+set}" ] || continue
      [ -n "${CHIBO_DEFAULTS[$name]+set}" ] && [ "${!name}" = "${CHIBO_DEFAULTS[$name]}" ] && continue
      printf 'export %s=%q\n' "$name" "${!name}"
    done
  ) >var/up.env.tmp
  chmod 600 var/up.env.tmp
  mv var/up.env.tmp var/up.env
}
