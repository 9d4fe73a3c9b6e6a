"""Readiness for service managers: systemd's ``sd_notify`` protocol (``Type=notify``).

systemd passes ``$NOTIFY_SOCKET`` to a ``Type=notify`` service; the daemon sends
``READY=1`` once its sockets are bound and its actors started (so ``systemctl
start`` returns when clients can connect), and ``STOPPING=1`` when it begins
an orderly stop. Without the variable (launchd, a terminal) nothing is sent.
The datagram is written by the ``sdnotify`` package.
"""

from __future__ import annotations

import os

import structlog

log = structlog.get_logger(__name__)


def notify(state: str) -> bool:
    """Send ``state`` (``READY=1``, ``STOPPING=1``, ``STATUS=...``) to the service manager, if any.

    Returns:
        True when a manager asked for notifications and the message was sent.
    """
    if not os.environ.get("NOTIFY_SOCKET"):
        return False
    try:
        import sdnotify
    except ImportError:  # not installed (it is a Linux-only dependency)
        log.warning("sd_notify_unavailable")
        return False
    try:
        notifier = sdnotify.SystemdNotifier(debug=True)
        try:
            notifier.notify(state)
        finally:
            notifier.socket.close()
    except OSError as exc:
        log.warning("sd_notify_failed", error=str(exc))
        return False
    return True
