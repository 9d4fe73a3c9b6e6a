"""What the model may answer: output Structs and the JSON Schemas its decoding is held to.

Every structured output is decoded under a schema (so it always parses) and
capped to what it needs: the offline default generates a few tokens a second,
so each key and each allowed character is time. Keys are short words the model
understands; the constrained decoder emits forced tokens (a key, a quote) in
one pass, so they cost little.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Literal, TypeVar

import msgspec

from greenroom.actors.base import CallFailed
from greenroom.bus.events import PlanStep, Verdict
from greenroom.tools.registry import ToolRegistry

T = TypeVar("T")

NO_TOOL = "none"
ANSWER_CHARS = 240
RESULT_CHARS = 400
INTENT_CHARS = 100
REASON_CHARS = 120


class RouteStep(msgspec.Struct, frozen=True):
    do: str
    tool: str = NO_TOOL


class RouteOutput(msgspec.Struct, frozen=True, kw_only=True):
    """The first call: an answer, or the steps that need tools."""

    answer: str = ""
    steps: list[RouteStep] = []


class PlanOutput(msgspec.Struct, frozen=True):
    steps: list[PlanStep]


class ToolCallOutput(msgspec.Struct, frozen=True):
    tool: str
    args: dict[str, Any] = {}


class ActionOutput(msgspec.Struct, frozen=True, kw_only=True):
    action: Literal["call_tools", "finish"] = "finish"
    calls: list[ToolCallOutput] = []
    result: str = ""


class VerdictOutput(msgspec.Struct, frozen=True):
    verdict: Verdict
    reason: str = ""


def decode_output(text: str, type_: type[T], what: str, *, cut: bool = False) -> T:
    """Decode a model's structured output.

    Args:
        cut: generation stopped at its token cap. The output is then a valid prefix of
            the schema's JSON (decoding is constrained), usually cut inside its last
            string: it is closed where it stopped (``close_cut``) and decoded again.
            Callers pass it only where a shortened last string is still worth having
            (an answer, a verdict's reason), never for tool arguments.

    Raises:
        CallFailed: it does not parse (say, generation hit max_tokens mid-object).
    """
    try:
        return msgspec.json.decode(text, type=type_)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        if cut:
            try:
                return msgspec.json.decode(close_cut(text), type=type_)
            except (msgspec.DecodeError, msgspec.ValidationError):
                pass
        raise CallFailed(
            "bad_model_output", f"the model's {what} was not valid ({exc}); it said: {text[:200]!r}"
        ) from None


_TRAILING_ESCAPE = re.compile(r"(\\+)(u[0-9a-fA-F]{0,3}|u[dD][89abAB][0-9a-fA-F]{2})?$")
"""A run of backslashes at the end, with what an escape it opens holds so far (a ``\\u`` cut short,
or the first half of a surrogate pair, which decodes to nothing on its own)."""


def close_cut(text: str) -> str:
    """``text``, a valid JSON prefix cut short, closed where it stopped.

    An escape cut in half (or half a surrogate pair) is dropped, an open string is
    closed, then the open arrays and objects. Exact, not a guess: constrained decoding
    guarantees a valid prefix (a repair library's heuristics changed escapes such as
    ``\\f``). What is cut anywhere but inside a string value still fails to decode.
    """
    closers: list[str] = []
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == "{":
            closers.append("}")
        elif ch == "[":
            closers.append("]")
        elif ch in "}]" and closers:
            closers.pop()
    if in_string:
        # An odd run of backslashes: its last one opens an escape (an even run is escaped backslashes).
        while (match := _TRAILING_ESCAPE.search(text)) is not None and len(match.group(1)) % 2 == 1:
            text = text[: match.end(1) - 1]
        text += '"'
    return text + "".join(reversed(closers))


def _string(max_len: int) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": max_len}


def _object(**properties: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(properties), "additionalProperties": False}


def steps_schema(tool_names: Iterable[str], max_steps: int) -> dict[str, Any]:
    """Steps, each one thing to do and the one tool it needs (or ``none``)."""
    step = _object(do=_string(INTENT_CHARS), tool={"enum": [*tool_names, NO_TOOL]})
    return _object(steps={"type": "array", "minItems": 1, "maxItems": max_steps, "items": step})


def answer_schema() -> dict[str, Any]:
    """The first call when no tool is needed: just the answer."""
    return _object(answer=_string(ANSWER_CHARS))


def route_schema(tool_names: Iterable[str], max_steps: int) -> dict[str, Any]:
    """The first call's choice: answer now, or plan steps with tools."""
    return {"anyOf": [answer_schema(), steps_schema(tool_names, max_steps)]}


def route_steps(out: RouteOutput, known: set[str]) -> list[PlanStep]:
    """Route steps as plan steps (an unknown tool name never gets this far: the schema lists them)."""
    return [PlanStep(intent=s.do, tools=[s.tool] if s.tool in known else []) for s in out.steps]


def plan_schema(tools: ToolRegistry, max_steps: int) -> dict[str, Any]:
    """A plan as intents with their expected tools (``PlanOutput``)."""
    tool_list = {"type": "array", "maxItems": 4, "items": {"enum": tools.names()}}
    step = _object(intent=_string(INTENT_CHARS), tools=tool_list)
    return _object(steps={"type": "array", "minItems": 1, "maxItems": max_steps, "items": step})


VERDICT_SCHEMA: dict[str, Any] = _object(verdict={"enum": ["accept", "retry", "replan"]}, reason=_string(REASON_CHARS))


__all__ = [
    "NO_TOOL",
    "VERDICT_SCHEMA",
    "ActionOutput",
    "PlanOutput",
    "RouteOutput",
    "RouteStep",
    "ToolCallOutput",
    "VerdictOutput",
    "answer_schema",
    "decode_output",
    "plan_schema",
    "route_schema",
    "route_steps",
    "steps_schema",
]
