"""The tool registry: name → spec, and the JSON Schema the model's tool calls must match.

Built-in and plugin tools are registered once at start-up; MCP servers add,
replace and remove theirs at runtime (a server connects, its tool list
changes, it is removed). So the registry is thread-safe: every read works on
a snapshot taken under a lock, and every change bumps :attr:`version` and
calls the listeners (outside the lock) so derived state — the policy's
default rules, the tool selector's index — follows.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import structlog

from greenroom.tools.spec import ToolSpec, UnknownToolError

log = structlog.get_logger(__name__)

Listener = Callable[[], None]


class ToolRegistry:
    """Tools by name; safe to read and change from any thread."""

    def __init__(self, tools: Iterable[ToolSpec] = ()) -> None:
        self._tools: dict[str, ToolSpec] = {}
        self._lock = threading.RLock()
        self._listeners: list[Listener] = []
        self.version = 0
        """Bumped on every change: a cheap "did anything change since?" check."""
        for tool in tools:
            self.add(tool)

    # -- changes ---------------------------------------------------------------------------

    def add(self, tool: ToolSpec) -> None:
        """Register ``tool``.

        Raises:
            ValueError: a tool of that name is already registered.
        """
        with self._lock:
            if tool.name in self._tools:
                raise ValueError(f"tool {tool.name!r} is already registered")
            self._tools[tool.name] = tool
            self.version += 1
        self._changed()

    def replace_prefix(self, prefix: str, tools: Iterable[ToolSpec]) -> tuple[list[str], list[str]]:
        """Make ``tools`` the complete set of tools whose names start with ``prefix``.

        Used by tool sources that own a namespace (``mcp.<server>.``): tools under the
        prefix that are not in ``tools`` go, new ones come, changed ones are replaced.

        Returns:
            The names added and the names removed (a replaced tool is in neither).

        Raises:
            ValueError: a tool in ``tools`` is not under ``prefix``.
        """
        new = {t.name: t for t in tools}
        outside = [n for n in new if not n.startswith(prefix)]
        if outside:
            raise ValueError(f"tools {outside} are not under {prefix!r}")
        with self._lock:
            old = {n for n in self._tools if n.startswith(prefix)}
            removed = sorted(old - new.keys())
            added = sorted(new.keys() - old)
            changed = [n for n in new.keys() & old if not _same(self._tools[n], new[n])]
            if not (removed or added or changed):
                return [], []
            for name in removed:
                del self._tools[name]
            self._tools.update(new)
            self.version += 1
        self._changed()
        return added, removed

    def remove_prefix(self, prefix: str) -> list[str]:
        """Remove every tool whose name starts with ``prefix``; returns their names."""
        _, removed = self.replace_prefix(prefix, ())
        return removed

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener()`` after every change (on the changing thread, outside the lock)."""
        with self._lock:
            self._listeners.append(listener)

    def _changed(self) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener()
            except Exception:  # a broken listener must not undo or block the change
                log.exception("tool_registry_listener_failed")

    # -- reads -----------------------------------------------------------------------------

    def get(self, name: str) -> ToolSpec:
        with self._lock:
            tool = self._tools.get(name)
            if tool is not None:
                return tool
            known = ", ".join(sorted(self._tools))
        raise UnknownToolError(f"unknown tool {name!r} (known: {known})")

    def find(self, name: str) -> ToolSpec | None:
        """The tool named ``name``, or None."""
        with self._lock:
            return self._tools.get(name)

    def is_sensitive(self, name: str) -> bool:
        """Whether a call's arguments are hidden from viewers: the tool changes something, runs
        commands or reaches the network (what the default policy does not allow unasked), or is unknown."""
        tool = self.find(name)
        return tool is None or tool.side_effects not in ("none", "read") or tool.shell or tool.network

    def names(self) -> list[str]:
        with self._lock:
            return sorted(self._tools)

    def snapshot(self) -> list[ToolSpec]:
        """Every tool, sorted by name, as of now."""
        with self._lock:
            return [self._tools[name] for name in sorted(self._tools)]

    def __iter__(self) -> Iterator[ToolSpec]:
        return iter(self.snapshot())

    def __len__(self) -> int:
        with self._lock:
            return len(self._tools)

    def __contains__(self, name: object) -> bool:
        with self._lock:
            return name in self._tools

    def call_schema(
        self, max_calls: int, tools: Iterable[ToolSpec] | None = None, *, allow_finish: bool = True
    ) -> dict[str, Any]:
        """Schema of one round's decision: up to ``max_calls`` tool calls, or finish the step.

        Args:
            max_calls: most calls in one round.
            tools: the tools the model may call this round (default: all of them), say the
                tool selector's choice for a step, or the tools a step's plan named.
            allow_finish: whether finishing without a call is allowed (a step that must use
                the tools its plan named may not finish before one ran).
        """
        return call_schema(self.snapshot() if tools is None else list(tools), max_calls, allow_finish=allow_finish)


def _same(a: ToolSpec, b: ToolSpec) -> bool:
    """Equal in everything a model or the policy sees (``run`` is a fresh closure each time)."""
    return (a.description, a.args_type, a.json_schema, a.side_effects, a.network, a.shell, a.timeout_s, a.dry_run) == (
        b.description, b.args_type, b.json_schema, b.side_effects, b.network, b.shell, b.timeout_s, b.dry_run
    )  # fmt: skip


def _object(**properties: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(properties), "additionalProperties": False}


def call_schema(tools: list[ToolSpec], max_calls: int, *, allow_finish: bool = True) -> dict[str, Any]:
    """Schema of one round's decision over ``tools``: up to ``max_calls`` calls, or finish."""
    calls = [_object(tool={"const": t.name}, args=t.schema()) for t in tools]
    finish = _object(action={"const": "finish"}, result={"type": "string", "minLength": 1, "maxLength": 400})
    if not calls:
        return finish
    call_tools = _object(
        action={"const": "call_tools"},
        calls={"type": "array", "minItems": 1, "maxItems": max_calls, "items": {"anyOf": calls}},
    )
    return {"anyOf": [call_tools, finish]} if allow_finish else call_tools
