"""What this machine can run: memory, accelerator, and a fit badge per model.

On Apple silicon memory is unified: Metal may wire about three quarters of it,
so that is the budget a model (weights, KV cache, activations) has. Elsewhere
MLX runs on the CPU out of system memory, and is slow: bigger models fit but
are not recommended.
"""

from __future__ import annotations

import platform
from typing import Literal

import msgspec
import psutil

Badge = Literal["recommended", "compatible", "not recommended"]

_GB = 1e9
# MLX on a CPU decodes ~7 tok/s for a 135M model here; beyond this size it is too slow to recommend.
_CPU_RECOMMENDED_MAX_B = 2.0


class SystemInfo(msgspec.Struct, frozen=True, kw_only=True):
    os: str
    machine: str
    cpu_cores: int
    total_memory_gb: float
    available_memory_gb: float
    unified_memory: bool
    """Apple silicon: the GPU shares system memory."""
    accelerator: str
    """``metal``, ``cuda`` or ``cpu`` (what MLX will run on)."""
    model_budget_gb: float
    """How much memory a model may use here."""


def detect_system() -> SystemInfo:
    """Facts about this machine (psutil, platform, MLX's device probes)."""
    vm = psutil.virtual_memory()
    apple = platform.system() == "Darwin" and platform.machine() == "arm64"
    accelerator = "cpu"
    try:
        import mlx.core as mx

        if mx.metal.is_available():
            accelerator = "metal"
        elif hasattr(mx, "cuda") and mx.cuda.is_available():
            accelerator = "cuda"
    except (ImportError, AttributeError, RuntimeError):
        pass
    total, available = vm.total / _GB, vm.available / _GB
    budget = total * 0.75 if apple else available * 0.9
    return SystemInfo(
        os=platform.system(),
        machine=platform.machine(),
        cpu_cores=psutil.cpu_count() or 1,
        total_memory_gb=round(total, 1),
        available_memory_gb=round(available, 1),
        unified_memory=apple,
        accelerator=accelerator,
        model_budget_gb=round(budget, 1),
    )


class Fit(msgspec.Struct, frozen=True, kw_only=True):
    badge: Badge
    needed_gb: float
    budget_gb: float
    reason: str


def fit(memory_gb: float, parameters_b: float, system: SystemInfo) -> Fit:
    """The badge for a model needing ``memory_gb`` on ``system``, with the numbers behind it."""
    budget = system.model_budget_gb
    if memory_gb > budget:
        return Fit(
            badge="not recommended",
            needed_gb=memory_gb,
            budget_gb=budget,
            reason=f"needs {memory_gb:.1f} GB, more than the {budget:.1f} GB a model can use here",
        )
    if system.accelerator == "cpu" and parameters_b > _CPU_RECOMMENDED_MAX_B:
        return Fit(
            badge="compatible",
            needed_gb=memory_gb,
            budget_gb=budget,
            reason=f"fits ({memory_gb:.1f} of {budget:.1f} GB) but runs on the CPU here: slow above"
            f" {_CPU_RECOMMENDED_MAX_B:g}B parameters",
        )
    if memory_gb > budget / 2:
        return Fit(
            badge="compatible",
            needed_gb=memory_gb,
            budget_gb=budget,
            reason=f"fits ({memory_gb:.1f} of {budget:.1f} GB), leaving little for other apps",
        )
    return Fit(
        badge="recommended",
        needed_gb=memory_gb,
        budget_gb=budget,
        reason=f"fits with room to spare ({memory_gb:.1f} of {budget:.1f} GB)",
    )
