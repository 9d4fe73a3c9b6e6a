"""The folder watcher (real watchfiles on a temp folder) and watched-path checks."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greenroom.actors.memory_watch import _check
from greenroom.memory import BadMemoryInput
from greenroom.memory.watch import FolderWatcher, owning_root
from tests.conftest import wait_for


class TestFolderWatcher:
    def test_changes_arrive_grouped_by_root_and_hidden_files_are_ignored(self, tmp_path: Path) -> None:
        """A written file arrives under its root; hidden files and ignored folders never do."""
        notes = tmp_path / "notes"
        (notes / "node_modules").mkdir(parents=True)
        batches: list[dict[str, set[str]]] = []
        lock = threading.Lock()

        def record(changes: dict[str, set[str]]) -> None:
            with lock:
                batches.append(changes)

        watcher = FolderWatcher(record, debounce_ms=50, ignore=["node_modules"])
        watcher.watch([str(notes)])
        try:
            (notes / ".secret").write_text("hidden")
            (notes / "node_modules" / "x.js").write_text("ignored")
            (notes / "a.md").write_text("hello")
            wait_for(lambda: any(str(notes / "a.md") in b.get(str(notes), set()) for b in batches))
            with lock:
                seen = set().union(*(paths for b in batches for paths in b.values()))
            assert str(notes / ".secret") not in seen
            assert str(notes / "node_modules" / "x.js") not in seen
        finally:
            watcher.close()

    def test_owning_root_prefers_the_longest(self) -> None:
        """A path belongs to the deepest root containing it, and not to a sibling sharing a prefix."""
        roots = ["/a", "/a/b", "/ab"]
        assert owning_root("/a/b/c.md", roots) == "/a/b"
        assert owning_root("/ab/c.md", roots) == "/ab"
        assert owning_root("/abc", roots) is None


class TestWatchedPaths:
    def test_relative_missing_and_root_paths_are_refused(self, tmp_path: Path) -> None:
        """Only existing absolute paths below the file system root can be watched."""
        assert _check(str(tmp_path)) == str(tmp_path.resolve())
        for bad, message in (("notes", "absolute"), (str(tmp_path / "nope"), "no such"), ("/", "whole file system"),
                             ("", "non-empty"), ("/tmp/\x00x", "NUL")):  # fmt: skip
            with pytest.raises(BadMemoryInput, match=message):
                _check(bad)

    @settings(max_examples=200, deadline=None)
    @given(st.text(max_size=50))
    def test_any_text_is_checked_cleanly(self, text: str) -> None:
        """Arbitrary text is refused with BadMemoryInput or resolves to an existing absolute path."""
        try:
            path = _check(text)
        except BadMemoryInput:
            return
        assert Path(path).is_absolute()
        assert Path(path).exists()
