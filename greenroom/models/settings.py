"""Model settings (part of the daemon's config)."""

from __future__ import annotations

from typing import Literal

import msgspec


class LlmConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    backend: Literal["mlx", "scripted"] = "mlx"
    model: str = "smollm2-135m"
    """``smollm2-135m`` (the embedded offline default), a local mlx-lm folder or a hub repo."""
    script: str = ""
    """For the scripted backend: a JSON file of canned responses (tests, demos)."""
    max_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
