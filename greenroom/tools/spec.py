"""What a tool is: its name, argument type (a msgspec Struct), side effects and function."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import msgspec

from greenroom.policy.engine import ToolFacts
from greenroom.tools.settings import ToolsConfig

SideEffects = Literal["none", "read", "write", "external"]
ToolOrigin = Literal["builtin", "plugin", "mcp"]


class ToolError(Exception):
    """A tool failed; the message goes back to the model as the call's error."""


class ArgumentsError(ToolError):
    """A tool call's arguments do not match its schema."""


class UnknownToolError(ToolError):
    """No tool of that name is registered."""


class MemoryAccess(Protocol):
    """What tools may do with memory (the Memory actor provides it)."""

    def remember(self, text: str, tags: list[str], key: str) -> str: ...

    def recall(self, query: str, limit: int, tags: list[str]) -> list[dict[str, Any]]: ...

    def forget(self, item_id: str, query: str) -> list[str]: ...


class TaskAccess(Protocol):
    """What tools may do with tasks (the Executor provides it): set reminders, nothing else."""

    def remind(self, what: str, at: float, *, key: str) -> tuple[str, float]:
        """A reminder saying ``what`` at ``at``: its task id and when it is due. The same ``key``
        again finds the same reminder (and says when that one is due)."""
        ...


@dataclass(frozen=True)
class ToolContext:
    """What a running tool gets besides its arguments.

    ``call_id`` is the call's idempotency key: a tool with side effects uses it
    so that a call re-run after a crash does not act twice.
    """

    task_id: str
    call_id: str
    config: ToolsConfig = field(default_factory=ToolsConfig)
    memory: MemoryAccess | None = None
    tasks: TaskAccess | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    approved_paths: dict[str, str] = field(default_factory=dict)
    """Path arguments as the policy resolved them when it decided (argument name -> absolute path):
    file tools act on exactly these, never on where a since-swapped link would lead."""

    @property
    def fs_roots(self) -> tuple[str, ...]:
        return tuple(self.config.fs_roots)

    @property
    def max_output_bytes(self) -> int:
        return self.config.max_output_bytes


@dataclass(frozen=True)
class ToolSpec:
    """A tool the agent may call."""

    name: str
    description: str
    args_type: type[msgspec.Struct] | None
    """Built-in tools type their arguments; plugin tools give ``json_schema`` instead."""
    run: Callable[[ToolContext, Any], str]
    side_effects: SideEffects = "none"
    timeout_s: float = 30.0
    network: bool = False
    """Reaches the network (denied in offline mode)."""
    shell: bool = False
    """Runs commands or code."""
    dry_run: bool = False
    """Accepts ``dry_run: true`` and then only shows what it would do."""
    json_schema: dict[str, Any] | None = None
    """The arguments' JSON Schema, for tools without an ``args_type`` (plugins, MCP)."""
    idempotent: bool | None = None
    """Running it twice with the same arguments does what running it once does. None: only
    tools without side effects are. A call of a non-idempotent tool that was running when the
    daemon stopped is not run again without asking the person."""
    origin: ToolOrigin = "builtin"
    """Where the tool comes from; MCP tools' read-only claims get their own default rule."""

    examples: tuple[str, ...] = ()
    """Requests this tool serves, in a person's words ("what time is it"): matched against a
    goal to tell which tools it needs (``routing.ToolRouter``)."""
    memorable: bool = True
    """False: a task whose calls all went to tools like this leaves no summary in memory (what it
    answered is in memory already, stale at once like the time, or worked out again exactly)."""

    @property
    def is_idempotent(self) -> bool:
        return self.idempotent if self.idempotent is not None else self.side_effects in ("none", "read")

    def facts(self) -> ToolFacts:
        """What the policy needs to know about this tool."""
        return ToolFacts(side_effects=self.side_effects, network=self.network, shell=self.shell, origin=self.origin)

    def parse_args(self, args: dict[str, Any]) -> Any:
        """Validate ``args`` into the tool's argument type.

        Raises:
            ArgumentsError: with msgspec's message naming the bad field.
        """
        if self.args_type is None:
            import jsonschema

            try:
                jsonschema.validate(args, self.json_schema or {"type": "object"})
            except jsonschema.ValidationError as exc:
                where = "$" + "".join(f"[{p!r}]" if isinstance(p, int) else f".{p}" for p in exc.absolute_path)
                raise ArgumentsError(f"invalid arguments for {self.name}: {exc.message} - at `{where}`") from None
            return dict(args)
        try:
            return msgspec.convert(args, self.args_type)
        except msgspec.ValidationError as exc:
            raise ArgumentsError(f"invalid arguments for {self.name}: {exc}") from None

    def schema(self) -> dict[str, Any]:
        """The JSON Schema of the arguments, self-contained (no ``$ref``)."""
        if self.args_type is None:
            return dict(self.json_schema or {"type": "object"})
        (schema,), components = msgspec.json.schema_components([self.args_type], ref_template="#/$defs/{name}")
        resolved = components.get(self.args_type.__name__, schema)
        return dict(resolved)
