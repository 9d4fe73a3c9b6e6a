"""What tools cost in a step prompt, and which tool text keeps the model accurate.

1. **Tokens**: a step prompt (system text + tool list + goal and step) under the
   embedded default's chat template (SmolLM2-135M), with the 8 tools the
   selector picks vs every tool — of a typical setup (the built-ins plus the
   filesystem, git, GitHub, Playwright, Slack, fetch, memory and time servers)
   and of the whole 500-tool pool — in each tool-text style.
2. **Time to first token** on the embedded default through greenroom's mlx-lm
   backend (decoding under the round's JSON Schema, as a step does), 8 selected
   tools vs the typical setup's, same run. Each prompt is new to the backend, so
   no KV cache is reused beyond the shared system line.
3. **Accuracy per style**: for labelled queries whose right tool is among the 8
   selected, which tool does the model pick? Scored as the log-likelihood of each
   candidate's name where the decoder writes it (``{"action": "call_tools",
   "calls": [{"tool": "``), with the same weights in torch (mlx prefill on this CPU is
   ~10x slower; the choice is the model's, not the runtime's).

    python -m bench.tool_prompt [--ttft-runs 2] [--accuracy 40]
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
            scores = [_loglik(model, tokenizer, head_ids, t.name + '"') for t in picked]
            right += picked[max(range(len(picked)), key=scores.__getitem__)].name in q["relevant"]
        print(f"{style:<12} {right / len(cases):>10.3f} {statistics.mean(tokens):>14.0f}")


def _loglik(model: Any, tokenizer: Any, head_ids: Any, continuation: str) -> float:
    import torch

    tail = tokenizer(continuation, add_special_tokens=False, return_tensors="pt").input_ids
    ids = torch.cat([head_ids, tail], dim=1)
    with torch.inference_mode():
        logits = model(ids).logits[0, head_ids.shape[1] - 1 : -1]
    logp = torch.log_softmax(logits.float(), dim=-1)
    return float(logp.gather(1, tail[0].unsqueeze(1)).sum()) / math.sqrt(tail.shape[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--ttft-runs", type=int, default=2, help="prompts timed per condition")
    parser.add_argument("--accuracy", type=int, default=40, help="queries for the per-style accuracy (0: skip)")
    args = parser.parse_args()
    pool, queries = load_pool()
    setup = [t for t in pool if t.origin == "builtin" or (t.name.startswith("mcp.") and t.name.split(".")[1] in SETUP)]
    selector = ToolSelector(Embedder())
    selector.warm(pool)
    backend = MlxBackend(lambda: ensure_default_model(MODELS), name="smollm2-135m")
    backend.load()
    token_table(backend, selector.select(GOAL, pool).tools, setup, pool)

    print("\ntime to first token on SmolLM2-135M (mlx-lm, CPU), step prompt decoded under its call schema")
    goals = [q["query"] for q in queries[20 : 20 + args.ttft_runs]]
    for label, pick in (
        ("8 selected", lambda g: selector.select(g, setup).tools),
        (f"all {len(setup)}", lambda g: setup),
    ):
        runs = [ttft(backend, pick(g), g) for g in goals]
        times = ", ".join(f"{s:.1f} s ({n:,} tokens)" for s, n in runs)
        print(f"{label:<12} median {statistics.median(s for s, _ in runs):.1f} s   [{times}]")
    if args.accuracy:
        accuracy(selector, pool, queries, args.accuracy)


if __name__ == "__main__":
    main()
