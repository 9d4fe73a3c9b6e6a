"""Clients: the client library (sync and async) and the CLI.

Clients import only the protocol types and this library, never actors.

Names load lazily (``greenroom._lazy``): ``greenroom daemon`` enters through the CLI
package and needs none of the client library (pynng sockets, the protocol's reply
types), so importing ``greenroom.clients.cli`` must not load it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from greenroom._lazy import lazy_exports

if TYPE_CHECKING:
    from greenroom.clients.client import AsyncClient, Client, default_runtime_dir
    from greenroom.clients.errors import ClientError, DaemonNotRunningError, RequestTooLargeError, ServerError

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        **dict.fromkeys(("AsyncClient", "Client", "default_runtime_dir"), "client"),
        **dict.fromkeys(("ClientError", "DaemonNotRunningError", "RequestTooLargeError", "ServerError"), "errors"),
    },
)
