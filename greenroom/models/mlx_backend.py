"""The MLX runtime (mlx-lm models): native on Apple silicon, ``mlx[cpu]`` elsewhere."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from greenroom.models.decoding import REPETITION_CONTEXT, Sampling
from greenroom.models.local_backend import LocalBackend

if TYPE_CHECKING:
    import numpy as np


class MlxEngine:
    """An mlx-lm model and its tokenizer.

    Args:
        target: a local mlx-lm folder or a hub repo id.
        dtype: ``float32`` widens the weights after loading (benchmarks); None keeps them.
    """

    runtime = "mlx"

    def __init__(self, target: str | Path, *, dtype: str | None = None) -> None:
        import mlx.core as mx
        import mlx_lm  # heavy import, kept off the daemon's start-up path

        loaded = mlx_lm.load(str(target))
        self.model: Any = loaded[0]
        wrapper: Any = loaded[1]
        if dtype is not None:
            self.model.set_dtype(getattr(mx, dtype))
        self.tokenizer = wrapper._tokenizer
        self.eos = {int(t) for t in wrapper.eos_token_ids}
        # Apple silicon prefills thousands of tokens/s; the CPU build about 25: keep
        # chunks short there so a cancel lands within a few seconds.
        self.prefill_chunk = 512 if sys.platform == "darwin" else 32

    def new_cache(self) -> Any:
        from mlx_lm.models.cache import make_prompt_cache

        return make_prompt_cache(self.model)

    def forward(self, cache: Any, tokens: list[int]) -> np.ndarray:
        import mlx.core as mx
        import numpy as np

        logits = self.model(mx.array(tokens)[None], cache=cache)[0, -1].astype(mx.float32)
        return np.array(logits)

    def pipelined(
        self, cache: Any, tokens: list[int], recent: list[int], sampling: Sampling, max_tokens: int
    ) -> Generator[int, None, None]:
        """mlx-lm's own loop (``generate_step``) over ``cache``: sampled on the device, each
        token's pass started before the token is handed over (``decoding.decode_pipelined``).

        Logits are widened to float32 first and sampled as ``decoding.sample`` samples
        (``device_sampler``), so greedy picks the same tokens whatever the model's dtype;
        ``recent`` (the tokens before ``tokens``) joins the repetition penalty's context,
        as in ``decoding.decode``."""
        import mlx.core as mx
        from mlx_lm.generate import generate_step
        from mlx_lm.sample_utils import make_repetition_penalty

        processors: list[Callable[[Any, Any], Any]] = [lambda _seen, logits: logits.astype(mx.float32)]
        if sampling.repetition_penalty != 1.0:
            penalize = make_repetition_penalty(sampling.repetition_penalty, REPETITION_CONTEXT)
            before = mx.array(recent, dtype=mx.int32)
            processors.append(lambda seen, logits: penalize(mx.concatenate([before, seen.astype(mx.int32)]), logits))
        steps = generate_step(
            mx.array(tokens),
            self.model,
            max_tokens=max_tokens,
            sampler=device_sampler(sampling),
            logits_processors=processors,
            prompt_cache=cache,
        )
        with contextlib.closing(steps):
            for token, _ in steps:
                yield int(token)
        # A stop leaves the pass over the last token under way: ``async_eval`` has scheduled all
        # of it (the cache's update included), so the next generation, on any thread, waits for
        # it rather than finding a lazy graph (``test_pipelined.TestThreads``).

    def trim(self, cache: Any, n: int) -> bool:
        from mlx_lm.models.cache import can_trim_prompt_cache, trim_prompt_cache

        if n == 0:
            return True
        if not can_trim_prompt_cache(cache):
            return False
        trim_prompt_cache(cache, n)
        return True

    def cache_length(self, cache: Any) -> int:
        return int(cache[0].offset) if cache else 0


def device_sampler(sampling: Sampling) -> Callable[[Any], Any]:
    """``decoding.sample`` on the device: greedy at temperature 0, else top-k, then top-p
    (on the tempered probabilities), then a draw. (mlx-lm's own sampler applies top-p
    before the temperature and before top-k, a different distribution.)"""
    import mlx.core as mx

    temperature, top_k, top_p = sampling.temperature, sampling.top_k, sampling.top_p

    def sample(logprobs: Any) -> Any:
        if temperature == 0.0:
            return mx.argmax(logprobs, axis=-1)
        x = logprobs / temperature
        if 0 < top_k < x.shape[-1]:
            kth = mx.expand_dims(mx.sort(x, axis=-1)[..., x.shape[-1] - top_k], -1)
            x = mx.where(x < kth, -mx.inf, x)
        if top_p < 1.0:
            probs = mx.softmax(x, axis=-1)
            order = mx.argsort(-probs, axis=-1)
            ranked = mx.take_along_axis(probs, order, axis=-1)
            keep = (mx.cumsum(ranked, axis=-1) - ranked) < top_p  # the smallest set reaching top_p
            keep = mx.take_along_axis(keep, mx.argsort(order, axis=-1), axis=-1)
            x = mx.where(keep, x, -mx.inf)
        return mx.random.categorical(x)

    return sample


class MlxBackend(LocalBackend):
    """An mlx-lm model, loaded on first use (see :class:`LocalBackend` for the arguments)."""

    def __init__(
        self,
        resolve: Callable[..., str | Path],
        name: str,
        *,
        fast_forward: bool = True,
        keep_alive_s: float = 600.0,
        allow_oversize: bool = False,
        clock: Callable[[], float] = time.monotonic,
        available_memory: Callable[[], int] | None = None,
    ) -> None:
        super().__init__(
            resolve,
            name,
            load_engine=MlxEngine,
            fast_forward=fast_forward,
            keep_alive_s=keep_alive_s,
            allow_oversize=allow_oversize,
            clock=clock,
            available_memory=available_memory,
        )
