"""A follow-up that leaves out what it repeats ("And of Germany?") made whole from the question before it.

After "What is the capital of France?", the default 135M model reads "And of
Germany?" as a question about France (it copies the answer it sees), and tool
matching reads "now do the same for last week" as needing no tool at all. What
such a message means is in its words, not a question for the model: a short
message that starts as a follow-up ("and", "what about", "how about", "the
same", "again") takes the previous question and swaps in what it names.

- a path replaces the previous question's path ("summarise ~/work");
- "of Germany" (a preposition first) replaces the previous question from its
  last "of" on ("What is the capital of Germany?"), or is added at its end when
  it has none ("list the files in ~/notes for last week");
- a bare name or number replaces what follows the previous question's last
  preposition, else its trailing name, else its last word ("How tall is K2?");
- "again" or "do the same" alone repeats the previous question.

A message that does not read as such a follow-up gives None: the goal stands as
written. The previous question is itself read this way first (follow-ups chain).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from greenroom.tools.routing import PATH_RE

MAX_WORDS = 8
"""A longer message says what it means."""
MAX_CHARS = 600
PREPOSITIONS = frozenset((
    "of", "for", "in", "on", "at", "from", "to", "with", "about", "by", "during", "since", "before", "after", "into",
    "near", "under", "over", "than", "between",
))  # fmt: skip
_FILLERS = frozenset(["and", "so", "ok", "okay", "now", "then", "also", "but", "please", "well"])
_SWAP = re.compile(r"^(?:what|how)\s+about\b\s*", re.IGNORECASE)
_SAME = re.compile(
    r"^(?:(?:do|try|repeat|make)\s+)?(?:the\s+)?same(?:\s+thing)?(?:\s+again)?\b\s*"
    r"|^(?:do|try|repeat)\s+(?:it|that|this)(?:\s+again)?\b\s*|^again$",
    re.IGNORECASE,
)
_ARTICLE = re.compile(r"^(?:the|a|an)\s+", re.IGNORECASE)
_PATH = re.compile(rf"(?<!\S)(?:~|\.{{1,2}})?/\S*[^\s?.!,;:]|{PATH_RE.pattern}")
"""A path: one that starts at a root, home or here (``~/notes``), or any the tool router sees."""
_END = re.compile(r"[\s?.!]+$")
_WORD = re.compile(r"\S+")


def _strip_fillers(text: str) -> tuple[str, bool]:
    """``text`` without its leading "and", "now", "ok," ...; whether there were any."""
    led = False
    while True:
        m = re.match(r"^([A-Za-z]+)\b[\s,]*", text)
        if not m or m.group(1).lower() not in _FILLERS:
            return text, led
        text, led = text[m.end() :], True


def _named(rest: str) -> bool:
    """What a bare follow-up names: a phrase led by a preposition, a name, a number or a path."""
    words = rest.split(maxsplit=1)
    if not words:
        return False
    first = words[0]
    if first.lower() in PREPOSITIONS:
        return True
    first = _ARTICLE.sub("", rest).split(maxsplit=1)[0] if _ARTICLE.match(rest) and len(words) > 1 else first
    if first in ("I", "I'm", "I'll", "I've", "I'd"):
        return False  # "and I see", "so I guess not": about the person, not a new subject
    return first[0].isupper() or first[0].isdigit() or first[0] in "~/." or _PATH.fullmatch(first) is not None


def _slot(message: str) -> str | None:
    """What a follow-up message puts in place of the previous question's part ("" to repeat it);
    None when the message is not read as a follow-up."""
    text = _END.sub("", " ".join(message.split()))
    if not text or len(text) > MAX_CHARS or len(_WORD.findall(text)) > MAX_WORDS:
        return None
    text, led = _strip_fillers(text)
    if m := _SWAP.match(text):
        rest = text[m.end() :]
        return rest if _named(rest) else None
    if m := _SAME.match(text):
        rest = text[m.end() :]
        return rest if not rest or _named(rest) else None
    if led and len(_WORD.findall(text)) <= 4 and _named(text) and (message.rstrip().endswith("?") or _placed(text)):
        return text  # a bare name or number only as a question: "Ok, Thank you!" is no follow-up
    return None


def _placed(rest: str) -> bool:
    """Led by a preposition ("of Germany") or a path: a follow-up even without a question mark."""
    first = rest.split(maxsplit=1)[0]
    return first.lower() in PREPOSITIONS or first[0] in "~/." or _PATH.fullmatch(first) is not None


def _last_preposition(text: str, word: str | None = None) -> re.Match[str] | None:
    """The last whole-word preposition of ``text`` (``word`` only, when given)."""
    words = [re.escape(word)] if word else sorted(PREPOSITIONS)
    found = list(re.finditer(rf"(?<!\S)({'|'.join(words)})(?=\s)", text, re.IGNORECASE))
    return found[-1] if found else None


def fill(previous: str, slot: str) -> str:
    """The previous question with ``slot`` in place of the part it replaces (see the module's rules)."""
    head = _END.sub("", " ".join(previous.split()))
    mark = "?" if previous.rstrip().endswith("?") else ""
    if not slot:
        return head + mark
    paths, path = list(_PATH.finditer(head)), _PATH.search(slot)
    if paths and path is not None:
        return head[: paths[-1].start()] + path.group(0) + head[paths[-1].end() :] + mark
    first = slot.split(maxsplit=1)[0]
    if first.lower() in PREPOSITIONS:
        at = _last_preposition(head, first.lower())
        return (head[: at.start()] + slot if at else f"{head} {slot}") + mark
    at = _last_preposition(head)
    if at is not None:
        return head[: at.end()] + " " + slot + mark
    name = re.search(r"(?:\s[A-Z][\w'-]*)+$", head)
    if name is not None:
        return head[: name.start()] + " " + slot + mark
    parts = head.rsplit(maxsplit=1)
    return (parts[0] + " " + slot if len(parts) == 2 else slot) + mark


def resolve(message: str, earlier: Sequence[str]) -> str | None:
    """``message`` as a whole question, given the person's ``earlier`` messages (oldest first);
    None when it does not read as a follow-up of the last one."""
    previous = ""
    for text in earlier:  # each earlier message made whole first: "And of Spain?" after "And of Germany?"
        slot = _slot(text) if _fillable(previous) else None
        previous = fill(previous, slot)[:MAX_CHARS] if slot is not None else text
    slot = _slot(message) if _fillable(previous) else None
    return fill(previous, slot)[:MAX_CHARS] if slot is not None else None


def _fillable(previous: str) -> bool:
    """A question a follow-up can build on (a long message is not one, and stays cheap to skip)."""
    return bool(previous.strip()) and len(previous) <= MAX_CHARS


__all__ = ["fill", "resolve"]
