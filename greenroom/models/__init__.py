"""Model backends: mlx-lm (text), a scripted backend for tests, the offline default."""

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
from greenroom.models.mlx_backend import MlxBackend
from greenroom.models.scripted import ScriptedBackend
from greenroom.models.settings import LlmConfig

__all__ = [
    "DEFAULT_MODEL",
    "Backend",
    "GenerationCancelled",
    "GenerationRequest",
    "LlmConfig",
    "Message",
    "MlxBackend",
    "ModelError",
    "ScriptedBackend",
    "Usage",
    "embedded_gguf",
    "ensure_default_model",
]
