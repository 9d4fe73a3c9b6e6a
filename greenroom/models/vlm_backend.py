"""Vision: mlx-vlm for requests whose messages carry images, mlx-lm for the rest.

:class:`VisionRouter` is what the LLM actor holds when a model can see: a
request with an image goes to :class:`VlmBackend` (mlx-vlm), any other to the
text backend (mlx-lm, with its KV-cache reuse and constrained decoding), so
text-only work never pays for the vision tower. Both load lazily, on their
first request.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import structlog

from greenroom._userpath import user_path
from greenroom.models.backend import GenerationCancelled, GenerationRequest, ModelError, ProgressFn, Usage

log = structlog.get_logger(__name__)


def has_vision(model: str | Path) -> bool:
    """A local model folder whose config has a vision tower."""
    config = user_path(model) / "config.json"
    if not config.is_file():
        return False
    data = json.loads(config.read_text())
    return "vision_config" in data


class VlmBackend:
    """Generation with images through mlx-vlm.

    Args:
        resolve: returns the model folder or hub repo (called on first load).
        name: the model's name in events.
    """

    def __init__(self, resolve: Callable[[], str | Path], *, name: str) -> None:
        self._resolve = resolve
        self.name = name
        self._model: Any = None
        self._processor: Any = None
        self._lock = threading.Lock()
        self.last_load_s = 0.0

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def load(self, progress: ProgressFn | None = None) -> None:
        """Load the vision model now (idempotent; ``progress`` is unused: nothing to prepare)."""
        with self._lock:
            if self._model is not None:
                return
            try:
                from mlx_vlm import load
            except ImportError as exc:
                raise ModelError(
                    "vision needs mlx-vlm, an optional extra: run `bash scripts/install.sh --vision`"
                    " (or pip install 'greenroom[vision]') and restart the daemon"
                ) from exc
            started = time.perf_counter()
            try:
                self._model, self._processor = load(str(self._resolve()))
            except Exception as exc:  # hub, disk and format errors all mean "cannot load"
                raise ModelError(f"cannot load vision model {self.name}: {exc}") from exc
            self.last_load_s = time.perf_counter() - started

    def unload(self) -> bool:
        with self._lock:
            if self._model is None:
                return False
            self._model = self._processor = None
            return True

    def stream(self, request: GenerationRequest, usage: Usage, stop: threading.Event) -> Iterator[str]:
        if request.schema is not None:
            raise ModelError("schema-constrained output is not available for messages with images")
        self.load()
        from mlx_vlm import stream_generate
        from mlx_vlm.prompt_utils import apply_chat_template

        images = [image for m in request.messages for image in m.images]
        for image in images:
            if "://" not in image and not user_path(image).is_file():
                raise ModelError(f"image {image!r} does not exist")
        text = "\n\n".join(m.content for m in request.messages if m.role != "system")
        system = [m.content for m in request.messages if m.role == "system"]
        prompt: Any = apply_chat_template(
            self._processor, self._model.config, ("\n".join(system) + "\n\n" if system else "") + text,
            num_images=len(images),
        )  # fmt: skip
        usage.model = self.name
        started = time.perf_counter()
        response = None
        for response in stream_generate(
            self._model, self._processor, prompt, image=[str(user_path(i)) if "://" not in i else i
                                                           for i in images],
            max_tokens=request.max_tokens, temperature=request.temperature, top_p=request.top_p,
        ):  # fmt: skip
            if stop.is_set():
                usage.stop_reason = "cancelled"
                raise GenerationCancelled(request.purpose)
            if not usage.time_to_first_token_s:
                usage.time_to_first_token_s = time.perf_counter() - started
            if response.text:
                yield response.text
        if response is not None:
            usage.prompt_tokens = int(response.prompt_tokens)
            usage.generated_tokens = int(response.generation_tokens)
            usage.tokens_per_s = float(response.generation_tps)
            usage.stop_reason = "length" if usage.generated_tokens >= request.max_tokens else "stop"

    def close(self) -> None:
        self.unload()


class VisionRouter:
    """Sends requests with images to the vision backend and the rest to the text backend."""

    sees_images = True
    """Requests with images are worth sending (chats describe a message's images first)."""

    def __init__(self, text: Any, vision: VlmBackend) -> None:
        self.text = text
        self.vision = vision
        self.name = text.name

    @property
    def keep_alive_s(self) -> float | None:
        return getattr(self.text, "keep_alive_s", None)

    @keep_alive_s.setter
    def keep_alive_s(self, value: float) -> None:
        self.text.keep_alive_s = value

    @property
    def loaded(self) -> bool:
        return bool(self.text.loaded)

    @property
    def last_load_s(self) -> float:
        return float(getattr(self.text, "last_load_s", 0.0))

    def load(self, progress: ProgressFn | None = None) -> None:
        self.text.load(progress)

    def unload(self) -> bool:
        vision = self.vision.unload()
        return bool(self.text.unload()) or vision

    def unload_if_idle(self) -> bool:
        return bool(self.text.unload_if_idle())

    def stream(self, request: GenerationRequest, usage: Usage, stop: threading.Event) -> Iterator[str]:
        if any(m.images for m in request.messages):
            log.info("vision_request", model=self.vision.name)
            return self.vision.stream(request, usage, stop)
        return self.text.stream(request, usage, stop)

    def close(self) -> None:
        self.vision.close()
        self.text.close()
