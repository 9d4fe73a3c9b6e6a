"""MLX's own token loop (``decoding.decode_pipelined`` over mlx-lm's ``generate_step``), which
unconstrained generation runs on: the same tokens as the shared host loop, a KV cache that
matches its tokens however generation ends, and a stop that lands before the next token."""

from __future__ import annotations

import functools
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from greenroom.models import GenerationCancelled, GenerationRequest, LocalBackend, Message, MlxBackend, Usage
from greenroom.models.decoding import DecodeStats, Sampling, decode_pipelined
from greenroom.models.mlx_backend import MlxEngine


class HostLoopEngine(MlxEngine):
    """The MLX engine without its own loop: generation samples on the host (``decoding.decode``)."""

    pipelined = None  # type: ignore[assignment]


@pytest.fixture(scope="module")
def piped(tiny_model: Path) -> MlxBackend:
    return MlxBackend(lambda: tiny_model, name="tiny")


@pytest.fixture(scope="module")
def host(tiny_model: Path) -> LocalBackend:
    return LocalBackend(lambda: tiny_model, "tiny", load_engine=HostLoopEngine)


def request(text: str, max_tokens: int, **params: Any) -> GenerationRequest:
    return GenerationRequest(messages=[Message("user", text)], max_tokens=max_tokens, **params)


def run(backend: LocalBackend, req: GenerationRequest, stop: threading.Event | None = None) -> tuple[str, Usage]:
    usage = Usage()
    return "".join(backend.stream(req, usage, stop or threading.Event())), usage


def engine_of(backend: LocalBackend) -> Any:
    backend.load()
    assert backend._engine is not None
    return backend._engine


def assert_caches_match(backend: LocalBackend) -> None:
    engine = engine_of(backend)
    for entry in backend._caches:
        assert engine.cache_length(entry.cache) == len(entry.tokens)


class TestSameTokens:
    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(
        text=st.sampled_from(["hello there", "loop", "write a long story about the sea", "a"]),
        max_tokens=st.integers(1, 24),
        penalty=st.sampled_from([1.0, 1.3, 5.0]),
        top_k_1=st.booleans(),
    )
    def test_the_same_output_as_the_host_loop(
        self, piped: MlxBackend, host: LocalBackend, text: str, max_tokens: int, penalty: float, top_k_1: bool
    ) -> None:
        """Greedy (or top_k 1 at temperature 1), with or without a repetition penalty, the runtime's
        loop emits exactly what the host loop does, prompt caches reused or not."""
        params: dict[str, Any] = {"repetition_penalty": penalty}
        if top_k_1:
            params |= {"temperature": 1.0, "top_k": 1}
        ours, ours_usage = run(piped, request(text, max_tokens, **params))
        theirs, their_usage = run(host, request(text, max_tokens, **params))
        assert ours == theirs
        assert (ours_usage.generated_tokens, ours_usage.stop_reason) == (
            their_usage.generated_tokens,
            their_usage.stop_reason,
        )
        assert_caches_match(piped)

    def test_a_reused_prefix_gives_the_same_output_as_a_cold_start(self, tiny_model: Path) -> None:
        warm = MlxBackend(lambda: tiny_model, name="tiny")
        run(warm, request("the first question " * 8, 20))
        answer, _ = run(warm, request("the first question " * 7 + "and a second one", 20))
        assert len(warm._caches) == 1, "the second prompt should reuse the first one's cache"
        assert_caches_match(warm)
        cold = MlxBackend(lambda: tiny_model, name="tiny")
        assert run(cold, request("the first question " * 7 + "and a second one", 20))[0] == answer


class TestEnds:
    """``decode_pipelined`` itself, over a real engine and cache: however it ends, ``fed`` is
    exactly what the cache holds."""

    def _decode(
        self, engine: Any, eos: set[int], stop: threading.Event, max_tokens: int = 12
    ) -> tuple[list[int], list[int], Any, DecodeStats]:
        cache, fed, out, stats = engine.new_cache(), [], [], DecodeStats()
        prompt = engine.tokenizer.encode("count to one hundred", add_special_tokens=False)
        tokens = decode_pipelined(
            functools.partial(engine.forward, cache),
            functools.partial(engine.pipelined, cache),
            prompt,
            fed=fed,
            max_tokens=max_tokens,
            sampling=Sampling(),
            eos=eos,
            stop=stop,
            prefill_chunk=4,
            stats=stats,
        )
        try:
            for emitted in tokens:
                out += emitted
                if len(out) == 3 and eos == {-1}:
                    stop.set()
        except GenerationCancelled:
            stats.stop_reason = "cancelled"
        assert engine.cache_length(cache) == len(fed), "the cache holds other tokens than fed says"
        assert fed == prompt[: len(fed)] or fed[: len(prompt)] == prompt
        return out, fed, cache, stats

    def test_by_length_by_end_of_sequence_and_by_stop(self, piped: MlxBackend) -> None:
        engine = engine_of(piped)
        full, fed, _, stats = self._decode(engine, set(), threading.Event())
        assert len(full) == 12
        assert stats.stop_reason == "length"
        assert fed[-12:] == full, "each token the runtime handed over went through the model"
        prompt = fed[:-12]
        prompt_passes = -(-len(prompt) // 4)
        assert stats.forward_passes == prompt_passes + 11, "the first token comes from the prompt's own pass"

        at = next((i for i in range(1, len(full)) if full[i] not in full[:i]), 0)  # a new token
        assert at, "the model repeats one token: pick another prompt"
        eos = full[at]
        out, fed, _, stats = self._decode(engine, {eos}, threading.Event())
        assert out == full[:at]
        assert stats.stop_reason == "stop"
        assert fed[-at - 1 :] == [*full[:at], eos], "the end token went through the model: fed must say so"

        out, fed, _, stats = self._decode(engine, {full[0]}, threading.Event())
        assert (out, stats.stop_reason) == ([], "stop")
        assert fed == prompt, "a first token sampled on the host never went through the model"

        out, fed, _, stats = self._decode(engine, {-1}, threading.Event())
        assert out == full[:3], "the stop set after the third token lands before a fourth is handed over"
        assert stats.stop_reason == "cancelled"
        assert fed[-3:] == full[:3]

    def test_a_stop_during_the_prompt_ends_it_before_any_token(self, piped: MlxBackend) -> None:
        stop = threading.Event()
        stop.set()
        out, fed, _, stats = self._decode(engine_of(piped), set(), stop)
        assert (out, fed, stats.stop_reason) == ([], [], "cancelled")


class TestStreamStops:
    def test_a_stop_from_the_consumer_ends_the_stream_at_once(self, piped: MlxBackend) -> None:
        """The person cancels after a few tokens: no further token reaches them, and the cache
        left behind still matches its tokens (so the next prompt may reuse it)."""
        stop, usage, at_stop = threading.Event(), Usage(), [0]

        def consume() -> None:
            for _piece in piped.stream(request("count to one hundred", 200), usage, stop):
                if usage.generated_tokens >= 3 and not stop.is_set():
                    stop.set()
                    at_stop[0] = usage.generated_tokens

        with pytest.raises(GenerationCancelled):
            consume()
        assert usage.generated_tokens == at_stop[0]
        assert usage.stop_reason == "cancelled"
        assert_caches_match(piped)
        _, usage = run(piped, request("count to one hundred", 8))
        assert usage.generated_tokens == 8
