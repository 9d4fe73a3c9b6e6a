from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from greenroom.bus import Bus, BusClosedError, Journal, Record
from greenroom.bus import events as e
from tests.conftest import wait_for


@pytest.fixture
def bus(tmp_path: Path):  # type: ignore[no-untyped-def]
    journal = Journal(tmp_path / "j.sqlite")
    b = Bus(journal)
    yield b
    b.close()
    journal.close()


def _chunk(i: int) -> e.LlmChunk:
    return e.LlmChunk(request_id="r", text=str(i))


class TestBus:
    def test_seq_is_dense_and_journaled(self, bus: Bus) -> None:
        """Published events get consecutive seqs and land in the journal."""
        envs = [bus.publish(_chunk(i), source="t", task_id="x") for i in range(100)]
        assert [env.seq for env in envs] == list(range(1, 101))
        bus.flush()
        assert [s for s, _ in bus.journal.read()] == list(range(1, 101))

    def test_durable_publish_waits_for_commit(self, bus: Bus) -> None:
        """A durable publish returns only once its event is in the journal."""
        env = bus.publish(_chunk(0), source="t", durable=True)
        assert bus.head >= env.seq
        assert bus.journal.read(env.seq, env.seq)

    def test_subscribers_see_everything_in_order(self, bus: Bus) -> None:
        """Each subscriber gets every event once, in seq order."""
        subs = [bus.subscribe(f"s{i}") for i in range(3)]
        for i in range(500):
            bus.publish(_chunk(i), source="t")
        bus.flush()
        for sub in subs:
            assert [r.seq for r in sub.drain()] == list(range(1, 501))

    def test_slow_subscriber_drops_then_heals_from_the_journal(self, bus: Bus) -> None:
        """A full queue drops for that subscriber only, which then replays: no gap, no duplicate."""
        slow = bus.subscribe("slow", maxsize=10)
        fast = bus.subscribe("fast", maxsize=100000)
        for i in range(2000):
            bus.publish(_chunk(i), source="t")
        bus.flush()
        assert slow.dropped > 0
        assert fast.dropped == 0
        got = [r.seq for r in slow.drain()]
        assert got == list(range(1, 2001))
        assert slow.replayed > 0
        assert [r.envelope.event for r in fast.drain()][:2] == [_chunk(0), _chunk(1)]

    def test_publisher_never_blocks_on_a_stuck_subscriber(self, bus: Bus) -> None:
        """A subscriber that never reads does not slow publishing or other subscribers."""
        bus.subscribe("stuck", maxsize=1)
        other = bus.subscribe("other", maxsize=100000)
        for i in range(5000):
            bus.publish(_chunk(i), source="t")
        bus.flush(timeout=10)
        assert len(other.drain()) == 5000

    def test_late_subscriber_replays_from_a_seq(self, bus: Bus) -> None:
        """Subscribing from an old seq replays history, then continues live."""
        for i in range(50):
            bus.publish(_chunk(i), source="t")
        bus.flush()
        sub = bus.subscribe("late", from_seq=41)
        bus.publish(_chunk(50), source="t", durable=True)
        assert [r.seq for r in sub.drain()] == list(range(41, 52))

    def test_a_catch_up_behind_a_live_backlog_reads_each_row_once(self, bus: Bus) -> None:
        """Replaying history while live events queued reads every missed row once, not once per live event."""
        for i in range(3000):
            bus.publish(_chunk(i), source="t")
        bus.flush()
        sub = bus.subscribe("late", from_seq=1)
        for i in range(2000):
            bus.publish(_chunk(i), source="t")
        bus.flush()
        assert [r.seq for r in sub.drain()] == list(range(1, 5001))
        assert sub.replayed == 3000

    def test_blocking_get_wakes_on_publish(self, bus: Bus) -> None:
        """get() blocks until an event arrives."""
        sub = bus.subscribe("g")
        got: list[int] = []
        t = threading.Thread(target=lambda: got.append(sub.get(timeout=5).seq))  # type: ignore[union-attr]
        t.start()
        bus.publish(_chunk(0), source="t")
        t.join(5)
        assert got == [1]

    def test_listener_runs_before_subscribers(self, bus: Bus) -> None:
        """Listeners see each committed batch synchronously."""
        seen: list[int] = []
        bus.add_listener(lambda recs: seen.extend(r.seq for r in recs))
        bus.publish(_chunk(0), source="t", durable=True)
        assert seen == [1]

    def test_closed_bus_refuses_publish(self, tmp_path: Path) -> None:
        """Publishing after close raises a clear error; pending events were committed."""
        journal = Journal(tmp_path / "j2.sqlite")
        b = Bus(journal)
        b.publish(_chunk(0), source="t")
        b.close()
        with pytest.raises(BusClosedError):
            b.publish(_chunk(1), source="t")
        assert journal.head == 1
        journal.close()

    def test_seq_continues_after_restart(self, tmp_path: Path) -> None:
        """A new bus on an existing journal continues numbering without holes."""
        journal = Journal(tmp_path / "j3.sqlite")
        b = Bus(journal)
        b.publish(_chunk(0), source="t")
        b.close()
        b2 = Bus(journal)
        assert b2.publish(_chunk(1), source="t", durable=True).seq == 2
        b2.close()
        journal.close()


class TestGroupCommit:
    def test_a_durable_publish_to_an_idle_bus_commits_on_the_callers_thread(self, bus: Bus) -> None:
        """Nobody committing: the durable publisher commits itself, so listeners run on its thread."""
        threads: list[str] = []
        bus.add_listener(lambda records: threads.append(threading.current_thread().name))
        bus.flush()
        env = bus.publish(_chunk(0), source="t", durable=True)
        assert bus.head == env.seq
        assert threads[-1] == threading.current_thread().name

    def test_other_publishes_commit_on_the_writer(self, bus: Bus) -> None:
        """A publish that does not wait never commits on the caller's thread."""
        threads: list[str] = []
        bus.add_listener(lambda records: threads.append(threading.current_thread().name))
        bus.publish(_chunk(0), source="t")
        bus.flush()
        assert threads == ["bus-writer"]

    def test_mixed_publishers_keep_order_and_never_overlap_commits(self, bus: Bus) -> None:
        """Threads publishing durable and plain events at once: every event once, in seq order, one commit at a time."""
        inside = threading.Lock()
        overlaps: list[int] = []
        committed: list[int] = []

        def listener(records: list[Record]) -> None:
            if not inside.acquire(blocking=False):
                overlaps.append(records[0].seq)
                return
            try:
                committed.extend(r.seq for r in records)
            finally:
                inside.release()

        bus.add_listener(listener)
        sub = bus.subscribe("all")
        mine: dict[int, list[int]] = {}

        def publisher(n: int) -> None:
            mine[n] = [bus.publish(_chunk(i), source=f"p{n}", durable=i % 3 == 0).seq for i in range(300)]

        threads = [threading.Thread(target=publisher, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        bus.flush()
        assert not overlaps
        assert committed == list(range(1, 1201))
        assert [r.seq for r in sub.drain()] == list(range(1, 1201))
        for seqs in mine.values():
            assert seqs == sorted(seqs)
        assert [s for s, _ in bus.journal.read()] == list(range(1, 1201))

    def test_a_failed_commit_by_a_leading_publisher_closes_the_bus(self, tmp_path: Path) -> None:
        """The journal failing under a durable publisher: it raises BusClosedError, and so does the next publish."""
        journal = Journal(tmp_path / "j.sqlite")
        bus = Bus(journal)
        bus.publish(_chunk(0), source="t", durable=True)
        journal._writer.close()  # the disk is gone, as far as SQLite is concerned
        with pytest.raises(BusClosedError):
            bus.publish(_chunk(1), source="t", durable=True)
        with pytest.raises(BusClosedError):
            bus.publish(_chunk(2), source="t")
        bus.close()
        journal.close()

    def test_listeners_can_be_removed_and_put_first(self, bus: Bus) -> None:
        """``first`` listeners run before the others; a removed one (a bound method too) is not called."""

        class Seen:
            def __init__(self) -> None:
                self.calls: list[str] = []

            def a(self, records: list[Record]) -> None:
                self.calls.append("a")

            def b(self, records: list[Record]) -> None:
                self.calls.append("b")

        seen = Seen()
        bus.add_listener(seen.a)
        bus.add_listener(seen.b, first=True)
        bus.publish(_chunk(0), source="t", durable=True)
        assert seen.calls == ["b", "a"]
        bus.remove_listener(seen.b)
        bus.publish(_chunk(1), source="t", durable=True)
        assert seen.calls == ["b", "a", "a"]

    def test_a_typed_listener_gets_only_batches_holding_its_types_but_whole(self, bus: Bus) -> None:
        """``types``: a batch with none of them skips the listener; one with any reaches it in full."""
        batches: list[list[str]] = []
        bus.add_listener(lambda records: batches.append([r.type for r in records]), types={"task.started"})
        bus.publish(_chunk(0), source="t", durable=True)
        assert batches == []
        gate = threading.Event()
        bus.add_listener(lambda records: gate.wait(30), first=True)  # holds the first commit: the rest queue
        bus.publish(_chunk(1), source="t")
        wait_for(lambda: bus._committing)
        bus.publish(_chunk(2), source="t")
        bus.publish(e.TaskStarted(), source="t", task_id="x")
        gate.set()
        bus.flush()
        assert batches == [["llm.chunk", "task.started"]]

    def test_a_string_of_types_is_refused(self, bus: Bus) -> None:
        """``types="task.started"`` would be a set of characters, a listener never called: refused."""
        with pytest.raises(TypeError, match=r"not the string 'task\.started'"):
            bus.add_listener(lambda records: None, types="task.started")

    def test_records_carry_their_type(self, bus: Bus) -> None:
        """Subscribers and listeners get the event type (the timeline topic) without looking inside."""
        sub = bus.subscribe("all")
        bus.publish(e.TaskStarted(), source="t", task_id="x", durable=True)
        bus.publish(_chunk(1), source="t", durable=True)
        assert [r.type for r in sub.drain()] == ["task.started", "llm.chunk"]


class TestMaintenanceJobs:
    def test_a_job_runs_under_a_steady_stream_of_events(self, bus: Bus) -> None:
        """Events always waiting cannot starve maintenance: it runs once what came before it is in."""
        stop = threading.Event()
        bus.add_listener(lambda records: time.sleep(0.05))  # slow commits: events are always waiting

        def stream() -> None:  # paced (a tight loop would starve the writer of the GIL instead)
            while not stop.is_set():
                bus.publish(e.LlmChunk(request_id="r", text="x"), source="t")
                time.sleep(0.001)

        publisher = threading.Thread(target=stream)
        publisher.start()
        try:
            wait_for(lambda: bus.head > 20, 30)
            seen_head = bus.exclusive(lambda journal: journal.head, timeout=60)
        finally:
            stop.set()
            publisher.join()
        assert seen_head > 20

    def test_a_job_that_timed_out_before_it_started_never_runs(self, bus: Bus) -> None:
        """Its caller was told it failed: it must not run later (a reset that 'failed' and then wiped)."""
        release, ran = threading.Event(), []
        first = threading.Thread(target=lambda: bus.exclusive(lambda journal: release.wait(60)))
        first.start()
        wait_for(lambda: bus._committing, 30)  # the first job holds the writer
        with pytest.raises(TimeoutError):
            bus.exclusive(lambda journal: ran.append(1), timeout=0.2)
        release.set()
        first.join()
        bus.exclusive(lambda journal: None)  # the writer has run every job queued before this one
        assert ran == []
