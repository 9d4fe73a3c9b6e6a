"""How the CLI prints a timeline: one line per event, tokens inline with --tokens."""

from __future__ import annotations

import pytest

from greenroom.bus import events as e
from greenroom.bus.envelope import Envelope
from greenroom.clients.cli.render import Printer


def env(seq: int, event: e.Event) -> Envelope:
    return Envelope(seq=seq, ts=0.0, source="test", event=event, task_id="t-1")


STREAM = [
    env(1, e.TaskStarted()),
    env(2, e.LlmChunk(request_id="t-1:answer", text="The capital")),
    env(3, e.LlmChunk(request_id="t-1:answer", text=" is\nParis.")),
    env(4, e.LlmChunk(request_id="t-1:verdict:1", text="{}")),
    env(5, e.TaskFinished(answer="Paris")),
]


class TestPrinter:
    def test_tokens_stream_inline_one_line_per_generation(self, capsys: pytest.CaptureFixture[str]) -> None:
        """With tokens on, a generation's chunks share one line; another event starts a new line."""
        printer = Printer(tokens=True)
        for item in STREAM:
            printer.show(item)
        printer.end_line()
        lines = capsys.readouterr().out.splitlines()
        assert len(lines) == 4
        assert lines[1].startswith("#2")
        assert lines[1].endswith("answer: The capital is Paris.")
        assert lines[2].endswith("verdict:1: {}")
        assert lines[3].startswith("#5     task.finished")

    def test_without_tokens_chunks_are_not_shown(self, capsys: pytest.CaptureFixture[str]) -> None:
        """Without tokens, only the other events print, one line each."""
        printer = Printer(tokens=False)
        for item in STREAM:
            printer.show(item)
        assert [ln[:3] for ln in capsys.readouterr().out.splitlines()] == ["#1 ", "#5 "]
