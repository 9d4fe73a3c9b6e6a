"""Fusing the dense and keyword rankings, and the final score.

Two fusions are offered; ``bench/memory_quality.py`` compares them:

- ``rrf`` (reciprocal-rank fusion): ``sum(1 / (k + rank))`` over the lists a
  chunk appears in. Scale-free, so BM25's unbounded scores and cosine
  similarities mix without tuning.
- ``score``: each list's scores min-max normalised to 0-1, then
  ``w * dense + (1 - w) * bm25`` (a missing score counts 0).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

Ranked = Sequence[tuple[int, float]]


def rrf(dense: Ranked, keyword: Ranked, *, k: int = 60) -> dict[int, float]:
    """Reciprocal-rank fusion of two best-first lists of ``(id, score)``."""
    fused: dict[int, float] = {}
    for ranking in (dense, keyword):
        for rank, (doc, _) in enumerate(ranking, start=1):
            fused[doc] = fused.get(doc, 0.0) + 1.0 / (k + rank)
    return fused


def _normalised(ranking: Ranked) -> dict[int, float]:
    if not ranking:
        return {}
    scores = [s for _, s in ranking]
    low, high = min(scores), max(scores)
    span = high - low
    return {doc: (s - low) / span if span > 0 else 1.0 for doc, s in ranking}


def score_fusion(dense: Ranked, keyword: Ranked, *, dense_weight: float = 0.5) -> dict[int, float]:
    """Weighted sum of min-max normalised scores."""
    d, b = _normalised(dense), _normalised(keyword)
    return {doc: dense_weight * d.get(doc, 0.0) + (1 - dense_weight) * b.get(doc, 0.0) for doc in d.keys() | b.keys()}


def fuse(
    dense: Ranked,
    keyword: Ranked,
    method: Literal["rrf", "score"] = "rrf",
    *,
    rrf_k: int = 60,
    dense_weight: float = 0.5,
) -> list[tuple[int, float]]:
    """Fused ranking, best first (ties broken by id for a stable order)."""
    fused = rrf(dense, keyword, k=rrf_k) if method == "rrf" else score_fusion(dense, keyword, dense_weight=dense_weight)
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))


def scaled(scores: dict[int, float]) -> dict[int, float]:
    """Scores divided by the best one (0-1, the best is 1)."""
    top = max(scores.values(), default=0.0)
    return {doc: s / top if top > 0 else 0.0 for doc, s in scores.items()}


def recency(age_s: float, half_life_days: float) -> float:
    """1.0 now, 0.5 after one half-life, and so on."""
    return math.pow(0.5, max(age_s, 0.0) / (half_life_days * 86400.0))


def final_score(relevance: float, recency_: float, quality: float, *, alpha: float, beta: float, gamma: float) -> float:
    """``alpha * relevance + beta * recency + gamma * quality``."""
    return alpha * relevance + beta * recency_ + gamma * quality
