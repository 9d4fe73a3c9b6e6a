"""Explicit load/unload and resident-model limits in a daemon, with real tiny mlx-lm models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from greenroom.bus import decode_envelope
from greenroom.bus import events as e
from greenroom.clients import ServerError
from tests.conftest import make_config, wait_for


def model_events(d: Any) -> list[e.Event]:
    return [
        ev
        for ev in (decode_envelope(raw).event for _, raw in d.runtime.journal.read())
        if isinstance(ev, (e.ModelLoaded, e.ModelUnloaded))
    ]


@pytest.fixture(scope="module")
def second_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from greenroom.models.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny2") / "qwen3-tiny-b", seed=1)


class TestExplicitLoad:
    def test_load_evicts_beyond_the_resident_limit_and_unload_is_journaled(
        self, short_tmp: Path, daemon_factory: Any, tiny_model: Path, second_model: Path
    ) -> None:
        """Loading B with max 1 resident unloads A (evicted); unload is explicit; status follows."""
        config = make_config(short_tmp, None, "llm.backend='mlx'", f'llm.model="{tiny_model}"')
        d = daemon_factory(config)
        with d.client() as client:
            assert client.load_model() == str(tiny_model)
            assert client.status().model_loaded
            assert client.load_model(str(second_model)) == str(second_model)
            assert client.status().model == str(second_model)
            assert client.unload_model()
            assert not client.status().model_loaded
            assert not client.unload_model()
            with pytest.raises(ServerError, match="unknown model 'nonsense'"):
                client.load_model("nonsense")
        expected = [
            ("ModelLoaded", str(tiny_model), "explicit"),
            ("ModelLoaded", str(second_model), "explicit"),
            ("ModelUnloaded", str(tiny_model), "evicted"),
            ("ModelUnloaded", str(second_model), "explicit"),
        ]
        # The last unload's event may still be on its way to the journal when its reply arrives.
        seen = wait_for(lambda: len(events := model_events(d)) >= len(expected) and events)
        assert [(type(ev).__name__, ev.model, ev.reason) for ev in seen] == expected

    def test_two_resident_models_stay_loaded(
        self, short_tmp: Path, daemon_factory: Any, tiny_model: Path, second_model: Path
    ) -> None:
        config = make_config(
            short_tmp, None, "llm.backend='mlx'", f'llm.model="{tiny_model}"', "llm.max_resident_models=2"
        )
        d = daemon_factory(config)
        with d.client() as client:
            client.load_model()
            client.load_model(str(second_model))
        assert not any(isinstance(ev, e.ModelUnloaded) for ev in model_events(d))


def test_per_model_keep_alive_overrides_the_config(short_tmp: Path, daemon_factory: Any, tiny_model: Path) -> None:
    """A model with keep_alive_s=0.2 in its parameters is unloaded as idle, by the actor's own timer,
    long before llm.keep_alive_s (600 s)."""
    from tests.conftest import wait_for

    config = make_config(short_tmp, None, "llm.backend='mlx'", f'llm.model="{tiny_model}"')
    d = daemon_factory(config)
    d.runtime.model_params.update(str(tiny_model), {"keep_alive_s": 0.2})
    with d.client() as client:
        client.load_model()
        wait_for(lambda: not client.status().model_loaded, timeout=30)
    unloaded = [ev for ev in model_events(d) if isinstance(ev, e.ModelUnloaded)]
    assert [(ev.model, ev.reason) for ev in unloaded] == [(str(tiny_model), "idle")]
