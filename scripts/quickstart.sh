#!/usr/bin/env bash
# Try syncd end to end without an Intercom account: installs syncd into .venv, starts the
# local Intercom stand-in (`syncd sandbox`), publishes a copy of the bundled example
# handbook, edits one page and shows the plan for it, syncs the edit, and runs once more to
# show that nothing unchanged is sent.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m venv .venv
.venv/bin/pip install --quiet --upgrade pip
.venv/bin/pip install --quiet -c constraints.txt -e .

work="$(mktemp -d)"
cp -r examples/handbook examples/quickstart.yaml "$work/"
config="$work/quickstart.yaml"

port="${SYNCD_SANDBOX_PORT:-8765}"
export SYNCD_SANDBOX_URL="http://127.0.0.1:${port}"
.venv/bin/syncd --log-level warning sandbox --port "$port" &
sandbox_pid=$!
trap 'kill "$sandbox_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 50); do
  .venv/bin/python -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" \
    2>/dev/null && break
  sleep 0.2
done

syncd() { .venv/bin/syncd --log-level warning --config "$config" "$@"; }

echo "== first run: publishes the handbook (the draft page is left out)"
syncd sync
echo
echo "== a page is edited; --dry-run shows what would be sent, and writes nothing"
printf '\nRefunds reach your card within 5 working days.\n' >> "$work/handbook/billing.md"
syncd sync --dry-run
echo
echo "== the edit is synced"
syncd sync
echo
echo "== nothing changed since: nothing is sent"
syncd sync
echo
echo "== status"
syncd status
