"""Errors raised by the bus package."""

from __future__ import annotations


class BusError(Exception):
    """Base class for bus errors."""


class BusClosedError(BusError):
    """The bus was closed; nothing more can be published or received."""


class JournalError(BusError):
    """The journal could not be opened or written."""


class DecodeError(BusError):
    """A frame could not be decoded into the expected message type."""
