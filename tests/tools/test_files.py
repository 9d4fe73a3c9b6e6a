"""fs.write / fs.patch / fs.search: dry runs, exact patches, and no way out of the roots."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from greenroom.tools import FILE_TOOLS, ToolContext, ToolError, ToolRegistry, ToolsConfig


@pytest.fixture
def env(tmp_path: Path) -> tuple[Path, ToolContext, ToolRegistry]:
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "victim.txt").write_text("untouched")
    os.symlink(tmp_path / "outside", root / "escape")
    os.symlink(tmp_path / "outside" / "victim.txt", root / "victim-link.txt")
    ctx = ToolContext(task_id="t", call_id="c", config=ToolsConfig(fs_roots=[str(root)]))
    return root, ctx, ToolRegistry(FILE_TOOLS)


def run(reg: ToolRegistry, ctx: ToolContext, tool: str, **args: object) -> str:
    spec = reg.get(tool)
    return spec.run(ctx, spec.parse_args(args))


class TestWrite:
    def test_dry_run_shows_a_diff_and_changes_nothing(self, env) -> None:  # type: ignore[no-untyped-def]
        """A dry-run write returns the unified diff; the file is unchanged."""
        root, ctx, reg = env
        (root / "a.txt").write_text("one\ntwo\n")
        out = run(reg, ctx, "fs.write", path=str(root / "a.txt"), content="one\nTWO\n", dry_run=True)
        assert "-two" in out
        assert "+TWO" in out
        assert (root / "a.txt").read_text() == "one\ntwo\n"

    def test_write_creates_atomically(self, env) -> None:  # type: ignore[no-untyped-def]
        """A real write creates the file (and folders) with exactly the content."""
        root, ctx, reg = env
        run(reg, ctx, "fs.write", path=str(root / "sub" / "b.txt"), content="hello\n")
        assert (root / "sub" / "b.txt").read_text() == "hello\n"
        assert not [p for p in (root / "sub").iterdir() if p.name.endswith(".tmp")]

    @pytest.mark.parametrize(
        "target",
        ["../outside/victim.txt", "escape/victim.txt", "victim-link.txt", "escape/new.txt", "sub/../../outside/x"],
    )
    def test_no_path_outside_the_roots_is_touched(self, env, target: str) -> None:  # type: ignore[no-untyped-def]
        """Neither '..' nor symlinks (to files or folders) lead a write outside the roots."""
        root, ctx, reg = env
        outside = root.parent / "outside"
        before = sorted(p.name for p in outside.iterdir())
        for tool, args in (
            ("fs.write", {"content": "pwned"}),
            ("fs.patch", {"old": "untouched", "new": "pwned"}),
        ):
            with pytest.raises(ToolError, match="outside the allowed roots"):
                run(reg, ctx, tool, path=str(root / target), **args)
        assert (outside / "victim.txt").read_text() == "untouched"
        assert sorted(p.name for p in outside.iterdir()) == before


class TestPatch:
    def test_patch_applies_exactly(self, env) -> None:  # type: ignore[no-untyped-def]
        """One exact occurrence is replaced; nothing else changes."""
        root, ctx, reg = env
        (root / "c.py").write_text("a = 1\nb = 2\nc = 3\n")
        out = run(reg, ctx, "fs.patch", path=str(root / "c.py"), old="b = 2", new="b = 20")
        assert (root / "c.py").read_text() == "a = 1\nb = 20\nc = 3\n"
        assert "+b = 20" in out

    def test_ambiguous_or_missing_old_text_is_refused(self, env) -> None:  # type: ignore[no-untyped-def]
        """`old` must occur exactly once; otherwise the file is left alone."""
        root, ctx, reg = env
        (root / "d.txt").write_text("x x")
        with pytest.raises(ToolError, match="occurs 2 times"):
            run(reg, ctx, "fs.patch", path=str(root / "d.txt"), old="x", new="y")
        with pytest.raises(ToolError, match="occurs 0 times"):
            run(reg, ctx, "fs.patch", path=str(root / "d.txt"), old="z", new="y")
        assert (root / "d.txt").read_text() == "x x"

    def test_patch_dry_run(self, env) -> None:  # type: ignore[no-untyped-def]
        """A dry-run patch shows the diff only."""
        root, ctx, reg = env
        (root / "e.txt").write_text("old\n")
        out = run(reg, ctx, "fs.patch", path=str(root / "e.txt"), old="old", new="new", dry_run=True)
        assert "+new" in out
        assert (root / "e.txt").read_text() == "old\n"


class TestSearch:
    def test_search_by_glob_and_text_without_following_symlinks(self, env) -> None:  # type: ignore[no-untyped-def]
        """Search finds matches under the root and never descends into a symlinked folder."""
        root, ctx, reg = env
        (root / "notes").mkdir()
        (root / "notes" / "q.md").write_text("open question: why?")
        (root / "notes" / "r.md").write_text("nothing here")
        out = run(reg, ctx, "fs.search", root=str(root), glob="*.md", contains="question")
        assert out.splitlines() == [str(root / "notes" / "q.md")]
        assert "victim" not in run(reg, ctx, "fs.search", root=str(root))
