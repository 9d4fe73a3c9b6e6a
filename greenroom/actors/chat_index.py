"""Chats, derived from the journal and kept current on every commit (like the task index).

A chat is the fold of its ``chat.*`` events plus the tasks its messages
started: a person's message is ``chat.message``; the answer is that task's
``task.finished`` (so it is exactly what the task journaled, and a chat never
holds an answer its journal does not). Duplicates and imports are single
events carrying the copied state.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

import msgspec

from greenroom.bus.bus import Record
from greenroom.bus.chat_protocol import ChatInfo, ChatView
from greenroom.bus.codec import read_envelopes
from greenroom.bus.envelope import Envelope
from greenroom.bus.events import (
    ChatCreated,
    ChatDeleted,
    ChatDuplicated,
    ChatImported,
    ChatMessage,
    ChatMessageAdded,
    ChatRenamed,
    ChatSummarized,
    MemoryIngestFinished,
    TaskFinished,
    TaskSubmitted,
)
from greenroom.bus.journal import Journal
from greenroom.bus.masking import map_strings

CHAT_INGEST_PREFIX = "c-"
"""Ingest runs of files sent with chat messages (``memory.ingest.finished`` is folded for these)."""

_CLASSES = (
    ChatCreated,
    ChatRenamed,
    ChatDeleted,
    ChatDuplicated,
    ChatImported,
    ChatMessageAdded,
    ChatSummarized,
    TaskSubmitted,
    TaskFinished,
    MemoryIngestFinished,
)
CHAT_EVENT_TYPES: tuple[str, ...] = tuple(c.__struct_config__.tag for c in _CLASSES)  # type: ignore[misc]
PREVIEW_CHARS = 80


class ChatIndex:
    """Every live chat's ``ChatView``; which chat each task belongs to; finished chat ingests.

    Built from the journal at start-up (``load``), then updated synchronously by
    the bus writer after each commit (``bus.add_listener(index.apply, types=ChatIndex.TYPES)``).
    """

    TYPES = frozenset(CHAT_EVENT_TYPES)
    """The event types it folds (the ``types`` of its bus listener)."""

    def __init__(self) -> None:
        self._chats: dict[str, ChatView] = {}
        self._task_chat: dict[str, str] = {}
        self._ingested: set[str] = set()
        self._cond = threading.Condition()

    def load(self, journal: Journal) -> None:
        """Fold every chat-related event already in ``journal``."""
        start = 1
        while True:
            envs = read_envelopes(journal, start, types=CHAT_EVENT_TYPES, limit=5000)
            if not envs:
                return
            self._apply_envelopes(envs)
            start = envs[-1].seq + 1

    def apply(self, records: list[Record]) -> None:
        """Bus listener: fold newly committed records."""
        # On the commit path of every batch holding a task's start or end: a set lookup of each
        # record's type, the lock only if one matches.
        wanted = self.TYPES
        envs = [r.envelope for r in records if r.type in wanted]
        if envs:
            self._apply_envelopes(envs)

    def _apply_envelopes(self, envs: Iterable[Envelope]) -> None:
        with self._cond:
            for env in envs:
                self._apply(env)
            self._cond.notify_all()

    def _apply(self, env: Envelope) -> None:
        ev, ts = env.event, env.ts
        match ev:
            case ChatCreated(chat_id=cid, title=title):
                self._chats[cid] = ChatView(chat_id=cid, title=title, created=ts, updated=ts)
            case ChatImported(chat_id=cid, title=title, created=created, messages=msgs, summaries=sums):
                self._chats[cid] = ChatView(
                    chat_id=cid, title=title, created=created or ts, updated=ts, messages=list(msgs),
                    summaries=list(sums), last_task_id=next((m.task_id for m in reversed(msgs) if m.task_id), ""),
                )  # fmt: skip
            case ChatDuplicated(chat_id=cid, source_id=src, title=title) if src in self._chats:
                copy = _copy(self._chats[src])
                copy.chat_id, copy.title, copy.created, copy.updated, copy.copied_from = cid, title, ts, ts, src
                self._chats[cid] = copy
            case ChatRenamed(chat_id=cid, title=title) if cid in self._chats:
                self._chats[cid].title = title
                self._chats[cid].updated = ts
            case ChatDeleted(chat_id=cid):
                self._chats.pop(cid, None)
            case ChatMessageAdded(chat_id=cid, message=msg) if cid in self._chats:
                chat = self._chats[cid]
                chat.messages = [*chat.messages, msg]
                chat.updated = ts
                if msg.task_id:
                    chat.last_task_id = msg.task_id
                    self._task_chat[msg.task_id] = cid
            case ChatSummarized(chat_id=cid, summary=summary) if cid in self._chats:
                self._chats[cid].summaries = [*self._chats[cid].summaries, summary]
            case TaskSubmitted(chat_id=cid) if cid and cid in self._chats and env.task_id:
                self._task_chat[env.task_id] = cid
                self._chats[cid].last_task_id = env.task_id
            case TaskFinished(answer=answer) if self._task_chat.get(env.task_id or "", "") in self._chats:
                chat = self._chats[self._task_chat[env.task_id or ""]]
                reply = ChatMessage(role="assistant", text=answer, task_id=env.task_id or "", created=ts)
                chat.messages = [*chat.messages, reply]
                chat.updated = ts
            case MemoryIngestFinished(run_id=run) if run.startswith(CHAT_INGEST_PREFIX):
                self._ingested.add(run)
            case _:
                pass

    def clear(self) -> None:
        """Forget every chat (the journal was reset)."""
        with self._cond:
            self._chats.clear()
            self._task_chat.clear()
            self._ingested.clear()

    def rewrite(self, fn: Callable[[str], str]) -> None:
        """Apply ``fn`` to every string of every chat (a forget scrubs the text out of memory here too)."""
        with self._cond:
            for chat_id, chat in list(self._chats.items()):
                self._chats[chat_id] = map_strings(chat, fn)

    # -- reading ---------------------------------------------------------------------------

    def get(self, chat_id: str) -> ChatView | None:
        with self._cond:
            chat = self._chats.get(chat_id)
            return None if chat is None else _copy(chat)

    def exists(self, chat_id: str) -> bool:
        with self._cond:
            return chat_id in self._chats

    def chat_of(self, task_id: str) -> str | None:
        """The live chat ``task_id`` was started from, if any."""
        with self._cond:
            cid = self._task_chat.get(task_id)
            return cid if cid in self._chats else None

    def infos(self) -> list[ChatInfo]:
        """Every live chat, most recently updated first."""
        with self._cond:
            chats = list(self._chats.values())
        out = [
            ChatInfo(
                chat_id=c.chat_id, title=c.title, created=c.created, updated=c.updated, messages=len(c.messages),
                last_task_id=c.last_task_id, preview=_preview(c.messages[-1].text) if c.messages else "",
            )
            for c in chats
        ]  # fmt: skip
        out.sort(key=lambda i: (-i.updated, i.chat_id))
        return out

    def wait_ingested(self, run_id: str, timeout: float) -> bool:
        """Wait until the chat ingest ``run_id`` finished; False if it did not within ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while run_id not in self._ingested:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True


def _preview(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= PREVIEW_CHARS else flat[: PREVIEW_CHARS - 1] + "…"


def _copy(chat: ChatView) -> ChatView:
    return msgspec.structs.replace(chat, messages=list(chat.messages), summaries=list(chat.summaries))


__all__ = ["CHAT_EVENT_TYPES", "CHAT_INGEST_PREFIX", "ChatIndex"]
