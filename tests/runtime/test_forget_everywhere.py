"""Forget for real: a note a task read and quoted leaves every file in the data dir (acceptance)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from greenroom.bus import events as e
from greenroom.bus.scrub import MARKER
from greenroom.clients import Client
from greenroom.runtime.logging import rewrite_log_files
from tests.conftest import call, cli_flags, finish, plan, wait_for, write_script

NOTE = "the spare key for the boathouse hangs behind the tide chart"


def files_holding(root: Path, needle: bytes) -> list[str]:
    """Every file under ``root`` whose raw bytes hold ``needle`` (databases, WALs, indexes, logs)."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and needle in p.read_bytes())


@pytest.mark.slow
class TestForgetReachesEveryFile:
    def test_a_read_and_quoted_note_is_in_no_file_after_forget(self, short_tmp: Path, daemon_process: Any) -> None:
        """The task recalls the note, quotes it in chunks, its result and answer; forget; grep finds nothing."""
        script = write_script(
            short_tmp / "script.json",
            {
                "plan": plan("find where the key is"),
                "step:1:round:1": call(("memory.recall", {"query": "boathouse key"})),
                "step:1:round:2": finish(f"The note says: {NOTE}."),
                "answer": f"It is written down: {NOTE}. Nothing else.",
            },
        )
        flags = [
            *cli_flags(short_tmp, script), "--set", "memory.rerank=false", "--set", "daemon.log_level=\"debug\"",
        ]  # fmt: skip
        daemon = daemon_process(short_tmp, [*flags]).start()
        data = short_tmp / "data"
        with Client(daemon.runtime_dir, name=f"a client called {NOTE}", timeout=120).connect() as client:
            item_id = client.memory_add(NOTE, ["home"])
            task_id = client.submit("where is the boathouse key?").task_id
            view = wait_for(lambda: (v := client.task(task_id)).status == "finished" and v, timeout=60)
            assert NOTE in view.answer
            journal = client.replay(1, limit=5000).events
            quoted = [env.seq for env in journal if NOTE in _text(env.event)]
            assert len(quoted) >= 5, "stored, recalled, quoted in a result, a verdict's input, the answer"
            before = files_holding(data, NOTE.encode())
            assert "journal.sqlite" in before or "journal.sqlite-wal" in before
            assert "logs/daemon.jsonl" in before, "the client's name (the note) was logged at debug level"

            report = client.memory_forget([item_id])
            assert report.item_ids == [item_id]
            forgotten = wait_for(
                lambda: [env.event for env in client.replay(1, limit=5000).events
                         if isinstance(env.event, e.MemoryForgotten)],
            )  # fmt: skip
            after = client.replay(1, limit=5000).events
            assert [env.seq for env in after if env.seq in quoted] == quoted, "the events stay where they were"
            assert set(quoted) <= set(forgotten[0].rewritten), "clients are told which events changed"
            assert all(NOTE not in _text(env.event) for env in after)
            assert all(MARKER in _text(env.event) for env in after if env.seq in quoted)
            assert NOTE not in client.task(task_id).answer
            stats = client.memory_stats()
            assert (stats.items, stats.chunks) == (0, 0)
        holding = files_holding(data, NOTE.encode())
        assert holding == [], f"the note's bytes are still in {holding}"
        assert files_holding(data, NOTE[:24].encode()) == []
        assert (data / "logs" / "daemon.jsonl").stat().st_size > 0, "the logs were there to be searched"


class TestMaskedNotes:
    def test_a_note_holding_a_secret_goes_as_it_was_journaled(self, short_tmp: Path, daemon_factory: Any) -> None:
        """Masking made the journaled note differ from memory's copy; the forget still finds and scrubs it."""
        from tests.conftest import make_config

        note = "the router admin login is password: hunter2222 and it sits behind the clock"
        d = daemon_factory(make_config(short_tmp, None, "memory.rerank=false"))
        with Client(d.config.runtime_dir, timeout=120) as client:
            item = client.memory_add(note)
            stored = wait_for(
                lambda: [x.event for x in client.replay(1).events if isinstance(x.event, e.MemoryStored)]
            )
            assert "hunter2222" not in stored[0].text, "secrets never reach the journal"
            client.memory_forget([item])
            wait_for(lambda: any(isinstance(x.event, e.MemoryForgotten) for x in client.replay(1).events))
            texts = [_text(x.event) for x in client.replay(1).events]
        assert not any("behind the clock" in t for t in texts)
        assert files_holding(short_tmp / "data", b"behind the clock") == []


    def test_the_journaled_note_is_scrubbed_even_when_memory_held_it_otherwise(
        self, short_tmp: Path, daemon_factory: Any
    ) -> None:
        """The text of the item's own memory.stored event is a needle too, whatever memory's copy says."""
        from tests.conftest import make_config

        journaled = "as journaled: the shed key is under the third flower pot from the left"
        d = daemon_factory(make_config(short_tmp))
        d.runtime.bus.publish(e.MemoryStored(item_id="m-shed", text=journaled), source="memory")
        d.runtime.bus.publish(e.TaskFinished(answer=f"Found it. {journaled}"), source="x", task_id="t-x", durable=True)
        rewritten = d.runtime.journal_ops.scrub(["memory's own different copy of the note"], ["m-shed"])
        with d.client() as client:
            texts = [_text(x.event) for x in client.replay(1).events]
        assert len(rewritten) == 2
        assert not any("third flower pot" in t for t in texts)


def _text(event: Any) -> str:
    """Every string of an event, joined (JSON, unescaped)."""
    import msgspec

    return json.dumps(msgspec.to_builtins(event), ensure_ascii=False)


class TestLogFiles:
    def test_log_files_are_rewritten_in_place_under_the_handlers_lock(self, tmp_path: Path) -> None:
        """A log file being written is scrubbed in place; lines written afterwards land after it."""
        import logging

        from greenroom.bus.scrub import Scrubber

        path = tmp_path / "daemon.jsonl"
        handler = logging.FileHandler(path)
        root = logging.getLogger()
        root.addHandler(handler)
        try:
            logger = logging.getLogger("test.scrub")
            logger.warning(json.dumps({"event": "client_hello", "client": NOTE}))
            (tmp_path / "daemon.jsonl.1").write_text(json.dumps({"old": NOTE}) + "\n")
            changed = rewrite_log_files(tmp_path, Scrubber([NOTE]))
            logger.warning("after %s", time.time())
        finally:
            root.removeHandler(handler)
            handler.close()
        assert {p.name for p in changed} == {"daemon.jsonl", "daemon.jsonl.1"}
        text = path.read_text()
        assert NOTE not in text
        assert MARKER in text
        assert text.splitlines()[-1].startswith("after ")


class TestForgetWithMemoryInEveryTask:
    NOTE = "the spare key for the boathouse\nhangs behind the tide chart in the shed"
    FLAT = "the spare key for the boathouse hangs behind the tide chart in the shed"

    def test_memory_used_summaries_and_chat_answers_lose_the_note(
        self, short_tmp: Path, daemon_factory: Any, shared_embedder: Any
    ) -> None:
        """With the defaults (memories in every prompt, tasks remembered), a chat whose answer repeated a
        multi-line note on one line: memory.used, the answer, the chat, the task's summary and every file
        lose it."""
        from tests.conftest import answer, make_config

        script = write_script(short_tmp / "script.json", {"plan": answer(f"It is written down: {self.FLAT}.")})
        config = make_config(short_tmp, script, "memory.rerank=false", "agent.remember_tasks=on")
        d = daemon_factory(config)
        d.runtime.memory.embedder = shared_embedder
        with d.client() as client:
            item_id = client.memory_add(self.NOTE)
            chat = client.chat_create("keys")
            task_id = client.chat_send(chat.chat_id, "where is the boathouse key?").task_id
            wait_for(lambda: client.task(task_id).status == "finished", timeout=60)
            used = [x.event for x in client.replay(1, task_id=task_id).events if isinstance(x.event, e.MemoryUsed)]
            assert [h.text for h in used[0].hits] == [self.FLAT], "the prompt showed the note on one line"
            wait_for(lambda: d.runtime.memory.store.stats()["items"] >= 4, timeout=60)  # note, message, answer, task

            client.memory_forget([item_id])

            wait_for(lambda: any(isinstance(x.event, e.MemoryForgotten) for x in client.replay(1).events))
            events = client.replay(1, limit=5000).events
            assert [x.seq for x in events if "tide chart" in _text(x.event)] == []
            used = [x.event for x in events if isinstance(x.event, e.MemoryUsed)]
            assert [h.text for h in used[0].hits] == [MARKER]
            assert "tide chart" not in _text(client.chat(chat.chat_id))
            assert "tide chart" not in client.chat_export(chat.chat_id)
            assert "tide chart" not in client.task(task_id).answer
            hits = client.memory_search("boathouse key tide chart", k=10, rerank=False).hits
            assert {h.source for h in hits} >= {"task", "chat"}, "the summary and the answer stay, without the note"
            assert all("tide chart" not in h.text for h in hits)
        d.stop()
        assert files_holding(short_tmp / "data", b"tide chart") == []
