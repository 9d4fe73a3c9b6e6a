"""The control and timeline sockets, with real nng sockets and a real daemon."""

from __future__ import annotations

import json
import math
import stat
import threading
from pathlib import Path
from typing import Any

import anyio
import msgspec
import pynng
import pytest

from greenroom.bus import encode
from greenroom.bus import protocol as p
from greenroom.clients import AsyncClient, RequestTooLargeError, ServerError
from tests.conftest import make_config, plan, wait_for, write_script


@pytest.fixture
def daemon(short_tmp: Path, daemon_factory: Any) -> Any:
    script = write_script(short_tmp / "s.json", {"plan": plan("x"), "answer": "ok"})
    return daemon_factory(make_config(short_tmp, script, "gateway.max_frame_bytes=4096"))


def raw_request(daemon: Any, *frames: bytes) -> list[bytes]:
    """Send frames on one connection (hello first) and return the replies."""
    with pynng.Req0(dial=daemon.gateway.control_url, recv_timeout=5000) as req:
        replies = []
        for frame in frames:
            req.send(frame)
            replies.append(req.recv())
        return replies


HELLO = encode(p.Hello(protocol=p.PROTOCOL_VERSION, client="raw"))


class TestControlSocket:
    def test_socket_and_dir_are_private(self, daemon: Any) -> None:
        """The control socket is mode 0600 inside a 0700 runtime dir."""
        rdir = daemon.config.runtime_dir
        assert stat.S_IMODE(rdir.stat().st_mode) == 0o700
        for name in ("control.ipc", "timeline.ipc", "timeline-json.ipc"):
            assert stat.S_IMODE((rdir / name).stat().st_mode) == 0o600, name

    @pytest.mark.parametrize(
        ("frame", "code", "needle"),
        [
            (b"\x00\xff garbage \x13\x37", "bad_request", "invalid msgpack"),
            (b"{definitely not json", "bad_request", "invalid json"),
            (b'{"type": "ok"}', "bad_request", "missing required field `op`"),
            (b'{"op": "explode"}', "bad_request", "Invalid value 'explode'"),
            (b'{"op": "submit", "goal": 42}', "bad_request", "Expected `str`"),
            (b'{"op": "submit", "goal": "   "}', "bad_request", "goal is empty"),
            (b'{"op": "task", "task_id": "t-nope"}', "not_found", "no task"),
            (
                b'{"op": "confirm", "confirmation_id": "c-nope", "approved": true}',
                "not_found",
                "no pending",
            ),
            # Found by tests/runtime/test_gateway_fuzz.py: seqs beyond SQLite's range were `internal`.
            (
                b'{"op": "replay", "from_seq": 9223372036854775808}',
                "bad_request",
                "<= 9223372036854775807 - at `$.from_seq`",
            ),
            (b'{"op": "replay", "to_seq": -' + b"9" * 30 + b"}", "bad_request", "at `$.to_seq`"),
            (msgspec.msgpack.encode({"op": "replay", "from_seq": 2**64 - 1}), "bad_request", "at `$.from_seq`"),
            # ... and a run_at of NaN ran the task at once, infinity never.
            (
                msgspec.msgpack.encode({"op": "submit", "goal": "x", "run_at": math.nan}),
                "bad_request",
                "run_at must be",
            ),
            (msgspec.msgpack.encode({"op": "submit", "goal": "x", "run_at": math.inf}), "bad_request", "not inf"),
        ],
    )
    def test_bad_requests_get_error_replies_and_the_daemon_keeps_serving(
        self, daemon: Any, frame: bytes, code: str, needle: str
    ) -> None:
        """Garbage, wrong types and oversized frames get a clear error reply; the next request works."""
        _, reply, status = raw_request(daemon, HELLO, frame, b'{"op": "status"}')
        body = json.loads(reply) if reply[:1] == b"{" else msgspec.msgpack.decode(reply)
        assert body["type"] == "error"
        assert body["code"] == code
        assert needle in body["message"]
        assert json.loads(status)["type"] == "status"

    def test_oversized_frames_are_dropped_unread_and_the_client_library_says_why(self, daemon: Any) -> None:
        """A frame over the limit never reaches the daemon's memory; the library refuses it with the numbers."""
        with pynng.Req0(dial=daemon.gateway.control_url, recv_timeout=1500) as req:
            req.send(b'{"op": "submit", "goal": "' + b"x" * 5000 + b'"}')
            with pytest.raises(pynng.Timeout):
                req.recv()
        assert (
            json.loads(raw_request(daemon, b'{"op": "hello", "protocol": 1}', b'{"op": "status"}')[1])["type"]
            == "status"
        )
        with daemon.client() as c:
            assert c.hello is not None
            assert c.hello.max_frame_bytes == 4096
            with pytest.raises(
                RequestTooLargeError, match=r"the submit request is 5,0\d\d bytes; the daemon accepts at most 4,096"
            ):
                c.submit("x" * 5000)

    def test_a_frame_of_exactly_the_limit_is_served_and_one_byte_more_is_dropped(self, daemon: Any) -> None:
        """The advertised limit is the largest frame answered (nng's count includes the 4-byte request id)."""
        head, tail = b'{"op":"status","pad":"', b'"}'
        at_limit = head + b"x" * (4096 - len(head) - len(tail)) + tail
        assert json.loads(raw_request(daemon, HELLO, at_limit)[1])["type"] == "status"
        with pynng.Req0(dial=daemon.gateway.control_url, recv_timeout=1500) as req:
            req.send(at_limit[:-2] + b'x"}')
            with pytest.raises(pynng.Timeout):
                req.recv()
        with daemon.client() as c:
            goal = "x" * (4096 - len(encode(p.Submit(goal="x" * 300))) + 300)
            assert len(encode(p.Submit(goal=goal))) == 4096
            assert c.submit(goal).task_id  # what the library lets through, the daemon serves

    @pytest.mark.parametrize(
        "frame",
        [
            b'{"op":"status","x":' + b"[" * 1000 + b"]" * 1000 + b"}",
            b'{"op":"hello","protocol":1,"client":"c","extra":' + b"[" * 1900 + b"]" * 1900 + b"}",
            b"\x82\xa2op\xa6status\xa1x" + b"\x91" * 3000 + b"\xc0",
            b'{"op":"policy_test","tool":"fs.read","args":{"a":' + b"[" * 1900 + b"]" * 1900 + b"}}",
        ],
        ids=["json-unknown-field", "json-in-hello", "msgpack", "json-args"],
    )
    @pytest.mark.parametrize("greeted", [True, False], ids=["after-hello", "before-hello"])
    def test_deeply_nested_frames_are_bad_requests(self, daemon: Any, frame: bytes, greeted: bool) -> None:
        """A small frame nested thousands deep is answered bad_request, and the daemon keeps serving."""
        first = [HELLO] if greeted else []
        replies = raw_request(daemon, *first, frame, HELLO, b'{"op": "status"}')
        reply, status = replies[len(first)], replies[-1]
        body = json.loads(reply) if reply[:1] == b"{" else msgspec.msgpack.decode(reply)
        assert (body["type"], body["code"]) == ("error", "bad_request")
        assert "nested too deeply" in body["message"] or "invalid" in body["message"]
        assert json.loads(status)["type"] == "status"

    def test_a_crashing_request_is_journaled_and_answered_internal(
        self, daemon: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A handler that raises gets an internal reply and an error event; serving goes on."""

        def broken(*_args: Any, **_kwargs: Any) -> Any:
            raise ZeroDivisionError("injected")

        monkeypatch.setattr(daemon.runtime, "status", broken)
        _, reply = raw_request(daemon, b'{"op": "hello", "protocol": 1}', b'{"op": "status"}')
        assert json.loads(reply) == {
            "type": "error",
            "code": "internal",
            "message": "status failed: ZeroDivisionError: injected",
        }
        monkeypatch.undo()
        assert (
            json.loads(raw_request(daemon, b'{"op": "hello", "protocol": 1}', b'{"op": "status"}')[1])["type"]
            == "status"
        )
        with daemon.client() as c:  # the error event is journaled beside the reply, not before it: wait for it

            def journaled() -> bool:
                return any(getattr(ev.event, "code", "") == "request_crashed" for ev in c.replay(1).events)

            wait_for(journaled)

    def test_hello_comes_first(self, daemon: Any) -> None:
        """A request before hello is refused with hello_required."""
        (reply,) = raw_request(daemon, b'{"op": "status"}')
        assert json.loads(reply)["code"] == "hello_required"

    def test_wrong_protocol_version_is_refused(self, daemon: Any) -> None:
        """A client speaking another protocol version is told which one the daemon speaks."""
        (reply,) = raw_request(daemon, b'{"op": "hello", "protocol": 99}')
        body = json.loads(reply)
        assert body["code"] == "version"
        assert f"speaks {p.PROTOCOL_VERSION}" in body["message"]

    def test_json_clients_get_json(self, daemon: Any) -> None:
        """A shell tool can drive the daemon with JSON alone."""
        hello, submitted = raw_request(daemon, b'{"op": "hello", "protocol": 1}', b'{"op": "submit", "goal": "hi"}')
        assert json.loads(hello)["type"] == "hello"
        assert json.loads(submitted)["task_id"].startswith("t-")

    def test_concurrent_requests(self, daemon: Any) -> None:
        """Many requests in flight on one async client are all answered."""

        async def main() -> list[int]:
            async with AsyncClient(daemon.config.runtime_dir) as client:
                results: list[int] = []

                async def one() -> None:
                    results.append((await client.status()).pid)

                async with anyio.create_task_group() as tg:
                    for _ in range(30):
                        tg.start_soon(one)
                return results

        pids = anyio.run(main)
        assert len(pids) == 30
        assert len(set(pids)) == 1

    def test_replay_pages_and_filters(self, daemon: Any) -> None:
        """Replay returns ranges, by task, with a next_seq to continue from."""
        with daemon.client() as c:
            a = c.submit("a").task_id
            c.submit("b")
            page = c.replay(1, limit=2)
            assert [ev.seq for ev in page.events] == [1, 2]
            assert page.next_seq == 3
            only_a = c.replay(1, task_id=a)
            assert {ev.task_id for ev in only_a.events} == {a}
            assert only_a.next_seq == only_a.head + 1

    def test_server_errors_raise_in_the_client(self, daemon: Any) -> None:
        """The client library turns error replies into ServerError with the code."""
        with daemon.client() as c, pytest.raises(ServerError, match="no task") as info:
            c.task("t-missing")
        assert info.value.code == "not_found"


class TestShutdown:
    def test_a_shutdown_request_replies_then_stops_the_daemon_in_order(self, daemon: Any) -> None:
        """`shutdown` answers with the pid, then the daemon parks, closes its journal and returns from serve."""
        import os

        from greenroom.bus import decode_envelope
        from greenroom.bus import events as e
        from greenroom.bus.journal import Journal

        (_hello, reply) = raw_request(
            daemon, b'{"op": "hello", "protocol": 1, "client": "stopper"}', b'{"op": "shutdown"}'
        )
        assert json.loads(reply) == {"type": "stopping", "pid": os.getpid(), "running": 0}
        wait_for(daemon._future.done, timeout=30)
        daemon._future.result()  # serve returned cleanly
        journal = Journal(daemon.config.data_dir / "journal.sqlite")  # the daemon closed it: free to open
        try:
            kinds = [decode_envelope(raw).event for _, raw in journal.read(types=["daemon.stopping"])]
        finally:
            journal.close()
        assert kinds == [e.DaemonStopping(reason="shutdown asked by stopper")]


class TestTimeline:
    def test_json_timeline_for_shell_tools(self, daemon: Any) -> None:
        """The JSON timeline sends '<topic> <json>' frames, filterable by topic prefix."""
        connected = threading.Event()
        with pynng.Sub0(recv_timeout=5000) as sub:
            sub.add_post_pipe_connect_cb(lambda _pipe: connected.set())
            sub.subscribe(b"task.submitted ")
            sub.dial(daemon.gateway.timeline_json_url, block=True)
            assert connected.wait(5)
            # the daemon encodes JSON only while its socket has a pipe
            wait_for(lambda: daemon.gateway.timeline._pub_json.pipes)
            with daemon.client() as c:
                task_id = c.submit("json please").task_id
            topic, _, body = sub.recv().partition(b" ")
        assert topic == b"task.submitted"
        env = json.loads(body)
        assert env["task_id"] == task_id
        assert env["event"] == {
            "type": "task.submitted",
            "goal": "json please",
            "run_at": None,
            "client": "test",
            "schedule_id": "",
            "slot": None,
            "missed": [],
            "chat_id": "",
            "reminder": False,
        }
