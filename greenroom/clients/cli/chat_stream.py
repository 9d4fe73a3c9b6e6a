"""Streaming an answer into the terminal: which chunks are the answer, and the answer inside the
first call's JSON as far as it is written."""

from __future__ import annotations

import json
import re

from greenroom.clients.cli.common import out, out_part

ANSWER_CALLS = (":answer",)
"""Generations whose tokens are the answer (streamed as they come); other model output is internal."""
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
ROUTE_CALLS = (":plan",)
"""The first call, whose JSON may carry the answer directly (its ``answer`` streams)."""


class AnswerView:
    """What the current answer has shown so far."""

    def __init__(self) -> None:
        self.streaming = False
        """A streamed answer's line is open."""
        self.streamed = ""
        self.route = ""

    def stream(self, text: str) -> None:
        if not self.streaming:
            out_part("greenroom> ")
            self.streaming = True
        self.streamed += text
        out_part(text)

    def end_line(self) -> None:
        if self.streaming:
            out()
            self.streaming = False

    def line(self, text: str) -> None:
        self.end_line()
        out(text)

    def reset(self) -> None:
        self.end_line()
        self.streamed = self.route = ""

    def finish(self, answer: str) -> None:
        """The final answer: what was streamed, completed (citations), or shown whole if it differs.

        The answer is the streamed text stripped: a space streamed at its end is no difference.
        """
        shown = self.streamed.rstrip()
        if self.streaming and answer.startswith(shown):
            rest = answer[len(shown) :]
            out_part(rest.lstrip() if shown != self.streamed else rest)
            self.end_line()
        else:
            self.line(f"greenroom> {answer}")


def partial_json_string(text: str, key: str) -> str | None:
    """The value of ``key`` in a JSON object being written, as far as it is written (None before it starts).

    ``{"answer": "Par`` gives ``Par``; escapes are decoded once complete.
    """
    found = re.search(r'"' + re.escape(key) + r'"\s*:\s*"', text)
    if found is None:
        return None
    raw = text[found.end() :]
    end = len(raw)
    i = 0
    while i < len(raw):
        if raw[i] == "\\":
            if i + 1 >= len(raw) or (raw[i + 1] == "u" and i + 6 > len(raw)):
                end = i  # an escape not complete yet
                break
            i += 6 if raw[i + 1] == "u" else 2
            continue
        if raw[i] == '"':
            end = i
            break
        i += 1
    try:
        value = str(json.loads('"' + raw[:end] + '"', strict=False))
    except ValueError:  # not JSON after all: nothing to stream (the final answer is shown whole)
        return None
    if value and "\ud800" <= value[-1] <= "\udbff":
        value = value[:-1]  # half of a surrogate pair: the other half is on its way
    return _LONE_SURROGATE.sub("\ufffd", value)


__all__ = ["ANSWER_CALLS", "ROUTE_CALLS", "AnswerView", "partial_json_string"]
