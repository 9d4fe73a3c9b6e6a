"""The model catalog: data shipped in the package (``catalog.json``).

Each entry says what a model is (family, parameters, quantisation, context
window, vision, how well it uses tools) and what it costs (disk, memory), and
where to get it (its hub repo). ``greenroom models list`` joins it with
:func:`~greenroom.models.system.detect_system` for fit badges.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Literal

import msgspec

ToolUse = Literal["basic", "fair", "good", "strong"]


class CatalogEntry(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    id: str
    name: str
    family: str
    parameters_b: float
    """Billions of parameters."""
    quantization: str
    disk_gb: float
    memory_gb: float
    """Memory to run it with a modest context (weights, KV cache, activations)."""
    context_window: int
    vision: bool
    tool_use: ToolUse
    hub_repo: str
    notes: str = ""


class Catalog(msgspec.Struct, frozen=True, kw_only=True):
    version: int
    models: list[CatalogEntry]

    def get(self, model: str) -> CatalogEntry | None:
        """The entry for a catalog id or a hub repo, or None."""
        return next((m for m in self.models if model in (m.id, m.hub_repo)), None)


@cache
def load_catalog() -> Catalog:
    """The catalog shipped with this greenroom (validated as it is decoded)."""
    raw = resources.files("greenroom.models").joinpath("catalog.json").read_bytes()
    return msgspec.json.decode(raw, type=Catalog)
