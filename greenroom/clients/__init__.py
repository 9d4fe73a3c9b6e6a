"""Clients: the client library (sync and async) and the CLI.

Clients import only the protocol types and this library, never actors.
"""

from __future__ import annotations

from greenroom.clients.client import AsyncClient, Client, default_runtime_dir
from greenroom.clients.errors import ClientError, DaemonNotRunningError, RequestTooLargeError, ServerError

__all__ = [
    "AsyncClient",
    "Client",
    "ClientError",
    "DaemonNotRunningError",
    "RequestTooLargeError",
    "ServerError",
    "default_runtime_dir",
]
