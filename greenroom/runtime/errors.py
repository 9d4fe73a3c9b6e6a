"""Errors raised by the runtime."""

from __future__ import annotations


class DaemonError(Exception):
    """Base class for runtime errors."""


class ConfigError(DaemonError):
    """The configuration file or an override is invalid (the message is one line saying how to fix it)."""


class DaemonAlreadyRunningError(DaemonError):
    """Another daemon holds this data dir's lock."""


class UnsafeDirectoryError(DaemonError):
    """A data or runtime directory is not private to this user (and greenroom will not make it so)."""


class RequestError(DaemonError):
    """A client request cannot be served; ``code`` goes into the error reply."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class ListenError(DaemonError):
    """A configured listener could not be opened (the address is in use, or not this machine's)."""


class StateVersionError(DaemonError):
    """The state database was written by a newer greenroom than this one."""
