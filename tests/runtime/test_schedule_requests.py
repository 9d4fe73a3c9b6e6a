"""Hostile schedule and watch requests: every one gets a reply, none stops the daemon."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from greenroom.bus import protocol as p
from greenroom.bus.codec import Codec, encode
from tests.conftest import make_config

_replies: Codec[p.Reply] = Codec(p.Reply)

_values = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), st.floats(), st.text(max_size=40),
    st.lists(st.text(max_size=20), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(-(2**63), 2**63 - 1), max_size=2),
)  # fmt: skip
_ops = st.sampled_from(
    ["schedule_add", "schedules", "schedule", "schedule_pause", "schedule_resume", "schedule_rm", "schedule_run",
     "memory_watch", "memory_watches", "memory_unwatch"]
)  # fmt: skip
_fields = st.sampled_from(
    ["goal", "cron", "every_s", "tz", "catch_up", "start", "max_failures", "schedule_id", "removed", "paths",
     "path", "tags"]
)  # fmt: skip


class TestHostileRequests:
    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(op=_ops, body=st.dictionaries(_fields, _values, max_size=5))
    def test_random_requests_get_a_reply(self, short_tmp: Path, daemon_factory: Any, op: str, body: dict) -> None:
        """Any field values (wrong types, junk zones, NUL bytes) get a typed reply, never an internal error."""
        paths = body.get("paths")
        # A real folder would be watched and ingested for real: that path is tested elsewhere.
        assume(not (op == "memory_watch" and isinstance(paths, list) and any(str(x).startswith("/") for x in paths)))
        daemon = getattr(self, "_daemon", None)
        if daemon is None:
            daemon = self._daemon = daemon_factory(make_config(short_tmp))
            daemon.gateway.handle_frame(encode(p.Hello(protocol=p.PROTOCOL_VERSION)), 1)
        frame = msgspec.msgpack.encode({"op": op, **body})
        reply, _ = _replies.decode(daemon.gateway.handle_frame(frame, 1))
        if isinstance(reply, p.ErrorReply):
            assert reply.code in ("bad_request", "not_found", "conflict"), reply.message
        with daemon.client() as c:
            assert c.status().pid > 0
