"""Private directories and well-known file names inside them."""

from __future__ import annotations

import os
from pathlib import Path

CONTROL_SOCKET = "control.ipc"
TIMELINE_SOCKET = "timeline.ipc"
TIMELINE_JSON_SOCKET = "timeline-json.ipc"
JOURNAL_FILE = "journal.sqlite"
MEMORY_FILE = "memory.sqlite"
STATE_FILE = "state.sqlite"
LOCK_FILE = "daemon.lock"
LOG_DIR = "logs"
MODELS_DIR = "models"


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) and make it mode 0700; return it."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def ipc_url(runtime_dir: Path, name: str) -> str:
    """The nng ``ipc://`` URL of socket ``name`` in ``runtime_dir``."""
    return f"ipc://{runtime_dir / name}"
