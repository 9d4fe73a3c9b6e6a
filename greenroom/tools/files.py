"""File tools that change or search: ``fs.write``, ``fs.patch``, ``fs.search``.

They act only inside the configured roots: the target is resolved (symlinks and
``..`` followed) before the check, so neither can lead outside. Writes are
atomic (a temporary file renamed over the target). In dry-run mode, write and
patch return the unified diff they would apply and change nothing.
"""

from __future__ import annotations

import difflib
import fnmatch
import os
import tempfile
from pathlib import Path
from typing import Annotated

import msgspec

from greenroom.tools.builtin import PathStr, resolve_under_roots
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


def _read_text(path: Path) -> str:
    if not path.exists():
        return ""
    if not path.is_file():
        raise ToolError(f"{path} is not a regular file")
    data = path.read_bytes()
    if b"\0" in data[:1024]:
        raise ToolError(f"{path} looks like a binary file; refusing to edit it")
    return data.decode(errors="strict")


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _target(ctx: ToolContext, value: str) -> Path:
    path = resolve_under_roots(value, ctx.fs_roots)
    # The parent too: a new file's folder must not be a symlink leading out.
    resolve_under_roots(str(path.parent), ctx.fs_roots)
    return path


def _write(ctx: ToolContext, args: WriteArgs) -> str:
    path = _target(ctx, args.path)
    before = _read_text(path)
    diff = _diff(path, before, args.content)
    if args.dry_run:
        return clip(f"dry run, nothing written:\n{diff}", ctx.max_output_bytes)
    _atomic_write(path, args.content)
    return clip(f"wrote {len(args.content.encode())} bytes to {path}\n{diff}", ctx.max_output_bytes)


def _patch(ctx: ToolContext, args: PatchArgs) -> str:
    path = _target(ctx, args.path)
    if not path.is_file():
        raise ToolError(f"{args.path} does not exist")
    before = _read_text(path)
    count = before.count(args.old)
    if count != 1:
        raise ToolError(f"`old` must occur exactly once in {args.path}; it occurs {count} times")
    after = before.replace(args.old, args.new, 1)
    diff = _diff(path, before, after)
    if args.dry_run:
        return clip(f"dry run, nothing changed:\n{diff}", ctx.max_output_bytes)
    _atomic_write(path, after)
    return clip(f"patched {path}\n{diff}", ctx.max_output_bytes)


def _search(ctx: ToolContext, args: SearchArgs) -> str:
    root = resolve_under_roots(args.root, ctx.fs_roots)
    if not root.is_dir():
        raise ToolError(f"{args.root} is not a directory")
    hits: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):  # os.walk does not follow symlinked dirs
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not fnmatch.fnmatch(name, args.glob):
                continue
            path = Path(dirpath) / name
            try:
                resolve_under_roots(str(path), ctx.fs_roots)
            except ToolError:
                continue  # a symlink leading out of the roots: neither listed nor read
            if args.contains:
                try:
                    if args.contains not in path.read_text(errors="ignore"):
                        continue
                except OSError:
                    continue
            hits.append(str(path))
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
