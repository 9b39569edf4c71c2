#!/usr/bin/env bash
# Try syncd end to end without an Intercom account: installs syncd into .venv, starts the
# local Intercom stand-in (`syncd sandbox`), publishes a copy of the bundled example
# handbook, edits one page and shows the plan for it, syncs the edit, and runs once more to
# show that nothing unchanged is sent. The sandbox takes a free port; set SYNCD_SANDBOX_PORT
# to choose one.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m venv .venv
.venv/bin/pip install --quiet --upgrade pip
.venv/bin/pip install --quiet -c constraints.txt -e .

work="$(mktemp -d)"
cp -r examples/handbook examples/quickstart.yaml "$work/"
config="$work/quickstart.yaml"

# The sandbox takes a free port unless SYNCD_SANDBOX_PORT names one. It announces its URL
# only once it listens, and accepts only this run's token: whatever else answers on a port,
# syncd below talks to the sandbox started here, or not at all.
token="quickstart-$$-$RANDOM"
sandbox_log="$work/sandbox.log"
.venv/bin/syncd --log-level warning sandbox --port "${SYNCD_SANDBOX_PORT:-0}" \
  --token "$token" 2>"$sandbox_log" &
sandbox_pid=$!
trap 'kill "$sandbox_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
url=""
for _ in $(seq 300); do
  url="$(sed -n 's/^sandbox listening on \(http:[^ ]*\).*/\1/p' "$sandbox_log")"
  [ -n "$url" ] && break
  if ! kill -0 "$sandbox_pid" 2>/dev/null; then
    cat "$sandbox_log" >&2
    echo "quickstart: the sandbox did not start; set SYNCD_SANDBOX_PORT to a free port," \
      "or leave it unset to take any free port" >&2
    exit 1
  fi
  sleep 0.1
done
if [ -z "$url" ]; then
  cat "$sandbox_log" >&2
  echo "quickstart: the sandbox did not announce itself within 30 s" >&2
  exit 1
fi
export SYNCD_SANDBOX_URL="$url" INTERCOM_ACCESS_TOKEN="$token"
echo "== the local Intercom stand-in listens on $url (SYNCD_SANDBOX_PORT=PORT chooses the port)"
echo

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
