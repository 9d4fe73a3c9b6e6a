"""A Qwen3-Reranker-style cross-encoder run through mlx-lm.

The Qwen3-Reranker recipe: the model reads a system prompt, an instruction, the
query and one document, and is asked to answer "yes" or "no"; the score is
``softmax(logit_no, logit_yes)[yes]`` at the last position. Documents are scored
in right-padded batches (causal attention means padding after a sequence's end
cannot change its last position), and only the yes/no rows of the output head
are computed from the final hidden state.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import structlog

from greenroom._userpath import user_path
from greenroom.memory.errors import MemoryEngineError

log = structlog.get_logger(__name__)

PREFIX = (
    "<|im_start|>system\nJudge whether the Document meets the requirements based on the Query and the Instruct"
    ' provided. Note that the answer can only be "yes" or "no".<|im_end|>\n<|im_start|>user\n'
)
SUFFIX = "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"


class RerankerUnavailable(MemoryEngineError):
    """The reranker model could not be loaded (searches go on unreranked)."""


class Reranker:
    """Scores (query, document) pairs with a yes/no reranker model.

    Args:
        model: an mlx-lm loadable model (hub id or folder) in the Qwen3-Reranker format.
        instruction: the task description put before each query.
        max_tokens: a pair longer than this has its document truncated.
        batch_size: documents per forward pass.
    """

    def __init__(
        self,
        model: str,
        *,
        instruction: str = "Given a question, retrieve passages that answer it",
        max_tokens: int = 512,
        batch_size: int = 8,
    ) -> None:
        self.model_name = model
        self.instruction = instruction
        self.max_tokens = max_tokens
        self.batch_size = batch_size
        self._lock = threading.Lock()
        self._model: Any = None
        self._tokenizer: Any = None
        self._yes = self._no = -1
        self._prefix: list[int] = []
        self._suffix: list[int] = []
        self._failed: tuple[float, RerankerUnavailable] | None = None
        self._fetching: threading.Thread | None = None
        self._fetch_lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        """The model is in memory (scoring will not wait for a load)."""
        return self._model is not None

    @property
    def ready(self) -> bool:
        """Scoring now will not wait on the network: the model is loaded, or on disk to load from."""
        return self._model is not None or self._loadable_offline()

    @property
    def fetching(self) -> bool:
        """A background download and load (``fetch``) is under way."""
        return self._fetching is not None and self._fetching.is_alive()

    def fetch(self, on_failure: Callable[[RerankerUnavailable], None]) -> None:
        """Download and load the model on a thread of its own (one at a time), so no search waits.

        A first download is about 1.2 GB for the default: minutes that a task's memory search
        must not spend. After a failure, nothing is tried again until ``RETRY_AFTER_S`` passed.
        """
        with self._fetch_lock:
            if self.fetching or self._model is not None:
                return
            if self._failed is not None and time.monotonic() < self._failed[0]:
                return
            self._fetching = threading.Thread(
                target=self._fetch, args=(on_failure,), name="reranker-fetch", daemon=True
            )
            self._fetching.start()

    def _fetch(self, on_failure: Callable[[RerankerUnavailable], None]) -> None:
        try:
            self.load()
        except RerankerUnavailable as exc:
            on_failure(exc)

    RETRY_AFTER_S = 300.0
    """After a failed load, searches go on unreranked this long before the next try
    (a hub lookup that fails takes seconds; the model may be downloaded meanwhile)."""

    def load(self) -> None:
        """Load the model now (idempotent).

        Raises:
            RerankerUnavailable: it cannot be loaded, or its tokenizer lacks "yes"/"no" tokens.
        """
        with self._lock:
            if self._model is not None:
                return
            if self._failed is not None and time.monotonic() < self._failed[0]:
                raise self._failed[1]
            import mlx_lm

            try:
                model, tokenizer = mlx_lm.load(self.model_name)[:2]
            except Exception as exc:  # hub, disk and format errors all mean "cannot load"
                from greenroom.models.hub import one_line

                error = RerankerUnavailable(
                    f"cannot load reranker {self.model_name!r}: {one_line(exc)}; searches go on unreranked"
                )
                self._failed = (time.monotonic() + self.RETRY_AFTER_S, error)
                raise error from exc
            ids = [tokenizer.convert_tokens_to_ids(t) for t in ("yes", "no")]
            unk = getattr(tokenizer, "unk_token_id", None)
            if any(i is None or i == unk for i in ids):
                raise RerankerUnavailable(f"reranker {self.model_name!r} has no single 'yes' and 'no' tokens")
            self._yes, self._no = ids
            self._prefix = tokenizer.encode(PREFIX, add_special_tokens=False)
            self._suffix = tokenizer.encode(SUFFIX, add_special_tokens=False)
            self._model, self._tokenizer = model, tokenizer
            log.info("reranker_loaded", model=self.model_name)

    @property
    def state(self) -> str:
        """``loaded``, why it is unavailable, or whether a first use can load it offline."""
        if self._model is not None:
            return "loaded"
        if self.fetching:
            return "downloading in the background (searches go on unreranked until it is loaded)"
        if self._failed is not None:
            return f"unavailable: {self._failed[1]}"
        return (
            "not loaded yet (loads on the first search)"
            if self._loadable_offline()
            else "not downloaded yet: the first search downloads it in the background (or: greenroom models pull)"
        )

    def _loadable_offline(self) -> bool:
        """The model is a local folder or already in the hub cache (no network needed to load it)."""

        if user_path(self.model_name).is_dir():
            return True
        try:
            from huggingface_hub import try_to_load_from_cache

            return isinstance(try_to_load_from_cache(self.model_name, "config.json"), str)
        except Exception:  # a malformed name: not loadable from anywhere
            return False

    def _pairs(self, query: str, documents: Sequence[str]) -> list[list[int]]:
        """Token ids of each (query, document) prompt; the query part is encoded once."""
        head = self._prefix + self._tokenizer.encode(
            f"<Instruct>: {self.instruction}\n<Query>: {query}\n<Document>: ", add_special_tokens=False
        )
        room = max(self.max_tokens - len(head) - len(self._suffix), 16)
        return [
            head + self._tokenizer.encode(document, add_special_tokens=False)[:room] + self._suffix
            for document in documents
        ]

    def score(self, query: str, documents: Sequence[str]) -> list[float]:
        """The probability that each document answers ``query`` (0-1)."""
        import numpy as np

        if not documents:
            return []
        self.load()
        import mlx.core as mx

        with self._lock:
            pairs = self._pairs(query, documents)
            scores: list[float] = []
            pad = self._tokenizer.pad_token_id or 0
            inner = self._model.model
            head = getattr(self._model, "lm_head", None) or inner.embed_tokens.as_linear
            for start in range(0, len(pairs), self.batch_size):
                batch = pairs[start : start + self.batch_size]
                width = max(len(p) for p in batch)
                tokens = mx.array([p + [pad] * (width - len(p)) for p in batch])
                hidden = inner(tokens)
                last = hidden[mx.arange(len(batch)), mx.array([len(p) - 1 for p in batch])]
                logits = head(last[:, None, :])[:, 0, :]
                pair_logits = mx.stack([logits[:, self._no], logits[:, self._yes]], axis=1).astype(mx.float32)
                probs = mx.softmax(pair_logits, axis=1)[:, 1]
                scores.extend(np.asarray(probs).tolist())
            return scores
