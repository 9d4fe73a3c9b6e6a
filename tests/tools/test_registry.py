"""The tool registry: runtime changes by namespace, listeners, and safety across threads."""

from __future__ import annotations

import threading

import pytest

from greenroom.tools import ToolRegistry, ToolSpec


def tool(name: str, description: str = "d") -> ToolSpec:
    return ToolSpec(name, description, None, lambda ctx, args: "", json_schema={"type": "object"})


class TestRegistry:
    def test_replace_prefix_adds_removes_and_replaces(self) -> None:
        """A namespace is replaced as a whole; listeners hear of real changes only."""
        reg = ToolRegistry([tool("fs.read")])
        heard: list[int] = []
        reg.subscribe(lambda: heard.append(reg.version))
        assert reg.replace_prefix("mcp.a.", [tool("mcp.a.x"), tool("mcp.a.y")]) == (["mcp.a.x", "mcp.a.y"], [])
        assert reg.replace_prefix("mcp.a.", [tool("mcp.a.x"), tool("mcp.a.y")]) == ([], [])
        assert reg.replace_prefix("mcp.a.", [tool("mcp.a.y", "new words")]) == ([], ["mcp.a.x"])
        assert reg.get("mcp.a.y").description == "new words"
        assert reg.remove_prefix("mcp.a.") == ["mcp.a.y"]
        assert reg.names() == ["fs.read"]
        assert len(heard) == 3
        with pytest.raises(ValueError, match="not under"):
            reg.replace_prefix("mcp.a.", [tool("fs.write")])

    def test_a_failing_listener_does_not_undo_the_change(self) -> None:
        """A listener that raises is logged; the change stands and later listeners still run."""
        reg = ToolRegistry()
        seen: list[str] = []
        reg.subscribe(lambda: 1 / 0)  # type: ignore[func-returns-value]
        reg.subscribe(lambda: seen.append("ok"))
        reg.add(tool("a.b"))
        assert "a.b" in reg
        assert seen == ["ok"]

    def test_readers_and_writers_on_many_threads(self) -> None:
        """Iterating, building call schemas and changing namespaces at once never breaks."""
        reg = ToolRegistry([tool("fs.read")])
        errors: list[BaseException] = []
        stop = threading.Event()

        def write(server: str) -> None:
            for i in range(200):
                reg.replace_prefix(f"mcp.{server}.", [tool(f"mcp.{server}.t{j}") for j in range(i % 5)])

        def read() -> None:
            while not stop.is_set():
                try:
                    for t in reg:
                        assert t.name
                    reg.call_schema(4)
                except BaseException as exc:
                    errors.append(exc)

        readers = [threading.Thread(target=read) for _ in range(2)]
        writers = [threading.Thread(target=write, args=(s,)) for s in ("a", "b")]
        for th in readers + writers:
            th.start()
        for th in writers:
            th.join()
        stop.set()
        for th in readers:
            th.join()
        assert errors == []
        assert reg.names() == ["fs.read", *(f"mcp.{s}.t{j}" for s in ("a", "b") for j in range(4))]

    def test_call_schema_over_a_subset(self) -> None:
        """The round schema can be built over the selected tools only."""
        reg = ToolRegistry([tool("a.x"), tool("a.y")])
        schema = reg.call_schema(2, [reg.get("a.y")])
        calls = schema["anyOf"][0]["properties"]["calls"]["items"]["anyOf"]
        assert [c["properties"]["tool"]["const"] for c in calls] == ["a.y"]
