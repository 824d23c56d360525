#!/usr/bin/env bash
# The main job: set up .venv if needed, then `tradewire run`.
# With no keys in the environment or .env it trades the sample strategy against the local
# venue simulator and shows live figures. Extra arguments go to `tradewire run`.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$here/scripts/bootstrap.sh"
# The project's config, whatever folder this is started from; --config still overrides it.
export TRADEWIRE_CONFIG="${TRADEWIRE_CONFIG:-$here/config/trading_apis.yaml}"
for arg in "$@"; do
  if [ "$arg" = "--help" ] || [ "$arg" = "-h" ]; then
    # The README's other commands live in the same .venv, which is not on PATH.
    echo "run.sh: sets up $here/.venv, then runs 'tradewire run' with these arguments."
    echo "For the other commands (tradewire sim, record, backtest, kill, ...) run"
    echo "  source $here/.venv/bin/activate"
    echo "once in your shell, then e.g. 'tradewire --help' (or call $here/.venv/bin/tradewire)."
    echo
    break
  fi
done
exec "$here/.venv/bin/tradewire" run "$@"
