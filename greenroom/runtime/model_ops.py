"""Model operations clients ask for: generate (and cancel it), load (and keep the choice),
per-model parameters, deleting a model's files, and loading at start.

Each change is journaled: ``model.chosen``, ``model.params.changed``,
``model.removed`` (loads and unloads by the LLM actor's own events).
"""

from __future__ import annotations

import re
import threading
import uuid
from typing import TYPE_CHECKING, Any

import msgspec
import structlog

from greenroom.actors import CallFailed, Interrupted
from greenroom.actors.messages import GenerateNow, UnloadModel
from greenroom.bus import protocol as p
from greenroom.bus.events import LlmFinished, ModelChosen, ModelParamsChanged, ModelRemoved
from greenroom.models import GenerationRequest, Message, ModelError
from greenroom.models.catalog import load_catalog
from greenroom.models.params import check_model_id
from greenroom.runtime.errors import RequestError
from greenroom.runtime.paths import MODELS_DIR

if TYPE_CHECKING:
    from greenroom.runtime.core import Runtime

log = structlog.get_logger(__name__)

SOURCE = "gateway"
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
HUB_REPO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}(/[A-Za-z0-9][A-Za-z0-9._-]{0,95})?$")
"""What ``model_rm`` deletes: a hub repo id, or a folder name in the models folder (never a path)."""
STOP_KEY = "generate:"
"""Prefix of a client generation's stop flag (``Cancellations``), apart from task ids."""


MAX_MODEL_CHARS = 512


def checked(model: str) -> str:
    """``model`` if it can name a model at all (a catalog id, a repo id, a folder)."""
    if not model or len(model) > MAX_MODEL_CHARS or "\0" in model:
        raise RequestError("bad_request", f"a model name is 1..{MAX_MODEL_CHARS} characters, without NUL")
    return model


def hub_repo(model: str) -> str:
    """A catalog id's hub repo; anything else as given."""
    entry = load_catalog().get(model)
    return entry.hub_repo if entry else model


class ModelOps:
    """Model requests, on behalf of the gateway.

    Args:
        rt: the runtime (its LLM actor, parameter store, bus and config).
    """

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self._running: set[str] = set()
        self._lock = threading.Lock()

    @property
    def _llm(self) -> Any:
        assert self.rt.deps.handles is not None
        return self.rt.deps.handles.llm

    # -- generation ------------------------------------------------------------------------

    def generate(self, req: p.Generate) -> p.Generated:
        """A generation outside any task; ``generate_cancel`` with its request id stops it early."""
        if not req.messages:
            raise RequestError("bad_request", "messages is empty")
        if not 1 <= req.max_tokens <= 32768:
            raise RequestError("bad_request", f"max_tokens must be 1..32768, got {req.max_tokens}")
        if req.temperature < 0:
            raise RequestError("bad_request", f"temperature must not be negative, got {req.temperature}")
        purpose = req.purpose or "chat"
        request_id = req.request_id or f"-:{purpose}:{uuid.uuid4().hex[:8]}"
        if not REQUEST_ID.match(request_id):
            raise RequestError("bad_request", "request_id: 1-64 letters, digits, '.', '_', ':' or '-'")
        request = GenerationRequest(
            messages=[Message(m.role, m.content, list(m.images)) for m in req.messages], purpose=purpose,
            schema=req.schema, max_tokens=req.max_tokens, temperature=req.temperature,
        )  # fmt: skip
        key = STOP_KEY + request_id  # its own stop flag, apart from any task's
        with self._lock:
            if request_id in self._running:
                raise RequestError("conflict", f"a generation {request_id!r} is already running")
            self._running.add(request_id)
        try:
            env = self._llm.ask(GenerateNow(request=request, stop_key=key, request_id=request_id), timeout=3600)
        except CallFailed as exc:
            raise RequestError("conflict", str(exc)) from exc
        except Interrupted as exc:
            raise RequestError("conflict", "the generation was stopped (the daemon is stopping)") from exc
        finally:
            with self._lock:
                self._running.discard(request_id)
            self.rt.deps.cancellations.discard(key)
        assert isinstance(env.event, LlmFinished)
        self.rt.bus.wait_durable(env.seq, 30)  # the reply names it: a replay must find it
        return p.Generated(text=env.event.text, seq=env.seq, request_id=request_id, stop_reason=env.event.stop_reason)

    def cancel(self, request_id: str) -> p.Ok:
        with self._lock:
            running = request_id in self._running
        if not running:
            raise RequestError("not_found", f"no generation {request_id!r} is running")
        self.rt.deps.cancellations.cancel(STOP_KEY + request_id)
        return p.Ok(detail="cancelling")

    # -- the active model ------------------------------------------------------------------

    def load(self, model: str | None, keep: bool, client: str = "") -> p.Ok:
        """Load ``model`` now; with ``keep``, it stays the active model after restarts too."""
        name = self.rt.load_model(checked(model) if model else None)
        seq = 0
        if keep:
            store = self.rt.model_params
            store.choose(model or None)
            event = ModelChosen(model=model or "", client=client)
            seq = self.rt.bus.publish(event, source=SOURCE, durable=True).seq
        return p.Ok(detail=name, seq=seq)

    def load_at_start(self) -> None:
        """With ``llm.load_at_start``: load the active model on a thread of its own (start-up does not wait)."""
        if not self.rt.config.llm.load_at_start:
            return
        chosen = self.rt.model_params.chosen()

        def run() -> None:
            try:
                self.rt.load_model(chosen)
            except RequestError as exc:  # the model.loaded event never comes; the reason is logged
                log.warning("model_load_at_start_failed", error=str(exc))

        threading.Thread(target=run, name="model-load-at-start", daemon=True).start()

    # -- parameters and files --------------------------------------------------------------

    def params(self, req: p.ModelParamsRequest, client: str = "") -> p.ModelParamsReply:
        store = self.rt.model_params
        checked(req.model)
        changes: dict[str, Any] = {key: None for key in req.clear}
        changes.update(req.set)
        try:
            if not changes:
                check_model_id(req.model, tuple(r.name for r in self.rt.config.llm.remotes))
                return p.ModelParamsReply(model=req.model, params=msgspec.to_builtins(store.get(req.model)))
            params = msgspec.to_builtins(store.update(req.model, changes))
        except (ModelError, ValueError, OSError) as exc:
            raise RequestError("bad_request", str(exc)) from exc
        event = ModelParamsChanged(model=req.model, params=params, client=client)
        seq = self.rt.bus.publish(event, source=SOURCE, durable=True).seq
        return p.ModelParamsReply(model=req.model, params=params, seq=seq)

    def remove(self, model: str, client: str = "") -> p.ModelRemovedReply:
        """Unload the model if it is loaded, then delete its files (hub cache or greenroom's models folder)."""
        from greenroom.models.hub import remove

        repo = hub_repo(checked(model))
        if not HUB_REPO.match(repo) or ".." in repo:
            raise RequestError("bad_request", f"{model!r} is not a catalog id or a hub repo id (org/name)")
        for name in dict.fromkeys((model, repo)):
            self._llm.ask(UnloadModel(model=name), timeout=60)
        try:
            freed = remove(repo, models_dir=self.rt.config.data_dir / MODELS_DIR)
        except OSError as exc:
            raise RequestError("conflict", f"deleting {repo} failed: {exc}") from exc
        if not freed:
            raise RequestError(
                "not_found",
                f"{repo} is not on this machine, so nothing was deleted; `greenroom models list --local` shows what is",
            )
        seq = self.rt.bus.publish(ModelRemoved(model=repo, freed_bytes=freed, client=client), source=SOURCE).seq
        return p.ModelRemovedReply(model=repo, freed_bytes=freed, seq=seq)
