"""The agent loop's prompts: one system prefix for every call of a task, short purpose lines after it.

The offline default is a 135M model on a CPU, where every prompt token costs
time (about 3 ms to prefill, 80 ms to generate). Every call of a task — the
route, each round, the verdict, the answer - starts with the same system
message (who the assistant is and its tools, one compact line each), so the
backend's prefix cache serves it after the first call; what differs comes after.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
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


ANSWER_LINE = "Answer with one short, correct sentence."


def question(goal: str) -> str:
    """How the first call asks a goal (and how a chat's earlier messages are shown: the same words)."""
    return f"Question: {goal}\n{ANSWER_LINE}"


def answered(text: str) -> str:
    """An earlier answer as the first call would have written it."""
    return json.dumps({"answer": text}, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class Context:
    """What every call of a task starts with (``actors/grounding.py``): the chat's earlier turns as chat
    messages, then a text block (images seen, memories) at the head of the call's own message.

    The earlier turns go in as turns, not as a transcript inside one message: asked "Question: What is
    the capital of Germany?" under a transcript that says "Assistant: Paris", the 135M default copies
    "Paris"; after the same exchange as real turns it answers "Berlin" (8 of 10 follow-ups right, 3 of
    10 with the transcript).
    """

    turns: tuple[Message, ...] = ()
    text: str = ""

    def plus(self, text: str) -> Context:
        """This context with ``text`` added to its block."""
        return Context(self.turns, "\n\n".join(t for t in (self.text, text) if t))


def as_context(context: Context | str) -> Context:
    return context if isinstance(context, Context) else Context(text=context)


def merged(messages: Sequence[Message]) -> list[Message]:
    """``messages`` with neighbours of one role joined: templates that insist on alternating roles
    accept them, and an unanswered turn reads as part of the next."""
    out: list[Message] = []
    for m in messages:
        if out and out[-1].role == m.role and not out[-1].images and not m.images:
            out[-1] = Message(m.role, f"{out[-1].content}\n\n{m.content}")
        else:
            out.append(m)
    return out


def user_message(text: str, context: Context | str = "") -> Message:
    """The call's own part, after the task's context block (images, memories: ``actors/grounding.py``).

    The context comes first and is the same for every call of a task, so the prefix cache keeps it too.
    """
    block = as_context(context).text
    return Message("user", f"{block}\n\n{text}" if block else text)


def call_messages(tools: Iterable[ToolSpec], text: str, context: Context | str = "") -> list[Message]:
    """The system prefix, the conversation's turns, then the call's own message."""
    ctx = as_context(context)
    return merged([system_message(tools), *ctx.turns, user_message(text, ctx)])


def route_messages(
    goal: str, tools: ToolRegistry, context: Context | str = "", *, answer_only: bool = False
) -> list[Message]:
    """The first call: answer the goal now, or (unless ``answer_only``) list the steps that need tools."""
    user = question(goal)
    if not answer_only:
        user += " Or, if it needs tools, give the steps with the tool each needs."
    return call_messages(tools, user, context)


def plan_messages(goal: str, tools: ToolRegistry, feedback: str = "", context: Context | str = "") -> list[Message]:
    """A plan (``plan_schema``), after feedback when it is a replan."""
    user = f"Task: {goal}"
    if feedback:
        user += f"\nDone so far:\n{feedback}\nPlan the remaining steps."
    else:
        user += "\nPlan as few steps as possible."
    return call_messages(tools, user, context)


def action_messages(
    goal: str,
    intent: str,
    tools: ToolRegistry,
    done: str,
    observations: list[str],
    *,
    must_call: Iterable[str] = (),
    note: str = "",
    context: Context | str = "",
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
    return call_messages(tools, user, context)


def verdict_messages(
    goal: str, intent: str, result: str, evidence: str, tools: ToolRegistry, context: Context | str = ""
) -> list[Message]:
    """The Critic's check: the step's claimed result beside what its tools really returned."""
    user = f"Task: {goal}\nStep: {intent}\nResult: {result}\nTools run in this step:\n{evidence or '(none)'}"
    user += "\nDid the step do what it says? accept, retry, or replan (say why)."
    return call_messages(tools, user, context)


def answer_messages(goal: str, done: str, tools: ToolRegistry, context: Context | str = "") -> list[Message]:
    """The final answer from the steps' results."""
    return call_messages(tools, f"Task: {goal}\nResults:\n{done}\nAnswer the task briefly.", context)


__all__ = [
    "ANSWER_LINE",
    "VERDICT_SCHEMA",
    "ActionOutput",
    "Context",
    "PlanOutput",
    "RouteOutput",
    "VerdictOutput",
    "action_messages",
    "answer_messages",
    "answered",
    "as_context",
    "call_messages",
    "decode_output",
    "merged",
    "plan_messages",
    "plan_schema",
    "question",
    "route_messages",
    "route_schema",
    "system_message",
    "tool_line",
    "user_message",
    "verdict_messages",
]
