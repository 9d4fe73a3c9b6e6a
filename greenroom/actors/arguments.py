"""Small questions for a small model: what a step's own words already say is not asked again.

When a step must call a tool and its words name exactly one file, folder or URL
("Read notes/today.md"), or quote exactly one text ("write 'hello' to ..."),
that argument is pinned in the call's schema (a ``const``): the model then only
writes what is left (a file's new content, a search query), and cannot
misspell the path. An optional number or list the step's words do not give
("Summarise notes/meeting.md" has no digit) is left out, so the tool's default
holds instead of one the model makes up (``max_bytes: 10``, recall ``tags``). Free strings get a
length the output budget can hold, so a model that starts repeating itself
still closes its JSON. An argument marked ``x-from-words`` (a recall's query) is the
step's own words. A step that is all arithmetic ("what is 12 times 7?") pins the
calculator's ``expression``, one that is all a unit conversion ("how many minutes are in 3 hours?") the
converter's ``conversion``, and a reminder ("remind me to call mom in 10 minutes") its ``reminder``
and ``reminder_time``. When the pinned schema leaves nothing to choose
(``fixed_args``), the call is made without the model.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from greenroom.tools.arithmetic_words import expression_in
from greenroom.tools.reminders import NO_TIME, reminder_in
from greenroom.tools.routing import PATH_RE, URL_RE
from greenroom.tools.units import conversion_in

MAX_FREE_STRING = 300
"""Characters a free string argument may take in a round's output (well inside its token budget)."""
FROM_WORDS = "x-from-words"
"""Marks a string argument whose value, when a step must call the tool, is the step's own words
(``memory.recall``'s query: the 135M model wrote a memory id from its context there instead)."""
_KINDS = {
    "url": "url",
    "path": "path",
    "root": "path",
    "content": "text",
    "text": "text",
    "expression": "expression",
    "conversion": "conversion",
    "reminder": "reminder",
    "reminder_time": "reminder_time",
}
"""Which argument names take which kind of thing a step's words name (``mentioned``)."""
_QUOTED = re.compile(r"(?:^|\s)[\"'\u2018\u201c]([^\"'\u2019\u201d]{1,300})[\"'\u2019\u201d](?=\s|[.,;:!?]|$)")
_BACK = re.compile(r"\b(?:it|this|that|them|these|those|the (?:list|result|results|output|contents?|text))\b", re.I)
_DIGIT = re.compile(r"\d")
_FOLDER = re.compile(r"\b(?:my|the)\s+([\w-]+)\s+(?:folder|directory|dir)\b", re.IGNORECASE)


def mentioned(intent: str) -> dict[str, list[str]]:
    """The paths, URLs, quoted texts, arithmetic, unit conversion and reminder ``intent`` names, by
    argument kind (``path``, ``url``, ``text``, ``expression``, ``conversion``, ``reminder``,
    ``reminder_time``)."""
    urls = URL_RE.findall(intent)
    rest = URL_RE.sub(" ", intent)
    paths = [p.rstrip(".,;:!?'\")") for p in PATH_RE.findall(rest)]
    paths += [m for m in _FOLDER.findall(rest) if m.lower() not in ("this", "that", "a")]
    expression = expression_in(intent)
    conversion = conversion_in(intent)
    what, when = reminder_in(intent) or ("", "")
    when = when or (NO_TIME if what else "")
    return {
        "path": list(dict.fromkeys(paths)),
        "url": [u.rstrip(".,;:!?'\")") for u in urls],
        "text": _QUOTED.findall(rest),
        "expression": [expression] if expression else [],
        "conversion": [conversion] if conversion else [],
        "reminder": [what] if what else [],
        "reminder_time": [when] if when else [],
    }


def pin_arguments(schema: dict[str, Any], intent: str, previous: str = "", *, pin: bool = True) -> dict[str, Any]:
    """A tool's argument schema with the path or URL ``intent`` names fixed, and free strings capped.

    Args:
        previous: the earlier step's result: a step that refers back to it ("save it to ...",
            "write the list to ...") writes exactly that.
    """
    out = bounded(copy.deepcopy(schema))
    if not isinstance(out.get("properties"), dict):
        return out
    out["properties"].pop("dry_run", None)  # previews are the person's, through the client, not the model's
    found = mentioned(intent) if pin else {kind: [] for kind in _KINDS.values()}
    if pin and previous and not found["text"] and _BACK.search(URL_RE.sub(" ", PATH_RE.sub(" ", intent))):
        found["text"] = [previous[:MAX_FREE_STRING]]
    if pin:
        _drop_unsaid(out, intent)
    for name, prop in out["properties"].items():
        if not isinstance(prop, dict) or prop.get("type") != "string":
            continue
        kind = _KINDS.get(name, "")
        if kind and len(found[kind]) == 1:
            out["properties"][name] = {"const": found[kind][0]}
        elif pin and prop.get(FROM_WORDS) and intent.strip():
            out["properties"][name] = {"const": intent.strip()[: int(prop.get("maxLength", MAX_FREE_STRING))]}
    return out


def fixed_args(schema: Mapping[str, Any] | None, intent: str, previous: str = "") -> dict[str, Any] | None:
    """The arguments ``intent``'s words fix completely: ``schema`` pinned for it (as the model
    would get it) allows one value only. None when something is left to choose (or no schema)."""
    if schema is None:
        return None
    pinned = pin_arguments(dict(schema), intent, previous)
    properties = pinned.get("properties")
    if not isinstance(properties, dict) or pinned.get("additionalProperties") is not False:
        return None  # a tool that takes extra properties leaves the model a choice
    args: dict[str, Any] = {}
    for name, prop in properties.items():
        if not (isinstance(prop, dict) and "const" in prop):
            return None
        args[name] = prop["const"]
    required = pinned.get("required") or ()
    return args if isinstance(required, list) and set(required) <= set(args) else None


MAX_ITEMS = 16


def _drop_unsaid(schema: dict[str, Any], intent: str) -> None:
    """Leave out the optional numbers and lists the step does not give: the tool's defaults hold.

    A number is given when the step has a digit; a list (``tags``) when the step names it
    ("tagged", "tags"). Otherwise a small model makes them up: ``max_bytes: 10``, or ``tags:
    ["notes"]`` on a recall, which then finds nothing.
    """
    required = set(schema.get("required") or ())
    words = intent.lower()
    for name, prop in list(schema["properties"].items()):
        if name in required or not isinstance(prop, dict) or "default" not in prop:
            continue  # only what the tool says it has a default for (an MCP tool may list none as required)
        kind = prop.get("type")
        if (kind in ("integer", "number") and not _DIGIT.search(intent)) or (
            kind == "array" and name.lower().rstrip("s") not in words
        ):
            del schema["properties"][name]


def bounded(schema: Any) -> Any:
    """``schema`` (changed in place) so that every output it allows ends: objects take no properties
    they do not name, strings and arrays get a length. A tool's schema may leave these open; a
    model's output must fit its token budget, or it does not parse."""
    if isinstance(schema, dict):
        kind = schema.get("type")
        if (kind == "object" or "properties" in schema) and "additionalProperties" not in schema:
            schema["additionalProperties"] = False
        if kind == "string" and "const" not in schema and "enum" not in schema:
            schema["maxLength"] = min(int(schema.get("maxLength", MAX_FREE_STRING)), MAX_FREE_STRING)
        if kind == "array":
            schema["maxItems"] = min(int(schema.get("maxItems", MAX_ITEMS)), MAX_ITEMS)
        for value in schema.values():
            bounded(value)
    elif isinstance(schema, list):
        for value in schema:
            bounded(value)
    return schema


def pin_call_schema(
    schema: dict[str, Any], intent: str, max_calls: int | None = None, previous: str = "", *, pin: bool = True
) -> dict[str, Any]:
    """A round's schema (``ToolRegistry.call_schema``) with each call's arguments pinned for ``intent``
    (and at most ``max_calls`` calls: a step that must call one tool calls it once). With ``pin`` off,
    free strings are only capped (a round where the model chooses among all tools)."""
    out = copy.deepcopy(schema)
    options = out.get("anyOf", [out])
    for option in options:
        calls = option.get("properties", {}).get("calls")
        if not isinstance(calls, dict):
            continue
        if max_calls is not None:
            calls["maxItems"] = max(1, min(calls.get("maxItems", max_calls), max_calls))
        for call in calls.get("items", {}).get("anyOf", []):
            args = call.get("properties", {}).get("args")
            if isinstance(args, dict):
                call["properties"]["args"] = pin_arguments(args, intent, previous, pin=pin)
    return out
