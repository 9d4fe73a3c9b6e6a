"""``greenroom tools`` and ``greenroom policy [show|test|offline]``."""

from __future__ import annotations

import argparse
import json

from greenroom.clients.cli.common import EXIT_OK, EXIT_USAGE, connect, err, guarded, out, out_json


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("tools", help="list the tools", description="List the tools the agent may call.")
    p.add_argument("--json", action="store_true", help="print JSON (with argument schemas)")
    p.set_defaults(func=tools)

    p = sub.add_parser(
        "policy",
        help="show or test the policy, switch offline mode",
        description="Show the policy rules in evaluation order, test what it decides for a call, "
        "or switch offline mode (network tools denied).",
    )
    psub = p.add_subparsers(dest="policy_command", metavar="ACTION", required=True, help="show, test or offline")
    show = psub.add_parser("show", help="rules in evaluation order", description="Rules in evaluation order.")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(func=show_policy)
    test = psub.add_parser(
        "test", help="what the policy decides for a call", description="What the policy decides for a call."
    )
    test.add_argument("tool", help="tool name, e.g. fs.write")
    test.add_argument("args_json", nargs="?", default="{}", help='arguments as JSON, e.g. \'{"path": "~/x"}\'')
    test.set_defaults(func=test_policy)
    offline = psub.add_parser(
        "offline", help="switch offline mode", description="Switch offline mode on or off (persisted)."
    )
    offline.add_argument("state", choices=["on", "off"], help="on: deny every network tool")
    offline.set_defaults(func=set_offline)


@guarded
def tools(args: argparse.Namespace) -> int:
    """List tools."""
    with connect(args) as client:
        infos = client.tools()
    if args.json:
        return out_json(infos)
    for t in infos:
        flags = ", ".join(f for f, on in (("network", t.network), ("shell", t.shell), ("dry-run", t.dry_run)) if on)
        out(f"{t.name:<16} {t.side_effects:<9} {t.description}" + (f"  [{flags}]" if flags else ""))
    return EXIT_OK


@guarded
def show_policy(args: argparse.Namespace) -> int:
    """Show the rules."""
    with connect(args) as client:
        policy = client.policy()
    if args.json:
        return out_json(policy)
    out(f"offline mode: {'on' if policy.offline else 'off'}")
    for r in policy.rules:
        when = " ".join(f"{k}={v}" for k, v in r.when.items() if v not in ("", [], None))
        out(f"{r.layer:<10} {r.id:<22} {r.decision:<5} {','.join(r.tools):<24} {when}")
    return EXIT_OK


@guarded
def test_policy(args: argparse.Namespace) -> int:
    """Evaluate one call."""
    try:
        call_args = json.loads(args.args_json)
    except json.JSONDecodeError as exc:
        err(f"ARGS_JSON is not valid JSON: {exc}")
        return EXIT_USAGE
    if not isinstance(call_args, dict):
        err("ARGS_JSON must be a JSON object")
        return EXIT_USAGE
    with connect(args) as client:
        d = client.test_policy(args.tool, call_args)
    out(f"{d.decision} (rule {d.rule}, risk {d.risk:.2f}){': ' + d.reason if d.reason else ''}")
    return EXIT_OK


@guarded
def set_offline(args: argparse.Namespace) -> int:
    """Switch offline mode."""
    with connect(args) as client:
        client.set_offline(args.state == "on")
    out(f"offline mode {args.state}")
    return EXIT_OK
