"""Daemon lifecycle, config, data dirs, supervision and the nng gateway.

Exports load lazily: clients import ``greenroom.runtime.paths`` and
``greenroom.runtime.config`` without pulling in the actors and models.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Config": "config",
    "ConfigError": "errors",
    "default_config_path": "config",
    "load_config": "config",
    "Runtime": "core",
    "run_daemon": "daemon",
    "serve": "daemon",
    "DaemonAlreadyRunningError": "errors",
    "DaemonError": "errors",
    "ListenError": "errors",
    "RequestError": "errors",
    "UnsafeDirectoryError": "errors",
    "Gateway": "gateway",
    "DaemonLock": "lock",
    "configure_logging": "logging",
    "Supervisor": "supervisor",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'greenroom.runtime' has no attribute {name!r}")
    return getattr(importlib.import_module(f"greenroom.runtime.{module}"), name)
