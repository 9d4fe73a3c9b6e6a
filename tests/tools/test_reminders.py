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
            ("remind me to sign in at 9am", "sign in", "at 9am"),
            ("remind me to log in in 5 minutes", "log in", "in 5 minutes"),
            ("remind me: call mom at 5pm", "call mom", "at 5pm"),
            ("remind me to take my pills at 8", "take my pills", "at 8"),
        ],
    )
    def test_what_and_when_are_read_from_the_words(self, request_: str, what: str, when: str) -> None:
        """What to say and when, each in the person's own words; the time is the tail that reads as one."""
        assert reminder_in(request_) == (what, when)

    @pytest.mark.parametrize(
        "text",
        ["What time is it?", "remind me", "Remind me what I said about Anna", "remind me how to tie a tie",
         "I forgot to remind me", "", "   ", "Remind members to vote tomorrow", "Remind Mel to call me at 5pm",
         "remind me of my wifi password", "remind me that the meeting moved"],
    )  # fmt: skip
    def test_other_requests_are_not_reminders(self, text: str) -> None:
        """No reminder asked for ("remind members"), or a question for memory ("remind me what ...",
        "remind me of ..." without a time): None."""
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
            ("at 8", datetime(2026, 12, 4, 20, 0)),  # the next 8 o'clock: dateparser read August
            ("at 9am", datetime(2026, 12, 5, 9, 0)),  # past today: tomorrow's
            ("at 7 tonight", datetime(2026, 12, 4, 19, 0)),
            ("tomorrow at 8", datetime(2026, 12, 5, 8, 0)),
            ("on Friday", datetime(2026, 12, 11, 9, 0)),  # a day alone: its morning, not midnight
            ("tomorrow", datetime(2026, 12, 5, 9, 0)),
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
            ("in 5", "is not a time"),  # dateparser: May
            ("on the 5th", "is not a time"),
            ("0001-01-01", "is not a time|already past"),
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

        args = REMINDERS_TOOL.parse_args({"reminder": "call mom", "reminder_time": "in 10 minutes"})
        with pytest.raises(ToolError, match="scheduler"):
            REMINDERS_TOOL.run(ToolContext(task_id="t-1", call_id="t-1:1:1:0"), args)

    def test_it_writes_so_it_asks_and_it_is_idempotent(self) -> None:
        """It changes something (a task): like every write, the default policy asks. It is idempotent (the
        task is keyed by the call), so a call cut short by a crash runs again without asking twice."""
        from greenroom.policy.engine import default_rules
        from greenroom.policy.rules import rule_matches

        rules = default_rules({"reminders.set": REMINDERS_TOOL.facts()}, ["~"])
        args = {"reminder": "call mom", "reminder_time": "in 10 minutes"}
        first = next(r for r in rules if r.decision != "deny" and rule_matches(r, "reminders.set", args))
        assert (first.id, first.decision) == ("side-effects-ask", "ask")
        assert REMINDERS_TOOL.side_effects == "write"
        assert REMINDERS_TOOL.is_idempotent
        assert not REMINDERS_TOOL.memorable


_WORDS = st.sampled_from(
    ["remind", "me", "to", "call", "mom", "in", "10", "minutes", "at", "5pm", "tomorrow", "about", "that",
     "what", "on", "friday", "an", "hour", ",", "?", "REMIND ME", "next", "tonight", "\n", "\u017f", "0:00"]
)  # fmt: skip


class TestAnyText:
    @settings(max_examples=300, deadline=None)
    @given(text=st.one_of(st.lists(_WORDS, max_size=14).map(" ".join), st.text(max_size=500)))
    def test_any_text_is_a_reminder_with_words_or_none(self, text: str) -> None:
        """Whatever is asked, reading it never raises: None, or a reminder whose text is said and bounded,
        and whose time, when there is one, the tool reads or refuses with a ToolError."""
        found = reminder_in(text)
        if found is None:
            return
        what, when = found
        assert what.strip()
        assert len(what) <= MAX_WHAT
        now = time.time()
        with contextlib.suppress(ToolError):
            assert when_at(when, now) > now
