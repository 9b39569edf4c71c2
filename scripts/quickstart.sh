#!/usr/bin/env bash
# Try syncd end to end without an Intercom account: installs syncd into .venv, starts the
# local Intercom stand-in (`syncd sandbox`), publishes the bundled example handbook, then runs
# again to show that nothing unchanged is sent twice.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m venv .venv
.venv/bin/pip install --quiet --upgrade pip
.venv/bin/pip install --quiet -c constraints.txt -e .

port="${SYNCD_SANDBOX_PORT:-8765}"
export SYNCD_SANDBOX_URL="http://127.0.0.1:${port}"
.venv/bin/syncd --log-level warning sandbox --port "$port" &
sandbox_pid=$!
trap 'kill "$sandbox_pid" 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  .venv/bin/python -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" \
    2>/dev/null && break
  sleep 0.2
done

rm -f examples/quickstart-state.db*
echo "== first run: publishes the handbook =="
.venv/bin/syncd --log-level warning --config examples/quickstart.yaml sync
echo "== what a change would send: edit a page, then plan it =="
.venv/bin/syncd --log-level warning --config examples/quickstart.yaml sync --dry-run
echo "== second run: nothing changed, nothing sent =="
.venv/bin/syncd --log-level warning --config examples/quickstart.yaml sync
echo "== status =="
.venv/bin/syncd --log-level warning --config examples/quickstart.yaml status
