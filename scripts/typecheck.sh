#!/usr/bin/env bash
# mypy cannot follow setuptools' package-dir mapping, so type-check through a
# symlink tree that lays the three layer folders out as twitchscope/<layer>.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tree="$root/build/typecheck"
rm -rf "$tree" && mkdir -p "$tree/twitchscope"
for layer in acquisition signal dashboard; do
  ln -s "$root/$layer" "$tree/twitchscope/$layer"
done
cd "$tree"
exec "${PYTHON:-$root/.venv/bin/python}" -m mypy --config-file "$root/pyproject.toml" \
  -p twitchscope.signal -p twitchscope.acquisition -p twitchscope.dashboard "$@"
