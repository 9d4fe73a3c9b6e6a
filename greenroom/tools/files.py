"""File tools that change or search: ``fs.write``, ``fs.patch``, ``fs.search``.

They act only inside the configured roots: the target is resolved (symlinks and
``..`` followed) before the check, so neither can lead outside, and then opened
without following any link (``nofollow``): the path the policy approved is the
path acted on, even if a folder is swapped for a symlink meanwhile. Writes are
atomic (a temporary file renamed over the target) and new files follow the
person's umask. In dry-run mode, write and patch return the unified diff they
would apply and change nothing.
"""

from __future__ import annotations

import difflib
import fnmatch
import os
from pathlib import Path
from typing import Annotated

import msgspec

from greenroom.tools.builtin import PathStr, approved_target
from greenroom.tools.nofollow import read_bytes, walk, write_atomic
from greenroom.tools.spec import ToolContext, ToolError, ToolSpec
from greenroom.tools.text import clip

MAX_WRITE = 1 << 20


class WriteArgs(msgspec.Struct, forbid_unknown_fields=True):
    path: PathStr
    content: Annotated[str, msgspec.Meta(max_length=MAX_WRITE)]
    dry_run: bool = False


class PatchArgs(msgspec.Struct, forbid_unknown_fields=True):
    path: PathStr
    old: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_WRITE)]
    new: Annotated[str, msgspec.Meta(max_length=MAX_WRITE)]
    dry_run: bool = False


class SearchArgs(msgspec.Struct, forbid_unknown_fields=True):
    root: PathStr
    glob: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] = "*"
    contains: Annotated[str, msgspec.Meta(max_length=200)] = ""
    max_results: Annotated[int, msgspec.Meta(ge=1, le=500)] = 50


def _diff(path: Path, before: str, after: str) -> str:
    lines = difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True), f"a/{path.name}", f"b/{path.name}"
    )
    return "".join(lines) or "(no change)"


def _read_text(path: Path) -> str | None:
    """The file's text; None when it does not exist."""
    data = read_bytes(path, MAX_WRITE + 1)
    if data is None:
        return None
    if len(data) > MAX_WRITE:
        raise ToolError(f"{path} is larger than {MAX_WRITE} bytes; refusing to edit it")
    if b"\0" in data[:1024]:
        raise ToolError(f"{path} looks like a binary file; refusing to edit it")
    try:
        return data.decode()
    except UnicodeDecodeError:
        raise ToolError(f"{path} is not UTF-8 text; refusing to edit it") from None


def _write(ctx: ToolContext, args: WriteArgs) -> str:
    path = approved_target(ctx, args.path)
    before = _read_text(path) or ""
    diff = _diff(path, before, args.content)
    if args.dry_run:
        return clip(f"dry run, nothing written:\n{diff}", ctx.max_output_bytes)
    write_atomic(path, args.content.encode())
    return clip(f"wrote {len(args.content.encode())} bytes to {path}\n{diff}", ctx.max_output_bytes)


def _patch(ctx: ToolContext, args: PatchArgs) -> str:
    path = approved_target(ctx, args.path)
    before = _read_text(path)
    if before is None:
        raise ToolError(f"{args.path} does not exist")
    count = before.count(args.old)
    if count != 1:
        raise ToolError(f"`old` must occur exactly once in {args.path}; it occurs {count} times")
    after = before.replace(args.old, args.new, 1)
    diff = _diff(path, before, after)
    if args.dry_run:
        return clip(f"dry run, nothing changed:\n{diff}", ctx.max_output_bytes)
    write_atomic(path, after.encode())
    return clip(f"patched {path}\n{diff}", ctx.max_output_bytes)


def _contains(name: str, dir_fd: int, needle: str) -> bool:
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, dir_fd=dir_fd)
    except OSError:
        return False
    with os.fdopen(fd, "rb") as f:
        return needle in f.read(MAX_WRITE).decode(errors="ignore")


def _search(ctx: ToolContext, args: SearchArgs) -> str:
    root = approved_target(ctx, args.root, "root")
    hits: list[str] = []
    # Links are neither followed nor listed: a symlinked file or folder could lead out of the roots.
    for dirpath, dirnames, filenames, dir_fd in walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not fnmatch.fnmatch(name, args.glob):
                continue
            if args.contains and not _contains(name, dir_fd, args.contains):
                continue
            hits.append(str(dirpath / name))
            if len(hits) >= args.max_results:
                return clip("\n".join(hits) + f"\n[stopped at {args.max_results} results]", ctx.max_output_bytes)
    return clip("\n".join(hits) or "no matching files", ctx.max_output_bytes)


FILE_TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec("fs.search", "Find files by name glob (and text) under a folder.", SearchArgs, _search, "read"),
    ToolSpec(
        "fs.write",
        "Write a text file (dry_run shows the diff only).",
        WriteArgs,
        _write,
        "write",
        dry_run=True,
        idempotent=True,  # the whole content, replaced atomically: twice is once
    ),
    ToolSpec(
        "fs.patch",
        "Replace one exact occurrence of `old` with `new` in a file (dry_run shows the diff).",
        PatchArgs,
        _patch,
        "write",
        dry_run=True,
    ),
)
