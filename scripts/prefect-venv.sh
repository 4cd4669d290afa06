#!/usr/bin/env bash
# Creates .venv-prefect with the real Prefect server, the upstream our end-to-end
# tests run against. Idempotent: a venv that already has a matching prefect is kept.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${PREFECT_VENV:-$PWD/.venv-prefect}"
SPEC='prefect>=3.7.1,<4'

if [ -x "$VENV/bin/prefect" ] && "$VENV/bin/python" - <<'PY' 2>/dev/null
import importlib.metadata as m, sys
v = tuple(int(x) for x in m.version("prefect").split(".")[:2])
sys.exit(0 if (3, 7) <= v < (4, 0) else 1)
PY
then
  echo "prefect venv ready: $("$VENV/bin/prefect" --version 2>/dev/null | tail -n 1)"
  exit 0
fi

PY="${PYTHON:-python3}"
"$PY" -c 'import sys; assert (3, 10) <= sys.version_info[:2] < (3, 15), sys.version' \
  || { echo "prefect needs Python 3.10 to 3.14; set PYTHON" >&2; exit 1; }
"$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet "$SPEC"
echo "prefect venv ready: $("$VENV/bin/prefect" --version 2>/dev/null | tail -n 1)"
