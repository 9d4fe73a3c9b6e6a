"""The interactive chat: a prompt, streamed answers, inline confirmations, slash commands.

prompt_toolkit reads the lines (history with the arrow keys, kept across
sessions; Ctrl-C clears the line, Ctrl-D leaves). While a task answers, its
timeline is followed: the answer streams as the model writes it, other steps
show as short status lines, and a question is asked right there. Ctrl-C while
a task works cancels it (stopping its generation) and returns to the prompt.
Without a terminal (a pipe), lines are read plainly and the same happens.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Callable
from pathlib import Path

from greenroom._userpath import user_path
from greenroom.bus import events as e
from greenroom.bus.chat_protocol import ChatSent, ChatView
from greenroom.bus.envelope import Envelope
from greenroom.clients.cli.chat_stream import ANSWER_CALLS, ROUTE_CALLS, AnswerView, partial_json_string
from greenroom.clients.cli.common import err, out
from greenroom.clients.client import Client
from greenroom.clients.errors import ServerError

HELP = """\
  /new [TITLE]        start a new chat
  /list               your chats, most recent first
  /switch ID|N        continue another chat (its id, or its number in /list)
  /rename TITLE       rename this chat
  /export [PATH]      save this chat (JSON; Markdown when PATH ends in .md)
  /model [NAME]       show the model, or load another and use it
  /image PATH         attach an image to your next message (a vision model reads it)
  /file PATH          attach a file to your next message (it goes into memory with this chat)
  /forget [ID|TEXT]   forget what memory holds from this chat; or one memory by id; or the best match
  /help, /quit        this text; leave (Ctrl-D too)
Ctrl-C stops the answer being written (the task is cancelled) and keeps you here."""


class Quit(Exception):
    """The person asked to leave."""


class ChatRepl:
    """One interactive chat session over the client library.

    Args:
        client: a connected client.
        read: reads one line for a prompt (raises EOFError at the end, KeyboardInterrupt on Ctrl-C).
        chat_id: continue this chat; None starts a new one on the first message.
        title: the new chat's title.
        yes: answer yes to every question (scripts).
    """

    def __init__(
        self,
        client: Client,
        read: Callable[[str], str],
        *,
        chat_id: str | None = None,
        title: str = "",
        yes: bool = False,
    ) -> None:
        self.client = client
        self.read = read
        self.chat: ChatView | None = client.chat(chat_id) if chat_id else None
        self.title = title
        self.yes = yes
        self.images: list[str] = []
        self.files: list[str] = []
        self._listed: list[str] = []

    def run(self) -> int:
        if self.chat is not None:
            self._show_recent(self.chat)
        out("type a message, /help for commands, Ctrl-D to leave")
        while True:
            try:
                line = self.read(self._prompt()).strip()
            except KeyboardInterrupt:
                continue
            except EOFError:
                out()
                return 0
            if not line:
                continue
            try:
                if line.startswith("/"):
                    self.command(line)
                else:
                    self.send(line)
            except Quit:
                return 0
            except ServerError as exc:
                err(exc.message)

    def _prompt(self) -> str:
        extra = "".join(" +image" for _ in self.images) + "".join(" +file" for _ in self.files)
        return f"you{extra}> "

    # -- a message and its answer ----------------------------------------------------------

    def _ensure_chat(self) -> ChatView:
        if self.chat is None:
            self.chat = self.client.chat_create(self.title)
            out(f"  · new chat {self.chat.chat_id}")
        return self.chat

    def send(self, text: str) -> None:
        chat = self._ensure_chat()
        sent = self.client.chat_send(chat.chat_id, text, images=self.images, files=self.files)
        self.images, self.files = [], []
        self.follow(sent)

    def follow(self, sent: ChatSent) -> None:
        """Show the task's progress until it ends; Ctrl-C cancels it."""
        stream = self.client.follow(from_seq=sent.seq, task_id=sent.task_id, idle=0.2)
        view = AnswerView()
        try:
            for env in stream:
                if env is not None and self._show(env, view):
                    return
        except KeyboardInterrupt:
            self._stop(sent.task_id, view)
        finally:
            stream.close()

    def _stop(self, task_id: str, view: AnswerView) -> None:
        view.end_line()
        try:
            self.client.cancel(task_id)
            out(f"  · stopped (task {task_id} cancelled)")
        except ServerError as exc:
            out(f"  · {exc.message}")

    def _show(self, env: Envelope, view: AnswerView) -> bool:
        """Show one event; True once the task ended."""
        ev = env.event
        match ev:
            case e.LlmChunk(request_id=rid, text=text) if rid.endswith(ANSWER_CALLS):
                view.stream(text)
            case e.LlmChunk(request_id=rid, text=text) if rid.endswith(ROUTE_CALLS):
                view.route += text  # the first call may answer directly: its JSON's answer streams
                shown = partial_json_string(view.route, "answer")
                if shown is not None and len(shown) > len(view.streamed):
                    view.stream(shown[len(view.streamed) :])
            case e.MemoryUsed(hits=hits) if hits:
                view.line("  · memories: " + ", ".join(f"{h.item_id} ({h.why})" for h in hits))
            case e.ChatSummarized(summary=summary):
                view.line(f"  · earlier turns summarised (the first {summary.through} messages)")
            case e.TaskPlanned(steps=steps) if steps:
                view.reset()  # whatever streamed was not the answer: steps follow
                if len(steps) > 1:
                    view.line("  · plan: " + " | ".join(s.intent for s in steps))
            case e.ToolRequested(tool=tool, args=args):
                view.line(f"  · {tool} {_short(str(args))}")
            case e.ConfirmationAsked():
                self._ask(ev, view)
            case e.TaskFinished(answer=answer, cited=cited):
                view.finish(answer)
                if cited:
                    out("  · memories used: " + ", ".join(cited))
                return True
            case e.TaskFailed(error=error):
                view.line(f"  · failed: {error}")
                return True
            case e.TaskCancelled(reason=reason):
                view.line(f"  · cancelled: {reason}")
                return True
            case e.TaskParked(reason=reason):
                view.line(f"  · parked: {reason}")
                return True
            case _:
                pass
        return False

    def _ask(self, ev: e.ConfirmationAsked, view: AnswerView) -> None:
        view.line(f"  ? {ev.question}")
        approved = True
        if not self.yes:
            try:
                answer = self.read("  allow? [y/N] ").strip().lower()
            except EOFError:
                answer = ""
            approved = answer in ("y", "yes")
        try:
            self.client.confirm(ev.confirmation_id, approved)
            out(f"  · {'yes' if approved else 'no'}")
        except ServerError as exc:
            out(f"  · {exc.message}")

    # -- slash commands --------------------------------------------------------------------

    def command(self, line: str) -> None:
        name, _, arg = line.partition(" ")
        arg = arg.strip()
        match name:
            case "/quit" | "/exit":
                raise Quit
            case "/help":
                out(HELP)
            case "/new":
                self.chat = self.client.chat_create(arg)
                self.images, self.files = [], []
                out(f"  · new chat {self.chat.chat_id}")
            case "/list":
                self._list()
            case "/switch":
                self._switch(arg)
            case "/rename" if arg:
                chat = self._ensure_chat()
                self.client.chat_rename(chat.chat_id, arg)
                out(f"  · renamed to {arg}")
            case "/export":
                self._export(arg)
            case "/model":
                self._model(arg)
            case "/image" | "/file" if arg:
                self._attach(name[1:], arg)
            case "/forget":
                self._forget(arg)
            case _:
                out(f"  · unknown or incomplete command {line!r}; /help lists them")

    def _list(self) -> None:
        chats = self.client.chats()
        self._listed = [c.chat_id for c in chats]
        if not chats:
            out("  · no chats yet")
        current = self.chat.chat_id if self.chat else ""
        for n, c in enumerate(chats, 1):
            mark = "*" if c.chat_id == current else " "
            out(f" {mark}{n:>3}  {c.chat_id}  {_when(c.updated)}  {c.messages:>3} msgs  {c.title or c.preview}")

    def _switch(self, arg: str) -> None:
        chat_id = arg
        if arg.isdigit() and 0 < int(arg) <= len(self._listed):
            chat_id = self._listed[int(arg) - 1]
        if not chat_id:
            out("  · /switch needs a chat id or a number from /list")
            return
        self.chat = self.client.chat(chat_id)
        self.images, self.files = [], []
        self._show_recent(self.chat)

    def _show_recent(self, chat: ChatView, n: int = 4) -> None:
        out(f"  · chat {chat.chat_id}: {chat.title or '(untitled)'} ({len(chat.messages)} messages)")
        for m in chat.messages[-n:]:
            who = "you" if m.role == "user" else "greenroom"
            out(f"{who}> {m.text}")

    def _export(self, arg: str) -> None:
        chat = self._ensure_chat()
        path = user_path(arg or f"{chat.chat_id}.json")
        markdown = path.suffix.lower() in (".md", ".markdown")
        text = self.client.chat_export(chat.chat_id, "markdown" if markdown else "json")
        try:
            path.write_text(text)
        except OSError as exc:
            out(f"  · cannot write {path}: {exc.strerror}")
            return
        out(f"  · saved {path}")

    def _model(self, arg: str) -> None:
        if not arg:
            st = self.client.status()
            out(f"  · model {st.model} ({'loaded' if st.model_loaded else 'not loaded'})")
            return
        out(f"  · loading {arg} …")
        with Client(self.client.runtime_dir, name="greenroom-chat", timeout=900, url=self.client.url,
                    token=self.client.token) as slow:  # fmt: skip
            out(f"  · using {slow.load_model(arg)}")

    def _attach(self, kind: str, arg: str) -> None:
        path = user_path(arg).resolve()
        if not path.is_file():
            out(f"  · no {kind} at {path}")
            return
        (self.images if kind == "image" else self.files).append(str(path))
        out(f"  · {kind} {path} goes with your next message")

    def _forget(self, arg: str) -> None:
        if arg.startswith("m-") and " " not in arg:
            report = self.client.memory_forget(item_ids=[arg])
        elif arg:
            report = self.client.memory_forget(query=arg)
        else:
            chat = self._ensure_chat()
            report = self.client.chat_forget(chat.chat_id)
        out(f"  · forgot {len(report.item_ids)} item(s): {', '.join(report.item_ids) or 'nothing matched'}")


def _short(text: str, limit: int = 80) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _when(ts: float) -> str:
    return f"{dt.datetime.fromtimestamp(ts):%m-%d %H:%M}" if ts else "-"


def line_reader(history: Path | None) -> Callable[[str], str]:
    """prompt_toolkit's prompt on a terminal (arrow-key history, kept in ``history``); ``input`` otherwise."""
    if not sys.stdin.isatty():
        return input
    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import FileHistory, InMemoryHistory

    hist = InMemoryHistory()
    if history is not None:
        try:
            history.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.close(os.open(history, os.O_CREAT | os.O_APPEND | os.O_WRONLY, 0o600))  # what you typed: yours only
            hist = FileHistory(str(history))  # type: ignore[assignment]
        except OSError:
            pass
    session: PromptSession[str] = PromptSession(history=hist)
    answers: PromptSession[str] = PromptSession()  # questions' answers stay out of the history

    def read(prompt: str) -> str:
        return (answers if prompt.startswith("  ") else session).prompt(prompt)

    return read


__all__ = ["ChatRepl", "line_reader"]
