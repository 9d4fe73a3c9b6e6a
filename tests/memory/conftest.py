from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from greenroom.memory import Embedder, MemoryConfig, MemoryEngine, Reranker


class CountingEmbedder(Embedder):
    """The real embedder, counting the texts it embeds."""

    def __init__(self) -> None:
        super().__init__()
        self.embedded: list[str] = []

    def embed(self, texts: Sequence[str]) -> Any:
        self.embedded.extend(texts)
        return super().embed(texts)


_SHARED = CountingEmbedder()


@pytest.fixture
def embedder() -> CountingEmbedder:
    """The offline MiniLM model (loaded once per session), its count reset."""
    _SHARED.embedded.clear()
    return _SHARED


@pytest.fixture
def engine_factory(tmp_path: Path, embedder: CountingEmbedder) -> Iterator[Any]:
    engines: list[MemoryEngine] = []

    def make(reranker: Reranker | None = None, **settings: Any) -> MemoryEngine:
        config = MemoryConfig(**{"rerank": reranker is not None, **settings})
        engine = MemoryEngine(
            tmp_path / "memory.sqlite", tmp_path / "index", config, embedder=embedder, reranker=reranker
        )
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.close()


def files_containing(root: Path, needle: bytes) -> list[Path]:
    """Every file under ``root`` whose bytes contain ``needle``."""
    return [p for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


def unit(vector: Any) -> np.ndarray:
    v = np.asarray(vector, dtype=np.float32)
    return v / np.linalg.norm(v)
