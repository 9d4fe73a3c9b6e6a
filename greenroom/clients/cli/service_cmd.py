"""``greenroom service install|uninstall|status|logs|restart``: run the daemon under launchd or systemd.

Installing is local work on this machine (a file and the manager's commands),
like ``greenroom daemon`` itself, so this module uses ``greenroom.runtime.service``;
the daemon's own status comes through the client library.
"""

from __future__ import annotations

import argparse
import time
from collections import deque
from pathlib import Path

from greenroom._userpath import user_path
from greenroom.clients.cli.common import EXIT_OK, EXIT_USAGE, err, load, out
from greenroom.clients.client import Client
from greenroom.clients.errors import ClientError


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "service",
        help="run the daemon as a service (launchd / systemd --user)",
        description="Run greenroom in the background under the platform's service manager: a LaunchAgent on "
        "macOS, a systemd user unit on Linux. It starts at login and restarts after a crash.",
    )
    ssub = parser.add_subparsers(dest="service_command", metavar="ACTION", required=True, help="what to do")
    for name, helptext, func in (
        ("install", "write the service file, then load and start it (again, after a change)", install),
        ("uninstall", "stop the service and remove its file (the data stays)", uninstall),
        ("restart", "restart the service", restart),
    ):
        p = ssub.add_parser(name, help=helptext, description=helptext[0].upper() + helptext[1:] + ".")
        p.add_argument("--dry-run", action="store_true", help="print the file and commands, change nothing")
        p.set_defaults(func=func)
    p = ssub.add_parser(
        "status", help="the manager's view and the daemon's", description="Whether the service is loaded and "
        "running (pid, last exit) as the manager sees it, beside the daemon's own status.",
    )  # fmt: skip
    p.set_defaults(func=status)
    p = ssub.add_parser("logs", help="show the service's logs", description="The last lines of the daemon's log "
                        "(<data_dir>/logs/daemon.jsonl) and of its stdout/stderr (service.log).")  # fmt: skip
    p.add_argument("-n", "--lines", type=int, default=40, help="how many lines of each (default 40)")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing new daemon log lines (Ctrl-C stops)")
    p.set_defaults(func=logs)


def _global_flags(args: argparse.Namespace) -> list[str]:
    """The global flags this invocation got, for the service's ``greenroom daemon``."""
    flags: list[str] = []
    if args.config:
        flags += ["--config", str(user_path(args.config).resolve())]
    for flag, value in (("--data-dir", args.data_dir), ("--runtime-dir", args.runtime_dir)):
        if value:
            flags += [flag, str(user_path(value).resolve())]
    for item in args.set or []:
        flags += ["--set", item]
    return flags


def _setup(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from greenroom.runtime import ConfigError
    from greenroom.runtime.service import ServiceError, build_spec, platform_manager

    try:
        config = load(args)
        return config, build_spec(config, _global_flags(args)), platform_manager()
    except (ConfigError, ServiceError) as exc:
        err(str(exc))
        return None


def install(args: argparse.Namespace) -> int:
    """Install and start the service."""
    from greenroom.runtime.service import ServiceError

    setup = _setup(args)
    if setup is None:
        return EXIT_USAGE
    _, spec, manager = setup
    if args.dry_run:
        out(f"# {manager.path}")
        out(manager.render(spec).rstrip("\n"))
        for argv, _must in manager.install_commands():
            out(f"# then: {' '.join(argv)}")
        return EXIT_OK
    try:
        path = manager.install(spec)
    except ServiceError as exc:
        err(f"{exc} (the file is at {manager.path})")
        return 1
    out(f"installed {path} ({manager.name}); logs in {spec.log_dir}")
    return EXIT_OK


def uninstall(args: argparse.Namespace) -> int:
    """Stop and remove the service."""
    setup = _setup(args)
    if setup is None:
        return EXIT_USAGE
    _, spec, manager = setup
    if args.dry_run:
        for argv in manager.uninstall_commands():
            out(f"# run: {' '.join(argv)}")
        out(f"# remove: {manager.path} (the data in {spec.data_dir} stays)")
        return EXIT_OK
    removed = manager.uninstall()
    out(f"removed {manager.path}; data left in {spec.data_dir}" if removed else "the service was not installed")
    return EXIT_OK


def restart(args: argparse.Namespace) -> int:
    """Restart the service."""
    from greenroom.runtime.service import ServiceError

    setup = _setup(args)
    if setup is None:
        return EXIT_USAGE
    _, _, manager = setup
    if args.dry_run:
        out(f"# run: {' '.join(manager.restart_command())}")
        return EXIT_OK
    try:
        manager.restart()
    except ServiceError as exc:
        err(str(exc))
        return 1
    out("restarted")
    return EXIT_OK


def status(args: argparse.Namespace) -> int:
    """The manager's view and the daemon's."""
    from greenroom.runtime.service import ServiceError

    setup = _setup(args)
    if setup is None:
        return EXIT_USAGE
    config, _, manager = setup
    try:
        st = manager.status()
    except ServiceError as exc:
        err(str(exc))
        st = None
    if st is not None:
        state = "running" if st.running else ("loaded, not running" if st.loaded else "not loaded")
        installed = "installed" if st.installed else "not installed"
        extra = (f"; pid {st.pid}" if st.pid else "") + (f"; last exit {st.last_exit}" if st.last_exit else "")
        if st.detail.get("error"):
            extra += f" ({st.manager} says: {st.detail['error'][:200]})"
        out(f"{st.manager}: {installed} ({st.file}); {state}{extra}")
    try:
        with Client(config.runtime_dir, name="greenroom-cli", timeout=5).connect() as client:
            s = client.status()
        out(f"daemon: greenroom {s.version} pid {s.pid}, up {s.uptime_s:.0f}s, journal head #{s.head}")
    except ClientError as exc:
        out(f"daemon: not answering ({exc})")
    return EXIT_OK


def logs(args: argparse.Namespace) -> int:
    """Print (and follow) the logs."""
    from greenroom.runtime import ConfigError
    from greenroom.runtime.paths import LOG_DIR

    try:
        config = load(args)
    except ConfigError as exc:
        err(str(exc))
        return EXIT_USAGE
    log_dir = config.data_dir / LOG_DIR
    daemon_log = log_dir / "daemon.jsonl"
    for path in (log_dir / "service.log", daemon_log):
        if path.exists():
            out(f"==> {path} <==")
            with open(path, errors="replace") as f:
                for line in deque(f, maxlen=max(1, args.lines)):
                    out(line.rstrip("\n"))
        else:
            out(f"==> {path} (none yet) <==")
    if args.follow:
        try:
            _follow(daemon_log)
        except KeyboardInterrupt:
            return EXIT_OK
    return EXIT_OK


def _follow(path: Path) -> None:
    position = path.stat().st_size if path.exists() else 0
    while True:
        if path.exists():
            size = path.stat().st_size
            position = 0 if size < position else position  # rotated
            with open(path, errors="replace") as f:
                f.seek(position)
                for line in f:
                    out(line.rstrip("\n"))
                position = f.tell()
        time.sleep(0.5)
