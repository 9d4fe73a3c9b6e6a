"""Structured outputs cut by their token cap: a direct answer or a verdict's reason is kept as far as it got."""

from __future__ import annotations

import json

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greenroom.actors.base import CallFailed
from greenroom.actors.planner import _decode_route
from greenroom.actors.schemas import VerdictOutput, decode_output
from greenroom.bus.events import LlmFinished


def encodings(obj: dict[str, str]) -> list[str]:
    """The JSON a constrained decoder may write: characters as they are, or every one escaped."""
    return [msgspec.json.encode(obj).decode(), json.dumps(obj, ensure_ascii=True)]


class TestCutVerdicts:
    @settings(max_examples=300, deadline=None)
    @given(
        verdict=st.sampled_from(["accept", "retry", "replan"]),
        reason=st.text(min_size=1, max_size=40),
        where=st.floats(min_value=0, max_value=1),
        escaped=st.booleans(),
    )
    def test_a_reason_cut_anywhere_keeps_the_verdict_and_a_prefix(
        self, verdict: str, reason: str, where: float, escaped: bool
    ) -> None:
        """Wherever in the reason the cap cut, the verdict is whole and the reason is its beginning."""
        text = encodings({"verdict": verdict, "reason": reason})[escaped]
        start = text.index('"reason"') + len('"reason": "') if escaped else text.index('"reason":"') + len('"reason":"')
        cut = text[: start + int(where * (len(text) - 2 - start))]
        out = decode_output(cut, VerdictOutput, "verdict", cut=True)
        assert out.verdict == verdict
        assert reason.startswith(out.reason)

    def test_without_the_cap_a_cut_output_still_fails(self) -> None:
        """Output that did not stop at the cap and does not parse is a failure, as before."""
        with pytest.raises(CallFailed):
            decode_output('{"verdict": "accept", "reason": "fi', VerdictOutput, "verdict")

    def test_a_cut_verdict_word_fails(self) -> None:
        """A verdict cut inside its own word is no verdict."""
        with pytest.raises(CallFailed):
            decode_output('{"verdict": "acc', VerdictOutput, "verdict", cut=True)


def finished(text: str, stop_reason: str = "length") -> LlmFinished:
    return LlmFinished(request_id="r", purpose="plan", text=text, stop_reason=stop_reason)


class TestCutAnswers:
    def test_a_chinese_answer_cut_by_the_cap_is_kept(self) -> None:
        """A direct answer in a script of two tokens a character is kept as far as it got."""
        out = _decode_route(finished('{"answer": "巴黎是法国的首都也是法国最大'), route=True)
        assert out.answer == "巴黎是法国的首都也是法国最大"
        assert out.steps == []

    def test_cut_steps_are_refused(self) -> None:
        """A plan cut inside its steps fails: half a step is not something to do."""
        with pytest.raises(CallFailed):
            _decode_route(finished('{"steps": [{"do": "read the fi'), route=True)

    def test_only_a_cap_is_forgiven(self) -> None:
        """Output that stopped for another reason, or a full plan (not a route), is not closed."""
        with pytest.raises(CallFailed):
            _decode_route(finished('{"answer": "Paris', stop_reason="stop"), route=True)
        with pytest.raises(CallFailed):
            _decode_route(finished('{"answer": "Paris'), route=False)
