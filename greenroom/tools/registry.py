"""The tool registry: name → spec, and the JSON Schema the model's tool calls must match."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from greenroom.tools.spec import ToolSpec, UnknownToolError


class ToolRegistry:
    """Tools by name."""

    def __init__(self, tools: Iterable[ToolSpec] = ()) -> None:
        self._tools: dict[str, ToolSpec] = {}
        for tool in tools:
            self.add(tool)

    def add(self, tool: ToolSpec) -> None:
        if tool.name in self._tools:
            raise ValueError(f"tool {tool.name!r} is already registered")
        self._tools[tool.name] = tool

    def get(self, name: str) -> ToolSpec:
        try:
            return self._tools[name]
        except KeyError:
            known = ", ".join(sorted(self._tools))
            raise UnknownToolError(f"unknown tool {name!r} (known: {known})") from None

    def is_sensitive(self, name: str) -> bool:
        """Whether a call's arguments are hidden from viewers: the tool changes something, runs
        commands or reaches the network (what the default policy does not allow unasked), or is unknown."""
        tool = self._tools.get(name)
        return tool is None or tool.side_effects not in ("none", "read") or tool.shell or tool.network

    def names(self) -> list[str]:
        return sorted(self._tools)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._tools[name] for name in self.names())

    def __len__(self) -> int:
        return len(self._tools)

    def call_schema(self, max_calls: int) -> dict[str, Any]:
        """Schema of one round's decision: up to ``max_calls`` tool calls, or finish."""
        calls = [
            {
                "type": "object",
                "properties": {"tool": {"const": t.name}, "args": t.schema()},
                "required": ["tool", "args"],
                "additionalProperties": False,
            }
            for t in self
        ]
        finish = {
            "type": "object",
            "properties": {
                "action": {"const": "finish"},
                "result": {"type": "string", "minLength": 1, "maxLength": 400},
            },
            "required": ["action", "result"],
            "additionalProperties": False,
        }
        if not calls:
            return finish
        call_tools = {
            "type": "object",
            "properties": {
                "action": {"const": "call_tools"},
                "calls": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": max_calls,
                    "items": {"anyOf": calls},
                },
            },
            "required": ["action", "calls"],
            "additionalProperties": False,
        }
        return {"anyOf": [call_tools, finish]}
