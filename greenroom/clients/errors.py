"""Errors raised by the client library."""

from __future__ import annotations


class ClientError(Exception):
    """Base class for client errors."""


class DaemonNotRunningError(ClientError):
    """No daemon answers at the expected socket."""


class RequestTooLargeError(ClientError):
    """The request is larger than the daemon accepts (it would drop it unread)."""


class ServerError(ClientError):
    """The daemon answered with an error reply."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{message} ({code})")
        self.code = code
        self.message = message
