"""Never claim what did not happen: a result that says it acted needs a tool that did.

A small model readily writes "The text has been written to the file" having
called nothing. ``unsupported_claim`` reads a step's result (or a direct
answer) for the actions it claims and holds them against the tool calls that
really succeeded in that step: a write, save, delete or send needs a tool with
side effects; a read, fetch or listing needs any tool. It is deliberately
simple (words, not meaning); what it catches is never accepted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_CHANGE = (
    r"wrote|written|write[sd]?|saved|created|deleted|removed|updated|appended|stored|remembered|sent|moved|"
    r"copied|renamed"
)
_LOOK = r"read|opened|fetched|downloaded|listed|searched|looked up|checked"
_SUBJECT = r"(?:\b(?:has been|have been|was|were|is now|are now|i|i've|i have|successfully)\s+|^\s*|[.!?]\s+)"
_CHANGE_RE = re.compile(rf"{_SUBJECT}(?:{_CHANGE})\b", re.IGNORECASE)
_LOOK_RE = re.compile(rf"{_SUBJECT}(?:{_LOOK})\b", re.IGNORECASE)
_NEGATED = re.compile(r"\b(?:not|never|couldn't|could not|cannot|can't|didn't|did not|unable)\b", re.IGNORECASE)


def unsupported_claim(text: str, succeeded: Iterable[str]) -> str | None:
    """What ``text`` claims that no successful call in ``succeeded`` (their side effects) backs, or None.

    Args:
        text: the step's result or the direct answer.
        succeeded: the side effects (``none``, ``read``, ``write``, ``external``) of each call that
            succeeded in the step.
    """
    if _NEGATED.search(text):
        return None  # "could not write the file" claims nothing
    kinds = set(succeeded)
    change = _CHANGE_RE.search(text)
    if change and not kinds & {"write", "external"}:
        return f"it says {change.group(0).strip(' .!?')!r}, but no tool that changes anything ran"
    look = _LOOK_RE.search(text)
    if look and not kinds:
        return f"it says {look.group(0).strip(' .!?')!r}, but no tool ran"
    return None
