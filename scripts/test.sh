#!/usr/bin/env bash
# Install what the tests need (system packages, then into ./.venv the dev, bench, vision and
# app extras) and run ruff, mypy and the whole suite. CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/test-deps.sh
bash scripts/install.sh --no-demo --dev --vision --app
# The MCP tests' npm servers, into ./.cache/mcp-npm (pinned; nothing global).
.venv/bin/python -m tests.tools.mcp.install_servers >/dev/null
.venv/bin/ruff check --quiet .
.venv/bin/mypy --no-error-summary greenroom
exec .venv/bin/python -m pytest -q "$@"
