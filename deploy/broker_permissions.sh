# The RabbitMQ permissions of each broker user deploy/broker_users.sh creates: regular expressions over exchange and
# queue names, one function per kind (configure, write, read; see docs/security.md), and the types each may publish on
# chibo.events. Sourced by deploy/broker_users.sh and by the tests that give a login of their own the same rights.
#
#   source deploy/broker_permissions.sh; perm_configure NAME; perm_write NAME; perm_read NAME; topic_types NAME
#
# RabbitMQ checks configure when a queue or exchange is declared or deleted, write when a message is published to an
# exchange and when a queue is bound (on the queue), read when a queue is consumed or bound (on the exchange), always
# against the full name; a queue the broker names itself is `amq.gen-…`, and no client may declare a name of `amq.`.
# shellcheck shell=bash

# the user names, each PREFIX + NAME
BROKER_USER_NAMES="meetings evaluation notifications gateway feed listen"

broker_shared='chibo\.(ingest|events|dead-letter|unrouted|ops)'
# the gateway's status queue (exclusive, one per gateway process) reads the services' heartbeats on chibo.ops
broker_status_queue='gateway\.status\..+'
# the listener's queues: server-named only (a name of its own choosing would need configure on that name)
broker_own_queue='amq\.gen-.+'

perm_configure() {
  case $1 in
    gateway) echo "^(${broker_status_queue}|chibo\\.ops)\$" ;;
    feed) echo '^chibo\.(ingest|events|dead-letter|unrouted)$' ;;
    listen) echo "^${broker_own_queue}\$" ;;
    *) echo "^($1\\..+|${broker_shared})\$" ;;
  esac
}
perm_write() {
  case $1 in
    gateway) echo "^(amq\\.default|${broker_status_queue})\$" ;;
    feed) echo '^chibo\.(ingest|unrouted)$' ;;
    # binding its own queue (write on the queue); no exchange, so it publishes nowhere
    listen) echo "^${broker_own_queue}\$" ;;
    *) echo "^($1\\..+|chibo\\.(events|dead-letter|unrouted|ops)|amq\\.default)\$" ;;
  esac
}
perm_read() {
  case $1 in
    gateway) echo "^(${broker_status_queue}|chibo\\.ops)\$" ;;
    feed) echo '^chibo\.(ingest|events|unrouted)$' ;;
    # consuming its own queues, and binding them to the public events exchange (read on the exchange)
    listen) echo "^(${broker_own_queue}|chibo\\.events)\$" ;;
    *) echo "^($1\\..+|${broker_shared})\$" ;;
  esac
}
# on chibo.events each service may publish only the types it owns (routing key = type); binding keys are free
topic_types() {
  case $1 in
    meetings) echo '(org\.unit|member|monitor|meeting|documents|attendance|minutes|task|ingest)\..+' ;;
    evaluation) echo '(score|framework)\..+' ;;
    notifications) echo 'notification\..+' ;;
    *) echo ;;
  esac
}
