"""``web.fetch``: download a page (size and time capped) and extract its readable text.

httpx fetches; trafilatura extracts the main text as Markdown (navigation,
footers and scripts dropped). Plain-text responses are returned as they are.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from greenroom.tools.spec import ToolContext, ToolError, ToolSpec
from greenroom.tools.text import clip

USER_AGENT = "greenroom/0.1 (local assistant)"


class FetchArgs(msgspec.Struct, forbid_unknown_fields=True):
    url: Annotated[str, msgspec.Meta(min_length=1, max_length=2000, pattern=r"^https?://")]


def _fetch(ctx: ToolContext, args: FetchArgs) -> str:
    import httpx

    limit = ctx.config.web_max_bytes
    try:
        with (
            httpx.Client(
                timeout=ctx.config.web_timeout_s, follow_redirects=True, headers={"User-Agent": USER_AGENT}
            ) as client,
            client.stream("GET", args.url) as response,
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
        raise ToolError(f"fetching {args.url} failed: {exc}") from None
    if status >= 400:
        raise ToolError(f"{args.url} answered HTTP {status}")
    text = bytes(body).decode(encoding, errors="replace")
    if "html" in ctype or text.lstrip()[:1] == "<":
        import trafilatura

        extracted = trafilatura.extract(text, output_format="markdown", include_links=False)
        text = extracted or "(no readable text found)"
    return clip(text, ctx.max_output_bytes)


WEB_TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec("web.fetch", "Fetch a web page and return its readable text.", FetchArgs, _fetch, "read", network=True),
)
