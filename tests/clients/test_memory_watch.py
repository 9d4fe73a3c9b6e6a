"""Folders kept indexed: a real daemon process, real files, watchfiles."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from greenroom.bus.events import MemoryIngestFinished, MemoryIngestProgress
from greenroom.clients import Client
from tests.conftest import cli_flags, wait_for


def greenroom(flags: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "greenroom", *flags, "memory", *args],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL, env=dict(os.environ),
    )  # fmt: skip


def watch_runs(client: Client, after: int = 0) -> list[Any]:
    """Finished watch-triggered ingest runs (ids ``w-…``) after seq ``after``."""
    return [
        e.event
        for e in client.replay(after + 1, limit=5000).events
        if isinstance(e.event, MemoryIngestFinished) and e.event.run_id.startswith("w-")
    ]


def found(client: Client, text: str) -> list[str]:
    return [h.uri or "" for h in client.memory_search(text, k=3, rerank=False).hits if text in h.text]


@pytest.mark.slow
class TestWatchedFolder:
    def test_edit_is_searchable_within_5s_and_only_that_file_is_read(
        self, short_tmp: Path, daemon_process: Any
    ) -> None:
        """An edit in a watched folder is found by search within 5 s, re-reading that file alone;
        deletions are forgotten; the watch survives a restart and catches up on what changed meanwhile."""
        docs = short_tmp / "docs"
        docs.mkdir()
        (docs / "a.md").write_text("# Apples\n\nAlpha apples grow in the orchard behind the barn.\n")
        (docs / "b.md").write_text("# Bread\n\nBanana bread needs three ripe bananas and patience.\n")
        for i in range(3):
            (docs / f"n{i}.txt").write_text(f"Note {i}: the meeting about topic {i} moved to Thursday.\n")
        flags = [*cli_flags(short_tmp), "--set", "memory.rerank=false"]
        daemon = daemon_process(short_tmp, flags).start()
        client = Client(daemon.runtime_dir, timeout=120).connect()
        try:
            added = greenroom(flags, "watch", str(docs), "--tag", "docs")
            assert added.returncode == 0, added.stderr
            assert added.stdout.strip() == f"{docs}  (tags: docs)"
            [first] = wait_for(lambda: watch_runs(client), timeout=120)
            assert (first.report.added, first.error) == (5, "")

            head = client.status().head
            with open(docs / "a.md", "a") as f:
                f.write("\nA quokka smiles at the zebras every morning.\n")
            edited = time.monotonic()
            hits = wait_for(lambda: found(client, "quokka"), timeout=5, interval=0.05)
            took = time.monotonic() - edited
            assert hits == [str(docs / "a.md")], f"found after {took:.2f}s"
            [run] = wait_for(lambda: watch_runs(client, head))
            assert (run.report.updated, run.report.added, run.report.unchanged) == (1, 0, 0)
            paths = {e.event.path for e in client.replay(head + 1, limit=5000).events
                     if isinstance(e.event, MemoryIngestProgress) and e.event.run_id == run.run_id}  # fmt: skip
            assert paths == {str(docs / "a.md")}, "only the edited file is re-read"

            head = client.status().head
            (docs / "b.md").unlink()
            [gone] = wait_for(lambda: watch_runs(client, head), timeout=10)
            assert gone.report.forgotten == 1
            assert found(client, "Banana") == []

            assert greenroom(flags, "watch", "--list").stdout.strip() == f"{docs}  (tags: docs)"
            head = client.status().head
            client.close()
            assert daemon.kill(15) == 0
            (docs / "n0.txt").write_text("Note 0: the meeting moved to the lighthouse.\n")
            daemon = daemon_process(short_tmp, flags).start()
            client = Client(daemon.runtime_dir, timeout=120).connect()
            assert greenroom(flags, "watch", "--list").stdout.strip() == f"{docs}  (tags: docs)"
            [resumed] = wait_for(lambda: watch_runs(client, head), timeout=120)
            assert (resumed.report.updated, resumed.report.unchanged) == (1, 3)
            wait_for(lambda: found(client, "lighthouse"), timeout=30)

            removed = greenroom(flags, "watch", "rm", str(docs))
            assert removed.returncode == 0, removed.stderr
            assert greenroom(flags, "watch", "--list").stdout.strip() == "no folders are watched"
            assert greenroom(flags, "watch", "rm", str(docs)).returncode == 2
            missing = greenroom(flags, "watch", str(short_tmp / "nope"))
            assert missing.returncode == 2
            assert "no such file or folder" in missing.stderr
        finally:
            client.close()
