"""The default model's conversion reports progress with an estimate (a stand-in child process,
so no 20-second conversion), and garbage from the child cannot break the relay."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from greenroom.bus import events as e
from greenroom.bus.envelope import Envelope
from greenroom.clients.cli.render import line
from greenroom.models import LoadProgress, ModelError
from greenroom.models import default_model as dm


def child(body: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(body)]


class TestRelay:
    def test_reports_come_with_an_estimate_and_end_at_one(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The first report has no estimate yet, later ones do, and the last says 100%."""
        monkeypatch.setattr(dm, "REPORT_EVERY_S", 0.0)
        reports: list[LoadProgress] = []
        script = child("""
            import time
            for line in ["PROGRESS 0.0 loading", "noise from a library", "PROGRESS 0.5 working", "PROGRESS x y",
                         "PROGRESS 0.75 working", "PROGRESS 1.0 writing"]:
                print(line, flush=True)
                time.sleep(0.01)
        """)
        dm._run_converter(tmp_path / "m.gguf", tmp_path / "out", reports.append, argv=script)
        assert [r.fraction for r in reports] == [0.0, 0.5, 0.75, 1.0]
        assert reports[0].eta_s is None
        assert all(r.eta_s is not None and r.eta_s >= 0 for r in reports[1:])
        assert reports[-1].eta_s == 0.0
        assert [r.stage for r in reports] == ["loading", "working", "working", "writing"]

    def test_reports_are_rate_limited(self, tmp_path: Path) -> None:
        """A chatty child does not flood the timeline: the first and the last report get through."""
        reports: list[LoadProgress] = []
        script = child("""
            for i in range(200):
                print(f"PROGRESS {i / 200} working", flush=True)
            print("PROGRESS 1.0 done", flush=True)
        """)
        dm._run_converter(tmp_path / "m.gguf", tmp_path / "out", reports.append, argv=script)
        assert reports[0].fraction == 0.0
        assert reports[-1].fraction == 1.0
        assert len(reports) < 10

    def test_a_stalled_stage_is_reported_once(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """The same fraction and stage again (a stage running long) is not reported again."""
        monkeypatch.setattr(dm, "REPORT_EVERY_S", 0.0)
        reports: list[LoadProgress] = []
        script = child("""
            for line in ["PROGRESS 0.9 working"] * 5 + ["PROGRESS 1.0 done"]:
                print(line, flush=True)
        """)
        dm._run_converter(tmp_path / "m.gguf", tmp_path / "out", reports.append, argv=script)
        assert [r.fraction for r in reports] == [0.9, 1.0]

    def test_a_failed_child_is_a_model_error_with_its_last_line(self, tmp_path: Path) -> None:
        """A child that fails gives a ModelError naming what it said last."""
        script = child("""
            import sys
            sys.stderr.write("some warning\\nconverting needs greenroom[convert] (torch is missing)\\n")
            raise SystemExit(1)
        """)
        with pytest.raises(ModelError, match=r"failed: converting needs greenroom\[convert\] \(torch is missing\)"):
            dm._run_converter(tmp_path / "m.gguf", tmp_path / "out", lambda _p: None, argv=script)

    @given(st.text(max_size=80))
    def test_any_line_parses_or_is_ignored(self, text: str) -> None:
        """Whatever the child prints, a line is a fraction in [0, 1] with a stage, or nothing."""
        parsed = dm._parse_progress(text)
        if parsed is not None:
            fraction, stage = parsed
            assert 0.0 <= fraction <= 1.0
            assert isinstance(stage, str)


class TestTimeline:
    def test_preparing_lines_say_progress_and_time_left(self) -> None:
        """model.preparing renders as progress with the time left, and "done" at the end."""

        def render(fraction: float, eta: float | None) -> str:
            ev = e.ModelPreparing(model="smollm2-135m", stage="dequantizing the weights", fraction=fraction, eta_s=eta)
            return line(Envelope(seq=7, ts=0.0, source="llm", event=ev, task_id="t-1"))

        assert render(0.0, None).endswith("one-time conversion 0%, dequantizing the weights (estimating the time left)")
        assert render(0.42, 12.4).endswith("one-time conversion 42%, dequantizing the weights (about 12s left)")
        assert render(1.0, 0.0).endswith("smollm2-135m: one-time conversion done")
