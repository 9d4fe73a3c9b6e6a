"""A bounded fuzz loop against a real daemon process, over its ipc control socket.

Batches of hostile frames (random bytes, truncated requests, frames nested up to
100,000 deep, wrong-typed fields, unknown ops and fields, in JSON and msgpack,
before and after hello) each get an error reply that names the problem, never
``internal``; a frame that happens to be a valid request gets its proper reply.
Frames over the limit are dropped unread. After each batch the daemon answers
``status``; at the end it is alive, its RSS is small, and its journal decodes
row by row.

The loop is bounded by a count of frames and by a wall-clock budget, whichever
comes first; the budget only stops further batches, no assertion depends on it.
"""

from __future__ import annotations

import json
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import psutil
import pynng
import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from greenroom.bus import Codec, DecodeError, Journal, decode_envelope, detect_format, encode
from greenroom.bus import events as e
from greenroom.bus import protocol as p
from tests.conftest import cli_flags, plan, write_script
from tests.strategies import values_of

pytestmark = pytest.mark.slow

MAX_BATCHES = 100
MAX_FRAMES = 60
"""At most MAX_BATCHES * MAX_FRAMES frames in the loop."""
MIN_BATCHES = 4
"""Run whatever the clock says, so a slow machine still fuzzes."""
BUDGET_S = 30.0
"""No batch starts after this: the whole test stays near a minute on a loaded machine."""
REPLY_TIMEOUT_MS = 20_000
"""A frame not answered within this is a hang (the daemon answers in milliseconds)."""
DROP_WAIT_MS = 1_000
"""How long an oversized frame, which nng drops unread, is given to be answered anyway."""
RSS_LIMIT = 200 * 2**20

SAFE_OPS = frozenset(
    {
        "hello", "status", "tasks", "task", "replay", "tools", "policy", "policy_test", "cancel", "confirm",
        "preview", "schedules", "schedule", "journal_stats", "plugins", "mcp_list", "mcp_show", "token_list",
        "generate_cancel", "model_unload", "chats", "chat", "chat_export", "models",
    }
)  # fmt: skip
"""Ops whose valid requests may be sent as they are: they read, or name things that do not exist.
A hostile frame that decodes to any other op (shutdown, reset, mcp_add, submit, ...) is not sent."""

_requests: Codec[p.Request] = Codec(p.Request)
_replies: Codec[p.Reply] = Codec(p.Reply)
HELLO = encode(p.Hello(protocol=p.PROTOCOL_VERSION, client="fuzz"))
TOO_DEEP = "nested too deeply"
DEEP = 500
"""Nesting from which decoding may fail or not depending on the decoding thread's stack (msgspec
counts it against Python's recursion limit): here the test's own decode and the daemon's may differ."""
STATUS = encode(p.Status())

# -- hostile frames -------------------------------------------------------------------------


class Frame(bytes):
    """Frame bytes whose repr names the kind and shows only the start (failing batches get printed)."""

    kind: str
    depth: int
    """How deep its values nest (0: shallow)."""

    def __new__(cls, data: bytes, kind: str, depth: int = 0) -> Frame:
        frame = super().__new__(cls, data)
        frame.kind = kind
        frame.depth = depth
        return frame

    def __repr__(self) -> str:
        return f"<{self.kind} frame, {len(self)} bytes: {bytes(self[:48])!r}{'...' if len(self) > 48 else ''}>"


TEXT = st.one_of(
    st.text(max_size=16),
    st.sampled_from(["", "a\x00b", "x" * 3000, "../../etc/passwd", "\u202eevil", "%s%n", "t-00000000"]),
)
FORMATS = st.sampled_from(["json", "msgpack"])
REQUESTS = st.one_of([values_of(cls, TEXT) for cls in p.Request.__args__])  # type: ignore[attr-defined]
HUGE = [2**63, 2**64 - 1, -(2**63)]
"""Ints at msgpack's edges (msgpack holds nothing bigger)."""


def hostile_values(fmt: str) -> st.SearchStrategy[Any]:
    """Values of every wrong type: null, bools, huge ints, NaN, lists for dicts, dicts for strings, ..."""
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**63), 2**64 - 1),
        st.sampled_from(HUGE),
        st.floats(allow_nan=True, allow_infinity=True),
        TEXT,
    )
    if fmt == "json":  # bare NaN/Infinity, 40-digit ints, a lone surrogate: what a careless JSON writer sends
        scalars = st.one_of(scalars, st.sampled_from([10**40, -(10**30), float("nan"), float("-inf"), "\ud800"]))
    else:  # bin, ext, and a str that is not UTF-8
        invalid_str = msgspec.Raw(b"\xa3\xff\xfe\x00")
        ext = st.builds(msgspec.msgpack.Ext, st.integers(-128, 127), st.binary(max_size=8))
        scalars = st.one_of(scalars, st.binary(max_size=8), ext, st.just(invalid_str))
    return st.recursive(
        scalars,
        lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)),
        max_leaves=6,
    )


def _encode(obj: Any, fmt: str) -> bytes:
    return json.dumps(obj).encode() if fmt == "json" else msgspec.msgpack.encode(obj)


@st.composite
def random_bytes(draw: st.DrawFn) -> Frame:
    body = draw(st.binary(max_size=400))
    return Frame(draw(st.sampled_from([b"", b"{", b"\x81", b"\xde\xff\xff"])) + body, "random")


@st.composite
def truncated(draw: st.DrawFn) -> Frame:
    frame = encode(draw(REQUESTS), draw(FORMATS))  # type: ignore[arg-type]
    return Frame(frame[: draw(st.integers(0, len(frame) - 1))], "truncated")


@st.composite
def wrong_typed(draw: st.DrawFn) -> Frame:
    fmt = draw(FORMATS)
    values = hostile_values(fmt)
    obj: Any = msgspec.to_builtins(draw(REQUESTS))
    match draw(st.sampled_from(["retype", "retype", "unknown", "drop", "nulls", "op", "not_a_map"])):
        case "retype":
            obj[draw(st.sampled_from(sorted(obj)))] = draw(values)
        case "unknown":
            keys = st.text(max_size=8) if fmt == "json" else st.one_of(st.text(max_size=8), st.integers(-5, 5))
            obj.update(draw(st.dictionaries(keys, values, min_size=1, max_size=3)))
        case "drop":
            del obj[draw(st.sampled_from(sorted(obj)))]
        case "nulls":
            obj = {k: None if k != "op" else v for k, v in obj.items()}
        case "op":
            obj["op"] = draw(st.one_of(st.text(max_size=12), values))
        case _:
            obj = draw(values)
    return Frame(_encode(obj, fmt), "wrong-typed")


def nest(fmt: str, container: str, depth: int) -> bytes:
    """A value ``depth`` containers deep (an empty list at the bottom)."""
    if fmt == "json":
        opener, closer = ("[", "]") if container == "list" else ('{"a":', "}")
        return (opener * depth + "[]" + closer * depth).encode()
    head = b"\x91" if container == "list" else b"\x81\xa1a"  # fixarray of one / fixmap of one
    return head * depth + b"\x90"


def with_value(fmt: str, fields: dict[str, Any], key: str, raw: bytes) -> bytes:
    """``fields`` plus ``key`` holding the already-encoded ``raw``, as one map."""
    if fmt == "json":
        return (
            json.dumps(fields).encode()[:-1] + (b", " if fields else b"") + json.dumps(key).encode() + b":" + raw + b"}"
        )
    return bytes([0x80 | (len(fields) + 1)]) + msgspec.msgpack.encode(fields)[1:] + msgspec.msgpack.encode(key) + raw


PLACES: dict[str, tuple[dict[str, Any], str]] = {
    "unknown field": ({"op": "status"}, "x"),
    "unknown field of hello": ({"op": "hello", "protocol": 1, "client": "c"}, "extra"),
    "policy args": ({"op": "policy_test", "tool": "fs.read"}, "args"),
    "string field": ({"op": "submit"}, "goal"),
    "op": ({}, "op"),
}


@st.composite
def nested(draw: st.DrawFn) -> Frame:
    fmt = draw(FORMATS)
    depth = draw(st.one_of(st.integers(2, 999), st.integers(1_000, 5_000), st.sampled_from([10_000, 100_000])))
    raw = nest(fmt, draw(st.sampled_from(["list", "map"])), depth)
    place = draw(st.sampled_from([*PLACES, "whole frame"]))
    kind = f"nested {depth} deep ({place})"
    if place == "whole frame":
        return Frame(raw if fmt == "msgpack" or raw[:1] == b"{" else b"{" + raw, kind, depth)  # JSON starts with {
    fields, key = PLACES[place]
    return Frame(with_value(fmt, fields, key, raw), kind, depth)


FRAMES = st.one_of(random_bytes(), truncated(), wrong_typed(), nested())
ISSUE_REPROS = [
    Frame(b'{"op":"status","x":' + b"[" * 1000 + b"]" * 1000 + b"}", "issue #9 json", 1000),
    Frame(b"\x82\xa2op\xa6status\xa1x" + b"\x91" * 3000 + b"\xc0", "issue #9 msgpack", 3000),
    Frame(b'{"op":"hello","protocol":1,"x":' + b"[" * 1000 + b"]" * 1000 + b"}", "issue #9 hello", 1000),
]
"""The frames of issue #9 that stopped the daemon."""

# -- talking to the daemon ------------------------------------------------------------------


def local_decode(frame: bytes) -> p.Request | str:
    """The request ``frame`` holds, or why it holds none."""
    try:
        return _requests.decode(frame)[0]
    except DecodeError as exc:
        return str(exc)


def sendable(frame: bytes) -> bool:
    """Not a valid request of an op that would act (shutdown, reset, mcp_add, ...)."""
    request = local_decode(frame)
    return isinstance(request, str) or request.__struct_config__.tag in SAFE_OPS


def check_reply(frame: Frame, raw: bytes, greeted: bool) -> bool:
    """Assert ``raw`` is the right answer to ``frame``; whether the connection is greeted after it."""
    reply, fmt = _replies.decode(raw)  # every answer is a protocol reply, in the request's format
    assert fmt == detect_format(frame or b"\x00"), (frame, raw[:200])
    if isinstance(reply, p.ErrorReply):
        assert reply.code != "internal", (frame, reply.message)
        assert reply.message, frame
    request = local_decode(frame)
    if frame.depth >= DEEP:
        if isinstance(reply, p.ErrorReply) and reply.code == "bad_request" and TOO_DEEP in reply.message:
            return greeted
        if isinstance(request, str) and TOO_DEEP in request:  # the daemon's shallower stack decoded it
            return greeted or isinstance(reply, p.HelloReply)
    if isinstance(request, str):
        assert isinstance(reply, p.ErrorReply), (frame, request, reply)
        assert reply.code == "bad_request", (frame, request, reply)
    elif isinstance(request, p.Hello):
        assert isinstance(reply, p.HelloReply) or (isinstance(reply, p.ErrorReply) and reply.code == "version")
        return greeted or isinstance(reply, p.HelloReply)
    elif not greeted:
        assert isinstance(reply, p.ErrorReply), (frame, reply)
        assert reply.code == "hello_required", (frame, reply)
    return greeted


@dataclass
class Target:
    """The daemon under fuzz and what the loop saw of it."""

    proc: psutil.Process
    url: str
    frames: int = 0
    max_rss: int = 0
    kinds: set[str] = field(default_factory=set)

    def socket(self, timeout_ms: int = REPLY_TIMEOUT_MS) -> pynng.Req0:
        return pynng.Req0(dial=self.url, recv_timeout=timeout_ms, send_timeout=REPLY_TIMEOUT_MS)

    def send_batch(self, frames: list[Frame], greeted: bool) -> None:
        with self.socket() as req:
            if greeted:
                req.send(HELLO)
                assert isinstance(_replies.decode(req.recv())[0], p.HelloReply)
            for frame in frames:
                req.send(bytes(frame))
                try:
                    raw = req.recv()
                except pynng.Timeout:
                    pytest.fail(f"no reply within {REPLY_TIMEOUT_MS} ms to {frame[:200]!r}")
                greeted = check_reply(frame, raw, greeted)
                self.frames += 1
                self.kinds.add(frame.kind.split()[0])

    def still_serving(self) -> p.StatusReply:
        """``status`` on a fresh connection answers; the process runs and stays small."""
        assert self.proc.is_running(), "the daemon exited"
        assert self.proc.status() != psutil.STATUS_ZOMBIE, "the daemon exited"
        with self.socket() as req:
            req.send(HELLO)
            req.recv()
            req.send(STATUS)
            status = _replies.decode(req.recv())[0]
        assert isinstance(status, p.StatusReply), status
        self.max_rss = max(self.max_rss, self.proc.memory_info().rss)
        return status


@pytest.fixture
def target(short_tmp: Path, daemon_process: Any) -> tuple[Target, Any]:
    script = write_script(short_tmp / "script.json", {"plan": plan("x")})
    daemon = daemon_process(short_tmp, cli_flags(short_tmp, script)).start(timeout=60)
    assert daemon.proc is not None
    return Target(psutil.Process(daemon.proc.pid), f"ipc://{daemon.runtime_dir / 'control.ipc'}"), daemon


class TestGatewayFuzz:
    @pytest.mark.timeout(300)
    def test_hostile_frames_never_stop_hang_or_bloat_the_daemon(self, target: tuple[Target, Any]) -> None:
        """Random, truncated, nested, wrong-typed and oversized frames get clear errors or are dropped; the daemon serves on."""
        t, daemon = target
        with daemon.client() as c:
            assert c.hello is not None
            limit = c.hello.max_frame_bytes
        started = time.monotonic()
        batches = 0

        @settings(
            max_examples=MAX_BATCHES,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],  # no shrinking (bounded); the failing batch is reported
            suppress_health_check=list(HealthCheck),
        )
        @given(frames=st.lists(FRAMES, min_size=MAX_FRAMES // 3, max_size=MAX_FRAMES), greeted=st.booleans())
        @example(frames=ISSUE_REPROS, greeted=False)
        @example(frames=ISSUE_REPROS, greeted=True)
        def batch(frames: list[Frame], greeted: bool) -> None:
            nonlocal batches
            if batches >= MIN_BATCHES and time.monotonic() - started > BUDGET_S:
                return
            batches += 1
            t.send_batch([f for f in frames if sendable(f)], greeted)
            t.still_serving()

        batch()
        self.oversized(t, limit)
        assert t.max_rss < RSS_LIMIT, f"RSS reached {t.max_rss / 2**20:.0f} MiB"
        assert t.kinds >= {"random", "truncated", "wrong-typed", "nested"}, t.kinds

        assert daemon.kill(signal.SIGTERM) == 0, "the daemon stopped cleanly"
        journal = Journal(daemon.root / "data" / "journal.sqlite")
        try:
            envs = [decode_envelope(body) for *_, body in journal.read_rows()]  # every row decodes
        finally:
            journal.close()
        assert [env.seq for env in envs] == list(range(1, len(envs) + 1))
        crashes = [env.event for env in envs if isinstance(env.event, e.ActorCrashed | e.Error)]
        assert crashes == [], "no request crashed a handler or an actor"

    @staticmethod
    def oversized(t: Target, limit: int) -> None:
        """Frames over the limit are dropped unread (or refused), before and after hello; one at it is answered."""
        head, tail = b'{"op":"status","pad":"', b'"}'
        at_limit = head + b"x" * (limit - len(head) - len(tail)) + tail
        with t.socket() as req:
            req.send(HELLO)
            req.recv()
            req.send(at_limit)
            reply = _replies.decode(req.recv())[0]  # a frame of exactly the advertised limit is served
        assert isinstance(reply, p.StatusReply), reply
        for size, greeted in [(limit + 1, False), (limit + 1, True), (16 * 2**20, False), (64 * 2**20, True)]:
            with t.socket(DROP_WAIT_MS) as req:
                if greeted:
                    req.send(HELLO)
                    req.recv()
                frame = b'{"op":"status","x":"' + b"x" * (size - 22) + b'"}'
                assert len(frame) == size
                req.send(frame)
                try:
                    reply = _replies.decode(req.recv())[0]
                except pynng.Timeout:
                    pass  # dropped by nng before it was read: the expected answer is none
                else:
                    assert isinstance(reply, p.ErrorReply), reply
                    assert reply.code == "too_large", reply
            t.still_serving()
