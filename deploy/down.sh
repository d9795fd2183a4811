#!/usr/bin/env bash
# Stop the services `make up` started (the broker and database stay up).
set -uo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=deploy/pids.sh
source deploy/pids.sh
for name in gateway notifications evaluation meetings mailsink; do
  pidfile="var/run/$name.pid"
  [ -f "$pidfile" ] || continue
  pid=$(cat "$pidfile")
  # only a process of ours: after a reboot the pid may be another program's, which is left alone
  if ours "$name" "$pid"; then
    pkill -TERM -P "$pid" 2>/dev/null
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$pid" 2>/dev/null
    echo "down: stopped $name"
  fi
  rm -f "$pidfile"
done
