"""The keyword index: BM25 over chunk text with tantivy, persisted.

One :class:`KeywordIndex` owns the index's only writer (tantivy allows one per
index); the memory engine owns the one instance. The chunk id is a stored,
``raw``-tokenised field, so upsert and delete go by exact id. Text is indexed
with English stemming and not stored (SQLite has it). Filters (source, tags,
update time) are indexed too, so a filtered query is answered by tantivy alone.

Deleting a document in tantivy only marks it; the text's terms stay in the
segment files until a merge. :meth:`compact` rewrites the index from the
store, which is what forgetting uses to leave no trace.
"""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import structlog
import tantivy

from greenroom.memory.store import Filters

log = structlog.get_logger(__name__)

_HEAP = 64_000_000


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("id", stored=True, tokenizer_name="raw")
    builder.add_text_field("text", stored=False, tokenizer_name="en_stem")
    builder.add_text_field("source", stored=False, tokenizer_name="raw")
    builder.add_text_field("tags", stored=False, tokenizer_name="raw")
    builder.add_integer_field("updated", stored=False, indexed=True, fast=True)
    return builder.build()


class KeywordIndex:
    """BM25 search over chunks.

    Args:
        path: the index folder.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.schema = _schema()
        self._lock = threading.RLock()
        self._index: Any = None
        self._writer: Any = None
        self.pending = 0

    def open(self) -> str | None:
        """Open (or create) the index; return why it is unusable, or None.

        An unusable index is left closed; :meth:`recreate` starts it empty.
        """
        self.path.mkdir(parents=True, exist_ok=True)
        try:
            index = tantivy.Index(self.schema, path=str(self.path))
            index.reload()
            searcher = index.searcher()
            searcher.search(tantivy.Query.all_query(), 1)
            writer = index.writer(heap_size=_HEAP, num_threads=1)
        except (ValueError, OSError, RuntimeError) as exc:
            return f"cannot open: {exc}"
        except BaseException as exc:  # tantivy panics surface as pyo3's PanicException (a BaseException)
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            return f"cannot open: {type(exc).__name__}: {exc}"
        with self._lock:
            self._index, self._writer = index, writer
        return None

    def recreate(self) -> None:
        """Delete the folder and start an empty index."""
        with self._lock:
            self._writer = self._index = None
            shutil.rmtree(self.path, ignore_errors=True)
            reason = self.open()
            if reason:
                raise RuntimeError(f"cannot create the keyword index in {self.path}: {reason}")

    def close(self) -> None:
        with self._lock:
            if self._writer is not None and self.pending:
                self.commit()
            self._writer = self._index = None

    @property
    def num_docs(self) -> int:
        with self._lock:
            return int(self._index.searcher().num_docs)

    def _document(self, row: dict[str, Any]) -> tantivy.Document:
        tags = row["tags"] if isinstance(row["tags"], list) else json.loads(row["tags"] or "[]")
        return tantivy.Document(
            id=str(row["id"]), text=row["text"], source=row["source"], tags=tags, updated=int(row["updated"])
        )

    def upsert(self, rows: Iterable[dict[str, Any]]) -> None:
        """Add or replace chunks (``id``, ``text``, ``source``, ``tags``, ``updated``); visible after commit."""
        with self._lock:
            for row in rows:
                self._writer.delete_documents_by_term("id", str(row["id"]))
                self._writer.add_document(self._document(row))
                self.pending += 1

    def delete(self, ids: Sequence[int]) -> None:
        with self._lock:
            for chunk_id in ids:
                self._writer.delete_documents_by_term("id", str(chunk_id))
                self.pending += 1

    def commit(self) -> None:
        with self._lock:
            self._writer.commit()
            self._index.reload()
            self.pending = 0

    def compact(self, rows: Iterable[Sequence[dict[str, Any]]]) -> int:
        """Rewrite the whole index from ``rows`` (batches) and delete the old segment files."""
        count = 0
        with self._lock:
            self._writer.delete_all_documents()
            for batch in rows:
                for row in batch:
                    self._writer.add_document(self._document(row))
                count += len(batch)
            self._writer.commit()
            self._writer.wait_merging_threads()
            self._writer = self._index.writer(heap_size=_HEAP, num_threads=1)
            self._writer.garbage_collect_files()
            self._index.reload()
            self.pending = 0
        return count

    def search(self, text: str, k: int, filters: Filters | None = None) -> list[tuple[int, float]]:
        """The ``k`` best chunks for ``text`` by BM25, with their scores, best first."""
        with self._lock:
            index = self._index
        query, _errors = index.parse_query_lenient(text, ["text"])
        if filters is not None and not filters.empty:
            query = self._filtered(query, filters)
        searcher = index.searcher()
        hits = searcher.search(query, k, count=False).hits
        return [(int(searcher.doc(address)["id"][0]), float(score)) for score, address in hits]

    def _filtered(self, query: tantivy.Query, filters: Filters) -> tantivy.Query:
        must = [(tantivy.Occur.Must, query)]
        if filters.source:
            must.append((tantivy.Occur.Must, tantivy.Query.term_query(self.schema, "source", filters.source)))
        if filters.tags:
            must.append((tantivy.Occur.Must, tantivy.Query.term_set_query(self.schema, "tags", list(filters.tags))))
        if filters.since is not None or filters.until is not None:
            lower = None if filters.since is None else int(filters.since)
            upper = None if filters.until is None else int(filters.until) + 1
            must.append(
                (
                    tantivy.Occur.Must,
                    tantivy.Query.range_query(self.schema, "updated", tantivy.FieldType.Integer, lower, upper),
                )
            )
        return tantivy.Query.boolean_query(must)
