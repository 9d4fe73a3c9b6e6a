"""Model backends: local models on MLX or PyTorch, a scripted backend for tests, the offline default.

Names load lazily (``greenroom._lazy``): the config reads ``models.settings`` alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from greenroom._lazy import lazy_exports

if TYPE_CHECKING:
    from greenroom.models.backend import (
        Backend,
        GenerationCancelled,
        GenerationRequest,
        LoadProgress,
        Message,
        ModelError,
        ProgressFn,
        Usage,
    )
    from greenroom.models.default_model import DEFAULT_MODEL, embedded_gguf, ensure_default_model
    from greenroom.models.local_backend import LocalBackend
    from greenroom.models.mlx_backend import MlxBackend
    from greenroom.models.scripted import ScriptedBackend
    from greenroom.models.select import choose_runtime, local_backend
    from greenroom.models.settings import LlmConfig
    from greenroom.models.torch_backend import TorchBackend

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        **dict.fromkeys(
            (
                "Backend",
                "GenerationCancelled",
                "GenerationRequest",
                "LoadProgress",
                "Message",
                "ModelError",
                "ProgressFn",
                "Usage",
            ),
            "backend",
        ),
        **dict.fromkeys(("DEFAULT_MODEL", "embedded_gguf", "ensure_default_model"), "default_model"),
        "LocalBackend": "local_backend",
        "MlxBackend": "mlx_backend",
        "ScriptedBackend": "scripted",
        **dict.fromkeys(("choose_runtime", "local_backend"), "select"),
        "LlmConfig": "settings",
        "TorchBackend": "torch_backend",
    },
)
