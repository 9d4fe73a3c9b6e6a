from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from greenroom.models import ScriptedBackend
from greenroom.models.params import ModelParams, ParamsStore, UnknownModelError
from tests.conftest import make_config, plan, wait_for, write_script


class TestParamsStore:
    def test_set_merge_and_persist(self, tmp_path: Path) -> None:
        store = ParamsStore(tmp_path / "state.sqlite")
        store.update("qwen3-4b", {"temperature": 0.7, "context_window": 8192})
        store.update("qwen3-4b", {"top_k": 40, "temperature": None})
        store.close()
        again = ParamsStore(tmp_path / "state.sqlite")
        assert again.get("qwen3-4b") == ModelParams(context_window=8192, top_k=40)
        assert again.get("qwen3-8b") == ModelParams()
        again.close()

    @pytest.mark.parametrize(
        ("model", "changes", "error", "message"),
        [
            ("qwen3-4b", {"temperature": -1}, ValueError, "temperature must not be negative"),
            ("qwen3-4b", {"context_window": 1_000_000}, ValueError, "over the model's maximum of 40960"),
            ("qwen3-4b", {"top_p": 1.5}, ValueError, "top_p must be in"),
            ("qwen3-4b", {"seed": 3}, ValueError, "unknown parameter .seed. for qwen3-4b"),
            ("qwen3-4b", {"max_tokens": "many"}, ValueError, "bad parameter"),
            ("gpt-17", {"temperature": 0.2}, UnknownModelError, "unknown model 'gpt-17'"),
        ],
    )
    def test_bad_values_are_refused_and_nothing_changes(
        self, tmp_path: Path, model: str, changes: dict[str, Any], error: type[Exception], message: str
    ) -> None:
        store = ParamsStore(tmp_path / "state.sqlite")
        store.update("qwen3-4b", {"temperature": 0.3})
        with pytest.raises(error, match=message):
            store.update(model, changes)
        assert store.get("qwen3-4b") == ModelParams(temperature=0.3)
        store.close()

    def test_a_local_folder_uses_its_own_maximum(self, tmp_path: Path, tiny_model: Path) -> None:
        store = ParamsStore(tmp_path / "state.sqlite")
        with pytest.raises(ValueError, match="over the model's maximum of 4096"):
            store.update(str(tiny_model), {"context_window": 8192})
        assert store.update(str(tiny_model), {"context_window": 2048}).context_window == 2048
        store.close()


def test_the_llm_actor_applies_the_active_models_params(short_tmp: Path, daemon_factory: Any) -> None:
    """Parameters set for the configured model reach every generation request."""
    script = write_script(short_tmp / "script.json", {"plan": plan("hi"), "answer": "hi"})
    backend = ScriptedBackend(script)
    d = daemon_factory(make_config(short_tmp, script), make_backend=lambda: backend)
    d.runtime.model_params.update("smollm2-135m", {"temperature": 0.6, "top_k": 20, "max_tokens": 99})
    task_id, _ = d.runtime.submit("say hi")
    wait_for(lambda: (v := d.runtime.tasks.get(task_id)) is not None and v.status == "finished", 20)
    assert backend.requests
    assert all((r.temperature, r.top_k, r.max_tokens) == (0.6, 20, 99) for r in backend.requests)
