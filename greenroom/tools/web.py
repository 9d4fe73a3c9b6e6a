"""``web.fetch``: download a page (size and time capped) and extract its readable text.

httpx fetches; trafilatura extracts the main text as Markdown (navigation,
footers and scripts dropped). Plain-text responses are returned as they are.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from greenroom.tools.spec import ToolContext, ToolError, ToolSpec
from greenroom.tools.text import clip

USER_AGENT = "greenroom/0.1 (local assistant)"


class FetchArgs(msgspec.Struct, forbid_unknown_fields=True):
    url: Annotated[str, msgspec.Meta(min_length=1, max_length=2000, pattern=r"^https?://")]


class SearchArgs(msgspec.Struct, forbid_unknown_fields=True):
    query: Annotated[str, msgspec.Meta(min_length=1, max_length=300)]
    max_results: Annotated[int, msgspec.Meta(ge=1, le=20)] = 5


def _download(ctx: ToolContext, url: str) -> tuple[str, str]:
    """(text, content type) of ``url``, size and time capped."""
    import httpx

    limit = ctx.config.web_max_bytes
    try:
        with (
            httpx.Client(
                timeout=ctx.config.web_timeout_s, follow_redirects=True, headers={"User-Agent": USER_AGENT}
            ) as client,
            client.stream("GET", url) as response,
        ):
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > limit:
                    raise ToolError(f"the response is larger than {limit} bytes")
                if ctx.cancel.is_set():
                    raise ToolError("cancelled")
            status, ctype = response.status_code, response.headers.get("content-type", "")
            encoding = response.encoding or "utf-8"
    except httpx.HTTPError as exc:
        raise ToolError(f"fetching {url} failed: {exc}") from None
    if status >= 400:
        raise ToolError(f"{url} answered HTTP {status}")
    return bytes(body).decode(encoding, errors="replace"), ctype


def _fetch(ctx: ToolContext, args: FetchArgs) -> str:
    text, ctype = _download(ctx, args.url)
    if "html" in ctype or text.lstrip()[:1] == "<":
        import trafilatura

        extracted = trafilatura.extract(text, output_format="markdown", include_links=False)
        text = extracted or "(no readable text found)"
    return clip(text, ctx.max_output_bytes)


def _by_class(node: Any, tag: str, cls: str) -> list[Any]:
    """Descendants of ``node`` with CSS class ``cls`` (XPath: no cssselect dependency)."""
    return node.xpath(f".//{tag}[contains(concat(' ', normalize-space(@class), ' '), ' {cls} ')]")


def _search(ctx: ToolContext, args: SearchArgs) -> str:
    """Scrape an HTML results page: each result's title, URL and snippet."""
    from urllib.parse import parse_qs, quote_plus, urlsplit

    import lxml.html

    page, _ = _download(ctx, ctx.config.web_search_url.format(query=quote_plus(args.query)))
    doc = lxml.html.fromstring(page)
    lines = []
    for node in _by_class(doc, "*", "result"):
        links = _by_class(node, "a", "result__a")
        if not links:
            continue
        href = links[0].get("href", "")
        # DuckDuckGo wraps targets in a redirect: /l/?uddg=<real url>
        target = parse_qs(urlsplit(href).query).get("uddg", [href])[0]
        snippets = _by_class(node, "*", "result__snippet")
        snippet = " ".join(snippets[0].text_content().split()) if snippets else ""
        lines.append(f"- {' '.join(links[0].text_content().split())}\n  {target}\n  {snippet}".rstrip())
        if len(lines) >= args.max_results:
            break
    return clip("\n".join(lines) or "no results", ctx.max_output_bytes)


WEB_TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec("web.fetch", "Fetch a web page and return its readable text.", FetchArgs, _fetch, "read", network=True),
    ToolSpec("web.search", "Search the web: titles, URLs and snippets.", SearchArgs, _search, "read", network=True),
)
