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


class MlxBackend:
    """An mlx-lm model, loaded on first use.

    Args:
        resolve: returns the local model folder (or hub repo id) to load; called
            on first use, so a slow preparation (the default model's one-time
            conversion) happens lazily, off the daemon's start-up path.
        name: shown in usage and events.
    """

    def __init__(self, resolve: Callable[[], str | Path], name: str) -> None:
        self.name = name
        self._resolve = resolve
        self._model: Any = None
        self._tokenizer: Any = None
        self._ll_tokenizer: Any = None
        self._lock = threading.Lock()

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
            started = time.perf_counter()
            try:
                self._model, self._tokenizer = mlx_lm.load(str(target))
            except Exception as exc:
                raise ModelError(f"cannot load model {self.name} from {target}: {exc}") from exc
            log.info("model_loaded", model=self.name, seconds=round(time.perf_counter() - started, 2))

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
        from mlx_lm.sample_utils import make_sampler

        prompt = self.prompt_for(request)
        processors = [self._processor_for(request.schema)] if request.schema else None
        sampler = make_sampler(temp=request.temperature, top_p=request.top_p)
        usage.model = self.name
        usage.prompt_tokens = len(prompt)
        started = time.perf_counter()
        first: float | None = None
        response = None
        for response in mlx_lm.stream_generate(
            self._model,
            self._tokenizer,
            prompt,
            max_tokens=request.max_tokens,
            sampler=sampler,
            logits_processors=processors,
        ):
            if stop.is_set():
                usage.stop_reason = "cancelled"
                raise GenerationCancelled(request.purpose)
            if first is None:
                first = time.perf_counter()
                usage.time_to_first_token_s = first - started
            usage.generated_tokens = response.generation_tokens
            if response.text:
                yield response.text
        if response is not None:
            usage.tokens_per_s = response.generation_tps
            usage.stop_reason = response.finish_reason or "stop"
        if processors and not processors[0].done:
            usage.stop_reason = "length"

    def close(self) -> None:
        self._model = self._tokenizer = self._ll_tokenizer = None
