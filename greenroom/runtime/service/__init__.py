"""Running greenroom as a service: one description, rendered for systemd and launchd,
and the commands that install, inspect and remove it."""

from __future__ import annotations

from greenroom.runtime.service.manager import (
    Launchd,
    ManagerStatus,
    ServiceManager,
    Systemd,
    platform_manager,
)
from greenroom.runtime.service.render import exec_line, render_plist, render_unit
from greenroom.runtime.service.spec import LAUNCHD_LABEL, SERVICE_LOG, UNIT_NAME, ServiceError, ServiceSpec, build_spec

__all__ = [
    "LAUNCHD_LABEL",
    "SERVICE_LOG",
    "UNIT_NAME",
    "Launchd",
    "ManagerStatus",
    "ServiceError",
    "ServiceManager",
    "ServiceSpec",
    "Systemd",
    "build_spec",
    "exec_line",
    "platform_manager",
    "render_plist",
    "render_unit",
]
