"""Daemon lifecycle, config, data dirs, supervision and the nng gateway."""

from __future__ import annotations

from greenroom.runtime.config import Config, ConfigError, default_config_path, load_config
from greenroom.runtime.core import Runtime
from greenroom.runtime.daemon import run_daemon, serve
from greenroom.runtime.errors import DaemonAlreadyRunningError, DaemonError, RequestError
from greenroom.runtime.gateway import Gateway
from greenroom.runtime.lock import DaemonLock
from greenroom.runtime.logging import configure_logging
from greenroom.runtime.supervisor import Supervisor

__all__ = [
    "Config",
    "ConfigError",
    "DaemonAlreadyRunningError",
    "DaemonError",
    "DaemonLock",
    "Gateway",
    "RequestError",
    "Runtime",
    "Supervisor",
    "configure_logging",
    "default_config_path",
    "load_config",
    "run_daemon",
    "serve",
]
