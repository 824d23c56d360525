#!/bin/sh
# Write the constraints every install of tradewire uses: requirements.txt (the versions the
# test suite was run with) without its editable line, which pip refuses in a constraints
# file. scripts/bootstrap.sh (./run.sh, ./test.sh) and the Dockerfile both call this, so the
# image and the two commands install the same pins.
# Usage: scripts/constraints.sh REQUIREMENTS OUT
set -eu
grep -v '^-e' "$1" > "$2"
