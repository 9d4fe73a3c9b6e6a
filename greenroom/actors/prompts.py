"""The agent loop's prompts: one system prefix for every call of a task, short purpose lines after it.

The offline default is a 135M model on a CPU, where every prompt token costs
time (about 3 ms to prefill, 80 ms to generate). Every call of a task — the
route, each round, the verdict, the answer - starts with the same system
message (who the assistant is and its tools, one compact line each), so the
backend's prefix cache serves it after the first call; what differs comes after.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# Re-exported for the callers that build requests (schemas live in ``schemas``).
from greenroom.actors.schemas import (
    VERDICT_SCHEMA,
    ActionOutput,
    PlanOutput,
    RouteOutput,
    VerdictOutput,
    decode_output,
    plan_schema,
    route_schema,
)
from greenroom.models.backend import Message
from greenroom.tools.registry import ToolRegistry
from greenroom.tools.spec import ToolSpec


def tool_line(tool: ToolSpec) -> str:
    """``name(arg, optional?): description`` — the smallest form that still names every argument."""
    schema: dict[str, Any] = tool.schema()
    props = schema.get("properties", {}) if isinstance(schema, dict) else {}
    required = set(schema.get("required", [])) if isinstance(schema, dict) else set()
    args = ", ".join(name if name in required else f"{name}?" for name in props)
    return f"{tool.name}({args}): {tool.description}"


def system_message(tools: Iterable[ToolSpec]) -> Message:
    """The system prefix every call of a task shares."""
    lines = "\n".join(tool_line(t) for t in tools)
    return Message(
        "system",
        "You are greenroom, a helpful assistant on the user's computer. Be brief and correct. "
        "Use a tool for anything you cannot know yourself (the time, files, memory, the web). "
        f"Reply in JSON.\nTools:\n{lines}",
    )


def user_message(text: str, context: str = "") -> Message:
    """The call's own part, after the task's context (conversation, images, memories: ``actors/grounding.py``).

    The context comes first and is the same for every call of a task, so the prefix cache keeps it too.
    """
    return Message("user", f"{context}\n\n{text}" if context else text)


def route_messages(goal: str, tools: ToolRegistry, context: str = "", *, answer_only: bool = False) -> list[Message]:
    """The first call: answer the goal now, or (unless ``answer_only``) list the steps that need tools."""
    user = f"Question: {goal}\nAnswer with one short, correct sentence."
    if not answer_only:
        user += " Or, if it needs tools, give the steps with the tool each needs."
    return [system_message(tools), user_message(user, context)]


def plan_messages(goal: str, tools: ToolRegistry, feedback: str = "", context: str = "") -> list[Message]:
    """A plan (``plan_schema``), after feedback when it is a replan."""
    user = f"Task: {goal}"
    if feedback:
        user += f"\nDone so far:\n{feedback}\nPlan the remaining steps."
    else:
        user += "\nPlan as few steps as possible."
    return [system_message(tools), user_message(user, context)]


def action_messages(
    goal: str,
    intent: str,
    tools: ToolRegistry,
    done: str,
    observations: list[str],
    *,
    must_call: Iterable[str] = (),
    note: str = "",
    context: str = "",
) -> list[Message]:
    """One round of a step: call tools, or finish the step with its result."""
    user = f"Task: {goal}\nStep: {intent}"
    if done:
        user += f"\nEarlier steps:\n{done}"
    if observations:
        user += "\nTool results:\n" + "\n".join(observations)
    if note:
        user += f"\nNote: {note}"
    named = list(must_call)
    user += f"\nCall {' or '.join(named)}." if named else "\nCall tools, or finish the step with its result."
    return [system_message(tools), user_message(user, context)]


def verdict_messages(
    goal: str, intent: str, result: str, evidence: str, tools: ToolRegistry, context: str = ""
) -> list[Message]:
    """The Critic's check: the step's claimed result beside what its tools really returned."""
    user = f"Task: {goal}\nStep: {intent}\nResult: {result}\nTools run in this step:\n{evidence or '(none)'}"
    user += "\nDid the step do what it says? accept, retry, or replan (say why)."
    return [system_message(tools), user_message(user, context)]


def answer_messages(goal: str, done: str, tools: ToolRegistry, context: str = "") -> list[Message]:
    """The final answer from the steps' results."""
    return [system_message(tools), user_message(f"Task: {goal}\nResults:\n{done}\nAnswer the task briefly.", context)]


__all__ = [
    "VERDICT_SCHEMA",
    "ActionOutput",
    "PlanOutput",
    "RouteOutput",
    "VerdictOutput",
    "action_messages",
    "answer_messages",
    "decode_output",
    "plan_messages",
    "plan_schema",
    "route_messages",
    "route_schema",
    "system_message",
    "tool_line",
    "user_message",
    "verdict_messages",
]
