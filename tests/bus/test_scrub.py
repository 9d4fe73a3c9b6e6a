"""Scrubbing forgotten text out of journaled events: in place, on decoded values, across chunk pieces."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from greenroom.bus import Bus, Journal, read_envelopes
from greenroom.bus import events as e
from greenroom.bus.scrub import MARKER, Scrubber, candidates, checkpoint, rewrite, rewrite_chunks
from tests.strategies import event_classes, values_of

NOTE = "the spare key for the boathouse hangs behind the tide chart"
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
NOTES = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=8, max_size=80).filter(
    lambda t: len(t.strip()) >= 8
)


def file_bytes(root: Path) -> bytes:
    return b"".join(p.read_bytes() for p in root.rglob("*") if p.is_file())


class TestScrubber:
    def test_a_quote_in_any_form_is_replaced(self) -> None:
        """As written, JSON-quoted (both escapes), and cut short at a string's end or a truncation mark."""
        quoted = NOTE + ' "and" ünïcode\nline'
        s = Scrubber([quoted])
        assert s(f"I stored: {quoted}. ok") == f"I stored: {MARKER}. ok"
        assert MARKER in s(json.dumps({"text": quoted}))
        assert MARKER in s(json.dumps({"text": quoted}, ensure_ascii=False))
        assert s("said: " + quoted[:40]) == "said: " + MARKER
        assert s("said: " + quoted[:40] + "\n[... truncated at 40 bytes]").startswith("said: " + MARKER)

    def test_a_note_flattened_to_one_line_is_replaced(self) -> None:
        """memory.used, a prompt's memories and chat titles show a note on one line, maybe cut short with '…'."""
        note = "the spare key for the boathouse\n  hangs behind the tide chart\tin the shed"
        flat = " ".join(note.split())
        s = Scrubber([note])
        assert s(flat) == MARKER
        assert s(f"It is written down: {flat}. Nothing else.") == f"It is written down: {MARKER}. Nothing else."
        assert s(flat[:40] + "…") == MARKER + "…"
        assert MARKER in s(json.dumps({"text": flat}))
        assert Scrubber(["a\n\n\n\n\n\n\nb"])("a b c") == "a b c", "a flattened form under MIN_QUOTE is no needle"

    @settings(max_examples=200, deadline=None)
    @given(
        words=st.lists(st.text(alphabet="abcdefghij", min_size=1, max_size=8), min_size=3, max_size=10),
        gaps=st.lists(st.sampled_from([" ", "\n", "  ", "\t", " \n "]), min_size=10, max_size=10),
        before=TEXT,
    )
    def test_no_flattened_form_survives(self, words: list[str], gaps: list[str], before: str) -> None:
        """Whatever whitespace a note had, its one-line form is gone from a string that quotes it."""
        note = "".join(w + g for w, g in zip(words, gaps, strict=False)).strip()
        flat = " ".join(note.split())
        if len(flat) < 8:
            return
        assert flat not in Scrubber([note])(before + " " + flat + " end")

    def test_other_text_is_left_alone(self) -> None:
        """A string that merely shares a prefix in the middle, or a short word, is not touched."""
        s = Scrubber([NOTE])
        other = "the spare key for the boathouse hangs behind the door, said Ann"
        assert s(other) is other
        assert Scrubber(["milk"])("buy milk") == "buy milk"
        assert Scrubber(["milk"])(" milk ") == f" {MARKER} "

    def test_fixed_words_are_never_rewritten(self) -> None:
        """A Literal field (a decision, a verdict) keeps its value even when a forgotten text equals it."""
        decided = e.ToolDecided(call_id="c", tool="fs.write", decision="allow", rule="allow", reason="allow")
        scrubbed = Scrubber(["allow"]).event(decided)
        assert (scrubbed.decision, scrubbed.rule, scrubbed.reason) == ("allow", MARKER, MARKER)

    @settings(max_examples=200, deadline=None)
    @given(note=NOTES, before=TEXT, after=TEXT)
    def test_no_form_of_the_note_survives(self, note: str, before: str, after: str) -> None:
        """Whatever surrounds it, the note (as written or JSON-quoted) is gone from the result."""
        s = Scrubber([note])
        for form in (note, json.dumps(note)[1:-1], json.dumps(note, ensure_ascii=False)[1:-1]):
            assert note.strip() not in s(before + form + after) or note.strip() in (before + after)

    @settings(max_examples=200, deadline=None)
    @given(note=NOTES, before=TEXT, after=TEXT, cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=12))
    def test_pieces_scrub_like_the_whole(self, note: str, before: str, after: str, cuts: list[int]) -> None:
        """Split anywhere, the pieces scrub to exactly what the whole text scrubs to."""
        whole = before + note + after
        points = sorted({min(c, len(whole)) for c in cuts})
        pieces = [whole[a:b] for a, b in zip([0, *points], [*points, len(whole)], strict=True)]
        s = Scrubber([note])
        assert "".join(s.pieces(pieces)) == s(whole)
        assert len(s.pieces(pieces)) == len(pieces)

    @settings(max_examples=40, deadline=None)
    @given(texts=st.lists(NOTES, min_size=20, max_size=40), pick=st.integers(min_value=0, max_value=19))
    def test_many_texts_take_the_scan_path_and_agree(self, texts: list[str], pick: int) -> None:
        """With many texts (a forgotten folder) the one-pass scan finds what the per-text search finds."""
        many = Scrubber(texts)
        few = Scrubber([texts[pick]])
        probe = "x " + texts[pick] + " y"
        assert texts[pick].strip() not in many(probe)
        assert few(probe) != probe


def _journal(path: Path) -> list[int]:
    """A task that stored the note, recalled it, quoted it across chunk pieces, and answered with it."""
    journal = Journal(path)
    bus = Bus(journal)
    pub = lambda ev, task="t-1": bus.publish(ev, source="test", task_id=task).seq  # noqa: E731
    seqs = [
        pub(e.TaskSubmitted(goal="remember where the key is")),
        pub(e.ConfirmationAsked(confirmation_id="c-1", question=f"Allow memory.remember with {json.dumps({'text': NOTE})}?", tool="memory.remember", args={"text": NOTE})),
        pub(e.MemoryStored(item_id="m-1", text=NOTE)),
        pub(e.ToolResult(call_id="t-1:1:1:0", tool="memory.recall", ok=True, output=f"- [m-1] (note) {NOTE}")),
    ]
    words = ("I found it: " + NOTE + ". Done.").split(" ")
    seqs += [pub(e.LlmChunk(request_id="t-1:answer", text=w + " ")) for w in words]
    seqs.append(pub(e.LlmFinished(request_id="t-1:answer", purpose="answer", text=" ".join(words) + " ")))
    seqs.append(pub(e.TaskFinished(answer=f"It is here: {NOTE}")))
    seqs.append(pub(e.TaskSubmitted(goal="unrelated"), task="t-2"))
    bus.close()
    journal.close()
    return seqs


class TestRewritingTheJournal:
    def test_every_quote_is_scrubbed_in_place_and_leaves_no_bytes(self, tmp_path: Path) -> None:
        """Events keep their seqs and decode; the note's bytes are in no file once the WAL is checkpointed."""
        path = tmp_path / "j.sqlite"
        seqs = _journal(path)
        assert NOTE.encode() in file_bytes(tmp_path)
        journal = Journal(path)
        s = Scrubber([NOTE])
        found = candidates(journal.reader(), s, 1, None)
        done = journal.maintain(lambda conn: rewrite(conn, s, found))
        chunks = journal.maintain(lambda conn: rewrite_chunks(conn, s, "t-1"))
        journal.maintain(checkpoint)
        envs = read_envelopes(journal)
        journal.close()
        assert [env.seq for env in envs] == seqs, "nothing moved, nothing vanished"
        assert not journal.corrupt
        assert done.tasks == {"t-1"}
        assert chunks, "the quote spread over pieces was cut too"
        joined = "".join(env.event.text for env in envs if isinstance(env.event, e.LlmChunk))
        assert joined == "I found it: " + MARKER + ". Done. "
        assert NOTE.encode() not in file_bytes(tmp_path)
        assert NOTE[:24].encode() not in file_bytes(tmp_path)
        assert envs[-1].event.goal == "unrelated"

    @settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(texts=st.lists(NOTES, min_size=20, max_size=30, unique=True), picks=st.sets(st.integers(0, 19), max_size=5))
    def test_many_texts_find_the_same_rows_as_each_alone(
        self, tmp_path_factory: Any, texts: list[str], picks: set[int]
    ) -> None:
        """With a folder's worth of texts (the one-pass scan) the candidate rows are those each text finds."""
        journal = Journal(tmp_path_factory.mktemp("j") / "j.sqlite")
        bus = Bus(journal)
        for i in range(20):
            answer = f"It says: {texts[i]}." if i in picks else f"nothing {i}"
            bus.publish(e.TaskFinished(answer=answer), source="test", task_id=f"t-{i}")
            bus.publish(e.LlmChunk(request_id="r", text=texts[i]), source="test", task_id=f"t-{i}")
        bus.close()
        many = candidates(journal.reader(), Scrubber(texts), 1, None)
        each = sorted({seq for t in texts for seq in candidates(journal.reader(), Scrubber([t]), 1, None)})
        journal.close()
        assert len(Scrubber(texts).forms) > 16, "the one-pass path"
        assert many == each
        assert len(many) >= len(picks)

    def test_a_corrupt_row_holding_the_text_becomes_its_placeholder(self, tmp_path: Path) -> None:
        """Undecodable bytes that hold the note are replaced by the error placeholder readers already got."""
        path = tmp_path / "j.sqlite"
        _journal(path)
        conn = sqlite3.connect(path)
        with conn:
            conn.execute("UPDATE events SET body = ? WHERE seq = 3", [b"\x82\xa3seq" + NOTE.encode()])
        conn.close()
        journal = Journal(path)
        s = Scrubber([NOTE])
        done = journal.maintain(lambda conn: rewrite(conn, s, candidates(journal.reader(), s, 1, None)))
        journal.maintain(checkpoint)
        envs = read_envelopes(journal)
        journal.close()
        assert 3 in done.seqs
        assert len(envs) == 22
        assert isinstance(envs[2].event, e.Error)
        assert envs[2].event.code == "corrupt_event"
        assert NOTE.encode() not in file_bytes(tmp_path)

    @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(events=st.lists(st.one_of([values_of(cls, st.sampled_from(["", NOTE, "x " + NOTE, "plain"])) for cls in event_classes()]), min_size=1, max_size=8))
    def test_any_event_still_decodes_after_a_scrub(self, tmp_path_factory: Any, events: list[Any]) -> None:
        """Whatever event held the note, its scrubbed row decodes as the same type and seq."""
        root = tmp_path_factory.mktemp("j")
        journal = Journal(root / "j.sqlite")
        bus = Bus(journal)
        for ev in events:
            bus.publish(ev, source="test", task_id="t-1")
        bus.close()
        s = Scrubber([NOTE])
        journal.maintain(lambda conn: rewrite(conn, s, candidates(journal.reader(), s, 1, None)))
        envs = read_envelopes(journal)
        journal.close()
        assert not journal.corrupt
        assert [type(env.event) for env in envs] == [type(ev) for ev in events]
