#!/usr/bin/env bash
# Installs what idlegrid needs on a fresh machine: Node dependencies (with the native
# SQLite build). Safe to run again; it only installs what is missing or out of date.
set -euo pipefail
cd "$(dirname "$0")/.."

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "idlegrid needs Node.js 20 or newer (found: $(node --version 2>/dev/null || echo none))." >&2
  exit 1
fi

stamp=node_modules/.idlegrid-install-stamp
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ] || [ package.json -nt "$stamp" ]; then
  echo "==> Installing Node dependencies (first run builds SQLite; a minute or two)"
  npm ci --no-audit --no-fund --loglevel=error 2>&1 | grep -v 'Unknown user config' || true
  test -d node_modules/better-sqlite3 || { echo "npm ci failed" >&2; exit 1; }
  touch "$stamp"
fi

# bubblewrap: the sandbox agents run buyers' Ray processes in (see apps/agent/README.md).
if ! command -v bwrap >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "==> Installing bubblewrap (the agents' sandbox for buyers' code)"
    (apt-get install -y -qq bubblewrap >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq bubblewrap >/dev/null; })
  else
    echo "Note: bubblewrap (bwrap) is not installed; agents need it, or root for a sandbox user, or IDLEGRID_SANDBOX=none (unsafe)." >&2
  fi
fi

# Ray for the supplier agents (a private venv, pinned in packages/ray/requirements.txt).
echo "==> Checking Ray (first run installs ray[default] into .venv-ray; a few minutes)"
bash scripts/setup-ray.sh
