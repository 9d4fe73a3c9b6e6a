"""Short follow-ups made whole from the question before them (``actors/followup.py``), as plain functions."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greenroom.actors.followup import MAX_CHARS, fill, resolve

CAPITAL = "What is the capital of France?"


class TestFollowUps:
    @pytest.mark.parametrize(
        ("message", "earlier", "whole"),
        [
            ("And of Germany?", [CAPITAL], "What is the capital of Germany?"),
            ("what about Spain?", [CAPITAL], "What is the capital of Spain?"),
            ("And the Netherlands?", [CAPITAL], "What is the capital of the Netherlands?"),
            ("and in Spanish?", ["How do you say hello in French?"], "How do you say hello in Spanish?"),
            ("And in London?", ["What time is it in Tokyo?"], "What time is it in London?"),
            ("And K2?", ["How tall is Mount Everest?"], "How tall is K2?"),
            ("and 3+3?", ["What is 2+2?"], "What is 3+3?"),
            ("do it again", ["what time is it?"], "what time is it?"),
            (
                "now do the same for last week",
                ["list the files in ~/notes"],
                "list the files in ~/notes for last week",
            ),
            ("ok, same for ~/work", ["summarise the notes in ~/notes"], "summarise the notes in ~/work"),
        ],
    )
    def test_a_short_follow_up_takes_the_question_before_it(self, message: str, earlier: list[str], whole: str) -> None:
        """What the follow-up names replaces its part of the previous question (or is added to it)."""
        assert resolve(message, earlier) == whole

    def test_follow_ups_chain(self) -> None:
        """A follow-up of a follow-up builds on the question the first one made."""
        assert resolve("And of Spain?", [CAPITAL, "And of Germany?"]) == "What is the capital of Spain?"

    @pytest.mark.parametrize(
        "message",
        [
            "When was he born?",
            "thanks!",
            "That's all",
            "And what is the capital of Italy?",
            "And tell me a joke",
            "Ok, Thank you!",
            "OK Great",
            "Well Done!",
            "And I see",
            "So I guess not",
            "now 2024",
            "What is the tallest mountain in the world?",
            "and",
            "",
        ],
    )
    def test_other_messages_stand_as_written(self, message: str) -> None:
        """A whole question, thanks or a new request is not read as a follow-up."""
        assert resolve(message, [CAPITAL]) is None

    def test_a_first_message_is_no_follow_up(self) -> None:
        """Without an earlier question there is nothing to take from."""
        assert resolve("And of Germany?", []) is None
        assert resolve("And of Germany?", ["   "]) is None

    @settings(max_examples=400, deadline=None)
    @given(st.text(max_size=300), st.lists(st.text(max_size=300), max_size=5))
    def test_any_text_resolves_to_a_bounded_question_or_none(self, message: str, earlier: list[str]) -> None:
        """Whatever is said, the result is None or a bounded, non-empty text (never an exception)."""
        got = resolve(message, earlier)
        assert got is None or (0 < len(got) <= MAX_CHARS)

    @settings(max_examples=300, deadline=None)
    @given(st.text(max_size=200), st.text(alphabet=st.characters(exclude_characters="/~."), max_size=60))
    def test_what_is_filled_in_is_kept(self, previous: str, slot: str) -> None:
        """The slot (without a path) is in the result whole, whatever the previous question."""
        slot = " ".join(slot.split())
        assert slot in fill(previous, slot)

    def test_a_long_message_is_nothing_to_build_on(self) -> None:
        """A follow-up of a long message stands as written (and costs no regex work on it)."""
        assert resolve("And of Germany?", ["What is the capital of " + "A " * 4000 + "France?"]) is None


class TestGroundingReadsTheWholeQuestion:
    def test_memory_is_searched_for_the_follow_up_made_whole(self) -> None:
        """A chat's follow-up searches memory for the whole question; other goals for goal and last question."""
        from greenroom.actors.conversation import Turns
        from greenroom.actors.grounding import _query, whole
        from greenroom.bus.events import ChatMessage

        view = Turns("c-1", (ChatMessage(role="user", text=CAPITAL), ChatMessage(role="assistant", text="Paris")))
        assert whole("And of Germany?", view) == _query("And of Germany?", view) == "What is the capital of Germany?"
        assert whole("And of Germany?", None) == "And of Germany?"
        assert _query("Who wrote Hamlet?", view) == "Who wrote Hamlet? " + CAPITAL
