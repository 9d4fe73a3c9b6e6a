"""File tools act on the path the policy approved, never where a since-swapped link leads."""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greenroom.bus import events as e
from greenroom.bus import read_envelopes
from greenroom.tools import FILE_TOOLS, ToolContext, ToolError, ToolRegistry, ToolsConfig
from greenroom.tools.builtin import BUILTIN_TOOLS
from greenroom.tools.nofollow import LinkedPathError, list_dir, read_bytes, write_atomic
from tests.conftest import call, finish, make_config, plan, wait_for, write_script


class TestNoFollow:
    def test_a_symlinked_directory_on_the_way_stops_the_write(self, tmp_path: Path) -> None:
        """Writing through a directory that is a symlink is refused; the link's target is untouched."""
        (tmp_path / "secret").mkdir()
        os.symlink(tmp_path / "secret", tmp_path / "docs")
        with pytest.raises(LinkedPathError, match="`docs` is a symbolic link"):
            write_atomic(tmp_path / "docs" / "config.toml", b"pwned")
        assert list((tmp_path / "secret").iterdir()) == []

    def test_a_symlinked_file_is_replaced_not_written_through(self, tmp_path: Path) -> None:
        """A link at the final name is replaced by a regular file; what it pointed to is unchanged."""
        (tmp_path / "target.txt").write_text("keep")
        os.symlink(tmp_path / "target.txt", tmp_path / "a.txt")
        write_atomic(tmp_path / "a.txt", b"new")
        assert (tmp_path / "target.txt").read_text() == "keep"
        assert not (tmp_path / "a.txt").is_symlink()
        assert (tmp_path / "a.txt").read_text() == "new"

    def test_reads_and_listings_do_not_follow_links(self, tmp_path: Path) -> None:
        """A linked file reads as refused; a listing shows links as entries, not their targets."""
        (tmp_path / "real.txt").write_text("x")
        os.symlink(tmp_path / "real.txt", tmp_path / "link.txt")
        with pytest.raises(LinkedPathError):
            read_bytes(tmp_path / "link.txt", 10)
        assert read_bytes(tmp_path / "missing" / "x.txt", 10) is None
        assert sorted(list_dir(tmp_path)) == [("link.txt", False), ("real.txt", False)]

    def test_new_files_follow_the_umask(self, tmp_path: Path) -> None:
        """A new file gets 0666 less the umask (the person's files are not greenroom's private data)."""
        old = os.umask(0o022)
        try:
            write_atomic(tmp_path / "n.txt", b"x")
        finally:
            os.umask(old)
        assert stat.S_IMODE((tmp_path / "n.txt").stat().st_mode) == 0o644

    @settings(max_examples=200, deadline=None)
    @given(value=st.one_of(st.text(max_size=60), st.text(max_size=20).map(lambda t: "../" * 5 + t)))
    def test_any_path_argument_is_a_tool_error_or_a_result(self, tmp_path_factory: Any, value: str) -> None:
        """fs.read/fs.list/fs.write (dry run) on arbitrary paths either work or raise ToolError, nothing else."""
        root = tmp_path_factory.getbasetemp() / "fuzzroot"
        root.mkdir(exist_ok=True)
        ctx = ToolContext(task_id="t", call_id="c", config=ToolsConfig(fs_roots=[str(root)]))
        reg = ToolRegistry([*BUILTIN_TOOLS, *FILE_TOOLS])
        for tool, extra in (("fs.read", {}), ("fs.list", {}), ("fs.write", {"content": "x", "dry_run": True})):
            spec = reg.get(tool)
            with contextlib.suppress(ToolError):
                spec.run(ctx, spec.parse_args({"path": str(root / value), **extra}))
        assert list(root.iterdir()) == [], "dry runs and reads create nothing"


class TestApprovalCannotLandElsewhere:
    def test_a_folder_swapped_for_a_symlink_after_approval_stops_the_write(
        self, short_tmp: Path, daemon_factory: Any
    ) -> None:
        """The person approves a write to docs/config.toml; docs then becomes a link to another folder;
        the write is refused and the other folder's file is untouched."""
        (short_tmp / "docs").mkdir()
        (short_tmp / "private").mkdir()
        (short_tmp / "private" / "config.toml").write_text("original")
        target = short_tmp / "docs" / "config.toml"
        script = write_script(
            short_tmp / "s.json",
            {
                "plan": plan("write the config"),
                "step:1:round:1": call(
                    ("fs.write", {"path": str(short_tmp / "docs" / ".." / "docs" / "config.toml"), "content": "pwned"})
                ),
                "step:1:round:2": finish("done"),
            },
        )
        d = daemon_factory(make_config(short_tmp, script))
        task_id, _ = d.runtime.submit("write the config")
        view = wait_for(lambda: (v := d.runtime.tasks.get(task_id)) and v.confirmations and v, 20)
        (pending,) = view.confirmations
        assert pending.resolved == {"path": str(target)}
        assert f"on {target} (given as " in pending.question, "the question shows where the write really goes"
        (short_tmp / "docs").rename(short_tmp / "docs.old")
        os.symlink(short_tmp / "private", short_tmp / "docs")
        d.runtime.confirm(pending.confirmation_id, approved=True, remember=False)
        wait_for(lambda: d.runtime.tasks.get(task_id).status in ("finished", "failed"), 20)
        assert (short_tmp / "private" / "config.toml").read_text() == "original"
        result = next(
            env.event
            for env in read_envelopes(d.runtime.journal, task_id=task_id)
            if isinstance(env.event, e.ToolResult)
        )
        assert not result.ok
        assert "not to " + str(target) in result.error
