from __future__ import annotations

import pytest

from greenroom.memory.fusion import final_score, fuse, recency, rrf


class TestFusion:
    def test_rrf_rewards_agreement(self) -> None:
        fused = rrf([(1, 0.9), (2, 0.8)], [(2, 12.0), (3, 5.0)], k=60)
        assert fused[2] == pytest.approx(1 / 62 + 1 / 61)
        assert max(fused, key=fused.__getitem__) == 2

    def test_score_fusion_normalises_each_list(self) -> None:
        ranked = fuse([(1, 0.9), (2, 0.1)], [(2, 30.0), (3, 10.0)], "score", dense_weight=0.5)
        assert dict(ranked) == pytest.approx({1: 0.5, 2: 0.5, 3: 0.0})
        assert [d for d, _ in ranked] == [1, 2, 3], "ties are broken by id"

    def test_recency_halves_each_half_life(self) -> None:
        assert recency(0, 30) == 1.0
        assert recency(30 * 86400, 30) == pytest.approx(0.5)
        assert recency(-5, 30) == 1.0

    def test_final_score_weights(self) -> None:
        assert final_score(1.0, 0.5, 0.2, alpha=0.8, beta=0.1, gamma=0.1) == pytest.approx(0.87)
