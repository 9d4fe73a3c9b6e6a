"""One description of the greenroom service, from which every manager's file is rendered."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import msgspec
import platformdirs

from greenroom._userpath import user_path
from greenroom.runtime.config import Config
from greenroom.runtime.paths import LOG_DIR

UNIT_NAME = "greenroom.service"
LAUNCHD_LABEL = "dev.greenroom.daemon"
SERVICE_LOG = "service.log"


def _control(ch: str) -> bool:
    """C0/C1 control characters and Unicode line separators: no service file line may hold them."""
    code = ord(ch)
    return code < 32 or 127 <= code <= 159 or ch in "\u2028\u2029"


class ServiceError(Exception):
    """The service cannot be described, installed or controlled (the message says why)."""


class ServiceSpec(msgspec.Struct, frozen=True, kw_only=True):
    """What runs, where, with what: rendered into a systemd user unit or a launchd plist."""

    program: list[str]
    """The daemon's argv: the Python that has greenroom, ``-m greenroom``, global flags, ``daemon``."""
    working_dir: str
    data_dir: str
    """Kept writable under the systemd sandbox; holds the journal, memory, models and logs."""
    log_dir: str
    environment: dict[str, str] = {}
    writable: list[str] = []
    """More paths the daemon may write (runtime dir, the tools' folders, caches); missing ones are fine."""
    description: str = "greenroom local agent runtime"
    unit_name: str = UNIT_NAME
    label: str = LAUNCHD_LABEL
    notify: bool = True
    """The daemon tells systemd when it is ready (sd_notify), so the unit is ``Type=notify``."""
    restart_delay_s: int = 5
    """Wait before a restart after a crash (systemd ``RestartSec``, launchd ``ThrottleInterval``)."""
    stop_timeout_s: int = 30
    """Time to park running tasks on stop before the manager kills the daemon."""

    @property
    def log_file(self) -> str:
        """Where the manager sends the daemon's stdout and stderr (its own logs go to daemon.jsonl)."""
        return str(Path(self.log_dir) / SERVICE_LOG)

    def __post_init__(self) -> None:
        values = [*self.program, self.working_dir, self.data_dir, self.log_dir, *self.writable,
                  *self.environment.keys(), *self.environment.values(), self.description]  # fmt: skip
        for value in values:
            if any(_control(ch) for ch in value):
                raise ServiceError(f"{value!r} holds a control character; a service file cannot carry it")
        if not self.program:
            raise ServiceError("the service needs a program to run")
        for key in self.environment:
            if not key or "=" in key or not (key[0].isalpha() or key[0] == "_"):
                raise ServiceError(f"{key!r} is not an environment variable name")


def build_spec(
    config: Config,
    global_flags: Sequence[str] = (),
    *,
    executable: str = sys.executable,
    environ: Mapping[str, str] = os.environ,
) -> ServiceSpec:
    """Describe the service that runs ``greenroom daemon`` as this invocation would.

    Args:
        config: the daemon config this invocation resolved (its dirs become the service's).
        global_flags: greenroom's global flags to pass on (``--config``, ``--set``, ...).
        executable: the Python interpreter that has greenroom installed.
        environ: the environment whose ``PATH`` and locale the service keeps.
    """
    data_dir = user_path(config.data_dir).resolve()
    bin_dir = str(Path(executable).parent)
    path = os.pathsep.join(dict.fromkeys([bin_dir, *environ.get("PATH", "/usr/bin:/bin").split(os.pathsep)]))
    env = {"PATH": path, "PYTHONUNBUFFERED": "1"}
    for key in ("LANG", "LC_ALL", "TZ", "HF_HOME"):
        if environ.get(key):
            env[key] = environ[key]
    writable = [str(user_path(config.runtime_dir).parent), platformdirs.user_cache_dir()]
    writable += [str(user_path(root)) for root in config.tools.fs_roots]
    return ServiceSpec(
        program=[executable, "-m", "greenroom", *global_flags, "daemon", "--no-stderr-log"],
        working_dir=str(Path.home()),
        data_dir=str(data_dir),
        log_dir=str(data_dir / LOG_DIR),
        environment=env,
        writable=list(dict.fromkeys(w for w in writable if w != str(data_dir))),
    )
