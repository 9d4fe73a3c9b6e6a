from __future__ import annotations

import os
from pathlib import Path

import pytest

from greenroom.tools import (
    BUILTIN_TOOLS,
    ArgumentsError,
    ToolContext,
    ToolError,
    ToolRegistry,
    ToolsConfig,
    UnknownToolError,
)


def _ctx(root: Path) -> ToolContext:
    return ToolContext(task_id="t", call_id="t:1:1:0", config=ToolsConfig(fs_roots=[str(root)], max_output_bytes=100))


@pytest.fixture
def registry() -> ToolRegistry:
    return ToolRegistry(BUILTIN_TOOLS)


class TestFsTools:
    def test_read_inside_root(self, tmp_path: Path, registry: ToolRegistry) -> None:
        """fs.read returns a file's text when it lies under a root."""
        (tmp_path / "a.txt").write_text("hello")
        tool = registry.get("fs.read")
        assert tool.run(_ctx(tmp_path), tool.parse_args({"path": str(tmp_path / "a.txt")})) == "hello"

    def test_read_is_capped(self, tmp_path: Path, registry: ToolRegistry) -> None:
        """Output is truncated at the configured size and says so."""
        (tmp_path / "big.txt").write_text("x" * 1000)
        tool = registry.get("fs.read")
        out = tool.run(_ctx(tmp_path), tool.parse_args({"path": str(tmp_path / "big.txt")}))
        assert out.startswith("x" * 100)
        assert "truncated at 100 bytes" in out

    @pytest.mark.parametrize("escape", ["../outside.txt", "link.txt"])
    def test_no_escape_by_dotdot_or_symlink(self, tmp_path: Path, registry: ToolRegistry, escape: str) -> None:
        """Neither '..' nor a symlink reaches outside the roots."""
        root = tmp_path / "root"
        root.mkdir()
        (tmp_path / "outside.txt").write_text("secret")
        os.symlink(tmp_path / "outside.txt", root / "link.txt")
        tool = registry.get("fs.read")
        with pytest.raises(ToolError, match="outside the allowed roots"):
            tool.run(_ctx(root), tool.parse_args({"path": str(root / escape)}))

    def test_binary_files_are_refused(self, tmp_path: Path, registry: ToolRegistry) -> None:
        """Binary content gets a clear error instead of garbage."""
        (tmp_path / "b.bin").write_bytes(b"\0\1\2\3")
        tool = registry.get("fs.read")
        with pytest.raises(ToolError, match="binary"):
            tool.run(_ctx(tmp_path), tool.parse_args({"path": str(tmp_path / "b.bin")}))

    def test_list(self, tmp_path: Path, registry: ToolRegistry) -> None:
        """fs.list shows names, directories with a slash."""
        (tmp_path / "d").mkdir()
        (tmp_path / "f").write_text("")
        tool = registry.get("fs.list")
        assert tool.run(_ctx(tmp_path), tool.parse_args({"path": str(tmp_path)})) == "d/\nf"


class TestRegistry:
    def test_bad_arguments_name_the_field(self, registry: ToolRegistry) -> None:
        """Validation errors say which argument is wrong, for the model to correct."""
        with pytest.raises(ArgumentsError, match=r"\$\.path"):
            registry.get("fs.read").parse_args({"path": 3})
        with pytest.raises(ArgumentsError, match="unknown field"):
            registry.get("system.time").parse_args({"zone": "x"})

    def test_unknown_tool(self, registry: ToolRegistry) -> None:
        """An unknown name lists the known tools."""
        with pytest.raises(UnknownToolError, match=r"system\.time"):
            registry.get("nope")

    def test_call_schema_caps_calls_per_round(self, registry: ToolRegistry) -> None:
        """The decision schema allows at most N calls, each naming a real tool."""
        schema = registry.call_schema(4)
        calls = schema["anyOf"][0]["properties"]["calls"]
        assert calls["maxItems"] == 4
        names = {c["properties"]["tool"]["const"] for c in calls["items"]["anyOf"]}
        assert names == set(registry.names())
        assert "$ref" not in str(schema)


class TestMemorable:
    def test_answers_memory_holds_already_or_that_go_stale_leave_no_task_summary(self) -> None:
        """The memory tools, the clock, the calculator, the converter and reminders are not memorable; every other
        built-in is."""
        from greenroom.tools import ToolsConfig, default_tools

        tools = default_tools(ToolsConfig(shell_enabled=True))
        assert {t.name for t in tools if not t.memorable} == {
            "memory.remember",
            "memory.recall",
            "memory.forget",
            "system.time",
            "math.calculate",
            "units.convert",
            "reminders.set",
        }
