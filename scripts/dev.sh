#!/usr/bin/env bash
# twitchscope developer entry point: sets up .venv when missing, then runs a job.
#
#   bash scripts/dev.sh run    # the main job (see README)
#   bash scripts/dev.sh test   # lint, type-check and the test suite
#   bash scripts/dev.sh setup  # only create/update .venv
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
venv="$root/.venv"
py="$venv/bin/python"

setup() {
  local extras="$1"
  if [ ! -x "$py" ]; then
    echo "dev.sh: creating $venv" >&2
    python3 -m venv "$venv"
  fi
  if [ ! -x "$venv/bin/uv" ]; then
    "$py" -m pip install --quiet --disable-pip-version-check uv
  fi
  # --compile-bytecode: PYTHONDONTWRITEBYTECODE may be set, and imports are 2x slower without .pyc
  "$venv/bin/uv" pip install --quiet --python "$py" --compile-bytecode -e ".[$extras]"
}

cmd="${1:-run}"
shift || true
case "$cmd" in
  setup)
    setup dev
    ;;
  test)
    setup dev
    echo "== ruff" >&2
    "$venv/bin/ruff" check .
    "$venv/bin/ruff" format --check .
    echo "== mypy" >&2
    PYTHON="$py" bash scripts/typecheck.sh
    echo "== pytest" >&2
    PATH="$venv/bin:$PATH" "$venv/bin/pytest" "$@"
    ;;
  run)
    setup dev
    PATH="$venv/bin:$PATH" exec bash scripts/demo.sh "$@"
    ;;
  *)
    echo "usage: bash scripts/dev.sh [run|test|setup] [args...]" >&2
    exit 2
    ;;
esac
