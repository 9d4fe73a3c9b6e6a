"""Chat requests of the client library: ``call``s like ``Calls``, so both clients have them."""

from __future__ import annotations

from greenroom.bus import chat_protocol as cp
from greenroom.bus import protocol as p
from greenroom.bus.memory_records import ForgetReport
from greenroom.clients.calls import Call, call


class ChatCalls:
    """One method per chat request (see ``greenroom.clients.calls``)."""

    @call
    def chat_create(title: str = "") -> Call[cp.ChatView]:
        return Call(cp.ChatCreate(title=title), cp.ChatReply, lambda r: r.chat)

    @call
    def chats(limit: int = 100) -> Call[list[cp.ChatInfo]]:
        """Chats, most recently updated first."""
        return Call(cp.ListChats(limit=limit), cp.Chats, lambda r: r.chats)

    @call
    def chat(chat_id: str) -> Call[cp.ChatView]:
        return Call(cp.GetChat(chat_id=chat_id), cp.ChatReply, lambda r: r.chat)

    @call
    def chat_rename(chat_id: str, title: str) -> Call[p.Ok]:
        return Call(cp.ChatRename(chat_id=chat_id, title=title), p.Ok)

    @call
    def chat_delete(chat_id: str, forget: bool = True) -> Call[p.Ok]:
        """Delete a chat; with ``forget``, memory forgets its messages, task summaries and files too."""
        return Call(cp.ChatDelete(chat_id=chat_id, forget=forget), p.Ok)

    @call
    def chat_duplicate(chat_id: str, title: str = "") -> Call[cp.ChatView]:
        return Call(cp.ChatDuplicate(chat_id=chat_id, title=title), cp.ChatReply, lambda r: r.chat)

    @call
    def chat_search(query: str, k: int = 10) -> Call[list[cp.ChatHit]]:
        """Chats by title, then by content (through the memory engine)."""
        return Call(cp.ChatSearch(query=query, k=k), cp.ChatHits, lambda r: r.hits)

    @call
    def chat_export(chat_id: str, format: str = "json") -> Call[str]:
        """The chat as a JSON document (``chat_import`` reads it back) or Markdown."""
        request = cp.ChatExport(chat_id=chat_id, format=format)  # type: ignore[arg-type]
        return Call(request, cp.ChatExported, lambda r: r.text)

    @call
    def chat_import(document: str) -> Call[cp.ChatView]:
        return Call(cp.ChatImport(document=document), cp.ChatReply, lambda r: r.chat)

    @call
    def chat_send(
        chat_id: str, text: str, images: list[str] | None = None, files: list[str] | None = None
    ) -> Call[cp.ChatSent]:
        """Send a message: a task starts that sees the conversation; follow it from ``seq``."""
        return Call(cp.ChatSend(chat_id=chat_id, text=text, images=images or [], files=files or []), cp.ChatSent)

    @call
    def chat_forget(chat_id: str) -> Call[ForgetReport]:
        """Forget what memory holds from a chat (the chat stays)."""
        return Call(cp.ChatForget(chat_id=chat_id), cp.ChatForgotten, lambda r: r.report)


__all__ = ["ChatCalls"]
