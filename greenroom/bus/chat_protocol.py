"""The chat part of the client protocol: requests, replies, views and the export document.

Kept apart from ``protocol.py`` (which adds these to its unions) so the chat
vocabulary reads in one place. Tags follow the same rules: ``op`` for
requests, ``type`` for replies.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from greenroom.bus.events import ChatMessage, ChatSummary
from greenroom.bus.memory_records import ForgetReport

CHAT_FORMAT = "greenroom.chat"
CHAT_FORMAT_VERSION = 1


class _Request(msgspec.Struct, frozen=True, kw_only=True, tag_field="op"):
    pass


class _Reply(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    pass


# -- views -----------------------------------------------------------------------------


class ChatView(msgspec.Struct, kw_only=True):
    """A chat's state, derived from its events in the journal."""

    chat_id: str
    title: str = ""
    created: float = 0.0
    updated: float = 0.0
    messages: list[ChatMessage] = []
    summaries: list[ChatSummary] = []
    """Oldest first; prompts use the last one."""
    last_task_id: str = ""
    last_status: str = ""
    """The last task's status (filled in replies): a new message starts a task only once it ended."""
    copied_from: str = ""


class ChatInfo(msgspec.Struct, frozen=True, kw_only=True):
    """One line of the chat list."""

    chat_id: str
    title: str
    created: float
    updated: float
    messages: int
    last_task_id: str = ""
    last_status: str = ""
    preview: str = ""
    """The start of the last message."""


class ChatHit(msgspec.Struct, frozen=True, kw_only=True):
    """A chat found by a search, and why."""

    chat_id: str
    title: str
    score: float
    why: Literal["title", "content"]
    text: str = ""
    """The matching passage (content hits)."""
    item_id: str = ""
    """The memory item that matched (content hits)."""


class ChatDocument(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One chat as an export file (JSON): what ``chat_import`` reads back."""

    format: Literal["greenroom.chat"] = "greenroom.chat"
    version: int = CHAT_FORMAT_VERSION
    chat_id: str
    title: str
    created: float = 0.0
    messages: list[ChatMessage] = []
    summaries: list[ChatSummary] = []


# -- requests --------------------------------------------------------------------------


class ChatCreate(_Request, tag="chat_create", frozen=True):
    title: str = ""


class ListChats(_Request, tag="chats", frozen=True):
    limit: int = 100
    """The most recently updated ones."""


class GetChat(_Request, tag="chat", frozen=True):
    chat_id: str


class ChatRename(_Request, tag="chat_rename", frozen=True):
    chat_id: str
    title: str


class ChatDelete(_Request, tag="chat_delete", frozen=True):
    chat_id: str
    forget: bool = True
    """Also forget what memory holds from it (its messages, its tasks' summaries, its files)."""


class ChatDuplicate(_Request, tag="chat_duplicate", frozen=True):
    chat_id: str
    title: str = ""
    """Default: the original's title with " (copy)"."""


class ChatSearch(_Request, tag="chat_search", frozen=True):
    query: str
    k: int = 10


class ChatExport(_Request, tag="chat_export", frozen=True):
    chat_id: str
    format: Literal["json", "markdown"] = "json"


class ChatImport(_Request, tag="chat_import", frozen=True):
    document: str
    """A JSON ``ChatDocument`` (what ``chat_export`` with format ``json`` returns)."""


class ChatSend(_Request, tag="chat_send", frozen=True):
    """A person's message: starts a task that sees the conversation so far."""

    chat_id: str
    text: str
    images: list[str] = []
    files: list[str] = []


class ChatForget(_Request, tag="chat_forget", frozen=True):
    """Forget what memory holds from this chat (the chat itself stays)."""

    chat_id: str


CHAT_REQUESTS: tuple[type, ...] = (
    ChatCreate, ListChats, GetChat, ChatRename, ChatDelete, ChatDuplicate, ChatSearch, ChatExport, ChatImport,
    ChatSend, ChatForget,
)  # fmt: skip


# -- replies ---------------------------------------------------------------------------


class ChatReply(_Reply, tag="chat", frozen=True):
    chat: ChatView
    seq: int = 0


class Chats(_Reply, tag="chats", frozen=True):
    chats: list[ChatInfo]


class ChatHits(_Reply, tag="chat_hits", frozen=True):
    hits: list[ChatHit]


class ChatExported(_Reply, tag="chat_export", frozen=True):
    chat_id: str
    format: Literal["json", "markdown"]
    text: str


class ChatSent(_Reply, tag="chat_sent", frozen=True):
    chat_id: str
    task_id: str
    index: int
    """The message's position in the chat."""
    seq: int
    """The ``chat.message`` event's seq: follow from here for the task."""


class ChatForgotten(_Reply, tag="chat_forgotten", frozen=True):
    chat_id: str
    report: ForgetReport


CHAT_REPLIES: tuple[type, ...] = (ChatReply, Chats, ChatHits, ChatExported, ChatSent, ChatForgotten)

__all__ = [
    "CHAT_FORMAT",
    "CHAT_FORMAT_VERSION",
    "CHAT_REPLIES",
    "CHAT_REQUESTS",
    "ChatCreate",
    "ChatDelete",
    "ChatDocument",
    "ChatDuplicate",
    "ChatExport",
    "ChatExported",
    "ChatForget",
    "ChatForgotten",
    "ChatHit",
    "ChatHits",
    "ChatImport",
    "ChatInfo",
    "ChatRename",
    "ChatReply",
    "ChatSearch",
    "ChatSend",
    "ChatSent",
    "ChatView",
    "Chats",
    "GetChat",
    "ListChats",
]
