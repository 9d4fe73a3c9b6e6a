"""units.convert: a request that is all a unit conversion, read from its words and worked out by pint."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greenroom.tools import ToolError
from greenroom.tools.units import UNITS_TOOL, conversion_in, convert


class TestReading:
    @pytest.mark.parametrize(
        ("question", "conversion", "answer"),
        [
            ("How many minutes are in 3 hours?", "3 hours to minutes", "3 hours = 180 minutes"),
            ("How many days are in a week?", "1 week to days", "1 week = 7 days"),
            ("how many seconds are there in a day", "1 day to seconds", "1 day = 86,400 seconds"),
            ("how many feet in one mile", "1 mile to feet", "1 mile = 5,280 feet"),
            ("convert 5 miles to km", "5 miles to km", "5 miles = 8.04672 km"),
            ("What is 100 F in celsius?", "100 F to celsius", "100 F = 37.7778 celsius"),
            ("100 degrees fahrenheit to celsius", "100 degrees fahrenheit to celsius", None),
            ("how many kilometers is 26.2 miles?", "26.2 miles to kilometers", "26.2 miles = 42.1648 kilometers"),
            ("What is 30 mph in km/h?", "30 mph to km/h", "30 mph = 48.2803 km/h"),
            ("how many ounces in a cup", "1 cup to ounces", "1 cup = 8 ounces"),
            ("how many ounces in a pound", "1 pound to ounces", "1 pound = 16 ounces"),
            ("how many MB in a GB?", "1 GB to MB", "1 GB = 1,000 MB"),
            ("convert 1,000 grams to pounds", "1,000 grams to pounds", "1,000 grams = 2.20462 pounds"),
        ],
    )
    def test_conversions_are_read_and_worked_out(self, question: str, conversion: str, answer: str | None) -> None:
        """The question's amount and units, in its own words; the answer exact to 6 digits."""
        assert conversion_in(question) == conversion
        if answer is not None:
            assert convert(conversion) == answer

    @pytest.mark.parametrize(
        "question",
        [
            "How many people are in a car?",
            "how many calories are in an apple",
            "how many eggs in a dozen",
            "What is 12 times 7?",
            "what is 2 in the morning",
            "how many hours are in 3 meters",
            "list 5 files in /tmp",
            "Remember that my dentist appointment is on Friday at 3pm.",
            "How many days until Christmas?",
            "convert 5 miles to km and then email it to Anna",
        ],
    )
    def test_other_questions_are_not_conversions(self, question: str) -> None:
        """Not units of one kind, or more than a conversion: left to the model and the other tools."""
        assert conversion_in(question) is None

    @pytest.mark.parametrize(
        ("text", "error"),
        [
            ("", "is not a conversion"),
            ("banana", "is not a conversion"),
            ("5 hours to metres", "'hours' cannot be converted to 'metres': they measure different things"),
            ("3 blorps to minutes", "'blorps' is not a unit this tool knows"),
            ("1e999 hours to minutes", "is not a conversion"),
        ],
    )
    def test_what_cannot_be_converted_says_why(self, text: str, error: str) -> None:
        """A clear error naming what was wrong, never pint's own exception."""
        with pytest.raises(ToolError, match=error):
            convert(text)

    def test_the_tool_changes_nothing_and_is_not_memorable(self) -> None:
        """A conversion is worked out again exactly: no summary is kept, no confirmation is needed."""
        assert (UNITS_TOOL.side_effects, UNITS_TOOL.memorable) == ("none", False)


PAIRS = [("hours", "minutes", 60), ("km", "m", 1000), ("weeks", "days", 7), ("kg", "g", 1000), ("GB", "MB", 1000)]


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 10**6),
    st.sampled_from(PAIRS),
    st.sampled_from(["How many {to} are in {n} {unit}?", "convert {n} {unit} to {to}", "{n} {unit} in {to}"]),
)
def test_any_amount_in_any_phrasing_converts_exactly(n: int, pair: tuple[str, str, int], phrasing: str) -> None:
    """Whole amounts of units with whole factors come out whole and exact, however it is asked."""
    unit, to, factor = pair
    conversion = conversion_in(phrasing.format(n=n, unit=unit, to=to))
    assert conversion == f"{n:,} {unit} to {to}"
    assert convert(conversion) == f"{n:,} {unit} = {n * factor:,} {to}"


@settings(max_examples=300, deadline=None)
@given(
    st.text(max_size=120)
    | st.from_regex(r"(how many|convert) [a-z ]{0,20}(in|to|is) [0-9.,]{0,8} ?[a-zA-Z °/]{0,20}\??")
)
def test_any_text_is_a_conversion_or_none_and_never_crashes(text: str) -> None:
    """Hostile input: reading returns None or a conversion the tool then works out; the tool
    answers or raises ToolError, never anything else."""
    conversion = conversion_in(text)
    if conversion is not None:
        assert " = " in convert(conversion)
    with contextlib.suppress(ToolError):
        convert(text)
