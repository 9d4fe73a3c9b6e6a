"""What a ``viewer`` does not see: the arguments of sensitive tool calls.

A tool is *sensitive* when the policy would not let it run unasked by default:
it changes something (``write``/``external`` side effects), runs commands
(``shell``) or reaches the network (a URL can carry private data). A tool the
daemon does not know is sensitive too. For such calls a viewer sees that the
call happened, its tool, the decision and whether it worked, but not:

- ``tool.requested.args`` and ``confirmation.asked.args`` (replaced by ``{"redacted": true}``),
- the resolved paths in ``tool.decided`` and ``confirmation.asked`` (emptied),
- ``confirmation.asked.question`` (it quotes the arguments),
- ``tool.result.output`` (a write's diff is its content),
- and the text the model wrote to choose tool calls (``llm.chunk``/``llm.finished``
  of a ``step:N:round:R`` request), since it holds the same arguments.

Redaction works on decoded events before they are encoded, never on bytes.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import msgspec

from greenroom.bus import events as e
from greenroom.bus.envelope import Envelope
from greenroom.bus.protocol import PendingConfirmation, TaskView

HIDDEN_ARGS: dict[str, object] = {"redacted": True}
HIDDEN_TEXT = "(hidden from viewers)"
_ROUND = re.compile(r"(?:^|:)step:\d+:round:\d+$")

IsSensitive = Callable[[str], bool]


def _question(tool: str) -> str:
    return f"Allow {tool}? (arguments hidden from viewers)"


def redact_event(event: e.Event, sensitive: IsSensitive) -> e.Event:
    """``event`` as a viewer may see it (the same object when nothing is hidden)."""
    replace = msgspec.structs.replace
    match event:
        case e.ToolRequested(tool=tool) if sensitive(tool):
            return replace(event, args=HIDDEN_ARGS)
        case e.ConfirmationAsked(kind="tool" | "rerun", tool=tool) if sensitive(tool):
            return replace(event, args=HIDDEN_ARGS, question=_question(tool), resolved={})
        case e.ToolDecided(tool=tool) if sensitive(tool) and event.resolved:
            return replace(event, resolved={})
        case e.ToolResult(tool=tool) if sensitive(tool):
            return replace(event, output=HIDDEN_TEXT if event.output else "")
        case e.LlmChunk(request_id=rid) if _ROUND.search(rid):
            return replace(event, text="")
        case e.LlmFinished(purpose=purpose) if _ROUND.search(purpose):
            return replace(event, text=HIDDEN_TEXT)
        case _:
            return event


def redact_envelope(env: Envelope, sensitive: IsSensitive) -> Envelope:
    """``env`` with its event redacted for a viewer."""
    event = redact_event(env.event, sensitive)
    return env if event is env.event else msgspec.structs.replace(env, event=event)


def redact_task(view: TaskView, sensitive: IsSensitive) -> TaskView:
    """A copy of ``view`` whose pending confirmations hide sensitive arguments."""
    confirmations = [_redact_pending(c, sensitive) for c in view.confirmations]
    return msgspec.structs.replace(view, confirmations=confirmations)


def _redact_pending(c: PendingConfirmation, sensitive: IsSensitive) -> PendingConfirmation:
    if c.kind not in ("tool", "rerun") or not sensitive(c.tool):
        return c
    return msgspec.structs.replace(c, args=HIDDEN_ARGS, question=_question(c.tool), resolved={})
