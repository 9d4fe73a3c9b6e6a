"""The LLM actor: owns the model backend, streams tokens as events.

Generations run one at a time on this actor's thread (one model in memory, as
on a laptop). A caller stops its generation by setting the ``stop`` event it
passed in; the backend checks it between tokens.
"""

from __future__ import annotations

import threading
from typing import Any

from greenroom.actors.base import CallFailed, CrashReporter, GreenroomActor, Interrupted
from greenroom.actors.deps import ActorDeps
from greenroom.bus.envelope import Envelope
from greenroom.bus.events import LlmChunk, LlmFinished
from greenroom.models.backend import (
    Backend,
    GenerationCancelled,
    GenerationRequest,
    ModelError,
    Usage,
)


class LlmActor(GreenroomActor):
    name = "llm"

    def __init__(self, on_crash: CrashReporter, deps: ActorDeps) -> None:
        super().__init__(on_crash)
        self.deps = deps
        self.backend: Backend | None = None

    def on_start(self) -> None:
        self.backend = self.deps.make_backend()  # cheap: models load on first use
        self._report()

    def _report(self) -> None:
        self.deps.model_status.update(self.info())

    def on_stop(self) -> None:
        if self.backend is not None:
            self.backend.close()

    def generate(
        self,
        request: GenerationRequest,
        *,
        task_id: str | None = None,
        causation: int | None = None,
        stop: threading.Event | None = None,
    ) -> tuple[str, Envelope]:
        """Generate for ``request``; returns the text and the ``llm.finished`` envelope.

        Raises:
            Interrupted: ``stop`` was set.
            CallFailed: the model could not be prepared or loaded.
        """
        assert self.backend is not None
        bus = self.deps.bus
        request_id = f"{task_id or '-'}:{request.purpose}"
        usage = Usage()
        pieces: list[str] = []
        try:
            for piece in self.backend.stream(request, usage, stop or threading.Event()):
                pieces.append(piece)
                bus.publish(
                    LlmChunk(request_id=request_id, text=piece),
                    source=self.name,
                    task_id=task_id,
                    causation_id=causation,
                    correlation_id=task_id,
                )
        except GenerationCancelled:
            raise Interrupted(f"generation {request_id} stopped") from None
        except ModelError as exc:
            raise CallFailed("model", str(exc)) from exc
        finally:
            self._report()
        text = "".join(pieces)
        env = bus.publish(
            LlmFinished(
                request_id=request_id,
                purpose=request.purpose,
                text=text,
                model=usage.model,
                stop_reason=usage.stop_reason,
                prompt_tokens=usage.prompt_tokens,
                generated_tokens=usage.generated_tokens,
                tokens_per_s=round(usage.tokens_per_s, 2),
                time_to_first_token_s=round(usage.time_to_first_token_s, 4),
            ),
            source=self.name,
            task_id=task_id,
            causation_id=causation,
            correlation_id=task_id,
        )
        return text, env

    def info(self) -> dict[str, Any]:
        backend = self.backend
        return {
            "model": getattr(backend, "name", "?"),
            "loaded": bool(getattr(backend, "loaded", True)),
        }
