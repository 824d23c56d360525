#!/usr/bin/env bash
# Create or refresh the project's virtual environment in .venv.
# Usage: scripts/bootstrap.sh [EXTRA]   (EXTRA e.g. "test"; empty for the runtime only)
# Re-installs only when pyproject.toml or the requested extra changed, so repeated runs are fast.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
extra="${1:-}"
py="${PYTHON:-python3}"
if ! "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "tradewire needs Python >= 3.11 (found: $("$py" --version 2>&1))" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv" >&2
  "$py" -m venv .venv
fi
stamp=".venv/.tradewire-installed"
# The native order path's C source and its build script count too: a change rebuilds it.
want="$(cat pyproject.toml requirements.txt setup.py src/tradewire/engine/native/_orderpath.c \
  | sha256sum | cut -c1-16)-${extra}"
have="$(cat "$stamp" 2>/dev/null || true)"
# An install for "test" also satisfies a runtime-only request.
if [ "$have" != "$want" ] && ! { [ -z "$extra" ] && [ "${have%-*}" = "${want%-*}" ]; }; then
  echo "bootstrap: installing tradewire${extra:+[$extra]} into .venv" >&2
  .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null
  # The versions the suite was tested with (requirements.txt) pin every dependency; the
  # Dockerfile makes its constraints with the same script.
  sh scripts/constraints.sh requirements.txt .venv/constraints.txt
  .venv/bin/python -m pip install -q --disable-pip-version-check \
    -c .venv/constraints.txt -e ".${extra:+[$extra]}"
  echo "$want" > "$stamp"
fi
