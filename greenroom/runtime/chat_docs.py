"""A chat as a document: the versioned JSON export (read back by import) and Markdown for reading.

The JSON document is ``ChatDocument`` (``bus/chat_protocol.py``): format,
version, the chat's id, title, creation time, messages and summaries. Images
and files are referred to by path, not embedded: a document moved to another
machine keeps the paths as text.
"""

from __future__ import annotations

import datetime as dt
import math
import re

import msgspec

from greenroom.bus.chat_protocol import CHAT_FORMAT_VERSION, ChatDocument, ChatView
from greenroom.runtime.errors import RequestError

MAX_MESSAGES = 10_000
MAX_MESSAGE_CHARS = 100_000
MAX_TITLE_CHARS = 200
MAX_ATTACHMENTS = 16
CHAT_ID = re.compile(r"c-[0-9a-f]{8}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def to_document(chat: ChatView) -> ChatDocument:
    return ChatDocument(
        chat_id=chat.chat_id, title=chat.title, created=chat.created, messages=list(chat.messages),
        summaries=list(chat.summaries),
    )  # fmt: skip


def to_json(chat: ChatView) -> str:
    """The export document, indented for people who open it."""
    return msgspec.json.format(msgspec.json.encode(to_document(chat)), indent=2).decode()


def clean_title(title: str) -> str:
    """A title on one line, without control characters.

    Raises:
        RequestError: it is longer than ``MAX_TITLE_CHARS``.
    """
    flat = " ".join(_CONTROL.sub(" ", title).split())
    if len(flat) > MAX_TITLE_CHARS:
        raise RequestError("bad_request", f"title is {len(flat)} characters; at most {MAX_TITLE_CHARS}")
    return flat


def parse(document: str) -> ChatDocument:
    """Read an export document back, checking it whole.

    Raises:
        RequestError: ``bad_request`` naming what is wrong (not JSON, a wrong field, an unknown
        version, too many or too long messages, summaries past the end).
    """
    try:
        doc = msgspec.json.decode(document, type=ChatDocument)
    except msgspec.ValidationError as exc:
        raise RequestError("bad_request", f"not a greenroom chat document: {exc}") from None
    except msgspec.DecodeError as exc:
        raise RequestError("bad_request", f"the chat document is not valid JSON: {exc}") from None
    if doc.version != CHAT_FORMAT_VERSION:
        raise RequestError(
            "bad_request",
            f"chat document version {doc.version} is not supported (this daemon reads {CHAT_FORMAT_VERSION})",
        )
    problems = _problems(doc)
    if problems:
        raise RequestError("bad_request", "bad chat document: " + "; ".join(problems[:5]))
    return msgspec.structs.replace(doc, title=clean_title(doc.title))


def _problems(doc: ChatDocument) -> list[str]:
    out = []
    if len(doc.messages) > MAX_MESSAGES:
        out.append(f"{len(doc.messages)} messages; at most {MAX_MESSAGES}")
    for i, m in enumerate(doc.messages):
        if len(m.text) > MAX_MESSAGE_CHARS:
            out.append(f"message {i} has {len(m.text)} characters; at most {MAX_MESSAGE_CHARS}")
        if len(m.images) + len(m.files) > MAX_ATTACHMENTS:
            out.append(f"message {i} has more than {MAX_ATTACHMENTS} attachments")
        if not math.isfinite(m.created):
            out.append(f"message {i} has no valid time")
    last = 0
    for i, s in enumerate(doc.summaries):
        if not last <= s.through <= len(doc.messages):
            out.append(f"summary {i} covers {s.through} messages (the chat has {len(doc.messages)}, in order)")
        last = max(last, s.through)
    if not math.isfinite(doc.created):
        out.append("created is not a valid time")
    return out


def _when(ts: float) -> str:
    return f"{dt.datetime.fromtimestamp(ts):%Y-%m-%d %H:%M}" if ts else ""


def to_markdown(chat: ChatView) -> str:
    """The chat for reading: a heading per message, summaries where they apply."""
    lines = [
        f"# {chat.title or 'Untitled chat'}",
        "",
        f"*greenroom chat {chat.chat_id}, started {_when(chat.created)}*",
    ]
    by_end = {s.through: s for s in chat.summaries if s.through}
    for i in range(len(chat.messages) + 1):
        if i in by_end:
            lines += ["", f"> **Summary of the first {i} messages:** {by_end[i].text}"]
        if i == len(chat.messages):
            break
        m = chat.messages[i]
        who = "You" if m.role == "user" else "greenroom"
        lines += ["", f"## {who} · {_when(m.created)}".rstrip(" ·"), "", m.text]
        lines += [f"- image: `{p}`" for p in m.images] + [f"- file: `{p}`" for p in m.files]
    return "\n".join(lines) + "\n"


__all__ = ["CHAT_ID", "clean_title", "parse", "to_document", "to_json", "to_markdown"]
