"""Prompts and output schemas of the agent loop.

Prompts are short on purpose: the offline default is a 135M model on a CPU,
where every prompt token costs time. Structured outputs are decoded under the
schemas below, so they always parse; the Structs validate them once more.
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar

import msgspec

from greenroom.actors.base import CallFailed
from greenroom.bus.events import PlanStep, Verdict
from greenroom.models.backend import Message
from greenroom.tools.registry import ToolRegistry

T = TypeVar("T")


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


def decode_output(text: str, type_: type[T], what: str) -> T:
    """Decode a model's structured output.

    Raises:
        CallFailed: it does not parse (say, generation hit max_tokens mid-object).
    """
    try:
        return msgspec.json.decode(text, type=type_)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise CallFailed(
            "bad_model_output", f"the model's {what} was not valid ({exc}); it said: {text[:200]!r}"
        ) from None


def _string(max_len: int) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": max_len}


def plan_schema(tools: ToolRegistry, max_steps: int) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "steps": {
                "type": "array",
                "minItems": 1,
                "maxItems": max_steps,
                "items": {
                    "type": "object",
                    "properties": {
                        "intent": _string(120),
                        "tools": {"type": "array", "maxItems": 4, "items": {"enum": tools.names()}},
                    },
                    "required": ["intent", "tools"],
                    "additionalProperties": False,
                },
            }
        },
        "required": ["steps"],
        "additionalProperties": False,
    }


VERDICT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"verdict": {"enum": ["accept", "retry", "replan"]}, "reason": _string(160)},
    "required": ["verdict", "reason"],
    "additionalProperties": False,
}


def _tool_lines(tools: ToolRegistry) -> str:
    return "\n".join(f"- {t.name}: {t.description}" for t in tools)


def plan_messages(goal: str, tools: ToolRegistry, feedback: str = "") -> list[Message]:
    system = (
        "You plan tasks for a local assistant. Split the goal into as few steps as possible "
        "(usually one). Tools:\n" + _tool_lines(tools) + "\nReply in JSON."
    )
    user = f"Goal: {goal}"
    if feedback:
        user += f"\nProgress so far:\n{feedback}\nPlan the remaining steps."
    return [Message("system", system), Message("user", user)]


def action_messages(goal: str, intent: str, tools: ToolRegistry, done: str, observations: list[str]) -> list[Message]:
    system = (
        "You carry out one step of a task. Either call tools or finish the step with its result. "
        "Tools:\n" + _tool_lines(tools) + "\nReply in JSON."
    )
    user = f"Goal: {goal}\nStep: {intent}"
    if done:
        user += f"\nEarlier steps:\n{done}"
    if observations:
        user += "\nTool results:\n" + "\n".join(observations) + "\nFinish the step if you can."
    return [Message("system", system), Message("user", user)]


def verdict_messages(goal: str, intent: str, result: str) -> list[Message]:
    system = (
        "You check the work of an assistant. Did the step achieve its intent? "
        "accept if yes, retry if it should try again, replan if the plan was wrong. Reply in JSON."
    )
    return [
        Message("system", system),
        Message("user", f"Goal: {goal}\nStep: {intent}\nResult: {result}"),
    ]


def answer_messages(goal: str, done: str) -> list[Message]:
    return [
        Message("system", "You are a helpful assistant. Answer briefly using the results."),
        Message("user", f"Results:\n{done}\n\nTask: {goal}"),
    ]
