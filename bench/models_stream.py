"""Tokens/s and time to first token through the daemon to a client, beside raw
``mlx_lm.stream_generate`` on the same model in the same run; and constrained
(llguidance, JSON Schema) beside unconstrained generation.

    python -m bench.models_stream [--model FOLDER] [--tokens 96] [--runs 8]

Default model: the embedded SmolLM2-135M (converted once into /tmp/grb-models).
Both sides get the same treatment: one untimed warm-up generation first (the
same warm-up prompt), then the same distinct prompts, greedy, the two sides
alternating (each run in the other order, so a change in the machine's load
skews neither); and the same
prompt caching: the daemon keeps KV caches of recent prompts and reuses the
longest shared prefix (here the chat template's header), so the raw side keeps
its previous prompt's cache (mlx-lm's ``prompt_cache``) and reuses the shared
prefix the same way. Decode speed is measured alike: tokens after the first,
over the time from the first to the last token (at the client, for the daemon).
Each run's two sides get the same prompt back to back; the share is the median
of the runs' ratios (a change in the machine's load between runs skews no pair).
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


class Raw:
    """mlx-lm's own ``stream_generate`` in this process, keeping its previous prompt's cache."""

    def __init__(self, model_path: str) -> None:
        import mlx_lm
        from mlx_lm.models.cache import make_prompt_cache

        self.model, self.tokenizer = mlx_lm.load(model_path)[:2]
        self.cache = make_prompt_cache(self.model)
        self.held: list[int] = []  # the tokens the cache holds

    def run(self, text: str, tokens: int) -> tuple[float, float]:
        """One generation: (decode tokens/s, seconds to the first token)."""
        import mlx_lm
        from mlx_lm.models.cache import trim_prompt_cache
        from mlx_lm.sample_utils import make_sampler

        ids = self.tokenizer.apply_chat_template([{"role": "user", "content": text}], add_generation_prompt=True)
        keep = min(common_prefix(self.held, ids), len(ids) - 1)
        trim_prompt_cache(self.cache, self.cache[0].offset - keep)
        started = time.perf_counter()
        times, generated = [], []
        for response in mlx_lm.stream_generate(
            self.model, self.tokenizer, ids[keep:], max_tokens=tokens, sampler=make_sampler(temp=0.0),
            prompt_cache=self.cache,
        ):  # fmt: skip
            times.append(time.perf_counter())
            generated.append(response.token)
        self.held = (ids + generated)[: self.cache[0].offset]
        return (len(times) - 1) / (times[-1] - times[0]), times[0] - started


class ThroughDaemon:
    """The same model in a ``greenroom daemon`` (MLX, as the raw side), its chunks read by a follower."""

    def __init__(self, model_path: str) -> None:
        # The raw side is mlx-lm, so the daemon runs MLX too: this measures the daemon, not the runtime.
        self.daemon = BenchDaemon(
            "--set", "llm.backend=mlx", "--set", "llm.runtime=mlx", "--set", f'llm.model="{model_path}"'
        )  # fmt: skip
        self.daemon.start()
        self.client = Client(self.daemon.runtime_dir, timeout=600).connect()
        self.client.load_model()

    def run(self, text: str, tokens: int) -> tuple[float, float]:
        """One generation: (decode tokens/s at the client, seconds to the first chunk there)."""
        arrivals: list[float] = []
        head = self.client.status().head
        done = threading.Event()

        def follow() -> None:
            with Client(self.daemon.runtime_dir, timeout=60) as watcher:
                for env in watcher.follow(from_seq=head + 1):
                    if env is None:
                        continue
                    if isinstance(env.event, e.LlmChunk) and env.event.request_id.startswith("-:bench"):
                        arrivals.append(time.perf_counter())
                    elif isinstance(env.event, e.LlmFinished):
                        done.set()
                        return

        watcher = threading.Thread(target=follow, daemon=True)
        watcher.start()
        time.sleep(0.3)  # the follower is subscribed
        started = time.perf_counter()
        reply = self.client.generate([("user", text)], max_tokens=tokens, purpose="bench")
        done.wait(30)
        watcher.join(5)
        events = [env.event for env in self.client.replay(reply.seq, reply.seq).events]
        generated = events[0].generated_tokens if events else len(arrivals)  # type: ignore[union-attr]
        return (generated - 1) / max(arrivals[-1] - arrivals[0], 1e-6), arrivals[0] - started

    def close(self) -> None:
        self.client.close()
        self.daemon.stop()


def interleaved(model_path: str, runs: int, tokens: int) -> dict[str, tuple[list[float], list[float]]]:
    """Both sides warmed up alike, then run ``runs`` times each, alternating which goes first,
    so a change in the machine's load between them skews neither."""
    sides: dict[str, Raw | ThroughDaemon] = {"raw": Raw(model_path), "daemon": ThroughDaemon(model_path)}
    out: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in sides}
    try:
        for side in sides.values():
            side.run(WARM_UP, tokens)
        for i in range(1, runs + 1):
            for name in list(sides)[:: 1 if i % 2 else -1]:
                tps, ttft = sides[name].run(prompt(i), tokens)
                out[name][0].append(tps)
                out[name][1].append(ttft)
    finally:
        daemon = sides["daemon"]
        assert isinstance(daemon, ThroughDaemon)
        daemon.close()
    return out


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
    parser.add_argument("--runs", type=int, default=8)
    args = parser.parse_args()
    model = args.model
    if model is None:
        from greenroom.models import ensure_default_model

        model = str(ensure_default_model(Path("/tmp/grb-models")))
    measured = interleaved(model, args.runs, args.tokens)
    (raw_tps, raw_ttft), (d_tps, d_ttft) = measured["raw"], measured["daemon"]
    free, bound = constrained(model, args.runs, args.tokens)
    med = statistics.median
    print(f"model: {model}, {args.tokens} tokens, {args.runs} runs (medians)")
    print(f"raw mlx_lm.stream_generate   {med(raw_tps):6.2f} tok/s   first token {med(raw_ttft) * 1e3:7.0f} ms")
    pairs = [d / r for d, r in zip(d_tps, raw_tps, strict=True)]  # each run's two sides ran back to back
    share = med(pairs)
    print(
        f"daemon -> client             {med(d_tps):6.2f} tok/s   first token {med(d_ttft) * 1e3:7.0f} ms"
        f"   -> {share:.1%} of raw tok/s   goal >= {GOAL:.0%}: {'met' if share >= GOAL else 'MISSED'}"
    )
    print(f"  per run (same prompt, back to back): {', '.join(f'{x:.0%}' for x in pairs)}")
    print(
        f"unconstrained {med(free):6.2f} tok/s | JSON-Schema constrained (llguidance) {med(bound):6.2f} tok/s"
        f" ({med(bound) / med(free):.1%})"
    )


if __name__ == "__main__":
    main()
