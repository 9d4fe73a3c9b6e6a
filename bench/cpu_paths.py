"""CPU runtimes for the embedded default model, side by side in one run.

    python -m bench.cpu_paths [--data /tmp/grb-models] [--reps 3] [--tokens 60] [--only torch,mlx] [--compile]

Every path runs the same converted SmolLM2-135M-Instruct through greenroom's
own decode loop (``models.decoding``: chunked prefill, numpy sampling,
llguidance masks), so only the runtime differs. Paths: mlx-lm bf16 (the
baseline: the former default on Linux) and f32; PyTorch fp32 and dynamic int8
on 2 threads, 1 thread, and 2 for prompt chunks / 1 for decoding (``t2/1``),
bf16 on t2/1, and ``torch.compile`` with ``--compile``; and, when
installed, onnxruntime-genai (int4, fp32; exported with its builder) and
CTranslate2 (int8; raw only: it exposes neither logits nor its KV cache, so
constrained decoding cannot run on it).

Scenarios, interleaved (each repetition runs every path once), medians reported:

- cold: a ~250-token agent prompt, fresh KV cache, ``--tokens`` free tokens;
- warm: the same system prefix already cached, a new user turn;
- plan: a warm call decoded under a plan-shaped JSON Schema through the real
  ``LocalBackend.stream``, with fast-forward (forced tokens fed as prefill)
  and without it;
- call150: a ~150-token prompt and an answer of at most 30 tokens under a
  schema, cold and warm: what one agent-loop call costs.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from greenroom.models import GenerationRequest, Message, Usage, ensure_default_model
from greenroom.models.decoding import Sampling, decode
from greenroom.models.local_backend import Engine, LocalBackend, prompt_ids
from greenroom.tools import BUILTIN_TOOLS, ToolRegistry

TOOLS = ToolRegistry(BUILTIN_TOOLS)
SYSTEM = (
    "You are the planner of a local assistant that runs on this computer. Split the person's goal into as few "
    "steps as possible (usually one). Each step has an intent, written as an instruction, and the tools it needs. "
    "Use a tool only when the goal needs one: reading or writing files, the time, the web, memory. A question "
    "you can answer from knowledge needs no tool. Never claim an action that no tool performed. Tools:\n"
    + "\n".join(f"- {t.name}: {t.description[:70]}" for t in TOOLS)
    + "\nReply in JSON."
)
GOALS = [
    "Read the file ~/notes/today.md and write a short summary of it into ~/notes/summary.md, then tell me "
    "the three most important open questions it mentions, one per line.",
    "Find the notes I stored last week about the cabin trip, list the things we still need to buy, and "
    "remember the final list so that I can ask for it again tomorrow morning.",
    "Fetch the page at http://127.0.0.1:8000/weather and tell me whether I need an umbrella today in Zurich; "
    "if the page says rain after noon, add a reminder to my notes folder.",
    "List the markdown files in ~/projects/greenroom/docs, read the design notes, and tell me which "
    "decisions about the model runtime are still open, with the file each one is in.",
]
PLAN_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "steps": {
            "type": "array", "minItems": 1, "maxItems": 3,
            "items": {
                "type": "object",
                "properties": {
                    "intent": {"type": "string", "minLength": 1, "maxLength": 80},
                    "tools": {"type": "array", "maxItems": 2, "items": {"enum": TOOLS.names()}},
                },
                "required": ["intent", "tools"], "additionalProperties": False,
            },
        }
    },
    "required": ["steps"], "additionalProperties": False,
}  # fmt: skip
ANSWER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"kind": {"enum": ["answer", "plan"]}, "text": {"type": "string", "minLength": 1, "maxLength": 90}},
    "required": ["kind", "text"], "additionalProperties": False,
}  # fmt: skip


SAMPLES: dict[str, str] = {}
"""The last plan or answer each path produced (greedy), to eyeball quality."""


class Path_:
    """One runtime configuration: how to load it and how to run it."""

    def __init__(self, name: str, load: Callable[[], Engine]) -> None:
        self.name, self._load = name, load
        self.engine: Any = None
        self.backend: LocalBackend | None = None

    def ready(self) -> LocalBackend:
        if self.engine is None:
            self.engine = self._load()
            self.backend = LocalBackend(lambda: "bench", self.name, load_engine=lambda _: self.engine)
        assert self.backend is not None
        return self.backend


def messages(goal: str, system: str = SYSTEM) -> list[Message]:
    return [Message("system", system), Message("user", goal)]


def free_run(p: Path_, ids: list[int], cache: Any, cached: int, tokens: int) -> dict[str, float]:
    """Feed ``ids[cached:]`` and decode exactly ``tokens`` free tokens; timings in seconds."""
    engine = p.engine
    started = time.perf_counter()
    times = []
    for _ in decode(
        lambda t: engine.forward(cache, t), ids[cached:], fed=list(ids[:cached]), max_tokens=tokens,
        sampling=Sampling(), eos=set(), stop=threading.Event(), prefill_chunk=engine.prefill_chunk,
    ):  # fmt: skip
        times.append(time.perf_counter())
    ttft = times[0] - started
    return {
        "ttft": ttft, "prefill_tps": (len(ids) - cached) / ttft,
        "decode_tps": (len(times) - 1) / (times[-1] - times[0]), "e2e": times[-1] - started,
    }  # fmt: skip


def scenario_free(p: Path_, rep: int, tokens: int) -> dict[str, float]:
    """Cold then warm (shared system prefix) free generation."""
    p.ready()
    engine = p.engine
    tok = engine.tokenizer
    a = prompt_ids(tok, GenerationRequest(messages=messages(GOALS[rep % 4])))
    b = prompt_ids(tok, GenerationRequest(messages=messages(GOALS[(rep + 1) % 4])))
    cache = engine.new_cache()
    cold = free_run(p, a, cache, 0, tokens)
    shared = next(i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y)
    engine.trim(cache, engine.cache_length(cache) - shared)
    warm = free_run(p, b, cache, shared, tokens)
    out = {f"cold_{k}": v for k, v in cold.items()} | {f"warm_{k}": v for k, v in warm.items()}
    out["prompt"], out["new"] = len(a), len(b) - shared
    return out


def backend_call(p: Path_, msgs: list[Message], schema: dict[str, Any], max_tokens: int, ff: bool) -> dict[str, float]:
    backend = p.ready()
    backend.fast_forward = ff
    usage = Usage()
    started = time.perf_counter()
    text = "".join(backend.stream(GenerationRequest(messages=msgs, schema=schema, max_tokens=max_tokens), usage,
                                  threading.Event()))  # fmt: skip
    e2e = time.perf_counter() - started
    stats = backend.last_stats
    assert text.startswith("{"), text
    SAMPLES[p.name] = text
    return {"e2e": e2e, "sampled": stats.sampled, "emitted": stats.sampled + stats.forced,
            "passes": stats.forward_passes, "ttft": usage.time_to_first_token_s}  # fmt: skip


def scenario_plan(p: Path_, rep: int) -> dict[str, float]:
    """Warm plan calls under the plan schema, with and without fast-forward."""
    out: dict[str, float] = {}
    backend = p.ready()
    backend._caches.clear()
    backend_call(p, messages(GOALS[(rep + 2) % 4]), PLAN_SCHEMA, 8, True)  # caches the system prefix
    for ff in (True, False):
        r = backend_call(p, messages(GOALS[rep % 4]), PLAN_SCHEMA, 120, ff)
        out |= {f"plan_{'ff' if ff else 'noff'}_{k}": v for k, v in r.items()}
    return out


def scenario_call150(p: Path_, rep: int) -> dict[str, float]:
    """A ~150-token prompt, an answer of at most 30 tokens: cold, then warm."""
    backend = p.ready()
    backend._caches.clear()
    system = SYSTEM.split(" Tools:")[0] + " Answer directly when no tool is needed. Reply in JSON."
    out: dict[str, float] = {}
    for label in ("cold", "warm"):
        r = backend_call(p, messages(GOALS[(rep + (label == "warm")) % 4], system), ANSWER_SCHEMA, 30, True)
        out |= {f"c150_{label}_{k}": v for k, v in r.items()}
    out["c150_prompt"] = len(backend.prompt_for(GenerationRequest(messages=messages(GOALS[rep % 4], system))))
    return out


def raw_ct2(folder: Path, data: Path, tokens: int) -> Callable[[int], dict[str, float]]:
    """CTranslate2 int8: generate_tokens on the cold prompt (its only way to run)."""
    import ctranslate2
    from ctranslate2.converters import TransformersConverter
    from transformers import AutoTokenizer

    out = data / "ct2-int8"
    if not (out / "model.bin").exists():
        TransformersConverter(str(folder)).convert(str(out), quantization="int8", force=True)
    gen = ctranslate2.Generator(str(out), device="cpu", intra_threads=2)
    tok = AutoTokenizer.from_pretrained(str(folder))

    def run(rep: int) -> dict[str, float]:
        ids = prompt_ids(tok, GenerationRequest(messages=messages(GOALS[rep % 4])))
        started, times = time.perf_counter(), []
        for _ in gen.generate_tokens(tok.convert_ids_to_tokens(ids), max_length=tokens, sampling_topk=1,
                                     end_token=[]):  # fmt: skip
            times.append(time.perf_counter())
        ttft = times[0] - started
        return {"cold_ttft": ttft, "cold_prefill_tps": len(ids) / ttft, "cold_e2e": times[-1] - started,
                "cold_decode_tps": (len(times) - 1) / (times[-1] - times[0])}  # fmt: skip

    return run


def raw_mlx_lm(folder: Path, tokens: int) -> Callable[[int], dict[str, float]]:
    """``mlx_lm.stream_generate`` itself on the cold prompt: checks that greenroom's loop does not slow MLX."""
    import mlx_lm
    from mlx_lm.sample_utils import make_sampler

    model, wrapper = mlx_lm.load(str(folder))[:2]

    def run(rep: int) -> dict[str, float]:
        ids = prompt_ids(wrapper._tokenizer, GenerationRequest(messages=messages(GOALS[rep % 4])))
        started, times = time.perf_counter(), []
        for _ in mlx_lm.stream_generate(model, wrapper, ids, max_tokens=tokens, sampler=make_sampler(temp=0.0)):
            times.append(time.perf_counter())
        ttft = times[0] - started
        return {"cold_ttft": ttft, "cold_prefill_tps": len(ids) / ttft, "cold_e2e": times[-1] - started,
                "cold_decode_tps": (len(times) - 1) / (times[-1] - times[0])}  # fmt: skip

    return run


class OrtGenaiEngine:
    """onnxruntime-genai as an ``Engine``: a Generator is the KV cache (``append_tokens``, ``rewind_to``)."""

    runtime = "ort-genai"
    prefill_chunk = 128

    def __init__(self, onnx_folder: Path, hf_folder: Path) -> None:
        import onnxruntime_genai as og
        from transformers import AutoTokenizer

        self._og = og
        self.model = og.Model(str(onnx_folder))
        self.tokenizer = AutoTokenizer.from_pretrained(str(hf_folder))
        self.eos = {int(self.tokenizer.eos_token_id)}

    def new_cache(self) -> Any:
        params = self._og.GeneratorParams(self.model)
        params.set_search_options(max_length=4096)
        return self._og.Generator(self.model, params)

    def forward(self, cache: Any, tokens: list[int]) -> Any:
        cache.append_tokens(tokens)
        logits = cache.get_logits()
        return logits.reshape(-1, logits.shape[-1])[-1]

    def trim(self, cache: Any, n: int) -> bool:
        cache.rewind_to(cache.token_count() - n)
        return True

    def cache_length(self, cache: Any) -> int:
        return int(cache.token_count())


def ort_export(folder: Path, data: Path, precision: str) -> Path:
    out = data / f"ort-{precision}"
    if not (out / "genai_config.json").exists():
        subprocess.run([sys.executable, "-m", "onnxruntime_genai.models.builder", "-i", str(folder), "-o", str(out),
                        "-p", precision, "-e", "cpu", "-c", str(data / "ort-cache")], check=True,
                       capture_output=True)  # fmt: skip
    return out


def torch_compiled(folder: Path) -> Engine:
    import torch

    from greenroom.models.torch_backend import TorchEngine

    engine = TorchEngine(folder, threads=1, decode_threads=1)
    engine.model.forward = torch.compile(engine.model.forward, dynamic=True)
    return engine


def paths(folder: Path, data: Path, args: argparse.Namespace) -> list[Path_]:
    from greenroom.models.mlx_backend import MlxEngine
    from greenroom.models.torch_backend import TorchEngine

    out = [
        Path_("mlx bf16 (baseline)", lambda: MlxEngine(folder)),
        Path_("mlx f32", lambda: MlxEngine(folder, dtype="float32")),
    ]
    for label, kw in (("fp32", {}), ("int8", {"quantize": "int8"})):
        for threads, decode_threads in ((2, 2), (1, 1), (2, 1)):
            name = f"torch {label} t{threads}" + (f"/{decode_threads}" if decode_threads != threads else "")
            out.append(Path_(name, lambda kw=kw, t=threads, d=decode_threads: TorchEngine(  # type: ignore[misc]
                folder, threads=t, decode_threads=d, **kw)))  # fmt: skip
    out.append(Path_("torch bf16 t2/1", lambda: TorchEngine(folder, dtype="bfloat16", threads=2, decode_threads=1)))
    if args.compile:
        out.append(Path_("torch fp32 compile t1", lambda: torch_compiled(folder)))
    try:
        import onnxruntime_genai  # noqa: F401

        for precision in ("int4", "fp32"):
            onnx = ort_export(folder, data, precision)
            out.append(Path_(f"ort-genai {precision}", lambda onnx=onnx: OrtGenaiEngine(onnx, folder)))  # type: ignore[misc]
    except ImportError:
        print("onnxruntime-genai not installed: skipped (pip install onnxruntime-genai onnx onnx-ir)")
    if args.only:
        out = [p for p in out if any(word in p.name for word in args.only.split(","))]
    return out


def run(p: Path_, rep: int, tokens: int) -> dict[str, float]:
    out = scenario_free(p, rep, tokens)
    if "mlx f32" not in p.name:  # ~3x slower than bf16 already on free runs; spare the machine
        out |= scenario_plan(p, rep) | scenario_call150(p, rep)
    return out


def table(results: dict[str, list[dict[str, float]]], base: str) -> None:
    med = {name: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for name, rs in results.items() if rs}
    b = med.get(base, {})

    def col(m: dict[str, float], key: str, fmt: str, ratio: bool = False) -> str:
        if key not in m:
            return "—"
        text = format(m[key], fmt)
        if ratio and key in b and m[key] > 0:
            text += f" ({b[key] / m[key]:.1f}x)"
        return text

    print(
        "| path | prefill tok/s | TTFT cold / warm s | decode tok/s | call cold / warm s (xbase) "
        "| plan ff: s, sampled/emitted, passes | plan no ff: s, sampled/emitted | call150 cold / warm s (xbase) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, m in med.items():
        plan_ff = (
            f"{col(m, 'plan_ff_e2e', '.2f', True)}, {col(m, 'plan_ff_sampled', '.0f')}/"
            f"{col(m, 'plan_ff_emitted', '.0f')}, {col(m, 'plan_ff_passes', '.0f')}"
        )
        plan_noff = (
            f"{col(m, 'plan_noff_e2e', '.2f', True)}, {col(m, 'plan_noff_sampled', '.0f')}/"
            f"{col(m, 'plan_noff_emitted', '.0f')}"
        )
        ttft = f"{col(m, 'cold_ttft', '.2f')} / {col(m, 'warm_ttft', '.2f')}"
        call = f"{col(m, 'cold_e2e', '.2f', True)} / {col(m, 'warm_e2e', '.2f', True)}"
        c150 = f"{col(m, 'c150_cold_e2e', '.2f', True)} / {col(m, 'c150_warm_e2e', '.2f', True)}"
        print(
            f"| {name} | {col(m, 'cold_prefill_tps', '.0f')} | {ttft} | {col(m, 'cold_decode_tps', '.1f')} | {call} "
            f"| {plan_ff} | {plan_noff} | {c150} |"
        )
    any_m = next(iter(med.values()))
    print(
        f"\ncold prompt {any_m.get('prompt', 0):.0f} tokens, warm new tokens {any_m.get('new', 0):.0f}; "
        f"call150 prompt {any_m.get('c150_prompt', 0):.0f} tokens, answer ≤ 30 tokens; medians of each path's runs"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("/tmp/grb-models"), help="converted models live here")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=60, help="free tokens per cold/warm run")
    parser.add_argument("--only", default="", help="comma-separated words: run paths whose name has one")
    parser.add_argument("--compile", action="store_true", help="add torch.compile (minutes of compiling)")
    args = parser.parse_args()
    folder = ensure_default_model(args.data)
    todo = paths(folder, args.data, args)
    results: dict[str, list[dict[str, float]]] = defaultdict(list)
    extra: list[tuple[str, Callable[[int], dict[str, float]]]] = []
    if not args.only or "mlx" in args.only:
        extra.append(("mlx-lm stream_generate bf16 (raw)", raw_mlx_lm(folder, args.tokens)))
    try:
        extra.append(("ct2 int8 (raw, no constraints)", raw_ct2(folder, args.data, args.tokens)))
    except ImportError:
        print("ctranslate2 not installed: skipped (pip install ctranslate2)")
    for p in todo:  # load and warm up each path (first allocations, compiles) before timing any
        started = time.perf_counter()
        backend_call(p, messages(GOALS[3]), ANSWER_SCHEMA, 8, True)
        print(f"# {p.name}: loaded and warmed up in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    for rep in range(args.reps):
        for p in todo:
            started = time.perf_counter()
            results[p.name].append(run(p, rep, args.tokens))
            print(f"# rep {rep} {p.name}: {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
        for name, fn in extra:
            results[name].append(fn(rep))
    table(results, todo[0].name if todo else "")
    print("\nlast greedy output per path:")
    for name, text in SAMPLES.items():
        print(f"- {name}: {text[:160]}")


if __name__ == "__main__":
    main()
