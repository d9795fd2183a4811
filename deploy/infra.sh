#!/usr/bin/env bash
# Make RabbitMQ and PostgreSQL reachable: use what answers, start local installs that are stopped.
set -euo pipefail

amqp_host=${CHIBO_AMQP_HOST:-127.0.0.1}
amqp_port=${CHIBO_AMQP_PORT:-5672}
pg_host=${CHIBO_PG_HOST:-127.0.0.1}
pg_port=${CHIBO_PG_PORT:-5432}

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

wait_port() {
  local name=$1 host=$2 port=$3
  for _ in $(seq 1 60); do
    if port_open "$host" "$port"; then return 0; fi
    sleep 1
  done
  echo "infra: $name did not open $host:$port within 60 s" >&2
  return 1
}

if ! port_open "$pg_host" "$pg_port"; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    echo "infra: starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
  elif command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
    echo "infra: starting PostgreSQL with docker compose"
    POSTGRES_USER=postgres POSTGRES_HOST_AUTH_METHOD=trust \
      docker compose -f "$(dirname "$0")/compose.yaml" up -d postgres
  else
    echo "infra: PostgreSQL is not reachable at $pg_host:$pg_port and not installed here" >&2
    exit 1
  fi
fi

rabbitmq_started=
if ! port_open "$amqp_host" "$amqp_port"; then
  rabbitmq_started=1
  if command -v rabbitmq-server >/dev/null 2>&1; then
    echo "infra: starting RabbitMQ"
    rabbitmq-server -detached || true
  elif command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
    echo "infra: starting RabbitMQ with docker compose"
    RABBITMQ_USER=guest RABBITMQ_PASSWORD=guest docker compose -f "$(dirname "$0")/compose.yaml" up -d rabbitmq
  else
    echo "infra: RabbitMQ is not reachable at $amqp_host:$amqp_port and not installed here" >&2
    exit 1
  fi
fi

wait_port PostgreSQL "$pg_host" "$pg_port"
wait_port RabbitMQ "$amqp_host" "$amqp_port"
# RabbitMQ opens its port before it accepts logins; wait until it answers status when it was started here (one that was
# listening already is the usual case of a re-run, and each rabbitmqctl call costs about a second)
if [ -n "$rabbitmq_started" ] && command -v rabbitmqctl >/dev/null 2>&1; then
  for _ in $(seq 1 60); do
    rabbitmqctl -q status >/dev/null 2>&1 && break
    sleep 1
  done
fi
# the management API (port 15672) gives each queue's messages delivered and not yet acknowledged, which the gateway's
# operations page counts (shared/broker_api.py): a frozen consumer's backlog. Enabled on a local broker where it is
# not (online, no restart; the compose image has it); without it the page falls back to ready messages only
if ! port_open "$amqp_host" 15672 && command -v rabbitmq-plugins >/dev/null 2>&1; then
  echo "infra: enabling RabbitMQ's management plugin"
  rabbitmq-plugins -q enable rabbitmq_management >/dev/null || echo "infra: rabbitmq_management not enabled" >&2
fi
echo "infra: RabbitMQ $amqp_host:$amqp_port and PostgreSQL $pg_host:$pg_port are up"
