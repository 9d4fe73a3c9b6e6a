"""Batch frames: the journal's bodies behind one array header, read back in one call; hostile frames are errors."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from greenroom.bus import DecodeError, Envelope, encode_envelope
from greenroom.bus import events as e
from greenroom.bus.batch_frames import BATCH_TOPIC, batch_frames, decode_batch, encode_batch
from tests.strategies import values_of


def _body(seq: int, text: str = "word ") -> bytes:
    return encode_envelope(Envelope(seq=seq, ts=1.5, source="llm", event=e.LlmChunk(request_id="r", text=text)))


class TestRoundTrip:
    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(values_of(Envelope), max_size=6))
    def test_any_envelopes_come_back_as_sent(self, envs: list[Envelope]) -> None:
        """Every event type, any field values: a frame of their journal bytes decodes to the same envelopes."""
        assert decode_batch(encode_batch([encode_envelope(env) for env in envs])) == envs

    @pytest.mark.parametrize("n", [0, 1, 15, 16, 65535, 65536])
    def test_every_array_header_size(self, n: int) -> None:
        """Counts at msgpack's header boundaries (fixarray, array 16, array 32) decode to exactly n envelopes."""
        body = _body(7)
        got = decode_batch(encode_batch([body] * n))
        assert len(got) == n
        assert all(env.seq == 7 for env in got)

    def test_the_frame_is_the_topic_then_the_bodies_as_they_are(self) -> None:
        """The frame holds each body byte for byte: nothing is decoded or re-encoded on the daemon's side."""
        bodies = [_body(1), _body(2, "x" * 40)]
        frame = encode_batch(bodies)
        assert frame.startswith(BATCH_TOPIC)
        assert frame.endswith(bodies[0] + bodies[1])
        raws = msgspec.msgpack.decode(frame[len(BATCH_TOPIC) :], type=list[msgspec.Raw])
        assert [bytes(raw) for raw in raws] == bodies


class TestSplitting:
    @settings(max_examples=80, deadline=None)
    @given(
        st.lists(st.integers(min_value=0, max_value=300), max_size=40),
        st.integers(min_value=1, max_value=8),
        st.integers(min_value=1, max_value=600),
    )
    def test_frames_keep_order_and_bounds(self, sizes: list[int], max_events: int, max_bytes: int) -> None:
        """Cut anyhow, the frames hold every event once, in order, within both bounds (a big event alone)."""
        bodies = [_body(seq, "x" * size) for seq, size in enumerate(sizes, start=1)]
        frames = list(batch_frames(bodies, max_events=max_events, max_bytes=max_bytes))
        decoded = [decode_batch(frame) for frame in frames]
        assert [env.seq for batch in decoded for env in batch] == list(range(1, len(sizes) + 1))
        for batch in decoded:
            assert 1 <= len(batch) <= max_events
            if len(batch) > 1:
                assert sum(len(encode_envelope(env)) for env in batch) <= max_bytes

    def test_no_bodies_no_frames(self) -> None:
        """An empty batch sends nothing."""
        assert list(batch_frames([])) == []


class TestHostileFrames:
    @settings(max_examples=300, deadline=None)
    @given(st.binary(max_size=300))
    def test_any_bytes_are_envelopes_or_a_decode_error(self, body: bytes) -> None:
        """Whatever follows the topic, the decoder returns envelopes or raises DecodeError, nothing else."""
        error = ""
        try:
            got = decode_batch(BATCH_TOPIC + body)
        except DecodeError as exc:
            error = str(exc)
        else:
            assert all(isinstance(env, Envelope) for env in got)
        assert not error or error.startswith("invalid batch frame: ")

    @settings(max_examples=100, deadline=None)
    @given(st.lists(st.integers(min_value=1, max_value=50), min_size=1, max_size=5), st.data())
    def test_truncated_frames_are_decode_errors(self, seqs: list[int], data: st.DataObject) -> None:
        """A valid frame cut short anywhere in its body is a DecodeError, never a shorter list."""
        frame = encode_batch([_body(seq) for seq in seqs])
        cut = data.draw(st.integers(min_value=len(BATCH_TOPIC), max_value=len(frame) - 1))
        with pytest.raises(DecodeError, match="invalid batch frame"):
            decode_batch(frame[:cut])

    @pytest.mark.parametrize(
        "frame",
        [b"", b"batch.v1", b"batch.v2 \x90", b"llm.chunk " + _body(1), b"\x91" + _body(1)],
        ids=["empty", "no-space", "other-version", "event-frame", "no-topic"],
    )
    def test_frames_without_the_topic_are_refused_by_name(self, frame: bytes) -> None:
        """A frame that is not ``batch.v1 …`` is refused, saying which topic was expected."""
        with pytest.raises(DecodeError, match="not a batch frame"):
            decode_batch(frame)

    @pytest.mark.parametrize(
        "body",
        [
            b"\xdd\xff\xff\xff\xff",  # claims 4 billion envelopes, holds none
            b"\x91" * 100_000,  # nested arrays, 100,000 deep
            b"\x81\xa3seq\x01",  # a map, not an array
            b"\x91\x80",  # an envelope without its fields
            b"\x91" + _body(1)[:-1] + b"\xc1",  # a byte msgpack never uses
            msgspec.msgpack.encode([{"seq": 1, "ts": 1.0, "source": "x", "event": {"type": "no.such.event"}}]),
        ],
        ids=["huge-count", "deep", "map", "empty-envelope", "reserved-byte", "unknown-event"],
    )
    def test_malformed_bodies_name_the_problem(self, body: bytes) -> None:
        """Lies about sizes, deep nesting, wrong shapes and unknown events are DecodeErrors with msgspec's reason."""
        with pytest.raises(DecodeError, match=r"invalid batch frame: .+"):
            decode_batch(BATCH_TOPIC + body)
