"""Replays: their own workers, the journal's bytes spliced as they are, older rows checked once."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greenroom.bus import CORRUPT_EVENT, Bus, Envelope, Journal, encode, read_envelopes
from greenroom.bus import events as e
from greenroom.bus import protocol as p
from greenroom.runtime.replay import RawEvents, Replays, SeqRanges, decoded_events
from tests.conftest import make_config, plan, write_script
from tests.strategies import event_classes, values_of

ENVELOPES = st.builds(
    lambda seq, ev, task: Envelope(seq=seq, ts=1.5, source="s", event=ev, task_id=task),
    st.integers(1, 2**40),
    st.one_of([values_of(cls) for cls in event_classes()]),
    st.none() | st.text(max_size=8),
)
_replies = msgspec.msgpack.Decoder(p.Reply)


def journal_before(path: Path, count: int, bad: int | None = None) -> None:
    """A journal written by an earlier process: ``count`` chunks, row ``bad`` overwritten with garbage."""
    journal = Journal(path)
    bus = Bus(journal)
    for i in range(count):
        bus.publish(e.LlmChunk(request_id="r", text=f"w{i}"), source="llm", task_id="t-1")
    bus.close()
    journal.close()
    if bad is not None:
        with sqlite3.connect(path) as conn:
            conn.execute("UPDATE events SET body = ? WHERE seq = ?", (b"\x82\xa3seq\x01\xa2ts\xcf", bad))


def replays(journal: Journal, bus: Bus, *, viewer: bool = False) -> Replays:
    return Replays(
        journal,
        lambda: bus.head,
        lambda pipe_id: not viewer,
        lambda request, fmt, pipe_id: encode(decoded_events(journal, bus.head, request), fmt),  # type: ignore[arg-type]
    )


def events_of(reply: bytes) -> list[Envelope]:
    decoded = _replies.decode(reply)
    assert isinstance(decoded, p.Events)
    return decoded.events


class TestRawEvents:
    @settings(max_examples=100, deadline=None)
    @given(envs=st.lists(ENVELOPES, max_size=6), head=st.integers(0, 2**40), next_seq=st.integers(0, 2**40))
    def test_spliced_bytes_are_the_events_reply(self, envs: list[Envelope], head: int, next_seq: int) -> None:
        """A page of encoded envelopes spliced raw is byte for byte the ``events`` reply of the same page."""
        raw = RawEvents(events=[msgspec.Raw(encode(env)) for env in envs], head=head, next_seq=next_seq)
        assert encode(raw) == encode(p.Events(events=envs, head=head, next_seq=next_seq))


class TestSeqRanges:
    @settings(max_examples=200, deadline=None)
    @given(
        adds=st.lists(st.tuples(st.integers(1, 60), st.integers(0, 8)), max_size=12),
        asks=st.lists(st.tuples(st.integers(1, 70), st.integers(0, 10)), max_size=12),
    )
    def test_it_is_a_set_of_seqs(self, adds: list[tuple[int, int]], asks: list[tuple[int, int]]) -> None:
        """Whatever ranges were added (overlapping, touching, apart), covers answers as a plain set would."""
        ranges, seen = SeqRanges(), set()
        for first, width in adds:
            ranges.add(first, first + width)
            seen.update(range(first, first + width + 1))
        for first, width in asks:
            assert ranges.covers(first, first + width) == all(s in seen for s in range(first, first + width + 1))


class TestReplays:
    def test_older_rows_are_checked_once_and_corrupt_ones_become_placeholders(self, tmp_path: Path) -> None:
        """Rows from before this process: the same envelopes as decoding them, corrupt row included, every time."""
        path = tmp_path / "j.sqlite"
        journal_before(path, 50, bad=7)
        journal = Journal(path)
        bus = Bus(journal)
        bus.publish(e.TaskStarted(), source="t", task_id="t-1", durable=True)  # one row of this process
        r = replays(journal, bus)
        expected = read_envelopes(journal, 1)
        for _ in range(2):  # the second time the range is known checked: spliced, the corrupt row still replaced
            got = events_of(r.reply(p.Replay(from_seq=1, limit=100), "msgpack", 1))
            assert got == expected
        assert isinstance(got[6].event, e.Error)
        assert got[6].event.code == CORRUPT_EVENT
        assert got[50].event == e.TaskStarted()
        assert list(journal.corrupt) == [7]
        bus.close()
        journal.close()

    def test_pages_filters_and_next_seq_match_the_decoded_path(self, tmp_path: Path) -> None:
        """Any replay answers like the decoded reply would: same events, head and next_seq."""
        path = tmp_path / "j.sqlite"
        journal_before(path, 30)
        journal = Journal(path)
        bus = Bus(journal)
        for i in range(30):
            bus.publish(e.LlmChunk(request_id="r", text=str(i)), source="t", task_id=f"t-{i % 2}")
        bus.flush()
        r = replays(journal, bus)
        for request in (
            p.Replay(from_seq=1, limit=7),
            p.Replay(from_seq=25, to_seq=40, limit=1000),
            p.Replay(from_seq=1, task_id="t-0"),
            p.Replay(from_seq=55, limit=1000),
            p.Replay(from_seq=100),
        ):
            want = encode(decoded_events(journal, bus.head, request))
            assert r.reply(request, "msgpack", 1) == want, request
        bus.close()
        journal.close()

    def test_json_and_viewers_take_the_decoded_path(self, tmp_path: Path) -> None:
        """A JSON request or a viewer's is served by the fallback (JSON encoding, redaction)."""
        journal = Journal(tmp_path / "j.sqlite")
        bus = Bus(journal)
        bus.publish(e.TaskStarted(), source="t", task_id="t-1", durable=True)
        calls: list[str] = []
        for viewer, fmt in ((False, "json"), (True, "msgpack")):
            r = Replays(
                journal, lambda: bus.head, lambda pipe_id, v=viewer: not v, lambda *a: calls.append(a[1]) or b""
            )
            r.reply(p.Replay(), fmt, 1)  # type: ignore[arg-type]
        assert calls == ["json", "msgpack"]
        bus.close()
        journal.close()


@pytest.fixture
def daemon(short_tmp: Path, daemon_factory: Any) -> Any:
    script = write_script(short_tmp / "s.json", {"plan": plan("x"), "answer": "ok"})
    config = make_config(short_tmp, script)
    config.data_dir.mkdir(mode=0o700, parents=True)
    journal_before(config.data_dir / "journal.sqlite", 3000)
    return daemon_factory(config)


class TestReplaysInTheDaemon:
    def test_many_clients_replaying_at_once_all_get_their_pages(self, daemon: Any) -> None:
        """Twelve clients each replay the journal page by page while another keeps asking status: all answered."""
        head = daemon.client().status().head
        results: dict[int, list[int]] = {}
        statuses: list[int] = []
        done = threading.Event()

        def follower(n: int) -> None:
            with daemon.client(f"f{n}") as c:
                seqs, start = [], 1
                while start <= head:
                    page = c.replay(start, head, limit=500)
                    seqs += [env.seq for env in page.events]
                    start = page.next_seq
                results[n] = seqs

        def asker() -> None:
            with daemon.client("status") as c:
                while not done.is_set():
                    statuses.append(c.status().head)

        threads = [threading.Thread(target=follower, args=(n,)) for n in range(12)]
        side = threading.Thread(target=asker)
        side.start()
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        done.set()
        side.join(30)
        assert all(results[n] == list(range(1, head + 1)) for n in range(12))
        assert statuses, "status was answered during the replays"
        assert daemon.gateway.replays.served >= 12 * (head // 500)

    def test_a_full_replay_queue_is_served_by_the_control_workers(self, daemon: Any) -> None:
        """No replay worker free and the queue full: the control worker answers the replay itself."""
        gateway = daemon.gateway
        before = gateway.replays.served
        gateway.replays._stopping = True  # take() refuses, as with a full queue
        try:
            with daemon.client() as c:
                page = c.replay(1, 10)
        finally:
            gateway.replays._stopping = False
        assert [env.seq for env in page.events] == list(range(1, 11))
        assert gateway.replays.served == before
