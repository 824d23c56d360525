#!/usr/bin/env bash
# The main job: set up .venv if needed, then `tradewire run`.
# With no keys in the environment or .env it trades the sample strategy against the local
# venue simulator and shows live figures. Extra arguments go to `tradewire run`.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$here/scripts/bootstrap.sh"
# The project's config, whatever folder this is started from; --config still overrides it.
export TRADEWIRE_CONFIG="${TRADEWIRE_CONFIG:-$here/config/trading_apis.yaml}"
exec "$here/.venv/bin/tradewire" run "$@"
