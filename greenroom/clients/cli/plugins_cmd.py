"""``greenroom plugins [list|install|enable|disable|update|remove]``.

Works on the plugin folder in the data dir directly (no daemon needed); changes
apply at the daemon's next start.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from greenroom.clients.cli.common import EXIT_OK, EXIT_USAGE, err, load, out


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


def run(args: argparse.Namespace) -> int:
    """Carry out one plugins action."""
    from greenroom.runtime.paths import PLUGINS_DIR, STATE_FILE, ensure_private_dir
    from greenroom.tools.plugins import PluginError, PluginManager

    data_dir = ensure_private_dir(load(args).data_dir)
    manager = PluginManager(data_dir / PLUGINS_DIR, data_dir / STATE_FILE)
    action = args.plugins_command
    try:
        if action == "list":
            infos = manager.installed()
            if not infos:
                out("no plugins installed")
            for i in infos:
                state = "enabled" if i.enabled else "disabled"
                problem = f"  BROKEN: {i.error}" if i.error else ""
                out(f"{i.id:<20} {i.version:<10} {state:<8} {', '.join(i.tools)}{problem}")
            return EXIT_OK
        if action == "install":
            if args.index:
                m = manager.install_from_index(Path(args.index).expanduser(), args.source, enable=not args.disabled)
            else:
                m = manager.install(Path(args.source).expanduser(), enable=not args.disabled)
            out(f"installed {m.id} {m.version} ({len(m.tools)} tools); restart the daemon to load it")
        elif action in ("enable", "disable"):
            manager.set_enabled(args.plugin_id, action == "enable")
            out(f"{args.plugin_id} {action}d; restart the daemon to apply")
        elif action == "update":
            old, new = manager.update(args.plugin_id, Path(args.index).expanduser())
            out(f"{args.plugin_id} is up to date ({old})" if old == new else f"updated {args.plugin_id} {old} -> {new}")
        elif action == "remove":
            manager.remove(args.plugin_id)
            out(f"removed {args.plugin_id}")
    except PluginError as exc:
        err(str(exc))
        return EXIT_USAGE
    finally:
        manager.close()
    return EXIT_OK
