from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from greenroom.models.catalog import load_catalog
from greenroom.models.local import local_models
from greenroom.models.system import SystemInfo, detect_system, fit
from tests.conftest import hub_cache


def system(budget: float, accelerator: str = "metal") -> SystemInfo:
    return SystemInfo(
        os="Darwin", machine="arm64", cpu_cores=10, total_memory_gb=budget / 0.75, available_memory_gb=budget,
        unified_memory=True, accelerator=accelerator, model_budget_gb=budget,
    )  # fmt: skip


class TestCatalog:
    def test_catalog_holds_the_default_and_a_spread_of_families_and_sizes(self) -> None:
        catalog = load_catalog()
        assert catalog.get("smollm2-135m") is not None
        assert {"qwen3", "qwen3-vl", "llama", "mistral", "gemma"} <= {m.family for m in catalog.models}
        sizes = [m.parameters_b for m in catalog.models if m.id != "smollm2-135m"]
        assert min(sizes) <= 0.6
        assert max(sizes) >= 30
        assert any(m.vision for m in catalog.models)
        assert len({m.id for m in catalog.models}) == len(catalog.models), "ids are unique"
        assert catalog.get("mlx-community/Qwen3-4B-4bit") is catalog.get("qwen3-4b")

    def test_this_machine_is_detected(self) -> None:
        info = detect_system()
        assert info.total_memory_gb > 0
        assert 0 < info.model_budget_gb <= info.total_memory_gb
        assert info.accelerator in ("metal", "cuda", "cpu")


class TestFit:
    @pytest.mark.parametrize(
        ("memory", "params", "budget", "accelerator", "badge"),
        [
            (3.2, 4.0, 24.0, "metal", "recommended"),
            (16.0, 24.0, 24.0, "metal", "compatible"),
            (44.0, 70.0, 24.0, "metal", "not recommended"),
            (3.2, 4.0, 24.0, "cpu", "compatible"),
            (0.5, 0.135, 24.0, "cpu", "recommended"),
        ],
    )
    def test_badges_and_their_numbers(
        self, memory: float, params: float, budget: float, accelerator: str, badge: str
    ) -> None:
        result = fit(memory, params, system(budget, accelerator))
        assert result.badge == badge
        assert (result.needed_gb, result.budget_gb) == (memory, budget)
        assert f"{memory:.1f}" in result.reason


class TestLocalModels:
    def test_hub_cache_and_models_dir_are_listed_with_sizes(self, tmp_path: Path, tiny_model: Path) -> None:
        """A model in the hub cache layout and a converted folder both show up."""
        cache, _ = hub_cache(tmp_path, tiny_model)
        models = tmp_path / "models"
        shutil.copytree(tiny_model, models / "smollm2-135m")
        found = {m.repo: m for m in local_models(models, cache)}
        assert set(found) == {"acme/tiny", "smollm2-135m"}
        weights = (tiny_model / "model.safetensors").stat().st_size
        assert found["acme/tiny"].size_bytes >= weights
        assert json.loads((Path(found["smollm2-135m"].path) / "config.json").read_text())["model_type"] == "qwen3"


class TestHub:
    def _cache(self, tmp_path: Path, tiny_model: Path) -> Path:
        return hub_cache(tmp_path, tiny_model)[0]

    def test_pull_from_a_populated_cache_reports_progress_per_file(self, tmp_path: Path, tiny_model: Path) -> None:
        """Offline, a cached model is pulled from the cache with a progress event per file."""
        from greenroom.models.hub import pull

        cache = self._cache(tmp_path, tiny_model)
        events: list[Any] = []
        path = pull("acme/tiny", cache_dir=cache, offline=True, on_progress=events.append)
        assert (path / "config.json").exists()
        names = sorted(p.name for p in tiny_model.iterdir())
        assert sorted(e.file for e in events) == names
        assert [e.files_done for e in events] == list(range(1, len(names) + 1))
        assert events[-1].bytes_done == events[-1].bytes_total == sum(p.stat().st_size for p in tiny_model.iterdir())

    def test_pull_of_an_uncached_model_offline_is_a_clear_error(self, tmp_path: Path) -> None:
        from greenroom.models import ModelError
        from greenroom.models.hub import pull

        with pytest.raises(
            ModelError, match=r"acme/missing is not in the local cache \(offline: huggingface.co was not asked\)"
        ):
            pull("acme/missing", cache_dir=tmp_path / "hub", offline=True)

    def test_remove_deletes_the_cached_model(self, tmp_path: Path, tiny_model: Path) -> None:
        from greenroom.models.hub import remove

        cache = self._cache(tmp_path, tiny_model)
        assert remove("acme/tiny", cache_dir=cache) > 0
        assert local_models(None, cache) == []
        assert remove("acme/tiny", cache_dir=cache) == 0
