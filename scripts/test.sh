#!/usr/bin/env bash
# Command 2 of the README: install what is needed, then lint, typecheck and run every test.
# The store tests start their own PostgreSQL from Debian's `postgresql` package.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "==> Building the web dashboard (served by the control plane at /)"
npm run --silent build:dashboard >/dev/null

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "==> Installing PostgreSQL (Debian package) for the store tests"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "PostgreSQL binaries not found: run 'sudo apt-get install -y postgresql' and retry." >&2
    exit 1
  fi
fi

# The dashboard's browser test drives Debian's Chromium (Playwright cannot download browsers here).
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "==> Installing Chromium (Debian package) for the dashboard's browser test"
  (apt-get install -y -qq chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; })
fi

npm run --silent check
# Property-based API testing against GET /v1/openapi.json (schemathesis from PyPI into .venv-schemathesis; ≈ 1 min).
bash scripts/schemathesis.sh
npm run --silent test:browser
# Chaos: random SIGKILLs of the control plane, of replicas (the leader too) and of agents (real Ray), invariants after every round (≈ 7–9 min).
npm run --silent test:chaos
