#!/usr/bin/env bash
# Command 1 of the README: install what is needed, then run a local idlegrid network
# (control plane + 3 supplier agents) in the foreground, book a 2-node Ray cluster on it,
# run a Ray job there and release it; the network keeps running until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "==> Building the web dashboard (served by the control plane at /)"
npm run --silent build:dashboard >/dev/null
exec npx --no-install idlegrid up --workers "${WORKERS:-3}" --demo "$@"
