"""The dense index: hnswlib HNSW over chunk embeddings (cosine), persisted.

Labels are chunk ids. Removal overwrites the stored vector with zeros and then
marks the label deleted, so a forgotten chunk's embedding is not left in the
saved file. ``hnsw.bin`` is written to a temporary file and renamed; beside it
``hnsw.json`` records the file's digest, the dimension and the deleted labels,
and a file that does not match its record is never handed to hnswlib (which
trusts its input and can crash on a damaged file) — the caller rebuilds it from
SQLite instead.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import hnswlib
import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray

# Below this many allowed labels, a filtered search is exact (faster and never short).
_EXACT_FILTER_LIMIT = 4096


def _digest(path: Path) -> str:
    h = hashlib.blake2b(digest_size=16)
    with path.open("rb") as f:
        while block := f.read(1 << 22):
            h.update(block)
    return h.hexdigest()


class DenseIndex:
    """HNSW over unit vectors; thread-safe (one lock: hnswlib's resize and delete are not).

    Args:
        path: the index file (``hnsw.bin``); its record goes beside it (``hnsw.json``).
        dim: vector dimension.
    """

    def __init__(self, path: Path, dim: int, *, m: int = 16, ef_construction: int = 200, ef_search: int = 96) -> None:
        self.path = path
        self.record_path = path.with_suffix(".json")
        self.dim = dim
        self.m = m
        self.ef_construction = ef_construction
        self.ef_search = ef_search
        self.deleted: set[int] = set()
        self._lock = threading.RLock()
        self._index = self._new(1024)
        self.dirty = False

    def _new(self, capacity: int) -> hnswlib.Index:
        index = hnswlib.Index(space="cosine", dim=self.dim)
        index.init_index(max_elements=capacity, ef_construction=self.ef_construction, M=self.m)
        index.set_ef(self.ef_search)
        return index

    # --- persistence ----------------------------------------------------------

    def load(self) -> str | None:
        """Load the saved index; return why it cannot be used, or None when loaded."""
        if not self.path.exists() or not self.record_path.exists():
            return "missing"
        try:
            record = json.loads(self.record_path.read_text())
            if record.get("dim") != self.dim:
                return f"dimension {record.get('dim')} differs from the model's {self.dim}"
            if record.get("bytes") != self.path.stat().st_size or record.get("digest") != _digest(self.path):
                return "file does not match its record (damaged or partly written)"
            index = hnswlib.Index(space="cosine", dim=self.dim)
            index.load_index(str(self.path), max_elements=int(record["capacity"]))
        except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
            return f"cannot load: {exc}"
        index.set_ef(self.ef_search)
        with self._lock:
            self._index = index
            self.deleted = set(record.get("deleted", []))
            self.dirty = False
        return None

    def save(self) -> None:
        """Write the index and its record atomically (temp file, fsync, rename)."""
        with self._lock:
            tmp = self.path.with_suffix(".bin.tmp")
            self._index.save_index(str(tmp))
            with tmp.open("rb") as f:
                os.fsync(f.fileno())
            record = {
                "dim": self.dim,
                "capacity": self._index.get_max_elements(),
                "bytes": tmp.stat().st_size,
                "digest": _digest(tmp),
                "deleted": sorted(self.deleted),
            }
            os.replace(tmp, self.path)
            rtmp = self.record_path.with_suffix(".json.tmp")
            rtmp.write_text(json.dumps(record))
            os.replace(rtmp, self.record_path)
            self.dirty = False

    def reset(self, capacity: int = 1024) -> None:
        """Start empty (before a rebuild)."""
        with self._lock:
            self._index = self._new(max(capacity, 1024))
            self.deleted = set()
            self.dirty = True

    # --- contents -------------------------------------------------------------

    def labels(self) -> set[int]:
        """Live labels (deleted ones left out)."""
        with self._lock:
            return set(self._index.get_ids_list()) - self.deleted

    def __len__(self) -> int:
        with self._lock:
            return self._index.get_current_count() - len(self.deleted)

    @property
    def deleted_ratio(self) -> float:
        with self._lock:
            total = self._index.get_current_count()
        return len(self.deleted) / total if total else 0.0

    def add(self, ids: Sequence[int], vectors: NDArray[np.float32]) -> None:
        if not len(ids):
            return
        with self._lock:
            needed = self._index.get_current_count() + len(ids)
            capacity = self._index.get_max_elements()
            if needed > capacity:
                self._index.resize_index(max(needed, capacity * 2))
            revived = self.deleted.intersection(ids)
            self._index.add_items(vectors, np.asarray(ids, dtype=np.int64))
            self.deleted -= revived
            self.dirty = True

    def remove(self, ids: Sequence[int]) -> int:
        """Overwrite these labels' vectors with zeros and mark them deleted; return how many were live."""
        with self._lock:
            present = set(self._index.get_ids_list())
            targets = [i for i in ids if i in present and i not in self.deleted]
            if targets:
                zeros = np.zeros((len(targets), self.dim), dtype=np.float32)
                self._index.add_items(zeros, np.asarray(targets, dtype=np.int64))
                for label in targets:
                    self._index.mark_deleted(label)
                self.deleted.update(targets)
                self.dirty = True
            return len(targets)

    def vectors(self, ids: Sequence[int]) -> NDArray[np.float32]:
        with self._lock:
            return np.asarray(self._index.get_items(list(ids)), dtype=np.float32)

    # --- search ---------------------------------------------------------------

    def search(
        self, vector: NDArray[np.float32], k: int, allowed: NDArray[np.int64] | None = None
    ) -> list[tuple[int, float]]:
        """The ``k`` nearest live labels with their cosine similarity, best first.

        Args:
            allowed: only these labels (a filter); small sets are searched exactly.
        """
        with self._lock:
            live = self._index.get_current_count() - len(self.deleted)
            if live <= 0 or k <= 0:
                return []
            if allowed is not None:
                if len(allowed) == 0:
                    return []
                if len(allowed) <= _EXACT_FILTER_LIMIT:
                    return self._exact(vector, k, allowed)
            k = min(k, live if allowed is None else len(allowed))
            self._index.set_ef(max(self.ef_search, k))
            allowed_set = None if allowed is None else set(allowed.tolist())
            while k > 0:
                try:
                    labels, distances = self._index.knn_query(
                        vector, k=k, filter=None if allowed_set is None else allowed_set.__contains__
                    )
                    break
                except RuntimeError:  # fewer than k reachable (heavy deletes or a narrow filter)
                    k //= 2
            else:
                return []
        return [(int(label), 1.0 - float(d)) for label, d in zip(labels[0], distances[0], strict=True)]

    def _exact(self, vector: NDArray[np.float32], k: int, allowed: NDArray[np.int64]) -> list[tuple[int, float]]:
        ids = [int(i) for i in allowed if int(i) not in self.deleted]
        try:
            matrix = np.asarray(self._index.get_items(ids), dtype=np.float32)
        except RuntimeError:  # some are not indexed yet (an ingest in flight): leave those out
            present = set(self._index.get_ids_list())
            ids = [i for i in ids if i in present]
            if not ids:
                return []
            matrix = np.asarray(self._index.get_items(ids), dtype=np.float32)
        norms = np.linalg.norm(matrix, axis=1) * float(np.linalg.norm(vector)) + 1e-12
        sims = matrix @ vector / norms
        order = np.argsort(-sims)[:k]
        return [(ids[i], float(sims[i])) for i in order]
