"""Local text generation on any runtime: lazy load, memory guard, idle unload, prompt caches, streaming.

:class:`LocalBackend` is the ``Backend`` for models that run in the daemon. The
model-specific part is an :class:`Engine` (``mlx_backend.MlxEngine``,
``torch_backend.TorchEngine``): it loads a folder and runs forward passes over
a KV cache. Everything else (chat templates, KV-cache reuse across prompts,
sampling, JSON-Schema constraints with fast-forward, cancellation, usage) is
shared, so the runtimes behave alike and are chosen by speed alone. An engine
with a loop of its own (MLX: mlx-lm's, sampled on the device one pass ahead)
generates unconstrained output after the first token; greedy, it emits the same
tokens.
"""

from __future__ import annotations

import functools
import inspect
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import structlog

from greenroom.models.backend import GenerationCancelled, GenerationRequest, ModelError, ProgressFn, Usage
from greenroom.models.decoding import DecodeStats, Detokenizer, Sampling, decode, decode_pipelined

log = structlog.get_logger(__name__)

MAX_CACHES = 3
MIN_REUSE_TOKENS = 16


class Engine(Protocol):
    """A loaded model on one runtime."""

    runtime: str
    """``mlx`` or ``torch``: shown in logs and benchmarks."""
    prefill_chunk: int
    """Prompt tokens per forward pass: ``stop`` is checked between chunks."""
    tokenizer: Any
    """A Hugging Face tokenizer (chat template, decode, llguidance's vocabulary)."""
    eos: set[int]

    def new_cache(self) -> Any: ...

    def forward(self, cache: Any, tokens: list[int]) -> Any:
        """Run ``tokens`` through the model, appending them to ``cache``; the last position's logits."""
        ...

    def trim(self, cache: Any, n: int) -> bool:
        """Drop the last ``n`` tokens from ``cache``; False if this cache cannot be trimmed."""
        ...

    def cache_length(self, cache: Any) -> int: ...

    # An engine may also have ``pipelined(cache, tokens, recent, sampling, max_tokens)``, its own
    # sampling loop (``decoding.Pipelined``): unconstrained generation then runs on it.


EngineLoader = Callable[[Path | str], Engine]


class PromptCache:
    """A KV cache and the tokens it holds."""

    def __init__(self, cache: Any) -> None:
        self.cache = cache
        self.tokens: list[int] = []


def common_prefix(a: list[int], b: list[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def _available_memory() -> int:
    import psutil

    return int(psutil.virtual_memory().available)


class LocalBackend:
    """A model run in this process, loaded on first use.

    Keeps a few KV caches of recent prompts: the agent loop's prompts share long
    prefixes (each call site has a fixed system prompt), so a new prompt only
    pays for the tokens after the longest shared prefix.

    Args:
        resolve: returns the local model folder (or hub repo id) to load; called
            on first use, so a slow preparation (the default model's one-time
            conversion) happens lazily, off the daemon's start-up path. If it takes
            a ``progress`` keyword, ``load``'s progress callback is passed on.
        name: shown in usage and events.
        load_engine: loads the resolved target on the chosen runtime.
        memory_factor: bytes in memory per byte of weights on disk (a runtime
            that widens bf16 to fp32 needs 2).
        fast_forward: emit tokens a schema forces without sampling them (see ``decoding.decode``).
        keep_alive_s: ``unload_if_idle`` unloads the model after this long unused.
        allow_oversize: load even when the memory guard says it will not fit.
        clock: monotonic seconds (injectable for tests).
        available_memory: bytes of memory available now (injectable for tests).
    """

    def __init__(
        self,
        resolve: Callable[..., str | Path],
        name: str,
        *,
        load_engine: EngineLoader,
        memory_factor: Callable[[Path], float] = lambda _: 1.0,
        fast_forward: bool = True,
        keep_alive_s: float = 600.0,
        allow_oversize: bool = False,
        clock: Callable[[], float] = time.monotonic,
        available_memory: Callable[[], int] | None = None,
    ) -> None:
        self.name = name
        self._resolve = resolve
        self._resolve_reports = "progress" in inspect.signature(resolve).parameters
        self._load_engine = load_engine
        self._memory_factor = memory_factor
        self.fast_forward = fast_forward
        self._engine: Engine | None = None
        self._ll_tokenizer: Any = None
        self._lock = threading.Lock()
        self._caches: list[PromptCache] = []
        self.keep_alive_s = keep_alive_s
        self.allow_oversize = allow_oversize
        self._clock = clock
        self._available = available_memory or _available_memory
        self.last_used = clock()
        self.last_load_s = 0.0
        self.last_stats = DecodeStats()
        """What the last generation sampled, forced and ran (benchmarks read it)."""

    @property
    def loaded(self) -> bool:
        return self._engine is not None

    @property
    def runtime(self) -> str:
        """The loaded engine's runtime, or ``""`` before the first load."""
        return self._engine.runtime if self._engine is not None else ""

    def load(self, progress: ProgressFn | None = None) -> None:
        """Load the model now (idempotent).

        Args:
            progress: receives reports while the model is prepared first (the default
                model's one-time conversion), when ``resolve`` takes a ``progress`` argument.
        """
        with self._lock:
            if self._engine is not None:
                return
            target = self._resolve(progress=progress) if self._resolve_reports else self._resolve()
            self._check_fits(target)
            started = time.perf_counter()
            try:
                self._engine = self._load_engine(target)
            except ModelError:
                raise
            except Exception as exc:  # format, disk and hub errors all mean "cannot load"
                raise ModelError(f"cannot load model {self.name} from {target}: {exc}") from exc
            self.last_load_s = time.perf_counter() - started
            self.last_used = self._clock()
            log.info("model_loaded", model=self.name, runtime=self.runtime, seconds=round(self.last_load_s, 2))

    def _check_fits(self, target: str | Path) -> None:
        """The memory guard: refuse a local model whose weights will not fit in available memory.

        Raises:
            ModelError: with the numbers, unless ``allow_oversize``.
        """
        folder = Path(target)
        if self.allow_oversize or not folder.is_dir():
            return  # a hub repo id: its size is known only once downloaded
        weights = int(sum(f.stat().st_size for f in folder.glob("*.safetensors")) * self._memory_factor(folder))
        needed = int(weights * 1.2)  # weights plus activations and KV cache headroom
        available = self._available()
        if needed > available:
            raise ModelError(
                f"model {self.name} needs about {needed / 2**20:,.0f} MiB ({weights / 2**20:,.0f} MiB of weights"
                f" in memory + 20%) but only {available / 2**20:,.0f} MiB is available; free memory, pick a smaller"
                " model, or set llm.allow_oversize = true"
            )

    def unload(self) -> bool:
        """Drop the model from memory; False if it was not loaded."""
        with self._lock:
            if self._engine is None:
                return False
            self._caches.clear()
            self._engine = self._ll_tokenizer = None
        import gc

        gc.collect()
        log.info("model_unloaded", model=self.name)
        return True

    def unload_if_idle(self) -> bool:
        """Unload when unused for ``keep_alive_s``; True if it did."""
        if self._engine is None or self._clock() - self.last_used < self.keep_alive_s:
            return False
        return self.unload()

    def _constraint_for(self, engine: Engine, schema: dict[str, Any]) -> Any:
        from greenroom.models.constrained import JsonSchemaConstraint, tokenizer_for

        if self._ll_tokenizer is None:
            self._ll_tokenizer = tokenizer_for(engine.tokenizer)
        return JsonSchemaConstraint(self._ll_tokenizer, schema)

    def prompt_for(self, request: GenerationRequest) -> list[int]:
        """The token ids of ``request``'s messages under the model's chat template."""
        self.load()
        assert self._engine is not None
        return prompt_ids(self._engine.tokenizer, request)

    def count_tokens(self, text: str) -> int | None:
        """Tokens of ``text`` under this model's tokenizer; None while the model is not loaded."""
        engine = self._engine
        if engine is None:
            return None
        return len(engine.tokenizer.encode(text, add_special_tokens=False))

    def stream(self, request: GenerationRequest, usage: Usage, stop: threading.Event) -> Iterator[str]:
        prompt = self.prompt_for(request)
        engine = self._engine
        assert engine is not None
        if request.context_window and len(prompt) > request.context_window:
            prompt = prompt[-request.context_window :]
        constraint = self._constraint_for(engine, request.schema) if request.schema else None
        entry, reused = self._cache_for(engine, prompt)
        usage.model = self.name
        usage.prompt_tokens = len(prompt)
        stats = self.last_stats = DecodeStats()
        detok = Detokenizer(lambda ids: str(engine.tokenizer.decode(ids, skip_special_tokens=True)))
        sampling = Sampling(
            temperature=request.temperature,
            top_p=request.top_p,
            top_k=request.top_k,
            repetition_penalty=request.repetition_penalty,
        )
        started = time.perf_counter()
        first: float | None = None
        try:
            for tokens in self._decode(engine, entry, prompt[reused:], request, sampling, constraint, stop, stats):
                if first is None:
                    first = time.perf_counter()
                    usage.time_to_first_token_s = first - started
                usage.generated_tokens += len(tokens)
                if piece := detok.add(tokens):
                    yield piece
        except GenerationCancelled:
            usage.stop_reason = "cancelled"
            raise
        finally:
            usage.forced_tokens = stats.forced
            self._check_cache(engine, entry)
            self.last_used = self._clock()
        if first is not None and usage.generated_tokens > 1:
            usage.tokens_per_s = (usage.generated_tokens - 1) / max(time.perf_counter() - first, 1e-9)
        usage.stop_reason = stats.stop_reason
        if constraint is not None and not constraint.done:
            usage.stop_reason = "length"

    def _decode(
        self,
        engine: Engine,
        entry: PromptCache,
        pending: list[int],
        request: GenerationRequest,
        sampling: Sampling,
        constraint: Any,
        stop: threading.Event,
        stats: DecodeStats,
    ) -> Iterator[list[int]]:
        """The token loop: the runtime's own (``pipelined``) where it has one and nothing
        constrains the output, else the shared one, which samples on the host."""
        forward = functools.partial(engine.forward, entry.cache)
        common: dict[str, Any] = {
            "fed": entry.tokens,
            "max_tokens": request.max_tokens,
            "sampling": sampling,
            "eos": engine.eos,
            "stop": stop,
            "prefill_chunk": engine.prefill_chunk,
            "stats": stats,
        }
        run = getattr(engine, "pipelined", None)
        if run is not None and constraint is None:
            return decode_pipelined(forward, functools.partial(run, entry.cache), pending, **common)
        return decode(forward, pending, constraint=constraint, fast_forward=self.fast_forward, **common)

    def _cache_for(self, engine: Engine, prompt: list[int]) -> tuple[PromptCache, int]:
        """The cache sharing the longest prefix with ``prompt``, trimmed to it, and that length."""
        best, best_len = None, 0
        for entry in self._caches:
            n = common_prefix(entry.tokens, prompt)
            if n > best_len:
                best, best_len = entry, n
        if best is not None and best_len >= MIN_REUSE_TOKENS:
            keep = min(best_len, len(prompt) - 1)  # at least one token must go through the model
            if engine.trim(best.cache, len(best.tokens) - keep):
                del best.tokens[keep:]
                self._caches.remove(best)
                self._caches.insert(0, best)
                return best, keep
            self._caches.remove(best)
        entry = PromptCache(engine.new_cache())
        self._caches.insert(0, entry)
        del self._caches[MAX_CACHES:]
        return entry, 0

    def _check_cache(self, engine: Engine, entry: PromptCache) -> None:
        """Forget a cache whose contents no longer match its tokens (a pass failed midway)."""
        try:
            intact = engine.cache_length(entry.cache) == len(entry.tokens)
        except Exception:  # a runtime error left the cache unreadable: treat it as unknown
            intact = False
        if not intact and entry in self._caches:
            self._caches.remove(entry)

    def close(self) -> None:
        self._caches.clear()
        self._engine = self._ll_tokenizer = None


def prompt_ids(tokenizer: Any, request: GenerationRequest) -> list[int]:
    """``request``'s messages as token ids, under the tokenizer's chat template when it has one."""
    msgs = [{"role": m.role, "content": m.content} for m in request.messages]
    if getattr(tokenizer, "chat_template", None):
        ids = tokenizer.apply_chat_template(msgs, add_generation_prompt=True, tokenize=True)
        if hasattr(ids, "keys"):  # transformers 5 returns a BatchEncoding
            ids = ids["input_ids"]
        return [int(t) for t in ids]
    text = "\n".join(f"{m['role']}: {m['content']}" for m in msgs) + "\nassistant:"
    return [int(t) for t in tokenizer.encode(text)]
