#!/usr/bin/env bash
# Builds, installs the local Prefect server if needed, and runs the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci
npm run build
bash scripts/prefect-venv.sh
exec node --import tsx scripts/demo.ts "$@"
