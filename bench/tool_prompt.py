"""What tools cost in a step prompt, and which tool text keeps the model accurate.

1. **Tokens**: a step prompt (system text + tool list + goal and step) under the
   embedded default's chat template (SmolLM2-135M), with the 8 tools the
   selector picks vs every tool — of a typical setup (the built-ins plus the
   filesystem, git, GitHub, Playwright, Slack, fetch, memory and time servers, less
   the one tool whose schema the constrained decoder rejects, as the daemon skips it)
   and of the whole 500-tool pool — in each tool-text style.
2. **Time to first token** on the embedded default through greenroom's mlx-lm
   backend (decoding under the round's JSON Schema, as a step does), 8 selected
   tools vs the typical setup's, same run: cold (the first prompt with that tool
   list) and warm (the next round's prompt, same tools: the backend reuses the KV
   cache of the shared prefix).
3. **Accuracy per style**: for labelled queries whose right tool is among the 8
   selected, which tool does the model pick? Scored as the log-likelihood of each
   candidate's name where the decoder writes it (``{"action": "call_tools",
   "calls": [{"tool": "``), with the same weights in torch (mlx prefill on this CPU is
   ~10x slower; the choice is the model's, not the runtime's).

    python -m bench.tool_prompt [--no-ttft] [--accuracy 40]
"""

from __future__ import annotations

import argparse
import math
import statistics
import threading
import time
from pathlib import Path
from typing import Any

from bench.tool_retrieval import load_pool
from greenroom.memory import Embedder
from greenroom.models import GenerationRequest, Message, MlxBackend, ensure_default_model
from greenroom.models.backend import Usage
from greenroom.tools import ToolSpec
from greenroom.tools.mcp.convert import schema_problem
from greenroom.tools.prompt import Style, render_tools
from greenroom.tools.registry import call_schema
from greenroom.tools.selector import ToolSelector

MODELS = Path("/tmp/grb-models")
SETUP = ("filesystem", "git", "github", "playwright", "slack", "fetch", "memory", "time")
STYLES: tuple[Style, ...] = ("json", "signature", "names")
CALL_PREFIX = '{"action": "call_tools", "calls": [{"tool": "'


def step_messages(tools: list[ToolSpec], goal: str, style: Style = "signature") -> list[Message]:
    system = (
        "You carry out one step of a task. Either call tools or finish the step with its result. Tools:\n"
        + render_tools(tools, style)
        + "\nReply in JSON."
    )
    return [Message("system", system), Message("user", f"Goal: {goal}\nStep: {goal}")]


def token_table(backend: MlxBackend, picked: list[ToolSpec], setup: list[ToolSpec], pool: list[ToolSpec]) -> None:
    print(f"\nprompt tokens (SmolLM2 chat template; its context is 8,192) for one step, goal {GOAL!r}")
    heads = (f"setup ({len(setup)})", f"pool ({len(pool)})")
    print(f"{'tool text':<12} {'8 selected':>11} {heads[0]:>13} {heads[1]:>12} {'per tool':>9}")
    for style in STYLES:
        counts = [
            len(backend.prompt_for(GenerationRequest(messages=step_messages(ts, GOAL, style))))
            for ts in (picked, setup, pool)
        ]
        base = len(backend.prompt_for(GenerationRequest(messages=step_messages([], GOAL, style))))
        per_tool = (counts[2] - base) / len(pool)
        print(f"{style:<12} {counts[0]:>11,} {counts[1]:>13,} {counts[2]:>12,} {per_tool:>9.1f}")


GOAL = "show the last ten commits of the repository"


def ttft_table(backend: MlxBackend, selector: ToolSelector, setup: list[ToolSpec], goals: list[str]) -> None:
    """Cold: the first prompt with this tool list. Warm: the next prompt with the same list
    (the next round of the step), when the backend reuses the KV cache of the shared prefix."""
    print("\ntime to first token on SmolLM2-135M (mlx-lm, CPU), a step prompt decoded under its call schema")
    print(f"{'tools':<12} {'cold':>22} {'warm (next round)':>22}")
    for label, tools in (("8 selected", selector.select(goals[0], setup).tools), (f"all {len(setup)}", setup)):
        backend._caches.clear()  # nothing from the other condition (or a previous run) is reused
        cold, n_cold = ttft(backend, tools, goals[0])
        warm, n_warm = ttft(backend, tools, goals[1])
        print(f"{label:<12} {f'{cold:.1f} s ({n_cold:,} tokens)':>22} {f'{warm:.1f} s ({n_warm:,} tokens)':>22}")


def ttft(backend: MlxBackend, tools: list[ToolSpec], goal: str) -> tuple[float, int]:
    request = GenerationRequest(
        messages=step_messages(tools, goal), schema=call_schema(tools, 4), max_tokens=1, purpose="step:1:round:1"
    )
    usage = Usage()
    started = time.perf_counter()
    for _ in backend.stream(request, usage, threading.Event()):
        break
    return time.perf_counter() - started, usage.prompt_tokens


def accuracy(selector: ToolSelector, tools: list[ToolSpec], queries: list[dict[str, Any]], n: int) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = ensure_default_model(MODELS)
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
    cases = []
    for q in queries:
        picked = selector.select(q["query"], tools).tools
        if any(t.name in q["relevant"] for t in picked):
            cases.append((q, picked))
        if len(cases) == n:
            break
    print(f"\naccuracy: {len(cases)} labelled queries whose right tool is among the 8 selected (chance ~1/8)")
    print(f"{'tool text':<12} {'right tool':>10} {'tokens/prompt':>14}")
    for style in STYLES:
        right, tokens = 0, []
        for q, picked in cases:
            messages = [{"role": m.role, "content": m.content} for m in step_messages(picked, q["query"], style)]
            head = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False) + CALL_PREFIX
            head_ids = tokenizer(head, return_tensors="pt").input_ids
            tokens.append(head_ids.shape[1])
            scores = _logliks(model, tokenizer, head_ids, [t.name + '"' for t in picked])
            right += picked[max(range(len(picked)), key=scores.__getitem__)].name in q["relevant"]
        print(f"{style:<12} {right / len(cases):>10.3f} {statistics.mean(tokens):>14.0f}")


def _logliks(model: Any, tokenizer: Any, head_ids: Any, continuations: list[str]) -> list[float]:
    """Each continuation's log-likelihood after the prompt (length-normalised by sqrt(tokens));
    the prompt is run once and its KV cache cropped back after each continuation."""
    import torch

    scores = []
    with torch.inference_mode():
        out = model(head_ids, use_cache=True)
        cache, last = out.past_key_values, out.logits[0, -1:]  # (the model's own cache object)
        for text in continuations:
            tail = tokenizer(text, add_special_tokens=False, return_tensors="pt").input_ids
            more = model(tail, cache=cache, use_cache=True).logits[0, :-1]
            cache.crop(-tail.shape[1])  # back to the prompt alone
            logp = torch.log_softmax(torch.cat([last, more]).float(), dim=-1)
            scores.append(float(logp.gather(1, tail[0].unsqueeze(1)).sum()) / math.sqrt(tail.shape[1]))
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--no-ttft", dest="ttft", action="store_false", help="skip the (slow) time to first token")
    parser.add_argument("--accuracy", type=int, default=40, help="queries for the per-style accuracy (0: skip)")
    args = parser.parse_args()
    pool, queries = load_pool()
    setup = [t for t in pool if t.origin == "builtin" or (t.name.startswith("mcp.") and t.name.split(".")[1] in SETUP)]
    # As the daemon imports them: a schema the constrained decoder rejects is skipped.
    setup = [t for t in setup if t.origin == "builtin" or schema_problem(t.schema()) is None]
    selector = ToolSelector(Embedder())
    selector.warm(pool)
    backend = MlxBackend(lambda: ensure_default_model(MODELS), name="smollm2-135m")
    backend.load()
    token_table(backend, selector.select(GOAL, pool).tools, setup, pool)

    if args.ttft:
        ttft_table(backend, selector, setup, [q["query"] for q in queries[20:22]])
    if args.accuracy:
        accuracy(selector, pool, queries, args.accuracy)


if __name__ == "__main__":
    main()
