"""Compact tool text for prompts: what a model reads about the tools it may call.

A step's decision is decoded under the round's JSON Schema (``call_schema``),
so argument names, types and required fields are enforced by the decoder; the
prompt text only has to tell the model which tool does what and what its
arguments mean. Measured with the embedded default (``bench/tool_prompt.py``,
SmolLM2-135M; tokens per tool over 500 real and generated tools; right tool
picked among the 8 selected, 40 labelled queries, chance 1/8):

- ``json``: one JSON object per tool with its full JSON Schema (what OpenAI-style
  tool lists send): 95.8 tokens a tool, right tool 0.275;
- ``signature`` (the default): ``name(arg: type, opt?: type) - description`` with
  the description's first sentence: 34.9 tokens a tool, right tool 0.500;
- ``names``: ``- name: description`` without arguments: 23.9 tokens a tool, right
  tool 0.475, and the model no longer sees what to pass.

``signature`` is the most accurate at about a third of ``json``'s tokens (the
small model loses its way in long schemas); ``names`` saves another third of the
tokens but drops the arguments. See ``docs/design.md``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any, Literal

from greenroom.tools.spec import ToolSpec

Style = Literal["json", "signature", "names"]
_SENTENCE = re.compile(r"(?<=[.!?])\s")
_SCALARS = {"string": "str", "integer": "int", "number": "float", "boolean": "bool", "null": "null", "object": "dict"}


def first_sentence(text: str, limit: int = 160) -> str:
    """The first sentence of ``text``, at most ``limit`` characters (cut at a word)."""
    text = " ".join(text.split())
    sentence = _SENTENCE.split(text, maxsplit=1)[0]
    if len(sentence) <= limit:
        return sentence
    return sentence[:limit].rsplit(" ", 1)[0] + "..."


def type_text(schema: Any, depth: int = 0) -> str:
    """A short type for a JSON Schema: ``str``, ``int``, ``list[str]``, ``"a"|"b"``, ``dict``."""
    if not isinstance(schema, dict):
        return "any"
    if "enum" in schema and isinstance(schema["enum"], list) and len(schema["enum"]) <= 6:
        return "|".join(json.dumps(v) for v in schema["enum"])
    if "const" in schema:
        return json.dumps(schema["const"])
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if isinstance(options, list) and options and depth < 2:
            return "|".join(dict.fromkeys(type_text(o, depth + 1) for o in options[:4]))
    kind = schema.get("type")
    if isinstance(kind, list):
        return "|".join(_SCALARS.get(str(k), str(k)) for k in kind[:4])
    if kind == "array":
        return f"list[{type_text(schema.get('items'), depth + 1)}]" if depth < 2 else "list"
    return _SCALARS.get(str(kind), "any")


def signature(tool: ToolSpec, *, description_chars: int = 160) -> str:
    """``name(arg: type, opt?: type) - first sentence of the description``."""
    schema = tool.schema()
    raw = schema.get("properties")
    props: dict[str, Any] = raw if isinstance(raw, dict) else {}
    required = set(schema.get("required") or []) if isinstance(schema.get("required"), list) else set()
    args = [f"{name}{'' if name in required else '?'}: {type_text(spec)}" for name, spec in props.items()]
    return f"{tool.name}({', '.join(args)}) - {first_sentence(tool.description, description_chars)}"


def json_entry(tool: ToolSpec) -> str:
    """One tool as a JSON object with its full schema (the verbose form, for comparison)."""
    entry = {"name": tool.name, "description": tool.description, "parameters": tool.schema()}
    return json.dumps(entry, ensure_ascii=False, separators=(",", ":"))


def render_tools(tools: Iterable[ToolSpec], style: Style = "signature") -> str:
    """The tool list for a prompt, one tool per line."""
    match style:
        case "signature":
            return "\n".join(signature(t) for t in tools)
        case "json":
            return "\n".join(json_entry(t) for t in tools)
        case "names":
            return "\n".join(f"- {t.name}: {first_sentence(t.description)}" for t in tools)
        case _:
            raise ValueError(f"unknown tool prompt style {style!r} (signature, json or names)")


__all__ = ["Style", "first_sentence", "json_entry", "render_tools", "signature", "type_text"]
