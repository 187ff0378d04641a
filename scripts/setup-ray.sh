#!/usr/bin/env bash
# Installs Ray for idlegrid nodes into a private Python virtual environment.
#   venv:     $IDLEGRID_RAY_VENV, default <repo>/.venv-ray
#   version:  packages/ray/requirements.txt (the one place Ray is pinned)
#   python:   $IDLEGRID_PYTHON, else the first of python3, python that is 3.10 or newer
# Idempotent: when the venv was built from the same requirements.txt (a stamp holds its
# sha256) and still has `ray`, it does nothing. A failed install leaves no stamp, so the
# next run tries again. Concurrent runs wait for each other (flock).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
venv="${IDLEGRID_RAY_VENV:-$root/.venv-ray}"
req="$root/packages/ray/requirements.txt"
stamp="$venv/.idlegrid-ray-stamp"

[ -f "$req" ] || { echo "setup-ray: missing $req" >&2; exit 1; }
want_hash=$(sha256sum "$req" | cut -d' ' -f1)

up_to_date() {
  [ -x "$venv/bin/ray" ] && [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want_hash" ]
}

if up_to_date; then
  echo "setup-ray: Ray already installed in $venv"
  exit 0
fi

mkdir -p "$venv"
if command -v flock >/dev/null; then
  exec 9>"$venv/.idlegrid-setup.lock"
  flock 9
  if up_to_date; then
    echo "setup-ray: Ray already installed in $venv"
    exit 0
  fi
fi

pick_python() {
  local candidates
  if [ -n "${IDLEGRID_PYTHON:-}" ]; then candidates=("$IDLEGRID_PYTHON"); else candidates=(python3 python); fi
  for py in "${candidates[@]}"; do
    if command -v "$py" >/dev/null 2>&1 &&
      "$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' 2>/dev/null; then
      echo "$py"
      return 0
    fi
  done
  return 1
}

if [ ! -x "$venv/bin/python" ]; then
  if ! py=$(pick_python); then
    if [ -n "${IDLEGRID_PYTHON:-}" ]; then
      found=$("$IDLEGRID_PYTHON" --version 2>&1 | head -n 1 || true)
      found="IDLEGRID_PYTHON=$IDLEGRID_PYTHON: ${found:-not runnable}"
    else
      found=$( (python3 --version || python --version) 2>&1 | head -n 1 || true)
    fi
    echo "setup-ray: Ray needs Python 3.10 or newer (found: ${found:-no python3}). Install one (e.g. 'apt-get install python3 python3-venv') or point IDLEGRID_PYTHON at it." >&2
    exit 1
  fi
  echo "==> Creating the Ray virtual environment $venv with $("$py" --version 2>&1)"
  if ! "$py" -m venv "$venv"; then
    echo "setup-ray: '$py -m venv' failed; on Debian/Ubuntu install python3-venv." >&2
    exit 1
  fi
fi

echo "==> Installing $(grep -v '^#' "$req" | tr '\n' ' ')into $venv (a few minutes, about 400 MB)"
"$venv/bin/python" -m pip install --disable-pip-version-check --no-input --quiet -r "$req"
"$venv/bin/ray" --version
echo "$want_hash" >"$stamp"
echo "setup-ray: done"
