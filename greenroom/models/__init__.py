"""Model backends: local models on MLX or PyTorch, a scripted backend for tests, the offline default."""

from __future__ import annotations

from greenroom.models.backend import (
    Backend,
    GenerationCancelled,
    GenerationRequest,
    Message,
    ModelError,
    Usage,
)
from greenroom.models.default_model import DEFAULT_MODEL, embedded_gguf, ensure_default_model
from greenroom.models.local_backend import LocalBackend
from greenroom.models.mlx_backend import MlxBackend
from greenroom.models.scripted import ScriptedBackend
from greenroom.models.select import choose_runtime, local_backend
from greenroom.models.settings import LlmConfig
from greenroom.models.torch_backend import TorchBackend

__all__ = [
    "DEFAULT_MODEL",
    "Backend",
    "GenerationCancelled",
    "GenerationRequest",
    "LlmConfig",
    "LocalBackend",
    "Message",
    "MlxBackend",
    "ModelError",
    "ScriptedBackend",
    "TorchBackend",
    "Usage",
    "choose_runtime",
    "embedded_gguf",
    "ensure_default_model",
    "local_backend",
]
