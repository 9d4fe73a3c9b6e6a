"""What a clause must also say for a built-in tool matched by meaning: the tool's shape.

The embedding model matches topics, not intents: "What is Python?" is close to
``python.run``, "How does the web work?" to ``web.fetch``, "What does RAM memory
do?" to ``memory.recall`` and "How many days are in a week?" to the clock. Each
of those tools answers one kind of request about its topic; its shape is the
words that request cannot do without (a file for the file tools, a page for
fetching, the person's own things for a recall, the present for the clock).
Clauses are read as ``routing.plain`` writes them: a path is "the file", a URL
"the web page". A tool without a shape here (plugins, MCP) is matched by meaning
alone.
"""

from __future__ import annotations

import re

_I = re.IGNORECASE

NOW = re.compile(
    r"\b(?:now|today|tonight|tomorrow|yesterday|current(?:ly)?|is it|it is|the (?:time|date)"
    r"|what time(?= is it\b| now\b|\W*$)|(?:what|which)(?:'s| is) the (?:day|month|year)|are we in"
    r"|^\W*(?:the |current )?(?:time|date|day(?: of the week)?)(?: and (?:time|date))?(?=\W*(?:please|pls|now)?\W*$)"
    r"|o'?clock|until|till|since|ago|left"
    r"|(?:this|next|last) (?:week|weekend|month|year|morning|afternoon|evening|night|\w+day))\b",
    _I,
)
"""The present moment: what the clock can answer."""
FILES = re.compile(
    r"\b(?:the file|files?|folders?|director(?:y|ies)|documents?|notes?|desktop|downloads|docs|readme"
    r"|spreadsheets?|(?:to-?do|shopping|grocery|reading) lists?)\b",
    _I,
)
_DOMAIN = r"\b[a-z0-9-]+\.(?:com|org|net|io|dev|app|ai|co|uk|de|fr|edu|gov|info)\b"
PAGE = re.compile(r"\b(?:the web page|web ?pages?|pages?|(?:web ?)?sites?|url|link|article)\b|" + _DOMAIN, _I)
"""A page: page words, or a bare domain ("what's on example.com?")."""
WEB_SEARCH = re.compile(
    r"\bsearch (?:the (?:web|internet)|online|for)\b|\blook (?:\w+ )?up\b|\bgoogle\b|\bonline\b"
    r"|\bon the (?:web|internet)\b|\bweb (?:search|pages?)\b|" + _DOMAIN,
    _I,
)
RUN = re.compile(r"\b(?:run|execute|eval(?:uate)?)\b|\b(?:use|using|in|with)(?: a)? python\b", _I)
COMMAND = re.compile(r"\b(?:run|execute|command|terminal)\b", _I)
_LEAD = (
    r"(?:^\W*(?:(?:hey|hi|ok(?:ay)?|so|btw|oh|also|and|please|pls|just)\W+)*"
    r"|[,.;:!?]\s*|\b(?:you(?: to)?|please|pls|also|and)\s+)"
)
REMEMBER = re.compile(
    _LEAD + r"(?:remember|memori[sz]e|note|keep in mind|(?:don'?t|do not) forget)\b"
    r"|\b(?:make|take) a note\b|\bwrite (?:(?:this|that|it) )?down\b",
    _I,
)
"""Told to keep something: the verb leads the clause (or follows "you", "please"); "how do I
remember names?" asks about remembering."""
OWN = re.compile(r"\b(?:i|i'm|i've|me|my|mine|we|our|us|you)\b", _I)
"""About the person or the assistant ("what is my code?" asks no definition)."""
MINE = r"\b(?:i|i'm|i've|i'd|my|mine|we|our|us)\b|\byou (?:remember|know|recall)\b|\btold you\b"
"""The person's own things (or what they told the assistant): what a recall searches ("tell me a
joke" is about no thing of theirs)."""
RECALL = re.compile(r"^(?!\W*(?:please\s+)?(?:forget|delete|remove|erase)\b).*(?:" + MINE + ")", _I | re.DOTALL)
"""The person's own things, not to be forgotten ("forget what I told you" is no recall)."""
FORGET = re.compile(
    r"^(?!.*\b(?:don'?t|do not|never|not) forget\b).*?" + _LEAD + r"(?:forget|delete|remove|erase)\b", _I | re.DOTALL
)
"""Told to forget: the verb leads ("don't forget: ..." is the opposite)."""

SHAPES: dict[str, re.Pattern[str]] = {
    "system.time": NOW,
    "fs.read": FILES,
    "fs.list": FILES,
    "fs.search": FILES,
    "fs.write": FILES,
    "fs.patch": FILES,
    "web.fetch": PAGE,
    "web.search": WEB_SEARCH,
    "python.run": RUN,
    "shell.exec": COMMAND,
    "memory.remember": REMEMBER,
    "memory.recall": RECALL,
    "memory.forget": FORGET,
}

DEFINITION = re.compile(
    r"^\W*(?:(?:what|who)(?:'s| is| are| was| were) (?:a|an) |what (?:is|are) \w+(?: \w+)?\W*$"
    r"|how (?:does|do) .* work\b|what does .* mean\b)",
    _I,
)
"""A question what something is or how it works ("What is a file system?", "What is Python?",
"How does the web work?"): the model answers it; no built-in tool does."""


HOWTO = re.compile(
    r"^\W*(?:how (?:do|can|should|would|could) (?:i|you|we|one)\b|how to\b|what(?:'s| is) the difference between"
    r"|what are (?:some )?good\b|explain\b)",
    _I,
)
"""Asking how to do something, or for advice ("how do I create a folder in Windows?"): the model
answers; a tool would act instead."""


def has_shape(tool: str, clause: str) -> bool:
    """Whether ``clause`` (as ``routing.plain`` writes it) says what ``tool`` needs; True for a
    tool without a shape here."""
    shape = SHAPES.get(tool)
    return shape is None or shape.search(clause) is not None


OWN_FACT = re.compile(
    r"^\W*(?:(?:and|so|ok|hey)\W+)?(?:what|when|where|who|which)(?:'s|\u2019s|\s+(?:is|are|was|were))\s+"
    r"(?:[\w'-]+\s+){0,3}?my\b",
    _I,
)
"""A question about a fact of the person's own ("When is my dentist appointment?", "What is the
name of my dentist?", "Where are my keys?"): only they, or what they told the assistant, can say."""


def asks_about_own_things(clause: str) -> bool:
    """Whether ``clause`` asks for a fact about the person's own things, which no model knows (the
    present is the clock's to say, their files the file tools')."""
    said = clause.strip()
    return OWN_FACT.search(said) is not None and NOW.search(said) is None and FILES.search(said) is None


def asks_what_it_is(clause: str) -> bool:
    """Whether ``clause`` only asks what something is, means or how it works (and is not about
    the person's own things or the present: "what is my code?", "what is today?")."""
    said = clause.strip()
    if "the file" in said or "the web page" in said:  # a path or URL: about that one, not in general
        return False
    if HOWTO.search(said):
        return True
    return DEFINITION.search(said) is not None and not OWN.search(said) and not NOW.search(said)


__all__ = ["SHAPES", "asks_about_own_things", "asks_what_it_is", "has_shape"]
