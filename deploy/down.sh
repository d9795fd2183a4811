#!/usr/bin/env bash
# Stop the services `make up` started (the broker and database stay up).
set -uo pipefail
cd "$(dirname "$0")/.."
for name in gateway notifications evaluation meetings mailsink; do
  pidfile="var/run/$name.pid"
  [ -f "$pidfile" ] || continue
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    pkill -TERM -P "$pid" 2>/dev/null
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$pid" 2>/dev/null
    echo "down: stopped $name"
  fi
  rm -f "$pidfile"
done
