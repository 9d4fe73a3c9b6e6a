"""Compact tool text for prompts."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from greenroom.tools import ToolsConfig, ToolSpec, default_tools
from greenroom.tools.prompt import first_sentence, render_tools, signature, type_text

BUILTINS = {t.name: t for t in default_tools(ToolsConfig())}


def tool(schema: Any, description: str = "Does a thing. And more.") -> ToolSpec:
    return ToolSpec("x.y", description, None, lambda ctx, args: "", json_schema=schema)


class TestSignature:
    def test_builtin_signatures(self) -> None:
        """Required arguments are bare, optional ones carry ?, types are short."""
        assert (
            signature(BUILTINS["fs.read"])
            == "fs.read(path: str, max_bytes?: int) - Read a text file (under the allowed roots)."
        )
        assert signature(BUILTINS["system.time"]) == "system.time() - Current local date and time."

    def test_types_enums_arrays_and_unions(self) -> None:
        """Enums list their values, arrays their items, unions their options."""
        schema = {
            "type": "object",
            "properties": {
                "mode": {"enum": ["fast", "slow"]},
                "paths": {"type": "array", "items": {"type": "string"}},
                "limit": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
                "opts": {"type": "object"},
            },
            "required": ["mode"],
        }
        assert signature(tool(schema)) == (
            'x.y(mode: "fast"|"slow", paths?: list[str], limit?: int|null, opts?: dict) - Does a thing.'
        )

    def test_long_descriptions_are_cut_at_a_word(self) -> None:
        """Only the first sentence, at most the limit, cut between words."""
        assert first_sentence("word " * 100, 30) == "word word word word word word..."

    @given(
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=8),
            lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
            max_leaves=15,
        )
    )
    def test_any_schema_renders(self, schema: Any) -> None:
        """Whatever schema a server sends, a one-line signature comes out."""
        text = signature(tool(schema if isinstance(schema, dict) else {"type": "object"}))
        assert text.startswith("x.y(")
        assert type_text(schema)


class TestRender:
    def test_styles(self) -> None:
        """signature and names give one line per tool; json lines parse as JSON with the full schema."""
        tools = list(BUILTINS.values())[:3]
        assert len(render_tools(tools).splitlines()) == 3
        assert render_tools(tools, "names").splitlines()[0] == "- system.time: Current local date and time."
        entries = [json.loads(line) for line in render_tools(tools, "json").splitlines()]
        assert entries[1]["parameters"]["required"] == ["path"]
        with pytest.raises(ValueError, match="unknown tool prompt style"):
            render_tools(tools, "yaml")  # type: ignore[arg-type]
