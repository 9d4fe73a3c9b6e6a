"""The word-count example plugin: one pure tool, ``wordcount.count``.

A plugin tool is a function ``(args: dict, ctx) -> str | dict``; ``args`` is already
validated against the manifest's ``args_schema``, and a dict result is sent to the
model as JSON.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

_WORD = re.compile("[^\\W\\d_]+(?:['\u2019-][^\\W\\d_]+)*")  # letters, inner apostrophes and hyphens


def count(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
    text = args["text"]
    words = [w.lower() for w in _WORD.findall(text)]
    top = Counter(words).most_common(args.get("top", 5))
    return {
        "words": len(words),
        "lines": len(text.splitlines()),
        "characters": len(text),
        "most_frequent": [{"word": word, "count": n} for word, n in top],
    }
