"""The agent loop's tool calling as a library call: compare greenroom's harness with the raw model.

``tool_calls(model, messages, tools)`` takes chat messages and OpenAI-style
function specs and returns the calls the Executor would make for the last user
message, under the same constrained decoding and the same small questions:
tools the request needs are matched without the model, the matched tools are
the only ones the model may call, and the arguments the request already names
are pinned. No daemon, journal or policy is involved: it answers "which calls,
with which arguments", which is what function-calling benchmarks score.

Example::

    from greenroom.actors.harness import tool_calls

    calls = tool_calls(
        "smollm2-135m",
        [{"role": "user", "content": "What's the weather in Paris?"}],
        [{"type": "function", "function": {"name": "get_weather", "description": "Weather for a city.",
          "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}],
    )
    # [{"name": "get_weather", "arguments": {"city": "Paris"}}]
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from greenroom._userpath import user_path
from greenroom.actors.arguments import pin_call_schema
from greenroom.actors.prompts import system_message
from greenroom.actors.schemas import ActionOutput, decode_output
from greenroom.models.backend import Backend, GenerationRequest, Message, Usage
from greenroom.tools.registry import ToolRegistry
from greenroom.tools.routing import ToolRouter
from greenroom.tools.spec import ToolContext, ToolError, ToolSpec


def spec_from_openai(tool: dict[str, Any]) -> ToolSpec:
    """A tool spec from an OpenAI-style ``{"type": "function", "function": {...}}`` (never run here)."""
    fn = tool.get("function", tool)
    name = str(fn["name"])

    def not_run(_ctx: ToolContext, _args: Any) -> str:
        raise ToolError(f"{name} is described for the harness, not run")

    schema = fn.get("parameters") or {"type": "object", "properties": {}}
    return ToolSpec(name, str(fn.get("description", "")), None, not_run, "external", json_schema=schema)


def tool_calls(
    model: str | Backend,
    messages: Sequence[dict[str, Any]],
    tools: Sequence[dict[str, Any]],
    *,
    max_calls: int = 4,
    max_tokens: int = 512,
    router: ToolRouter | None = None,
    data_dir: Path | None = None,
) -> list[dict[str, Any]]:
    """The tool calls greenroom would make for the last user message (``[]``: it would answer instead).

    Args:
        model: a model name (the embedded default ``smollm2-135m``, a local folder, or a hub id)
            or a ready backend.
        messages: the conversation, ``{"role": ..., "content": ...}`` each.
        tools: OpenAI-style function specs.
        max_calls: most calls in the round.
        max_tokens: the output budget (each free string argument is capped to fit a few calls).
        router: matches requests to tools (default: with the offline default embedding model);
            pass one with ``threshold=2`` to let the model choose among all tools unaided.
        data_dir: where the default model is converted (default: the platform's data dir).

    Returns:
        ``{"name": ..., "arguments": {...}}`` for each call, in order.
    """
    registry = ToolRegistry([spec_from_openai(t) for t in tools])
    backend = model if not isinstance(model, str) else _backend(model, data_dir)
    request_text = next((str(m.get("content", "")) for m in reversed(messages) if m.get("role") == "user"), "")
    if router is None:
        from greenroom.memory.embeddings import Embedder

        router = ToolRouter(Embedder())
    named = [m.tool for m in router.route(request_text, registry) if m.tool]
    only = [registry.get(n) for n in dict.fromkeys(named)]
    schema = registry.call_schema(max_calls, only or None, allow_finish=not only)
    schema = pin_call_schema(schema, request_text, max_calls=len(only) or None, pin=bool(only))
    chat = [Message(str(m["role"]), str(m.get("content", ""))) for m in messages if m.get("role") != "system"]
    request = GenerationRequest(
        messages=[system_message(registry), *chat],
        purpose="harness",
        schema=schema,
        max_tokens=max_tokens,
        repetition_penalty=1.15,
    )
    text = "".join(backend.stream(request, Usage(), threading.Event()))
    action = decode_output(text, ActionOutput, "tool-call decision")
    if action.action == "finish":
        return []
    return [{"name": c.tool, "arguments": dict(c.args)} for c in action.calls[:max_calls]]


def _backend(model: str, data_dir: Path | None) -> Backend:
    from greenroom.models.default_model import DEFAULT_MODEL, ensure_default_model
    from greenroom.models.select import local_backend

    if model == DEFAULT_MODEL:
        import platformdirs

        folder = ensure_default_model((data_dir or Path(platformdirs.user_data_dir("greenroom"))) / "models")
        return local_backend(lambda: folder, model)
    local = user_path(model)
    return local_backend(lambda: local if local.exists() else model, model)


__all__ = ["spec_from_openai", "tool_calls"]
