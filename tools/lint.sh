#!/usr/bin/env bash
# The linters CI runs before the tests (settings in setup.cfg): flake8, isort, yapf.
#   bash tools/lint.sh          check only (exit 1 on any finding)
#   bash tools/lint.sh --fix    sort imports and format in place, then check
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
py="${PYTHON:-.venv/bin/python}"
paths=(mmdla tools tests configs demo setup.py)
if [ "${1:-}" = "--fix" ]; then
  "$py" -m isort "${paths[@]}"
  "$py" -m yapf -i -r "${paths[@]}"
fi
"$py" -m flake8 "${paths[@]}"
"$py" -m isort --check-only --diff "${paths[@]}"
"$py" -m yapf --diff -r "${paths[@]}"
echo "lint: flake8, isort and yapf clean"
