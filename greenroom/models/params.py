"""Per-model generation parameters, persisted and validated.

Stored in the daemon's state database (one row per model, written in one
transaction), so a bad value is refused before anything changes and a change
survives restarts. The LLM actor reads them for every request.
"""

from __future__ import annotations

import difflib
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

import msgspec

from greenroom._userpath import user_path
from greenroom.models.backend import ModelError


class UnknownModelError(ModelError):
    """The model is not in the catalog, not a local folder and not a hub repo id."""


class ModelParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """Overrides for one model; ``None`` means "the request's or config's value"."""

    context_window: int | None = None
    """Prompt tokens kept (older messages' tokens are dropped first)."""
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    repetition_penalty: float | None = None
    keep_alive_s: float | None = None
    """Unload this model after it sat unused this long (overrides ``llm.keep_alive_s``)."""

    def problems(self, max_context: int | None) -> list[str]:
        out = []
        if self.temperature is not None and self.temperature < 0:
            out.append(f"temperature must not be negative, got {self.temperature}")
        if self.top_p is not None and not 0 < self.top_p <= 1:
            out.append(f"top_p must be in (0, 1], got {self.top_p}")
        if self.top_k is not None and self.top_k < 0:
            out.append(f"top_k must not be negative, got {self.top_k}")
        if self.repetition_penalty is not None and self.repetition_penalty <= 0:
            out.append(f"repetition_penalty must be positive, got {self.repetition_penalty}")
        if self.keep_alive_s is not None and self.keep_alive_s <= 0:
            out.append(f"keep_alive_s must be positive, got {self.keep_alive_s}")
        if self.max_tokens is not None and self.max_tokens < 1:
            out.append(f"max_tokens must be at least 1, got {self.max_tokens}")
        if self.context_window is not None:
            if self.context_window < 256:
                out.append(f"context_window must be at least 256, got {self.context_window}")
            elif max_context is not None and self.context_window > max_context:
                out.append(f"context_window {self.context_window} is over the model's maximum of {max_context}")
        return out


def model_max_context(model: str) -> int | None:
    """The model's own context limit: from the catalog, else a local folder's ``config.json``."""
    from greenroom.models.catalog import load_catalog

    entry = load_catalog().get(model)
    if entry is not None:
        return entry.context_window
    config = user_path(model) / "config.json"
    if config.is_file():
        value = json.loads(config.read_text()).get("max_position_embeddings")
        return int(value) if value else None
    return None


def check_model_id(model: str, remote_names: tuple[str, ...] = ()) -> None:
    """Raises UnknownModelError unless ``model`` is a catalog id, a local folder, a configured remote
    or an ``org/name`` repo id."""
    from greenroom.models.catalog import load_catalog

    if load_catalog().get(model) or user_path(model).is_dir() or model in remote_names:
        return
    parts = model.split("/")
    if len(parts) == 2 and all(parts) and not model.startswith((".", "~")):
        return
    raise UnknownModelError(
        f"unknown model {model!r}: not in the catalog (greenroom models list), not a folder, not a hub repo id"
    )


CHOICE_TABLE = "CREATE TABLE IF NOT EXISTS model_choice (id INTEGER PRIMARY KEY CHECK (id = 1), model TEXT NOT NULL)"
"""The persistent model choice (one row); part of the state database from its schema version 1."""


class ParamsStore:
    """Per-model parameters in SQLite.

    Args:
        db_path: the state database (shared with other runtime state).
    """

    def __init__(self, db_path: Path) -> None:
        self._conn = sqlite3.connect(db_path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("CREATE TABLE IF NOT EXISTS model_params (model TEXT PRIMARY KEY, params TEXT NOT NULL)")
        self._conn.execute(CHOICE_TABLE)
        self._lock = threading.Lock()

    def chosen(self) -> str | None:
        """The model chosen to stay active across restarts (``models load --keep``), if any."""
        with self._lock:
            row = self._conn.execute("SELECT model FROM model_choice WHERE id = 1").fetchone()
        return str(row[0]) if row else None

    def choose(self, model: str | None) -> None:
        """Keep ``model`` as the active model across restarts; None: back to the configured one."""
        with self._lock:
            if model is None:
                self._conn.execute("DELETE FROM model_choice")
            else:
                self._conn.execute("INSERT OR REPLACE INTO model_choice (id, model) VALUES (1, ?)", [model])

    def get(self, model: str) -> ModelParams:
        with self._lock:
            row = self._conn.execute("SELECT params FROM model_params WHERE model = ?", [model]).fetchone()
        return msgspec.json.decode(row[0], type=ModelParams) if row else ModelParams()

    def update(self, model: str, changes: dict[str, Any]) -> ModelParams:
        """Merge ``changes`` (``None`` clears one) into the model's parameters, validated first.

        Raises:
            UnknownModelError: ``model`` is not something greenroom can run.
            ValueError: a parameter is unknown or out of range (nothing is written).
        """
        check_model_id(model)
        known = list(ModelParams.__struct_fields__)
        for key in changes:
            if key not in known:
                close = difflib.get_close_matches(key, known, n=1)
                hint = f"did you mean {close[0]!r}?" if close else "known: " + ", ".join(known)
                raise ValueError(f"unknown parameter {key!r} for {model}; {hint}")
        current = msgspec.to_builtins(self.get(model))
        merged = {k: v for k, v in {**current, **changes}.items() if v is not None}
        try:
            params = msgspec.convert(merged, type=ModelParams)
        except msgspec.ValidationError as exc:
            raise ValueError(f"bad parameter for {model}: {exc}") from exc
        if problems := params.problems(model_max_context(model)):
            raise ValueError(f"bad parameter for {model}: " + "; ".join(problems))
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO model_params (model, params) VALUES (?, ?)",
                [model, msgspec.json.encode(params).decode()],
            )
        return params

    def close(self) -> None:
        self._conn.close()
