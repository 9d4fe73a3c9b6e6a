"""Small text helpers shared by the built-in tools."""

from __future__ import annotations


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` bytes (UTF-8), saying so when it was cut."""
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[:limit].decode(errors="ignore") + f"\n[... truncated at {limit} bytes]"
