"""The chat operations clients ask for: validate, then journal.

Every change is a durable ``chat.*`` event that the chat index folds. Sending
a message journals it (``chat.message``) and submits a task with the chat's
id, which sees the conversation so far (``actors/grounding.py``). A chat's
messages and answers, its tasks' summaries and its files are kept in memory
under the tag ``chat:<id>``: chats are searched through the memory engine, and
deleting or forgetting a chat forgets them.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from greenroom.actors import ActorError, CallFailed, TaskIndex
from greenroom.actors.chat_index import CHAT_INGEST_PREFIX, ChatIndex
from greenroom.actors.deps import ActorDeps
from greenroom.actors.grounding import chat_store, chat_tag, relevant
from greenroom.actors.messages import Forget, Query, Search, StartIngest
from greenroom.bus import chat_protocol as cp
from greenroom.bus.bus import Bus
from greenroom.bus.chat_protocol import ChatHit, ChatInfo, ChatView
from greenroom.bus.events import (
    ChatCreated,
    ChatDeleted,
    ChatDuplicated,
    ChatImported,
    ChatMessage,
    ChatMessageAdded,
    ChatRenamed,
    Event,
    TaskSubmitted,
)
from greenroom.bus.memory_records import ForgetReport
from greenroom.bus.protocol import TERMINAL_STATUSES, Ok, Reply
from greenroom.memory import Filters
from greenroom.runtime import chat_docs
from greenroom.runtime.errors import RequestError

R = TypeVar("R")
SOURCE = "gateway"
MAX_TEXT_CHARS = 8000
MAX_QUERY_CHARS = 1000
AUTO_TITLE_CHARS = 60


class ChatOps:
    """Create, list, read, rename, delete, duplicate, search, export, import, send, forget.

    Args:
        bus: where chat events are journaled.
        chats: the chat index.
        tasks: the task index (a chat takes a new message once its last task ended).
        deps: the actors' dependencies (the Memory actor's handle, once started).
        clock: the wall clock.
    """

    def __init__(
        self, bus: Bus, chats: ChatIndex, tasks: TaskIndex, deps: ActorDeps, clock: Callable[[], float] = time.time
    ) -> None:
        self.bus = bus
        self.chats = chats
        self.tasks = tasks
        self.deps = deps
        self.clock = clock
        self._lock = threading.Lock()

    def handle(self, request: Any, client: str = "") -> Reply:
        """Serve one chat request (the gateway's dispatch hands them all here)."""
        match request:
            case cp.ChatCreate(title=title):
                return cp.ChatReply(chat=self.create(title, client))
            case cp.ListChats(limit=limit):
                return cp.Chats(chats=self.infos(limit))
            case cp.GetChat(chat_id=cid):
                return cp.ChatReply(chat=self.show(cid))
            case cp.ChatRename(chat_id=cid, title=title):
                return Ok(seq=self.rename(cid, title), detail="renamed")
            case cp.ChatDelete(chat_id=cid, forget=forget):
                return Ok(seq=self.delete(cid, forget), detail="deleted")
            case cp.ChatDuplicate(chat_id=cid, title=title):
                return cp.ChatReply(chat=self.duplicate(cid, title))
            case cp.ChatSearch(query=query, k=k):
                return cp.ChatHits(hits=self.search(query, k))
            case cp.ChatExport(chat_id=cid, format=fmt):
                chat = self.show(cid)
                text = chat_docs.to_markdown(chat) if fmt == "markdown" else chat_docs.to_json(chat)
                return cp.ChatExported(chat_id=cid, format=fmt, text=text)
            case cp.ChatImport(document=document):
                return cp.ChatReply(chat=self.import_(document))
            case cp.ChatSend(chat_id=cid, text=text, images=images, files=files):
                task_id, index, seq = self.send(cid, text, images, files, client)
                return cp.ChatSent(chat_id=cid, task_id=task_id, index=index, seq=seq)
            case cp.ChatForget(chat_id=cid):
                self.show(cid)
                return cp.ChatForgotten(chat_id=cid, report=self.forget(cid))
            case _:
                raise RequestError("bad_request", f"not a chat request: {type(request).__name__}")

    # -- reading ---------------------------------------------------------------------------

    def _status(self, task_id: str) -> str:
        view = self.tasks.get(task_id) if task_id else None
        return view.status if view is not None else ""

    def show(self, chat_id: str) -> ChatView:
        chat = self.chats.get(chat_id)
        if chat is None:
            raise RequestError("not_found", f"no chat {chat_id!r}")
        chat.last_status = self._status(chat.last_task_id)
        return chat

    def infos(self, limit: int = 100) -> list[ChatInfo]:
        if limit < 0:
            raise RequestError("bad_request", f"limit must not be negative, got {limit}")
        out = self.chats.infos()[:limit]
        return [i if not i.last_task_id else _with_status(i, self._status(i.last_task_id)) for i in out]

    # -- changing --------------------------------------------------------------------------

    def _publish(self, event: Event, chat_id: str, task_id: str | None = None, causation: int | None = None) -> int:
        env = self.bus.publish(
            event, source=SOURCE, task_id=task_id, correlation_id=task_id or chat_id, causation_id=causation,
            durable=True,
        )  # fmt: skip
        return env.seq

    def create(self, title: str = "", client: str = "") -> ChatView:
        chat_id = _new_id()
        self._publish(ChatCreated(chat_id=chat_id, title=chat_docs.clean_title(title), client=client), chat_id)
        return self.show(chat_id)

    def rename(self, chat_id: str, title: str) -> int:
        self.show(chat_id)
        return self._publish(ChatRenamed(chat_id=chat_id, title=chat_docs.clean_title(title)), chat_id)

    def delete(self, chat_id: str, forget: bool = True) -> int:
        chat = self.show(chat_id)
        if forget:  # first: if memory cannot forget now, the chat is still there to try again
            self._forget(chat)
        return self._publish(ChatDeleted(chat_id=chat_id), chat_id)

    def duplicate(self, chat_id: str, title: str = "") -> ChatView:
        source = self.show(chat_id)
        new_id = _new_id()
        name = chat_docs.clean_title(title) if title.strip() else chat_docs.clean_title(f"{source.title} (copy)"[:200])
        self._publish(ChatDuplicated(chat_id=new_id, source_id=chat_id, title=name), new_id)
        copy = self.show(new_id)
        self._index(copy)
        return copy

    def import_(self, document: str) -> ChatView:
        doc = chat_docs.parse(document)
        free = chat_docs.CHAT_ID.fullmatch(doc.chat_id) and not self.chats.exists(doc.chat_id)
        chat_id = doc.chat_id if free else _new_id()
        self._publish(
            ChatImported(
                chat_id=chat_id, title=doc.title, created=doc.created, messages=doc.messages, summaries=doc.summaries
            ),
            chat_id,
        )
        chat = self.show(chat_id)
        self._index(chat)
        return chat

    def send(
        self, chat_id: str, text: str, images: list[str], files: list[str], client: str = ""
    ) -> tuple[str, int, int]:
        """Journal a person's message and start the task that answers it: ``(task id, index, seq)``."""
        text = text.strip()
        if not text:
            raise RequestError("bad_request", "the message is empty")
        images = [_attachment(p, "image", urls=True) for p in images]
        files = [_attachment(p, "file") for p in files]
        goal = text + "".join(f"\n[image {p}]" for p in images) + "".join(f"\n[file {p}]" for p in files)
        if len(goal) > MAX_TEXT_CHARS:
            raise RequestError("bad_request", f"the message is {len(goal)} characters; at most {MAX_TEXT_CHARS}")
        if len(images) + len(files) > chat_docs.MAX_ATTACHMENTS:
            raise RequestError("bad_request", f"at most {chat_docs.MAX_ATTACHMENTS} images and files per message")
        with self._lock:  # two clients sending at once: one gets the conflict
            chat = self.show(chat_id)
            if _working(chat):
                # The timeline leaves before the indexes fold a commit: a client that saw the task end
                # may ask before they have. Once the commits in flight are done, they agree.
                self.bus.flush()
                chat = self.show(chat_id)
            if _working(chat):
                raise RequestError(
                    "conflict",
                    f"chat {chat_id} is still working on task {chat.last_task_id} ({chat.last_status}); "
                    "wait for it or cancel it",
                )
            run = CHAT_INGEST_PREFIX + uuid.uuid4().hex[:8] if files else ""
            task_id = "t-" + uuid.uuid4().hex[:8]
            index = len(chat.messages)
            message = ChatMessage(
                role="user", text=text, images=images, files=files, task_id=task_id, created=self.clock()
            )
            seq = self._publish(ChatMessageAdded(chat_id=chat_id, message=message, ingest_run=run), chat_id, task_id)
            if not chat.title:
                self._publish(ChatRenamed(chat_id=chat_id, title=_auto_title(text)), chat_id, task_id, seq)
            self._publish(TaskSubmitted(goal=goal, client=client, chat_id=chat_id), chat_id, task_id, seq)
        if files:  # told, not asked: a busy Memory actor must not hold up the reply (the task waits for the run)
            self._tell(StartIngest(task_id=task_id, paths=files, tags=[chat_tag(chat_id)], run_id=run))
        self._tell(chat_store(chat_id, index, text, task_id))
        return task_id, index, seq

    # -- memory ----------------------------------------------------------------------------

    def _ask(self, query: Query[R]) -> R:
        handles = self.deps.handles
        if handles is None:
            raise RequestError("conflict", "the daemon is still starting")
        try:
            return handles.memory.ask(query, timeout=120)
        except CallFailed as exc:
            raise RequestError("bad_request" if exc.code == "bad_request" else "conflict", str(exc)) from exc
        except (ActorError, TimeoutError) as exc:
            raise RequestError("conflict", f"memory is not available: {exc}") from exc

    def _tell(self, command: Any) -> None:
        if self.deps.handles is not None:
            self.deps.handles.memory.tell(command, wait=5)  # dropped while memory restarts: found by title only

    def _index(self, chat: ChatView) -> None:
        """Keep a chat's messages in memory (imports, duplicates: identical text is stored once)."""
        for i, m in enumerate(chat.messages):
            if m.text.strip():
                self._tell(chat_store(chat.chat_id, i, m.text, answer=m.role == "assistant"))

    def _forget(self, chat: ChatView) -> ForgetReport:
        """Forget everything memory holds under the chat's tag, then index again the text other chats share.

        Text another chat still holds (a duplicate's copy) stays in the journal: that chat is
        rebuilt from those events, and the person kept it.
        """
        texts = {m.text for m in chat.messages}
        sharing = []
        for info in self.chats.infos():
            other = self.chats.get(info.chat_id)
            if other is not None and other.chat_id != chat.chat_id and any(m.text in texts for m in other.messages):
                sharing.append(other)
        shared = sorted({m.text for other in sharing for m in other.messages} & texts)
        forget = Forget(filters=Filters(tags=(chat_tag(chat.chat_id),)), reason=f"chat {chat.chat_id}", keep=shared)
        report = self._ask(forget)
        for other in sharing:
            self._index(other)
        return report

    def forget(self, chat_id: str) -> ForgetReport:
        return self._forget(self.show(chat_id))

    def search(self, query: str, k: int = 10) -> list[ChatHit]:
        """Chats whose title has every word of ``query``, then chats whose messages match it in memory
        (as closely as a task's memories must: ``agent.memory_min_similarity``)."""
        q = " ".join(query.split())
        if not q or len(q) > MAX_QUERY_CHARS:
            raise RequestError("bad_request", f"query must be 1..{MAX_QUERY_CHARS} characters")
        if not 1 <= k <= 100:
            raise RequestError("bad_request", f"k must be 1..100, got {k}")
        words = q.lower().split()
        found: dict[str, ChatHit] = {}
        for info in self.chats.infos():
            if all(w in info.title.lower() for w in words):
                found[info.chat_id] = ChatHit(chat_id=info.chat_id, title=info.title, score=1.0, why="title")
        if not self.deps.memory.store.is_empty():
            result = self._ask(Search(query=q, k=k * 3, filters=Filters(source="chat")))
            chats = [c for c in (self.chats.get(i.chat_id) for i in self.chats.infos()) if c is not None]
            for hit in (h for h in result.hits if relevant(h, self.deps.agent.memory_min_similarity)):
                passage = hit.text.strip()
                for chat in chats:
                    if chat.chat_id not in found and any(passage in m.text for m in chat.messages):
                        found[chat.chat_id] = ChatHit(
                            chat_id=chat.chat_id, title=chat.title, score=round(hit.scores.final, 4), why="content",
                            text=passage[:300], item_id=hit.item_id,
                        )  # fmt: skip
        return sorted(found.values(), key=lambda h: (h.why != "title", -h.score))[:k]


def _new_id() -> str:
    return "c-" + uuid.uuid4().hex[:8]


def _auto_title(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= AUTO_TITLE_CHARS else flat[: AUTO_TITLE_CHARS - 1] + "…"


def _working(chat: ChatView) -> bool:
    """The chat's last task has not ended yet."""
    return bool(chat.last_task_id and chat.last_status and chat.last_status not in TERMINAL_STATUSES)


def _with_status(info: ChatInfo, status: str) -> ChatInfo:
    return msgspec.structs.replace(info, last_status=status)


def _attachment(path: str, what: str, urls: bool = False) -> str:
    """An attachment as the daemon will read it: an absolute path to an existing file (or an image URL)."""
    if urls and path.startswith(("http://", "https://")) and len(path) <= 2000:
        return path
    if not path or "\x00" in path or len(path) > 4096:
        raise RequestError("bad_request", f"bad {what} path {path[:100]!r}")
    p = Path(path)
    if not p.is_absolute():
        raise RequestError("bad_request", f"{what} path must be absolute: {path!r}")
    try:
        if not p.is_file():
            raise RequestError("bad_request", f"no {what} at {path!r}")
    except OSError as exc:
        raise RequestError("bad_request", f"cannot read {what} {path!r}: {exc.strerror}") from None
    return str(p)


__all__ = ["ChatOps"]
