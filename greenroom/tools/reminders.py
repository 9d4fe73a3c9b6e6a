"""Reminders: "remind me to call mom in 10 minutes" becomes a task that, when its time
comes, only says so. The ``reminders.set`` tool.

The 135M model asked "Remind me to call mom in 10 minutes" answered with the request
itself and set nothing. A goal that opens with "remind me" (or ends with it: "in an
hour, remind me to ...") is therefore routed to this tool by its shape alone (see
``routing.ToolRouter``), and its words become the arguments (:func:`reminder_in`):
``what`` ("call mom") and ``when`` ("in 10 minutes"), so no model call is made.

The tool reads ``when`` with ``dateparser`` (a maintained parser of dates and times
said in words: "in 10 minutes", "at 5pm", "tomorrow at 9am", "tonight"; an ISO time
too), relative to now and preferring the future, and submits a delayed task marked as
a reminder. When that task runs it does nothing but finish with "Reminder: call mom"
(``actors/decide.py``): what a reminder says is never run as a goal, so a reminder
that text from a web page set cannot act.
"""

from __future__ import annotations

import functools
import re
import time
from datetime import datetime, timedelta
from typing import Annotated, Any

import msgspec

from greenroom.tools.spec import ToolContext, ToolError, ToolSpec

REMINDERS_TOOL_NAME = "reminders.set"
MAX_WHAT = 300
"""Characters a reminder's text takes at most."""
MAX_WHEN = 80
MAX_AHEAD_S = 366 * 24 * 3600.0
"""How far ahead a reminder may be set (a year)."""
NO_TIME = "(no time given)"
"""``when`` pinned for a reminder whose words give no time: the tool then says to give one (the
model, left to write it, would make one up)."""

_LEAD = r"^(?:(?:please|ok|hey|so)[,\s]+)?(?:(?:can|could|would|will) you\s+)?(?:please\s+)?"
_ASK = r"remind me(?:\s+(?:to|about|that|of)\b)?"
_OPENS = re.compile(_LEAD + _ASK + r"\s*(?P<rest>.*?)[\s.!?]*$", re.IGNORECASE | re.DOTALL)
_ENDS = re.compile(
    _LEAD + r"(?P<when>(?:in|at|on|tomorrow|tonight|next|this)\b.{0,60}?)[,\s]+" + _ASK + r"\s*(?P<what>.*?)[\s.!?]*$",
    re.IGNORECASE | re.DOTALL,
)
_WHEN_START = re.compile(
    r"\s(?=(?:in|at|on|by|tomorrow|tonight|today|next|this|noon|midnight)\b)"
    r"|\s(?=(?:\d{1,2}(?::\d{2})?\s*(?:am|pm)|\d{1,2}:\d{2})\b)",
    re.IGNORECASE,
)
"""Where a time may start inside "call mom in 10 minutes": before one of these words."""
_QUESTION = re.compile(r"(?:what|who|whom|whose|where|which|why|how|if|whether)\b", re.IGNORECASE)
_WHAT_START = re.compile(r"[,\s]+(?:to|about|that|of)\s+", re.IGNORECASE)
"""Where what to remind of starts after a time said first: "in 10 minutes to call mom"."""


class ReminderArgs(msgspec.Struct, forbid_unknown_fields=True):
    what: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_WHAT)]
    """What to remind the person of, as they said it: "call mom"."""
    when: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_WHEN)]
    """When, in words or ISO 8601: "in 10 minutes", "at 5pm", "tomorrow at 9am", "2026-12-04T17:00"."""


def reminder_in(text: str) -> tuple[str, str] | None:
    """``(what, when)`` when ``text`` asks for a reminder; ``when`` is ``""`` if it says no time.

    "Remind me to call mom in 10 minutes" -> ("call mom", "in 10 minutes"); the time is
    the longest tail that reads as one ("at the station at 5pm" keeps "at the station").
    """
    text = text.strip()
    if not text or len(text) > MAX_WHAT + MAX_WHEN + 40 or "remind me" not in text.lower():
        return None
    if (lead := _ENDS.match(text)) is not None and lead.group("what") and _reads_as_time(lead.group("when")):
        return lead.group("what").strip(), lead.group("when").strip()
    opens = _OPENS.match(text)
    if opens is None:
        return None
    rest = opens.group("rest").strip()
    if _QUESTION.match(rest):  # "remind me what I said about Anna": a question for memory, not a reminder
        return None
    for split in _WHEN_START.finditer(rest):
        what, when = rest[: split.start()].strip(" ,"), rest[split.end() :].strip()
        if what and _reads_as_time(when):
            return what, when
    for split in _WHAT_START.finditer(rest):
        when, what = rest[: split.start()].strip(), rest[split.end() :].strip(" ,")
        if what and _reads_as_time(when):
            return what, when
    return (rest, "") if rest else None


def when_at(when: str, now: float) -> float:
    """The Unix time ``when`` (words or ISO 8601) names, after ``now``.

    Raises:
        ToolError: it names no time, a time already past, or one more than a year ahead.
    """
    if not when.strip() or when == NO_TIME:
        raise ToolError("the reminder says no time: say when, as in 'in 10 minutes', 'at 5pm' or 'tomorrow at 9am'")
    parsed = _parse(when, now)
    if parsed is None:
        raise ToolError(f"{when!r} is not a time: say 'in 10 minutes', 'at 5pm' or 'tomorrow at 9am'")
    at = parsed.timestamp()
    if at <= now:
        raise ToolError(f"{when!r} is already past ({_shown(at)})")
    if at - now > MAX_AHEAD_S:
        raise ToolError(f"{when!r} is more than a year ahead ({_shown(at)})")
    return at


def _reads_as_time(when: str) -> bool:
    return bool(when) and len(when) <= MAX_WHEN and _parse(when, time.time()) is not None


def _parse(when: str, now: float) -> datetime | None:
    settings = {"PREFER_DATES_FROM": "future", "RELATIVE_BASE": datetime.fromtimestamp(now), "STRICT_PARSING": False}
    try:
        return _parser()(when.strip(), languages=["en"], settings=settings)  # type: ignore[no-any-return]
    except (ValueError, OverflowError, TypeError, RecursionError):  # what dateparser raises on odd input
        return None


@functools.cache
def _parser() -> Any:
    import dateparser  # ~0.07 s, and ~0.1 s for its first parse: only once a reminder is asked for

    return dateparser.parse


def _shown(at: float) -> str:
    """When, as said after "I'll remind you": "at 09:40", "tomorrow at 08:00", "on Fri 11 Dec 2026 at 09:00"."""
    moment = datetime.fromtimestamp(at)
    today = datetime.now().date()
    clock = moment.strftime("%H:%M")
    if moment.date() == today:
        return f"at {clock}"
    if moment.date() == today + timedelta(days=1):
        return f"tomorrow at {clock}"
    return moment.strftime("on %a %d %b %Y at %H:%M")


def _in(seconds: float) -> str:
    minutes = round(seconds / 60)
    if minutes < 1:
        return f"{max(1, round(seconds))} s"
    if minutes < 120:
        return f"{minutes} min"
    hours = minutes / 60
    return f"{hours:.0f} h" if hours < 48 else f"{hours / 24:.0f} days"


def _set(ctx: ToolContext, args: ReminderArgs) -> str:
    if ctx.tasks is None:
        raise ToolError("reminders need the daemon's scheduler, which this tool run has no access to")
    now = time.time()
    at = when_at(args.when, now)
    what = args.what.strip()
    task_id = ctx.tasks.submit(what, at, key=ctx.call_id, reminder=True)
    return f"I'll remind you {_shown(at)} (in {_in(at - now)}): {what} [{task_id}]"


REMINDERS_TOOL = ToolSpec(
    REMINDERS_TOOL_NAME,
    "Set a reminder: at the time given, the daemon says what to remember (it does nothing else).",
    ReminderArgs,
    _set,
    "write",
    idempotent=True,  # the task it submits is keyed by the call: run again, it finds that task
    memorable=False,
)

__all__ = ["NO_TIME", "REMINDERS_TOOL", "REMINDERS_TOOL_NAME", "ReminderArgs", "reminder_in", "when_at"]
