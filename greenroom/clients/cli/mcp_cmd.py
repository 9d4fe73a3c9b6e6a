"""``greenroom mcp [add|list|show|rm|enable|disable|restart]``: MCP servers as tool sources.

Everything goes through the daemon (it owns the servers and their secrets).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from greenroom._userpath import user_path
from greenroom.bus import protocol as p
from greenroom.clients.cli.common import EXIT_OK, EXIT_USAGE, connect, err, guarded, out, out_json

# Adding or restarting starts the server and lists its tools (npx may download it first).
MCP_TIMEOUT_S = 120.0


def _pair(value: str) -> tuple[str, str]:
    key, sep, val = value.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"{value.split('=')[0]!r}: expected KEY=VALUE")
    return key, val


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "mcp",
        help="MCP servers as tool sources",
        description="Connect MCP servers (a command line, or a Streamable HTTP URL). Their tools join the "
        "agent's as mcp.<server>.<tool>, under the same policy: read-only ones (as the server marks them) "
        "run, others ask; offline mode denies network servers.",
    )
    msub = parser.add_subparsers(dest="mcp_command", metavar="ACTION", required=True, help="what to do")
    add = msub.add_parser(
        "add",
        help="add a server",
        description="Add a server: `greenroom mcp add NAME -- CMD ARGS...` (stdio) or "
        "`greenroom mcp add NAME --url URL [--header K=V]` (Streamable HTTP). The daemon starts it at once "
        "to list its tools. Header and env values are stored privately (0600) and never shown again.",
    )
    add.add_argument("name", help="the server's name: [a-z][a-z0-9_-]*, its tools become mcp.NAME.<tool>")
    add.add_argument("--url", default="", help="a Streamable HTTP endpoint (instead of a command)")
    add.add_argument("--header", type=_pair, action="append", default=[], help="an HTTP header K=V (repeatable)")
    add.add_argument("--env", type=_pair, action="append", default=[], help="an environment variable K=V (repeatable)")
    add.add_argument("--cwd", help="working directory of the command (default: the current one)")
    add.add_argument(
        "--network", action="store_true", help="the command reaches the network itself (offline mode denies it)"
    )
    add.add_argument("--timeout", type=float, default=0.0, help="per-call timeout in seconds (0: mcp.call_timeout_s)")
    add.add_argument("--disabled", action="store_true", help="add it without starting it")
    add.add_argument("--json", action="store_true", help="print the server as JSON")
    add.set_defaults(func=add_server, takes_command_line=True)  # the command line comes after --

    ls = msub.add_parser("list", help="servers and their state", description="Every server and its state.")
    ls.add_argument("--json", action="store_true", help="print JSON")
    ls.set_defaults(func=list_servers)
    show = msub.add_parser("show", help="one server and its tools", description="One server, its state and tools.")
    show.add_argument("name", help="the server's name")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(func=show_server)
    for name, text in (
        ("rm", "remove a server (stops it; its tools go)"),
        ("enable", "enable a server (it starts on first use)"),
        ("disable", "disable a server (stops it; its tools go until enabled)"),
        ("restart", "restart a server now (also lists its tools again)"),
    ):
        a = msub.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".")
        a.add_argument("name", help="the server's name")
        a.set_defaults(func=change_server)


def _describe(s: p.McpServerView) -> str:
    where = s.url if s.transport == "http" else " ".join(s.command)
    problem = f"  ({s.error})" if s.error else ""
    return f"{s.name:<16} {s.state:<9} {s.transport:<5} {len(s.tools):>3} tools  {where}{problem}"


def _show(s: p.McpServerView) -> None:
    out(_describe(s))
    details = [
        ("cwd", s.cwd),
        ("pid", s.pid),
        ("protocol", s.protocol),
        ("network", "yes" if s.network else ""),
        ("headers", ", ".join(s.header_names)),
        ("env", ", ".join(s.env_names)),
        ("crashes", s.crashes or ""),
        ("timeout", f"{s.timeout_s:g}s"),
    ]
    for key, value in details:
        if value not in ("", None):
            out(f"  {key + ':':<10} {value}")
    for t in s.tools:
        out(f"  {t.name:<40} {t.side_effects:<8} {t.description[:80]}")


@guarded
def add_server(args: argparse.Namespace) -> int:
    """Add a server."""
    command = list(getattr(args, "command_line", []))
    if bool(command) == bool(args.url):
        err("give either -- CMD ARGS... (a stdio server) or --url URL (an HTTP server)")
        return EXIT_USAGE
    cwd = ""
    if command:
        # The daemon runs elsewhere: make a relative program path and the folder absolute here
        # (without resolving symlinks: a venv's python must stay the venv's python).
        if os.sep in command[0] and Path(command[0]).exists():
            command[0] = os.path.abspath(command[0])
        cwd = os.path.abspath(user_path(args.cwd or os.getcwd()))
    with connect(args, timeout=MCP_TIMEOUT_S) as client:
        server = client.mcp_add(
            args.name, command=command, url=args.url, headers=dict(args.header), env=dict(args.env),
            cwd=cwd, network=args.network, timeout_s=args.timeout, enabled=not args.disabled,
        )  # fmt: skip
    if args.json:
        return out_json(server)
    _show(server)
    return EXIT_OK


@guarded
def list_servers(args: argparse.Namespace) -> int:
    """List servers."""
    with connect(args) as client:
        servers = client.mcp_list()
    if args.json:
        return out_json(servers)
    if not servers:
        out("no MCP servers (add one: greenroom mcp add NAME -- CMD ARGS...)")
    for s in servers:
        out(_describe(s))
    return EXIT_OK


@guarded
def show_server(args: argparse.Namespace) -> int:
    """Show one server."""
    with connect(args) as client:
        server = client.mcp_show(args.name)
    if args.json:
        return out_json(server)
    _show(server)
    return EXIT_OK


@guarded
def change_server(args: argparse.Namespace) -> int:
    """Remove, enable, disable or restart a server."""
    action = args.mcp_command
    with connect(args, timeout=MCP_TIMEOUT_S) as client:
        if action == "rm":
            client.mcp_remove(args.name)
            out(f"removed {args.name}")
            return EXIT_OK
        if action == "restart":
            server = client.mcp_restart(args.name)
        else:
            server = client.mcp_enable(args.name, action == "enable")
    _show(server)
    return EXIT_OK
