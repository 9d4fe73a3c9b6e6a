"""Memory items that quote a forgotten text: found, and rebuilt with the quote replaced.

A forgotten note lives on in what was made from it: a finished task's summary
(``agent.remember_tasks``) or a chat answer that repeated it, stored as items of
their own. A forget rewrites those items in place, as the journal scrub does with
events: each chunk that quotes the text gets the marker instead (the item keeps
its id, source, tags and the rest of its text), and is embedded and indexed again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence

from greenroom.bus.scrub import Scrubber
from greenroom.memory.chunking import content_hash
from greenroom.memory.store import ItemStore, NewChunk, NewItem


def quoting_items(store: ItemStore, scrubber: Scrubber, exclude: Iterable[str] = ()) -> list[str]:
    """Ids of the items (other than ``exclude``) with a chunk or a title that holds one of the scrubber's texts."""
    skip = set(exclude)
    found: dict[str, None] = {}
    for item_id, text in store.texts():
        if item_id not in skip and item_id not in found and scrubber.spans(text):
            found[item_id] = None
    return list(found)


def scrubbed_item(
    store: ItemStore, item_id: str, scrubber: Scrubber, count_tokens: Callable[[Sequence[str]], list[int]]
) -> tuple[NewItem, list[NewChunk]] | None:
    """The item ``item_id`` with its quotes replaced, ready for ``MemoryEngine.commit_item(replace=...)``.

    Returns:
        None when the item is gone or nothing in it changes.
    """
    item = store.item(item_id)
    rows = sorted(store.chunks(store.item_chunk_ids(item_id)).values(), key=lambda r: r["ord"])
    if item is None or not rows:
        return None
    chunks = []
    for row in rows:
        text = scrubber(row["text"])
        tokens = row["tokens"] if text == row["text"] else count_tokens([text])[0]
        chunks.append(NewChunk(text, row["start"], row["end"], scrubber(row["heading"]), tokens, content_hash(text)))
    title = scrubber(item["title"])
    if title == item["title"] and all(c.text == r["text"] for c, r in zip(chunks, rows, strict=True)):
        return None
    new = NewItem(
        source=item["source"], content_hash=content_hash("\n".join(c.text for c in chunks)), uri=item["uri"],
        title=title, tags=json.loads(item["tags"]), metadata=json.loads(item["metadata"]), key=item["key"],
        quality=item["quality"], file_size=item["file_size"], file_mtime_ns=item["file_mtime_ns"],
        created=item["created"],
    )  # fmt: skip
    return new, chunks
