"""greenroom: a local agent runtime daemon.

Seven supervised actors exchange typed events on a journaled bus; thin clients
attach over nng sockets to watch the timeline, submit tasks and answer
confirmations.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
