"""The token loop every local runtime shares: chunked prefill, sampling, constraints, fast-forward.

A runtime (MLX, PyTorch) only has to run its model over some tokens and return
the last position's logits; this module does everything else on numpy logits,
so constrained decoding, sampling and cancellation behave the same on each.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Generator, Iterator
from typing import TYPE_CHECKING, Any

import msgspec

from greenroom.models.backend import GenerationCancelled

if TYPE_CHECKING:
    import numpy as np

    # llguidance loads with the first schema, not with the daemon
    from greenroom.models.constrained import JsonSchemaConstraint

REPETITION_CONTEXT = 20
"""Recent tokens the repetition penalty looks at (mlx-lm's default)."""


class Sampling(msgspec.Struct, frozen=True, kw_only=True):
    temperature: float = 0.0
    top_p: float = 1.0
    top_k: int = 0
    repetition_penalty: float = 1.0


class DecodeStats(msgspec.Struct, kw_only=True):
    """What a decode did; filled as it runs."""

    sampled: int = 0
    """Tokens chosen by sampling."""
    forced: int = 0
    """Tokens the grammar forced (emitted without sampling)."""
    forward_passes: int = 0
    stop_reason: str = ""


def penalize(logits: np.ndarray, recent: list[int], penalty: float) -> None:
    """Repetition penalty (in place): recent tokens' positive logits shrink, negative ones grow."""
    import numpy as np

    if penalty == 1.0 or not recent:
        return
    ids = np.unique(np.asarray(recent, dtype=np.int64))
    ids = ids[ids < logits.shape[-1]]
    values = logits[ids]
    logits[ids] = np.where(values > 0, values / penalty, values * penalty)


def sample(logits: np.ndarray, params: Sampling, rng: np.random.Generator) -> int:
    """One token from ``logits`` (greedy at temperature 0, else top-k, then top-p, then temperature)."""
    import numpy as np

    if params.temperature == 0.0:
        return int(np.argmax(logits))
    x = logits.astype(np.float64) / params.temperature
    if 0 < params.top_k < x.shape[-1]:
        kth = np.partition(x, -params.top_k)[-params.top_k]
        x[x < kth] = -np.inf
    x -= np.max(x)
    p = np.exp(x)
    p /= p.sum()
    if params.top_p < 1.0:
        order = np.argsort(-p)
        sorted_p = p[order]
        keep = np.cumsum(sorted_p) - sorted_p < params.top_p  # the smallest set reaching top_p
        p = np.zeros_like(p)
        p[order[keep]] = sorted_p[keep]
        p /= p.sum()
    return int(rng.choice(p.shape[-1], p=p))


class Detokenizer:
    """Turns a growing list of token ids into text pieces.

    Decodes the whole output each time and yields what is new, holding back a
    piece that ends inside a multi-byte character (decoded as U+FFFD).
    """

    def __init__(self, decode: Callable[[list[int]], str]) -> None:
        self._decode = decode
        self.tokens: list[int] = []
        self._text = ""

    def add(self, tokens: list[int]) -> str:
        self.tokens.extend(tokens)
        text = self._decode(self.tokens)
        if text.endswith("\ufffd"):
            return ""
        piece = text[len(self._text) :] if text.startswith(self._text) else ""
        self._text = text
        return piece


Forward = Callable[[list[int]], "np.ndarray"]
"""Runs the model over tokens (appending them to its KV cache); returns the last position's logits."""


def decode(
    forward: Forward,
    pending: list[int],
    *,
    fed: list[int],
    max_tokens: int,
    sampling: Sampling,
    eos: set[int],
    stop: threading.Event,
    prefill_chunk: int,
    constraint: JsonSchemaConstraint | None = None,
    fast_forward: bool = True,
    stats: DecodeStats | None = None,
    rng: np.random.Generator | None = None,
) -> Iterator[list[int]]:
    """Generate after ``pending`` (the prompt tokens not yet in the cache); yields emitted tokens.

    Each yield is a list: one sampled token followed by the tokens the grammar
    forced after it (or, first, the forced tokens before any sampling). Forced
    tokens go through the model together with the sampled one, in one pass.

    Args:
        forward: the runtime's forward pass.
        pending: tokens to feed before the first sample.
        fed: the tokens already in the cache; extended with every token fed.
        max_tokens: emit at most this many tokens.
        eos: tokens that end generation (never emitted).
        stop: checked between tokens and between prefill chunks.
        prefill_chunk: feed at most this many tokens per forward pass.
        fast_forward: emit the grammar's forced tokens without sampling them
            (off: every token is sampled under the mask, one pass each).

    Raises:
        GenerationCancelled: ``stop`` was set.
    """
    import numpy as np

    stats = stats if stats is not None else DecodeStats()
    rng = rng if rng is not None else np.random.default_rng()
    emitted = 0
    ff = constraint if fast_forward else None
    if ff is not None and (first := ff.forced(max_tokens)):
        stats.forced += len(first)
        emitted += len(first)
        pending = [*pending, *first]
        yield first
    while True:
        if emitted >= max_tokens:
            stats.stop_reason = "length"
            return
        logits = _feed(forward, pending, fed, stop, prefill_chunk, stats)
        penalize(logits, fed[-REPETITION_CONTEXT:], sampling.repetition_penalty)
        if constraint is not None:
            constraint.mask(logits)
        token = sample(logits, sampling, rng)
        if token in eos:
            stats.stop_reason = "stop"
            return
        stats.sampled += 1
        emitted += 1
        out = [token]
        if constraint is not None:
            constraint.consume(token)
        if ff is not None:
            out += ff.forced(max_tokens - emitted)
            stats.forced += len(out) - 1
            emitted += len(out) - 1
        if stop.is_set():
            raise GenerationCancelled("stopped")
        yield out
        if constraint is not None and constraint.stopped:
            stats.stop_reason = "stop"  # only end-of-sequence may follow: no pass needed to sample it
            return
        pending = out


Pipelined = Callable[[list[int], list[int], Sampling, int], Generator[int, None, None]]
"""A runtime's own sampling loop (``MlxEngine.pipelined``): given the tokens to feed, the
recent tokens before them (the repetition penalty's context), the sampling and a limit,
yields sampled tokens, each already fed to the cache."""


def decode_pipelined(
    forward: Forward,
    run: Pipelined,
    pending: list[int],
    *,
    fed: list[int],
    max_tokens: int,
    sampling: Sampling,
    eos: set[int],
    stop: threading.Event,
    prefill_chunk: int,
    stats: DecodeStats | None = None,
    rng: np.random.Generator | None = None,
) -> Iterator[list[int]]:
    """:func:`decode` without a constraint, the tokens after the first sampled by the runtime.

    The prompt is fed as ``decode`` feeds it (in chunks, ``stop`` checked between them)
    and the first token sampled from its logits, so the first token costs no extra pass.
    The runtime's loop (``run``) takes over from there and looks one pass ahead, as
    mlx-lm does: it starts the pass over a sampled token before handing it over, so the
    model computes while the caller detokenizes and publishes, and the host copies no
    logits. It samples as :func:`sample` does (greedy at temperature 0). Every token the
    runtime hands over is already in the cache (``fed`` says so), an end-of-sequence
    token included.

    Raises:
        GenerationCancelled: ``stop`` was set.
    """
    import numpy as np

    stats = stats if stats is not None else DecodeStats()
    if max_tokens <= 0:
        stats.stop_reason = "length"
        return
    logits = _feed(forward, pending, fed, stop, prefill_chunk, stats)
    penalize(logits, fed[-REPETITION_CONTEXT:], sampling.repetition_penalty)
    token = sample(logits, sampling, rng if rng is not None else np.random.default_rng())
    emitted, recent = 0, fed[-REPETITION_CONTEXT:]
    with contextlib.closing(run([token], recent, sampling, max_tokens - 1)) as tokens:
        while True:
            if token in eos:
                stats.stop_reason = "stop"
                return
            stats.sampled += 1
            emitted += 1
            if stop.is_set():
                raise GenerationCancelled("stopped")
            yield [token]
            if emitted >= max_tokens:
                break
            if stop.is_set():  # before asking for another token (the one under way is dropped)
                raise GenerationCancelled("stopped")
            after = next(tokens, None)
            if after is None:
                break
            if emitted == 1:
                fed.append(token)  # the first token went through the runtime's first pass
                stats.forward_passes += 1
            fed.append(after)  # and this one's pass is under way already
            stats.forward_passes += 1
            token = after
    stats.stop_reason = "length"


def _feed(
    forward: Forward, tokens: list[int], fed: list[int], stop: threading.Event, chunk: int, stats: DecodeStats
) -> np.ndarray:
    """Feed ``tokens`` in chunks, checking ``stop`` before each; the last position's logits."""
    import numpy as np

    logits: Any = None
    for start in range(0, len(tokens), chunk):
        if stop.is_set():
            raise GenerationCancelled("stopped during prompt processing")
        part = tokens[start : start + chunk]
        logits = forward(part)
        fed.extend(part)
        stats.forward_passes += 1
    assert logits is not None, "at least one token must be fed"
    return np.array(logits, dtype=np.float32)
