"""Tiny random-weight Qwen3 models for tests and benchmarks.

Built in a few seconds from mlx-lm's own model class and a byte-level BPE
tokenizer trained with ``tokenizers``; ``mlx_lm.load`` loads the folder like
any model from the hub. Its output is noise, but noise with the real code path
(tokenizer, chat template, sampling, constrained decoding) behind it.
"""

from __future__ import annotations

import json
from pathlib import Path

CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

_CORPUS = [
    '{"steps": [{"intent": "read the file", "tools": ["fs.read"]}]}',
    '{"action": "finish", "result": "done"}',
    '{"verdict": "accept", "reason": "ok"}',
    "yes",
    "no",
    "yes no Yes No the a of to and in is it that for on with as was at by",
    "plan step tool call result answer memory remember time file read note",
    "0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ .,:;!?-_/()[]{}\"'",
]


def build_tiny_model(
    path: Path,
    *,
    hidden_size: int = 64,
    layers: int = 2,
    vocab_size: int = 512,
    seed: int = 0,
) -> Path:
    """Write a random Qwen3 model with a trained tokenizer to ``path``; return it."""
    import mlx.core as mx
    from mlx.utils import tree_flatten
    from mlx_lm.models import qwen3
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    path.mkdir(parents=True, exist_ok=True)
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_CORPUS * 4, trainer)
    tok.save(str(path / "tokenizer.json"))
    (path / "tokenizer_config.json").write_text(
        json.dumps(
            {
                "tokenizer_class": "PreTrainedTokenizerFast",
                "eos_token": "<|im_end|>",
                "pad_token": "<|endoftext|>",
                "bos_token": None,
                "chat_template": CHAT_TEMPLATE,
                "model_max_length": 4096,
            }
        )
    )
    config = {
        "model_type": "qwen3",
        "hidden_size": hidden_size,
        "num_hidden_layers": layers,
        "intermediate_size": hidden_size * 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "head_dim": hidden_size // 4,
        "rms_norm_eps": 1e-6,
        "vocab_size": tok.get_vocab_size(),
        "max_position_embeddings": 4096,
        "rope_theta": 10000.0,
        "tie_word_embeddings": True,
        "eos_token_id": tok.token_to_id("<|im_end|>"),
    }
    (path / "config.json").write_text(json.dumps(config))
    mx.random.seed(seed)
    model = qwen3.Model(qwen3.ModelArgs.from_dict(config))
    mx.save_safetensors(str(path / "model.safetensors"), dict(tree_flatten(model.parameters())))
    return path
