"""Text generation with mlx-lm: lazy load, streaming, cancellation, constrained JSON."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import structlog

from greenroom.models.backend import GenerationCancelled, GenerationRequest, ModelError, Usage

log = structlog.get_logger(__name__)


MAX_CACHES = 3
MIN_REUSE_TOKENS = 16


class _PromptCache:
    """A KV cache and the tokens it holds."""

    def __init__(self, cache: list[Any]) -> None:
        self.cache = cache
        self.tokens: list[int] = []


def _common_prefix(a: list[int], b: list[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def _available_memory() -> int:
    import psutil

    return int(psutil.virtual_memory().available)


class MlxBackend:
    """An mlx-lm model, loaded on first use.

    Keeps a few KV caches of recent prompts: the agent loop's prompts share long
    prefixes (each call site has a fixed system prompt), so a new prompt only
    pays for the tokens after the longest shared prefix. On a CPU, where prompt
    processing is the slow part, that is most of each call's latency.

    Args:
        resolve: returns the local model folder (or hub repo id) to load; called
            on first use, so a slow preparation (the default model's one-time
            conversion) happens lazily, off the daemon's start-up path.
        name: shown in usage and events.
        keep_alive_s: ``unload_if_idle`` unloads the model after this long unused.
        allow_oversize: load even when the memory guard says it will not fit.
        clock: monotonic seconds (injectable for tests).
        available_memory: bytes of memory available now (injectable for tests).
    """

    def __init__(
        self,
        resolve: Callable[[], str | Path],
        name: str,
        *,
        keep_alive_s: float = 600.0,
        allow_oversize: bool = False,
        clock: Callable[[], float] = time.monotonic,
        available_memory: Callable[[], int] | None = None,
    ) -> None:
        self.name = name
        self._resolve = resolve
        self._model: Any = None
        self._tokenizer: Any = None
        self._ll_tokenizer: Any = None
        self._lock = threading.Lock()
        self._caches: list[_PromptCache] = []
        self.keep_alive_s = keep_alive_s
        self.allow_oversize = allow_oversize
        self._clock = clock
        self._available = available_memory or _available_memory
        self.last_used = clock()
        self.last_load_s = 0.0

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def load(self) -> None:
        """Load the model now (idempotent)."""
        with self._lock:
            if self._model is not None:
                return
            import mlx_lm  # heavy import, kept off the daemon's start-up path

            target = self._resolve()
            self._check_fits(target)
            started = time.perf_counter()
            try:
                loaded = mlx_lm.load(str(target))
                self._model, self._tokenizer = loaded[0], loaded[1]
            except Exception as exc:
                raise ModelError(f"cannot load model {self.name} from {target}: {exc}") from exc
            self.last_load_s = time.perf_counter() - started
            self.last_used = self._clock()
            log.info("model_loaded", model=self.name, seconds=round(self.last_load_s, 2))

    def _check_fits(self, target: str | Path) -> None:
        """The memory guard: refuse a local model whose weights will not fit in available memory.

        Raises:
            ModelError: with the numbers, unless ``allow_oversize``.
        """
        folder = Path(target)
        if self.allow_oversize or not folder.is_dir():
            return  # a hub repo id: its size is known only once downloaded
        weights = sum(f.stat().st_size for f in folder.glob("*.safetensors"))
        needed = int(weights * 1.2)  # weights plus activations and KV cache headroom
        available = self._available()
        if needed > available:
            raise ModelError(
                f"model {self.name} needs about {needed / 2**20:,.0f} MiB ({weights / 2**20:,.0f} MiB of weights"
                f" + 20%) but only {available / 2**20:,.0f} MiB is available; free memory, pick a smaller"
                " model, or set llm.allow_oversize = true"
            )

    def unload(self) -> bool:
        """Drop the model from memory; False if it was not loaded."""
        with self._lock:
            if self._model is None:
                return False
            self._caches.clear()
            self._model = self._tokenizer = self._ll_tokenizer = None
        import gc

        gc.collect()
        log.info("model_unloaded", model=self.name)
        return True

    def unload_if_idle(self) -> bool:
        """Unload when unused for ``keep_alive_s``; True if it did."""
        if self._model is None or self._clock() - self.last_used < self.keep_alive_s:
            return False
        return self.unload()

    def _processor_for(self, schema: dict[str, Any]) -> Any:
        from greenroom.models.constrained import JsonSchemaProcessor, tokenizer_for

        if self._ll_tokenizer is None:
            self._ll_tokenizer = tokenizer_for(self._tokenizer._tokenizer)
        return JsonSchemaProcessor(self._ll_tokenizer, schema)

    def prompt_for(self, request: GenerationRequest) -> list[int]:
        """The token ids of ``request``'s messages under the model's chat template."""
        self.load()
        msgs = [{"role": m.role, "content": m.content} for m in request.messages]
        if getattr(self._tokenizer, "chat_template", None):
            return list(self._tokenizer.apply_chat_template(msgs, add_generation_prompt=True))
        text = "\n".join(f"{m['role']}: {m['content']}" for m in msgs) + "\nassistant:"
        return list(self._tokenizer.encode(text))

    def stream(self, request: GenerationRequest, usage: Usage, stop: threading.Event) -> Iterator[str]:
        import mlx_lm
        from mlx_lm.sample_utils import make_logits_processors, make_sampler

        prompt = self.prompt_for(request)
        if request.context_window and len(prompt) > request.context_window:
            prompt = prompt[-request.context_window :]
        entry, reused = self._cache_for(prompt)
        processors = [self._processor_for(request.schema)] if request.schema else []
        if request.repetition_penalty != 1.0:
            processors += make_logits_processors(repetition_penalty=request.repetition_penalty)
        sampler = make_sampler(temp=request.temperature, top_p=request.top_p, top_k=request.top_k)
        usage.model = self.name
        usage.prompt_tokens = len(prompt)
        started = time.perf_counter()
        first: float | None = None
        response = None
        generated: list[int] = []
        try:
            for response in mlx_lm.stream_generate(
                self._model,
                self._tokenizer,
                prompt[reused:],
                max_tokens=request.max_tokens,
                sampler=sampler,
                logits_processors=processors or None,
                prompt_cache=entry.cache,
            ):
                generated.append(response.token)
                if stop.is_set():
                    usage.stop_reason = "cancelled"
                    raise GenerationCancelled(request.purpose)
                if first is None:
                    first = time.perf_counter()
                    usage.time_to_first_token_s = first - started
                usage.generated_tokens = response.generation_tokens
                if response.text:
                    yield response.text
        finally:
            self._remember(entry, prompt + generated)
            self.last_used = self._clock()
        if response is not None:
            usage.tokens_per_s = response.generation_tps
            usage.stop_reason = response.finish_reason or "stop"
        if request.schema and not processors[0].done:
            usage.stop_reason = "length"

    def _cache_for(self, prompt: list[int]) -> tuple[_PromptCache, int]:
        """The cache sharing the longest prefix with ``prompt``, trimmed to it, and that length."""
        from mlx_lm.models.cache import can_trim_prompt_cache, make_prompt_cache, trim_prompt_cache

        best, best_len = None, 0
        for entry in self._caches:
            n = _common_prefix(entry.tokens, prompt)
            if n > best_len:
                best, best_len = entry, n
        if best is not None and best_len >= MIN_REUSE_TOKENS and can_trim_prompt_cache(best.cache):
            keep = min(best_len, len(prompt) - 1)  # at least one token must go through the model
            trim_prompt_cache(best.cache, len(best.tokens) - keep)
            best.tokens = best.tokens[:keep]
            self._caches.remove(best)
            self._caches.insert(0, best)
            return best, keep
        entry = _PromptCache(make_prompt_cache(self._model))
        self._caches.insert(0, entry)
        del self._caches[MAX_CACHES:]
        return entry, 0

    def _remember(self, entry: _PromptCache, tokens: list[int]) -> None:
        """Record what ``entry`` now holds (the model saw all but maybe the last token)."""
        offset = getattr(entry.cache[0], "offset", None) if entry.cache else None
        if offset is None or offset > len(tokens):
            self._caches.remove(entry)  # unknown contents: never reuse it
            return
        entry.tokens = tokens[:offset]

    def close(self) -> None:
        self._caches.clear()
        self._model = self._tokenizer = self._ll_tokenizer = None
