"""The interface every text-generation backend implements."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any, Protocol

import msgspec


class ModelError(Exception):
    """A model could not be prepared, loaded or run."""


class GenerationCancelled(Exception):
    """Generation was stopped by its caller."""


class Message(msgspec.Struct, frozen=True):
    role: str
    content: str
    images: list[str] = []
    """Image files or URLs attached to this message (a vision model reads them)."""


class GenerationRequest(msgspec.Struct, frozen=True, kw_only=True):
    """What to generate.

    ``schema``, when set, is a JSON Schema the output must match: backends
    enforce it while decoding, so the text always parses.
    ``purpose`` names the call site (``plan``, ``step:2:round:1``, ...).
    """

    messages: list[Message]
    purpose: str = "chat"
    schema: dict[str, Any] | None = None
    max_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    top_k: int = 0
    """0: off."""
    repetition_penalty: float = 1.0
    """1.0: off."""
    context_window: int | None = None
    """Keep at most this many prompt tokens (the oldest go first); None: the whole prompt."""


class Usage(msgspec.Struct, kw_only=True):
    """What a generation cost; filled in by the backend as it streams."""

    model: str = ""
    prompt_tokens: int = 0
    generated_tokens: int = 0
    tokens_per_s: float = 0.0
    time_to_first_token_s: float = 0.0
    stop_reason: str = ""
    forced_tokens: int = 0
    """Of ``generated_tokens``, those a JSON Schema forced (emitted without sampling)."""


class LoadProgress(msgspec.Struct, frozen=True, kw_only=True):
    """How far a slow model preparation (the default model's one-time conversion) has got."""

    stage: str
    fraction: float
    """0 to 1."""
    elapsed_s: float
    eta_s: float | None = None
    """Seconds left, estimated from the pace so far (None until there is a pace)."""


ProgressFn = Callable[[LoadProgress], None]


class Backend(Protocol):
    """A text-generation backend.

    ``stream`` yields text pieces as they are decoded and fills ``usage``; it
    checks ``stop`` between tokens and raises ``GenerationCancelled`` when set.
    """

    name: str

    def stream(self, request: GenerationRequest, usage: Usage, stop: threading.Event) -> Iterator[str]: ...

    def close(self) -> None: ...
