"""Installing and controlling the service with the platform's manager.

- Linux: a systemd *user* unit in ``$XDG_CONFIG_HOME/systemd/user``, enabled and
  started with ``systemctl --user``.
- macOS: a LaunchAgent in ``~/Library/LaunchAgents``, loaded with ``launchctl
  bootstrap gui/$UID`` and removed with ``bootout``.

Uninstalling stops the service and removes its file; the data dir is never touched.
Commands go through ``runner`` so the CLI can show them (``--dry-run``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from greenroom.runtime.paths import ensure_private_dir
from greenroom.runtime.service.render import render_plist, render_unit
from greenroom.runtime.service.spec import LAUNCHD_LABEL, UNIT_NAME, ServiceError, ServiceSpec

Runner = Callable[[list[str]], subprocess.CompletedProcess[str]]


def run_command(argv: list[str]) -> subprocess.CompletedProcess[str]:
    """Run a manager command, capturing its output (a missing program is a ServiceError)."""
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    except FileNotFoundError as exc:
        raise ServiceError(f"{argv[0]} is not installed: {exc}") from exc
    except subprocess.TimeoutExpired as exc:
        raise ServiceError(f"{' '.join(argv)} did not finish within 60s") from exc


@dataclass
class ManagerStatus:
    """The manager's view of the service."""

    manager: str
    file: str
    installed: bool
    loaded: bool = False
    running: bool = False
    pid: int | None = None
    last_exit: str = ""
    detail: dict[str, str] = field(default_factory=dict)


class ServiceManager(ABC):
    """One platform's service manager."""

    name: str

    def __init__(self, runner: Runner = run_command, home: Path | None = None) -> None:
        self.runner = runner
        self.home = home or Path.home()

    @property
    @abstractmethod
    def path(self) -> Path:
        """Where the service file goes."""

    @abstractmethod
    def render(self, spec: ServiceSpec) -> str:
        """The service file's text."""

    @abstractmethod
    def install_commands(self) -> list[tuple[list[str], bool]]:
        """What ``install`` runs after writing the file, each with whether it must succeed."""

    @abstractmethod
    def uninstall_commands(self) -> list[list[str]]: ...

    @abstractmethod
    def restart_command(self) -> list[str]: ...

    @abstractmethod
    def status(self) -> ManagerStatus: ...

    def _run(self, argv: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = self.runner(argv)
        if check and result.returncode != 0:
            raise ServiceError(f"`{' '.join(argv)}` failed ({result.returncode}): {result.stderr.strip()[-500:]}")
        return result

    def install(self, spec: ServiceSpec) -> Path:
        """Write the service file, make the data and log dirs, load and start the service."""
        ensure_private_dir(Path(spec.log_dir), ours=True)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(self.render(spec))
        os.chmod(tmp, 0o644)
        tmp.replace(self.path)
        for argv, must in self.install_commands():
            self._run(argv, check=must)
        return self.path

    def uninstall(self) -> bool:
        """Stop the service and remove its file (the data stays); False if it was not installed."""
        existed = self.path.exists()
        for argv in self.uninstall_commands():
            self._run(argv, check=False)  # not loaded is fine: the goal is "not there"
        if existed:
            self.path.unlink()
        self._after_remove()
        return existed

    def _after_remove(self) -> None:  # noqa: B027 - a hook: only systemd needs to hear of it
        """Tell the manager the file is gone (systemd reloads)."""

    def restart(self) -> None:
        if not self.path.exists():
            raise ServiceError(f"the service is not installed ({self.path} is missing): `greenroom service install`")
        self._run(self.restart_command())


class Systemd(ServiceManager):
    """A systemd user unit."""

    name = "systemd"

    @property
    def path(self) -> Path:
        config_home = Path(os.environ.get("XDG_CONFIG_HOME") or self.home / ".config")
        return config_home / "systemd" / "user" / UNIT_NAME

    def render(self, spec: ServiceSpec) -> str:
        return render_unit(spec)

    def install_commands(self) -> list[tuple[list[str], bool]]:
        return [
            (["systemctl", "--user", "daemon-reload"], True),
            (["systemctl", "--user", "enable", UNIT_NAME], True),
            (["systemctl", "--user", "restart", UNIT_NAME], True),  # starts it, or reloads a changed unit
        ]

    def uninstall_commands(self) -> list[list[str]]:
        return [["systemctl", "--user", "disable", "--now", UNIT_NAME]]

    def _after_remove(self) -> None:
        self._run(["systemctl", "--user", "daemon-reload"], check=False)

    def restart_command(self) -> list[str]:
        return ["systemctl", "--user", "restart", UNIT_NAME]

    def status(self) -> ManagerStatus:
        props = "LoadState,ActiveState,SubState,MainPID,ExecMainStatus,ExecMainCode,UnitFileState,Result"
        result = self._run(["systemctl", "--user", "show", UNIT_NAME, f"--property={props}"], check=False)
        detail = parse_properties(result.stdout) if result.returncode == 0 else {"error": result.stderr.strip()}
        pid = int(detail.get("MainPID", "0") or 0)
        code = detail.get("ExecMainCode", "0")
        return ManagerStatus(
            manager=self.name,
            file=str(self.path),
            installed=self.path.exists(),
            loaded=detail.get("LoadState") == "loaded",
            running=detail.get("ActiveState") == "active",
            pid=pid or None,
            last_exit="" if code == "0" else f"status {detail.get('ExecMainStatus', '?')} ({detail.get('Result', '')})",
            detail=detail,
        )


class Launchd(ServiceManager):
    """A launchd agent in the person's GUI session."""

    name = "launchd"

    @property
    def domain(self) -> str:
        return f"gui/{os.getuid()}"

    @property
    def path(self) -> Path:
        return self.home / "Library" / "LaunchAgents" / f"{LAUNCHD_LABEL}.plist"

    def render(self, spec: ServiceSpec) -> str:
        return render_plist(spec).decode()

    def install_commands(self) -> list[tuple[list[str], bool]]:
        # An older copy may be loaded: boot it out first (failing when none is loaded is fine).
        return [
            (["launchctl", "bootout", f"{self.domain}/{LAUNCHD_LABEL}"], False),
            (["launchctl", "bootstrap", self.domain, str(self.path)], True),
        ]

    def uninstall_commands(self) -> list[list[str]]:
        return [["launchctl", "bootout", f"{self.domain}/{LAUNCHD_LABEL}"]]

    def restart_command(self) -> list[str]:
        return ["launchctl", "kickstart", "-k", f"{self.domain}/{LAUNCHD_LABEL}"]

    def status(self) -> ManagerStatus:
        result = self._run(["launchctl", "print", f"{self.domain}/{LAUNCHD_LABEL}"], check=False)
        detail = parse_launchctl_print(result.stdout) if result.returncode == 0 else {}
        pid = detail.get("pid", "")
        return ManagerStatus(
            manager=self.name,
            file=str(self.path),
            installed=self.path.exists(),
            loaded=result.returncode == 0,
            running=detail.get("state") == "running",
            pid=int(pid) if pid.isdigit() else None,
            last_exit=detail.get("last exit code", ""),
            detail=detail,
        )


def parse_properties(text: str) -> dict[str, str]:
    """``Key=value`` lines (``systemctl show``)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            out[key.strip()] = value.strip()
    return out


def parse_launchctl_print(text: str) -> dict[str, str]:
    """The top-level ``key = value`` lines of ``launchctl print`` (nested blocks are skipped)."""
    out: dict[str, str] = {}
    depth = 0
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.endswith("{"):
            depth += 1
            continue
        if stripped == "}":
            depth -= 1
            continue
        key, sep, value = stripped.partition(" = ")
        if sep and depth == 1:
            out.setdefault(key, value)
    return out


def platform_manager(runner: Runner = run_command) -> ServiceManager:
    """The manager of this platform (launchd on macOS, systemd elsewhere on Linux)."""
    if sys.platform == "darwin":
        return Launchd(runner)
    if sys.platform.startswith("linux"):
        return Systemd(runner)
    raise ServiceError(f"greenroom has no service support for {sys.platform} (only launchd and systemd)")
