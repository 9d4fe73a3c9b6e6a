"""Choosing the runtime of a local model, and the daemon's backend factory honouring llm.runtime."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from greenroom.models import GenerationRequest, LlmConfig, Message, Usage, choose_runtime
from greenroom.models.select import apple_silicon
from greenroom.runtime.core import backend_factory


def folder(root: Path, config: dict[str, object]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "config.json").write_text(json.dumps(config))
    return root


class TestChooseRuntime:
    def test_apple_silicon_is_mlx_whatever_the_model(self, tmp_path: Path) -> None:
        """On Apple silicon auto always means MLX."""
        hf = folder(tmp_path / "hf", {"model_type": "llama"})
        assert choose_runtime("auto", hf, apple=True) == "mlx"

    def test_elsewhere_hugging_face_checkpoints_go_to_torch(self, tmp_path: Path) -> None:
        """On other machines a plain checkpoint runs on PyTorch."""
        hf = folder(tmp_path / "hf", {"model_type": "llama"})
        assert choose_runtime("auto", hf, apple=False) == "torch"

    def test_what_torch_cannot_load_stays_on_mlx(self, tmp_path: Path) -> None:
        """MLX-quantized folders, vision models, hub ids and non-models stay on MLX."""
        quantized = folder(tmp_path / "q", {"model_type": "qwen3", "quantization": {"group_size": 64, "bits": 4}})
        vision = folder(tmp_path / "v", {"model_type": "qwen2_vl", "vision_config": {}})
        for target in (quantized, vision, "mlx-community/Qwen3-4B-4bit", tmp_path / "missing"):
            assert choose_runtime("auto", target, apple=False) == "mlx", target

    def test_an_explicit_setting_wins(self, tmp_path: Path) -> None:
        """llm.runtime = mlx or torch is used as it is."""
        hf = folder(tmp_path / "hf", {"model_type": "llama"})
        assert choose_runtime("mlx", hf, apple=False) == "mlx"
        assert choose_runtime("torch", "org/repo", apple=True) == "torch"

    def test_platform_detection(self) -> None:
        """Apple silicon is darwin on arm64 only."""
        assert apple_silicon("darwin", "arm64")
        assert not apple_silicon("darwin", "x86_64")
        assert not apple_silicon("linux", "arm64")


class TestBackendFactory:
    def test_linux_default_is_fp32_torch(self, tiny_model: Path, tmp_path: Path) -> None:
        """With the default config a Hugging Face checkpoint off Apple silicon runs on PyTorch, unquantized."""
        if apple_silicon():
            pytest.skip("Apple silicon runs MLX")
        backend = backend_factory(LlmConfig(model=str(tiny_model), threads=1), tmp_path)()
        backend.load()  # type: ignore[attr-defined]
        assert backend.runtime == "torch"  # type: ignore[attr-defined]

    @pytest.mark.parametrize("runtime", ["mlx", "torch"])
    def test_llm_runtime_selects_the_engine(self, runtime: str, tiny_model: Path, tmp_path: Path) -> None:
        """The daemon's factory builds a backend that loads the configured runtime and generates."""
        config = LlmConfig(model=str(tiny_model), runtime=runtime, threads=1, max_tokens=4)  # type: ignore[arg-type]
        backend = backend_factory(config, tmp_path)()
        usage = Usage()
        request = GenerationRequest(messages=[Message("user", "hi")], max_tokens=3)
        list(backend.stream(request, usage, threading.Event()))
        assert backend.runtime.startswith(runtime)  # type: ignore[attr-defined]
        assert usage.generated_tokens == 3

    def test_negative_threads_are_refused(self) -> None:
        """A bad thread count is a config error naming the key."""
        with pytest.raises(ValueError, match=r"llm\.threads"):
            LlmConfig(threads=-1)
