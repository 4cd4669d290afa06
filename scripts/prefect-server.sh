#!/usr/bin/env bash
# Runs the real Prefect server in the foreground on 127.0.0.1, under the same
# Cloud-shaped base path the tests use (test/support/prefect-server.ts), with a
# throw-away PREFECT_HOME. Once /health answers it prints the coordinates as
# KEY=value lines (and writes them to --ready-file if given); Ctrl-C or
# SIGTERM stops it and removes the home folder.
#
#   scripts/prefect-server.sh [--port N] [--ready-file PATH]
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${PREFECT_VENV:-$PWD/.venv-prefect}"
ACCOUNT_ID=11111111-1111-4111-8111-111111111111
WORKSPACE_ID=22222222-2222-4222-8222-222222222222
START_TIMEOUT_S=90
PORT=""
READY_FILE=""

while [ $# -gt 0 ]; do
  case "$1" in
    --port) PORT="$2"; shift 2 ;;
    --ready-file) READY_FILE="$2"; shift 2 ;;
    *) echo "usage: $0 [--port N] [--ready-file PATH]" >&2; exit 2 ;;
  esac
done

if [ ! -x "$VENV/bin/prefect" ]; then
  echo "Prefect is not installed in $VENV: run npm run prefect:setup" >&2
  exit 1
fi
PY="$VENV/bin/python"

if [ -z "$PORT" ]; then
  PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')
fi

HOME_DIR=$(mktemp -d "${TMPDIR:-/tmp}/naftiko-prefect-XXXXXX")
BASE_PATH="/api/accounts/$ACCOUNT_ID/workspaces/$WORKSPACE_ID"
ORIGIN="http://127.0.0.1:$PORT"
SERVER_PID=""

# Bounded stop: SIGTERM lets the server close its SQLite files, SIGKILL
# follows after 10 s; only then is its home deleted.
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 40); do
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.25
    done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$HOME_DIR"
  if [ -n "$READY_FILE" ]; then rm -f "$READY_FILE"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A developer's own PREFECT_* settings must not reach the server.
for name in $(compgen -e | grep '^PREFECT_' || true); do unset "$name"; done

export PREFECT_HOME="$HOME_DIR"
export PREFECT_SERVER_DATABASE_CONNECTION_URL="sqlite+aiosqlite:///$HOME_DIR/prefect.db"
export PREFECT_SERVER_API_HOST=127.0.0.1 PREFECT_SERVER_API_PORT="$PORT"
export PREFECT_SERVER_API_BASE_PATH="$BASE_PATH"
export PREFECT_API_URL="$ORIGIN$BASE_PATH"
export PREFECT_SERVER_ANALYTICS_ENABLED=false PREFECT_SERVER_UI_ENABLED=false
export PREFECT_SERVER_LOGGING_LEVEL=WARNING DO_NOT_TRACK=1 PYTHONUNBUFFERED=1

"$VENV/bin/prefect" server start --host 127.0.0.1 --port "$PORT" \
  --no-ui --no-services --analytics-off --no-prompt </dev/null &
SERVER_PID=$!

is_healthy() {
  "$PY" - "$PREFECT_API_URL/health" <<'PY' 2>/dev/null
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=2) as res:
    sys.exit(0 if res.status == 200 else 1)
PY
}

deadline=$((SECONDS + START_TIMEOUT_S))
until is_healthy; do
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "prefect server exited before it was healthy" >&2
    exit 1
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "prefect server not healthy at $PREFECT_API_URL/health after ${START_TIMEOUT_S}s" >&2
    exit 1
  fi
  sleep 0.5
done

COORDS="PREFECT_ORIGIN=$ORIGIN
PREFECT_API_URL=$PREFECT_API_URL
PREFECT_BASE_PATH=$BASE_PATH
PREFECT_ACCOUNT_ID=$ACCOUNT_ID
PREFECT_WORKSPACE_ID=$WORKSPACE_ID
PREFECT_SERVER_PID=$SERVER_PID"
echo "$COORDS"
if [ -n "$READY_FILE" ]; then
  printf '%s\n' "$COORDS" >"$READY_FILE.tmp" && mv "$READY_FILE.tmp" "$READY_FILE"
fi

wait "$SERVER_PID"
