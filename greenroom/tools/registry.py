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

    def call_schema(self, max_calls: int, only: Iterable[str] = (), allow_finish: bool = True) -> dict[str, Any]:
        """Schema of one round's decision: up to ``max_calls`` tool calls, or finish the step.

        Args:
            only: offer just these tools (all when empty).
            allow_finish: whether finishing without a call is allowed (a step that must use
                the tools its plan named may not finish before one ran).
        """
        names = set(only)
        calls = [_object(tool={"const": t.name}, args=t.schema()) for t in self if not names or t.name in names]
        finish = _object(action={"const": "finish"}, result={"type": "string", "minLength": 1, "maxLength": 400})
        if not calls:
            return finish
        call_tools = _object(
            action={"const": "call_tools"},
            calls={"type": "array", "minItems": 1, "maxItems": max_calls, "items": {"anyOf": calls}},
        )
        return {"anyOf": [call_tools, finish]} if allow_finish else call_tools


def _object(**properties: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(properties), "additionalProperties": False}
