"""``greenroom chat`` (the interactive chat) and ``greenroom chats`` (list, show, rename, rm, dup,
search, export, import, forget)."""

from __future__ import annotations

import argparse
import sys

import platformdirs

from greenroom._userpath import user_path
from greenroom.clients.cli.chat_repl import ChatRepl, line_reader
from greenroom.clients.cli.common import (
    EXIT_OK,
    EXIT_USAGE,
    connect,
    err,
    guarded,
    out,
    out_json,
    out_part,
    positive_int,
)
from greenroom.clients.errors import DaemonNotRunningError

CHAT_TIMEOUT_S = 300.0
"""Replies that go through memory (search, forget) wait for it; its first use loads the embedding model."""


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "chat",
        help="talk with the assistant",
        description="An interactive chat: each message starts a task that sees the conversation so far. "
        "Answers stream as they are written, questions are asked inline, /help lists the slash commands, "
        "Ctrl-C stops an answer, Ctrl-D leaves. Starts a background daemon if none is running.",
    )
    group = p.add_mutually_exclusive_group()
    group.add_argument("--chat", dest="chat_id", help="continue this chat (c-…)")
    group.add_argument("--resume", action="store_true", help="continue the most recently used chat")
    p.add_argument("--title", default="", help="the new chat's title (default: its first message)")
    p.add_argument("--yes", action="store_true", help="answer yes to every question")
    p.add_argument("--no-start", action="store_true", help="fail instead of starting a daemon")
    p.add_argument("--history", help="where typed lines are kept for the arrow keys (default: the state dir)")
    p.set_defaults(func=chat)

    p = sub.add_parser("chats", help="list and manage chats", description="List chats, or manage one.")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=list_chats)
    cs = p.add_subparsers(dest="chats_command", metavar="COMMAND", help="what to do with one chat (default: list)")
    q = cs.add_parser("show", help="show a chat's messages", description="Show a chat's messages.")
    q.add_argument("chat_id", help="the chat id (c-…)")
    q.add_argument("--json", action="store_true", help="print JSON")
    q.set_defaults(func=show)
    q = cs.add_parser("rename", help="rename a chat", description="Rename a chat.")
    q.add_argument("chat_id", help="the chat id (c-…)")
    q.add_argument("title", nargs="+", help="the new title")
    q.set_defaults(func=rename)
    q = cs.add_parser("rm", help="delete a chat", description="Delete a chat and forget what memory holds from it.")
    q.add_argument("chat_id", help="the chat id (c-…)")
    q.add_argument("--keep-memory", action="store_true", help="keep its messages and files in memory")
    q.set_defaults(func=remove)
    q = cs.add_parser("dup", help="duplicate a chat", description="Copy a chat; the copy goes on independently.")
    q.add_argument("chat_id", help="the chat id (c-…)")
    q.add_argument("--title", default="", help="the copy's title (default: the original's + ' (copy)')")
    q.set_defaults(func=duplicate)
    q = cs.add_parser("search", help="find chats", description="Find chats by title and by what was said.")
    q.add_argument("query", nargs="+", help="words to look for")
    q.add_argument("-k", type=positive_int, default=10, help="at most this many chats")
    q.add_argument("--json", action="store_true", help="print JSON")
    q.set_defaults(func=search)
    q = cs.add_parser("export", help="export a chat", description="Write a chat as JSON (importable) or Markdown.")
    q.add_argument("chat_id", help="the chat id (c-…)")
    q.add_argument("-o", "--output", help="file to write (default: stdout)")
    q.add_argument("--markdown", action="store_true", help="Markdown for reading instead of JSON")
    q.set_defaults(func=export)
    q = cs.add_parser("import", help="import a chat", description="Import a chat from an exported JSON file.")
    q.add_argument("file", help="the JSON file ('-' for stdin)")
    q.set_defaults(func=import_chat)
    q = cs.add_parser(
        "forget", help="forget a chat's memories", description="Forget what memory holds from a chat (it stays)."
    )
    q.add_argument("chat_id", help="the chat id (c-…)")
    q.set_defaults(func=forget)


@guarded
def chat(args: argparse.Namespace) -> int:
    """The interactive chat."""
    from greenroom.clients.cli.run_cmd import start_daemon

    try:
        client = connect(args, timeout=CHAT_TIMEOUT_S)
    except DaemonNotRunningError:
        if args.no_start:
            raise
        start_daemon(args).close()
        client = connect(args, timeout=CHAT_TIMEOUT_S)
    with client:
        chat_id = args.chat_id
        if args.resume:
            recent = client.chats(limit=1)
            chat_id = recent[0].chat_id if recent else None
        history = user_path(args.history) if args.history else platformdirs.user_state_path("greenroom")
        if not args.history:
            history = history / "chat_history"
        repl = ChatRepl(client, line_reader(history), chat_id=chat_id, title=args.title, yes=args.yes)
        return repl.run()


@guarded
def list_chats(args: argparse.Namespace) -> int:
    """List chats, most recent first."""
    with connect(args) as client:
        chats = client.chats()
    if args.json:
        return out_json(chats)
    if not chats:
        out("no chats")
    for c in chats:
        status = f"  [{c.last_status}]" if c.last_status and c.last_status != "finished" else ""
        out(f"{c.chat_id}  {c.messages:>3} msgs  {c.title or c.preview}{status}")
    return EXIT_OK


@guarded
def show(args: argparse.Namespace) -> int:
    """Show one chat."""
    with connect(args) as client:
        view = client.chat(args.chat_id)
    if args.json:
        return out_json(view)
    out(f"{view.chat_id}  {view.title}")
    for m in view.messages:
        out(f"{'you' if m.role == 'user' else 'greenroom'}> {m.text}")
    return EXIT_OK


@guarded
def rename(args: argparse.Namespace) -> int:
    """Rename a chat."""
    with connect(args) as client:
        client.chat_rename(args.chat_id, " ".join(args.title))
    return EXIT_OK


@guarded
def remove(args: argparse.Namespace) -> int:
    """Delete a chat."""
    with connect(args, timeout=120) as client:
        client.chat_delete(args.chat_id, forget=not args.keep_memory)
    out(f"deleted {args.chat_id}")
    return EXIT_OK


@guarded
def duplicate(args: argparse.Namespace) -> int:
    """Duplicate a chat."""
    with connect(args) as client:
        copy = client.chat_duplicate(args.chat_id, args.title)
    out(copy.chat_id)
    return EXIT_OK


@guarded
def search(args: argparse.Namespace) -> int:
    """Find chats."""
    with connect(args, timeout=120) as client:
        hits = client.chat_search(" ".join(args.query), args.k)
    if args.json:
        return out_json(hits)
    if not hits:
        out("no chat matches")
    for h in hits:
        out(f"{h.chat_id}  {h.why:<7}  {h.score:.3f}  {h.title}" + (f"\n    {h.text[:100]}" if h.text else ""))
    return EXIT_OK


@guarded
def export(args: argparse.Namespace) -> int:
    """Export a chat."""
    with connect(args) as client:
        text = client.chat_export(args.chat_id, "markdown" if args.markdown else "json")
    if args.output:
        user_path(args.output).write_text(text)
    else:
        out_part(text if text.endswith("\n") else text + "\n")
    return EXIT_OK


@guarded
def import_chat(args: argparse.Namespace) -> int:
    """Import a chat."""
    try:
        text = sys.stdin.read() if args.file == "-" else user_path(args.file).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        err(f"cannot read {args.file}: {exc}")
        return EXIT_USAGE
    with connect(args) as client:
        view = client.chat_import(text)
    out(view.chat_id)
    return EXIT_OK


@guarded
def forget(args: argparse.Namespace) -> int:
    """Forget a chat's memories."""
    with connect(args, timeout=120) as client:
        report = client.chat_forget(args.chat_id)
    out(f"forgot {len(report.item_ids)} item(s)")
    return EXIT_OK
