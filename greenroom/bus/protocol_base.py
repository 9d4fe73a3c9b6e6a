"""The bases of every request (tagged by ``op``) and reply (tagged by ``type``)."""

from __future__ import annotations

import msgspec


class _Request(msgspec.Struct, frozen=True, kw_only=True, tag_field="op"):
    pass


class _Reply(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    pass
