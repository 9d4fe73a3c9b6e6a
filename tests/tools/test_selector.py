"""The tool context builder: the few tools a step's prompt carries, and why."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from greenroom.memory import Embedder, Reranker
from greenroom.tools import ToolRegistry, ToolsConfig, ToolSpec, default_tools
from greenroom.tools.selector import ToolSelector, tool_document, tool_summary


class CountingEmbedder(Embedder):
    """The real offline MiniLM, counting the documents it embeds."""

    def __init__(self) -> None:
        super().__init__()
        self.embedded: list[str] = []

    def embed(self, texts: Sequence[str]) -> Any:
        self.embedded.extend(texts)
        return super().embed(texts)


_EMBEDDER = CountingEmbedder()


@pytest.fixture
def embedder() -> CountingEmbedder:
    _EMBEDDER.embedded.clear()
    return _EMBEDDER


def mcp_tool(name: str, description: str) -> ToolSpec:
    schema = {"type": "object", "properties": {"repoPath": {"type": "string", "description": "Repository folder"}}}
    return ToolSpec(name, description, None, lambda ctx, args: "", json_schema=schema, origin="mcp")


TOOLS = [
    *default_tools(ToolsConfig(shell_enabled=True)),
    mcp_tool("mcp.git.git_log", "Shows the commit logs."),
    mcp_tool("mcp.git.git_commit", "Records changes to the repository."),
    mcp_tool("mcp.weather.get_forecast", "Weather forecast for the next days at a location."),
    mcp_tool("mcp.spotify.play", "Start playback of a song, album or playlist."),
]


class TestDocuments:
    def test_identifiers_become_words_and_arguments_go_to_bm25_only(self) -> None:
        """Names and arguments are split into words; the embedded summary leaves arguments out."""
        tool = TOOLS[-4]
        assert tool_summary(tool) == "git git log: Shows the commit logs."
        assert tool_document(tool) == "git git log: Shows the commit logs. Arguments: repo Path (Repository folder)."


class TestSelect:
    def test_ranks_by_meaning_and_keywords(self, embedder: CountingEmbedder) -> None:
        """The right tool comes first for plain-language intents."""
        selector = ToolSelector(embedder, top_n=3)
        assert selector.select("what time is it", TOOLS).names[0] == "system.time"
        assert selector.select("will it rain in Paris tomorrow", TOOLS).names[0] == "mcp.weather.get_forecast"
        assert selector.select("show the recent commits", TOOLS).names[0] == "mcp.git.git_log"

    def test_named_tools_are_always_included_and_unknown_ones_reported(self, embedder: CountingEmbedder) -> None:
        """The plan's tools come first whatever their rank; the rest fill up to n; unknown names are listed."""
        selector = ToolSelector(embedder, top_n=3)
        selection = selector.select("what time is it", TOOLS, named=["mcp.spotify.play", "nope.tool"])
        assert selection.names[0] == "mcp.spotify.play"
        assert len(selection.names) == 3
        assert "system.time" in selection.names
        assert selection.missing == ["nope.tool"]
        assert selection.scores[0].named
        event = selection.event(step=2)
        assert (event.step, event.intent, event.candidates) == (2, "what time is it", len(TOOLS))
        assert [t.name for t in event.tools] == selection.names
        assert all(t.dense is not None for t in event.tools)

    def test_descriptions_are_embedded_once_and_again_only_when_changed(
        self, embedder: CountingEmbedder, tmp_path: Path
    ) -> None:
        """The vector cache (SQLite) survives a new selector; a changed description is the only re-embedding."""
        cache = tmp_path / "vectors.sqlite"
        first = ToolSelector(embedder, cache_path=cache)
        assert first.warm(TOOLS) == len(TOOLS)
        first.select("play music", TOOLS)
        assert first.embedded == len(TOOLS)
        first.close()
        second = ToolSelector(embedder, cache_path=cache)
        assert second.warm(TOOLS) == 0
        changed = [*TOOLS[:-1], mcp_tool("mcp.spotify.play", "Play music on the living room speakers.")]
        embedder.embedded.clear()
        assert second.warm(changed) == 1
        assert embedder.embedded == ["spotify play: Play music on the living room speakers."]
        second.close()

    def test_follows_a_changing_registry(self, embedder: CountingEmbedder) -> None:
        """A tool added at runtime (an MCP server's) can be selected at the next step."""
        registry = ToolRegistry(TOOLS)
        selector = ToolSelector(embedder, top_n=2)
        assert "mcp.maps.directions" not in selector.select("driving directions to Hamburg", registry).names
        registry.replace_prefix("mcp.maps.", [mcp_tool("mcp.maps.directions", "Driving directions between places.")])
        assert selector.select("driving directions to Hamburg", registry).names[0] == "mcp.maps.directions"

    def test_reranks_only_when_the_reranker_is_loaded(self, embedder: CountingEmbedder, tiny_model: Path) -> None:
        """By default selection never waits for a reranker load; once loaded (or forced), it reranks."""
        reranker = Reranker(str(tiny_model))
        selector = ToolSelector(embedder, reranker=reranker, top_n=4)
        assert not selector.select("what time is it", TOOLS).reranked
        reranker.load()
        selection = selector.select("what time is it", TOOLS)
        assert selection.reranked
        assert all(t.rerank is not None and 0 <= t.score <= 1 for t in selection.scores)
        assert not ToolSelector(embedder, reranker=reranker, rerank=False).select("x", TOOLS).reranked

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.text(max_size=300))
    def test_any_intent_gives_a_selection(self, embedder: CountingEmbedder, intent: str) -> None:
        """Query syntax, control characters or nothing at all: selection never fails."""
        selection = ToolSelector(embedder, top_n=3).select(intent, TOOLS)
        assert len(selection.names) == 3

    def test_no_tools_is_an_empty_selection(self, embedder: CountingEmbedder) -> None:
        """With nothing to choose from, the selection is empty (and says so)."""
        selection = ToolSelector(embedder).select("anything", [])
        assert (selection.names, selection.candidates) == ([], 0)
