"""A path a person typed, with ``~`` expanded as a shell does it.

``Path.expanduser`` raises for ``~name`` when there is no user ``name``; a shell
leaves such a word as it is, and so does ``os.path.expanduser``. Names, folders
and options people type (model names, data dirs, CLI paths) go through here, so
an odd ``~0`` is taken literally instead of failing with an internal error.
Tool and policy paths do not: they refuse an unknown ``~user`` with a clear error.
"""

from __future__ import annotations

import os
from pathlib import Path


def user_path(path: str | os.PathLike[str]) -> Path:
    """``path`` with a leading ``~`` or ``~user`` expanded when that user exists."""
    return Path(os.path.expanduser(path))


__all__ = ["user_path"]
