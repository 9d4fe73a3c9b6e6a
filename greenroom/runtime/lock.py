"""One daemon per data dir: an advisory lock file holding the owner's pid."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from greenroom.runtime.errors import DaemonAlreadyRunningError


class DaemonLock:
    """An exclusive ``flock`` on ``path``, released when the process exits (even by kill -9)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock.

        Raises:
            DaemonAlreadyRunningError: another process holds it (its pid in the message).
        """
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.read(fd, 32).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise DaemonAlreadyRunningError(
                f"a greenroom daemon (pid {owner}) is already running with data dir {self.path.parent}"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> DaemonLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
