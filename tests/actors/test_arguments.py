"""Small questions: arguments a step's words name are pinned; every free output is bounded."""

from __future__ import annotations

from typing import Any

import llguidance
from hypothesis import given, settings
from hypothesis import strategies as st

from greenroom.actors.arguments import MAX_FREE_STRING, bounded, fixed_args, mentioned, pin_arguments
from greenroom.tools import ToolsConfig
from greenroom.tools.defaults import default_tools
from greenroom.tools.reminders import NO_TIME

WRITE = next(t for t in default_tools(ToolsConfig()) if t.name == "fs.write").schema()
READ = next(t for t in default_tools(ToolsConfig()) if t.name == "fs.read").schema()
RECALL = next(t for t in default_tools(ToolsConfig()) if t.name == "memory.recall").schema()
CALCULATE = next(t for t in default_tools(ToolsConfig()) if t.name == "math.calculate").schema()
CONVERT = next(t for t in default_tools(ToolsConfig()) if t.name == "units.convert").schema()
REMIND = next(t for t in default_tools(ToolsConfig()) if t.name == "reminders.set").schema()


class TestMentioned:
    def test_paths_urls_folders_and_quotes_are_found(self) -> None:
        """A step names files, folders, URLs and quoted text; each is found for what it is."""
        found = mentioned("Save 'buy milk' in notes/milk.txt, list my notes folder, fetch https://a.test/x.")
        assert found == {
            "path": ["notes/milk.txt", "notes"],
            "url": ["https://a.test/x"],
            "text": ["buy milk"],
            "expression": [],
            "conversion": [],
            "reminder": [],
            "reminder_time": [],
        }

    def test_a_step_that_is_all_arithmetic_names_its_expression(self) -> None:
        """'What is 12 times 7?' is the expression 12 * 7; numbers among other words are none."""
        assert mentioned("What is 12 times 7?")["expression"] == ["12 * 7"]
        assert mentioned("Read the first 200 bytes of notes/2024.md")["expression"] == []


class TestFixedArgs:
    def test_a_call_whose_arguments_the_step_fixes_needs_no_model(self) -> None:
        """Every argument pinned: the arguments themselves; the calculator's expression too."""
        assert fixed_args(READ, "Read notes/today.md") == {"path": "notes/today.md"}
        assert fixed_args(WRITE, "Write 'hello' to notes/hello.txt") == {"path": "notes/hello.txt", "content": "hello"}
        assert fixed_args(CALCULATE, "What is 12 times 7?") == {"expression": "12 * 7"}
        assert fixed_args(CONVERT, "How many minutes are in 3 hours?") == {"conversion": "3 hours to minutes"}
        reminder = fixed_args(REMIND, "Remind me to call mom in 10 minutes")
        assert reminder == {"reminder": "call mom", "reminder_time": "in 10 minutes"}
        no_time = fixed_args(REMIND, "remind me to water the plants")  # the tool says to give one
        assert no_time == {"reminder": "water the plants", "reminder_time": NO_TIME}

    def test_a_step_that_must_recall_searches_with_its_own_words(self) -> None:
        """The 135M model wrote a memory id from its context as the query; the question itself finds the note."""
        assert fixed_args(RECALL, "When is Anna's birthday?") == {"query": "When is Anna's birthday?"}
        assert fixed_args(RECALL, "Recall what is tagged health") is None, "the tags are the model's to write"
        assert pin_arguments(RECALL, "When is it?", pin=False)["properties"]["query"].get("type") == "string"

    def test_anything_left_to_choose_leaves_it_to_the_model(self) -> None:
        """A free string (the content to write, a query), a number the step gives, or no schema: None."""
        assert fixed_args(WRITE, "Write a poem to notes/poem.txt") is None
        assert fixed_args(READ, "Read the first 200 bytes of notes/meeting.md") is None
        assert fixed_args(READ, "copy notes/a.md to notes/b.md") is None
        assert fixed_args(None, "Read notes/today.md") is None
        path_only = {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}
        assert fixed_args({**path_only, "additionalProperties": True}, "Read notes/a.md") is None, "extras allowed"
        assert fixed_args({**path_only, "required": ["path", "mode"]}, "Read notes/a.md") is None, "mode unsaid"
        assert fixed_args(path_only, "Read notes/a.md") == {"path": "notes/a.md"}


class TestPinning:
    def test_the_named_path_and_quoted_text_become_constants(self) -> None:
        """'Write 'hello' to notes/hello.txt': the model has nothing left to choose but whether to call."""
        pinned = pin_arguments(WRITE, "Write 'hello' to notes/hello.txt")
        assert pinned["properties"]["path"] == {"const": "notes/hello.txt"}
        assert pinned["properties"]["content"] == {"const": "hello"}
        assert "dry_run" not in pinned["properties"], "previews are not the model's to ask for"

    def test_a_step_that_refers_back_writes_the_earlier_result(self) -> None:
        """'save it to notes/copy.md' after a read writes exactly what was read."""
        pinned = pin_arguments(WRITE, "save it to notes/copy.md", previous="eggs\nbread")
        assert pinned["properties"]["content"] == {"const": "eggs\nbread"}

    def test_an_optional_number_the_step_does_not_give_is_left_out(self) -> None:
        """'Summarise notes/meeting.md' reads with the tool's own limit; 'the first 200 bytes' may set it."""
        assert "max_bytes" not in pin_arguments(READ, "Summarise notes/meeting.md")["properties"]
        assert "max_bytes" in pin_arguments(READ, "Read the first 200 bytes of notes/meeting.md")["properties"]
        assert "path" in pin_arguments(READ, "Summarise notes/meeting.md")["properties"], "required stays"

    def test_an_optional_list_the_step_does_not_name_is_left_out(self) -> None:
        """A recall filters by tags only when the step speaks of tags (a made-up tag finds nothing)."""
        assert set(pin_arguments(RECALL, "When is my dentist appointment?")["properties"]) == {"query"}
        assert "tags" in pin_arguments(RECALL, "Recall what is tagged health")["properties"]

    def test_two_paths_pin_nothing(self) -> None:
        """Ambiguity is left to the model: two paths, no constant."""
        pinned = pin_arguments(WRITE, "copy notes/a.md to notes/b.md")
        assert pinned["properties"]["path"]["type"] == "string"
        assert pinned["properties"]["path"]["maxLength"] <= MAX_FREE_STRING

    def test_the_original_schema_is_not_changed(self) -> None:
        """Pinning works on a copy (the tool's schema is shared)."""
        before = repr(WRITE)
        pin_arguments(WRITE, "Write 'x' to notes/x.txt")
        assert repr(WRITE) == before


JSON_SCHEMAS: Any = st.recursive(
    st.sampled_from([{"type": "string"}, {"type": "integer"}, {"type": "boolean"}, {"type": "object"}]),
    lambda inner: st.one_of(
        st.builds(lambda items: {"type": "array", "items": items}, inner),
        st.builds(
            lambda props: {"type": "object", "properties": props},
            st.dictionaries(st.text("abcdefgh", min_size=1, max_size=6), inner, max_size=3),
        ),
    ),
    max_leaves=8,
)


class TestBounded:
    @settings(max_examples=150, deadline=None)
    @given(schema=JSON_SCHEMAS, intent=st.text(max_size=80))
    def test_every_pinned_schema_bounds_its_output_and_compiles(self, schema: Any, intent: str) -> None:
        """Whatever a tool's schema and a step's words, the result is closed, bounded and a valid grammar."""
        out = pin_arguments(schema, intent)

        def check(node: Any) -> None:
            if isinstance(node, dict):
                if node.get("type") == "object":
                    assert node["additionalProperties"] is False
                if node.get("type") == "string" and "const" not in node:
                    assert node["maxLength"] <= MAX_FREE_STRING
                if node.get("type") == "array":
                    assert node["maxItems"] <= 16
                for value in node.values():
                    check(value)

        check(out)
        grammar = llguidance.LLMatcher.grammar_from_json_schema(__import__("json").dumps(out))
        assert isinstance(grammar, str)
        assert bounded({"type": "string", "maxLength": 5}) == {"type": "string", "maxLength": 5}
