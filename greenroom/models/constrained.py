"""Schema-constrained decoding with llguidance, on plain numpy logits.

llguidance computes, for each step, the set of tokens that keep the output a
valid prefix of the JSON Schema's language (about 50 µs per mask); every other
token's logit becomes -inf. The output therefore always parses and validates,
whatever the model's size or weights, and generation stops when the grammar is
complete. The mask works on numpy logits, so every runtime (MLX, PyTorch)
shares it.

Where the grammar leaves no choice (a key name after ``{"``, the ``":"``
after it, an enum's only remaining spelling), llguidance's fast-forward tokens
(``compute_ff_tokens``) are emitted without sampling: the decoder feeds them to
the model in one forward pass with the sampled token before them.
"""

from __future__ import annotations

import json
from typing import Any

import llguidance
import llguidance.hf
import llguidance.numpy
import numpy as np

from greenroom.models.backend import ModelError


def tokenizer_for(hf_tokenizer: Any) -> llguidance.LLTokenizer:
    """Wrap a Hugging Face fast tokenizer for llguidance (about 1 s: cache the result)."""
    return llguidance.hf.from_tokenizer(hf_tokenizer)


class JsonSchemaConstraint:
    """Keeps one generation inside a JSON Schema.

    The decoder masks each step's logits with :meth:`mask`, reports the sampled
    token with :meth:`consume`, and takes the forced continuation from
    :meth:`forced`.

    Raises:
        ModelError: the schema is invalid.
    """

    def __init__(self, ll_tokenizer: llguidance.LLTokenizer, schema: dict[str, Any]) -> None:
        grammar = llguidance.LLMatcher.grammar_from_json_schema(
            json.dumps(schema), defaults={"whitespace_flexible": False}
        )
        self.matcher = llguidance.LLMatcher(ll_tokenizer, grammar)
        if self.matcher.is_error():
            raise ModelError(f"invalid output schema: {self.matcher.get_error()}")
        self._vocab = ll_tokenizer.vocab_size
        self._bitmask = llguidance.numpy.allocate_token_bitmask(1, self._vocab)

    @property
    def stopped(self) -> bool:
        """Nothing but end-of-sequence may follow (the grammar is complete)."""
        return bool(self.matcher.is_stopped())

    @property
    def done(self) -> bool:
        """The output so far is a complete match."""
        return bool(self.matcher.is_stopped() or self.matcher.is_accepting())

    def mask(self, logits: np.ndarray) -> None:
        """Set the logits of every token the grammar forbids next to -inf (in place)."""
        llguidance.numpy.fill_next_token_bitmask(self.matcher, self._bitmask, 0)
        self._check()
        bits = np.unpackbits(self._bitmask.view(np.uint8), bitorder="little")
        n = min(logits.shape[-1], self._vocab)
        logits[:n][bits[:n] == 0] = -np.inf
        logits[n:] = -np.inf  # padding rows of the embedding matrix are never text

    def consume(self, token: int) -> None:
        """Advance past a sampled token."""
        self.matcher.consume_token(token)
        self._check()

    def forced(self, limit: int) -> list[int]:
        """The tokens the grammar forces next (at most ``limit``), already consumed."""
        if limit <= 0 or self.matcher.is_stopped():
            return []
        tokens = list(self.matcher.compute_ff_tokens())[:limit]
        if tokens:
            self.matcher.consume_tokens(tokens)
            self._check()
        return tokens

    def _check(self) -> None:
        if self.matcher.is_error():
            raise ModelError(f"constrained decoding failed: {self.matcher.get_error()}")
