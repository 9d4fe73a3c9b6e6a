"""Example requests for each built-in tool, in a person's words.

``routing.ToolRouter`` matches a goal against these (and the tool's
description) to tell which tools it needs. Short, varied, and general: they
describe what a tool is for, not any one task.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from greenroom.tools.spec import ToolSpec

EXAMPLES: dict[str, tuple[str, ...]] = {
    "system.time": (
        "what time is it",
        "what is the date today",
        "what day of the week is it",
        "what year is it now",
        "which month is it",
        "tell me the current time",
    ),
    "fs.read": (
        "read the file",
        "what does the file say",
        "print the contents of",
        "contents of the file",
        "show me the file",
        "summarise the file",
        "summarize the file",
        "open the notes file and tell me what it says",
    ),
    "fs.list": (
        "list the files",
        "which files are in",
        "what files are in",
        "what's in my folder",
        "what's in my notes",
        "list everything in my folder",
        "show me which files the directory contains",
    ),
    "fs.search": ("find files named", "search my files for", "which of my files mention the budget"),
    "fs.write": (
        "write to the file",
        "into the file",
        "save it in the file",
        "create the file",
        "make a file",
        "create a new file listing my tasks",
        "put the summary into a file",
    ),
    "fs.patch": ("change a line in the file", "replace this text in my file", "fix a typo in the document"),
    "memory.remember": (
        "remember that",
        "don't forget that",
        "don't forget",
        "keep in mind that",
        "note that",
        "please remember my",
        "remember that the meeting moved to friday",
    ),
    "memory.recall": (
        "what did i tell you",
        "what i told you",
        "do you remember",
        "where did i put",
        "where did i leave",
        "according to my notes",
        "check my memory",
        "what do you remember about my car",
    ),
    "memory.forget": ("forget what i told you", "delete that memory", "remove the note about my locker"),
    "web.fetch": ("fetch the web page", "get the web page", "download and read the web page"),
    "web.search": ("search the web for", "look it up online", "find web pages about this topic"),
    "python.run": ("run this python code", "with a python script", "execute a small program"),
    "shell.exec": ("run this shell command", "execute a command in the terminal"),
}
"""Up to five words, an example is also a cue: a request that contains it (files and URLs read as
"the file" and "the web page") needs the tool. Longer ones are matched by meaning only."""


def with_examples(tools: Iterable[ToolSpec]) -> list[ToolSpec]:
    """``tools`` with their built-in example requests (tools that declare their own keep them)."""
    return [
        dataclasses.replace(t, examples=EXAMPLES[t.name]) if not t.examples and t.name in EXAMPLES else t for t in tools
    ]
