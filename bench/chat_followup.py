"""Time from sending a chat message to its first streamed token: a follow-up beside a first message
of the same length, and beside a follow-up whose conversation the model has not seen (cold).

    python -m bench.chat_followup [--data /tmp/grb-models] [--runs 3] [--tokens 48]

Runs the embedded default (SmolLM2-135M, converted once into ``--data``) in a daemon subprocess on
the configured local runtime (PyTorch on Linux). Each run:

- *warm follow-up*: a new chat, two exchanges, then the follow-up: its conversation is the
  prefix of the previous task's prompts, so the model's KV cache should cover it;
- *first message*: a new chat whose first message has the follow-up's length (no conversation);
- *cold follow-up*: the same as the warm one (another topic), but the model's prompt caches are
  filled with unrelated prompts before the follow-up: the whole prompt must be prefilled.

The time is from ``chat_send`` to the first character of the answer as the chat streams it (the
chunk's commit time); the first call's prompt size comes from its ``llm.finished``. Medians over the runs,
interleaved so load hits every row alike.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

from bench.common import BenchDaemon
from greenroom.bus import events as e
from greenroom.clients import Client
from greenroom.clients.cli.chat_stream import partial_json_string
from greenroom.models import ensure_default_model

TOPICS = ["the harbour", "the orchard", "the old mill", "the lighthouse", "the market", "the bridge"]
FOLLOW_UP = "And what did the people who lived there eat in winter, most of the time?"
FIRST = "What do you know about winter food of farmers who lived in the hills, long ago?"[: len(FOLLOW_UP)]


def question(topic: str) -> str:
    return f"Tell me briefly about the history of {topic} in a small coastal town."


def timed_send(client: Client, chat_id: str, text: str) -> dict[str, Any]:
    """Send and follow the task to its end: the time to the first answer character the chat shows, and
    the first call's prompt size.

    The first ``llm.chunk`` is no measure: a JSON Schema's forced opening (``{"``) is emitted before
    the prompt has gone through the model. What the person sees first is the first character of the
    first call's ``answer`` (or of the answer call).
    """
    sent_at = time.time()
    sent = client.chat_send(chat_id, text)
    first: float | None = None
    route = ""
    prompt_tokens = 0
    for env in client.follow(from_seq=sent.seq, task_id=sent.task_id):
        ev = env.event
        if isinstance(ev, e.ConfirmationAsked):  # a made-up tool call must not hold the bench: no
            client.confirm(ev.confirmation_id, approved=False)
        elif isinstance(ev, e.LlmChunk) and first is None:
            if ev.request_id.endswith(":plan"):
                route += ev.text
                if partial_json_string(route, "answer"):
                    first = env.ts
            elif ev.request_id.endswith(":answer") and ev.text.strip():
                first = env.ts
        elif isinstance(ev, e.LlmFinished) and not prompt_tokens:
            prompt_tokens = ev.prompt_tokens
        elif isinstance(ev, (e.TaskFinished, e.TaskFailed, e.TaskCancelled)):
            break
    return {"ttft": (first or time.time()) - sent_at, "prompt_tokens": prompt_tokens, "direct": '"answer"' in route}


def conversation(client: Client, title: str, topic: str) -> str:
    """A new chat with two exchanges about ``topic`` (the conversation a follow-up builds on)."""
    chat = client.chat_create(title)
    timed_send(client, chat.chat_id, question(topic))
    timed_send(client, chat.chat_id, f"What else happened at {topic} in the old days?")
    return chat.chat_id


def evict(client: Client) -> None:
    """Fill the model's prompt caches (3, LRU) with unrelated prompts: the next call starts cold."""
    for i in range(4):
        client.generate([("system", f"Cache filler {i}."), ("user", f"Say {i}.")], max_tokens=1, purpose="evict")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("/tmp/grb-models"), help="converted models live here")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=48, help="llm.max_tokens (keeps each answer short)")
    args = parser.parse_args()
    folder = ensure_default_model(args.data)
    daemon = BenchDaemon(
        "--set", "llm.backend=mlx", "--set", f'llm.model="{folder}"', "--set", f"llm.max_tokens={args.tokens}",
        "--set", "memory.rerank=false", "--set", "agent.remember_tasks=off",
        "--set", "agent.match_tools=true",  # as a person gets it: no tool matches, so one call answers
    )  # fmt: skip
    daemon.start()
    rows: dict[str, list[dict[str, Any]]] = {"warm follow-up": [], "first message": [], "cold follow-up": []}
    try:
        with Client(daemon.runtime_dir, timeout=900) as c:
            c.load_model()
            warm = c.chat_create("warm-up")  # loads the model's caches and memory's embedding model
            timed_send(c, warm.chat_id, question("the station"))
            timed_send(c, warm.chat_id, FOLLOW_UP)
            for run in range(args.runs):
                order = ["warm follow-up", "first message", "cold follow-up"]
                for name in order[run % 3 :] + order[: run % 3]:
                    if name == "first message":
                        chat = c.chat_create(f"first {run}")
                        rows[name].append(timed_send(c, chat.chat_id, FIRST))
                        continue
                    topic = TOPICS[(2 * run + (name == "cold follow-up")) % len(TOPICS)]
                    chat_id = conversation(c, f"{name} {run}", topic)
                    if name == "cold follow-up":
                        evict(c)
                    rows[name].append(timed_send(c, chat_id, FOLLOW_UP))
                print(f"run {run + 1}/{args.runs} done", flush=True)
    finally:
        daemon.stop()
    base = statistics.median(r["ttft"] for r in rows["first message"])
    print(f"\nSmolLM2-135M, llm.max_tokens={args.tokens}, {args.runs} runs (medians); message length {len(FOLLOW_UP)}")
    print(f"{'row':<16} {'first answer char s':>20} {'x first msg':>12} {'first-call prompt tokens':>26} {'direct':>7}")
    for name, got in rows.items():
        ttft = statistics.median(r["ttft"] for r in got)
        tokens = statistics.median(r["prompt_tokens"] for r in got)
        direct = sum(r["direct"] for r in got)
        print(f"{name:<16} {ttft:>20.2f} {ttft / base:>11.2f}x {tokens:>26.0f} {direct:>4}/{len(got)}")


if __name__ == "__main__":
    main()
