"""What a tool is: its name, argument type (a msgspec Struct), side effects and function."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import msgspec

SideEffects = Literal["none", "read", "write", "external"]


class ToolError(Exception):
    """A tool failed; the message goes back to the model as the call's error."""


class ArgumentsError(ToolError):
    """A tool call's arguments do not match its schema."""


class UnknownToolError(ToolError):
    """No tool of that name is registered."""


class MemoryAccess(Protocol):
    """What tools may do with memory (the Memory actor provides it)."""

    def remember(self, text: str, tags: list[str], key: str) -> str: ...

    def recall(self, query: str, limit: int) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class ToolContext:
    """What a running tool gets besides its arguments.

    ``call_id`` is the call's idempotency key: a tool with side effects uses it
    so that a call re-run after a crash does not act twice.
    """

    task_id: str
    call_id: str
    fs_roots: tuple[str, ...]
    max_output_bytes: int
    memory: MemoryAccess | None = None
    cancel: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class ToolSpec:
    """A tool the agent may call."""

    name: str
    description: str
    args_type: type[msgspec.Struct]
    run: Callable[[ToolContext, Any], str]
    side_effects: SideEffects = "none"
    timeout_s: float = 30.0

    def parse_args(self, args: dict[str, Any]) -> Any:
        """Validate ``args`` into the tool's argument type.

        Raises:
            ArgumentsError: with msgspec's message naming the bad field.
        """
        try:
            return msgspec.convert(args, self.args_type)
        except msgspec.ValidationError as exc:
            raise ArgumentsError(f"invalid arguments for {self.name}: {exc}") from None

    def schema(self) -> dict[str, Any]:
        """The JSON Schema of the arguments, self-contained (no ``$ref``)."""
        (schema,), components = msgspec.json.schema_components([self.args_type], ref_template="#/$defs/{name}")
        resolved = components.get(self.args_type.__name__, schema)
        return dict(resolved)
