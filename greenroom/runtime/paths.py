"""Private directories and well-known file names inside them."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import platformdirs

APP = "greenroom"

CONTROL_SOCKET = "control.ipc"
TIMELINE_SOCKET = "timeline.ipc"
TIMELINE_JSON_SOCKET = "timeline-json.ipc"
JOURNAL_FILE = "journal.sqlite"
MEMORY_FILE = "memory.sqlite"
MEMORY_INDEX_DIR = "memory-index"
STATE_FILE = "state.sqlite"
LOCK_FILE = "daemon.lock"
LOG_DIR = "logs"
MODELS_DIR = "models"
PLUGINS_DIR = "plugins"


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) and make it mode 0700; return it."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


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
