from __future__ import annotations

import threading
from pathlib import Path

import pytest

from greenroom.bus import Bus, BusClosedError, Journal
from greenroom.bus import events as e


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
