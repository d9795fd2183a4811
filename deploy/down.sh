#!/usr/bin/env bash
# Stop the services `make up` started and the processes deploy/serve.sh started (the broker and database stay up).
set -uo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=deploy/pids.sh
source deploy/pids.sh
# what `make up` started (var/run/NAME.pid), and each process deploy/serve.sh started (var/run/serve-NAME-PORT.pid)
shopt -s nullglob
for pidfile in var/run/serve-*.pid var/run/{gateway,notifications,evaluation,meetings,mailsink}.pid; do
  [ -f "$pidfile" ] || continue
  name=$(basename "$pidfile" .pid)
  label=$name
  if [[ "$name" == serve-* ]]; then
    label=${name#serve-}       # e.g. evaluation-8112
    name=${label%-*}
  fi
  pid=$(cat "$pidfile")
  # only a process of ours: after a reboot the pid may be another program's, which is left alone
  if ours "$name" "$pid"; then
    pkill -TERM -P "$pid" 2>/dev/null
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 20); do alive "$pid" || break; sleep 0.5; done
    kill -KILL "$pid" 2>/dev/null
    echo "down: stopped $label"
  fi
  rm -f "$pidfile"
done
