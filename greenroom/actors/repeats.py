"""A tool call asked for again: which earlier call it repeats, and whether to reuse that outcome.

Pure functions over a task's folded state, for ``decide``:

- identical calls in one round get one answer: the first is decided (and run, or
  asked about), the others wait for it and repeat its outcome;
- a call identical to an earlier one that was refused (denied by policy, or
  declined or left unanswered by the person) is not decided or asked again: the
  answer would be the same no;
- a round in which every call repeats a refused one ends the step: the model is
  stuck asking for what it cannot have, and more rounds would only ask again.
"""

from __future__ import annotations

import hashlib
import json

from greenroom.actors.task_state import TaskState
from greenroom.bus.events import ToolRequested, ToolResult


def confirmation_id(key: str) -> str:
    """A short, stable id for the question identified by ``key``."""
    return "c-" + hashlib.sha1(key.encode()).hexdigest()[:8]


def signature(call: ToolRequested) -> str:
    """The tool and its arguments: what makes two calls the same call."""
    return call.tool + " " + json.dumps(call.args, sort_keys=True, ensure_ascii=False)


def call_index(call: ToolRequested) -> int:
    """The call's place in its round (the last part of its id)."""
    return int(call.call_id.rsplit(":", 1)[-1])


def twin(s: TaskState, call: ToolRequested) -> str | None:
    """The first identical call earlier in the same round (asking twice at once gets one answer)."""
    mine = signature(call)
    for other in sorted(s.requests.get((call.step, call.round), ()), key=call_index):
        if call_index(other) >= call_index(call):
            return None
        if signature(other) == mine:
            return other.call_id
    return None


def earlier_identical(s: TaskState, call: ToolRequested) -> str | None:
    """An earlier call of this task with the same tool and arguments that has a result."""
    mine = signature(call)
    for calls in s.requests.values():
        for other in calls:
            if other.call_id != call.call_id and other.call_id in s.results and signature(other) == mine:
                return other.call_id
    return None


def refused(s: TaskState, call_id: str) -> bool:
    """Whether the call was denied by policy, or declined (or left unanswered) by the person."""
    decided = s.decided.get(call_id)
    if decided is None or decided.decision == "allow":
        return False
    if decided.decision == "deny":
        return True
    asked = s.asked.get(confirmation_id(call_id))
    return asked is not None and asked.answer is not None and not asked.answer.approved


def repeat_of(s: TaskState, call: ToolRequested, earlier: str) -> ToolResult:
    """``call``'s result: ``earlier``'s outcome, naming the call that really ran or was refused."""
    prev = s.results[earlier]
    return ToolResult(
        call_id=call.call_id,
        tool=call.tool,
        ok=prev.ok,
        output=prev.output,
        error=prev.error,
        repeated_of=prev.repeated_of or earlier,
    )


def refused_again(s: TaskState, calls: list[ToolRequested]) -> str | None:
    """The step's result when every call of the round (all with results) repeats a refused
    one; else None."""
    firsts = [s.results[c.call_id].repeated_of for c in calls]
    if not calls or not all(first and refused(s, first) for first in firsts):
        return None
    first = s.results[firsts[0]]
    args = json.dumps(calls[0].args, ensure_ascii=False)
    return f"stopped: asked again for a refused call: {first.tool} {args}: {first.error}"


__all__ = [
    "call_index",
    "confirmation_id",
    "earlier_identical",
    "refused",
    "refused_again",
    "repeat_of",
    "signature",
    "twin",
]
