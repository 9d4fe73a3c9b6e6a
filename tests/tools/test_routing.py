"""Which tools a goal needs, by meaning and cue phrases, with the real offline embedding model."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greenroom.memory.embeddings import Embedder
from greenroom.tools import ToolsConfig
from greenroom.tools.defaults import default_tools
from greenroom.tools.routing import ToolRouter, plain, split_clauses

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
            ("How many days are in a week?", []),
            ("What time zone is Paris in?", []),
            ("What day is Christmas?", []),
            ("What day of the week was July 4 1776?", []),
            ("Read the file notes/today.md", ["fs.read"]),
            ("List the files in my notes folder", ["fs.list"]),
            ("Create notes/todo.md listing three fruits", ["fs.write"]),
            ("Remember that my bike code is 4711", ["memory.remember"]),
            ("Where did I put the wifi password?", ["memory.recall"]),
            ("Fetch http://127.0.0.1:8000/weather and tell me the forecast", ["web.fetch"]),
            ("Read notes/today.md and write a summary to notes/summary.md", ["fs.read", "fs.write"]),
            ("What is 12 times 7?", ["math.calculate"]),
            ("what is 15% of 80?", ["math.calculate"]),
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
