"""Reading files for ingestion: text, markdown, source code and PDF.

Anything that cannot be read as a document raises :class:`SkipFile` with the
reason (binary, too large, not UTF-8, encrypted or unreadable PDF, empty), so
ingestion reports it and moves on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from greenroom.memory.chunking import Kind
from greenroom.memory.errors import SkipFile

MARKDOWN = frozenset({".md", ".markdown", ".mdx", ".rst"})
CODE = frozenset(
    {
        ".py", ".pyi", ".js", ".mjs", ".ts", ".tsx", ".jsx", ".rs", ".go", ".c", ".h", ".cc", ".cpp", ".hpp",
        ".java", ".kt", ".swift", ".rb", ".php", ".sh", ".bash", ".zsh", ".fish", ".lua", ".sql", ".css",
        ".scss", ".html", ".xml", ".toml", ".yaml", ".yml", ".json", ".ini", ".cfg", ".r", ".scala", ".cs",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Document:
    text: str
    kind: Kind
    title: str


def _read_pdf(path: Path) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            raise SkipFile("encrypted PDF (it needs a password)")
        pages = [page.extract_text() or "" for page in reader.pages]
    except SkipFile:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise SkipFile(f"unreadable PDF: {exc}") from exc
    except Exception as exc:  # pypdf raises many kinds on broken files; none may stop an ingest
        raise SkipFile(f"unreadable PDF: {type(exc).__name__}: {exc}") from exc
    text = "\n\n".join(p.strip() for p in pages if p.strip())
    if not text:
        raise SkipFile("PDF has no extractable text (scanned images?)")
    return text


def read_document(path: Path, max_bytes: int) -> Document:
    """Read ``path`` as a document.

    Raises:
        SkipFile: it is not something to ingest; the message says why.
    """
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise SkipFile(f"cannot read: {exc.strerror or exc}") from exc
    if size > max_bytes:
        raise SkipFile(f"too large ({size / 2**20:.1f} MiB > limit {max_bytes / 2**20:.1f} MiB)")
    if size == 0:
        raise SkipFile("empty file")
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        return Document(_read_pdf(path), "text", path.name)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SkipFile(f"cannot read: {exc.strerror or exc}") from exc
    if b"\x00" in raw[:8192]:
        raise SkipFile("binary file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SkipFile(f"not UTF-8 text (bad byte at offset {exc.start})") from exc
    if not text.strip():
        raise SkipFile("empty file (only whitespace)")
    kind: Kind = "markdown" if suffix in MARKDOWN else "code" if suffix in CODE else "text"
    return Document(text, kind, path.name)
