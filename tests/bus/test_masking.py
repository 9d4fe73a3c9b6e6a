"""Secret masking on the bus: on decoded values, so no journaled row can ever be corrupted."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from greenroom.bus import Bus, Journal, MarkerScan, decode_envelope, map_strings
from greenroom.bus import events as e
from greenroom.policy.guards import SecretMasker, redact
from tests.strategies import event_classes, secret_strings, values_of

ALL_EVENTS = st.one_of([values_of(cls, secret_strings()) for cls in event_classes()])


def journaled(path: Path, events: list[Any]) -> list[bytes]:
    """Publish ``events`` through a real bus with the daemon's masker; the journal's raw bodies."""
    journal = Journal(path)
    bus = Bus(journal, mask=SecretMasker())
    try:
        for ev in events:
            bus.publish(ev, source="test", task_id="t-1")
        bus.flush()
    finally:
        bus.close()
        journal.close()
    conn = sqlite3.connect(path)
    try:
        return [body for (body,) in conn.execute("SELECT body FROM events ORDER BY seq")]
    finally:
        conn.close()


class TestMaskingOnTheBus:
    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(events=st.lists(ALL_EVENTS, min_size=1, max_size=8))
    def test_every_row_decodes_whatever_the_secrets(self, tmp_path_factory: Any, events: list[Any]) -> None:
        """Events of every type, with secrets at every position of every string, journal as decodable rows."""
        rows = journaled(tmp_path_factory.mktemp("j") / "j.sqlite", events)
        assert len(rows) == len(events)
        masker = SecretMasker()
        for raw, original in zip(rows, events, strict=True):
            stored = decode_envelope(raw).event
            assert type(stored) is type(original)
            assert stored == map_strings(original, masker), "what is stored is exactly the masked event"

    def test_issue_repro_task_goal_and_redacted_memory_text(self, tmp_path: Path) -> None:
        """The two events that used to poison the journal now store decodable, masked rows."""
        goal = e.TaskSubmitted(goal="deploy it with token=abc123def")
        stored = e.MemoryStored(item_id="m-1", text=redact("the wifi password: hunter2222")[0], tags=["wifi"])
        rows = journaled(tmp_path / "j.sqlite", [goal, stored])
        first, second = (decode_envelope(raw).event for raw in rows)
        assert isinstance(first, e.TaskSubmitted)
        assert first.goal == "deploy it with token=[REDACTED:password]"
        assert isinstance(second, e.MemoryStored)
        assert second.text == "the wifi password: [REDACTED:password]"
        assert second.tags == ["wifi"]
        assert b"abc123def" not in b"".join(rows)

    def test_secrets_in_nested_values_are_masked(self, tmp_path: Path) -> None:
        """Strings inside lists and dicts (tool arguments) are masked too; keys are left alone."""
        ev = e.ToolRequested(
            call_id="c", tool="web.fetch", args={"headers": ["Authorization: token=abcdef123"]}, step=1, round=1
        )
        (raw,) = journaled(tmp_path / "j.sqlite", [ev])
        stored = decode_envelope(raw).event
        assert isinstance(stored, e.ToolRequested)
        assert stored.args == {"headers": ["Authorization: token=[REDACTED:password]"]}

    def test_an_event_that_cannot_be_encoded_becomes_an_error_event(self, tmp_path: Path) -> None:
        """A value nested too deeply for the encoder is journaled as an error event; the bus goes on."""
        deep: Any = "x"
        for _ in range(5000):
            deep = [deep]
        rows = journaled(
            tmp_path / "j.sqlite",
            [e.ToolRequested(call_id="c", tool="t", args={"a": deep}, step=1, round=1), e.TaskStarted()],
        )
        first, second = (decode_envelope(raw).event for raw in rows)
        assert isinstance(first, e.Error)
        assert first.code == "unencodable_event"
        assert "tool.requested" in first.message
        assert second == e.TaskStarted()


class TestMapStrings:
    def test_unchanged_values_are_the_same_objects(self) -> None:
        """Nothing to mask: the very same object comes back (no copy on the hot path)."""
        ev = e.ToolResult(call_id="c", tool="fs.read", ok=True, output="plain", redacted=["a"])
        assert map_strings(ev, SecretMasker()) is ev

    def test_struct_lists_dicts_and_tuples_are_walked(self) -> None:
        """Every string is reached: in nested structs, lists, tuples and dict values."""
        ev = e.TaskPlanned(revision=0, steps=[e.PlanStep(intent="a", tools=["b"])])
        out = map_strings(ev, str.upper)
        assert out == e.TaskPlanned(revision=0, steps=[e.PlanStep(intent="A", tools=["B"])], reason="")
        assert map_strings({"k": ("x", 1)}, str.upper) == {"k": ("X", 1)}
        assert msgspec.msgpack.decode(msgspec.msgpack.encode(out), type=e.TaskPlanned) == out


MARKERS = SecretMasker().markers


def _pieces() -> st.SearchStrategy[bytes]:
    """Bytes that may hold markers, in any ASCII case, next to anything (NULs included)."""
    marker = st.sampled_from(MARKERS).flatmap(
        lambda m: st.sampled_from([m, m.upper(), m.capitalize(), m[:-1]])  # m[:-1]: almost a marker
    )
    return st.lists(st.one_of(st.binary(max_size=6), marker), max_size=5).map(b"".join)


class TestMarkerScan:
    @settings(max_examples=300, deadline=None)
    @given(raws=st.lists(_pieces(), max_size=12))
    def test_it_finds_exactly_the_events_holding_a_marker(self, raws: list[bytes]) -> None:
        """One pass over the joined batch flags the same events as a marker-by-marker check of each."""
        expected = [i for i, raw in enumerate(raws) if any(m in raw.lower() for m in MARKERS)]
        assert MarkerScan(MARKERS)(raws) == expected

    @settings(max_examples=200, deadline=None)
    @given(raws=st.lists(_pieces(), max_size=12), size=st.integers(min_value=1, max_value=4))
    def test_slices_find_the_same_events(self, raws: list[bytes], size: int) -> None:
        """Scanning a slice of events at a time flags the same events, at the right indexes."""

        class Small(MarkerScan):
            SLICE = size

        assert Small(MARKERS)(raws) == MarkerScan(MARKERS)(raws)

    @settings(max_examples=200, deadline=None)
    @given(raws=st.lists(_pieces(), max_size=12), most=st.sampled_from([1, 3, 12, 40, 1000]))
    def test_any_prefix_budget_finds_the_same_events(self, raws: list[bytes], most: int) -> None:
        """However short the first pass's prefixes (or none fit the budget), the events flagged are the same."""

        class Budget(MarkerScan):
            PREFIXES = most

        expected = [i for i, raw in enumerate(raws) if any(m in raw.lower() for m in MARKERS)]
        assert Budget(MARKERS)(raws) == expected

    def test_a_prefix_alone_flags_nothing(self) -> None:
        """An event holding only the start of a marker (``token`` without ``=``) passes the first pass, not the check."""
        assert MarkerScan(MARKERS)([b"prompt_tokens", b"a tokenizer", b"token=x", b"TOKEN: y"]) == [2, 3]

    def test_a_marker_never_spans_two_events(self) -> None:
        """The end of one event and the start of the next do not make a marker together."""
        assert MarkerScan([b"token"])([b"xxto", b"kenxx"]) == []
        assert MarkerScan([b"token"])([b"to", b"ken", b"a TOKEN"]) == [2]

    def test_no_markers_flags_nothing(self) -> None:
        """A masker without markers (or an empty batch) costs nothing and flags nothing."""
        assert MarkerScan([])([b"token"]) == []
        assert MarkerScan(MARKERS)([]) == []

    def test_only_flagged_events_are_walked(self, tmp_path: Path) -> None:
        """A batch of plain chunks is journaled as encoded; the one event with a secret is masked."""
        plain = [e.LlmChunk(request_id="r", text=f"word {i}") for i in range(50)]
        secret = e.LlmChunk(request_id="r", text="token=abc123def")
        rows = journaled(tmp_path / "j.sqlite", [*plain, secret])
        assert [decode_envelope(r).event for r in rows[:50]] == plain
        assert decode_envelope(rows[50]).event == e.LlmChunk(request_id="r", text="token=[REDACTED:password]")

    def test_a_flagged_event_without_a_secret_keeps_its_bytes(self, tmp_path: Path, monkeypatch: Any) -> None:
        """An event that holds a marker but nothing to mask is walked and journaled as first encoded."""
        import greenroom.bus.bus as bus_module

        encoded: list[Any] = []
        real = bus_module.encode_envelope
        monkeypatch.setattr(bus_module, "encode_envelope", lambda env: encoded.append(env.event) or real(env))
        events = [e.LlmChunk(request_id="r", text="token: short"), e.LlmChunk(request_id="r", text="token=abc123def")]
        rows = journaled(tmp_path / "j.sqlite", events)
        assert decode_envelope(rows[0]).event == events[0]
        assert encoded == [e.LlmChunk(request_id="r", text="token=[REDACTED:password]")]  # only the masked one
