"""The LLM actor: owns the model backend, streams tokens as events.

Generations run one at a time on this actor's thread (one model in memory, as
on a laptop). Work is stopped through its stop flag (``Cancellations``, by task
or by the request's own key), which the backend checks between tokens: a
message could not reach this actor while it generates.

Idle means idle: after a generation one timer is armed for the model's
keep-alive; with no model loaded nothing wakes up.
"""

from __future__ import annotations

import inspect
import threading
from collections import OrderedDict
from typing import Any

import msgspec
from typing_extensions import assert_never

from greenroom.actors.base import CallFailed, CrashReporter, GreenroomActor, Interrupted
from greenroom.actors.deps import ActorDeps
from greenroom.actors.messages import CheckIdle, Generate, GenerateNow, LlmMessage, LoadModel, Tick, UnloadModel
from greenroom.actors.planner import publish_failure
from greenroom.bus.envelope import Envelope
from greenroom.bus.events import LlmChunk, LlmFinished, ModelLoaded, ModelPreparing, ModelUnloaded
from greenroom.models.backend import (
    Backend,
    GenerationCancelled,
    GenerationRequest,
    LoadProgress,
    ModelError,
    Usage,
)


class LlmActor(GreenroomActor):
    name = "llm"

    def __init__(self, on_crash: CrashReporter, deps: ActorDeps) -> None:
        super().__init__(on_crash)
        self.deps = deps
        self.backend: Backend | None = None
        """The active backend: what ``generate`` uses."""
        self._active_model = deps.llm.model
        self._resident: OrderedDict[str, Backend] = OrderedDict()
        """Backends by model, least recently used first (loaded or not)."""

    def on_start(self) -> None:
        store = self.deps.model_params
        chosen = store.chosen() if store is not None else None  # a model choice kept across restarts
        if chosen and chosen != self.deps.llm.model:
            self._active_model = chosen
            self.backend = self.deps.make_backend(chosen)
        else:
            self.backend = self.deps.make_backend()  # cheap: models load on first use
        self._resident[self.backend.name] = self.backend
        self._timer: threading.Timer | None = None
        self._report()

    def handle(self, message: LlmMessage) -> Any:
        match message:
            case Generate():
                try:
                    self.generate(message.request, task_id=message.task_id, causation=message.causation)
                except Interrupted:
                    pass  # cancelled or parked: nothing to report
                except CallFailed as exc:
                    publish_failure(self.deps, message.task_id, message.key, exc, message.causation)
                return None
            case GenerateNow():
                key = message.stop_key or message.task_id or ""
                return self.generate(
                    message.request, task_id=message.task_id, causation=message.causation, key=key,
                    request_id=message.request_id or None,
                )[1]  # fmt: skip
            case LoadModel(model=model):
                return self.load(model)
            case UnloadModel(model=model):
                return self.unload(model)
            case CheckIdle() | Tick():
                self._timer = None
                return self.check_idle()
            case _:
                assert_never(message)

    def _arm_idle_timer(self) -> None:
        """One timer to the earliest moment a resident model may be idle long enough to unload."""
        waits = [
            float(getattr(b, "keep_alive_s", 0) or 0)
            for b in self._resident.values()
            if getattr(b, "loaded", False) and getattr(b, "keep_alive_s", 0)
        ]
        if not waits or self._timer is not None:
            return
        ref = self.actor_ref
        self._timer = threading.Timer(min(waits) + 0.5, lambda: ref.tell(CheckIdle()))
        self._timer.daemon = True
        self._timer.start()

    def check_idle(self) -> bool:
        """Unload models that sat unused for their keep-alive; publishes ``model.unloaded`` for each."""
        unloaded = False
        for backend in list(self._resident.values()):
            unload = getattr(backend, "unload_if_idle", None)
            if unload is not None and unload():
                self.deps.bus.publish(ModelUnloaded(model=backend.name, reason="idle"), source=self.name)
                unloaded = True
        self._report()
        self._arm_idle_timer()  # models still loaded, used more recently: check again later
        return unloaded

    def load(self, model: str | None = None) -> str:
        """Load ``model`` (default: the configured one) now and make it the active model.

        Models beyond ``llm.max_resident_models`` are unloaded, least recently used first.

        Raises:
            CallFailed: the model cannot be prepared or loaded (the active model stays).
        """
        name = model or self.deps.llm.model
        backend = self._resident.get(name)
        if backend is None:
            backend = self.deps.make_backend() if name == self.deps.llm.model else self.deps.make_backend(name)
        self._load_backend(backend, None, reason="explicit")
        self._resident[backend.name] = backend
        self._resident.move_to_end(backend.name)
        self.backend = backend
        self._active_model = name
        loaded = [b for b in self._resident.values() if getattr(b, "loaded", False)]
        for old in loaded[: max(0, len(loaded) - self.deps.llm.max_resident_models)]:
            if old is not backend and old.unload():  # type: ignore[attr-defined]
                self.deps.bus.publish(ModelUnloaded(model=old.name, reason="evicted"), source=self.name)
        self._report()
        self._arm_idle_timer()
        return backend.name

    def unload(self, model: str | None = None) -> bool:
        """Unload ``model`` (default: the active one) now; False if it was not loaded."""
        backend = self._resident.get(model) if model else self.backend
        unload = getattr(backend, "unload", None)
        if backend is None or unload is None or not unload():
            return False
        self.deps.bus.publish(ModelUnloaded(model=backend.name, reason="explicit"), source=self.name)
        self._report()
        return True

    def _report(self) -> None:
        self.deps.model_status.update(self.info())

    def on_stop(self) -> None:
        if getattr(self, "_timer", None) is not None:
            self._timer.cancel()  # type: ignore[union-attr]
        for backend in self._resident.values():
            backend.close()

    def generate(
        self,
        request: GenerationRequest,
        *,
        task_id: str | None = None,
        causation: int | None = None,
        key: str | None = None,
        request_id: str | None = None,
    ) -> tuple[str, Envelope]:
        """Generate for ``request``; returns the text and the committed ``llm.finished`` envelope.

        Args:
            key: the stop flag to honour (default: the task's).
            request_id: names the generation on the timeline (default ``<task or ->:<purpose>``).

        Raises:
            Interrupted: the stop flag was set during a task's generation (outside a task the
                generation ends with ``llm.finished``, ``stop_reason`` ``cancelled``, the text so far).
            CallFailed: the model could not be prepared or loaded.
        """
        assert self.backend is not None
        request = self._with_params(request)
        bus = self.deps.bus
        request_id = request_id or f"{task_id or '-'}:{request.purpose}"
        usage = Usage()
        pieces: list[str] = []
        self._load_for(task_id)
        try:
            stop = self.deps.cancellations.event(key or task_id or "-")
            for piece in self.backend.stream(request, usage, stop):
                if stop.is_set():  # checked per token here too: a backend may look less often
                    raise GenerationCancelled(request_id)
                pieces.append(piece)
                bus.publish(
                    LlmChunk(request_id=request_id, text=piece),
                    source=self.name,
                    task_id=task_id,
                    causation_id=causation,
                    correlation_id=task_id,
                )
        except GenerationCancelled:
            if task_id is not None:
                raise Interrupted(f"generation {request_id} stopped") from None
            usage.stop_reason = "cancelled"  # a client's generation: it hears what came so far
        except ModelError as exc:
            raise CallFailed("model", str(exc)) from exc
        finally:
            self._report()
            self._arm_idle_timer()
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
            durable=True,  # what callers act on is committed first
        )
        return text, env

    def _with_params(self, request: GenerationRequest) -> GenerationRequest:
        """The request with the active model's persisted parameters applied."""
        store = self.deps.model_params
        if store is None or self.backend is None:
            return request
        params = store.get(self._active_model)
        fields = GenerationRequest.__struct_fields__
        changes = {k: v for k, v in msgspec.structs.asdict(params).items() if v is not None and k in fields}
        return msgspec.structs.replace(request, **changes) if changes else request

    def _load_for(self, task_id: str | None) -> None:
        """Load the model before generating (lazily, on first use), journaling ``model.loaded``."""
        if self.backend is not None:
            self._load_backend(self.backend, task_id, reason="first use")

    def _load_backend(self, backend: Backend, task_id: str | None, reason: str) -> None:
        if getattr(backend, "loaded", True):
            return
        store = self.deps.model_params
        keep_alive = store.get(backend.name).keep_alive_s if store is not None else None
        if keep_alive and hasattr(backend, "keep_alive_s"):
            backend.keep_alive_s = keep_alive  # a per-model override of llm.keep_alive_s

        def progress(p: LoadProgress) -> None:  # the one-time conversion, on the task's timeline
            self.deps.bus.publish(
                ModelPreparing(model=backend.name, stage=p.stage, fraction=p.fraction, elapsed_s=p.elapsed_s,
                               eta_s=None if p.eta_s is None else round(p.eta_s, 1)),
                source=self.name, task_id=task_id,
            )  # fmt: skip

        try:
            if "progress" in inspect.signature(backend.load).parameters:  # type: ignore[attr-defined]
                backend.load(progress=progress)  # type: ignore[attr-defined]
            else:
                backend.load()  # type: ignore[attr-defined]
        except ModelError as exc:
            raise CallFailed("model", str(exc)) from exc
        finally:
            self._report()
        seconds = round(float(getattr(backend, "last_load_s", 0.0)), 3)
        self.deps.bus.publish(
            ModelLoaded(model=backend.name, seconds=seconds, reason=reason), source=self.name, task_id=task_id
        )

    def info(self) -> dict[str, Any]:
        backend = self.backend
        return {
            "model": getattr(backend, "name", "?"),
            "loaded": bool(getattr(backend, "loaded", True)),
            "count_tokens": getattr(backend, "count_tokens", None),  # chat budgets (actors/conversation.py)
            "vision": bool(getattr(backend, "sees_images", False)),  # images described first (actors/grounding.py)
        }
