"""Chat requests of the client library (mixed into ``Client``)."""

from __future__ import annotations

from typing import Protocol, TypeVar

from greenroom.bus import chat_protocol as cp
from greenroom.bus import protocol as p
from greenroom.bus.memory_records import ForgetReport

R = TypeVar("R")


class _Requester(Protocol):
    def request(self, request: p.Request, expected: type[R]) -> R: ...


class ChatRequests:
    """One method per chat request; ``self.request`` is the client's."""

    def chat_create(self: _Requester, title: str = "") -> cp.ChatView:
        return self.request(cp.ChatCreate(title=title), cp.ChatReply).chat

    def chats(self: _Requester, limit: int = 100) -> list[cp.ChatInfo]:
        """Chats, most recently updated first."""
        return self.request(cp.ListChats(limit=limit), cp.Chats).chats

    def chat(self: _Requester, chat_id: str) -> cp.ChatView:
        return self.request(cp.GetChat(chat_id=chat_id), cp.ChatReply).chat

    def chat_rename(self: _Requester, chat_id: str, title: str) -> p.Ok:
        return self.request(cp.ChatRename(chat_id=chat_id, title=title), p.Ok)

    def chat_delete(self: _Requester, chat_id: str, forget: bool = True) -> p.Ok:
        """Delete a chat; with ``forget``, memory forgets its messages, task summaries and files too."""
        return self.request(cp.ChatDelete(chat_id=chat_id, forget=forget), p.Ok)

    def chat_duplicate(self: _Requester, chat_id: str, title: str = "") -> cp.ChatView:
        return self.request(cp.ChatDuplicate(chat_id=chat_id, title=title), cp.ChatReply).chat

    def chat_search(self: _Requester, query: str, k: int = 10) -> list[cp.ChatHit]:
        """Chats by title, then by content (through the memory engine)."""
        return self.request(cp.ChatSearch(query=query, k=k), cp.ChatHits).hits

    def chat_export(self: _Requester, chat_id: str, format: str = "json") -> str:
        """The chat as a JSON document (``chat_import`` reads it back) or Markdown."""
        request = cp.ChatExport(chat_id=chat_id, format=format)  # type: ignore[arg-type]
        return self.request(request, cp.ChatExported).text

    def chat_import(self: _Requester, document: str) -> cp.ChatView:
        return self.request(cp.ChatImport(document=document), cp.ChatReply).chat

    def chat_send(
        self: _Requester, chat_id: str, text: str, images: list[str] | None = None, files: list[str] | None = None
    ) -> cp.ChatSent:
        """Send a message: a task starts that sees the conversation; follow it from ``seq``."""
        request = cp.ChatSend(chat_id=chat_id, text=text, images=images or [], files=files or [])
        return self.request(request, cp.ChatSent)

    def chat_forget(self: _Requester, chat_id: str) -> ForgetReport:
        """Forget what memory holds from a chat (the chat stays)."""
        return self.request(cp.ChatForget(chat_id=chat_id), cp.ChatForgotten).report


__all__ = ["ChatRequests"]
