"""Build ``tool_pool.json``: real MCP servers' tools + generated ones + greenroom's built-ins,
and the labelled queries.

    python -m bench.data.make_tool_pool REAL.json    # REAL.json from collect_mcp_tools

The result is what ``bench/tool_retrieval.py`` reads; it is committed, so the
benchmark needs no network.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from bench.data.generated_tools import generated_tools
from bench.data.tool_queries import QUERIES
from greenroom.tools import ToolsConfig, default_tools
from greenroom.tools.mcp import tool_name

OUT = Path(__file__).with_name("tool_pool.json")


def real_tools(path: Path) -> list[dict[str, Any]]:
    listing = json.loads(path.read_text())
    return [
        {
            "name": tool_name(server, t["name"]),
            "description": " ".join(str(t.get("description", "")).split()),
            "input_schema": t.get("inputSchema") or {"type": "object"},
            "read_only": bool((t.get("annotations") or {}).get("readOnlyHint")),
            "source": f"mcp:{server}",
        }
        for server, tools in listing.items()
        for t in tools
    ]


def builtin_tools() -> list[dict[str, Any]]:
    return [
        {
            "name": t.name,
            "description": t.description,
            "input_schema": t.schema(),
            "read_only": t.side_effects in ("none", "read"),
            "source": "builtin",
        }
        for t in default_tools(ToolsConfig(shell_enabled=True))
    ]


def main(real: Path) -> None:
    tools = builtin_tools() + real_tools(real) + generated_tools()
    names = [t["name"] for t in tools]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise SystemExit(f"duplicate tool names: {sorted(duplicates)}")
    known = set(names)
    queries = []
    for query, relevant in QUERIES:
        unknown = [r for r in relevant if r not in known]
        if unknown:
            raise SystemExit(f"query {query!r} names unknown tools {unknown}")
        queries.append({"query": query, "relevant": relevant})

    def lines(items: list[dict[str, Any]]) -> str:  # one record a line: small diffs
        return ",\n".join(json.dumps(item, ensure_ascii=False) for item in items)

    OUT.write_text(f'{{"tools": [\n{lines(tools)}\n],\n"queries": [\n{lines(queries)}\n]}}\n')
    kinds = [t["source"].split(":")[0] for t in tools]
    counts = ", ".join(f"{kinds.count(k)} {k}" for k in ("builtin", "mcp", "generated"))
    print(f"{len(tools)} tools ({counts}), {len(queries)} queries -> {OUT}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
