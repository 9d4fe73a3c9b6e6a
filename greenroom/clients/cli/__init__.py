"""The ``greenroom`` command line."""

from __future__ import annotations

from greenroom.clients.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
