"""MLX's own token loop (``decoding.decode_pipelined`` over mlx-lm's ``generate_step``), which
unconstrained generation runs on: the same tokens as the shared host loop, a KV cache that
matches its tokens however generation ends, and a stop that lands before the next token."""

from __future__ import annotations

import functools
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
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


@pytest.fixture(scope="module", params=[None, "bfloat16"])
def pair(request: pytest.FixtureRequest, tiny_model: Path) -> tuple[LocalBackend, LocalBackend, str | None]:
    """The runtime's loop and the host loop on the same weights: as built (float32) and in
    bfloat16, as mlx-community models ship (their logits tie where float32's do not)."""
    dtype = request.param
    return (
        LocalBackend(lambda: tiny_model, "tiny", load_engine=functools.partial(MlxEngine, dtype=dtype)),
        LocalBackend(lambda: tiny_model, "tiny", load_engine=functools.partial(HostLoopEngine, dtype=dtype)),
        dtype,
    )


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
        self,
        pair: tuple[LocalBackend, LocalBackend, str | None],
        text: str,
        max_tokens: int,
        penalty: float,
        top_k_1: bool,
    ) -> None:
        """Greedy (or top_k 1 at temperature 1), with or without a repetition penalty, the runtime's
        loop emits exactly the tokens the host loop does (the next test reuses a cache)."""
        piped, host, dtype = pair
        # top_k 1 draws among tied best logits, on either side; bfloat16's logits tie often
        assume(not (top_k_1 and dtype == "bfloat16"))
        for backend in (piped, host):  # a cold start each: where a prompt's chunks fall moves bfloat16's rounding
            backend._caches.clear()
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
        # The tokens themselves: the host loop never feeds its last token, the runtime's does.
        host_fed, piped_fed = host._caches[0].tokens, piped._caches[0].tokens
        assert piped_fed[: len(host_fed)] == host_fed
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
    ) -> tuple[list[int], list[int], DecodeStats]:
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
        return out, fed, stats

    def test_by_length_by_end_of_sequence_and_by_stop(self, piped: MlxBackend) -> None:
        engine = engine_of(piped)
        full, fed, stats = self._decode(engine, set(), threading.Event())
        assert len(full) == 12
        assert stats.stop_reason == "length"
        assert fed[-12:] == full, "each token the runtime handed over went through the model"
        prompt = fed[:-12]
        prompt_passes = -(-len(prompt) // 4)
        assert stats.forward_passes == prompt_passes + 12, "the first token comes from the prompt's own pass"

        at = next((i for i in range(1, len(full)) if full[i] not in full[:i]), 0)  # a new token
        assert at, "the model repeats one token: pick another prompt"
        eos = full[at]
        out, fed, stats = self._decode(engine, {eos}, threading.Event())
        assert out == full[:at]
        assert stats.stop_reason == "stop"
        assert fed[-at - 1 :] == [*full[:at], eos], "the end token went through the model: fed must say so"

        out, fed, stats = self._decode(engine, {full[0]}, threading.Event())
        assert (out, stats.stop_reason) == ([], "stop")
        assert fed == prompt, "a first token sampled on the host never went through the model"

        out, fed, stats = self._decode(engine, {-1}, threading.Event())
        assert out == full[:3], "the stop set after the third token lands before a fourth is handed over"
        assert stats.stop_reason == "cancelled"
        assert fed[-3:] == full[:3]

    def test_a_stop_during_the_prompt_ends_it_before_any_token(self, piped: MlxBackend) -> None:
        stop = threading.Event()
        stop.set()
        out, fed, stats = self._decode(engine_of(piped), set(), stop)
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


class TestSampler:
    @pytest.mark.parametrize(
        "sampling",
        [
            Sampling(temperature=0.7, top_k=8),
            Sampling(temperature=0.7, top_p=0.6),
            Sampling(temperature=1.5, top_k=12, top_p=0.8),
            Sampling(temperature=0.3, top_k=1),
        ],
    )
    def test_the_device_draws_from_the_host_samplers_distribution(self, sampling: Sampling) -> None:
        """Top-k, then top-p on the tempered probabilities, then a draw: the same tokens
        allowed, at about the same rates (4,000 seeded draws each side)."""
        import mlx.core as mx
        import numpy as np

        from greenroom.models.decoding import sample
        from greenroom.models.mlx_backend import device_sampler

        logits = np.random.default_rng(7).normal(0, 2, 40).astype(np.float32)
        rng, n = np.random.default_rng(1), 4000
        host = np.bincount([sample(logits.copy(), sampling, rng) for _ in range(n)], minlength=40) / n
        mx.random.seed(1)
        draw = device_sampler(sampling)
        draws = [draw(mx.array(logits)[None]).item() for _ in range(n)]
        device = np.bincount(draws, minlength=40) / n
        assert set(np.flatnonzero(device)) <= set(np.flatnonzero(host)), "the device drew a token the host never allows"
        assert np.abs(device - host).max() < 0.05


class TestThreads:
    def test_a_stopped_generation_leaves_a_cache_another_thread_can_use(self, tiny_model: Path) -> None:
        """The daemon may generate on another thread next time: a stop leaves a pass under way,
        and the next generation, reusing that cache from another thread, must not trip on it."""
        backend = MlxBackend(lambda: tiny_model, name="tiny")
        stop, errors = threading.Event(), []
        long = "the first question " * 8

        def first() -> None:
            usage = Usage()
            try:
                for _piece in backend.stream(request(long, 200), usage, stop):
                    if usage.generated_tokens >= 2:
                        stop.set()
            except GenerationCancelled:
                pass
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)

        def second(out: list[str]) -> None:
            try:
                out.append(run(backend, request(long + "and more", 6))[0])
            except Exception as exc:
                errors.append(exc)

        thread = threading.Thread(target=first)
        thread.start()
        thread.join()
        answer: list[str] = []
        thread = threading.Thread(target=second, args=(answer,))
        thread.start()
        thread.join()
        assert not errors
        assert len(backend._caches) == 1, "the second prompt should have reused the first one's cache"
        cold = MlxBackend(lambda: tiny_model, name="tiny")
        assert answer == [run(cold, request(long + "and more", 6))[0]]
