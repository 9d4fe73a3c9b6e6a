"""Model lifecycle: lazy load, idle unload (injectable clock), memory guard, loaded/unloaded events."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from greenroom.actors.messages import GenerateNow
from greenroom.bus import decode_envelope
from greenroom.bus import events as e
from greenroom.models import GenerationRequest, Message, MlxBackend, ModelError, Usage
from tests.conftest import make_config, wait_for


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _ask(backend: MlxBackend) -> str:
    request = GenerationRequest(messages=[Message("user", "hi")], max_tokens=4)
    return "".join(backend.stream(request, Usage(), threading.Event()))


class TestIdleUnload:
    def test_unloads_after_keep_alive_and_reloads_on_next_use(self, tiny_model: Path) -> None:
        """Idle past keep-alive unloads; the next request loads it again."""
        clock = FakeClock()
        backend = MlxBackend(lambda: tiny_model, name="tiny", keep_alive_s=600, clock=clock)
        assert not backend.loaded
        _ask(backend)
        assert backend.loaded
        clock.now += 599
        assert not backend.unload_if_idle()
        clock.now += 2
        assert backend.unload_if_idle()
        assert not backend.loaded
        _ask(backend)
        assert backend.loaded

    def test_use_resets_the_idle_timer(self, tiny_model: Path) -> None:
        """Each request counts as use."""
        clock = FakeClock()
        backend = MlxBackend(lambda: tiny_model, name="tiny", keep_alive_s=10, clock=clock)
        _ask(backend)
        clock.now += 8
        _ask(backend)
        clock.now += 8
        assert not backend.unload_if_idle()


class TestMemoryGuard:
    def test_refuses_a_model_that_does_not_fit_and_names_the_numbers(self, tiny_model: Path) -> None:
        """With too little memory the load is refused with the sizes; nothing is loaded."""
        backend = MlxBackend(lambda: tiny_model, name="tiny", available_memory=lambda: 1024)
        with pytest.raises(ModelError, match=r"needs about .* MiB .* but only 0 MiB is available"):
            backend.load()
        assert not backend.loaded

    def test_override(self, tiny_model: Path) -> None:
        """allow_oversize loads anyway."""
        backend = MlxBackend(lambda: tiny_model, name="tiny", available_memory=lambda: 1024, allow_oversize=True)
        backend.load()
        assert backend.loaded


def test_daemon_journals_load_and_idle_unload(short_tmp: Path, tiny_model: Path, daemon_factory: Any) -> None:
    """The LLM actor journals model.loaded on first use and model.unloaded when idle, then reloads."""
    config = make_config(
        short_tmp, None, "llm.backend=mlx", f'llm.model="{tiny_model}"', "llm.keep_alive_s=0.5", "llm.max_tokens=8"
    )
    d = daemon_factory(config)
    llm = d.runtime.deps.handles.llm
    request = GenerationRequest(messages=[Message("user", "hi")], max_tokens=4)

    def kinds() -> list[e.Event]:
        rows = d.runtime.journal.read(types=["model.loaded", "model.unloaded"])
        return [decode_envelope(raw).event for _, raw in rows]

    llm.ask(GenerateNow(request=request))
    assert [type(k) for k in kinds()] == [e.ModelLoaded]
    wait_for(lambda: len(kinds()) == 2, timeout=15)
    assert kinds()[1] == e.ModelUnloaded(model=str(tiny_model), reason="idle")
    assert not d.runtime.status().model_loaded
    llm.ask(GenerateNow(request=request))
    assert [type(k) for k in kinds()] == [e.ModelLoaded, e.ModelUnloaded, e.ModelLoaded]
