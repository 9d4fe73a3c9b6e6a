"""Cancel while a model works: prompt processing and decoding stop within a chunk or a token,
and a cancelled task's ``task.cancelled`` lands within 1 s of the cancel reply."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from greenroom.bus import events as e
from greenroom.models import GenerationCancelled, GenerationRequest, Message, MlxBackend, Usage
from greenroom.models import mlx_backend as mlx_backend_module
from tests.conftest import make_config, wait_for

LONG = " ".join(f"note {i}: the plan step tool call result answer memory remember time file read." for i in range(120))


class SlowModel:
    """The real model behind a counter: each forward pass may sleep (a slow machine) and the
    ``stop_at``-th pass sets ``stop`` (a person pressing cancel at a known point)."""

    def __init__(self, model: Any, *, delay_s: float = 0.0, stop: threading.Event | None = None, stop_at: int = 0):
        self.model = model
        self.delay_s = delay_s
        self.stop = stop
        self.stop_at = stop_at
        self.calls = 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        if self.stop is not None and self.calls == self.stop_at:
            self.stop.set()
        if self.delay_s:
            time.sleep(self.delay_s)
        return self.model(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.model, name)


class SlowMlxBackend(MlxBackend):
    """An MlxBackend whose model is wrapped in ``SlowModel`` once loaded."""

    def __init__(self, path: Path, **slow: Any) -> None:
        super().__init__(lambda: path, name="tiny-slow")
        self.slow = slow
        self.wrapped: SlowModel | None = None

    def load(self) -> None:
        super().load()
        if self.wrapped is None:
            self.wrapped = SlowModel(self._model, **self.slow)
            self._model = self.wrapped


def _request(text: str, max_tokens: int = 64) -> GenerationRequest:
    return GenerationRequest(messages=[Message("user", text)], max_tokens=max_tokens)


class TestBackendStops:
    def test_stop_set_before_start_generates_nothing(self, tiny_model: Path) -> None:
        """A generation whose stop is already set raises at once, without running the model."""
        backend = SlowMlxBackend(tiny_model)
        backend.load()
        stop = threading.Event()
        stop.set()
        usage = Usage()
        with pytest.raises(GenerationCancelled):
            list(backend.stream(_request("hello"), usage, stop))
        assert backend.wrapped is not None
        assert backend.wrapped.calls == 0
        assert usage.stop_reason == "cancelled"

    def test_long_prompt_stops_between_prompt_chunks(self, tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """A stop during prompt processing ends it after the chunk in progress, not at the prompt's end."""
        monkeypatch.setattr(mlx_backend_module, "PREFILL_FIRST", 16)
        monkeypatch.setattr(mlx_backend_module, "PREFILL_MAX", 16)
        stop = threading.Event()
        backend = SlowMlxBackend(tiny_model, stop=stop, stop_at=2)
        usage = Usage()
        with pytest.raises(GenerationCancelled):
            list(backend.stream(_request(LONG), usage, stop))
        assert backend.wrapped is not None
        assert usage.prompt_tokens > 16 * 10, "the prompt should need many chunks"
        assert backend.wrapped.calls == 2, "prompt processing went on after the stop"
        assert usage.generated_tokens == 0
        # The cache keeps the processed part: the same prompt again reuses it.
        assert backend._caches
        assert len(backend._caches[0].tokens) == 32

    def test_decoding_stops_at_the_next_token(self, tiny_model: Path) -> None:
        """A stop while tokens are generated ends generation after the token in progress."""
        stop = threading.Event()
        backend = SlowMlxBackend(tiny_model, stop=stop, stop_at=6)
        with pytest.raises(GenerationCancelled):
            list(backend.stream(_request("hello", max_tokens=200), Usage(), stop))
        assert backend.wrapped is not None
        assert backend.wrapped.calls <= 7, "decoding went on after the stop"


class TestCancelLatency:
    @pytest.mark.slow
    def test_task_cancelled_within_a_second_of_the_reply(
        self, short_tmp: Path, tiny_model: Path, daemon_factory: Any
    ) -> None:
        """Cancelling a task while its model generates slowly journals task.cancelled within 1 s of the reply."""
        backend = SlowMlxBackend(tiny_model, delay_s=0.3)  # about 3 tokens a second
        daemon = daemon_factory(make_config(short_tmp), make_backend=lambda model=None: backend)
        client = daemon.client()
        submitted = client.submit("write a long plan")
        stream = client.follow(from_seq=submitted.seq, task_id=submitted.task_id)
        try:
            for env in stream:
                if isinstance(env.event, e.LlmChunk):
                    break  # the model is generating now
            client.cancel(submitted.task_id)
            replied = time.time()
            cancelled = next(env for env in stream if isinstance(env.event, e.TaskCancelled))
        finally:
            stream.close()
        # The acceptance criterion itself, measured on the journal's own timestamp.
        assert cancelled.ts - replied <= 1.0, f"task.cancelled came {cancelled.ts - replied:.2f}s after the reply"
        wait_for(lambda: client.task(submitted.task_id).status == "cancelled")
        client.close()
