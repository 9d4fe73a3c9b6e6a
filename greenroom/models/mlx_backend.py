"""The MLX runtime (mlx-lm models): native on Apple silicon, ``mlx[cpu]`` elsewhere."""

from __future__ import annotations

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

        ``recent`` (the tokens before ``tokens``) joins the repetition penalty's context,
        as in ``decoding.decode``."""
        import mlx.core as mx
        from mlx_lm.generate import generate_step
        from mlx_lm.sample_utils import make_repetition_penalty, make_sampler

        sampler = make_sampler(
            sampling.temperature, top_p=sampling.top_p if sampling.top_p < 1.0 else 0.0, top_k=sampling.top_k
        )
        processors = []
        if sampling.repetition_penalty != 1.0:
            penalize = make_repetition_penalty(sampling.repetition_penalty, REPETITION_CONTEXT)
            before = mx.array(recent, dtype=mx.int32)
            processors.append(lambda seen, logits: penalize(mx.concatenate([before, seen.astype(mx.int32)]), logits))
        steps = generate_step(
            mx.array(tokens),
            self.model,
            max_tokens=max_tokens,
            sampler=sampler,
            logits_processors=processors,
            prompt_cache=cache,
        )
        try:
            for token, _ in steps:
                yield int(token)
        finally:
            # Nothing of the cache is left lazy for the next generation, which may run on
            # another thread (Metal streams are per thread since mlx 0.31.2): the pass under
            # way when the caller stopped finishes here.
            steps.close()
            mx.eval([c.state for c in cache])

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
