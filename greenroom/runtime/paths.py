"""Private directories and well-known file names inside them."""

from __future__ import annotations

import os
import stat
import warnings
from pathlib import Path

import platformdirs

from greenroom.runtime.errors import UnsafeDirectoryError

APP = "greenroom"

CONTROL_SOCKET = "control.ipc"
TIMELINE_SOCKET = "timeline.ipc"
TIMELINE_JSON_SOCKET = "timeline-json.ipc"
TIMELINE_BATCH_SOCKET = "timeline-batch.ipc"
JOURNAL_FILE = "journal.sqlite"
MEMORY_FILE = "memory.sqlite"
MEMORY_INDEX_DIR = "memory-index"
STATE_FILE = "state.sqlite"
LOCK_FILE = "daemon.lock"
LOG_DIR = "logs"
MODELS_DIR = "models"
PLUGINS_DIR = "plugins"
MCP_MEDIA_DIR = "mcp-media"
TOOL_VECTORS_FILE = "tool-vectors.sqlite"


def ensure_private_dir(path: Path, *, ours: bool = False) -> Path:
    """Create ``path`` with mode 0700, or accept an existing directory that is private and yours.

    greenroom never loosens or takes over a directory it did not make: an existing
    one owned by someone else, or open to other users, is refused with the reason
    (``--runtime-dir /tmp`` must not turn /tmp private, and a folder another user
    made could let them swap the sockets). Its parent must not let others replace it.

    Args:
        ours: ``path`` is a subdirectory greenroom names inside its own data dir
            (models, logs, indexes): an existing one with a looser mode is tightened.

    Raises:
        UnsafeDirectoryError: what is there is not a private directory of this user.
    """
    try:
        st = path.stat()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        _check_parent(path)
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:  # made meanwhile by someone else: judge what is there
            return ensure_private_dir(path, ours=ours)
        os.chmod(path, 0o700)  # exactly 0700, whatever the umask
        return path
    if not stat.S_ISDIR(st.st_mode):
        raise UnsafeDirectoryError(f"{path} exists and is not a directory")
    if st.st_uid != os.getuid():
        raise UnsafeDirectoryError(
            f"{path} belongs to another user (uid {st.st_uid}); greenroom keeps its data and sockets only in "
            "directories you own: choose another one (greenroom creates it)"
        )
    _check_parent(path)
    if st.st_mode & 0o077:
        if not ours:
            raise UnsafeDirectoryError(
                f"{path} is open to other users (mode {stat.S_IMODE(st.st_mode):04o}); greenroom does not change "
                f"a directory it did not make: run `chmod 700 {path}`, or choose a path greenroom creates"
            )
        os.chmod(path, 0o700)
    return path


def _check_parent(path: Path) -> None:
    """The parent must be yours or root's, and not writable by others unless sticky (like /tmp)."""
    parent = path.resolve().parent
    st = parent.stat()
    if st.st_uid not in (0, os.getuid()):
        raise UnsafeDirectoryError(f"{path}: its parent {parent} belongs to another user (uid {st.st_uid})")
    if st.st_mode & 0o022 and not st.st_mode & stat.S_ISVTX:
        raise UnsafeDirectoryError(
            f"{path}: its parent {parent} is writable by other users (mode {stat.S_IMODE(st.st_mode):04o}), "
            "who could replace it"
        )


def ipc_url(runtime_dir: Path, name: str) -> str:
    """The nng ``ipc://`` URL of socket ``name`` in ``runtime_dir``."""
    return f"ipc://{runtime_dir / name}"


def platform_data_dir() -> Path:
    """The platform's per-user data dir for greenroom."""
    return Path(platformdirs.user_data_dir(APP))


def platform_runtime_dir() -> Path:
    """The platform's per-user runtime dir for greenroom (sockets).

    Without ``$XDG_RUNTIME_DIR`` (a bare ssh session, a container) platformdirs
    falls back to ``/tmp/runtime-<uid>`` with a warning; the fallback is fine
    because greenroom makes the directory 0700 itself, so the warning is muted.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Path(platformdirs.user_runtime_dir(APP))
