"""Chats and grounding as plain functions: the chat index fold, conversation budgets, citations,
and the ``remember_tasks = "ask"`` question in the decider. No daemon."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greenroom.actors import commands as c
from greenroom.actors import confirmation_id
from greenroom.actors.chat_index import ChatIndex
from greenroom.actors.conversation import estimate_tokens, keep_from, messages_tokens, render, turn_line, turn_message
from greenroom.actors.grounding import cite, relevant
from greenroom.actors.prompts import Context, merged, route_messages
from greenroom.bus import Bus, Envelope, Journal
from greenroom.bus import events as e
from greenroom.bus.memory_records import Hit, HitScores
from greenroom.models.backend import Message
from greenroom.tools.registry import ToolRegistry
from tests.actors.test_decide import (
    Story,
    T,
    calls,
    decided,
    finish,
    one_step_done,
    output,
    planned,
    requested,
    result,
)

_NO_TOOLS = ToolRegistry([])


def e_msg(role: str, content: str) -> Message:
    return Message(role, content)


def user(text: str, task: str = "", **kw: Any) -> e.ChatMessage:
    return e.ChatMessage(role="user", text=text, task_id=task, **kw)


def envs(*pairs: tuple[e.Event, str | None]) -> list[Envelope]:
    return [Envelope(seq=i, ts=float(i), source="t", event=ev, task_id=t) for i, (ev, t) in enumerate(pairs, 1)]


class TestChatIndex:
    def fold(self, *pairs: tuple[e.Event, str | None]) -> ChatIndex:
        index = ChatIndex()
        index._apply_envelopes(envs(*pairs))
        return index

    def test_messages_and_answers_make_the_conversation(self) -> None:
        """A message starts a task; that task's task.finished is the chat's answer, in order."""
        index = self.fold(
            (e.ChatCreated(chat_id="c-1", title="capitals"), None),
            (e.ChatMessageAdded(chat_id="c-1", message=user("France?", "t-1")), "t-1"),
            (e.TaskSubmitted(goal="France?", chat_id="c-1"), "t-1"),
            (e.TaskFinished(answer="Paris."), "t-1"),
            (e.TaskFinished(answer="not a chat task"), "t-9"),
        )
        chat = index.get("c-1")
        assert chat is not None
        assert [(m.role, m.text) for m in chat.messages] == [("user", "France?"), ("assistant", "Paris.")]
        assert (chat.last_task_id, index.chat_of("t-1"), index.chat_of("t-9")) == ("t-1", "c-1", None)

    def test_a_duplicate_is_independent(self) -> None:
        """Changing, answering into or deleting the original leaves the copy as it was copied."""
        index = self.fold(
            (e.ChatCreated(chat_id="c-1", title="a"), None),
            (e.ChatMessageAdded(chat_id="c-1", message=user("one", "t-1")), "t-1"),
            (e.ChatDuplicated(chat_id="c-2", source_id="c-1", title="b"), None),
            (e.TaskFinished(answer="answer one"), "t-1"),
            (e.ChatRenamed(chat_id="c-1", title="renamed"), None),
            (e.ChatDeleted(chat_id="c-1"), None),
        )
        copy = index.get("c-2")
        assert copy is not None
        assert (copy.title, [m.text for m in copy.messages], copy.copied_from) == ("b", ["one"], "c-1")
        assert index.get("c-1") is None

    def test_loading_the_journal_gives_the_live_state(self, tmp_path: Path) -> None:
        """A restart folds the journal into the same chats the running daemon had."""
        journal = Journal(tmp_path / "j.db")
        bus = Bus(journal)
        live = ChatIndex()
        bus.add_listener(live.apply)
        bus.publish(e.ChatCreated(chat_id="c-1", title="t"), source="t")
        bus.publish(e.ChatMessageAdded(chat_id="c-1", message=user("hi", "t-1")), source="t", task_id="t-1")
        bus.publish(e.TaskSubmitted(goal="hi", chat_id="c-1"), source="t", task_id="t-1")
        bus.publish(e.TaskFinished(answer="hello"), source="t", task_id="t-1")
        bus.publish(e.ChatSummarized(chat_id="c-1", summary=e.ChatSummary(through=2, text="greetings")), source="t")
        bus.flush()
        loaded = ChatIndex()
        loaded.load(journal)
        assert loaded.get("c-1") == live.get("c-1")
        bus.close()
        journal.close()

    def test_chat_ingests_are_awaited(self) -> None:
        """wait_ingested returns once the run's memory.ingest.finished is folded, and times out otherwise."""
        index = self.fold((e.MemoryIngestFinished(run_id="c-abc", report=e.IngestReport()), None))
        assert index.wait_ingested("c-abc", 0.01)
        assert not index.wait_ingested("c-other", 0.01)


class TestConversationBudget:
    @settings(max_examples=200, deadline=None)
    @given(
        st.lists(st.text(min_size=1, max_size=400), min_size=1, max_size=30),
        st.integers(min_value=0, max_value=2000),
    )
    def test_kept_turns_fit_their_room(self, texts: list[str], room: int) -> None:
        """Whatever the turns, the turns kept verbatim render within the room given (or none are kept),
        and the first kept is the person's."""
        turns = [e.ChatMessage(role="user" if i % 2 == 0 else "assistant", text=t) for i, t in enumerate(texts)]
        start = keep_from(turns, 0, room, estimate_tokens)
        assert 0 <= start <= len(turns)
        if start < len(turns):
            assert turns[start].role == "user"
            assert messages_tokens(render(turns, None, start), estimate_tokens) <= room

    def test_render_is_a_stable_prefix(self) -> None:
        """A longer conversation renders as the shorter one plus its new turns (the KV cache reuses it)."""
        turns = [user("What is the capital of France?"), e.ChatMessage(role="assistant", text="Paris.")]
        more = [*turns, user("And Germany?"), e.ChatMessage(role="assistant", text="Berlin.")]
        assert render(more, None)[:2] == render(turns, None)

    def test_turns_read_as_the_first_call_asks_and_answers(self) -> None:
        """An earlier question is shown as the first call asks it, its answer as that call writes it."""
        asked = route_messages("What is the capital of France?", _NO_TOOLS, answer_only=True)[-1]
        assert turn_message(user("What is the capital of France?")) == asked
        said = turn_message(e.ChatMessage(role="assistant", text='Paris, "the city of light".'))
        assert (said.role, said.content) == ("assistant", '{"answer":"Paris, \\"the city of light\\"."}')

    def test_a_follow_up_prompt_holds_the_exchange_as_turns(self) -> None:
        """System prefix, the earlier question, its answer, then the follow-up: the first call's prompt
        and answer are the start of the next one's."""
        first = route_messages("What is the capital of France?", _NO_TOOLS, answer_only=True)
        turns = [user("What is the capital of France?"), e.ChatMessage(role="assistant", text="Paris")]
        follow = route_messages("And of Germany?", _NO_TOOLS, Context(tuple(render(turns, None))), answer_only=True)
        assert [m.role for m in follow] == ["system", "user", "assistant", "user"]
        assert follow[:2] == first
        assert follow[2].content == '{"answer":"Paris"}'
        assert follow[3].content.startswith("Question: And of Germany?")

    def test_left_out_turns_are_said(self) -> None:
        """Turns not shown without a summary are counted in the prompt, never dropped silently."""
        turns = [user(f"message {i}") for i in range(5)]
        assert render(turns, None, 3)[0].content.startswith("(3 earlier turns not shown)\n\nQuestion: message 3")
        assert render(turns, None, 5) == [e_msg("user", "(5 earlier turns not shown)")]
        summary = e.ChatSummary(through=2, text="they counted")
        assert render(turns, summary)[0].content.splitlines()[0] == "(Earlier turns, summarised) they counted"

    def test_a_window_with_no_room_for_turns_says_so(self) -> None:
        """When not even one turn fits, the prompt says how many it leaves out (no model call, nothing silent)."""
        from types import SimpleNamespace

        from greenroom.actors.conversation import Turns, history

        view = Turns("c-1", (user("hi"), e.ChatMessage(role="assistant", text="hello")))
        shown = history(SimpleNamespace(model_status={}), view, 10, task_id="t-1", summarize=True)  # type: ignore[arg-type]
        assert shown == [e_msg("user", "(2 earlier turns not shown)")]

    def test_neighbours_of_one_role_are_joined(self) -> None:
        """An unanswered turn and the next one become one message: roles alternate for any chat template."""
        turns = [user("one"), user("two"), e.ChatMessage(role="assistant", text="2")]
        roles = [m.role for m in merged([e_msg("system", "s"), *render(turns, None), e_msg("user", "three")])]
        assert roles == ["system", "user", "assistant", "user"]

    def test_attachments_show_in_the_turn(self) -> None:
        """A turn with an image or file says so (the model knows what was attached)."""
        line = turn_line(user("look", images=["/a.png"], files=["/b.md"]))
        assert line == "User: look [image /a.png] [file /b.md]"

    @given(st.text(max_size=300))
    def test_the_estimate_never_undercounts_bytes_by_more_than_three(self, text: str) -> None:
        """One token per three UTF-8 bytes, rounded up: conservative for English text."""
        assert estimate_tokens(text) * 3 >= len(text.encode())


def used(item: str, text: str) -> e.UsedMemory:
    return e.UsedMemory(item_id=item, score=0.9, why="dense 0.8 #1", text=text)


class TestCitations:
    def test_an_answer_built_on_a_memory_cites_it(self) -> None:
        """Most of the answer's words come from the memory: its id is appended and reported."""
        memories = [used("m-aaaaaaaa", "the cabin wifi password is on the fridge"), used("m-bbbbbbbb", "cats sleep")]
        answer, ids = cite("The cabin wifi password is on the fridge.", memories)
        assert ids == ["m-aaaaaaaa"]
        assert answer.endswith("[m-aaaaaaaa]")

    def test_ids_the_model_cites_are_kept_and_not_repeated(self) -> None:
        """A citation the model wrote counts; unknown ids are not reported."""
        memories = [used("m-aaaaaaaa", "x"), used("m-bbbbbbbb", "y")]
        answer, ids = cite("See [m-bbbbbbbb] and m-cccccccc.", memories)
        assert (answer, ids) == ("See [m-bbbbbbbb] and m-cccccccc.", ["m-bbbbbbbb"])

    @given(st.text(max_size=200), st.lists(st.text(max_size=100), max_size=4))
    def test_citing_only_adds_known_ids(self, text: str, notes: list[str]) -> None:
        """Whatever the answer, the result starts with it and names only memories that were used."""
        memories = [used(f"m-{i:08x}", n) for i, n in enumerate(notes)]
        answer, ids = cite(text, memories)
        assert answer.startswith(text.rstrip()) or answer == text
        assert set(ids) <= {m.item_id for m in memories}

    def test_relevance_cut(self) -> None:
        """Reranked hits need a rerank score of 0.5; others a cosine similarity of at least the minimum."""

        def hit(**scores: Any) -> Hit:
            return Hit(item_id="m-1", chunk_id=1, text="x", source="note", scores=HitScores(**scores))

        assert relevant(hit(dense=0.31), 0.3)
        assert not relevant(hit(dense=0.29), 0.3)
        assert not relevant(hit(dense=0.9, rerank=0.2), 0.3)
        assert relevant(hit(dense=0.1, rerank=0.7), 0.3)
        assert not relevant(hit(bm25=3.0, bm25_rank=1), 0.3)


class TestRememberQuestion:
    def test_ask_mode_asks_before_finishing(self) -> None:
        """With remember_tasks = ask, a finished answer waits for the person's yes or no."""
        story = one_step_done(Story(remember_tasks="ask"), answer="Paris.")
        ask = story.one(c.Ask)
        assert ask.question.kind == "remember"
        cid = confirmation_id(f"{T}:remember")
        assert ask.question.confirmation_id == cid
        story.add(ask.question)
        assert story.next() == []
        story.add(e.ConfirmationAnswered(confirmation_id=cid, approved=False))
        assert story.next() == [c.FinishTask("Paris.", remember=False)]

    @pytest.mark.parametrize("mode", ["on", "ask"])
    def test_a_task_with_a_failed_or_declined_call_is_not_remembered(self, mode: str) -> None:
        """Its answer says nothing true to keep: no summary, and no question about one."""
        story = Story(remember_tasks=mode).add(planned("read it"), e.StepStarted(step=1, intent="read it"))
        call = requested(1, 1, 0, "fs.read", {"path": "/missing"})
        story.add(output("step:1:round:1", calls(("fs.read", call.args))), call, decided(call, "deny"))
        story.add(result(call, "the person declined this call", ok=False))
        story.add(output("step:1:round:2", finish("The person declined this call.")))
        story.add(e.StepFinished(step=1, result="The person declined this call."))
        assert story.next() == [c.FinishTask("The person declined this call.", remember=False)]

    @pytest.mark.parametrize("mode", ["on", "ask"])
    def test_a_task_answered_by_the_clock_alone_is_not_remembered(self, mode: str) -> None:
        """The time is stale at once (a recall, a sum: the same): no summary, and no question about one."""
        story = Story(remember_tasks=mode).add(planned("check the time"), e.StepStarted(step=1, intent="check"))
        call = requested(1, 1, 0, "system.time", {})
        story.add(output("step:1:round:1", calls(("system.time", {}))), call, decided(call, "allow"))
        story.add(result(call, "Thursday 09:41"), e.StepFinished(step=1, result="Thursday 09:41"))
        assert story.next() == [c.FinishTask("Thursday 09:41", remember=False)]

    def test_a_task_that_also_read_a_file_is_remembered_as_configured(self) -> None:
        """One memorable call is enough: the setting decides."""
        story = Story(remember_tasks="on").add(planned("read it"), e.StepStarted(step=1, intent="read it"))
        clock, read = requested(1, 1, 0, "system.time", {}), requested(1, 1, 1, "fs.read", {"path": "/a"})
        story.add(output("step:1:round:1", calls(("system.time", {}), ("fs.read", {"path": "/a"}))), clock, read)
        story.add(decided(clock, "allow"), decided(read, "allow"), result(clock, "noon"), result(read, "text"))
        story.add(e.StepFinished(step=1, result="noon, text"))
        assert story.next() == [c.FinishTask("noon, text")]

    def test_on_and_off_leave_it_to_the_config(self) -> None:
        """Without ask, the decider finishes at once and the Executor applies the setting."""
        for mode in ("on", "off"):
            assert one_step_done(Story(remember_tasks=mode), answer="ok").next() == [c.FinishTask("ok")]
