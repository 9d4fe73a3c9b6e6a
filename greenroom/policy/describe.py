"""How a call is put to the person: what exactly "yes" would allow."""

from __future__ import annotations

import json
from typing import Any


def call_question(tool: str, args: dict[str, Any], resolved: dict[str, str]) -> str:
    """The question for a call that asks: its resolved paths first (what the call will touch), then the
    arguments. A path given as ``~/docs/x`` that resolves elsewhere is shown both ways.
    """
    shown = []
    for name, path in resolved.items():
        given = args.get(name)
        shown.append(f"{path}" + (f" (given as {given})" if isinstance(given, str) and given != path else ""))
    rest = {k: v for k, v in args.items() if k not in resolved}
    text = f"Allow {tool}"
    if shown:
        text += " on " + ", ".join(shown)
    if rest:
        text += " with " + json.dumps(rest, ensure_ascii=False)
    return text + "?"
