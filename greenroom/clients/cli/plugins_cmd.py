"""``greenroom plugins [list|install|enable|disable|update|remove]``.

The daemon does the work (its data dir holds the plugins); changes apply at its
next start. Folder and index paths are resolved here and read by the daemon.
"""

from __future__ import annotations

import argparse

from greenroom._userpath import user_path
from greenroom.clients.cli.common import EXIT_OK, connect, guarded, out


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "plugins",
        help="manage plugins",
        description="Install, enable, disable, update and remove plugins (folders with a plugin.toml). "
        "Changes apply at the daemon's next start.",
    )
    psub = p.add_subparsers(dest="plugins_command", metavar="ACTION", required=True, help="what to do")
    ls = psub.add_parser("list", help="installed plugins", description="Installed plugins and their state.")
    ls.set_defaults(func=run)
    inst = psub.add_parser(
        "install",
        help="install from a folder or an index",
        description="Install a plugin from a folder, or by id from a local index file (--index).",
    )
    inst.add_argument("source", help="a plugin folder, or a plugin id with --index")
    inst.add_argument("--index", help="a local index file (JSON: {plugins: [{id, version, path}]})")
    inst.add_argument("--disabled", action="store_true", help="install without enabling")
    inst.set_defaults(func=run)
    for name, text in (
        ("enable", "enable a plugin"),
        ("disable", "disable a plugin"),
        ("remove", "uninstall a plugin"),
    ):
        a = psub.add_parser(name, help=text, description=text.capitalize() + ".")
        a.add_argument("plugin_id", help="the plugin's id")
        a.set_defaults(func=run)
    up = psub.add_parser("update", help="update from an index", description="Install a newer version from an index.")
    up.add_argument("plugin_id", help="the plugin's id")
    up.add_argument("--index", required=True, help="the local index file")
    up.set_defaults(func=run)


def _path(value: str) -> str:
    return str(user_path(value).resolve())


@guarded
def run(args: argparse.Namespace) -> int:
    """Carry out one plugins action in the daemon."""
    action = args.plugins_command
    with connect(args) as client:
        if action == "list":
            views = client.plugins()
            if not views:
                out("no plugins installed")
            for v in views:
                state = "enabled" if v.enabled else "disabled"
                problem = f"  BROKEN: {v.error}" if v.error else ""
                out(f"{v.id:<20} {v.version:<10} {state:<8} {', '.join(v.tools)}{problem}")
            return EXIT_OK
        if action == "install":
            if args.index:
                reply = client.plugin_install(args.source, _path(args.index), enable=not args.disabled)
            else:
                reply = client.plugin_install(_path(args.source), enable=not args.disabled)
            tools = f"{len(reply.tools)} tools"
            out(f"installed {reply.plugin_id} {reply.version} ({tools}); restart the daemon to load it")
        elif action in ("enable", "disable"):
            (client.plugin_enable if action == "enable" else client.plugin_disable)(args.plugin_id)
            out(f"{args.plugin_id} {action}d; restart the daemon to apply")
        elif action == "update":
            reply = client.plugin_update(args.plugin_id, _path(args.index))
            if reply.previous == reply.version:
                out(f"{args.plugin_id} is up to date ({reply.version})")
            else:
                out(f"updated {args.plugin_id} {reply.previous} -> {reply.version}")
        elif action == "remove":
            client.plugin_remove(args.plugin_id)
            out(f"removed {args.plugin_id}")
    return EXIT_OK
