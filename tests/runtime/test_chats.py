"""Chats through the protocol, in a real daemon (scripted model, real journal, real memory)."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from greenroom.actors import TaskIndex
from greenroom.actors.chat_index import ChatIndex
from greenroom.actors.conversation import estimate_tokens, messages_tokens
from greenroom.bus import Bus, Journal, decode_envelope, event_type
from greenroom.bus import events as e
from greenroom.bus.chat_protocol import ChatView
from greenroom.clients import ServerError
from greenroom.models import ScriptedBackend
from tests.conftest import answer, call, finish, make_config, plan, wait_for, write_script

ANSWER = "The answer is forty-two."


@pytest.fixture
def chat_daemon(short_tmp: Path, daemon_factory: Any, shared_embedder: Any):  # type: ignore[no-untyped-def]
    """``start(responses, *overrides) -> (daemon, backend)``: a daemon with the session's embedder."""

    def start(responses: dict[str, str] | None = None, *overrides: str, delay_s: float = 0.0) -> tuple[Any, Any]:
        base = {"plan": answer(ANSWER), "summary": "They talked at length.", "look": "A cat asleep on a red sofa."}
        script = write_script(short_tmp / "script.json", {**base, **(responses or {})}, delay_s=delay_s)
        backend = ScriptedBackend(script)
        config = make_config(short_tmp, script, "memory.rerank=false", *overrides)
        d = daemon_factory(config, make_backend=lambda: backend)
        d.runtime.memory.embedder = shared_embedder
        return d, backend

    return start


def send(client: Any, chat_id: str, text: str, **kw: Any) -> Any:
    """Send and wait until the task ended."""
    sent = client.chat_send(chat_id, text, **kw)
    wait_for(lambda: client.task(sent.task_id).status in ("finished", "failed", "cancelled"), 30)
    return sent


def task_events(d: Any, task_id: str) -> list[e.Event]:
    return [decode_envelope(raw).event for _, raw in d.runtime.journal.read(task_id=task_id)]


def same(a: ChatView, b: ChatView) -> bool:
    """Equal as chats (what was said and when), ignoring bookkeeping."""
    keep = ("chat_id", "title", "created", "messages", "summaries")
    return {k: getattr(a, k) for k in keep} == {k: getattr(b, k) for k in keep}


def settle_memory(d: Any, count: int) -> None:
    """Wait until memory holds ``count`` items (indexing is told, not awaited)."""
    wait_for(lambda: d.runtime.memory.store.stats()["items"] >= count, 60)


class TestChatLifecycle:
    def test_forgetting_a_chat_scrubs_its_text_from_the_view_and_the_journal(self, chat_daemon: Any) -> None:
        """After a chat's forget, neither the chat the daemon shows nor a replay of its events holds the text."""
        d, _ = chat_daemon()
        secret = "my locker at the station is number 4711"
        with d.client() as c:
            chat = c.chat_create("keys")
            send(c, chat.chat_id, secret)
            assert c.chat_forget(chat.chat_id).item_ids
            view = c.chat(chat.chat_id)
            events = c.replay(1, limit=10_000).events
        assert secret not in json.dumps(msgspec.to_builtins(view))
        assert view.messages[0].text == "[forgotten]"
        assert not [env.seq for env in events if secret in json.dumps(msgspec.to_builtins(env))]

    def test_a_chat_survives_a_restart_with_all_messages(self, chat_daemon: Any) -> None:
        """Messages, answers and the title are folded back from the journal after a restart."""
        d, _ = chat_daemon()
        with d.client() as c:
            chat = c.chat_create("capitals")
            send(c, chat.chat_id, "What is the capital of France?")
            send(c, chat.chat_id, "And of Germany?")
            before = c.chat(chat.chat_id)
        assert [(m.role, m.text) for m in before.messages] == [
            ("user", "What is the capital of France?"),
            ("assistant", ANSWER),
            ("user", "And of Germany?"),
            ("assistant", ANSWER),
        ]
        settle_memory(d, 2)
        d.stop()
        d2, _ = chat_daemon()
        with d2.client() as c:
            assert same(c.chat(chat.chat_id), before)
            assert [i.chat_id for i in c.chats()] == [chat.chat_id]

    def test_a_duplicate_is_an_independent_copy(self, chat_daemon: Any) -> None:
        """The copy takes its own messages and title; deleting the original leaves it whole (a long,
        many-chunk message too)."""
        d, _ = chat_daemon()
        long = " ".join(f"Sentence {i} of a long message about the boat and the harbour." for i in range(80))
        with d.client() as c:
            chat = c.chat_create("original")
            send(c, chat.chat_id, long)
            copy = c.chat_duplicate(chat.chat_id)
            assert (copy.title, copy.copied_from, len(copy.messages)) == ("original (copy)", chat.chat_id, 2)
            send(c, copy.chat_id, "only in the copy")
            c.chat_rename(chat.chat_id, "renamed original")
            c.chat_delete(chat.chat_id)
            kept = c.chat(copy.chat_id)
            with pytest.raises(ServerError) as exc:
                c.chat(chat.chat_id)
        assert exc.value.code == "not_found"
        assert (kept.title, [m.text for m in kept.messages]) == (
            "original (copy)",
            [long, ANSWER, "only in the copy", ANSWER],
        )

    def test_export_delete_import_gives_back_the_same_chat(self, chat_daemon: Any) -> None:
        """The JSON export, imported after the chat was deleted, is the same chat (id included)."""
        d, _ = chat_daemon()
        with d.client() as c:
            chat = c.chat_create("round trip")
            send(c, chat.chat_id, "remember this: the boat is called Seagull")
            before = c.chat(chat.chat_id)
            document = c.chat_export(chat.chat_id)
            c.chat_delete(chat.chat_id)
            assert c.chats() == []
            after = c.chat_import(document)
        assert json.loads(document)["format"] == "greenroom.chat"
        assert same(after, before)

    def test_import_of_a_live_chat_gets_a_new_id(self, chat_daemon: Any) -> None:
        """Importing a chat that still exists adds a second chat instead of replacing it."""
        d, _ = chat_daemon()
        with d.client() as c:
            chat = c.chat_create("twice")
            document = c.chat_export(chat.chat_id)
            again = c.chat_import(document)
        assert again.chat_id != chat.chat_id
        assert again.title == "twice"

    def test_markdown_export_reads_as_a_conversation(self, chat_daemon: Any) -> None:
        """Markdown has the title, a heading per message and the texts."""
        d, _ = chat_daemon()
        with d.client() as c:
            chat = c.chat_create("notes")
            send(c, chat.chat_id, "hello there")
            text = c.chat_export(chat.chat_id, "markdown")
        assert text.startswith("# notes\n")
        assert "## You" in text
        assert "hello there" in text
        assert "## greenroom" in text
        assert ANSWER in text

    def test_the_first_message_titles_an_untitled_chat(self, chat_daemon: Any) -> None:
        """A chat created without a title takes its first message's start."""
        d, _ = chat_daemon()
        with d.client() as c:
            chat = c.chat_create()
            send(c, chat.chat_id, "plan a weekend in the mountains " * 4)
            assert c.chat(chat.chat_id).title.startswith("plan a weekend in the mountains")

    def test_a_message_while_the_last_task_works_is_a_conflict(self, chat_daemon: Any) -> None:
        """A chat takes its next message once its last task ended (cancel ends it too)."""
        d, _ = chat_daemon(delay_s=0.5)
        with d.client() as c:
            chat = c.chat_create()
            sent = c.chat_send(chat.chat_id, "slow one")
            with pytest.raises(ServerError) as exc:
                c.chat_send(chat.chat_id, "too soon")
            assert exc.value.code == "conflict"
            assert sent.task_id in exc.value.message
            c.cancel(sent.task_id)
            wait_for(lambda: c.task(sent.task_id).status == "cancelled")
            assert c.chat_send(chat.chat_id, "now").index == 1

    def test_search_finds_chats_by_title_and_by_content(self, chat_daemon: Any) -> None:
        """Titles match by their words; content matches through the memory engine."""
        d, _ = chat_daemon()
        with d.client() as c:
            trip = c.chat_create("Holiday plans")
            cabin = c.chat_create("misc")
            send(c, cabin.chat_id, "the cabin wifi password is written on the fridge door")
            settle_memory(d, 2)
            by_title = c.chat_search("holiday")
            by_content = c.chat_search("where is the wifi password for the cabin")
        assert [(h.chat_id, h.why) for h in by_title] == [(trip.chat_id, "title")]
        assert by_content[0].chat_id == cabin.chat_id
        assert by_content[0].why == "content"
        assert "fridge" in by_content[0].text

    def test_forgetting_a_chat_empties_its_memory_and_keeps_the_chat(self, chat_daemon: Any) -> None:
        """chat_forget removes every item tagged with the chat; the chat itself stays."""
        d, _ = chat_daemon()
        with d.client() as c:
            chat = c.chat_create("misc")
            send(c, chat.chat_id, "my locker code is 4711")
            settle_memory(d, 2)
            assert [h.why for h in c.chat_search("the code of my locker")] == ["content"]
            report = c.chat_forget(chat.chat_id)
            assert len(report.item_ids) == 2
            assert c.chat_search("the code of my locker") == []
            assert len(c.chat(chat.chat_id).messages) == 2

    def test_images_are_described_by_the_vision_model_for_every_call(self, chat_daemon: Any, short_tmp: Path) -> None:
        """A message's images go to the model once (free text: the vision path); every prompt reads what it saw."""
        image = short_tmp / "photo.png"
        image.write_bytes(b"\x89PNG\r\n\x1a\n")
        d, backend = chat_daemon()
        with d.client() as c:
            chat = c.chat_create()
            sent = send(c, chat.chat_id, "what is in this photo?", images=[str(image)])
            message = c.chat(chat.chat_id).messages[0]
        assert message.images == [str(image)]
        assert c.task(sent.task_id).status == "finished"
        (look,) = [r for r in backend.requests if r.purpose == "look"]
        assert look.messages[-1].images == [str(image)]
        assert look.schema is None
        plan_prompt = next(r for r in backend.requests if r.purpose == "plan").messages[-1]
        assert not plan_prompt.images
        assert f"Images {image}, as the vision model saw them: A cat asleep on a red sofa." in plan_prompt.content

    def test_files_go_into_memory_with_the_chat_before_the_task_searches(
        self, chat_daemon: Any, short_tmp: Path
    ) -> None:
        """A file sent with a message is ingested under the chat's tag; the task waits for it and uses it."""
        recipe = short_tmp / "recipe.md"
        recipe.write_text("# Pancakes\n\nMix two eggs, a cup of flour and a cup of milk; fry in butter.\n")
        d, backend = chat_daemon()
        with d.client() as c:
            chat = c.chat_create("cooking")
            sent = send(c, chat.chat_id, "how many eggs do the pancakes need?", files=[str(recipe)])
        row = d.runtime.memory.store.db.execute("SELECT id, tags FROM items WHERE uri = ?", [str(recipe)]).fetchone()
        assert row is not None
        assert f"chat:{chat.chat_id}" in json.loads(row[1])
        used = next(ev for ev in task_events(d, sent.task_id) if isinstance(ev, e.MemoryUsed))
        assert row[0] in [h.item_id for h in used.hits]
        plan_prompt = next(r for r in backend.requests if r.purpose == "plan").messages[-1].content
        assert f"[file {recipe}]" in plan_prompt
        assert "two eggs" in plan_prompt


class TestBadChatRequests:
    def test_bad_arguments_are_named(self, chat_daemon: Any, short_tmp: Path) -> None:
        """Unknown chats, empty text, relative or missing attachments: each a clear error reply."""
        d, _ = chat_daemon()
        with d.client() as c:
            chat = c.chat_create()
            cases = [
                (lambda: c.chat("c-00000000"), "not_found", "no chat"),
                (lambda: c.chat_send(chat.chat_id, "   "), "bad_request", "empty"),
                (lambda: c.chat_send(chat.chat_id, "x", images=["photo.png"]), "bad_request", "absolute"),
                (lambda: c.chat_send(chat.chat_id, "x", files=[str(short_tmp / "nope")]), "bad_request", "no file"),
                (lambda: c.chat_send(chat.chat_id, "x" * 9000), "bad_request", "at most"),
                (lambda: c.chat_rename(chat.chat_id, "t" * 300), "bad_request", "title"),
                (lambda: c.chat_import("{}"), "bad_request", "not a greenroom chat document"),
                (lambda: c.chat_import('{"chat_id": "c-1", "title": "x", "version": 9}'), "bad_request", "version"),
            ]
            for fn, code, needle in cases:
                with pytest.raises(ServerError) as exc:
                    fn()
                assert (exc.value.code, needle in exc.value.message) == (code, True), exc.value
            assert c.status().head > 0

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(
        st.one_of(
            st.text(max_size=300),
            st.recursive(
                st.none() | st.booleans() | st.floats(allow_nan=False) | st.text(max_size=20),
                lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
                max_leaves=20,
            ).map(json.dumps),
            st.builds(
                lambda msgs, through: json.dumps(
                    {
                        "chat_id": "c-12345678",
                        "title": "t",
                        "messages": msgs,
                        "summaries": [{"through": through, "text": "s"}],
                    }
                ),
                st.lists(
                    st.fixed_dictionaries(
                        {"role": st.sampled_from(["user", "assistant", "x"]), "text": st.text(max_size=20)}
                    ),
                    max_size=3,
                ),
                st.integers(-5, 5),
            ),
        )
    )
    def test_hostile_documents_are_refused_or_imported_never_fatal(self, chat_daemon: Any, document: str) -> None:
        """Any document is either a valid chat or a bad_request; the daemon keeps serving."""
        if not hasattr(self, "_d"):
            self._d = chat_daemon()[0]
        with self._d.client() as c:
            try:
                view = c.chat_import(document)
            except ServerError as exc:
                code = exc.code
            else:
                code = "imported"
                assert len(view.messages) == len(json.loads(document).get("messages", []))
            assert code in ("bad_request", "imported")
            assert c.status().head > 0


class TestFollowUps:
    def test_the_second_task_sees_the_first_exchange(self, chat_daemon: Any) -> None:
        """A follow-up's first call carries the earlier question and answer, in order, before its own."""
        d, backend = chat_daemon()
        with d.client() as c:
            chat = c.chat_create()
            send(c, chat.chat_id, "What is the capital of France?")
            second = send(c, chat.chat_id, "And of Germany?")
            assert c.task(second.task_id).answer == ANSWER
        first, follow = (r.messages for r in backend.requests if r.purpose == "plan")
        assert len(first) == 2
        assert follow[0] == first[0]
        assert follow[1].content == "Question: What is the capital of France?\nAnswer with one short, correct sentence."
        assert (follow[2].role, follow[2].content) == ("assistant", '{"answer":"The answer is forty-two."}')
        assert follow[3].content.startswith("Question: What is the capital of Germany?\n")  # the follow-up made whole
        planned = next(ev for ev in task_events(d, second.task_id) if isinstance(ev, e.TaskPlanned))
        assert planned.reason == "follow-up read as: What is the capital of Germany?"
        submitted = e.TaskSubmitted(goal="And of Germany?", client="test", chat_id=chat.chat_id)
        assert submitted in task_events(d, second.task_id)

    def test_a_follow_up_that_repeats_a_tool_job_gets_the_tool(self, chat_daemon: Any, short_tmp: Path) -> None:
        """Tool matching reads "now do the same for ..." as the earlier request (no answer made up from the
        conversation); the step is the earlier request with the new part."""
        from greenroom.tools.routing import ToolRouter

        notes = short_tmp / "notes"
        notes.mkdir()
        (notes / "today.md").write_text("Meeting on Friday.\n")
        listed = call(("fs.list", {"path": str(notes)}))
        d, _ = chat_daemon({"step:*": listed, "step:1:round:2": finish("today.md")}, "agent.match_tools=true")
        d.runtime.deps.router = ToolRouter(d.runtime.memory.embedder, d.config.agent.tool_match)
        with d.client() as c:
            chat = c.chat_create()
            send(c, chat.chat_id, f"list the files in {notes}")
            again = send(c, chat.chat_id, "now do the same for last week")
            assert c.task(again.task_id).status == "finished"
        planned = next(ev for ev in task_events(d, again.task_id) if isinstance(ev, e.TaskPlanned))
        assert [s.tools for s in planned.steps] == [["fs.list"]], planned
        assert planned.steps[0].intent == f"list the files in {notes} for last week"
        assert any(isinstance(ev, e.ToolInvoked) and ev.tool == "fs.list" for ev in task_events(d, again.task_id))

    def test_every_call_of_a_chat_task_starts_with_the_same_context(self, chat_daemon: Any) -> None:
        """Route, rounds and answer of a follow-up share one prefix: the conversation (the KV cache keeps it)."""
        d, backend = chat_daemon({"plan": plan("look", "sum up"), "step:*": finish("looked"), "answer": "All done."})
        with d.client() as c:
            chat = c.chat_create()
            send(c, chat.chat_id, "first")
            mark = len(backend.requests)
            send(c, chat.chat_id, "second")
        calls = backend.requests[mark:]
        assert {r.purpose for r in calls} >= {"plan", "step:1:round:1", "step:2:round:1", "answer"}
        turns = [
            ("user", "Question: first\nAnswer with one short, correct sentence."),
            ("assistant", '{"answer":"All done."}'),
        ]
        assert all([(m.role, m.content) for m in r.messages[1:3]] == turns for r in calls), [r.purpose for r in calls]
        assert len({r.messages[0].content for r in calls}) == 1  # one system prefix for all

    def test_a_conversation_longer_than_the_window_is_summarised_and_fits(self, chat_daemon: Any) -> None:
        """Turns past the context window are summarised (an event on the task's timeline) and the prompt fits."""
        long_answer = "It depends on many things, as the old harbour town shows. " * 20
        window = 2048
        d, backend = chat_daemon({"plan": answer(long_answer)}, f"llm.context_window={window}")
        questions = [
            f"Question {i}: " + "tell me about the long history of the old harbour town. " * 19 for i in range(3)
        ]
        with d.client() as c:
            chat = c.chat_create()
            sent = [send(c, chat.chat_id, q) for q in questions]
            view = c.chat(chat.chat_id)
        total = sum(estimate_tokens(m.text) for m in view.messages)
        assert total > window  # the conversation alone would not fit
        summarized = [
            (env.task_id, env.event)
            for env in (decode_envelope(raw) for _, raw in d.runtime.journal.read(types=["chat.summarized"]))
        ]
        assert summarized, "no chat.summarized event"
        assert summarized[0][0] in {s.task_id for s in sent}
        assert "chat.summarized" in {event_type(ev) for ev in task_events(d, summarized[0][0])}
        assert view.summaries
        assert view.summaries[-1].text == "They talked at length."
        last_plan = [r for r in backend.requests if r.purpose == "plan"][-1]
        assert messages_tokens(last_plan.messages, estimate_tokens) <= window - 256
        assert last_plan.messages[1].content.startswith("(Earlier turns, summarised) They talked at length.")
        assert [m.role for m in last_plan.messages] == ["system", "user", "assistant", "user"][
            : len(last_plan.messages)
        ]
        summary_request = next(r for r in backend.requests if r.purpose == "summary")
        assert "Question 0" in summary_request.messages[-1].content
        for r in backend.requests:
            assert messages_tokens(r.messages, estimate_tokens) <= window - 256, r.purpose

    def test_chat_events_replay_in_the_task_timeline(self, chat_daemon: Any) -> None:
        """The message that started a task is on that task's timeline, before task.submitted."""
        d, _ = chat_daemon()
        with d.client() as c:
            chat = c.chat_create("greetings")
            sent = send(c, chat.chat_id, "hi")
            types = [event_type(env.event) for env in c.replay(sent.seq, task_id=sent.task_id).events]
            view = c.chat(chat.chat_id)
        assert types[:2] == ["chat.message", "task.submitted"]
        assert msgspec.json.decode(msgspec.json.encode(view), type=ChatView) == view


class TestSendingRightAfterTheAnswer:
    def test_a_client_that_saw_the_task_end_may_send_at_once(self, tmp_path: Path) -> None:
        """The timeline leaves before the indexes fold a commit: a message sent on seeing task.finished
        is taken (no conflict), and lands after the answer."""
        from greenroom.runtime.chat_ops import ChatOps

        journal = Journal(tmp_path / "j.db")
        bus = Bus(journal)
        tasks, chats = TaskIndex(), ChatIndex()
        ops = ChatOps(bus, chats, tasks, SimpleNamespace(handles=None))  # type: ignore[arg-type]
        seen, flushing = threading.Event(), threading.Event()

        def timeline(records: list[Any]) -> None:  # the timeline sender runs first; this one waits to be passed
            if any(r.type == "task.finished" for r in records):
                seen.set()
                flushing.wait(30)

        bus.add_listener(tasks.apply)
        bus.add_listener(chats.apply)
        bus.add_listener(timeline, first=True)
        real_flush = bus.flush

        def flush(timeout: float | None = 30.0) -> int:
            flushing.set()
            return real_flush(timeout)

        bus.flush = flush  # type: ignore[method-assign]
        try:
            chat = ops.create("race")
            first, _, _ = ops.send(chat.chat_id, "first", [], [])
            bus.publish(e.TaskFinished(answer="one"), source="executor", task_id=first)
            assert seen.wait(30)
            _, index, _ = ops.send(chat.chat_id, "second", [], [])
        finally:
            flushing.set()
            bus.close()
            journal.close()
        assert index == 2
        view = chats.get(chat.chat_id)
        assert view is not None
        assert [(m.role, m.text) for m in view.messages] == [
            ("user", "first"),
            ("assistant", "one"),
            ("user", "second"),
        ]


class TestPureChatChecks:
    @settings(max_examples=300, deadline=None)
    @given(st.text(max_size=200) | st.sampled_from(["/", "/etc", "/nope/x.png", "http://x/y.png", "~/a", "a\x00b"]))
    def test_attachment_paths_are_checked(self, path: str) -> None:
        """Any path is either an absolute existing file (or an image URL) or a bad_request naming it."""
        from greenroom.runtime.chat_ops import _attachment
        from greenroom.runtime.errors import RequestError

        try:
            got, code = _attachment(path, "image", urls=True), ""
        except RequestError as exc:
            got, code = "", exc.code
        assert code == "bad_request" or got.startswith(("http://", "https://")) or Path(got).is_file()

    @settings(max_examples=300, deadline=None)
    @given(st.binary(max_size=200).map(lambda b: b.decode("latin-1")) | st.text(max_size=200))
    def test_documents_parse_or_say_why(self, text: str) -> None:
        """parse() returns a document or raises bad_request; it never raises anything else."""
        from greenroom.runtime.chat_docs import parse
        from greenroom.runtime.errors import RequestError

        try:
            version, code = parse(text).version, ""
        except RequestError as exc:
            version, code = 0, exc.code
        assert code == "bad_request" or version == 1

    def test_model_token_counts_are_used_when_there(self) -> None:
        """The loaded model's tokenizer counts; a failing or absent one falls back to the estimate."""
        from greenroom.actors.conversation import counter

        class Deps:
            model_status: dict[str, Any] = {}

        deps: Any = Deps()
        assert counter(deps)("abcdef") == estimate_tokens("abcdef")
        deps.model_status = {"count_tokens": lambda text: 1}
        assert counter(deps)("abcdef") == 1
        deps.model_status = {"count_tokens": lambda text: None}
        assert counter(deps)("abcdef") == estimate_tokens("abcdef")
        deps.model_status = {"count_tokens": lambda text: 1 / 0}
        assert counter(deps)("abcdef") == estimate_tokens("abcdef")
