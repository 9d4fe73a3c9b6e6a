from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfWriter
from pypdf.generic import DictionaryObject, NameObject, StreamObject

from greenroom.bus.events import MemoryIngestProgress, MemoryUpserted
from greenroom.memory import BadMemoryInput, Ingestion, ingest


def make_tree(root: Path, n: int = 6) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    topics = ["sourdough bread", "bicycle repair", "tax returns", "rose pruning", "guitar strings", "kayak trips"]
    for i in range(n):
        topic = topics[i % len(topics)]
        (root / f"note{i}.md").write_text(
            f"# Notes on {topic} ({i})\n\n" + f"Everything I learned about {topic}, part {i}. " * 3 + "\n"
        )
    (root / ".hidden").mkdir(exist_ok=True)
    (root / ".hidden" / "skip.md").write_text("never ingested")
    return root


def make_pdf(path: Path, text: str) -> None:
    """A one-page PDF with ``text`` in Helvetica (built with pypdf's own objects)."""
    writer = PdfWriter()
    page = writer.add_blank_page(612, 792)
    font = DictionaryObject(
        {NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
         NameObject("/BaseFont"): NameObject("/Helvetica")}
    )  # fmt: skip
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})}
    )
    stream = StreamObject()
    stream.set_data(f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode())
    page[NameObject("/Contents")] = writer._add_object(stream)
    with path.open("wb") as f:
        writer.write(f)


class TestIngest:
    def test_reingesting_an_unchanged_folder_embeds_nothing(
        self, engine_factory: Any, embedder: Any, tmp_path: Path
    ) -> None:
        """The second run reads no file and sends nothing to the model."""
        engine = engine_factory()
        docs = make_tree(tmp_path / "docs")
        first = ingest(engine, [docs])
        assert (first.added, first.embedded) == (6, first.chunks)
        embedder.embedded.clear()
        second = ingest(engine, [docs])
        assert (second.added, second.updated, second.unchanged, second.embedded) == (0, 0, 6, 0)
        assert embedder.embedded == []

    def test_only_changed_chunks_are_embedded_and_deleted_files_forgotten(
        self, engine_factory: Any, embedder: Any, tmp_path: Path
    ) -> None:
        """An edited file re-embeds only its new text; a deleted file is forgotten."""
        engine = engine_factory(chunk_tokens=32, chunk_overlap=0)
        docs = tmp_path / "docs"
        docs.mkdir()
        paragraphs = [f"Paragraph {i} about the history of lighthouse number {i} on the coast." for i in range(6)]
        (docs / "long.md").write_text("\n\n".join(paragraphs))
        (docs / "gone.md").write_text("This file about walrus migration will be deleted.")
        ingest(engine, [docs])
        embedder.embedded.clear()
        paragraphs[5] = "Paragraph 5 now talks about fog horns instead."
        (docs / "long.md").write_text("\n\n".join(paragraphs))
        (docs / "gone.md").unlink()
        report = ingest(engine, [docs])
        assert (report.updated, report.forgotten) == (1, 1)
        assert len(embedder.embedded) == 1
        assert "fog horns" in embedder.embedded[0]
        assert engine.search("walrus migration", k=5).hits == [] or all(
            "walrus" not in h.text for h in engine.search("walrus migration", k=5).hits
        )
        assert any("fog horns" in h.text for h in engine.search("fog horns", k=3).hits)

    def test_duplicates_are_skipped_with_the_reason(self, engine_factory: Any, tmp_path: Path) -> None:
        """An exact copy and a near-copy are skipped and named."""
        engine = engine_factory()
        docs = tmp_path / "docs"
        docs.mkdir()
        text = "Compost needs greens and browns in balance, turned every week, kept moist like a sponge."
        (docs / "a.txt").write_text(text)
        (docs / "b.txt").write_text(text)
        (docs / "c.txt").write_text(text.replace("every week", "each week"))
        report = ingest(engine, [docs])
        reasons = {Path(s.path).name: s.reason for s in report.skipped}
        assert report.added == 1
        assert reasons["b.txt"].startswith("duplicate of ")
        assert reasons["b.txt"].endswith("a.txt")
        assert reasons["c.txt"].startswith("near-duplicate of ")
        assert "a.txt (cosine 0.9" in reasons["c.txt"]

    def test_bad_files_are_skipped_with_reasons_and_nothing_is_lost(self, engine_factory: Any, tmp_path: Path) -> None:
        """Binary, empty, non-UTF-8, oversized, encrypted and broken PDFs are skipped; stored items stay."""
        engine = engine_factory(max_file_bytes=2048)
        kept, _ = engine.add("an item stored before the ingest")
        docs = tmp_path / "docs"
        docs.mkdir()
        (docs / "ok.txt").write_text("a perfectly fine file about herons")
        (docs / "blob.bin").write_bytes(b"\x7fELF\x00\x00\x01" * 10)
        (docs / "empty.txt").write_text("")
        (docs / "blank.txt").write_text("  \n\n ")
        (docs / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
        (docs / "huge.txt").write_text("x" * 5000)
        (docs / "broken.pdf").write_bytes(b"%PDF-1.7\nthis is not a pdf body")
        writer = PdfWriter()
        writer.add_blank_page(72, 72)
        writer.encrypt("hunter2")
        with (docs / "locked.pdf").open("wb") as f:
            writer.write(f)
        report = ingest(engine, [docs])
        reasons = {Path(s.path).name: s.reason for s in report.skipped}
        assert report.added == 1
        assert reasons["blob.bin"] == "binary file"
        assert reasons["empty.txt"] == "empty file"
        assert reasons["blank.txt"] == "empty file (only whitespace)"
        assert reasons["latin1.txt"] == "not UTF-8 text (bad byte at offset 3)"
        assert reasons["huge.txt"].startswith("too large (0.0 MiB > limit")
        assert reasons["broken.pdf"].startswith("unreadable PDF")
        assert reasons["locked.pdf"] == "encrypted PDF (it needs a password)"
        assert engine.get(kept) is not None

    def test_a_pdf_is_read(self, engine_factory: Any, tmp_path: Path) -> None:
        """Text in a PDF is chunked and found."""
        path = tmp_path / "memo.pdf"
        make_pdf(path, "The annual heron census counted 212 birds.")
        engine = engine_factory()
        assert ingest(engine, [path]).added == 1
        assert "heron census" in engine.search("how many herons were counted", k=1).hits[0].text

    def test_missing_path_is_a_clear_error(self, engine_factory: Any, tmp_path: Path) -> None:
        engine = engine_factory()
        with pytest.raises(BadMemoryInput, match="no such file or folder"):
            Ingestion(engine, [tmp_path / "nope"])

    def test_progress_and_upsert_events(self, engine_factory: Any, tmp_path: Path) -> None:
        """Each file reports progress; each stored item an upsert."""
        events: list[Any] = []
        engine = engine_factory()
        engine.publish = events.append
        ingest(engine, [make_tree(tmp_path / "docs", 3)])
        progress = [e for e in events if isinstance(e, MemoryIngestProgress)]
        assert [(p.done, p.total, p.status) for p in progress] == [(1, 3, "added"), (2, 3, "added"), (3, 3, "added")]
        assert len([e for e in events if isinstance(e, MemoryUpserted)]) == 3


KILLED_INGEST = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from greenroom.memory import MemoryConfig, MemoryEngine, ingest

    root = Path(sys.argv[1])
    engine = MemoryEngine(root / "memory.sqlite", root / "index", MemoryConfig(rerank=False))

    def progress(event):
        print(event.status, flush=True)

    ingest(engine, [root / "docs"], on_progress=progress)
    print("finished", flush=True)
    """
)


class TestRecovery:
    def test_ingest_killed_midway_leaves_a_consistent_store(
        self, engine_factory: Any, embedder: Any, tmp_path: Path
    ) -> None:
        """After kill -9 mid-ingest the store, both indexes and a re-run agree, and nothing is embedded twice."""
        docs = tmp_path / "docs"
        docs.mkdir()
        for i in range(400):
            (docs / f"f{i:03}.txt").write_text(f"File {i}: notes about topic {i} " + f"detail {i} " * 30)
        proc = subprocess.Popen(
            [sys.executable, "-c", KILLED_INGEST, str(tmp_path)],
            stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(Path.cwd())},
        )  # fmt: skip
        assert proc.stdout is not None
        added = 0
        for line in proc.stdout:
            added += line.strip() == "added"
            if added >= 20:
                proc.kill()
                break
        proc.wait()
        proc.stdout.close()
        assert added >= 20, "the ingest finished before it could be killed"

        engine = engine_factory()
        engine.open()
        chunk_ids = set(engine.store.chunk_ids().tolist())
        items = engine.stats().items
        assert 20 <= items < 400
        assert engine.dense.labels() == chunk_ids
        assert engine.keyword.num_docs == len(chunk_ids)
        report = ingest(engine, [docs])
        assert report.added + report.unchanged == 400
        assert report.unchanged == items
        assert engine.stats().items == 400
        assert len(embedder.embedded) == len(set(embedder.embedded)), "no text embedded twice"
        assert engine.dense.labels() == set(engine.store.chunk_ids().tolist())
        assert engine.keyword.num_docs == engine.stats().chunks

    @pytest.mark.parametrize("damage", ["delete", "truncate", "garbage"])
    def test_damaged_index_files_are_rebuilt_with_a_warning(
        self, engine_factory: Any, embedder: Any, tmp_path: Path, damage: str
    ) -> None:
        """A missing or corrupt HNSW or BM25 file is rebuilt from SQLite without re-embedding."""
        from structlog.testing import capture_logs

        engine = engine_factory()
        for note in ["lichen grows slowly on north-facing stones", "the ferry leaves at 7:40 from pier 3"]:
            engine.add(note)
        engine.close()
        hnsw = tmp_path / "index" / "hnsw.bin"
        bm25_files = [p for p in (tmp_path / "index" / "bm25").iterdir() if p.is_file()]
        for path in [hnsw, *bm25_files]:
            match damage:
                case "delete":
                    path.unlink()
                case "truncate":
                    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
                case "garbage":
                    path.write_bytes(os.urandom(max(path.stat().st_size, 64)))
        embedder.embedded.clear()
        with capture_logs() as logs:
            engine = engine_factory()
            engine.open()
        rebuilt = {e["index"] for e in logs if e["event"] == "memory_index_rebuilt"}
        assert rebuilt == {"hnsw", "bm25"}
        assert embedder.embedded == []
        assert "ferry" in engine.search("ferry departure time", k=1).hits[0].text
        assert "lichen" in engine.search("lichen", k=1).hits[0].text


def test_concurrent_search_during_ingest(engine_factory: Any, tmp_path: Path) -> None:
    """Searches answer while an ingest is running on another thread."""
    import threading

    engine = engine_factory()
    engine.add("the spare key is under the blue flower pot")
    docs = make_tree(tmp_path / "docs", 30)
    done = threading.Event()
    reports: list[Any] = []
    thread = threading.Thread(target=lambda: (reports.append(ingest(engine, [docs])), done.set()))
    thread.start()
    answers = 0
    while not done.is_set():
        assert "flower pot" in engine.search("where is the spare key", k=1).hits[0].text
        answers += 1
    thread.join()
    assert answers > 0
    assert engine.stats().items == 1 + reports[0].added
