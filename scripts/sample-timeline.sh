#!/usr/bin/env bash
# Print what the README's sample shows: the installer's sample task, run on a fresh data dir
# (so the default model's one-time conversion is part of it) with the default model, exactly
# as `greenroom run` prints it. Regenerate the README's block with it; never write it by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
read -ra greenroom <<< "${GREENROOM:-.venv/bin/greenroom}"  # e.g. GREENROOM="python -m greenroom"
tmp=$(mktemp -d /tmp/gr-sample-XXXXXX)
touch "$tmp/config.toml"
g() { "${greenroom[@]}" --config "$tmp/config.toml" --data-dir "$tmp/data" --runtime-dir "$tmp/run" "$@"; }
trap 'g stop >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
g run "What is the capital of France?" | grep -v '^starting greenroom daemon'
