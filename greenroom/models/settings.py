"""Model settings (part of the daemon's config)."""

from __future__ import annotations

from typing import Literal

import msgspec


class RemoteModel(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A model served by an OpenAI-compatible server, usable by ``name`` wherever a model is named."""

    name: str
    base_url: str
    """The API root, e.g. ``http://127.0.0.1:11434/v1`` (Ollama), ``http://127.0.0.1:1234/v1`` (LM Studio)."""
    model: str = ""
    """The server's model name (default: ``name``)."""
    api_key: str = ""


class LlmConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    backend: Literal["mlx", "scripted", "openai"] = "mlx"
    """``openai``: any OpenAI-compatible server (Ollama, LM Studio, llama.cpp, vLLM, hosted APIs)."""
    model: str = "smollm2-135m"
    """``smollm2-135m`` (the embedded offline default), a local mlx-lm folder or a hub repo;
    for ``openai``, the server's model name."""
    base_url: str = ""
    """For ``openai``: the API root, e.g. ``http://127.0.0.1:11434/v1`` (Ollama)."""
    api_key: str = ""
    """For ``openai``: sent as a bearer token (hosted APIs)."""
    vision_model: str = ""
    """A vision model (mlx-vlm) for messages with images when the main model cannot see;
    a main model that can see (its config has a vision tower) handles them itself."""
    remotes: list[RemoteModel] = []
    """``[[llm.remotes]]`` tables: models on OpenAI-compatible servers, each with its own backend
    settings. ``llm.model``, ``llm.fallback`` and ``greenroom models load`` accept their names."""
    fallback: list[str] = []
    """Models tried in order when the primary fails (local models or remote names), e.g. ``["smollm2-135m"]``."""
    script: str = ""
    """For the scripted backend: a JSON file of canned responses (tests, demos)."""
    keep_alive_s: float = 600.0
    """A model unused this long is unloaded (the next request loads it again)."""
    max_resident_models: int = 1
    """Models kept in memory at once; loading one more unloads the least recently used."""
    allow_oversize: bool = False
    """Load a model even when the memory guard says it will not fit."""
    max_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    runtime: Literal["auto", "mlx", "torch"] = "auto"
    """Where local models run. ``auto``: MLX on Apple silicon; elsewhere PyTorch for Hugging Face
    checkpoints (the embedded default included) and MLX for MLX-quantized or vision models."""
    quantize: Literal["none", "int8"] = "none"
    """PyTorch only: ``none`` runs the weights in fp32 (exact); ``int8`` quantizes the linear layers dynamically,
    per output channel: 1.3-2x faster here, but the output changes (docs/design.md)."""
    threads: int = 0
    """PyTorch only: intra-op threads for prompt processing (process-wide: embeddings too); 0: one per core."""
    decode_threads: int = 1
    """PyTorch only: intra-op threads while decoding; 1 is fastest on a shared 2-core machine (docs/design.md)."""
    fast_forward: bool = True
    """Emit the tokens a JSON Schema forces without sampling them (fed to the model in one pass)."""
    load_at_start: bool = False
    """Load the active model when the daemon starts (in the background) instead of at its first use."""
    context_window: int = 0
    """Prompt plus answer tokens the model takes; 0: the model's own (its parameters, catalog entry or config).
    Chat turns that do not fit are summarised."""

    def __post_init__(self) -> None:
        if self.backend == "openai" and not self.base_url:
            raise ValueError("llm.base_url is required with llm.backend = 'openai'")
        if self.temperature < 0:
            raise ValueError(f"llm.temperature must not be negative, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"llm.top_p must be in (0, 1], got {self.top_p}")
        names = [r.name for r in self.remotes]
        if len(set(names)) != len(names):
            raise ValueError("llm.remotes names must be unique")
        if self.threads < 0:
            raise ValueError(f"llm.threads must not be negative, got {self.threads}")
        if self.decode_threads < 0:
            raise ValueError(f"llm.decode_threads must not be negative, got {self.decode_threads}")
        if self.context_window < 0:
            raise ValueError(f"llm.context_window must not be negative, got {self.context_window}")
        if self.max_tokens < 1:
            raise ValueError(f"llm.max_tokens must be at least 1, got {self.max_tokens}")
