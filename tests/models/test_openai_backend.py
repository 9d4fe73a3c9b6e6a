"""The OpenAI-compatible backend against a real server (mlx-lm's, serving the tiny model)."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from greenroom.models import GenerationRequest, Message, MlxBackend, ModelError, Usage
from greenroom.models.openai_backend import FallbackBackend, OpenAIBackend


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tiny_model: Path) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlx_lm", "server", "--model", str(tiny_model), "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("mlx_lm.server did not start")
    yield base + "/v1"
    proc.terminate()
    proc.wait(10)


def request(**kwargs: object) -> GenerationRequest:
    return GenerationRequest(messages=[Message("user", "hello")], **{"max_tokens": 12, **kwargs})  # type: ignore[arg-type]


class TestOpenAIBackend:
    def test_streams_tokens_with_usage(self, server: str, tiny_model: Path) -> None:
        """Pieces arrive one by one; usage has the server's token counts and the timing."""
        backend = OpenAIBackend(server, str(tiny_model))
        usage = Usage()
        pieces = list(backend.stream(request(), usage, threading.Event()))
        assert len(pieces) > 1
        assert usage.generated_tokens == 12
        assert usage.prompt_tokens > 0
        assert usage.time_to_first_token_s > 0
        assert usage.stop_reason == "length"
        backend.close()

    def test_stop_cancels_mid_stream(self, server: str, tiny_model: Path) -> None:
        from greenroom.models import GenerationCancelled

        backend = OpenAIBackend(server, str(tiny_model))
        stop = threading.Event()
        got = []

        def consume() -> None:
            for piece in backend.stream(request(max_tokens=200), Usage(), stop):
                got.append(piece)
                stop.set()

        with pytest.raises(GenerationCancelled):
            consume()
        assert len(got) == 1
        backend.close()

    def test_a_reply_that_breaks_the_schema_is_an_error(self, server: str, tiny_model: Path) -> None:
        """mlx-lm's server does not enforce schemas; the backend checks and refuses the noise."""
        backend = OpenAIBackend(server, str(tiny_model))
        schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
        with pytest.raises(ModelError, match="did not follow the verdict schema"):
            list(backend.stream(request(schema=schema, purpose="verdict"), Usage(), threading.Event()))
        backend.close()


class TestFallback:
    def test_an_unreachable_server_falls_back_to_local_mlx(self, tiny_model: Path) -> None:
        """Remote down → the local model answers, with schema enforced."""
        remote = OpenAIBackend(f"http://127.0.0.1:{free_port()}/v1", "whatever", timeout_s=2)
        local = MlxBackend(lambda: tiny_model, name="tiny")
        chain = FallbackBackend([remote, local])
        schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
        usage = Usage()
        text = "".join(chain.stream(request(schema=schema, max_tokens=20), usage, threading.Event()))
        assert text.startswith("{")
        assert usage.model == "tiny"
        chain.close()

    def test_all_failing_names_every_error(self) -> None:
        chain = FallbackBackend(
            [OpenAIBackend(f"http://127.0.0.1:{free_port()}/v1", m, timeout_s=2) for m in ("a", "b")]
        )
        with pytest.raises(ModelError, match=r"every backend failed: a@.*unreachable.*; b@.*unreachable"):
            list(chain.stream(request(), Usage(), threading.Event()))


class TestConfig:
    def test_openai_backend_with_local_fallback_from_config(self, tmp_path: Path, tiny_model: Path) -> None:
        """llm.backend=openai with llm.fallback builds remote → local; an unreachable remote falls back."""
        from greenroom.models import LlmConfig
        from greenroom.runtime.core import backend_factory

        config = LlmConfig(backend="openai", base_url=f"http://127.0.0.1:{free_port()}/v1", fallback=[str(tiny_model)])
        backend = backend_factory(config, tmp_path)()
        assert isinstance(backend, FallbackBackend)
        usage = Usage()
        assert "".join(backend.stream(request(), usage, threading.Event()))
        assert usage.model == str(tiny_model)
        backend.close()

    @pytest.mark.parametrize(
        ("override", "message"),
        [
            ("llm.temperature=-0.5", "temperature must not be negative"),
            ("llm.top_p=0", "top_p must be in (0, 1]"),
            ("llm.backend='openai'", "llm.base_url is required"),
        ],
    )
    def test_bad_model_settings_are_refused(self, tmp_path: Path, override: str, message: str) -> None:
        from greenroom.runtime.config import ConfigError, load_config

        (tmp_path / "c.toml").touch()
        with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)").replace("]", r"\]")):
            load_config(tmp_path / "c.toml", [override])


def test_a_named_remote_is_its_own_backend_and_a_fallback(server: str, tiny_model: Path, tmp_path: Path) -> None:
    """[[llm.remotes]] entries are models by name: as the primary, in the fallback order, or loaded explicitly."""
    from greenroom.models import LlmConfig
    from greenroom.models.settings import RemoteModel
    from greenroom.runtime.core import backend_factory

    config = LlmConfig(
        model="down",
        remotes=[
            RemoteModel(name="down", base_url=f"http://127.0.0.1:{free_port()}/v1"),
            RemoteModel(name="mlx-server", base_url=server, model=str(tiny_model)),
        ],
        fallback=["mlx-server"],
    )
    make = backend_factory(config, tmp_path)
    chain = make()
    usage = Usage()
    assert "".join(chain.stream(request(), usage, threading.Event()))
    assert usage.model == str(tiny_model), "the second remote answered"
    direct = make("mlx-server")
    assert isinstance(direct, OpenAIBackend)
    chain.close()
    direct.close()
