from __future__ import annotations

import itertools

import pytest

from greenroom.memory import chunk_text
from greenroom.memory.chunking import approximate_tokens

MARKDOWN = (
    """# Guide

Intro paragraph. It is short.

## Install

Run the installer:

```bash
pip install greenroom

greenroom daemon
```

## Use

"""
    + "Use it daily. " * 80
    + """

### Tips

Keep notes.
"""
)


class TestChunking:
    def test_chunks_respect_the_token_budget_and_point_back_into_the_source(self) -> None:
        chunks = chunk_text(MARKDOWN, "markdown", chunk_tokens=60, overlap=10)
        assert all(c.tokens <= 60 for c in chunks)
        assert all(MARKDOWN[c.start : c.end] == c.text for c in chunks)
        assert all(n <= 60 for n in approximate_tokens([c.text for c in chunks]))
        covered = set()
        for c in chunks:
            covered.update(range(c.start, c.end))
        assert all(i in covered for i, ch in enumerate(MARKDOWN) if not ch.isspace())

    def test_code_blocks_stay_whole_and_headings_start_chunks(self) -> None:
        chunks = chunk_text(MARKDOWN, "markdown", chunk_tokens=60, overlap=10)
        fenced = [c for c in chunks if "```bash" in c.text]
        assert len(fenced) == 1
        assert "greenroom daemon\n```" in fenced[0].text
        assert "## Install" in fenced[0].text, "a small section travels with its heading"
        assert any(c.text.startswith("## Use") and c.heading == "Guide > Use" for c in chunks)
        assert any("### Tips\n\nKeep notes." in c.text for c in chunks)

    def test_long_sections_overlap(self) -> None:
        chunks = [c for c in chunk_text(MARKDOWN, "markdown", chunk_tokens=60, overlap=10) if "Use it daily" in c.text]
        assert len(chunks) >= 3
        for a, b in itertools.pairwise(chunks):
            assert b.start < a.end, "consecutive chunks of one section share text"

    def test_source_code_splits_at_blank_lines_then_lines(self) -> None:
        code = "\n\n".join(f"def f{i}(x):\n    return x + {i}\n" for i in range(30))
        chunks = chunk_text(code, "code", chunk_tokens=40, overlap=0)
        assert all(c.text.lstrip().startswith("def ") for c in chunks)
        assert all(c.tokens <= 40 for c in chunks)

    def test_a_single_huge_word_run_is_cut_at_words(self) -> None:
        text = "word " * 500
        chunks = chunk_text(text, chunk_tokens=50, overlap=0)
        assert len(chunks) == 10
        assert all(c.tokens <= 50 for c in chunks)

    @pytest.mark.parametrize("text", ["", "   \n\t"])
    def test_empty_text_is_refused(self, text: str) -> None:
        with pytest.raises(ValueError, match="empty text"):
            chunk_text(text)
