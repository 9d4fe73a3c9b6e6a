"""``greenroom memory ...`` against a real daemon process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import cli_flags


@pytest.fixture
def memory_daemon(short_tmp: Path, daemon_process: Any, tiny_model: Path) -> Any:
    flags = [*cli_flags(short_tmp), "--set", f'memory.reranker_model="{tiny_model}"']
    daemon = daemon_process(short_tmp, flags).start()
    daemon.flags = flags
    return daemon


def greenroom(daemon: Any, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "greenroom", *daemon.flags, "memory", *args],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL, env=dict(os.environ),
    )  # fmt: skip


class TestMemoryCli:
    def test_add_search_forget_stats(self, memory_daemon: Any) -> None:
        """A note goes in, comes back with why it matched, and is gone after forget."""
        added = greenroom(memory_daemon, "add", "The wifi password at the cabin is on the fridge", "--tag", "cabin")
        assert added.returncode == 0, added.stderr
        item_id = added.stdout.split()[-1]

        found = greenroom(memory_daemon, "search", "cabin wifi")
        assert found.returncode == 0, found.stderr
        assert f"[{item_id}] note" in found.stdout
        assert "bm25 #1" in found.stdout
        assert "rerank " in found.stdout, "the daemon reranks with the configured model"

        hits = json.loads(greenroom(memory_daemon, "search", "cabin wifi", "--json", "--tag", "cabin").stdout)
        assert hits["reranked"] is True
        assert hits["hits"][0]["scores"]["rerank"] is not None
        none = json.loads(greenroom(memory_daemon, "search", "cabin wifi", "--json", "--tag", "work").stdout)
        assert none["hits"] == []

        forgot = greenroom(memory_daemon, "forget", item_id)
        assert forgot.returncode == 0, forgot.stderr
        assert f"forgot 1 item(s), 1 chunk(s): {item_id}" in forgot.stdout
        assert "nothing in memory matches" in greenroom(memory_daemon, "search", "cabin wifi").stdout
        stats = json.loads(greenroom(memory_daemon, "stats", "--json").stdout)
        assert (stats["items"], stats["chunks"], stats["bm25_docs"], stats["dense_vectors"]) == (0, 0, 0, 0)

    def test_ingest_shows_progress_and_a_report(self, memory_daemon: Any, short_tmp: Path) -> None:
        """Ingest follows the timeline to the end, naming skipped files; a second run changes nothing."""
        docs = short_tmp / "docs"
        docs.mkdir()
        (docs / "boat.md").write_text("# Boat\n\nThe dinghy needs new oarlocks before June.")
        (docs / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
        first = greenroom(memory_daemon, "ingest", str(docs))
        assert first.returncode == 0, first.stderr
        assert "added 1, updated 0, unchanged 0, forgotten 0, skipped 1" in first.stdout
        assert "image.png: binary file" in first.stderr
        second = json.loads(greenroom(memory_daemon, "ingest", str(docs), "--json").stdout)
        assert (second["added"], second["unchanged"], second["embedded"]) == (0, 1, 0)
        found = greenroom(memory_daemon, "search", "oarlocks", "--source", "path")
        assert str(docs / "boat.md") in found.stdout

    def test_ingest_draws_a_progress_bar_on_a_terminal(self, memory_daemon: Any, short_tmp: Path) -> None:
        """On a terminal, stderr carries a progress bar that reaches the file count."""
        import fcntl
        import pty
        import struct
        import termios

        docs = short_tmp / "many"
        docs.mkdir()
        for i in range(5):
            (docs / f"n{i}.txt").write_text(f"note {i} about subject {i * 7} and nothing else {i * 13}")
        main, child = pty.openpty()
        fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a new pty is 0 columns wide
        proc = subprocess.Popen(
            [sys.executable, "-m", "greenroom", *memory_daemon.flags, "memory", "ingest", str(docs)],
            stdout=subprocess.PIPE, stderr=child, stdin=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        os.close(child)
        stdout, _ = proc.communicate(timeout=120)
        chunks = []
        while True:
            try:
                data = os.read(main, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        os.close(main)
        bar = b"".join(chunks).decode(errors="replace")
        assert proc.returncode == 0
        assert "added 5" in stdout
        assert "ingest: 100%" in bar
        assert "5/5" in bar

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (["add", "   "], "cannot remember empty text"),
            (["search", " "], "the query is empty"),
            (["ingest", "/no/such/place"], "no such file or folder: /no/such/place"),
            (["forget"], "say what to forget"),
            (["search", "x", "--since", "yesterday"], "is not like 7d"),
        ],
    )
    def test_bad_input_gets_one_clear_line(self, memory_daemon: Any, args: list[str], message: str) -> None:
        result = greenroom(memory_daemon, *args)
        assert result.returncode == 2
        assert message in result.stderr
        assert "Traceback" not in result.stderr
