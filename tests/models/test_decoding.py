"""The shared decode loop's pure parts: sampling, repetition penalty, detokenizing, the loop itself."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greenroom.models import GenerationCancelled
from greenroom.models.decoding import DecodeStats, Detokenizer, Sampling, decode, penalize, sample

logit_lists = st.lists(st.floats(-30, 30, allow_nan=False, width=32), min_size=2, max_size=64)


class TestSample:
    @given(logit_lists, st.floats(0.05, 3.0), st.floats(0.01, 1.0), st.integers(0, 70), st.data())
    @settings(max_examples=200, deadline=None)
    def test_samples_only_allowed_tokens(self, values: list[float], temp: float, top_p: float, top_k: int,
                                         data: st.DataObject) -> None:  # fmt: skip
        """Whatever the parameters, a masked-out (-inf) token is never chosen."""
        logits = np.array(values, dtype=np.float32)
        allowed = data.draw(st.lists(st.booleans(), min_size=len(values), max_size=len(values)).filter(any))
        logits[~np.array(allowed)] = -np.inf
        token = sample(logits, Sampling(temperature=temp, top_p=top_p, top_k=top_k), np.random.default_rng(0))
        assert allowed[token]

    @given(logit_lists)
    def test_greedy_top_k_1_and_tiny_top_p_pick_the_argmax(self, values: list[float]) -> None:
        """Temperature 0, top_k 1 and a vanishing top_p all reduce to the most likely token."""
        logits = np.array(values, dtype=np.float32)
        best = int(np.argmax(logits))
        rng = np.random.default_rng(1)
        assert sample(logits, Sampling(), rng) == best
        if np.sum(logits >= logits[best] - 1e-3) == 1:  # a clear winner (near-ties may round either way)
            assert sample(logits, Sampling(temperature=1.0, top_k=1), rng) == best
            assert sample(logits, Sampling(temperature=1.0, top_p=1e-9), rng) == best


class TestPenalize:
    @given(logit_lists, st.floats(1.01, 5.0))
    def test_recent_tokens_become_less_likely(self, values: list[float], penalty: float) -> None:
        """Each recent token's logit moves down (positive shrinks, negative grows); others stay."""
        logits = np.array(values, dtype=np.float32)
        before = logits.copy()
        recent = [0, 1, 1, len(values) + 5]  # repeats and out-of-range ids are harmless
        penalize(logits, recent, penalty)
        assert np.all(logits[:2] <= before[:2])
        assert np.array_equal(logits[2:], before[2:])

    def test_a_penalty_of_one_changes_nothing(self) -> None:
        """1.0 is off."""
        logits = np.array([1.0, -1.0], dtype=np.float32)
        penalize(logits, [0, 1], 1.0)
        assert logits.tolist() == [1.0, -1.0]


class TestDetokenizer:
    @given(st.lists(st.integers(0, 255), max_size=40))
    def test_pieces_add_up_to_the_whole_text(self, ids: list[int]) -> None:
        """Streaming bytes one token at a time yields exactly the final text, never a broken character."""

        def decode_bytes(tokens: list[int]) -> str:
            return bytes(tokens).decode("utf-8", errors="replace")

        detok = Detokenizer(decode_bytes)
        text = "".join(detok.add([t]) for t in ids)
        full = decode_bytes(ids)
        if not full.endswith("\ufffd"):
            assert text == full
        assert full.startswith(text)


def table_forward(table: dict[int, int], vocab: int = 8):
    """A forward pass whose next-token logits depend only on the last token fed."""

    def forward(tokens: list[int]) -> np.ndarray:
        logits = np.zeros(vocab, dtype=np.float32)
        logits[table.get(tokens[-1], 0)] = 10.0
        return logits

    return forward


class TestDecodeLoop:
    def test_feeds_in_chunks_stops_at_eos_and_counts(self) -> None:
        """The prompt goes in chunks; generation ends at EOS, which is not emitted."""
        fed: list[int] = []
        stats = DecodeStats()
        out = list(decode(table_forward({5: 1, 1: 2, 2: 7}), [3, 4, 5] * 3, fed=fed, max_tokens=10,
                          sampling=Sampling(), eos={7}, stop=threading.Event(), prefill_chunk=4, stats=stats))  # fmt: skip
        assert out == [[1], [2]]
        assert stats.stop_reason == "stop"
        assert stats.forward_passes == 3 + 2  # 9 prompt tokens in chunks of 4, then one pass per token
        assert fed == [3, 4, 5] * 3 + [1, 2]

    def test_max_tokens_ends_without_a_wasted_pass(self) -> None:
        """The last token is emitted without running it through the model."""
        stats = DecodeStats()
        out = list(decode(table_forward({}), [1], fed=[], max_tokens=3, sampling=Sampling(), eos=set(),
                          stop=threading.Event(), prefill_chunk=8, stats=stats))  # fmt: skip
        assert len(out) == 3
        assert stats.forward_passes == 3
        assert stats.stop_reason == "length"

    def test_a_set_stop_cancels_before_any_pass(self) -> None:
        """A stop set before the call raises without touching the model."""
        stop = threading.Event()
        stop.set()
        with pytest.raises(GenerationCancelled):
            list(decode(table_forward({}), [1, 2], fed=[], max_tokens=3, sampling=Sampling(), eos=set(),
                        stop=stop, prefill_chunk=8))  # fmt: skip
