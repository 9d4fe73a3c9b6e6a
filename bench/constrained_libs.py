"""llguidance vs xgrammar vs outlines-core for JSON-Schema-constrained decoding on
mlx-lm's tokenizer: what it costs to prepare a schema and to compute each token's mask.

    pip install xgrammar outlines-core   # the two not used by greenroom itself
    python -m bench.constrained_libs [--model FOLDER]

For greenroom's own plan and verdict schemas (the plan schema's tool enum lists
the built-in tools), each library compiles the schema, then walks a valid output
token by token: mask for the next token (must allow it), accept it. Reported:
compile time and mean/p99 mask time per token. The mask has to be ready before
every sampled token, so the per-token time is what slows generation; the
compile time is paid once per request (per schema with a cache).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import percentile
from greenroom.actors.prompts import VERDICT_SCHEMA, plan_schema
from greenroom.tools import ToolRegistry, default_tools
from greenroom.tools.settings import ToolsConfig

PLAN = {
    "steps": [{"intent": "read the notes file and list the open questions", "tools": ["fs.read", "memory.remember"]}]
}
VERDICT = {"verdict": "accept", "reason": "the step produced the list of open questions that was asked for"}


def _walk(ids: list[int], mask_and_check: Callable[[int], bool], accept: Callable[[int], None]) -> list[float]:
    times = []
    for tok in ids:
        t = time.perf_counter()
        ok = mask_and_check(tok)
        times.append(time.perf_counter() - t)
        if not ok:
            raise AssertionError(f"token {tok} was masked out")
        accept(tok)
    return times


def llguidance_run(hf_tok: Any, schema: dict[str, Any], ids: list[int]) -> tuple[float, list[float]]:
    import llguidance
    import llguidance.hf
    import llguidance.numpy

    ll_tok = llguidance.hf.from_tokenizer(hf_tok)
    t = time.perf_counter()
    grammar = llguidance.LLMatcher.grammar_from_json_schema(json.dumps(schema), defaults={"whitespace_flexible": False})
    matcher = llguidance.LLMatcher(ll_tok, grammar)
    compile_s = time.perf_counter() - t
    bitmask = llguidance.numpy.allocate_token_bitmask(1, ll_tok.vocab_size)

    def mask(tok: int) -> bool:
        llguidance.numpy.fill_next_token_bitmask(matcher, bitmask, 0)
        return bool((bitmask[0, tok // 32] >> (tok % 32)) & 1)

    return compile_s, _walk(ids, mask, lambda tok: matcher.consume_token(tok))


def xgrammar_run(hf_tok: Any, schema: dict[str, Any], ids: list[int]) -> tuple[float, list[float]]:
    import xgrammar as xg

    info = xg.TokenizerInfo.from_huggingface(hf_tok)
    compiler = xg.GrammarCompiler(info, cache_enabled=False)
    t = time.perf_counter()
    compiled = compiler.compile_json_schema(json.dumps(schema), any_whitespace=False, separators=(",", ":"))
    matcher = xg.GrammarMatcher(compiled)
    compile_s = time.perf_counter() - t
    bitmask = xg.allocate_token_bitmask(1, info.vocab_size)

    def mask(tok: int) -> bool:
        matcher.fill_next_token_bitmask(bitmask)
        words = bitmask.numpy() if hasattr(bitmask, "numpy") else np.asarray(bitmask)
        return bool((int(words[0, tok // 32]) >> (tok % 32)) & 1)

    return compile_s, _walk(ids, mask, lambda tok: matcher.accept_token(tok))


def outlines_run(hf_tok: Any, schema: dict[str, Any], ids: list[int]) -> tuple[float, list[float]]:
    from outlines_core import Guide, Index, Vocabulary
    from outlines_core.json_schema import build_regex_from_schema

    # Token strings as they decode (byte-level BPE's "Ġ" is a space), as outlines itself builds them.
    special = set(hf_tok.all_special_ids)
    tokens: dict[str, list[int]] = {}
    for token, token_id in hf_tok.get_vocab().items():
        if token_id not in special:
            tokens.setdefault(hf_tok.convert_tokens_to_string([token]), []).append(token_id)
    vocabulary = Vocabulary(hf_tok.eos_token_id, tokens)
    t = time.perf_counter()
    index = Index(build_regex_from_schema(json.dumps(schema)), vocabulary)
    guide = Guide(index)
    compile_s = time.perf_counter() - t

    def mask(tok: int) -> bool:
        return tok in set(guide.get_tokens())

    return compile_s, _walk(ids, mask, lambda tok: guide.advance(tok))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="an mlx-lm model folder (default: the embedded SmolLM2-135M)")
    args = parser.parse_args()
    model = args.model
    if model is None:
        from greenroom.models import ensure_default_model

        model = str(ensure_default_model(Path("/tmp/grb-models")))
    from transformers import AutoTokenizer

    hf_tok = AutoTokenizer.from_pretrained(model)
    tools = ToolRegistry(default_tools(ToolsConfig()))
    cases = {"plan": (plan_schema(tools, 6), PLAN), "verdict": (VERDICT_SCHEMA, VERDICT)}
    print(f"tokenizer: {model} (vocab {len(hf_tok)})")
    print(f"{'library':<14} {'schema':<8} {'compile':>10} {'mask mean':>10} {'mask p99':>10}")
    for name, run in (("llguidance", llguidance_run), ("xgrammar", xgrammar_run), ("outlines-core", outlines_run)):
        for case, (schema, value) in cases.items():
            ids = hf_tok.encode(json.dumps(value, separators=(",", ":")), add_special_tokens=False)
            try:
                compile_s, times = run(hf_tok, schema, ids)
            except Exception as exc:  # a library that cannot handle the schema is a result too
                print(f"{name:<14} {case:<8} failed: {type(exc).__name__}: {str(exc)[:80]}")
                continue
            print(
                f"{name:<14} {case:<8} {compile_s * 1e3:>8.1f}ms {statistics.mean(times) * 1e6:>8.0f}µs"
                f" {percentile(times, 0.99) * 1e6:>8.0f}µs"
            )


if __name__ == "__main__":
    main()
