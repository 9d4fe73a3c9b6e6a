"""Lazy package exports: a package's public names, imported on first use.

A package ``__init__`` that imported all its modules would make every import
of one small module (``greenroom.actors.settings`` for the config, say) pay
for the whole package: the CLI would load numpy, httpx and pykka to read a
config file. Packages instead map each public name to the module that holds
it; the module is imported the first time the name is asked for. Static
checkers see the same names through an ``if TYPE_CHECKING:`` import block.

A name may equal a submodule's name (``actors.decide.decide``,
``models.select.local_backend`` beside the ``models.local_backend`` module):
importing that submodule makes the import system bind the package attribute
to the module. Such packages get a module class that declines that binding,
so the name keeps meaning the exported object, as it did with eager imports.
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any


def lazy_exports(
    package: str, exports: dict[str, str]
) -> tuple[list[str], Callable[[str], Any], Callable[[], list[str]]]:
    """``__all__``, ``__getattr__`` and ``__dir__`` for ``package``.

    Args:
        package: the package's ``__name__``.
        exports: public name -> the module that defines it: a submodule's name (relative to
            the package), or a full dotted module path.
    """

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module if "." in module else f"{package}.{module}"), name)
        setattr(sys.modules[package], name, value)  # cached: the next lookup is a plain attribute
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(exports))

    folders = [Path(p) for p in getattr(sys.modules[package], "__path__", [])]
    shadowed = frozenset(
        name for name in exports for d in folders if (d / f"{name}.py").is_file() or (d / name).is_dir()
    )
    if shadowed:
        sys.modules[package].__class__ = _shadowing_package(shadowed)
    return sorted(exports), __getattr__, __dir__


def _shadowing_package(names: frozenset[str]) -> type[types.ModuleType]:
    class ShadowingPackage(types.ModuleType):
        """A package whose exported ``names`` win over the same-named submodules."""

        def __setattr__(self, name: str, value: Any) -> None:
            if name in names and isinstance(value, types.ModuleType):
                return  # the import system binding the submodule: the export resolves lazily instead
            super().__setattr__(name, value)

    return ShadowingPackage


__all__ = ["lazy_exports"]
