from __future__ import annotations

import msgspec
import pytest

from greenroom.bus import (
    DecodeError,
    Envelope,
    decode_envelope,
    encode,
    encode_envelope,
    envelope_to_json,
)
from greenroom.bus import events as e
from greenroom.bus import protocol as p
from greenroom.bus.codec import Codec, detect_format


def _env(event: e.Event, seq: int = 1) -> Envelope:
    return Envelope(seq=seq, ts=1.5, source="test", event=event, task_id="t-1", causation_id=None)


class TestCodec:
    def test_envelope_round_trips_through_msgpack(self) -> None:
        """Every event type survives msgpack encoding inside an envelope."""
        samples: list[e.Event] = [
            e.TaskSubmitted(goal="g"),
            e.TaskPlanned(revision=0, steps=[e.PlanStep(intent="i", tools=["system.time"])]),
            e.ToolRequested(call_id="c", tool="fs.read", args={"path": "/x"}, step=1, round=1),
            e.ToolDecided(call_id="c", tool="fs.read", decision="ask", rule="r"),
            e.ConfirmationAsked(confirmation_id="c-1", question="ok?"),
            e.LlmFinished(request_id="r", purpose="plan", text="{}", generated_tokens=3),
            e.ActorCrashed(actor="critic", error="boom"),
        ]
        for i, ev in enumerate(samples, 1):
            env = _env(ev, i)
            assert decode_envelope(encode_envelope(env)) == env

    def test_json_frames_are_detected_and_decoded(self) -> None:
        """A frame starting with '{' is JSON; anything else is msgpack."""
        codec: Codec[p.Request] = Codec(p.Request)
        req, fmt = codec.decode(b'{"op": "submit", "goal": "hi"}')
        assert fmt == "json"
        assert req == p.Submit(goal="hi")
        req2, fmt2 = codec.decode(encode(p.Submit(goal="hi")))
        assert (req2, fmt2) == (p.Submit(goal="hi"), "msgpack")

    def test_msgpack_map_never_looks_like_json(self) -> None:
        """The format rule is unambiguous for msgpack maps."""
        assert detect_format(encode(p.Status())) == "msgpack"

    @pytest.mark.parametrize(
        ("frame", "needle"),
        [
            (b"", "empty"),
            (b"\xc1\xff\x00garbage", "invalid msgpack"),
            (b'{"op": "nope"}', "Invalid value 'nope'"),
            (b'{"op": "submit"}', "missing required field `goal`"),
            (b'{"op": "submit", "goal": 3}', "Expected `str`"),
            (b"{not json", "invalid json"),
        ],
    )
    def test_bad_frames_name_the_problem(self, frame: bytes, needle: str) -> None:
        """Bad frames raise DecodeError with a message saying what was wrong."""
        codec: Codec[p.Request] = Codec(p.Request)
        with pytest.raises(DecodeError, match=needle):
            codec.decode(frame)

    def test_envelope_json_is_plain_json(self) -> None:
        """The JSON form of an envelope is readable by any JSON library."""
        data = msgspec.json.decode(envelope_to_json(_env(e.TaskFinished(answer="42"), 7)))
        assert data["seq"] == 7
        assert data["event"] == {"type": "task.finished", "answer": "42", "cited": []}


class TestEvents:
    def test_events_are_frozen(self) -> None:
        """Events cannot be changed after creation."""
        ev = e.TaskSubmitted(goal="g")
        with pytest.raises(AttributeError):
            ev.goal = "other"  # type: ignore[misc]

    def test_new_fields_have_defaults(self) -> None:
        """Old frames without optional fields still decode (schema evolution)."""
        old = msgspec.json.encode(
            {"seq": 1, "ts": 0.0, "source": "x", "event": {"type": "task.submitted", "goal": "g"}}
        )
        env = msgspec.json.decode(old, type=Envelope)
        assert env.event == e.TaskSubmitted(goal="g", run_at=None, client="")
        assert env.task_id is None

    def test_tags_are_unique(self) -> None:
        """Every event type has its own wire tag."""
        tags = [t.__struct_config__.tag for t in e.Event.__args__]  # type: ignore[attr-defined]
        assert len(tags) == len(set(tags))
