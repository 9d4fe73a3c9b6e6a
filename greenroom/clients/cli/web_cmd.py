"""``greenroom web`` (the page in a browser) and ``greenroom app`` (the page in a native window).

Both attach to the running daemon, or start one that serves the page, and hand
the page a fresh short-lived token in the URL fragment: a browser never sends
a fragment to a server, so the token reaches no request line and no log.
"""

from __future__ import annotations

import argparse

from greenroom.clients.cli.common import EXIT_OK, EXIT_USAGE, connect, err, guarded, out
from greenroom.clients.cli.token_cmd import parse_duration
from greenroom.clients.client import Client
from greenroom.clients.errors import DaemonNotRunningError

WEB_SETTING = "gateway.web=true"


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    web = sub.add_parser(
        "web",
        help="open the web client in your browser",
        description="Open the web client (served by the daemon on loopback) with a fresh short-lived token. "
        "Starts a daemon serving it if none runs.",
    )
    _common(web)
    web.add_argument("--no-open", action="store_true", help="do not start a browser")
    web.add_argument("--print-url", action="store_true", help="print the URL with its token (for scripts)")
    web.set_defaults(func=web_command)
    app = sub.add_parser(
        "app",
        help="the web client in a native window",
        description="Show the web client in a native window (pywebview: GTK/WebKit on Linux, Cocoa on macOS), "
        "attached to the running daemon or to one it starts.",
    )
    _common(app)
    app.add_argument("--width", type=int, default=1280, help="window width")
    app.add_argument("--height", type=int, default=820, help="window height")
    app.set_defaults(func=app_command)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--role", choices=["viewer", "operator", "admin"], default="admin", help="the page's role")
    p.add_argument("--ttl", default="15m", help="how long the token may be used to attach (default 15m)")
    p.add_argument("--no-start", action="store_true", help="fail instead of starting a daemon")


def page_url(args: argparse.Namespace) -> str:
    """Attach (or start a daemon with the page on), mint a token, return the page URL with it.

    Raises:
        DaemonNotRunningError: none runs and ``--no-start`` was given, or it did not start.
        ValueError: the daemon runs but does not serve the page, or ``--ttl`` is bad.
    """
    ttl = parse_duration(args.ttl)
    try:
        client: Client = connect(args)
    except DaemonNotRunningError:
        if args.no_start:
            raise
        from greenroom.clients.cli.run_cmd import start_daemon

        args.set = [*(getattr(args, "set", None) or []), WEB_SETTING]
        client = start_daemon(args)
    with client:
        assert client.hello is not None
        web = client.hello.transports.get("web")
        if not web:
            raise ValueError(
                "the running daemon does not serve the web page; `greenroom stop`, then `greenroom web` "
                f"starts one that does (or set `web = true` under [gateway] in the config, or --set {WEB_SETTING}, "
                "and restart it)"
            )
        made = client.create_token(args.role, f"{args.command} page", ttl)
    return f"{web}#token={made.token}"


@guarded
def web_command(args: argparse.Namespace) -> int:
    """Open the page."""
    try:
        url = page_url(args)
    except ValueError as exc:
        err(str(exc))
        return EXIT_USAGE
    page = url.split("#", 1)[0]
    if args.print_url:
        out(url)
    if not args.no_open:
        import webbrowser

        if not webbrowser.open(url):
            err(f"no browser could be started; open {page} with `greenroom web --print-url`")
            return EXIT_USAGE
        out(f"opened {page} (the token in it can attach for {args.ttl})")
    return EXIT_OK


@guarded
def app_command(args: argparse.Namespace) -> int:
    """The native window."""
    try:
        import webview
    except ImportError:
        err("`greenroom app` needs pywebview: pip install 'greenroom[app]' (see README: Desktop)")
        return EXIT_USAGE
    try:
        url = page_url(args)
    except ValueError as exc:
        err(str(exc))
        return EXIT_USAGE
    webview.create_window("greenroom", url, width=args.width, height=args.height)
    webview.start(private_mode=True)
    return EXIT_OK
