"""``greenroom memory [add|ingest|search|forget|watch|stats]``."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime
from pathlib import Path

from greenroom._userpath import user_path
from greenroom.bus import protocol as p
from greenroom.bus.events import MemoryIngestFinished, MemoryIngestProgress
from greenroom.clients.cli.common import EXIT_OK, EXIT_USAGE, connect, err, guarded, out, out_json, positive_int

# The first memory request loads the embedding model (and a forget rewrites an index): allow for it.
MEMORY_TIMEOUT_S = 120.0


def _since(value: str) -> float:
    """``7d``, ``12h``, ``30m`` ago, or an ISO date/time."""
    units = {"d": 86400, "h": 3600, "m": 60}
    if value[:-1].isdigit() and value[-1] in units:
        return time.time() - int(value[:-1]) * units[value[-1]]
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{value!r} is not like 7d, 12h, 30m or 2026-01-31") from exc


def _filter_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tag", action="append", default=[], help="only items with this tag (repeatable: any of)")
    parser.add_argument("--source", choices=["path", "url", "chat", "tool", "note"], help="only items from this source")
    parser.add_argument("--since", type=_since, help="updated since: 7d, 12h, 30m or an ISO date")
    parser.add_argument("--until", type=_since, help="updated until: 7d, 12h, 30m or an ISO date")
    parser.add_argument("--path", help="only files under this folder")


def _filter(args: argparse.Namespace) -> p.MemoryFilter:
    return p.MemoryFilter(
        tags=args.tag,
        source=args.source,
        since=args.since,
        until=args.until,
        path_prefix=str(user_path(args.path).resolve()) if args.path else None,
    )


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "memory",
        help="add to, search, and forget from memory",
        description="What greenroom remembers: notes, ingested files, chats and tool results, "
        "searched by meaning and by keyword.",
    )
    msub = parser.add_subparsers(dest="memory_command", metavar="ACTION", required=True, help="what to do")

    add = msub.add_parser("add", help="remember a note", description="Remember a note (read from stdin with -).")
    add.add_argument("text", help="the note, or - to read it from stdin")
    add.add_argument("--tag", action="append", default=[], help="tag it (repeatable)")
    add.set_defaults(func=add_note)

    ingest = msub.add_parser(
        "ingest",
        help="ingest files and folders",
        description="Ingest files and folders (text, markdown, source code, PDF). Only changed files are "
        "re-read; files deleted since the last ingest are forgotten.",
    )
    ingest.add_argument("paths", nargs="+", help="files or folders")
    ingest.add_argument("--tag", action="append", default=[], help="tag every item (repeatable)")
    ingest.add_argument("--detach", action="store_true", help="start it and return (progress is on the timeline)")
    ingest.add_argument("--json", action="store_true", help="print the final report as JSON")
    ingest.set_defaults(func=ingest_paths)

    search = msub.add_parser(
        "search", help="search memory", description="Search memory; each hit shows why it matched."
    )
    search.add_argument("query", help="what to look for")
    search.add_argument("-k", "--limit", type=positive_int, default=5, help="how many hits (default 5)")
    search.add_argument("--no-rerank", action="store_true", help="skip the reranker")
    search.add_argument("--json", action="store_true", help="print JSON (every score)")
    _filter_args(search)
    search.set_defaults(func=search_memory)

    forget = msub.add_parser(
        "forget",
        help="forget items",
        description="Forget items by id, by filter, or the best hits of a query. Forgotten text is removed from "
        "the database, the embedding cache and both index files.",
    )
    forget.add_argument("item_ids", nargs="*", help="item ids (as search shows them)")
    forget.add_argument("--query", help="forget the items behind the best hits of this query")
    forget.add_argument("--limit", type=positive_int, default=1, help="with --query: how many hits (default 1)")
    forget.add_argument("--dry-run", action="store_true", help="with --query: show what would be forgotten")
    _filter_args(forget)
    forget.set_defaults(func=forget_items)

    watch = msub.add_parser(
        "watch",
        help="keep folders indexed",
        description="Keep folders indexed: ingest them now, then re-ingest each file that changes (debounced; "
        "only changed files are read; deleted files are forgotten). Watches persist across restarts. "
        "`memory watch --list` lists them; `memory watch rm PATH` (or --rm PATH) stops watching.",
    )
    watch.add_argument("paths", nargs="*", help="folders or files to watch (or: rm PATH…)")
    watch.add_argument("--tag", action="append", default=[], help="tag every item from these folders (repeatable)")
    watch.add_argument("--list", action="store_true", help="list watched folders")
    watch.add_argument("--rm", action="store_true", help="stop watching the given paths (what was ingested stays)")
    watch.add_argument("--json", action="store_true", help="print JSON")
    watch.set_defaults(func=watch_paths)

    stats = msub.add_parser("stats", help="what memory holds", description="Items, chunks, index sizes, models.")
    stats.add_argument("--json", action="store_true", help="print JSON")
    stats.set_defaults(func=memory_stats)


@guarded
def add_note(args: argparse.Namespace) -> int:
    """Remember a note."""
    text = sys.stdin.read() if args.text == "-" else args.text
    with connect(args, timeout=MEMORY_TIMEOUT_S) as client:
        item_id = client.memory_add(text, args.tag)
    out(f"remembered as {item_id}")
    return EXIT_OK


@guarded
def ingest_paths(args: argparse.Namespace) -> int:
    """Ingest files and folders, with a progress bar."""
    from tqdm import tqdm

    paths = [str(user_path(path).resolve()) for path in args.paths]
    with connect(args, timeout=MEMORY_TIMEOUT_S) as client:
        started = client.memory_ingest(paths, args.tag)
        if args.detach:
            out(f"ingest {started.run_id} started; follow it with: greenroom tail")
            return EXIT_OK
        bar = tqdm(total=0, unit="file", desc="ingest", file=sys.stderr, disable=args.json or None)
        try:
            for env in client.follow(from_seq=started.seq + 1):
                match env.event if env is not None else None:
                    case MemoryIngestProgress(run_id=run, done=done, total=total, path=path, status=status, reason=why):
                        if run != started.run_id:
                            continue
                        bar.total = total
                        bar.n = done
                        bar.set_postfix_str(Path(path).name[-30:], refresh=False)
                        bar.refresh()
                        if status == "skipped":
                            bar.write(f"skipped {path}: {why}", file=sys.stderr)
                    case MemoryIngestFinished(run_id=run, report=report, error=error) if run == started.run_id:
                        bar.close()
                        if args.json:
                            return out_json(report)
                        out(
                            f"added {report.added}, updated {report.updated}, unchanged {report.unchanged}, "
                            f"forgotten {report.forgotten}, skipped {len(report.skipped)}; "
                            f"{report.chunks} chunks, {report.embedded} embedded, {report.seconds:.1f}s"
                        )
                        if error:
                            err(f"ingest stopped: {error}")
                            return 1
                        return EXIT_OK
                    case _:
                        pass
        finally:
            bar.close()
    return 1  # the timeline ended without a finish


@guarded
def search_memory(args: argparse.Namespace) -> int:
    """Search and explain."""
    with connect(args, timeout=MEMORY_TIMEOUT_S) as client:
        result = client.memory_search(args.query, args.limit, _filter(args), False if args.no_rerank else None)
    if args.json:
        return out_json(result)
    if not result.hits:
        out("nothing in memory matches")
    for rank, hit in enumerate(result.hits, start=1):
        s = hit.scores
        why = [f"dense #{s.dense_rank} ({s.dense:.2f})" if s.dense is not None else "",
               f"bm25 #{s.bm25_rank} ({s.bm25:.2f})" if s.bm25 is not None else "",
               f"rerank {s.rerank:.2f}" if s.rerank is not None else ""]  # fmt: skip
        where = hit.uri or hit.source
        out(f"{rank}. [{hit.item_id}] {where}" + (f"  § {hit.heading}" if hit.heading else ""))
        out(f"   score {s.final:.3f} = relevance {s.relevance:.2f}, recency {s.recency:.2f}, quality {s.quality:.2f}"
            f"  ({', '.join(w for w in why if w)})")  # fmt: skip
        snippet = " ".join(hit.text.split())
        out(f"   {snippet[:200]}{'…' if len(snippet) > 200 else ''}")
    # An unavailable reranker is reported once (an event, `status`, `memory stats`), not per search.
    return EXIT_OK


@guarded
def forget_items(args: argparse.Namespace) -> int:
    """Forget by id, filter or query."""
    memory_filter = _filter(args)
    has_filter = memory_filter != p.MemoryFilter()
    if not (args.item_ids or args.query or has_filter):
        err("say what to forget: item ids, --query, or a filter (--tag, --source, --path, --since, --until)")
        return EXIT_USAGE
    with connect(args, timeout=MEMORY_TIMEOUT_S) as client:
        if args.dry_run:
            if not args.query:
                err("--dry-run works with --query")
                return EXIT_USAGE
            hits = client.memory_search(args.query, args.limit, memory_filter, False).hits
            for hit in hits:
                out(f"would forget [{hit.item_id}] {hit.uri or hit.source}: {' '.join(hit.text.split())[:100]}")
            return EXIT_OK
        report = client.memory_forget(args.item_ids, memory_filter, args.query, args.limit)
    if not report.item_ids:
        out("nothing matched; nothing forgotten")
    else:
        out(f"forgot {len(report.item_ids)} item(s), {report.chunks} chunk(s): {', '.join(report.item_ids)}")
    return EXIT_OK


@guarded
def watch_paths(args: argparse.Namespace) -> int:
    """Add, list or remove watched folders."""
    paths = list(args.paths)
    remove = args.rm
    if paths[:1] == ["rm"] and len(paths) > 1 and not Path("rm").exists():
        remove, paths = True, paths[1:]
    if args.list == bool(paths):
        err("give folders to watch, or --list" if not paths else "--list takes no paths")
        return EXIT_USAGE
    resolved = [str(user_path(path).resolve()) for path in paths]
    with connect(args, timeout=MEMORY_TIMEOUT_S) as client:
        if args.list:
            watches = client.memory_watches()
        elif remove:
            for path in resolved:
                client.memory_unwatch(path)
                out(f"no longer watching {path}")
            return EXIT_OK
        else:
            watches = client.memory_watch(resolved, args.tag).watches
    if args.json:
        return out_json(watches)
    if not watches:
        out("no folders are watched")
    for w in watches:
        out(w.path + (f"  (tags: {', '.join(w.tags)})" if w.tags else ""))
    return EXIT_OK


@guarded
def memory_stats(args: argparse.Namespace) -> int:
    """What memory holds."""
    with connect(args, timeout=MEMORY_TIMEOUT_S) as client:
        stats = client.memory_stats()
    if args.json:
        return out_json(stats)
    sources = ", ".join(f"{k} {v}" for k, v in sorted(stats.by_source.items())) or "none"
    mib = 2**20
    out(f"items      {stats.items} ({sources})")
    out(f"chunks     {stats.chunks} ({stats.tokens} tokens), {stats.cached_vectors} cached embeddings")
    out(f"hnsw       {stats.dense_vectors} vectors ({stats.dense_deleted} deleted), {stats.dense_bytes / mib:.1f} MiB")
    out(f"bm25       {stats.bm25_docs} chunks, {stats.bm25_bytes / mib:.1f} MiB")
    out(f"database   {stats.db_bytes / mib:.1f} MiB")
    out(f"embedding  {stats.embedding_model}")
    status = stats.reranker_status if stats.reranker_status not in ("", "off") else ""
    out(f"reranker   {stats.reranker_model or 'off'}" + (f" ({status})" if status else ""))
    return EXIT_OK
