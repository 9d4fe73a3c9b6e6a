"""File access that never follows a symbolic link: every component is opened relative to its parent.

The policy resolves a path when it decides on a call (and shows that resolved
path to the person); the file tools then act on exactly that path. Walking it
one component at a time with ``O_NOFOLLOW`` (``openat``-style, through
``dir_fd``) means a directory swapped for a symlink after the approval stops
the call instead of redirecting it, and no check-then-open race is left.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from greenroom.tools.spec import ToolError

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class LinkedPathError(ToolError):
    """A component of an approved path is (now) a symbolic link."""


class MissingPathError(ToolError):
    """A directory on the way to a path does not exist."""


def _refused(path: Path, part: str, exc: OSError) -> ToolError:
    if exc.errno in (errno.ELOOP, errno.ENOTDIR):  # a symlink (or a file) where a directory was
        return LinkedPathError(
            f"{path}: `{part}` is a symbolic link or not a directory (it changed since the call was approved?); "
            "nothing was done"
        )
    return ToolError(f"{path}: {exc.strerror or exc}")


@contextmanager
def open_dir(path: Path, *, create: bool = False) -> Iterator[int]:
    """A file descriptor of directory ``path`` (absolute), reached without following any link.

    Args:
        create: make missing directories on the way (mode 0777 less the umask).

    Raises:
        LinkedPathError: a component is a symbolic link.
        ToolError: a component is missing (and ``create`` is off) or unreadable.
    """
    if not path.is_absolute():
        raise ToolError(f"{path} is not an absolute path")
    fd = os.open("/", _DIR_FLAGS)
    try:
        for part in path.parts[1:]:
            try:
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise MissingPathError(f"{path}: `{part}` does not exist") from None
                os.mkdir(part, 0o777, dir_fd=fd)
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                raise _refused(path, part, exc) from None
            os.close(fd)
            fd = child
        yield fd
    finally:
        os.close(fd)


def read_bytes(path: Path, limit: int) -> bytes | None:
    """Up to ``limit`` bytes of regular file ``path``; None when it does not exist.

    Raises:
        LinkedPathError: ``path`` or a directory above it is a symbolic link.
        ToolError: ``path`` is not a regular file.
    """
    try:
        with open_dir(path.parent) as dir_fd:
            try:
                fd = os.open(path.name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, dir_fd=dir_fd)
            except FileNotFoundError:
                return None
            except OSError as exc:
                raise _refused(path, path.name, exc) from None
    except MissingPathError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ToolError(f"{path} is not a regular file")
        chunks: list[bytes] = []
        left = limit
        while left > 0 and (chunk := os.read(fd, min(left, 1 << 16))):
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes) -> None:
    """Replace (or create) regular file ``path`` with ``data``, atomically, following no link.

    A new file gets 0666 less the umask, like any program's; an existing one keeps its mode.
    The temporary file is created and renamed inside the same, already opened, directory.
    """
    with open_dir(path.parent, create=True) as dir_fd:
        try:
            mode = stat.S_IMODE(os.stat(path.name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
        except FileNotFoundError:
            mode = None
        tmp = f".{path.name}.{secrets.token_hex(4)}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666, dir_fd=dir_fd)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                if mode is not None:
                    os.fchmod(f.fileno(), mode)
            os.replace(tmp, path.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except BaseException:
            os.unlink(tmp, dir_fd=dir_fd)
            raise


def list_dir(path: Path) -> list[tuple[str, bool]]:
    """``(name, is_directory)`` of each entry of directory ``path``; links are listed, not followed."""
    with open_dir(path) as fd, os.scandir(fd) as entries:
        return [(entry.name, entry.is_dir(follow_symlinks=False)) for entry in entries]


def walk(root: Path) -> Iterator[tuple[Path, list[str], list[str], int]]:
    """``os.fwalk`` below ``root`` without following links: (dir, dirnames, regular filenames, dir fd)."""
    with open_dir(root) as fd:
        for top, dirnames, filenames, top_fd in os.fwalk(".", dir_fd=fd, follow_symlinks=False):
            yield root / top, dirnames, [n for n in filenames if _is_regular(n, top_fd)], top_fd


def _is_regular(name: str, dir_fd: int) -> bool:
    try:
        return stat.S_ISREG(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except OSError:
        return False  # gone meanwhile, or unreadable
