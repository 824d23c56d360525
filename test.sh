#!/usr/bin/env bash
# The whole test suite: set up .venv with the test extra, lint, type-check, check the
# sans-I/O import contract, then run pytest. Extra arguments go to pytest.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
scripts/bootstrap.sh test
export PATH="$here/.venv/bin:$PATH"
# One command per line: under `set -e` a failure inside an `a && b` list does not stop the
# script (only the list's last command counts), and a lint error must fail the suite.
echo "== ruff"
ruff check src tests
ruff format --check src tests
echo "== mypy"
mypy
echo "== import-linter"
lint-imports
# The metrics test scrapes with a real Prometheus server (Debian's package). Under CI a
# missing binary is an error; elsewhere the test explains how to get it and skips.
scripts/ensure-prometheus.sh || [ -z "${CI:-}" ]
echo "== pytest" && exec pytest "$@"
