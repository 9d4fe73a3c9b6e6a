"""Every package's lazy export resolves to what it names (not to a same-named submodule)."""

from __future__ import annotations

import importlib
import types

import pytest

PACKAGES = ["greenroom.actors", "greenroom.bus", "greenroom.memory", "greenroom.models", "greenroom.policy",
            "greenroom.schedules", "greenroom.tools", "greenroom.tools.mcp"]  # fmt: skip
MODULE_EXPORTS = {("greenroom.bus", "protocol")}
"""Names that are meant to be modules."""


class TestLazyExports:
    @pytest.mark.parametrize("package", PACKAGES)
    def test_each_name_resolves_to_its_object(self, package: str) -> None:
        """Each name in ``__all__`` resolves, and a name shared with a submodule is still the export."""
        pkg = importlib.import_module(package)
        for name in pkg.__all__:
            value = getattr(pkg, name)
            if (package, name) not in MODULE_EXPORTS:
                assert not isinstance(value, types.ModuleType), f"{package}.{name} is a module"

    def test_a_shadowed_name_survives_its_submodule_being_imported(self) -> None:
        """Importing ``actors.decide`` (the module) leaves ``actors.decide`` the decider function."""
        import greenroom.actors.decide as module_or_function  # noqa: F401  the import binds the name
        from greenroom.actors import decide
        from greenroom.actors.decide import decide as function

        assert decide is function
        assert callable(decide)
