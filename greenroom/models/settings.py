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
    keep_alive_s: float = 600.0
    """A model unused this long is unloaded (the next request loads it again)."""
    allow_oversize: bool = False
    """Load a model even when the memory guard says it will not fit."""
    max_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
