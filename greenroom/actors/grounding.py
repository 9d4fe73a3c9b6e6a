"""What a task builds on: the memories it retrieves, its conversation, what it leaves behind.

Before a task's first plan, its goal (with the conversation's last question)
is searched in memory through the Memory actor (hybrid + rerank where
available); the hits that are relevant enough go in its prompts with their ids,
and ``memory.used`` journals which, with their scores and why. The search runs
once per task: a replan, or the same task after a restart, reads the journaled
hits back, so its prompts do not change under it.

Every call of the task (route, plan, rounds, verdicts, answer) starts its
prompt with the same context: the chat's conversation so far as chat turns
(older turns summarised), then what the vision model saw in the message's
images and the memories. The same each time, so the model's prefix cache keeps it.

The answer names the memories it used (``[m-…]``): those it cites itself, and
those most of its words come from. After a task finishes, a short summary
(goal and answer) can go into memory as a ``task`` item; a chat's messages and
answers are kept there too, so chats are searchable.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import structlog

from greenroom.actors import conversation, followup
from greenroom.actors.base import ActorError, Interrupted
from greenroom.actors.deps import ActorDeps
from greenroom.actors.messages import GenerateNow, Search, Store
from greenroom.actors.prompts import Context
from greenroom.bus.codec import read_envelopes
from greenroom.bus.events import LlmFinished, MemoryUsed, ModelLoaded, ModelLoading, UsedMemory
from greenroom.bus.memory_records import Hit
from greenroom.models.backend import GenerationRequest, Message

log = structlog.get_logger(__name__)

MEMORY_CHARS = 300
"""Characters of a memory shown in a prompt (prefill is slow on the default model: ~4 ms a token)."""
MIN_RERANK = 0.5
QUERY_CHARS = 1000
SUMMARY_CHARS = 1500
SEARCH_TIMEOUT_S = 120.0
INGEST_WAIT_S = 300.0
CITE = re.compile(r"\bm-[0-9a-f]{6,}\b")
_WORD = re.compile(r"[^\W\d_]{4,}", re.UNICODE)


def chat_tag(chat_id: str) -> str:
    """The tag of everything memory holds from a chat: its messages, its tasks' summaries, its files."""
    return f"chat:{chat_id}"


def join(*parts: str) -> str:
    return "\n\n".join(p for p in parts if p)


# -- retrieval --------------------------------------------------------------------------


def journaled(deps: ActorDeps, task_id: str) -> MemoryUsed | None:
    """The task's ``memory.used`` event, if it was grounded already."""
    envs = read_envelopes(deps.bus.journal, 1, None, task_id=task_id, types=("memory.used",))
    found = [e.event for e in envs if isinstance(e.event, MemoryUsed)]
    return found[-1] if found else None


def why(hit: Hit) -> str:
    s = hit.scores
    parts = []
    if s.dense is not None:
        parts.append(f"dense {s.dense:.2f} #{s.dense_rank}")
    if s.bm25_rank is not None:
        parts.append(f"bm25 #{s.bm25_rank}")
    if s.rerank is not None:
        parts.append(f"rerank {s.rerank:.2f}")
    return ", ".join(parts) or "fused"


def relevant(hit: Hit, min_similarity: float) -> bool:
    """A hit worth its prompt tokens: reranked as relevant, or (unreranked) close enough in meaning."""
    if hit.scores.rerank is not None:
        return hit.scores.rerank >= MIN_RERANK
    return hit.scores.dense is not None and hit.scores.dense >= min_similarity


def whole(goal: str, view: conversation.Turns | None) -> str:
    """The goal as a whole question: a chat's short follow-up ("And of Germany?") made whole from the
    person's earlier questions (``actors/followup.py``); any other goal as it is."""
    if view is None or not view.turns:
        return goal
    return followup.resolve(goal, [m.text for m in view.turns if m.role == "user"]) or goal


def asked(deps: ActorDeps, task_id: str, goal: str) -> str:
    """``whole`` for ``task_id``'s goal: what tool matching and the first call's question read."""
    return whole(goal, conversation.turns_for(deps.chats, task_id))


def _query(goal: str, view: conversation.Turns | None) -> str:
    """The goal made whole, or with the conversation's last question (a follow-up often leans on it)."""
    made = whole(goal, view)
    if made != goal:
        return made[:QUERY_CHARS]
    last = next((m.text for m in reversed(view.turns) if m.role == "user"), "") if view else ""
    return " ".join(f"{goal} {last[:300]}".split())[:QUERY_CHARS]


ANSWER_TAG = "answer"
"""Tags a chat's answers in memory (beside the chat's tag): like task summaries, they are earlier answers."""


def _earlier_answer(hit: Hit) -> bool:
    """A task's summary or a chat's answer: what the assistant said then, not what the person told it."""
    return hit.source == "task" or (hit.source == "chat" and ANSWER_TAG in hit.tags)


def _pick(deps: ActorDeps, hits: Sequence[Hit], own: str | None, skip_answers: bool) -> list[Hit]:
    """The hits worth a prompt: not the task's own chat (the conversation shows it), not earlier answers
    when ``skip_answers``, and relevant enough (earlier answers by the stricter bar: they look alike)."""
    agent, picked = deps.agent, {}
    for h in hits:
        if (own and h.source in ("chat", "task") and own in h.tags) or (skip_answers and _earlier_answer(h)):
            continue
        bar = agent.task_memory_min_similarity if _earlier_answer(h) else agent.memory_min_similarity
        if h.item_id not in picked and relevant(h, bar):
            picked[h.item_id] = h
    return list(picked.values())


def ground(
    deps: ActorDeps, task_id: str, goal: str, causation: int | None = None, skip_answers: bool = False
) -> list[UsedMemory]:
    """The memories for ``task_id``'s prompts: searched (and journaled as ``memory.used``) the first time.

    With ``skip_answers`` (a task whose tools give fresh results), earlier answers are left out:
    a file list or the time as it was then would only mislead the model.
    """
    done = journaled(deps, task_id)
    if done is not None:
        return list(done.hits)
    k = deps.agent.memory_hits
    if k <= 0 or deps.handles is None:
        return []
    view = conversation.turns_for(deps.chats, task_id)
    if view is not None and view.message is not None:
        _wait_for_files(deps, view)
    if deps.memory.store.is_empty():
        return []
    query = _query(goal, view)
    own = chat_tag(view.chat_id) if view is not None else None
    try:
        result = deps.handles.memory.ask(Search(query=query, k=k * 3 + 5), timeout=SEARCH_TIMEOUT_S)
    except Interrupted:
        raise
    except (ActorError, TimeoutError) as exc:  # memory must never stop a task: it goes on without
        used = MemoryUsed(query=query, note=f"memory search failed: {exc}")
    else:
        picked = _pick(deps, result.hits, own, skip_answers)
        hits = [
            UsedMemory(
                item_id=h.item_id, score=round(h.scores.final, 3), why=why(h), text=_snippet(h.text),
                source=h.source, uri=h.uri,
            )
            for h in picked[:k]
        ]  # fmt: skip
        # Why the hits were not reranked is reported once (an error event, status); each task says only that.
        note = "not reranked (the reranker is unavailable: see greenroom status)" if hits and result.rerank_note else ""
        if not hits:
            note = "no memory was close enough to the goal"
        used = MemoryUsed(query=query, hits=hits, considered=len(result.hits), reranked=result.reranked, note=note)
    deps.bus.publish(  # durable: every prompt of the task reads it back from the journal
        used, source="planner", task_id=task_id, causation_id=causation, correlation_id=task_id, durable=True
    )
    return list(used.hits)


def _wait_for_files(deps: ActorDeps, view: conversation.Turns) -> None:
    """Files sent with the message are searched only once they are in memory."""
    assert deps.chats is not None
    run = _ingest_run(deps, view)
    if run and not deps.chats.wait_ingested(run, INGEST_WAIT_S):
        log.warning("chat_files_not_ingested_in_time", run_id=run, chat_id=view.chat_id)


def _ingest_run(deps: ActorDeps, view: conversation.Turns) -> str:
    from greenroom.bus.events import ChatMessageAdded

    if view.message is None or not view.message.files:
        return ""
    envs = read_envelopes(deps.bus.journal, 1, None, task_id=view.message.task_id, types=("chat.message",))
    return next((e.event.ingest_run for e in envs if isinstance(e.event, ChatMessageAdded)), "")


def _snippet(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= MEMORY_CHARS else flat[: MEMORY_CHARS - 1] + "…"


def render_memories(hits: Sequence[UsedMemory]) -> str:
    """The memories block of a prompt: one line each, led by its id."""
    if not hits:
        return ""
    lines = ["Memories (cite the [id] of any you use):"]
    lines += [f"[{h.item_id}] {h.text}" for h in hits]
    return "\n".join(lines)


# -- what every call of a task shows ---------------------------------------------------


@contextmanager
def embeddings_first_use(deps: ActorDeps, task_id: str, causation: int | None = None) -> Iterator[None]:
    """Around a task's tool matching and memory search: when they load the embedding model (seconds,
    once per daemon start), the task's timeline says so first (``model.loading``) and how long after
    (``model.loaded``), instead of a silent wait."""
    embedder = deps.memory.embedder
    needed = (deps.agent.match_tools and deps.router is not None) or (
        deps.agent.memory_hits > 0 and not deps.memory.store.is_empty()
    )
    if getattr(embedder, "loaded", True) or not needed:
        yield
        return
    name = embedder.model_name
    deps.bus.publish(
        ModelLoading(model=name, purpose="embedding model for memory search and tool matching", reason="first use"),
        source="planner", task_id=task_id, causation_id=causation, correlation_id=task_id,
    )  # fmt: skip
    started = time.monotonic()
    try:
        yield
    finally:
        if embedder.loaded:
            seconds = round(time.monotonic() - started, 3)
            deps.bus.publish(
                ModelLoaded(model=name, seconds=seconds, reason="first use"),
                source="planner", task_id=task_id, causation_id=causation, correlation_id=task_id,
            )  # fmt: skip


def prepare(deps: ActorDeps, task_id: str, goal: str, causation: int | None = None, skip_answers: bool = False) -> None:
    """Before a task's first plan: search memory, look at the message's images, summarise what no
    longer fits (each journaled, each once). ``task_context`` then renders the same text for every call.

    Raises:
        Interrupted: the task was cancelled meanwhile.
    """
    used = ground(deps, task_id, goal, causation, skip_answers)
    view = conversation.turns_for(deps.chats, task_id)
    seen = look(deps, task_id, goal, view, causation)
    if view is not None and view.turns:
        room = conversation.budget(deps, join(goal, seen, render_memories(used)))
        conversation.history(deps, view, room, task_id=task_id, summarize=True, causation=causation)


def task_context(deps: ActorDeps, task_id: str, goal: str) -> Context:
    """The context every prompt of the task starts with: the conversation's turns, then the images and
    the memories at the head of the call's own message."""
    used = journaled(deps, task_id)
    memories = render_memories(used.hits if used is not None else ())
    view = conversation.turns_for(deps.chats, task_id)
    seen = _seen(deps, task_id, view)
    turns: list[Message] = []
    if view is not None and view.turns:
        room = conversation.budget(deps, join(goal, seen, memories))
        turns = conversation.history(deps, view, room, task_id=task_id, summarize=False)
    return Context(tuple(turns), join(seen, memories))


# -- images ------------------------------------------------------------------------------

LOOK_TOKENS = 160


def look(
    deps: ActorDeps, task_id: str, goal: str, view: conversation.Turns | None, causation: int | None = None
) -> str:
    """What the vision model sees in the message's images (asked once: ``llm.finished`` purpose ``look``).

    Plans, tool calls and verdicts are decoded under schemas, which vision models cannot be held to;
    so the images are described first and every call reads the description.
    """
    images = list(view.message.images) if view is not None and view.message is not None else []
    if not images:
        return ""
    seen = _seen(deps, task_id, view)
    if seen or not deps.model_status.get("vision") or deps.handles is None:
        return seen
    request = GenerationRequest(
        messages=[Message("user", f"Describe what the image shows that matters for this request: {goal}", images)],
        purpose="look", max_tokens=min(deps.llm.max_tokens, LOOK_TOKENS), temperature=deps.llm.temperature,
    )  # fmt: skip
    try:
        deps.handles.llm.ask(GenerateNow(task_id=task_id, key="look", request=request, causation=causation))
    except Interrupted:
        raise
    except (ActorError, TimeoutError) as exc:
        log.warning("images_not_seen", task_id=task_id, error=str(exc))
        return f"Images {', '.join(images)} could not be read: {exc}"
    return _seen(deps, task_id, view)


def _seen(deps: ActorDeps, task_id: str, view: conversation.Turns | None) -> str:
    """The images' description as the prompt shows it (from the journal)."""
    images = list(view.message.images) if view is not None and view.message is not None else []
    if not images:
        return ""
    envs = read_envelopes(deps.bus.journal, 1, None, task_id=task_id, types=("llm.finished",))
    text = next((e.event.text for e in envs if isinstance(e.event, LlmFinished) and e.event.purpose == "look"), None)
    if text is None:
        if not deps.model_status.get("vision"):
            return f"Images {', '.join(images)} were attached, but the model cannot see images (set llm.vision_model)."
        return ""
    return f"Images {', '.join(images)}, as the vision model saw them: {text.strip()}"


# -- the answer and after ---------------------------------------------------------------


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text)}


def cite(answer: str, used: Sequence[UsedMemory]) -> tuple[str, list[str]]:
    """The answer naming the memories it used, and their ids.

    A memory was used when the answer cites its id, or when at least three of
    the answer's words (of four letters or more), and most of them, are in it.
    Ids it did not cite itself are appended as ``[m-…]``.
    """
    ids = {h.item_id for h in used}
    named = [i for i in dict.fromkeys(CITE.findall(answer)) if i in ids]
    words = _words(answer)
    for h in used:
        if h.item_id in named or not words:
            continue
        shared = words & _words(h.text)
        if len(shared) >= 3 and len(shared) * 2 > len(words):
            named.append(h.item_id)
    missing = [i for i in named if i not in answer]
    if missing:
        answer = answer.rstrip() + " " + " ".join(f"[{i}]" for i in missing)
    return answer, named


def finished(deps: ActorDeps, task_id: str, answer: str) -> tuple[str, list[str]]:
    """The final answer with its citations (for ``task.finished``)."""
    used = journaled(deps, task_id)
    return cite(answer, used.hits if used is not None else ())


NOTHING_KNOWN = (
    'I don\'t know: nothing in my memory is about that yet. Tell me ("remember that ...") and I will know it next time.'
)
"""The answer to a question about the person's own things when memory has nothing on it (the
model, asked "When is my dentist appointment?" with no memory, made up a timestamp)."""


def after_finish(deps: ActorDeps, task_id: str, goal: str, answer: str, *, remember: bool) -> None:
    """Keep what the task leaves behind: its summary (``remember``) and, in a chat, the answer.

    Told to the Memory actor (nobody waits); dedupe keys make a repeat harmless.
    """
    if deps.handles is None:
        return
    chat_id = deps.chats.chat_of(task_id) if deps.chats is not None else None
    tags = ["task"] + ([chat_tag(chat_id)] if chat_id else [])
    if remember and answer.strip() != NOTHING_KNOWN:  # it says nothing a later task should find
        text = f"Task: {goal.strip()}\nAnswer: {answer.strip()}"
        if len(text) > SUMMARY_CHARS:
            text = text[: SUMMARY_CHARS - 1] + "…"
        store = Store(
            task_id=task_id, text=text, tags=tags, dedupe_key=f"task:{task_id}", source="task", uri=f"task://{task_id}"
        )
        deps.handles.memory.tell(store, wait=5)
    if chat_id and answer.strip():
        chat = deps.chats.get(chat_id) if deps.chats is not None else None
        index = next(
            (i for i, m in enumerate(chat.messages) if m.role == "assistant" and m.task_id == task_id), None
        ) if chat is not None else None  # fmt: skip
        if index is not None:
            deps.handles.memory.tell(chat_store(chat_id, index, answer, task_id, answer=True), wait=5)


def chat_store(chat_id: str, index: int, text: str, task_id: str | None = None, *, answer: bool = False) -> Store:
    """How a chat message goes into memory (searchable with the chat, forgotten with it); an answer
    is tagged as one (``ANSWER_TAG``)."""
    return Store(
        task_id=task_id, text=text, tags=[chat_tag(chat_id), *([ANSWER_TAG] if answer else [])],
        dedupe_key=f"chat:{chat_id}:{index}", source="chat", uri=f"chat://{chat_id}/{index}",
    )  # fmt: skip


__all__ = [
    "after_finish",
    "asked",
    "chat_store",
    "chat_tag",
    "cite",
    "finished",
    "ground",
    "look",
    "prepare",
    "relevant",
    "render_memories",
    "task_context",
    "whole",
]
