"""The scripted backend's script: globs, answers in turn, and ``{hold}`` (tests' "cancel while it writes")."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from greenroom.models import GenerationCancelled, GenerationRequest, Message, ModelError, Usage, scripted
from greenroom.models.scripted import ScriptedBackend


def backend(tmp_path: Path, responses: dict[str, object], delay_s: float = 0.0) -> ScriptedBackend:
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"responses": responses, "delay_s": delay_s}))
    return ScriptedBackend(script)


def ask(b: ScriptedBackend, purpose: str, stop: threading.Event | None = None) -> str:
    request = GenerationRequest(messages=[Message("user", "hi")], purpose=purpose)
    return "".join(b.stream(request, Usage(), stop or threading.Event()))


def test_a_list_answers_in_turn_and_its_last_repeats(tmp_path: Path) -> None:
    b = backend(tmp_path, {"answer": ["first", "second"], "step:*": "a step"})
    assert [ask(b, "answer") for _ in range(3)] == ["first", "second", "second"]
    assert ask(b, "step:1:round:1") == "a step"
    assert ask(b, "verdict:1") == scripted._DEFAULTS["verdict:*"]


def test_an_empty_list_answers_generically(tmp_path: Path) -> None:
    assert ask(backend(tmp_path, {"answer": []}), "answer") == "Done."


def test_hold_waits_for_the_stop_and_is_never_sent(tmp_path: Path) -> None:
    b = backend(tmp_path, {"answer": "one {hold} two"})
    stop, got = threading.Event(), []
    request = GenerationRequest(messages=[Message("user", "hi")], purpose="answer")

    def consume() -> None:
        for piece in b.stream(request, Usage(), stop):
            got.append(piece)
            stop.set()  # the person cancels once the first word is out

    with pytest.raises(GenerationCancelled):
        consume()
    assert got == ["one "]


def test_a_hold_never_stopped_is_an_error_not_a_hang(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scripted, "HOLD_LIMIT_S", 0.01)
    with pytest.raises(ModelError, match="never stopped"):
        ask(backend(tmp_path, {"answer": "one {hold} two"}), "answer")
