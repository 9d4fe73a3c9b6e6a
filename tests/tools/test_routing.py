"""Which tools a goal needs, by meaning and cue phrases, with the real offline embedding model."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greenroom.memory.embeddings import Embedder
from greenroom.tools import ToolsConfig
from greenroom.tools.defaults import default_tools
from greenroom.tools.routing import ToolRouter, plain, split_clauses
from greenroom.tools.routing_shapes import SHAPES, asks_about_own_things, asks_what_it_is, has_shape

TOOLS = default_tools(ToolsConfig())


@pytest.fixture(scope="module")
def router() -> ToolRouter:
    return ToolRouter(Embedder())


class TestClauses:
    @pytest.mark.parametrize(
        ("goal", "clauses"),
        [
            ("Read notes/a.md and write a summary to notes/b.md", ["Read notes/a.md", "write a summary to notes/b.md"]),
            ("Fetch the page and summarise it", ["Fetch the page and summarise it"]),
            ("What is salt and pepper?", ["What is salt and pepper?"]),
            ("List notes, then save the list to notes/i.txt", ["List notes", "save the list to notes/i.txt"]),
        ],
    )
    def test_a_goal_splits_where_a_new_instruction_starts(self, goal: str, clauses: list[str]) -> None:
        """'and write ...' starts a new job; 'and summarise it' does not (it is the same thing)."""
        assert split_clauses(goal) == clauses

    @pytest.mark.parametrize("run", ["x" * 200_000, "x-" * 100_000, "x." * 100_000])
    def test_long_runs_of_name_characters_read_in_one_pass(self, run: str) -> None:
        """A path match starts only where a run starts: tried inside every run, this took minutes."""
        assert plain(f"read {run} now") == f"read {run} now"

    def test_paths_and_urls_read_as_what_they_are(self) -> None:
        """today.md is not about the date: its name is read as 'the file'."""
        assert plain("Read notes/today.md from https://x.test/a") == "Read the file from the web page"


class TestRouting:
    @pytest.mark.parametrize(
        ("goal", "tools"),
        [
            ("What time is it?", ["system.time"]),
            ("What is today's date?", ["system.time"]),
            ("What year is it?", ["system.time"]),
            ("what time is it in Tokyo?", ["system.time"]),
            ("How many days are in a week?", ["units.convert"]),
            ("What time zone is Paris in?", []),
            ("What day is Christmas?", []),
            ("What day of the week was July 4 1776?", []),
            ("What is Python?", []),
            ("What is a file system?", []),
            ("How does the web work?", []),
            ("What does RAM memory do?", []),
            ("How do I remember names better?", []),
            ("Tell me about the history of search engines", []),
            ("Summarize the plot of Hamlet", []),
            ("Read me a joke", []),
            ("Forget what I told you about my locker", ["memory.forget"]),
            ("Search the web for pancake recipes", ["web.search"]),
            ("Run this python code: print(1)", ["python.run"]),
            ("what\u2019s the year?", ["system.time"]),
            ("which month are we in?", ["system.time"]),
            ("What time does the store usually close?", []),
            ("open the budget spreadsheet", ["fs.search"]),
            ("what's on example.com?", ["web.search"]),
            ("hey remember that I parked on level 3", ["memory.remember"]),
            ("Don't forget: my locker code is 4412", ["memory.remember"]),
            ("how do I create a folder in Windows?", []),
            ("explain this code: for i in range(3): print(i)", []),
            ("tell me a joke", []),
            ("Read the file notes/today.md", ["fs.read"]),
            ("List the files in my notes folder", ["fs.list"]),
            ("Create notes/todo.md listing three fruits", ["fs.write"]),
            ("Remember that my bike code is 4711", ["memory.remember"]),
            ("Where did I put the wifi password?", ["memory.recall"]),
            ("Fetch http://127.0.0.1:8000/weather and tell me the forecast", ["web.fetch"]),
            ("Read notes/today.md and write a summary to notes/summary.md", ["fs.read", "fs.write"]),
            ("What is 12 times 7?", ["math.calculate"]),
            ("what is 15% of 80?", ["math.calculate"]),
            ("How many minutes are in 3 hours?", ["units.convert"]),
            ("convert 5 miles to km", ["units.convert"]),
            ("How many people are in a car?", []),
            ("What is the capital of France?", []),
            ("How much is a flight to Paris?", []),
            ("What year did the Berlin wall fall?", []),
            ("Who painted the Mona Lisa?", []),
            ("Tell me a joke about cats", []),
        ],
    )
    def test_goals_get_the_tools_they_need_and_no_others(self, router: ToolRouter, goal: str, tools: list[str]) -> None:
        """Each clause gets its tool; questions the model can answer get none."""
        assert [m.tool for m in router.route(goal, TOOLS)] == tools

    @settings(max_examples=40, deadline=None)
    @given(goal=st.text(max_size=120))
    def test_any_goal_routes_without_raising(self, router: ToolRouter, goal: str) -> None:
        """Hostile or empty text gives matches of known tools (or none), never an error."""
        names = {t.name for t in TOOLS}
        for match in router.route(goal, TOOLS):
            assert match.tool == "" or match.tool in names


class TestShapes:
    def test_every_shape_names_a_built_in_tool(self) -> None:
        """A renamed tool would silently lose its shape (and be matched by meaning alone again)."""
        assert set(SHAPES) <= {t.name for t in default_tools(ToolsConfig(shell_enabled=True))}

    @pytest.mark.parametrize(
        ("tool", "clause", "ok"),
        [
            ("system.time", "what time is it in Tokyo", True),
            ("system.time", "what time zone is Paris in", False),
            ("memory.recall", "where did I leave my keys", True),
            ("memory.recall", "forget what I told you", False),
            ("memory.remember", "please remember my code is 12", True),
            ("memory.remember", "how do I remember names", False),
            ("fs.read", "Read the file", True),
            ("fs.read", "read me a story", False),
            ("memory.forget", "don't forget my keys", False),
            ("memory.forget", "ok forget my locker code", True),
            ("memory.recall", "hey\nwhat did I tell you about my car?", True),
            ("web.fetch", "what's on example.com?", True),
            ("mcp.x.anything", "whatever it says", True),
        ],
    )
    def test_a_tool_needs_its_shape(self, tool: str, clause: str, ok: bool) -> None:
        assert has_shape(tool, clause) is ok

    @pytest.mark.parametrize(
        ("clause", "ok"),
        [
            ("What is Python?", True),
            ("what's a quokka", True),
            ("How does a bicycle work?", True),
            ("What is my bike lock code?", False),
            ("What is today?", False),
            ("What is the capital of France and why?", False),
            ("how do I read a CSV file in pandas?", True),
            ("what is the file", False),
        ],
    )
    def test_questions_what_something_is(self, clause: str, ok: bool) -> None:
        assert asks_what_it_is(clause) is ok

    @pytest.mark.parametrize(
        ("clause", "ok"),
        [
            ("When is my dentist appointment?", True),
            ("What's my wifi password?", True),
            ("What is the name of my dentist?", True),
            ("where are my keys", True),
            ("and who is my doctor?", True),
            ("What should I name my dog?", False),
            ("How do I reset my password?", False),
            ("What is my IP address right now?", False),
            ("What is in my notes folder?", False),
            ("What is the capital of France?", False),
        ],
    )
    def test_questions_about_own_things(self, clause: str, ok: bool) -> None:
        """A fact only the person (or memory) knows; not advice, the present, or their files."""
        assert asks_about_own_things(clause) is ok

    @settings(max_examples=200, deadline=None)
    @given(text=st.text(max_size=300))
    def test_shapes_read_any_text(self, text: str) -> None:
        """Hostile text: a plain yes or no from every shape, never an error."""
        assert asks_what_it_is(text) in (True, False)
        assert asks_about_own_things(text) in (True, False)
        for tool in SHAPES:
            assert has_shape(tool, text) in (True, False)
