"""Reminders: "remind me to call mom in 10 minutes" becomes a task that, when its time
comes, only says so. The ``reminders.set`` tool.

The 135M model asked "Remind me to call mom in 10 minutes" answered with the request
itself and set nothing. A goal that opens with "remind me" (or says the time first: "in an
hour, remind me to ...") is therefore routed to this tool by its shape alone (see
``routing.ToolRouter``), and its words become the arguments (:func:`reminder_in`):
``reminder`` ("call mom") and ``reminder_time`` ("in 10 minutes"), so no model call
is made.

The tool reads the time (``reminder_times``: ``dateparser`` and our rules around it)
and submits a delayed task marked as a reminder; like every write, it asks first.
When that task runs it does nothing but finish with "Reminder: call mom"
(``actors/decide.py``): what a reminder says is never run as a goal.
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta
from typing import Annotated

import msgspec

from greenroom.tools.reminder_times import names_time, time_at
from greenroom.tools.spec import ToolContext, ToolError, ToolSpec

REMINDERS_TOOL_NAME = "reminders.set"
MAX_WHAT = 300
"""Characters a reminder's text takes at most."""
MAX_WHEN = 80
MAX_AHEAD_S = 366 * 24 * 3600.0
"""How far ahead a reminder may be set (a year)."""
NO_TIME = "(no time given)"
"""``reminder_time`` pinned for a reminder whose words give no time: the tool then says to give one (the
model, left to write it, would make one up)."""

_LEAD = r"^(?:(?:please|ok|hey|so)[,\s]+)?(?:(?:can|could|would|will) you\s+)?(?:please\s+)?"
_ASK = r"remind me\b(?:\s*(?P<how>to|about|that|of)\b)?[\s:,]*"
_OPENS = re.compile(_LEAD + _ASK + r"(?P<rest>.*?)[\s.!?]*$", re.IGNORECASE | re.DOTALL)
_ENDS = re.compile(
    _LEAD + r"(?P<when>(?:in|at|on|tomorrow|tonight|next|this)\b.{0,60}?)[,\s]+" + _ASK + r"(?P<what>.*?)[\s.!?]*$",
    re.IGNORECASE | re.DOTALL,
)
_ASKS = re.compile(r"\bremind me\b", re.IGNORECASE)
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
    reminder: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_WHAT)]
    """What to remind the person of, as they said it: "call mom"."""
    reminder_time: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_WHEN)]
    """When, in words or ISO 8601: "in 10 minutes", "at 5pm", "tomorrow at 9am", "2026-12-04T17:00"."""


def reminder_in(text: str) -> tuple[str, str] | None:
    """``(what, when)`` when ``text`` asks for a reminder; ``when`` is ``""`` if it says no time.

    "Remind me to call mom in 10 minutes" -> ("call mom", "in 10 minutes"). The time is
    the shortest tail, opening with a word, that reads as the same moment as the longest
    ("meet Anna at the station at 5pm" keeps "at the station", "sign in at 9am" "in").
    Without a time, only "remind me to <do something>" is a reminder (the planner then
    asks when: ``reminder_without_time``); "remind me of my wifi password" or "remind
    me what I said" are questions for memory.
    """
    text = text.strip()
    if not text or len(text) > MAX_WHAT + MAX_WHEN + 40 or _ASKS.search(text) is None:
        return None
    found = _time_first(text) or _time_last(text)
    if found is None or not found[0] or len(found[0]) > MAX_WHAT:
        return None
    return found


def _time_first(text: str) -> tuple[str, str] | None:
    """ "In an hour, remind me to stretch", "remind me in 10 minutes to call mom"."""
    lead = _ENDS.match(text)
    if lead is not None and lead.group("what") and _reads_as_time(lead.group("when")):
        return lead.group("what").strip(), lead.group("when").strip()
    opens = _OPENS.match(text)
    rest = "" if opens is None or opens.group("how") else opens.group("rest").strip()
    for split in _WHAT_START.finditer(rest):
        when, what = rest[: split.start()].strip(), rest[split.end() :].strip(" ,")
        if what and _reads_as_time(when):
            return what, when
    return None


def _time_last(text: str) -> tuple[str, str] | None:
    """ "remind me to call mom in 10 minutes", or with no time: "remind me to water the plants"."""
    opens = _OPENS.match(text)
    if opens is None:
        return None
    rest = opens.group("rest").strip(" ,:")
    if not rest or _QUESTION.match(rest):  # "remind me what I said about Anna": a question for memory
        return None
    now = datetime.now()
    tails = [(split, _time(rest[split.end() :].strip(), now)) for split in _WHEN_START.finditer(rest)]
    moments = [(split, moment) for split, moment in tails if moment is not None and rest[: split.start()].strip()]
    if moments:
        longest = moments[0][0]
        same = [s for s, moment in moments if moment == moments[0][1]]
        # Words dropped from the front must say nothing of time ("in" of "sign in at 9am", not
        # "tomorrow"), and the tail opens with a word ("at 5pm", not "5pm").
        kept = [s for s in same if not names_time(rest[longest.end() : s.start()]) and not rest[s.end()].isdigit()]
        split = (kept or [longest])[-1]
        return rest[: split.start()].strip(" ,"), rest[split.end() :].strip()
    how = (opens.group("how") or "").lower()
    return (rest, "") if how == "to" else None  # "remind me of my wifi password": no reminder


def reminder_without_time(goal: str) -> str:
    """What to answer a goal that asks for a reminder but says no time (asking when); "" otherwise."""
    found = reminder_in(goal)
    if found is None or found[1]:
        return ""
    return (
        f"When should I remind you to {found[0]}? Ask again with a time, as in "
        f'"remind me to {found[0]} at 6pm" or "... in 2 hours".'
    )


def when_at(when: str, now: float) -> float:
    """The Unix time ``when`` (words or ISO 8601) names, after ``now``.

    Raises:
        ToolError: it names no time, a time already past, or one more than a year ahead.
    """
    if not when.strip() or when == NO_TIME:
        raise ToolError("the reminder says no time: say when, as in 'in 10 minutes', 'at 5pm' or 'tomorrow at 9am'")
    moment = _time(when, datetime.fromtimestamp(now))
    try:
        at = moment.timestamp() if moment is not None else None
    except (ValueError, OverflowError, OSError):  # year 1, or past what the platform's clock holds
        at = None
    if at is None:
        raise ToolError(f"{when!r} is not a time: say 'in 10 minutes', 'at 5pm' or 'tomorrow at 9am'")
    if at <= now:
        raise ToolError(f"{when!r} is already past ({_shown(at, now)})")
    if at - now > MAX_AHEAD_S:
        raise ToolError(f"{when!r} is more than a year ahead ({_shown(at, now)})")
    return at


def _time(when: str, now: datetime) -> datetime | None:
    return time_at(when, now) if when and len(when) <= MAX_WHEN else None


def _reads_as_time(when: str) -> bool:
    return _time(when, datetime.now()) is not None


def _shown(at: float, now: float) -> str:
    """When, as said after "I'll remind you": "at 09:40", "tomorrow at 08:00", "on Fri 11 Dec 2026 at 09:00"."""
    moment = datetime.fromtimestamp(at)
    today = datetime.fromtimestamp(now).date()
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
    what = args.reminder.strip()
    task_id, at = ctx.tasks.remind(what, when_at(args.reminder_time, now), key=ctx.call_id)
    return f"I'll remind you {_shown(at, now)} (in {_in(at - now)}): {what} [{task_id}]"


REMINDERS_TOOL = ToolSpec(
    REMINDERS_TOOL_NAME,
    "Set a reminder: at the time given, the daemon says what to remember (it does nothing else).",
    ReminderArgs,
    _set,
    "write",
    idempotent=True,  # the task it submits is keyed by the call: run again, it finds that task
    memorable=False,
)

__all__ = [
    "NO_TIME",
    "REMINDERS_TOOL",
    "REMINDERS_TOOL_NAME",
    "ReminderArgs",
    "reminder_in",
    "reminder_without_time",
    "when_at",
]
