"""The vision switch with a tiny generated Qwen2-VL: images take mlx-vlm, text stays on mlx-lm."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from greenroom.bus import events as e
from greenroom.models import GenerationRequest, Message, ModelError, Usage
from greenroom.models.vlm_backend import VisionRouter, has_vision
from tests.conftest import make_config

pytest.importorskip("mlx_vlm")


@pytest.fixture(scope="module")
def vision_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from greenroom.models.tiny import build_tiny_vision_model

    return build_tiny_vision_model(tmp_path_factory.mktemp("vl") / "qwen2-vl-tiny")


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> str:
    from PIL import Image

    path = tmp_path_factory.mktemp("img") / "noise.png"
    Image.fromarray((np.random.default_rng(0).random((56, 56, 3)) * 255).astype("uint8")).save(path)
    return str(path)


class TestVisionSwitch:
    def test_an_image_goes_to_mlx_vlm_and_text_stays_on_mlx_lm(
        self, short_tmp: Path, daemon_factory: Any, vision_model: Path, image: str
    ) -> None:
        """Through the daemon: the same model answers both; the finished events say which path ran."""
        assert has_vision(vision_model)
        d = daemon_factory(make_config(short_tmp, None, "llm.backend='mlx'", f'llm.model="{vision_model}"'))
        with d.client() as client:
            head = client.status().head
            seen = client.generate([("user", "what is this")], max_tokens=8, purpose="look", images=[image])
            plain = client.generate([("user", "what is this")], max_tokens=8, purpose="read")
            finished = [env.event for env in client.replay(head + 1).events if isinstance(env.event, e.LlmFinished)]
        by_purpose = {ev.purpose: ev for ev in finished}
        assert by_purpose["look"].model == f"{vision_model} [mlx-vlm]"
        assert by_purpose["look"].generated_tokens == 8
        assert by_purpose["look"].prompt_tokens > by_purpose["read"].prompt_tokens, "the image adds its tokens"
        assert by_purpose["read"].model == str(vision_model)
        assert (seen.text, plain.text) == (by_purpose["look"].text, by_purpose["read"].text)

    def test_router_and_bad_input(self, vision_model: Path, image: str, tmp_path: Path) -> None:
        from greenroom.models import MlxBackend
        from greenroom.models.vlm_backend import VlmBackend

        router = VisionRouter(MlxBackend(lambda: vision_model, name="t"), VlmBackend(lambda: vision_model, name="v"))
        assert not router.vision.loaded
        text = GenerationRequest(messages=[Message("user", "hi")], max_tokens=4)
        usage = Usage()
        list(router.stream(text, usage, threading.Event()))
        assert (usage.model, usage.generated_tokens) == ("t", 4), "text ran on the mlx-lm side"
        assert not router.vision.loaded, "text never loads the vision tower"
        missing = GenerationRequest(messages=[Message("user", "hi", [str(tmp_path / "nope.png")])], max_tokens=4)
        with pytest.raises(ModelError, match=r"nope\.png' does not exist"):
            list(router.stream(missing, Usage(), threading.Event()))
        schema = GenerationRequest(messages=[Message("user", "hi", [image])], schema={"type": "object"})
        with pytest.raises(ModelError, match="not available for messages with images"):
            list(router.stream(schema, Usage(), threading.Event()))
        router.close()
