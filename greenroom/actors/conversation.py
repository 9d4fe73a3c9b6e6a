"""The conversation a chat task sees: earlier turns within a token budget, older ones summarised.

The budget comes from the model's context window (``llm.context_window``, the
model's own parameters, its catalog entry or config) minus what the rest of
the prompt and the answer need, capped by ``agent.history_tokens``. Tokens are
counted with the loaded model's tokenizer when there is one, otherwise
estimated conservatively (a token per 3 bytes of UTF-8: English runs ~4).

The turns go into a prompt as chat turns, between the system prefix and the
call's own message: the person's as the first call asks them ("Question: …"),
the assistant's as it answers them (``{"answer": …}``); see ``prompts.Context``.

When the turns do not fit, the oldest are summarised by the model and the
summary is journaled (``chat.summarized``, on the task's timeline); prompts
then show the summary (at the head of the first turn shown) and the newest turns
verbatim. Nothing is cut silently: where turns must be left out without a
summary (a prompt other than the plan, or a window too small for any), the
prompt says how many.

The rendering is stable: every call of a task shows the same conversation
(the budget sets aside a fixed allowance for each call's own part), and the
same chat renders the same text until a new summary is made, so a follow-up's
prompt starts with the previous task's conversation and the model's KV cache
covers it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from greenroom.actors.base import ActorError, Interrupted
from greenroom.actors.chat_index import ChatIndex
from greenroom.actors.deps import ActorDeps
from greenroom.actors.messages import GenerateNow
from greenroom.actors.prompts import answered, question, system_message
from greenroom.bus.events import ChatMessage, ChatSummarized, ChatSummary, LlmFinished
from greenroom.models.backend import GenerationRequest, Message

Counter = Callable[[str], int]

MESSAGE_OVERHEAD = 6
"""Template tokens around each chat message (role markers, separators)."""
SAFETY_TOKENS = 32
CALL_TOKENS = 320
"""What a call adds after the task's context (its instruction, the steps done, tool results), set aside."""
DEFAULT_WINDOW = 4096
SUMMARY_MAX_TOKENS = 200
MIN_HISTORY_TOKENS = 48


def estimate_tokens(text: str) -> int:
    """A conservative token count: one per 3 bytes of UTF-8 (over-counts English by about a third)."""
    return (len(text.encode("utf-8")) + 2) // 3


def counter(deps: ActorDeps) -> Counter:
    """The loaded model's token counter (published by the LLM actor), else the estimate."""
    count = deps.model_status.get("count_tokens")
    if not callable(count):
        return estimate_tokens

    def exact(text: str) -> int:
        try:
            n = count(text)
        except Exception:  # a tokenizer unloaded meanwhile: the estimate is always safe
            n = None
        return n if isinstance(n, int) else estimate_tokens(text)

    return exact


def messages_tokens(messages: Sequence[Message], count: Counter) -> int:
    return sum(count(m.content) + MESSAGE_OVERHEAD for m in messages)


def context_window(deps: ActorDeps) -> int:
    """Prompt plus answer tokens the active model takes."""
    from greenroom.models.params import model_max_context

    if deps.llm.context_window:
        return deps.llm.context_window
    model = str(deps.model_status.get("model") or deps.llm.model)
    if deps.model_params is not None:
        try:
            own = deps.model_params.get(model).context_window
        except Exception:  # an unreadable row must not stop a task: fall back to the model's own
            own = None
        if own:
            return own
    try:
        return model_max_context(model) or DEFAULT_WINDOW
    except (OSError, ValueError):
        return DEFAULT_WINDOW


def budget(deps: ActorDeps, other: str, count: Counter | None = None) -> int:
    """Tokens the conversation may take in every prompt of a task whose other context is ``other``.

    The same for every call of the task (the system prefix, the answer's tokens and ``CALL_TOKENS``
    for the call's own part are set aside), so every call shows the same conversation.
    """
    count = count or counter(deps)
    system = count(system_message(deps.tools).content) + 2 * MESSAGE_OVERHEAD
    room = context_window(deps) - deps.llm.max_tokens - system - count(other) - CALL_TOKENS - SAFETY_TOKENS
    return max(0, min(deps.agent.history_tokens, room))


@dataclass(frozen=True)
class Turns:
    """A chat task's view of its chat."""

    chat_id: str
    turns: tuple[ChatMessage, ...]
    """The messages before the task's own."""
    summary: ChatSummary | None = None
    """The latest summary of a prefix of ``turns``."""
    message: ChatMessage | None = None
    """The task's own message (its images go to the model)."""
    summaries: tuple[ChatSummary, ...] = field(default=())

    @property
    def start(self) -> int:
        """The first turn shown verbatim."""
        return self.summary.through if self.summary is not None else 0


def turns_for(chats: ChatIndex | None, task_id: str) -> Turns | None:
    """The conversation before ``task_id``'s message; None for a task not started from a chat."""
    if chats is None:
        return None
    chat_id = chats.chat_of(task_id)
    chat = chats.get(chat_id) if chat_id else None
    if chat is None:
        return None
    index = next((i for i, m in enumerate(chat.messages) if m.role == "user" and m.task_id == task_id), None)
    if index is None:
        return None
    before = tuple(chat.messages[:index])
    usable = [s for s in chat.summaries if s.through <= index]
    return Turns(chat.chat_id, before, usable[-1] if usable else None, chat.messages[index], tuple(usable))


def _attached(message: ChatMessage) -> str:
    return "".join(f" [image {p}]" for p in message.images) + "".join(f" [file {p}]" for p in message.files)


def turn_line(message: ChatMessage) -> str:
    """A turn as one line of a transcript (what the summariser reads)."""
    who = "User" if message.role == "user" else "Assistant"
    return f"{who}: {message.text.strip()}{_attached(message)}"


def turn_message(message: ChatMessage) -> Message:
    """A turn as a prompt shows it: the person's as the first call asks, the answer as it answers."""
    if message.role == "user":
        return Message("user", question(message.text.strip() + _attached(message)))
    return Message("assistant", answered(message.text.strip()))


def _note(summary: ChatSummary | None, skipped: int) -> str:
    lines = [f"(Earlier turns, summarised) {summary.text.strip()}"] if summary is not None else []
    if skipped > 0:
        lines.append(f"({skipped} earlier turn{'s' if skipped != 1 else ''} not shown)")
    return "\n".join(lines)


def render(turns: Sequence[ChatMessage], summary: ChatSummary | None, start: int | None = None) -> list[Message]:
    """The conversation as prompt turns: from ``start`` on, the summary of earlier turns (and how many
    are left out) at the head of the first; a lone note when no turn is shown."""
    start = (summary.through if summary else 0) if start is None else start
    note = _note(summary, start - (summary.through if summary else 0))
    shown = [turn_message(m) for m in turns[start:]]
    if note and shown and shown[0].role == "user":
        shown[0] = Message("user", f"{note}\n\n{shown[0].content}")
    elif note:
        shown.insert(0, Message("user", note))
    return shown


def keep_from(turns: Sequence[ChatMessage], first: int, room: int, count: Counter) -> int:
    """The earliest index >= ``first`` such that turns from it on (led by a person's turn, with the line
    saying how many were left out) take at most ``room`` tokens."""
    used = count(f"({len(turns)} earlier turns not shown)") + MESSAGE_OVERHEAD
    start = len(turns)
    while start > first:
        cost = count(turn_message(turns[start - 1]).content) + MESSAGE_OVERHEAD
        if used + cost > room:
            break
        used += cost
        start -= 1
    while start < len(turns) and turns[start].role != "user":  # an answer shown without its question misleads
        start += 1
    return start


def history(
    deps: ActorDeps,
    view: Turns,
    room: int,
    *,
    task_id: str,
    summarize: bool,
    causation: int | None = None,
) -> list[Message]:
    """The conversation's turns for a prompt with ``room`` tokens for them.

    With ``summarize``, turns that do not fit are summarised by the model first
    (journaling ``chat.summarized``); otherwise they are left out and the first
    turn shown says how many.

    Raises:
        Interrupted: the task was cancelled while the summary was being written.
    """
    count = counter(deps)
    if not view.turns:
        return []
    if room < MIN_HISTORY_TOKENS:  # no room for any turn: say so rather than act as if there were none
        return render(view.turns, None, len(view.turns))
    shown = render(view.turns, view.summary)
    if messages_tokens(shown, count) <= room:
        return shown
    summary_room = min(SUMMARY_MAX_TOKENS, room // 3)
    if summarize:
        keep = keep_from(view.turns, view.start, room - summary_room - 16, count)
        if keep > view.start:
            made = summarise(deps, view, keep, summary_room, task_id=task_id, causation=causation)
            if made is not None:
                shown = render(view.turns, made)
                if messages_tokens(shown, count) <= room:
                    return shown
                view = Turns(view.chat_id, view.turns, made, view.message, (*view.summaries, made))
    reserve = count(view.summary.text) + 16 if view.summary is not None else 0
    return render(view.turns, view.summary, keep_from(view.turns, view.start, room - reserve - 16, count))


def summary_messages(previous: ChatSummary | None, turns: Sequence[ChatMessage], words: int) -> list[Message]:
    system = (
        f"Summarise this conversation between a person and their assistant in at most {words} words. "
        "Keep names, numbers, decisions and open questions. Plain sentences, no preamble."
    )
    lines = [f"Earlier summary: {previous.text.strip()}"] if previous is not None else []
    lines += [turn_line(m) for m in turns]
    return [Message("system", system), Message("user", "\n".join(lines))]


def summarise(
    deps: ActorDeps, view: Turns, through: int, max_tokens: int, *, task_id: str, causation: int | None
) -> ChatSummary | None:
    """Summarise turns ``[0, through)`` (folding in the previous summary) and journal it.

    Batches the turns so each summary prompt fits the window. Returns None when
    the model could not (the caller then leaves turns out, visibly).
    """
    assert deps.handles is not None
    count = counter(deps)
    window = context_window(deps)
    summary = view.summary
    pending = list(view.turns[view.start : through])
    replaced = sum(count(turn_line(m)) for m in pending)
    words = max(20, int(max_tokens * 0.6))
    while pending:
        room = window - max_tokens - SAFETY_TOKENS - messages_tokens(summary_messages(summary, [], words), count)
        batch: list[ChatMessage] = []
        while pending and (not batch or count(turn_line(pending[0])) + 1 <= room):
            turn = pending.pop(0)
            room -= count(turn_line(turn)) + 1
            batch.append(_clip(turn, window // 2, count) if room < 0 else turn)
        request = GenerationRequest(
            messages=summary_messages(summary, batch, words), purpose="summary", max_tokens=max_tokens,
            temperature=deps.llm.temperature,
        )  # fmt: skip
        try:
            ask = GenerateNow(task_id=task_id, key="summary", request=request, causation=causation)
            env = deps.handles.llm.ask(ask)
        except Interrupted:
            raise
        except (ActorError, TimeoutError):  # no summary this time: turns are left out, visibly
            return None
        event = env.event
        text = event.text.strip() if isinstance(event, LlmFinished) else ""
        if not text:
            return None
        summary = ChatSummary(through=through, text=text, created=deps.clock())
    assert summary is not None
    deps.bus.publish(
        ChatSummarized(chat_id=view.chat_id, summary=summary, tokens=replaced),
        source="planner", task_id=task_id, causation_id=causation, correlation_id=task_id, durable=True,
    )  # fmt: skip
    return summary


def _clip(turn: ChatMessage, tokens: int, count: Counter) -> ChatMessage:
    """A turn too long for one summary prompt, shortened for the summariser only (marked)."""
    text = turn.text
    while text and count(text) > tokens:
        text = text[: int(len(text) * 0.8)]
    return ChatMessage(role=turn.role, text=text + " […]", task_id=turn.task_id, created=turn.created)


__all__ = [
    "Turns",
    "budget",
    "context_window",
    "counter",
    "estimate_tokens",
    "history",
    "messages_tokens",
    "render",
    "summarise",
    "turn_line",
    "turn_message",
    "turns_for",
]
