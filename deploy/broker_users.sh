#!/usr/bin/env bash
# One RabbitMQ user per process, each allowed only its own queues and the exchanges it needs (issue 11).
#
#   deploy/broker_users.sh [--vhost VHOST] [--admin USER] [--prefix PREFIX] [--out FILE] [--host HOST] [--port PORT]
#
# A VHOST that does not exist yet is created (as `make up` creates the database of CHIBO_DATABASE_URL), and the
# --admin user (the one of CHIBO_AMQP_URL, which declares the topology and seeds) is given all of it.
# VHOST defaults to the one CHIBO_AMQP_URL names and PREFIX to CHIBO_BROKER_USER_PREFIX (else / and chibo-), read as
# deploy/settings.sh reads them (an exported variable, else the checkout's var/up.env).
# Creates (or re-keys) PREFIX{meetings,evaluation,notifications,gateway,feed,listen} in VHOST with the permissions below,
# and writes their AMQP URLs to FILE (mode 600; default var/broker-credentials.env) as
# CHIBO_AMQP_URL_<NAME>=amqp://user:password@host:port/vhost. Passwords are kept in FILE and reused on a re-run.
# Needs rabbitmqctl on this host (the broker's own node). Never touches other users or vhosts: a PREFIX user that
# already has permissions in a vhost other than VHOST (another checkout's, on the same broker) is refused, exit 1.
#
# What each may do (regular expressions over exchange and queue names, deploy/broker_permissions.sh; docs/security.md):
#   meetings / evaluation / notifications (S):
#     configure  its queues (S.*) and the shared exchanges it declares (chibo.ingest, chibo.events,
#                chibo.dead-letter, chibo.unrouted and the chibo.unrouted catch-all queue)
#     write      its queues (bindings), chibo.events (its outbox), chibo.dead-letter / chibo.unrouted (declared as
#                dead-letter and alternate exchanges), amq.default (RPC replies go to RabbitMQ's direct reply-to)
#     read       its queues (consuming) and the exchanges its queues are bound to
#   gateway: writes amq.default (requests to <service>.rpc; replies come on direct reply-to), and its own exclusive
#            status queues (gateway.status.*) bound to chibo.ops, where the services' heartbeats come (shared/instances.py);
#            it can neither consume another service's queue nor publish a fact on chibo.events / chibo.ingest
#   (the services also declare and write chibo.ops, the internal operations exchange of their status heartbeats)
#   feed:    the external feeds: declare the shared exchanges, publish on chibo.ingest, nothing else (the demo seed
#            publishes as --admin, one of meetings' CHIBO_SYSTEM_PUBLISHERS: its urn:chibo: source is refused to feed)
#   listen:  the external listeners (docs/examples/listener.*): declare, bind and consume its own server-named queues
#            (amq.gen-*), bound to chibo.events only; it publishes nowhere and reads no other queue
# Topic permissions on chibo.events: meetings may publish only the fact types it validates (org.unit.*, member.*,
# meeting.*, ..., ingest.rejected.v1), evaluation only score.* and framework.*, notifications only notification.*.
set -euo pipefail
umask 077
cd "$(dirname "$0")/.."

# the defaults are this checkout's settings (exported, else saved by its last `make up` in var/up.env): the vhost of
# CHIBO_AMQP_URL and CHIBO_BROKER_USER_PREFIX, so a run without arguments never re-keys another checkout's users
# shellcheck source=deploy/settings.sh
source deploy/settings.sh
vhost=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.unquote(urllib.parse.urlsplit(sys.argv[1]).path[1:]) or "/")' "${CHIBO_AMQP_URL:-}")
admin=
prefix=${CHIBO_BROKER_USER_PREFIX:-chibo-}
out=var/broker-credentials.env
host=${CHIBO_AMQP_HOST:-127.0.0.1}
port=${CHIBO_AMQP_PORT:-5672}
while [ $# -gt 0 ]; do
  case $1 in
    --vhost) vhost=$2; shift 2 ;;
    --admin) admin=$2; shift 2 ;;
    --prefix) prefix=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --host) host=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    *) echo "broker_users: unknown argument $1" >&2; exit 2 ;;
  esac
done

command -v rabbitmqctl >/dev/null 2>&1 || { echo "broker_users: rabbitmqctl not found" >&2; exit 1; }
# shellcheck source=deploy/broker_permissions.sh
source deploy/broker_permissions.sh
encoded_vhost=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$vhost")
names=$BROKER_USER_NAMES
key_of() { echo "CHIBO_AMQP_URL_$(echo "$1" | tr '[:lower:]' '[:upper:]')"; }
# the password $out keeps for a key (empty when none)
password_of() { { sed -n "s|^$1=amqp://[^:]*:\([^@]*\)@.*|\1|p" "$out" 2>/dev/null || true; } | head -n 1; }
url_line() { echo "$1=amqp://$2:$3@${host}:${port}/${encoded_vhost}"; }

# A re-run changes nothing when the broker already holds every user with the password kept in $out and exactly these
# permissions, and $out names this host, port and vhost: one export of the broker's definitions tells (a rabbitmqctl
# call costs about a second, and setting every user up again some twenty)
in_sync() {
  local name user key password types wanted=""
  for name in $names; do
    user="${prefix}${name}"
    key=$(key_of "$name")
    password=$(password_of "$key")
    [ -n "$password" ] || return 1
    grep -qxF "$(url_line "$key" "$user" "$password")" "$out" || return 1
    types=$(topic_types "$name")
    wanted+="$(printf '%s\t' "$user" "$password" "$(perm_configure "$name")" "$(perm_write "$name")" "$(perm_read "$name")")"
    if [ -n "$types" ]; then wanted+="$(printf 'chibo.events\t%s' "^${types}\$")"; else wanted+="$(printf '\t')"; fi
    wanted+=$'\n'
  done
  printf '%s' "$wanted" | python3 deploy/broker_check.py --vhost "$vhost"
}

if in_sync; then
  echo "broker_users: ${prefix}{${names// /,}} in vhost $vhost already as wanted"
  exit 0
fi

# A user of this prefix that already has permissions in another vhost belongs to another checkout on this broker (one
# that kept the default prefix too): changing its password would cut that checkout's services off at their next
# reconnect. Refuse before changing anything; a checkout re-running on its own vhost finds its users only there.
existing=$(rabbitmqctl -q --no-table-headers list_users | awk '{print $1}')
for name in $names; do
  user="${prefix}${name}"
  grep -qxF "$user" <<<"$existing" || continue
  elsewhere=$(rabbitmqctl -q --no-table-headers list_user_permissions "$user" \
    | awk -F '\t' -v own="$vhost" '$1 != own {print $1; exit}')
  if [ -n "$elsewhere" ]; then
    echo "broker_users: user $user already has permissions in vhost $elsewhere, not $vhost: it belongs to another" \
      "checkout on this broker; set CHIBO_BROKER_USER_PREFIX (or --prefix) to a prefix of this checkout's own" \
      "(e.g. ${prefix%-}-2-); nothing changed" >&2
    exit 1
  fi
done

if ! rabbitmqctl -q list_vhosts | grep -qxF "$vhost"; then
  rabbitmqctl -q add_vhost "$vhost"
  echo "broker_users: created vhost $vhost"
  if [ -n "$admin" ]; then
    rabbitmqctl -q set_permissions -p "$vhost" "$admin" '.*' '.*' '.*'
    echo "broker_users: $admin may configure, write and read all of vhost $vhost"
  fi
fi

mkdir -p "$(dirname "$out")"
touch "$out"
chmod 600 "$out"
for name in $names; do
  user="${prefix}${name}"
  key=$(key_of "$name")
  password=$(password_of "$key")
  [ -n "$password" ] || password=$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')
  if grep -qxF "$user" <<<"$existing"; then
    printf '%s' "$password" | rabbitmqctl -q change_password "$user" >/dev/null
  else
    printf '%s' "$password" | rabbitmqctl -q add_user "$user" >/dev/null
  fi
  rabbitmqctl -q set_permissions -p "$vhost" "$user" "$(perm_configure "$name")" "$(perm_write "$name")" "$(perm_read "$name")"
  # the gateway reads the queues' figures (ready, unacknowledged) from the management API: its queues only
  if [ "$name" = gateway ]; then rabbitmqctl -q set_user_tags "$user" management; fi
  types=$(topic_types "$name")
  if [ -n "$types" ]; then
    rabbitmqctl -q set_topic_permissions -p "$vhost" "$user" chibo.events "^${types}\$" '.*'
  fi
  line=$(url_line "$key" "$user" "$password")
  grep -v "^${key}=" "$out" >"$out.tmp" || true
  echo "$line" >>"$out.tmp"
  mv "$out.tmp" "$out"
  chmod 600 "$out"
  echo "broker_users: $user in vhost $vhost"
done
