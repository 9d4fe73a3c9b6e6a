"""Clients attached to a real daemon: identical timelines, late replay, slow clients heal."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import anyio
import pynng
import pytest

from greenroom.bus import Envelope, encode
from greenroom.bus import events as e
from greenroom.bus import protocol as p
from greenroom.bus.batch_frames import BATCH_TOPIC, decode_batch
from greenroom.clients import AsyncClient, Client, DaemonNotRunningError
from greenroom.clients.remote import open_timeline
from tests.conftest import call, finish, make_config, plan, wait_for, write_script


@pytest.fixture
def daemon(short_tmp: Path, daemon_factory: Any) -> Any:
    script = write_script(
        short_tmp / "s.json",
        {
            "plan": plan("note it"),
            "step:1:round:1": call(("memory.remember", {"text": "the answer is 42"})),
            "step:1:round:2": finish("noted"),
            "answer": "Noted.",
        },
    )
    return daemon_factory(make_config(short_tmp, script))


def follow_in_thread(
    client: Client, first: int, last: e.Event, batched: bool = True
) -> tuple[threading.Thread, list[Envelope], threading.Event]:
    """Follow from ``first`` on a started thread until ``last`` comes: the thread, what came, and
    an event set once the first envelope came."""
    got: list[Envelope] = []
    live = threading.Event()

    def follow() -> None:
        for env in client.follow(from_seq=first, batched=batched):
            assert env is not None
            got.append(env)
            live.set()
            if env.event == last:
                return

    thread = threading.Thread(target=follow)
    thread.start()
    return thread, got, live


def collect_until(
    client: Client, stop: Any, from_seq: int | None = None, out: list[Envelope] | None = None
) -> list[Envelope]:
    got = out if out is not None else []
    stream = client.follow(from_seq=from_seq)
    try:
        for env in stream:
            assert env is not None
            got.append(env)
            if stop(env):
                return got
    finally:
        stream.close()
    return got


def finished(env: Envelope) -> bool:
    return isinstance(env.event, e.TaskFinished)


class TestAttachedClients:
    def test_two_clients_see_identical_timelines_and_either_may_confirm(self, daemon: Any) -> None:
        """Both clients see the same events; a confirmation answered by B resumes the task and A sees it."""
        a, b = daemon.client("a"), daemon.client("b")
        seen_a: list[Envelope] = []
        seen_b: list[Envelope] = []
        start = a.status().head + 1
        threads = [
            threading.Thread(target=collect_until, args=(a, finished, start, seen_a)),
            threading.Thread(target=collect_until, args=(b, finished, start, seen_b)),
        ]
        for t in threads:
            t.start()
        task_id = a.submit("remember the answer").task_id

        def pending() -> Any:
            return daemon.runtime.tasks.get(task_id).confirmations

        (conf,) = wait_for(pending)
        b.confirm(conf.confirmation_id, approved=True)
        for t in threads:
            t.join(20)
        assert [env.seq for env in seen_a] == [env.seq for env in seen_b]
        assert seen_a == seen_b
        answered = [env.event for env in seen_a if isinstance(env.event, e.ConfirmationAnswered)]
        assert answered == [e.ConfirmationAnswered(confirmation_id=conf.confirmation_id, approved=True, client="b")]
        seqs = [env.seq for env in seen_a]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
        a.close()
        b.close()

    def test_late_client_replays_from_zero(self, daemon: Any) -> None:
        """A client attaching after the fact replays the whole timeline from seq 0."""
        with daemon.client() as c:
            task_id = c.submit("remember").task_id

            (conf,) = wait_for(lambda: daemon.runtime.tasks.get(task_id).confirmations)
            c.confirm(conf.confirmation_id, approved=True)
            wait_for(lambda: daemon.runtime.tasks.get(task_id).status == "finished")
        with daemon.client("late") as late:
            got = collect_until(late, finished, from_seq=0)
        assert [env.seq for env in got] == list(range(1, len(got) + 1))
        assert isinstance(got[0].event, e.DaemonStarted)
        assert got[-1].task_id == task_id

    @pytest.mark.parametrize("batched", [False, True], ids=["event-frames", "batch-frames"])
    def test_slow_client_heals_gaps_and_never_slows_others(self, daemon: Any, batched: bool) -> None:
        """A client that stops reading during a burst loses frames at nng, then replays them;
        a fast client and the bus are unaffected (one event a frame, and batch frames: there
        each event is committed alone, so each is a frame and the burst overflows nng too)."""
        n = 24000 if batched else 60000
        bus = daemon.runtime.bus
        chunk = e.LlmChunk(request_id="burst", text="x")
        first = bus.head + 1
        last = first + n  # a warm-up event, then the burst
        sent_all = threading.Event()
        timeline = daemon.gateway.timeline
        stalled_through_the_burst: list[bool] = []
        fast_started = threading.Event()
        slow_started = threading.Event()
        fast_seen: list[int] = []
        slow_seen: list[int] = []
        slow_client = daemon.client("slow")
        fast_client = daemon.client("fast")

        def fast() -> None:
            for env in fast_client.follow(from_seq=first, batched=batched):
                assert env is not None
                fast_seen.append(env.seq)
                fast_started.set()
                if env.seq == last:
                    return

        def slow() -> None:
            stream = slow_client.follow(from_seq=first, batched=batched)
            for env in stream:
                assert env is not None
                if not slow_seen:
                    slow_started.set()
                    # Stop reading until the timeline has handed the whole burst to nng (publishing
                    # only queues it): a sender that waited for this reader would never get there.
                    stalled_through_the_burst.append(sent_all.wait(120))
                slow_seen.append(env.seq)
                if env.seq == last:
                    return

        threads = [threading.Thread(target=fast), threading.Thread(target=slow)]
        for t in threads:
            t.start()
        # Both clients must be attached live (past their initial replay) before the burst:
        # the warm-up event reaches both, and the slow one then stops reading.
        bus.publish(chunk, source="test")
        assert fast_started.wait(10)
        assert slow_started.wait(10)
        for _ in range(n):
            bus.publish(chunk, source="test", durable=batched)
        wait_for(lambda: timeline.sent >= last, 120)  # a sender blocked on the stalled reader never gets there
        sent_all.set()
        for t in threads:
            t.join(120)
        assert fast_seen == list(range(first, last + 1))
        assert slow_seen == list(range(first, last + 1))
        assert stalled_through_the_burst == [True]
        assert slow_client.healed > 0, "the burst should have overflowed the slow client's buffers"
        slow_client.close()
        fast_client.close()


class TestBatchTimeline:
    def test_follow_reads_batch_frames_over_ipc(self, daemon: Any) -> None:
        """Over ipc the hello names the batch timeline, and a batched follower's socket gets ``batch.v1`` frames."""
        with daemon.client() as c:
            assert c.hello is not None
            sock, batched = open_timeline(c.hello, "", "test", 10_000, batched=True)
            with sock:
                assert batched
                wait_for(lambda: daemon.gateway.timeline._pub_batch.pipes)  # the daemon sends to it now
                task_id = c.submit("batched").task_id
                envs = decode_batch(sock.recv())
            plain, batched = open_timeline(c.hello, "", "test", 10_000, batched=False)
            plain.close()
            assert not batched
        assert any(env.task_id == task_id and isinstance(env.event, e.TaskSubmitted) for env in envs)

    def test_an_unreadable_batch_frame_is_healed_from_the_journal(self, daemon: Any) -> None:
        """A batch frame that does not decode is skipped, and the events it should have carried are replayed."""
        bus, timeline = daemon.runtime.bus, daemon.gateway.timeline
        client = daemon.client("mangled")
        first = bus.head + 1

        def chunk(text: str) -> Envelope:
            return bus.publish(e.LlmChunk(request_id="mangled", text=text), source="test", durable=True)

        thread, got, live = follow_in_thread(client, first, e.LlmChunk(request_id="mangled", text="after"))
        chunk("before")
        assert live.wait(10)
        # The next event never reaches the batch timeline; a frame that cannot be read comes instead.
        bus.remove_listener(timeline.offer)
        missed = chunk("lost")
        bus.add_listener(timeline.offer, first=True)  # as the gateway adds it
        timeline._pub_batch.send(BATCH_TOPIC + b"\xc1 not msgpack")
        chunk("after")
        thread.join(30)
        client.close()
        assert [env.seq for env in got] == list(range(first, got[-1].seq + 1))
        ours = [env for env in got if isinstance(env.event, e.LlmChunk) and env.event.request_id == "mangled"]
        assert [env.event.text for env in ours] == ["before", "lost", "after"]  # type: ignore[attr-defined]
        assert ours[1].seq == missed.seq
        assert client.healed >= 1

    @pytest.mark.parametrize("batched", [False, True], ids=["event-frames", "batch-frames"])
    def test_a_dropped_last_event_is_replayed_when_the_timeline_goes_quiet(self, daemon: Any, batched: bool) -> None:
        """No later frame reveals a dropped tail: the follower replays when nothing arrives."""
        bus, timeline = daemon.runtime.bus, daemon.gateway.timeline
        client = daemon.client("tail")
        first = bus.head + 1
        thread, got, live = follow_in_thread(client, first, e.LlmChunk(request_id="tail", text="lost"), batched)
        bus.publish(e.LlmChunk(request_id="tail", text="seen"), source="test", durable=True)
        assert live.wait(10)
        bus.remove_listener(timeline.offer)  # the last event never reaches any timeline socket
        missed = bus.publish(e.LlmChunk(request_id="tail", text="lost"), source="test", durable=True)
        bus.add_listener(timeline.offer, first=True)
        thread.join(30)
        client.close()
        assert not thread.is_alive(), "the dropped last event never came"
        assert got[-1].seq == missed.seq
        assert client.healed >= 1

    def test_an_async_follower_replays_a_dropped_last_event(self, daemon: Any) -> None:
        """``AsyncClient.follow`` heals a dropped tail too (it used to wait for the next frame forever)."""
        bus, timeline = daemon.runtime.bus, daemon.gateway.timeline
        first = bus.head + 1
        seen = e.LlmChunk(request_id="atail", text="seen")
        lost = e.LlmChunk(request_id="atail", text="lost")

        async def main() -> tuple[list[Envelope], int]:
            got: list[Envelope] = []
            async with AsyncClient(daemon.config.runtime_dir) as client:
                with anyio.fail_after(30):
                    async for env in client.follow(from_seq=first):
                        got.append(env)
                        if env.event == seen:
                            bus.remove_listener(timeline.offer)
                            bus.publish(lost, source="test", durable=True)
                            bus.add_listener(timeline.offer, first=True)
                        if env.event == lost:
                            return got, client.healed
            raise AssertionError("unreachable")

        bus.publish(seen, source="test", durable=True)
        got, healed = anyio.run(main)
        assert [env.seq for env in got] == list(range(first, got[-1].seq + 1))
        assert healed >= 1


class TestNoDaemon:
    def test_clear_error_when_no_daemon_runs(self, short_tmp: Path) -> None:
        """Connecting without a daemon raises DaemonNotRunningError naming the socket and the fix."""
        with pytest.raises(DaemonNotRunningError, match=r"greenroom daemon"):
            Client(short_tmp).connect()


class TestContextReuse:
    def test_a_late_reply_never_answers_the_next_request(self, short_tmp: Path) -> None:
        """A request that timed out leaves no reply behind for the next one (its context is not reused)."""
        url = f"ipc://{short_tmp}/control.ipc"
        with pynng.Rep0(listen=url) as rep:
            stalled = threading.Event()

            def server() -> None:
                ctx = rep.new_context()
                hello = ctx.recv()  # the hello: answered at once
                ctx.send(encode(p.HelloReply(protocol=1, server="stub", pid=1, head=0, timeline="", timeline_json="")))
                ctx.recv()  # the first status: answered only after the client gave up
                stalled.wait(10)
                ctx.send(encode(p.ErrorReply(code="internal", message="late")))
                ctx.recv()  # the second status: answered at once
                ctx.send(encode(_status(head=42)))
                assert hello

            thread = threading.Thread(target=server)
            thread.start()
            with Client(short_tmp, timeout=0.3) as client:
                with pytest.raises(DaemonNotRunningError):
                    client.status()
                stalled.set()
                assert client.status().head == 42
            thread.join(10)

    def test_threads_share_a_client(self, daemon: Any) -> None:
        """Requests from several threads on one client each get their own reply."""
        with daemon.client() as c:
            ids = [c.submit(f"goal {i}", time.time() + 3600).task_id for i in range(8)]
            seen: dict[str, str] = {}

            def ask(task_id: str) -> None:
                for _ in range(20):
                    seen[task_id] = c.task(task_id).task_id

            threads = [threading.Thread(target=ask, args=(t,)) for t in ids]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
        assert seen == {t: t for t in ids}


def _status(head: int) -> p.StatusReply:
    return p.StatusReply(
        version="x", pid=1, uptime_s=0, head=head, tasks={}, actors={}, model="m", model_loaded=False, rss_bytes=0
    )


class TestAsyncClient:
    def test_async_follow_replays_then_goes_live(self, daemon: Any) -> None:
        """The async client replays history, then follows live events, in order."""
        import anyio

        from greenroom.clients import AsyncClient

        async def main() -> list[Envelope]:
            async with AsyncClient(daemon.config.runtime_dir) as client:
                first = (await client.submit("before")).task_id
                got: list[Envelope] = []
                saw_first, saw_after = anyio.Event(), anyio.Event()
                async with anyio.create_task_group() as tg:

                    async def follow() -> None:
                        async for env in client.follow(from_seq=1):
                            got.append(env)
                            if env.task_id == first:
                                saw_first.set()
                            if isinstance(env.event, e.TaskSubmitted) and env.event.goal == "after":
                                saw_after.set()
                                return

                    tg.start_soon(follow)
                    with anyio.fail_after(10):
                        await saw_first.wait()
                        await client.submit("after")
                        await saw_after.wait()
                return got

        got = anyio.run(main)
        seqs = [env.seq for env in got]
        assert seqs == list(range(1, len(seqs) + 1))
        assert isinstance(got[-1].event, e.TaskSubmitted)
        assert got[-1].event.goal == "after"


def test_generate_streams_chunks_on_the_timeline(short_tmp: Path, daemon_factory: Any, tiny_model: Path) -> None:
    """A generation outside tasks: its chunks reach a follower, in order, before the finished event."""
    d = daemon_factory(make_config(short_tmp, None, "llm.backend='mlx'", f'llm.model="{tiny_model}"'))
    with d.client() as client:
        head = client.status().head
        reply = client.generate([("user", "hello")], max_tokens=16, purpose="bench")
        events = [env.event for env in client.replay(head + 1).events]
    assert reply.request_id.startswith("-:bench:")
    chunks = [ev.text for ev in events if isinstance(ev, e.LlmChunk) and ev.request_id == reply.request_id]
    finished = [ev for ev in events if isinstance(ev, e.LlmFinished)]
    assert "".join(chunks) == reply.text == finished[0].text
    assert finished[0].generated_tokens == 16
