"""Local backends on both runtimes (MLX, PyTorch) with a tiny random-weight Qwen3: streaming, cancel,
constrained JSON with fast-forward, KV-cache reuse, generation parameters."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import msgspec
import pytest

from greenroom.actors.prompts import VERDICT_SCHEMA, PlanOutput, VerdictOutput, plan_schema
from greenroom.models import (
    GenerationCancelled,
    GenerationRequest,
    LocalBackend,
    Message,
    MlxBackend,
    ModelError,
    TorchBackend,
    Usage,
)
from greenroom.tools import BUILTIN_TOOLS, ToolRegistry

RUNTIMES = ["mlx", "torch"]
SYSTEM = "You check the work of an assistant and reply in JSON. " * 4


def make(runtime: str, model: Path, **kwargs: Any) -> LocalBackend:
    if runtime == "torch":
        # One thread: on a loaded 2-core machine a second OpenMP thread waits on the
        # busy core at every op, which slows a tiny model fifty-fold.
        return TorchBackend(lambda: model, name="tiny", threads=1, **kwargs)
    return MlxBackend(lambda: model, name="tiny", **kwargs)


@pytest.fixture(scope="module", params=RUNTIMES)
def backend(request: pytest.FixtureRequest, tiny_model: Path) -> LocalBackend:
    return make(request.param, tiny_model)


def req(
    schema: dict[str, Any] | None = None, max_tokens: int = 32, temperature: float = 0.0, **kw: Any
) -> GenerationRequest:
    messages = [Message("system", SYSTEM), Message("user", kw.pop("text", "hello there"))]
    return GenerationRequest(messages=messages, schema=schema, max_tokens=max_tokens, temperature=temperature, **kw)


def run(backend: LocalBackend, request: GenerationRequest, stop: threading.Event | None = None) -> tuple[str, Usage]:
    usage = Usage()
    return "".join(backend.stream(request, usage, stop or threading.Event())), usage


class TestStreaming:
    def test_loads_lazily_and_streams_with_usage(self, backend: LocalBackend) -> None:
        """The model loads on first use on its runtime; usage is filled."""
        _, usage = run(backend, req(max_tokens=16))
        assert backend.loaded
        assert backend.runtime in ("mlx", "torch")
        assert usage.model == "tiny"
        assert usage.generated_tokens == 16
        assert usage.prompt_tokens > 0
        assert usage.time_to_first_token_s > 0
        assert usage.stop_reason == "length"

    def test_json_streams_in_pieces(self, backend: LocalBackend) -> None:
        """Constrained output arrives in several pieces, not at the end."""
        pieces = list(backend.stream(req(VERDICT_SCHEMA, max_tokens=200), Usage(), threading.Event()))
        assert len(pieces) > 3

    def test_stop_event_cancels_between_tokens(self, backend: LocalBackend) -> None:
        """Setting the stop event ends generation at the next token."""
        stop = threading.Event()
        got: list[str] = []
        usage = Usage()

        def consume() -> None:
            for piece in backend.stream(req(VERDICT_SCHEMA, max_tokens=200), usage, stop):
                got.append(piece)
                if len(got) == 3:
                    stop.set()

        with pytest.raises(GenerationCancelled):
            consume()
        assert len(got) == 3
        assert usage.stop_reason == "cancelled"

    def test_stop_is_checked_during_a_long_prefill(self, tiny_model: Path) -> None:
        """A stop set while a long prompt is being processed ends it before the first token."""
        for runtime in RUNTIMES:
            b = make(runtime, tiny_model)
            b.load()
            engine: Any = b._engine
            stop = threading.Event()
            forward, calls = engine.forward, []

            def counting(
                cache: Any, tokens: list[int], forward: Any = forward, calls: list[int] = calls,
                stop: threading.Event = stop,
            ) -> Any:  # fmt: skip
                calls.append(len(tokens))
                stop.set()  # the person cancels while the first chunk runs
                return forward(cache, tokens)

            engine.forward = counting
            long_prompt = "the a of to and in is it that for on with " * 60
            with pytest.raises(GenerationCancelled):
                run(b, req(text=long_prompt), stop)
            assert calls == [engine.prefill_chunk], f"{runtime}: prefill went on after the stop"
            engine.forward = forward
            assert run(b, req(text=long_prompt, max_tokens=4))[1].generated_tokens == 4, "the cache recovered"

    def test_missing_model_is_a_clear_error(self, tmp_path: Path) -> None:
        """Loading a folder that is not a model names it, on either runtime."""
        for runtime in RUNTIMES:
            b = make(runtime, tmp_path / "nothing-here")
            with pytest.raises(ModelError, match="cannot load model tiny"):
                run(b, req())

    def test_torch_refuses_an_mlx_quantized_folder(self, tmp_path: Path) -> None:
        """An MLX-quantized model on the torch runtime says to use MLX."""
        (tmp_path / "config.json").write_text('{"model_type": "qwen3", "quantization": {"group_size": 64, "bits": 4}}')
        with pytest.raises(ModelError, match=r'llm\.runtime = "mlx"'):
            run(make("torch", tmp_path), req())


class TestConstrained:
    @pytest.mark.timeout(400)  # 100 generations; the machine is shared
    def test_100_of_100_sampled_verdicts_are_valid(self, backend: LocalBackend) -> None:
        """At temperature 1, every verdict from a random-weight model parses and validates."""
        for i in range(100):
            text, usage = run(backend, req(VERDICT_SCHEMA, max_tokens=200, temperature=1.0, text=f"check {i}"))
            verdict = msgspec.json.decode(text, type=VerdictOutput)
            assert verdict.verdict in ("accept", "retry", "replan")
            assert 1 <= len(verdict.reason) <= 160
            assert usage.stop_reason == "stop"

    def test_plans_name_only_real_tools(self, backend: LocalBackend) -> None:
        """Sampled plans decode and name only registered tools."""
        tools = ToolRegistry(BUILTIN_TOOLS)
        for _ in range(10):
            text, _ = run(backend, req(plan_schema(tools, 2), 600, 1.0))
            out = msgspec.json.decode(text, type=PlanOutput)
            assert 1 <= len(out.steps) <= 2
            assert all(t in tools.names() for s in out.steps for t in s.tools)

    def test_fast_forward_emits_forced_tokens_without_sampling(self, tiny_model: Path) -> None:
        """With fast-forward, fewer tokens are sampled and fewer passes run than tokens are emitted."""
        schema = plan_schema(ToolRegistry(BUILTIN_TOOLS), 2)
        for runtime in RUNTIMES:
            on, off = make(runtime, tiny_model), make(runtime, tiny_model, fast_forward=False)
            text_on, usage_on = run(on, req(schema, 400))
            text_off, usage_off = run(off, req(schema, 400))
            msgspec.json.decode(text_on, type=PlanOutput)
            msgspec.json.decode(text_off, type=PlanOutput)
            assert on.last_stats.forced > 0, runtime
            assert on.last_stats.sampled + on.last_stats.forced == usage_on.generated_tokens
            assert on.last_stats.forward_passes < usage_on.generated_tokens
            assert off.last_stats.forced == 0
            assert off.last_stats.sampled == usage_off.generated_tokens
            assert text_on.startswith('{"steps":[{"intent":"'), "the skeleton is forced"

    def test_an_invalid_schema_is_a_clear_error(self, backend: LocalBackend) -> None:
        """A schema llguidance cannot compile is a ModelError, not a crash."""
        with pytest.raises(ModelError, match="schema"):
            run(backend, req({"type": "object", "properties": {"a": {"type": "nonsense"}}}))


class TestPromptCache:
    def test_reused_prefix_gives_the_same_output_as_a_cold_start(self, tiny_model: Path) -> None:
        """A prompt sharing a long prefix reuses the KV cache and decodes exactly as a cold model."""
        for runtime in RUNTIMES:
            warm = make(runtime, tiny_model)
            run(warm, req(VERDICT_SCHEMA, 60, text="first question"))
            warm_answer, _ = run(warm, req(VERDICT_SCHEMA, 60, text="second question"))
            assert len(warm._caches) == 1, f"{runtime}: the second prompt should reuse the first one's cache"
            entry = warm._caches[0]
            assert entry.tokens
            assert warm._engine is not None
            assert warm._engine.cache_length(entry.cache) == len(entry.tokens)
            cold = make(runtime, tiny_model)
            assert run(cold, req(VERDICT_SCHEMA, 60, text="second question"))[0] == warm_answer, runtime

    def test_unrelated_prompts_get_their_own_caches_up_to_three(self, backend: LocalBackend) -> None:
        """Prompts without a shared prefix each get a cache; the least recently used goes first."""
        backend._caches.clear()
        for i in range(5):
            backend_req = GenerationRequest(messages=[Message("user", f"{i} " * 30)], max_tokens=2)
            run(backend, backend_req)
        assert len(backend._caches) == 3


class TestParams:
    def test_max_tokens_and_context_window(self, backend: LocalBackend) -> None:
        """max_tokens caps output; context_window keeps only the newest prompt tokens."""
        _, usage = run(backend, req(max_tokens=5))
        assert usage.generated_tokens == 5
        _, usage = run(backend, req(max_tokens=3, context_window=10))
        assert usage.prompt_tokens == 10

    def test_greedy_is_deterministic_and_top_k_1_is_greedy(self, backend: LocalBackend) -> None:
        """Temperature 0 repeats itself; top_k 1 at temperature 1 picks the same tokens."""
        greedy, _ = run(backend, req(max_tokens=12, text="same"))
        assert run(backend, req(max_tokens=12, text="same"))[0] == greedy
        assert run(backend, req(max_tokens=12, text="same", temperature=1.0, top_k=1))[0] == greedy

    def test_repetition_penalty_changes_greedy_output(self, backend: LocalBackend) -> None:
        """A strong repetition penalty steers a looping random model elsewhere."""
        plain, _ = run(backend, req(max_tokens=24, text="loop"))
        penalized, _ = run(backend, req(max_tokens=24, text="loop", repetition_penalty=5.0))
        assert plain != penalized


class TestInt8:
    def test_int8_torch_decodes_valid_json(self, tiny_model: Path) -> None:
        """Dynamic int8 quantization loads, reports its runtime and still decodes under a schema."""
        backend = make("torch", tiny_model, quantize="int8")
        for i in range(5):
            text, usage = run(backend, req(VERDICT_SCHEMA, 200, 1.0, text=f"int8 {i}"))
            msgspec.json.decode(text, type=VerdictOutput)
            assert usage.stop_reason == "stop"
        assert backend.runtime == "torch-int8"


class TestTorchLifecycle:
    def test_idle_unload_and_reload(self, tiny_model: Path) -> None:
        """The PyTorch backend unloads after its keep-alive and loads again on the next request."""
        now = [1000.0]
        backend = make("torch", tiny_model, keep_alive_s=60, clock=lambda: now[0])
        run(backend, req(max_tokens=2))
        now[0] += 59
        assert not backend.unload_if_idle()
        now[0] += 2
        assert backend.unload_if_idle()
        assert not backend.loaded
        assert not backend._caches, "caches go with the model"
        run(backend, req(max_tokens=2))
        assert backend.loaded

    def test_memory_guard_counts_fp32_widening(self, tmp_path: Path, tiny_model: Path) -> None:
        """A bf16 checkpoint needs twice its file size on PyTorch; the refusal names the numbers."""
        from greenroom.models.torch_backend import weights_factor

        (tmp_path / "config.json").write_text('{"model_type": "llama", "dtype": "bfloat16"}')
        assert weights_factor(tmp_path) == 2.0
        assert weights_factor(tiny_model) == 1.0
        backend = make("torch", tiny_model, available_memory=lambda: 1024)
        with pytest.raises(ModelError, match=r"needs about .* MiB .* but only 0 MiB is available"):
            backend.load()
        assert not backend.loaded
