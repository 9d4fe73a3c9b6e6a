"""From MCP to greenroom and back: tool listings into tool records, call results into text.

Everything a server sends is untrusted input. A tool is imported only if its
name can be made safe (``[A-Za-z0-9_.-]``, so it can never act as a policy
glob), its input schema is a valid JSON Schema for an object of bounded size,
and its description does not read like a prompt injection (descriptions go
into the model's prompt). Anything else is skipped, with the reason.

Results: text blocks are kept as text; images, audio and binary resources are
written to files under the media folder (0600, named by content hash) and
referred to by path, which is also how vision models take images; embedded
text resources are inlined under their URI; resource links are listed; a
result with only structured content is shown as JSON. ``isError`` results
become a failed call with the server's message.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import mimetypes
import os
import re
from pathlib import Path
from typing import Any

import msgspec

from greenroom.policy.guards import find_injection
from greenroom.tools.mcp.errors import McpCallError

MAX_NAME = 64
MAX_DESCRIPTION = 2000
MAX_SCHEMA_BYTES = 32 * 1024
MAX_MEDIA_BYTES = 20 * 1024 * 1024
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


class McpToolInfo(msgspec.Struct, frozen=True, kw_only=True):
    """What greenroom keeps of one MCP tool."""

    name: str
    """The greenroom name, ``mcp.<server>.<tool>``."""
    remote: str
    """The name the server knows it by."""
    description: str = ""
    input_schema: dict[str, Any] = {}
    read_only: bool = False
    destructive: bool = True
    title: str = ""


def tool_name(server: str, remote: str) -> str:
    """The greenroom name of ``remote`` on ``server``: unsafe characters become ``_``."""
    safe = _UNSAFE.sub("_", remote.strip())[:MAX_NAME].strip(".") or "_"
    return f"mcp.{server}.{safe}"


def schema_problem(schema: Any) -> str | None:
    if not isinstance(schema, dict):
        return "its input schema is not an object"
    if schema.get("type", "object") != "object":
        return "its input schema is not for an object"
    try:
        size = len(json.dumps(schema))
    except (TypeError, ValueError):
        return "its input schema is not JSON"
    if size > MAX_SCHEMA_BYTES:
        return f"its input schema is {size} bytes (at most {MAX_SCHEMA_BYTES})"
    import jsonschema  # loads with the first MCP server, not with the daemon

    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as exc:
        return f"its input schema is invalid: {exc.message[:200]}"
    except Exception as exc:  # a hostile schema may break the validator itself (say, a bad $ref)
        return f"its input schema cannot be checked: {type(exc).__name__}"
    return _decoder_problem(schema)


def _decoder_problem(schema: dict[str, Any]) -> str | None:
    """Why the constrained decoder could not use ``schema`` (one bad schema in a step's
    call schema would break every tool call of the step), or None."""
    import llguidance

    try:
        grammar = llguidance.LLMatcher.grammar_from_json_schema(
            json.dumps(schema), defaults={"whitespace_flexible": False}
        )
        failed, _ = llguidance.LLMatcher.validate_grammar_with_warnings(grammar)
    except Exception as exc:
        return f"the constrained decoder rejects its input schema: {str(exc)[:200]}"
    return "the constrained decoder rejects its input schema" if failed else None


def import_tools(server: str, tools: list[Any], limit: int) -> tuple[list[McpToolInfo], list[str]]:
    """Turn a server's ``tools/list`` entries (SDK ``Tool`` objects) into tool records.

    Returns:
        The tools imported, and the skipped ones as ``"name: why"``.
    """
    imported: list[McpToolInfo] = []
    skipped: list[str] = []
    taken: set[str] = set()
    for tool in tools:
        remote = str(getattr(tool, "name", "") or "")
        label = remote[:80] or "(no name)"
        name = tool_name(server, remote)
        description = " ".join(str(getattr(tool, "description", "") or "").split())[:MAX_DESCRIPTION]
        schema = getattr(tool, "input_schema", None)
        annotations = getattr(tool, "annotations", None)
        problem = None
        if not remote:
            problem = "it has no name"
        elif name in taken:
            problem = f"its name clashes with another tool's once made safe ({name})"
        elif len(imported) >= limit:
            problem = f"the server lists more than {limit} tools"
        elif getattr(getattr(tool, "execution", None), "task_support", None) == "required":
            problem = "it can only run as an MCP task, which greenroom does not use"
        else:
            problem = schema_problem(schema)
        if problem is None:
            phrase = find_injection(description + "\n" + json.dumps(schema))
            if phrase is not None:
                problem = f"its description looks like a prompt injection ({phrase!r})"
        if problem is not None:
            skipped.append(f"{label}: {problem}")
            continue
        taken.add(name)
        title = getattr(tool, "title", None) or (getattr(annotations, "title", None) if annotations else None) or ""
        imported.append(
            McpToolInfo(
                name=name,
                remote=remote,
                description=description or str(title)[:200] or remote,
                input_schema=dict(schema) if isinstance(schema, dict) else {},
                read_only=bool(annotations is not None and annotations.read_only_hint),
                destructive=annotations is None or annotations.destructive_hint is not False,
                title=str(title)[:200],
            )
        )
    return imported, skipped


# -- results -------------------------------------------------------------------------------


def _save_media(media_dir: Path, data_b64: str, mime: str) -> tuple[Path, int]:
    try:
        data = base64.b64decode(data_b64, validate=True)
    except (binascii.Error, ValueError):
        raise McpCallError("the server sent binary content that is not valid base64") from None
    if len(data) > MAX_MEDIA_BYTES:
        raise McpCallError(f"the server sent {len(data)} bytes of binary content (at most {MAX_MEDIA_BYTES})")
    suffix = mimetypes.guess_extension(mime.split(";")[0].strip()) or ".bin"
    media_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = media_dir / (hashlib.sha256(data).hexdigest()[:24] + suffix)
    if not path.exists():
        tmp = path.with_suffix(path.suffix + f".{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        tmp.replace(path)
    return path, len(data)


def _block_text(block: Any, media_dir: Path) -> str:
    kind = getattr(block, "type", "")
    match kind:
        case "text":
            return str(block.text)
        case "image" | "audio":
            mime = str(getattr(block, "mime_type", "") or "application/octet-stream")
            path, size = _save_media(media_dir, str(block.data), mime)
            return f"[{kind} {mime}, {size} bytes: {path}]"
        case "resource_link":
            title = getattr(block, "title", None) or getattr(block, "name", "")
            return f"[resource link: {title} {block.uri}]"
        case "resource":
            res = block.resource
            text = getattr(res, "text", None)
            if text is not None:
                return f"[resource {res.uri}]\n{text}"
            mime = str(getattr(res, "mime_type", None) or "application/octet-stream")
            path, size = _save_media(media_dir, str(res.blob), mime)
            return f"[resource {res.uri} {mime}, {size} bytes: {path}]"
        case _:
            return f"[{str(kind)[:40] or 'unknown'} content not shown]"


def result_text(result: Any, media_dir: Path) -> str:
    """The text a ``CallToolResult`` becomes (what the model sees and the journal keeps).

    Raises:
        McpCallError: the result says the call failed (``isError``), or carries bad binary data.
    """
    parts = [_block_text(block, media_dir) for block in (getattr(result, "content", None) or [])]
    text = "\n".join(p for p in parts if p)
    structured = getattr(result, "structured_content", None)
    if not text and structured is not None:
        text = json.dumps(structured, ensure_ascii=False, default=str)
    if getattr(result, "is_error", False):
        raise McpCallError(text or "the tool reported an error without a message")
    return text


__all__ = ["McpToolInfo", "import_tools", "result_text", "tool_name"]
