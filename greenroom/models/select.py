"""Which runtime runs a local model: MLX on Apple silicon, PyTorch on other CPUs.

``llm.runtime = "auto"`` picks by measurement (``bench/cpu_paths.py``, numbers
in docs/design.md): MLX is the native, fastest path on Apple silicon; on a
Linux CPU, PyTorch runs the embedded default many times faster than
``mlx[cpu]``. Models PyTorch cannot load as they are (MLX-quantized
mlx-community builds, vision models, hub ids not yet on disk) stay on MLX.
"""

from __future__ import annotations

import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from greenroom.models.local_backend import Engine, LocalBackend
from greenroom.models.torch_backend import Quantize, torch_can_load, weights_factor

RuntimeSetting = Literal["auto", "mlx", "torch"]


def apple_silicon(system: str | None = None, machine: str | None = None) -> bool:
    return (system or sys.platform) == "darwin" and (machine or platform.machine()) == "arm64"


def choose_runtime(
    setting: RuntimeSetting, target: str | Path, *, apple: bool | None = None
) -> Literal["mlx", "torch"]:
    """The runtime for ``target`` (a resolved model folder or hub id) under ``setting``."""
    if setting != "auto":
        return setting
    if apple_silicon() if apple is None else apple:
        return "mlx"
    return "torch" if torch_can_load(target) else "mlx"


def local_backend(
    resolve: Callable[..., str | Path],
    name: str,
    *,
    runtime: RuntimeSetting = "auto",
    quantize: Quantize = "none",
    threads: int = 0,
    decode_threads: int = 1,
    fast_forward: bool = True,
    keep_alive_s: float = 600.0,
    allow_oversize: bool = False,
    clock: Callable[[], float] = time.monotonic,
    available_memory: Callable[[], int] | None = None,
) -> LocalBackend:
    """A :class:`LocalBackend` whose runtime is chosen when the model loads (its folder is known then)."""

    def load(target: str | Path) -> Engine:
        if choose_runtime(runtime, target) == "torch":
            from greenroom.models.torch_backend import TorchEngine

            return TorchEngine(
                target, quantize=quantize, threads=threads or None, decode_threads=decode_threads or None
            )
        from greenroom.models.mlx_backend import MlxEngine

        return MlxEngine(target)

    def memory_factor(folder: Path) -> float:
        return weights_factor(folder) if choose_runtime(runtime, folder) == "torch" else 1.0

    return LocalBackend(
        resolve,
        name,
        load_engine=load,
        memory_factor=memory_factor,
        fast_forward=fast_forward,
        keep_alive_s=keep_alive_s,
        allow_oversize=allow_oversize,
        clock=clock,
        available_memory=available_memory,
    )
