"""Built-in tools: the clock, reading files under allowed roots, and memory."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import msgspec

from greenroom.tools.nofollow import list_dir, read_bytes
from greenroom.tools.spec import ToolContext, ToolError, ToolSpec
from greenroom.tools.text import clip

PathStr = Annotated[str, msgspec.Meta(min_length=1, max_length=300, pattern=r"^[^\x00]+$")]
"""A file path argument: no NUL byte (the policy also checks each path before any rule reads it)."""


class NoArgs(msgspec.Struct, forbid_unknown_fields=True):
    pass


class ReadArgs(msgspec.Struct, forbid_unknown_fields=True):
    path: PathStr
    max_bytes: Annotated[int, msgspec.Meta(ge=1, le=1 << 20)] = 8192


class ListArgs(msgspec.Struct, forbid_unknown_fields=True):
    path: PathStr


class RememberArgs(msgspec.Struct, forbid_unknown_fields=True):
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
    tags: Annotated[list[Annotated[str, msgspec.Meta(max_length=40)]], msgspec.Meta(max_length=8)] = []


class ForgetArgs(msgspec.Struct, forbid_unknown_fields=True):
    item_id: Annotated[str, msgspec.Meta(max_length=40)] = ""
    """The id of the item to forget (as ``memory.recall`` shows it)."""
    query: Annotated[str, msgspec.Meta(max_length=200)] = ""
    """Or: forget the item that best matches this query."""


class RecallArgs(msgspec.Struct, forbid_unknown_fields=True):
    # x-from-words: a step that must recall searches with its own words (``actors.arguments``).
    query: Annotated[str, msgspec.Meta(min_length=1, max_length=200, extra_json_schema={"x-from-words": True})]
    limit: Annotated[int, msgspec.Meta(ge=1, le=20)] = 5
    tags: Annotated[list[Annotated[str, msgspec.Meta(max_length=40)]], msgspec.Meta(max_length=8)] = []
    """Only items with at least one of these tags."""


def resolve_under_roots(path: str, roots: tuple[str, ...]) -> Path:
    """``path`` resolved (symlinks and ``..`` followed), if it lies under one of ``roots``.

    A relative path is relative to the first root (the policy resolves it the same way).

    Raises:
        ToolError: it lies outside every root.
    """
    target = Path(path).expanduser()
    if not target.is_absolute() and roots:
        target = Path(roots[0]).expanduser() / target
    target = target.resolve()
    for root in roots:
        base = Path(root).expanduser().resolve()
        if target == base or target.is_relative_to(base):
            return target
    raise ToolError(f"{path} is outside the allowed roots ({', '.join(roots)})")


def approved_target(ctx: ToolContext, value: str, arg: str = "path") -> Path:
    """The file a call may act on: ``value`` resolved under the roots, and, when the policy
    approved the call for a resolved path, still exactly that path.

    Raises:
        ToolError: ``value`` is outside the roots, or now leads somewhere else than approved.
    """
    path = resolve_under_roots(value, ctx.fs_roots)
    approved = ctx.approved_paths.get(arg)
    if approved is not None and str(path) != approved:
        raise ToolError(
            f"{value} now leads to {path}, not to {approved} as when the call was approved; nothing was done"
        )
    return path


def _time(ctx: ToolContext, args: NoArgs) -> str:
    now = dt.datetime.now().astimezone()
    return now.strftime("%A %d %B %Y, %H:%M:%S %Z (UTC%z)")


def _read(ctx: ToolContext, args: ReadArgs) -> str:
    path = approved_target(ctx, args.path)
    data = read_bytes(path, min(args.max_bytes, ctx.max_output_bytes) + 1)
    if data is None:
        raise ToolError(f"{args.path} does not exist")
    if b"\0" in data[:1024]:
        raise ToolError(f"{args.path} looks like a binary file")
    return clip(data.decode(errors="replace"), min(args.max_bytes, ctx.max_output_bytes))


def _list(ctx: ToolContext, args: ListArgs) -> str:
    path = approved_target(ctx, args.path)
    names = sorted(name + ("/" if is_dir else "") for name, is_dir in list_dir(path))
    return clip("\n".join(names[:500]), ctx.max_output_bytes)


def _remember(ctx: ToolContext, args: RememberArgs) -> str:
    if ctx.memory is None:
        raise ToolError("memory is not available")
    item_id = ctx.memory.remember(args.text, list(args.tags), ctx.call_id)
    return f"remembered as {item_id}"


def _recall(ctx: ToolContext, args: RecallArgs) -> str:
    if ctx.memory is None:
        raise ToolError("memory is not available")
    hits = ctx.memory.recall(args.query, args.limit, list(args.tags))
    if not hits:
        return "nothing in memory matches"
    lines = []
    for h in hits:
        where = h["uri"] or h["source"]
        why = ", ".join(f"{name} #{h[key]}" for name, key in (("dense", "dense_rank"), ("bm25", "bm25_rank")) if h[key])
        lines.append(f"- {h['text']} [{h['id']}; {where}; score {h['score']}: {why}]")
    return clip("\n".join(lines), ctx.max_output_bytes)


def _forget(ctx: ToolContext, args: ForgetArgs) -> str:
    if ctx.memory is None:
        raise ToolError("memory is not available")
    if bool(args.item_id) == bool(args.query):
        raise ToolError("give exactly one of item_id or query")
    forgotten = ctx.memory.forget(args.item_id, args.query)
    if not forgotten:
        raise ToolError(f"nothing in memory matches {args.item_id or args.query!r}")
    return "forgot " + ", ".join(forgotten)


BUILTIN_TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec("system.time", "Current local date and time.", NoArgs, _time, "none", memorable=False),
    ToolSpec("fs.read", "Read a text file (under the allowed roots).", ReadArgs, _read, "read"),
    ToolSpec("fs.list", "List a directory (under the allowed roots).", ListArgs, _list, "read"),
    # Stored once per call id (the idempotency key), so a rerun stores nothing new.
    # The memory tools' answers are memory's own content: no task summary repeats them there.
    ToolSpec(
        "memory.remember",
        "Store a note in long-term memory.",
        RememberArgs,
        _remember,
        "write",
        idempotent=True,
        memorable=False,
    ),
    ToolSpec(
        "memory.recall",
        "Search memory (notes, ingested files, chats).",
        RecallArgs,
        _recall,
        "read",
        memorable=False,
    ),
    ToolSpec(
        "memory.forget",
        "Forget an item by its id, or the best match of a query.",
        ForgetArgs,
        _forget,
        "write",
        idempotent=True,
        memorable=False,
    ),
)
