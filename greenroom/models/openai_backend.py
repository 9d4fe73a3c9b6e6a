"""A backend for OpenAI-compatible HTTP servers: Ollama, LM Studio, llama.cpp's
server, vLLM, mlx-lm's own server, and hosted APIs (with a key from config).

Streams ``/chat/completions`` with server-sent events. When a request carries a
JSON Schema it is passed as ``response_format`` (``json_schema``, strict), and
because not every server enforces it, the finished text is validated here too: a
reply that does not match raises :class:`ModelError`, so a fallback backend that
does enforce schemas (mlx) can take over. Structured output is therefore held
back until it is checked (it is short: plans, tool calls, verdicts) and arrives
as one piece; free text streams as it comes.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import structlog

from greenroom.models.backend import GenerationCancelled, GenerationRequest, ModelError, Usage

if TYPE_CHECKING:
    import httpx

log = structlog.get_logger(__name__)


class OpenAIBackend:
    """Chat completions from an OpenAI-compatible server.

    Args:
        base_url: up to and including ``/v1``, e.g. ``http://127.0.0.1:11434/v1``.
        model: the server's model name.
        api_key: sent as a bearer token when set.
        timeout_s: connect and read timeout.
    """

    def __init__(self, base_url: str, model: str, *, api_key: str = "", timeout_s: float = 60.0) -> None:
        self.name = f"{model}@{base_url}"
        self.model = model
        self._base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._timeout_s = timeout_s
        self._http: httpx.Client | None = None

    @property
    def _client(self) -> httpx.Client:
        """The HTTP client, made on first use (httpx is imported only by a daemon that needs it)."""
        if self._http is None:
            import httpx

            self._http = httpx.Client(base_url=self._base_url, headers=self._headers, timeout=self._timeout_s)
        return self._http

    def _body(self, request: GenerationRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "top_p": request.top_p,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if request.schema is not None:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {
                    "name": request.purpose.replace(":", "_")[:64],
                    "schema": request.schema,
                    "strict": True,
                },
            }
        return body

    def stream(self, request: GenerationRequest, usage: Usage, stop: threading.Event) -> Iterator[str]:
        """Yield text pieces as the server sends them; fill ``usage``.

        Raises:
            ModelError: the server is unreachable, answers with an error, or breaks the schema.
            GenerationCancelled: ``stop`` was set.
        """
        import httpx

        started = time.perf_counter()
        first: float | None = None
        text: list[str] = []
        usage.model = self.model
        try:
            with self._client.stream("POST", "/chat/completions", json=self._body(request)) as response:
                if response.status_code != 200:
                    detail = response.read().decode(errors="replace")[:300]
                    raise ModelError(f"{self.name} answered {response.status_code}: {detail}")
                for line in response.iter_lines():
                    if stop.is_set():
                        raise GenerationCancelled(request.purpose)
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        break
                    chunk = json.loads(data)
                    if chunk.get("usage"):
                        usage.prompt_tokens = int(chunk["usage"].get("prompt_tokens", 0))
                        usage.generated_tokens = int(chunk["usage"].get("completion_tokens", 0))
                    for choice in chunk.get("choices") or []:
                        piece = (choice.get("delta") or {}).get("content") or ""
                        if choice.get("finish_reason"):
                            usage.stop_reason = choice["finish_reason"]
                        if piece:
                            if first is None:
                                first = time.perf_counter()
                                usage.time_to_first_token_s = first - started
                            text.append(piece)
                            if request.schema is None:
                                yield piece
        except httpx.HTTPError as exc:
            raise ModelError(f"{self.name} is unreachable: {exc}") from exc
        except json.JSONDecodeError as exc:
            raise ModelError(f"{self.name} sent a malformed event: {exc}") from exc
        elapsed = time.perf_counter() - (first or started)
        if not usage.generated_tokens:
            usage.generated_tokens = len(text)
        usage.tokens_per_s = usage.generated_tokens / elapsed if elapsed > 0 else 0.0
        if request.schema is not None:
            self._check(request, "".join(text))
            yield "".join(text)

    def _check(self, request: GenerationRequest, text: str) -> None:
        import jsonschema

        try:
            jsonschema.validate(json.loads(text), request.schema or {})
        except (json.JSONDecodeError, jsonschema.ValidationError) as exc:
            raise ModelError(f"{self.name} did not follow the {request.purpose} schema: {exc}") from exc

    def close(self) -> None:
        if self._http is not None:
            self._http.close()


class FallbackBackend:
    """Tries backends in order (e.g. remote, then local) until one answers.

    A backend that fails before its first piece of text hands over to the next;
    one that fails mid-stream fails the request (what was streamed cannot be
    taken back).
    """

    def __init__(self, backends: list[Any]) -> None:
        if not backends:
            raise ValueError("FallbackBackend needs at least one backend")
        self.backends = backends
        self.name = " > ".join(b.name for b in backends)

    def stream(self, request: GenerationRequest, usage: Usage, stop: threading.Event) -> Iterator[str]:
        errors: list[str] = []
        for backend in self.backends:
            streamed = False
            try:
                for piece in backend.stream(request, usage, stop):
                    streamed = True
                    yield piece
                return
            except ModelError as exc:
                if streamed:
                    raise
                errors.append(str(exc))
                log.warning("backend_failed_falling_back", backend=backend.name, error=str(exc))
        raise ModelError("every backend failed: " + "; ".join(errors))

    def close(self) -> None:
        for backend in self.backends:
            backend.close()
