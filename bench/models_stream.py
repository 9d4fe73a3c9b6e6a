"""Tokens/s and time to first token through the daemon to a client, beside raw
``mlx_lm.stream_generate`` on the same model in the same run; and constrained
(llguidance, JSON Schema) beside unconstrained generation.

    python -m bench.models_stream [--model FOLDER] [--tokens 96] [--runs 3]

Default model: the embedded SmolLM2-135M (converted once into /tmp/grb-models).
Both sides get the same treatment: one untimed warm-up generation first (the
same warm-up prompt), then the same distinct prompts, greedy; and the same
prompt caching: the daemon keeps KV caches of recent prompts and reuses the
longest shared prefix (here the chat template's header), so the raw side keeps
its previous prompt's cache (mlx-lm's ``prompt_cache``) and reuses the shared
prefix the same way. Decode speed is measured alike: tokens after the first,
over the time from the first to the last token (at the client, for the daemon).
Goal: the daemon streams at ≥ 97% of raw tokens/s.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from pathlib import Path
from typing import Any

from bench.common import BenchDaemon
from greenroom.bus import events as e
from greenroom.clients import Client

TOPICS = ["the sea", "a mountain", "autumn", "a city at night", "a library", "bread", "a train", "rain"]
WARM_UP = "Say hello."
GOAL = 0.97


def prompt(i: int) -> str:
    return f"Write a long, detailed paragraph about {TOPICS[i % len(TOPICS)]}."


def common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def raw(model_path: str, runs: int, tokens: int) -> tuple[list[float], list[float]]:
    import mlx_lm
    from mlx_lm.models.cache import make_prompt_cache, trim_prompt_cache
    from mlx_lm.sample_utils import make_sampler

    model, tokenizer = mlx_lm.load(model_path)[:2]
    cache = make_prompt_cache(model)
    held: list[int] = []  # the tokens the cache holds
    tps, ttft = [], []
    for i, text in enumerate([WARM_UP, *(prompt(i) for i in range(1, runs + 1))]):
        ids = tokenizer.apply_chat_template([{"role": "user", "content": text}], add_generation_prompt=True)
        keep = min(common_prefix(held, ids), len(ids) - 1)
        trim_prompt_cache(cache, cache[0].offset - keep)
        started = time.perf_counter()
        times, generated = [], []
        for response in mlx_lm.stream_generate(
            model, tokenizer, ids[keep:], max_tokens=tokens, sampler=make_sampler(temp=0.0), prompt_cache=cache
        ):
            times.append(time.perf_counter())
            generated.append(response.token)
        held = (ids + generated)[: cache[0].offset]
        if i == 0:
            continue  # the warm-up
        ttft.append(times[0] - started)
        tps.append((len(times) - 1) / (times[-1] - times[0]))
    return tps, ttft


def through_daemon(model_path: str, runs: int, tokens: int) -> tuple[list[float], list[float]]:
    # The raw side is mlx-lm, so the daemon runs MLX too: this measures the daemon, not the runtime.
    daemon = BenchDaemon("--set", "llm.backend=mlx", "--set", "llm.runtime=mlx", "--set", f'llm.model="{model_path}"')
    daemon.start()
    tps, ttft = [], []
    try:
        with Client(daemon.runtime_dir, timeout=600) as client:
            client.load_model()
            for i in range(runs + 1):  # run 0 is the warm-up, with the raw side's warm-up prompt
                arrivals: list[float] = []
                head = client.status().head
                done = threading.Event()

                def follow(head: int = head, arrivals: list[float] = arrivals, done: threading.Event = done) -> None:
                    with Client(daemon.runtime_dir, timeout=60) as watcher:
                        for env in watcher.follow(from_seq=head + 1):
                            if isinstance(env.event, e.LlmChunk) and env.event.request_id.startswith("-:bench"):
                                arrivals.append(time.perf_counter())
                            elif isinstance(env.event, e.LlmFinished):
                                done.set()
                                return

                watcher = threading.Thread(target=follow, daemon=True)
                watcher.start()
                time.sleep(0.3)  # the follower is subscribed
                started = time.perf_counter()
                text = prompt(i) if i else WARM_UP
                reply = client.generate([("user", text)], max_tokens=tokens, purpose="bench")
                done.wait(30)
                watcher.join(5)
                if i == 0:
                    continue
                ttft.append(arrivals[0] - started)
                events = [env.event for env in client.replay(reply.seq, reply.seq).events]
                generated = events[0].generated_tokens if events else len(arrivals)  # type: ignore[union-attr]
                tps.append((generated - 1) / max(arrivals[-1] - arrivals[0], 1e-6))
    finally:
        daemon.stop()
    return tps, ttft


def constrained(model_path: str, runs: int, tokens: int) -> tuple[list[float], list[float]]:
    from greenroom.models import GenerationRequest, Message, MlxBackend, Usage

    schema: dict[str, Any] = {
        "type": "object",
        "properties": {"title": {"type": "string"}, "points": {"type": "array", "items": {"type": "string"}}},
        "required": ["title", "points"],
    }
    backend = MlxBackend(lambda: Path(model_path), name="bench")
    free: list[float] = []
    bound: list[float] = []
    for i in range(runs + 1):  # run 0 warms both up
        for out, s in ((free, None), (bound, schema)):
            request = GenerationRequest(
                messages=[Message("user", prompt(i + 10) + " Answer in JSON.")], max_tokens=tokens, schema=s
            )
            usage = Usage()
            for _ in backend.stream(request, usage, threading.Event()):
                pass
            if i:
                out.append(usage.tokens_per_s)
    return free, bound


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="an mlx-lm model folder (default: the embedded SmolLM2-135M)")
    parser.add_argument("--tokens", type=int, default=96)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    model = args.model
    if model is None:
        from greenroom.models import ensure_default_model

        model = str(ensure_default_model(Path("/tmp/grb-models")))
    raw_tps, raw_ttft = raw(model, args.runs, args.tokens)
    d_tps, d_ttft = through_daemon(model, args.runs, args.tokens)
    free, bound = constrained(model, args.runs, args.tokens)
    med = statistics.median
    print(f"model: {model}, {args.tokens} tokens, {args.runs} runs (medians)")
    print(f"raw mlx_lm.stream_generate   {med(raw_tps):6.2f} tok/s   first token {med(raw_ttft) * 1e3:7.0f} ms")
    share = med(d_tps) / med(raw_tps)
    print(
        f"daemon -> client             {med(d_tps):6.2f} tok/s   first token {med(d_ttft) * 1e3:7.0f} ms"
        f"   -> {share:.1%} of raw tok/s   goal >= {GOAL:.0%}: {'met' if share >= GOAL else 'MISSED'}"
    )
    print(
        f"unconstrained {med(free):6.2f} tok/s | JSON-Schema constrained (llguidance) {med(bound):6.2f} tok/s"
        f" ({med(bound) / med(free):.1%})"
    )


if __name__ == "__main__":
    main()
