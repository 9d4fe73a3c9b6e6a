"""The ipc timeline sender: frames straight from the commit, in order, healed from the journal when it falls behind."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pynng
import pytest

from greenroom.bus import Bus, Journal, decode_envelope
from greenroom.bus import events as e
from greenroom.bus.batch_frames import decode_batch
from greenroom.runtime.timeline import Timeline
from tests.conftest import answer, make_config, wait_for, write_script


class Receiver:
    """A Sub0 on its own thread, keeping every frame it gets."""

    def __init__(self, url: str) -> None:
        self.frames: list[bytes] = []
        self._sub = pynng.Sub0(recv_buffer_size=8192, recv_timeout=100)
        self._sub.subscribe(b"")
        self._sub.dial(url, block=True)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.frames.append(self._sub.recv())
            except pynng.Timeout:
                continue

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._sub.close()


class Setup:
    def __init__(self, root: Path, *, max_pending: int = 65536, json: bool = False, start: bool = True) -> None:
        self.journal = Journal(root / "j.sqlite")
        self.bus = Bus(self.journal)
        self.pub = pynng.Pub0(send_buffer_size=8192)
        self.pub.listen(f"ipc://{root}/t.ipc")
        self.pub_json = pynng.Pub0(send_buffer_size=8192)
        self.pub_json.listen(f"ipc://{root}/tj.ipc")
        self.pub_batch = pynng.Pub0(send_buffer_size=8192)
        self.pub_batch.listen(f"ipc://{root}/tb.ipc")
        self.timeline = Timeline(
            self.journal, self.pub, self.pub_json, max_pending=max_pending, pub_batch=self.pub_batch
        )
        self.bus.add_listener(self.timeline.offer, first=True)
        self.rx = Receiver(f"ipc://{root}/t.ipc")
        self.rx_json = Receiver(f"ipc://{root}/tj.ipc") if json else None  # JSON is encoded only for a follower
        self.rx_batch = Receiver(f"ipc://{root}/tb.ipc")
        followed = (self.pub, self.pub_batch, *((self.pub_json,) if json else ()))
        wait_for(lambda: all(len(sock.pipes) == 1 for sock in followed))
        self.sender = threading.Thread(target=self.timeline.run, daemon=True)
        if start:
            self.start()

    def start(self) -> None:
        self.sender.start()
        wait_for(lambda: self.timeline._waiting or self.timeline._batches or self.timeline._lost)

    def seqs(self, frames: list[bytes]) -> list[int]:
        return [decode_envelope(f.partition(b" ")[2]).seq for f in frames]

    def batch_seqs(self) -> list[int]:
        return [env.seq for frame in list(self.rx_batch.frames) for env in decode_batch(frame)]

    def close(self) -> None:
        self.timeline.close()
        self.sender.join(5)
        self.bus.close()
        self.rx.close()
        if self.rx_json is not None:
            self.rx_json.close()
        self.rx_batch.close()
        self.pub.close()
        self.pub_json.close()
        self.pub_batch.close()
        self.journal.close()


@pytest.fixture
def make(short_tmp: Path) -> Iterator[Callable[..., Setup]]:
    made: list[Setup] = []

    def factory(**kwargs: Any) -> Setup:
        s = Setup(short_tmp, **kwargs)
        made.append(s)
        return s

    yield factory
    for s in made:
        s.close()


class TestTimeline:
    def test_frames_are_type_and_journal_bytes_in_order(self, make: Callable[..., Setup]) -> None:
        """Single events and bursts alike arrive as ``<type> <journal body>``, every seq once, in order."""
        s = make()
        wait_for(lambda: s.timeline._waiting)
        encoded: list[Any] = []
        s.timeline._send_json = encoded.extend  # type: ignore[method-assign]
        s.bus.publish(e.TaskStarted(), source="t", task_id="x", durable=True)
        for i in range(3000):
            s.bus.publish(e.LlmChunk(request_id="r", text=str(i)), source="t")
        s.bus.publish(e.TaskFinished(answer="ok"), source="t", task_id="x", durable=True)
        wait_for(lambda: len(s.rx.frames) == 3002, timeout=30)
        assert s.seqs(s.rx.frames) == list(range(1, 3003))
        bodies = dict(s.journal.read())
        for frame in (s.rx.frames[0], s.rx.frames[1], s.rx.frames[-1]):
            topic, _, body = frame.partition(b" ")
            env = decode_envelope(body)
            assert body == bodies[env.seq]
            assert topic.decode() == env.event.__struct_config__.tag
        assert encoded == [], "nobody follows the JSON timeline: nothing is encoded for it"

    def test_a_sender_that_falls_behind_heals_from_the_journal(self, make: Callable[..., Setup]) -> None:
        """Past ``max_pending`` queued records, batches are dropped and read back later: no gap reaches clients."""
        s = make(max_pending=10, start=False)
        for i in range(500):
            s.bus.publish(e.LlmChunk(request_id="r", text=str(i)), source="t")
        s.bus.flush()
        assert s.timeline._lost is not None, "the sender was not running: the queue overflowed"
        s.start()
        wait_for(lambda: len(s.rx.frames) == 500, timeout=30)
        assert s.seqs(s.rx.frames) == list(range(1, 501))
        assert s.timeline.healed > 0
        wait_for(lambda: len(s.batch_seqs()) == 500, timeout=30)
        assert s.batch_seqs() == list(range(1, 501)), "the batch timeline is healed alike"

    def test_batch_frames_carry_every_event_once_in_order(self, make: Callable[..., Setup]) -> None:
        """The batch timeline gets single events and bursts alike, as frames of the journal's bodies, every seq once."""
        s = make()
        wait_for(lambda: s.timeline._waiting)
        s.bus.publish(e.TaskStarted(), source="t", task_id="x", durable=True)
        gate, held = threading.Event(), threading.Event()
        # Hold the writer so the burst is committed as one batch (whatever the scheduler does).
        writer = threading.Thread(target=s.bus.exclusive, args=(lambda _j: (held.set(), gate.wait(30)),))
        writer.start()
        assert held.wait(10)
        for i in range(3000):
            s.bus.publish(e.LlmChunk(request_id="r", text=str(i)), source="t")
        gate.set()
        writer.join(10)
        s.bus.flush()
        s.bus.publish(e.TaskFinished(answer="ok"), source="t", task_id="x", durable=True)
        wait_for(lambda: len(s.batch_seqs()) == 3002, timeout=30)
        assert s.batch_seqs() == list(range(1, 3003))
        assert len(s.rx_batch.frames) == 1 + 3 + 1, "one frame a commit, the burst cut at 1024 events a frame"
        assert decode_batch(s.rx_batch.frames[0]) == [decode_envelope(dict(s.journal.read())[1])]
        wait_for(lambda: len(s.rx.frames) == 3002, timeout=30)  # the one-event-a-frame timeline still gets each

    def test_json_frames_while_someone_listens(self, make: Callable[..., Setup]) -> None:
        """With a JSON listener, each event also goes out as ``<type> <JSON envelope>``."""
        s = make(json=True)
        s.bus.publish(e.TaskStarted(), source="t", task_id="x", durable=True)
        s.bus.publish(e.LlmChunk(request_id="r", text="hi"), source="t", durable=True)
        wait_for(lambda: len(s.rx_json.frames) == 2)
        decoded = [json.loads(f.partition(b" ")[2]) for f in s.rx_json.frames]
        assert [d["seq"] for d in decoded] == [1, 2]
        assert decoded[1]["event"] == {"type": "llm.chunk", "request_id": "r", "text": "hi"}
        assert [f.partition(b" ")[0] for f in s.rx_json.frames] == [b"task.started", b"llm.chunk"]

    def test_a_socket_nobody_follows_is_not_sent_to(self, make: Callable[..., Setup]) -> None:
        """One-event frames go out only while a pipe is on that socket; the batch timeline keeps its follower."""
        s = make()
        sent: list[int] = []
        send_frames = s.timeline._send_frames
        s.timeline._send_frames = lambda frames: (sent.extend(f[0] for f in frames), send_frames(frames))  # type: ignore[method-assign]
        s.bus.publish(e.TaskStarted(), source="t", task_id="x", durable=True)
        wait_for(lambda: len(s.rx.frames) == 1)
        s.rx.close()
        wait_for(lambda: not s.pub.pipes)
        s.bus.publish(e.TaskFinished(answer="ok"), source="t", task_id="x", durable=True)
        wait_for(lambda: s.batch_seqs() == [1, 2])
        assert sent == [1]

    def test_a_closed_timeline_takes_nothing(self, make: Callable[..., Setup]) -> None:
        """After close, offers are ignored and the sender has returned."""
        s = make()
        s.timeline.close()
        s.sender.join(5)
        assert not s.sender.is_alive()
        s.bus.publish(e.TaskStarted(), source="t", task_id="x", durable=True)
        assert not s.timeline._batches


class TestWhatClientsSee:
    def test_requests_go_on_past_a_stuck_listener_and_say_so(
        self, short_tmp: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A listener that never returns delays each request by SETTLE_S at most, logged once a while."""
        from structlog.testing import capture_logs

        from greenroom.runtime import replay

        monkeypatch.setattr(replay, "SETTLE_S", 0.05)
        monkeypatch.setattr(replay, "SETTLE_WARN_S", 1e9)  # the clock: a second warning is never due
        monkeypatch.setattr(replay, "_STUCK", replay._StuckListeners())
        journal = Journal(short_tmp / "j.sqlite")
        bus, release = Bus(journal), threading.Event()
        bus.add_listener(lambda records: release.wait(30))
        bus.publish(e.TaskStarted(), source="t", task_id="x")  # the writer commits it, then sticks
        wait_for(lambda: journal.head == 1)
        with capture_logs() as logs:
            assert replay.settled_head(bus) == 1
            assert replay.settled_head(bus) == 1
        release.set()
        bus.close()
        journal.close()
        assert [(log["event"], log["head"], log["durable"]) for log in logs] == [("listeners_stuck", 1, 0)]

    def test_a_task_seen_finished_on_the_timeline_reads_finished(self, short_tmp: Path, daemon_factory: Any) -> None:
        """The timeline leaves before the task index folds a commit, and requests wait for the fold: a client
        that sees task.finished reads it finished."""
        d = daemon_factory(make_config(short_tmp, write_script(short_tmp / "s.json", {"plan": answer("done")})))
        bus, fold = d.runtime.bus, d.runtime.tasks.apply

        def slow_fold(records: list[Any]) -> None:  # an index slow to fold the finish: `task` must wait
            if any(isinstance(r.envelope.event, e.TaskFinished) for r in records):
                time.sleep(0.3)
            fold(records)

        bus._listeners = [(slow_fold if fn == fold else fn, types) for fn, types in bus._listeners]
        with d.client() as c:
            # Live before the task starts, so task.finished comes over the timeline (the replay path has
            # its own test below: test_a_replay_waits_for_the_index_to_fold_what_it_serves).
            start = bus.head + 1
            bus.publish(e.LlmChunk(request_id="marker", text="live"), source="test", durable=True)
            stream = c.follow(from_seq=start)
            assert next(stream) is not None
            sub = c.submit("say done")
            for env in stream:
                if env is not None and env.task_id == sub.task_id and isinstance(env.event, e.TaskFinished):
                    assert c.task(sub.task_id).status == "finished"
                    break
            stream.close()

    def test_a_replay_waits_for_the_index_to_fold_what_it_serves(self, short_tmp: Path, daemon_factory: Any) -> None:
        """A replay that serves task.finished answers only once the task index folded it."""
        d = daemon_factory(make_config(short_tmp, write_script(short_tmp / "s.json", {"plan": answer("done")})))
        bus, fold = d.runtime.bus, d.runtime.tasks.apply
        committed = threading.Event()

        def slow_fold(records: list[Any]) -> None:  # an index slow to fold the finish
            if any(isinstance(r.envelope.event, e.TaskFinished) for r in records):
                committed.set()
                time.sleep(0.5)
            fold(records)

        bus._listeners = [(slow_fold if fn == fold else fn, types) for fn, types in bus._listeners]
        # Both clients said hello before the finish: a hello waits for the index too, and must not
        # be what makes the replay late. The status is read in the process: a `task` request would wait.
        with d.client() as c, d.client() as other:
            sub = c.submit("say done")
            wait_for(committed.is_set, timeout=60)  # task.finished is in the journal; the index is folding it
            events = other.replay(sub.seq, limit=5000).events
            status = d.runtime.tasks.get(sub.task_id).status
        assert any(isinstance(env.event, e.TaskFinished) for env in events)
        assert status == "finished"

    def test_an_event_seen_on_the_timeline_can_be_replayed_at_once(self, short_tmp: Path, daemon_factory: Any) -> None:
        """A replay of what a client just saw returns it, though the commit's last listeners still run."""
        d = daemon_factory(make_config(short_tmp, write_script(short_tmp / "s.json", {"plan": answer("done")})))

        def slow_last(records: list[Any]) -> None:  # the bus counts the batch durable only after this
            if any(isinstance(r.envelope.event, e.TaskFinished) for r in records):
                time.sleep(0.3)

        d.runtime.bus.add_listener(slow_last)
        with d.client() as c:
            sub = c.submit("say done")
            for env in c.follow(from_seq=sub.seq, task_id=sub.task_id):
                if isinstance(env.event, e.TaskFinished):
                    assert [x.seq for x in c.replay(env.seq, env.seq).events] == [env.seq]
                    break
