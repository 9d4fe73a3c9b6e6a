"""``greenroom token create|list|revoke``: tokens for ws/tcp clients (managed over ipc only)."""

from __future__ import annotations

import argparse
import datetime as dt

from greenroom.clients.cli.common import EXIT_OK, EXIT_USAGE, connect, err, guarded, out, out_json

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    """``90``, ``90s``, ``15m``, ``12h``, ``30d`` → seconds.

    Raises:
        ValueError: not a positive duration.
    """
    text = text.strip().lower()
    unit = _UNITS.get(text[-1:])
    number = text[:-1] if unit else text
    seconds = float(number) * (unit or 1)
    if not seconds > 0 or seconds != seconds or seconds == float("inf"):
        raise ValueError(f"{text!r} is not a positive duration")
    return seconds


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "token",
        help="tokens for web, desktop and remote clients",
        description="Tokens let ws:// and tcp:// clients attach (ipc clients need none). Each has a role: "
        "viewer (timeline, tasks, status, search), operator (+ submit, cancel, confirm) or admin "
        "(+ policy, models, memory ingest/forget). Stored hashed; shown once.",
    )
    tsub = parser.add_subparsers(dest="token_command", metavar="ACTION", required=True, help="what to do")
    create = tsub.add_parser("create", help="mint a token", description="Mint a token and print it (once).")
    create.add_argument("--role", choices=["viewer", "operator", "admin"], default="viewer", help="what it may do")
    create.add_argument("--name", default="", help="a label to recognise it in `token list`")
    create.add_argument("--ttl", default=None, help="expire after this long (90s, 15m, 12h, 30d); default never")
    create.add_argument("--json", action="store_true", help="print JSON")
    create.set_defaults(func=create_token)
    ls = tsub.add_parser("list", help="list tokens", description="Every token: id, role, name, state.")
    ls.add_argument("--json", action="store_true", help="print JSON")
    ls.set_defaults(func=list_tokens)
    revoke = tsub.add_parser(
        "revoke",
        help="revoke a token",
        description="Revoke a token: its next hello is refused and its open connections are closed now.",
    )
    revoke.add_argument("token_id", help="the id `token list` shows (8 hex digits)")
    revoke.set_defaults(func=revoke_token)


@guarded
def create_token(args: argparse.Namespace) -> int:
    """Mint a token."""
    try:
        ttl = parse_duration(args.ttl) if args.ttl else None
    except ValueError as exc:
        err(str(exc))
        return EXIT_USAGE
    with connect(args) as client:
        made = client.create_token(args.role, args.name, ttl)
    if args.json:
        return out_json(made)
    out(made.token)
    expires = f", expires {_when(made.info.expires)}" if made.info.expires else ""
    err(f"token {made.info.token_id} ({made.info.role}{expires}): shown only now, keep it somewhere safe")
    return EXIT_OK


def _when(ts: float | None) -> str:
    return "-" if ts is None else dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


@guarded
def list_tokens(args: argparse.Namespace) -> int:
    """List tokens."""
    import time

    with connect(args) as client:
        tokens = client.list_tokens()
    if args.json:
        return out_json(tokens)
    now = time.time()
    for t in tokens:
        state = "revoked" if t.revoked else "expired" if t.expires and t.expires <= now else "active"
        out(
            f"{t.token_id}  {t.role:<8} {state:<8} created {_when(t.created)}  expires {_when(t.expires)}"
            f"  last used {_when(t.last_used)}  {t.name}".rstrip()
        )
    if not tokens:
        out("no tokens yet: greenroom token create --role viewer --name my-laptop")
    return EXIT_OK


@guarded
def revoke_token(args: argparse.Namespace) -> int:
    """Revoke a token."""
    with connect(args) as client:
        out(client.revoke_token(args.token_id).detail)
    return EXIT_OK
