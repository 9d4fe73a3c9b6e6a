"""reminders.set: a request for a reminder read from its words, its time read by dateparser."""

from __future__ import annotations

import contextlib
import time
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greenroom.tools import ToolError
from greenroom.tools.reminders import MAX_WHAT, NO_TIME, REMINDERS_TOOL, reminder_in, when_at


class TestReading:
    @pytest.mark.parametrize(
        ("request_", "what", "when"),
        [
            ("Remind me to call mom in 10 minutes", "call mom", "in 10 minutes"),
            ("remind me to pack and leave at 5pm", "pack and leave", "at 5pm"),
            ("Please remind me about the dentist tomorrow at 9am", "the dentist", "tomorrow at 9am"),
            ("Can you remind me to water the plants tonight?", "water the plants", "tonight"),
            ("remind me to meet Anna at the station at 17:30", "meet Anna at the station", "at 17:30"),
            ("In an hour, remind me to stretch", "stretch", "In an hour"),
            ("remind me in 10 minutes to call mom", "call mom", "in 10 minutes"),
            ("remind me at 5pm that the shop closes", "the shop closes", "at 5pm"),
            ("remind me tomorrow about the dentist", "the dentist", "tomorrow"),
            ("remind me to go to the shop to buy bread in 2 hours", "go to the shop to buy bread", "in 2 hours"),
            ("remind me to call mom", "call mom", ""),
            ("remind me that the meeting moved to Friday", "the meeting moved to Friday", ""),
        ],
    )
    def test_what_and_when_are_read_from_the_words(self, request_: str, what: str, when: str) -> None:
        """What to say and when, each in the person's own words; the time is the tail that reads as one."""
        assert reminder_in(request_) == (what, when)

    @pytest.mark.parametrize(
        "text",
        ["What time is it?", "remind me", "Remind me what I said about Anna", "remind me how to tie a tie",
         "I forgot to remind me", "", "   "],
    )  # fmt: skip
    def test_other_requests_are_not_reminders(self, text: str) -> None:
        """No reminder asked for (or a question for memory, "remind me what ..."): None."""
        assert reminder_in(text) is None


class TestTimes:
    NOW = datetime(2026, 12, 4, 9, 30).timestamp()

    @pytest.mark.parametrize(
        ("when", "expected"),
        [
            ("in 10 minutes", datetime(2026, 12, 4, 9, 40)),
            ("in an hour", datetime(2026, 12, 4, 10, 30)),
            ("at 5pm", datetime(2026, 12, 4, 17, 0)),
            ("tomorrow at 9am", datetime(2026, 12, 5, 9, 0)),
            ("2026-12-24T18:00", datetime(2026, 12, 24, 18, 0)),
        ],
    )
    def test_a_time_in_words_is_read_after_now(self, when: str, expected: datetime) -> None:
        assert when_at(when, self.NOW) == expected.timestamp()

    @pytest.mark.parametrize(
        ("when", "says"),
        [
            ("", "says no time"),
            (NO_TIME, "says no time"),
            ("on the way home", "is not a time"),
            ("2026-01-01T10:00", "is already past"),
            ("2031-01-01T10:00", "more than a year ahead"),
        ],
    )
    def test_a_time_it_cannot_use_is_refused_saying_why(self, when: str, says: str) -> None:
        with pytest.raises(ToolError, match=says):
            when_at(when, self.NOW)


class TestTheTool:
    def test_without_the_daemon_it_says_what_it_needs(self) -> None:
        """Run outside a daemon (no task access), it refuses with a reason instead of losing the reminder."""
        from greenroom.tools import ToolContext

        args = REMINDERS_TOOL.parse_args({"what": "call mom", "when": "in 10 minutes"})
        with pytest.raises(ToolError, match="scheduler"):
            REMINDERS_TOOL.run(ToolContext(task_id="t-1", call_id="t-1:1:1:0"), args)

    def test_it_writes_but_the_defaults_allow_it(self) -> None:
        """It changes something (a task), so it is not a read; a rule of its own allows it, and it is
        idempotent (the task is keyed by the call), so a call cut short by a crash runs again."""
        assert REMINDERS_TOOL.side_effects == "write"
        assert REMINDERS_TOOL.is_idempotent
        assert not REMINDERS_TOOL.memorable


_WORDS = st.sampled_from(
    ["remind", "me", "to", "call", "mom", "in", "10", "minutes", "at", "5pm", "tomorrow", "about", "that",
     "what", "on", "friday", "an", "hour", ",", "?", "REMIND ME", "next", "tonight", "\n", "\u017f", "0:00"]
)  # fmt: skip


class TestAnyText:
    @settings(max_examples=300, deadline=None)
    @given(text=st.one_of(st.lists(_WORDS, max_size=14).map(" ".join), st.text(max_size=120)))
    def test_any_text_is_a_reminder_with_words_or_none(self, text: str) -> None:
        """Whatever is asked, reading it never raises: None, or a reminder whose text is said and bounded,
        and whose time, when there is one, the tool reads or refuses with a ToolError."""
        found = reminder_in(text)
        if found is None:
            return
        what, when = found
        assert what.strip()
        assert len(what) <= MAX_WHAT + 120
        now = time.time()
        with contextlib.suppress(ToolError):
            assert when_at(when, now) > now
