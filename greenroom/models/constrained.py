"""Schema-constrained decoding with llguidance, as an mlx-lm logits processor.

llguidance computes, for each step, the set of tokens that keep the output a
valid prefix of the JSON Schema's language (about 50 µs per mask); every other
token's logit becomes -inf. The output therefore always parses and validates,
whatever the model's size or weights, and generation stops when the grammar is
complete. Its own ``llguidance.mlx`` helper uses a Metal kernel, so the mask is
applied here with ``mx.where``, which also runs on the CPU build of MLX.
"""

from __future__ import annotations

import json
from typing import Any, cast

import llguidance
import llguidance.hf
import llguidance.numpy
import mlx.core as mx
import numpy as np

from greenroom.models.backend import ModelError


def tokenizer_for(hf_tokenizer: Any) -> llguidance.LLTokenizer:
    """Wrap a Hugging Face fast tokenizer for llguidance (about 1 s: cache the result)."""
    return llguidance.hf.from_tokenizer(hf_tokenizer)


class JsonSchemaProcessor:
    """A logits processor that keeps generation inside a JSON Schema.

    mlx-lm calls it with every token so far (prompt first) and the next
    logits; it feeds the newly sampled tokens to the matcher and masks the
    logits to what the grammar allows next.
    """

    def __init__(self, ll_tokenizer: llguidance.LLTokenizer, schema: dict[str, Any]) -> None:
        grammar = llguidance.LLMatcher.grammar_from_json_schema(
            json.dumps(schema), defaults={"whitespace_flexible": False}
        )
        self.matcher = llguidance.LLMatcher(ll_tokenizer, grammar)
        if self.matcher.is_error():
            raise ModelError(f"invalid output schema: {self.matcher.get_error()}")
        self._eos = ll_tokenizer.eos_token
        self._vocab = ll_tokenizer.vocab_size
        self._bitmask = llguidance.numpy.allocate_token_bitmask(1, self._vocab)
        self._seen: int | None = None

    @property
    def done(self) -> bool:
        """The grammar is complete (or stopped)."""
        return self.matcher.is_stopped() or self.matcher.is_accepting()

    def __call__(self, tokens: mx.array, logits: mx.array) -> mx.array:
        if self._seen is None:
            self._seen = tokens.shape[0]  # the prompt: nothing to consume
        else:
            new = cast(list[int], tokens[self._seen :].tolist())
            self._seen = tokens.shape[0]
            for tok in new:
                if not self.matcher.is_stopped():
                    self.matcher.consume_token(int(tok))
        width = logits.shape[-1]
        if self.matcher.is_stopped():
            allowed = np.zeros(width, dtype=bool)
            allowed[self._eos] = True
        else:
            llguidance.numpy.fill_next_token_bitmask(self.matcher, self._bitmask, 0)
            if self.matcher.is_error():
                raise ModelError(f"constrained decoding failed: {self.matcher.get_error()}")
            bits = np.unpackbits(self._bitmask.view(np.uint8), bitorder="little")
            allowed = np.zeros(width, dtype=bool)
            n = min(width, self._vocab)
            allowed[:n] = bits[:n].astype(bool)
        return mx.where(mx.array(allowed), logits, -mx.inf)
