"""The PyTorch runtime (Hugging Face transformers models): the fast CPU path on Linux.

On this project's 2-core Linux box PyTorch runs SmolLM2-135M far faster than
``mlx[cpu]`` (``bench/cpu_paths.py``; numbers in docs/design.md): MLX's CPU
build has no tuned matmul kernels, while PyTorch's use oneDNN/MKL. Weights are
widened to fp32 (bf16 matmul-vector products are slow on most CPUs); with
``quantize = "int8"`` the linear layers use dynamic int8 quantization, which
reads a quarter of the bytes per token and so decodes faster still.
"""

from __future__ import annotations

import inspect
import json
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from greenroom._userpath import user_path
from greenroom.models.backend import ModelError
from greenroom.models.local_backend import LocalBackend

if TYPE_CHECKING:
    import numpy as np

Quantize = Literal["none", "int8"]
DECODE_PASS = 8
"""Forward passes over at most this many tokens (a sampled token and forced ones) count as decoding."""


def torch_can_load(target: str | Path) -> bool:
    """A local folder transformers can load: a Hugging Face checkpoint, not an MLX-quantized one."""
    config = user_path(target) / "config.json"
    if not config.is_file():
        return False
    data = json.loads(config.read_text())
    mlx_quantized = isinstance(data.get("quantization"), dict)  # mlx-lm writes {"group_size", "bits"}
    return bool(data.get("model_type")) and not mlx_quantized and "vision_config" not in data


def weights_factor(folder: Path) -> float:
    """Memory per byte of weights on disk: fp32 in memory, so 2 for bf16/fp16 checkpoints."""
    config = folder / "config.json"
    if not config.is_file():
        return 1.0
    data = json.loads(config.read_text())
    dtype = str(data.get("dtype") or data.get("torch_dtype") or "float32")
    return 2.0 if dtype in ("bfloat16", "float16") else 1.0


def default_threads() -> int:
    """Half the physical cores, at least one: the daemon's other work (embeddings, tools, the
    person's own programs) keeps the rest, and a thread that waits for a busy core stalls every op."""
    import psutil

    return max(1, (psutil.cpu_count(logical=False) or 2) // 2)


class TorchEngine:
    """A transformers causal LM on the CPU.

    Args:
        target: a local Hugging Face folder.
        dtype: ``float32`` (default) or ``bfloat16`` (benchmarks).
        quantize: ``int8``: dynamic int8 quantization of the linear layers.
        threads: intra-op threads for prompt chunks (process-wide in PyTorch); None: half the cores.
        decode_threads: intra-op threads for decoding passes (a token or a few forced ones).
    """

    runtime = "torch"
    prefill_chunk = 128

    def __init__(
        self,
        target: str | Path,
        *,
        dtype: str = "float32",
        quantize: Quantize = "none",
        threads: int | None = None,
        decode_threads: int | None = 1,
    ) -> None:
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
            from transformers.utils import logging as hf_logging
        except ImportError as exc:
            raise ModelError(f"the torch runtime needs torch and transformers ({exc.name} is missing)") from exc
        if user_path(target).is_dir() and not torch_can_load(target):
            raise ModelError(
                f"{target} is not a checkpoint PyTorch can load (an MLX-quantized or vision model);"
                ' run it with llm.runtime = "mlx"'
            )
        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
        self._torch = torch
        self.threads = threads or default_threads()
        self.decode_threads = decode_threads or self.threads
        self.tokenizer: Any = AutoTokenizer.from_pretrained(str(target))
        model: Any = AutoModelForCausalLM.from_pretrained(str(target), dtype=getattr(torch, dtype))
        model.eval()
        if quantize == "int8":
            from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

            with warnings.catch_warnings():  # torch.ao's dynamic quantization warns that it moves to torchao
                warnings.simplefilter("ignore")
                # Per output channel: one scale per row keeps small rows precise (the default is one per matrix).
                model = quantize_dynamic(model, {torch.nn.Linear: per_channel_dynamic_qconfig}, dtype=torch.qint8)
        self.model = model
        self.runtime = "torch" if quantize == "none" else f"torch-{quantize}"
        eos = model.generation_config.eos_token_id
        self.eos = {int(t) for t in (eos if isinstance(eos, list) else [eos]) if t is not None}
        if self.tokenizer.eos_token_id is not None:
            self.eos.add(int(self.tokenizer.eos_token_id))
        # transformers 5 names the KV cache argument ``cache``; 4.x ``past_key_values``.
        params = inspect.signature(model.forward).parameters
        self._cache_arg = "cache" if "cache" in params else "past_key_values"

    def new_cache(self) -> Any:
        from transformers import DynamicCache

        return DynamicCache(config=self.model.config)

    def forward(self, cache: Any, tokens: list[int]) -> np.ndarray:
        torch = self._torch
        # A decoding pass is ~450 small ops: with two threads each op waits for the
        # slower one, and on a shared machine that one is often descheduled
        # (bench/cpu_paths.py: decode several times slower under load). Prompt chunks
        # are large enough that a second core pays.
        torch.set_num_threads(self.threads if len(tokens) > DECODE_PASS else self.decode_threads)
        with torch.inference_mode():
            out = self.model(
                input_ids=torch.tensor([tokens], dtype=torch.long),
                use_cache=True,
                logits_to_keep=1,
                **{self._cache_arg: cache},
            )
            return out.logits[0, -1].float().numpy()

    def trim(self, cache: Any, n: int) -> bool:
        if n == 0:
            return True
        # Sliding-window or linear-attention layers cannot give back what they dropped.
        if any(type(layer).__name__ != "DynamicLayer" for layer in getattr(cache, "layers", [])):
            return False
        cache.crop(-n)  # a negative count removes that many tokens (transformers 4.x and 5.x)
        return True

    def cache_length(self, cache: Any) -> int:
        return int(cache.get_seq_length())


class TorchBackend(LocalBackend):
    """A transformers model on PyTorch, loaded on first use (see :class:`LocalBackend` for the arguments)."""

    def __init__(
        self,
        resolve: Callable[..., str | Path],
        name: str,
        *,
        quantize: Quantize = "none",
        threads: int | None = None,
        decode_threads: int | None = 1,
        fast_forward: bool = True,
        keep_alive_s: float = 600.0,
        allow_oversize: bool = False,
        clock: Callable[[], float] = time.monotonic,
        available_memory: Callable[[], int] | None = None,
    ) -> None:
        super().__init__(
            resolve,
            name,
            load_engine=lambda target: TorchEngine(
                target, quantize=quantize, threads=threads, decode_threads=decode_threads
            ),
            memory_factor=weights_factor,
            fast_forward=fast_forward,
            keep_alive_s=keep_alive_s,
            allow_oversize=allow_oversize,
            clock=clock,
            available_memory=available_memory,
        )
