"""Policy rules: tool-name globs plus conditions on arguments, and how they are evaluated.

Evaluation order (first step that decides wins):

1. **Offline mode** denies every tool that uses the network (rule ``offline``).
2. **Deny rules** — remembered, configured or built in — deny if any matches.
3. **Guard**: once a tool output in this task looked like a prompt injection,
   every call with side effects or a shell *asks*, even where a rule allows it
   (rule ``guard:injection``).
4. **Allow / ask rules**, the first match in this order: remembered decisions
   (newest first), the config's rules (file order), the built-in defaults.
5. Nothing matched: **ask** (rule ``fallback``).

A rule matches when its tool glob matches and every condition it sets holds.
Paths are compared after ``~`` expansion and resolving symlinks and ``..``;
domains match themselves and their subdomains only (``example.com`` matches
``api.example.com``, never ``evil-example.com``); a command pattern never
matches a command that chains or redirects (``;``, ``&&``, ``|``, ``$(``, ...),
so allowing ``git status*`` cannot allow ``git status; rm -rf ~``.
"""

from __future__ import annotations

import fnmatch
import os
import re
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import msgspec

Decision = Literal["allow", "ask", "deny"]

_SHELL_META = re.compile(r"[;&|`<>\n\r]|\$\(|\$\{")


class Condition(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Conditions on a call's arguments; all that are set must hold."""

    arg: str = ""
    """The argument the condition reads; default: ``path``, ``url`` or ``command`` as fits."""
    path_under: list[str] = []
    path_not_under: list[str] = []
    domain_in: list[str] = []
    domain_not_in: list[str] = []
    url_has_credentials: bool | None = None
    command_matches: list[str] = []
    size_over: int | None = None
    """Bytes of the argument's value (``content`` by default)."""


class Rule(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Tool name glob(s) + conditions → decision, with a reason for the person and the model."""

    id: str
    tools: list[str]
    decision: Decision
    reason: str = ""
    when: Condition = Condition()


class RuleSet(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What a policy file holds: ``[[rules]]`` tables."""

    rules: list[Rule] = []


MAX_PATH_CHARS = 4096
PATH_ARGS = ("path", "root")
"""The arguments that name files; each is checked by ``path_problem`` before any rule reads it."""


class PathArgumentError(ValueError):
    """A path argument cannot name a file (NUL byte, too long, not encodable, unresolvable)."""


def path_problem(value: object) -> str | None:
    """Why ``value`` cannot be a path argument (None when it can, or when it is not a string)."""
    if not isinstance(value, str):
        return None
    if "\x00" in value:
        return "contains a NUL byte"
    if not value.strip():
        return "is empty"
    if len(value) > MAX_PATH_CHARS:
        return f"is {len(value)} characters long (at most {MAX_PATH_CHARS})"
    try:
        os.fsencode(value)
    except UnicodeEncodeError:
        return "is not valid text for a file name"
    return None


def resolve_path(value: str, base: Path | None = None) -> Path:
    """``value`` with ``~`` expanded and symlinks and ``..`` resolved (the file need not exist).

    A relative path is taken relative to ``base`` (the first allowed root: the person's home by
    default), never to wherever the daemon happened to start.

    Raises:
        PathArgumentError: ``value`` cannot be a path, or cannot be resolved (a symlink loop,
            an unknown ``~user``, a name too long for the file system).
    """
    problem = path_problem(value)
    if problem is not None:
        raise PathArgumentError(f"the path {value[:80]!r} {problem}")
    try:
        path = Path(value).expanduser()
        if base is not None and not path.is_absolute():
            path = base.expanduser() / path
        return path.resolve()
    except (OSError, RuntimeError, ValueError) as exc:
        raise PathArgumentError(f"the path {value[:80]!r} cannot be resolved: {exc}") from None


def path_is_under(value: str, roots: list[str]) -> bool:
    target = resolve_path(value)
    for root in roots:
        base = resolve_path(root)
        if target == base or target.is_relative_to(base):
            return True
    return False


def url_host(value: str) -> str:
    """The lower-case host of a URL ('' if it has none)."""
    try:
        host = urlsplit(value.strip()).hostname or ""
    except ValueError:
        return ""
    return host.rstrip(".").lower()


def url_has_credentials(value: str) -> bool:
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        return False
    return bool(parts.username or parts.password)


def domain_matches(host: str, domains: list[str]) -> bool:
    """``host`` is one of ``domains`` or a subdomain of one (label-wise, not by suffix)."""
    host = host.rstrip(".").lower()
    for domain in domains:
        d = domain.strip().lstrip("*.").rstrip(".").lower()
        if host == d or host.endswith("." + d):
            return True
    return False


def command_matches(command: str, patterns: list[str]) -> bool:
    """A simple command (no chaining or redirection) matching one of the glob patterns."""
    if _SHELL_META.search(command):
        return False
    normalized = " ".join(command.split())
    return any(fnmatch.fnmatchcase(normalized, p) for p in patterns)


def _arg(args: dict[str, Any], name: str, *defaults: str) -> Any:
    for key in (name, *defaults) if name else defaults:
        if key and key in args:
            return args[key]
    return None


def condition_holds(cond: Condition, args: dict[str, Any]) -> bool:
    """Every condition that is set holds for ``args`` (a missing argument fails it)."""
    if cond.path_under or cond.path_not_under:
        value = _arg(args, cond.arg, "path", "root")
        if not isinstance(value, str):
            return False
        if cond.path_under and not path_is_under(value, cond.path_under):
            return False
        if cond.path_not_under and path_is_under(value, cond.path_not_under):
            return False
    if cond.domain_in or cond.domain_not_in or cond.url_has_credentials is not None:
        value = _arg(args, cond.arg, "url")
        if not isinstance(value, str):
            return False
        host = url_host(value)
        if cond.domain_in and not domain_matches(host, cond.domain_in):
            return False
        if cond.domain_not_in and domain_matches(host, cond.domain_not_in):
            return False
        if cond.url_has_credentials is not None and url_has_credentials(value) != cond.url_has_credentials:
            return False
    if cond.command_matches:
        value = _arg(args, cond.arg, "command")
        if not isinstance(value, str) or not command_matches(value, cond.command_matches):
            return False
    if cond.size_over is not None:
        value = _arg(args, cond.arg, "content", "code")
        if value is None:
            return False
        size = len(value.encode() if isinstance(value, str) else msgspec.json.encode(value))
        if size <= cond.size_over:
            return False
    return True


def rule_matches(rule: Rule, tool: str, args: dict[str, Any]) -> bool:
    return any(fnmatch.fnmatchcase(tool, pattern) for pattern in rule.tools) and condition_holds(rule.when, args)


def load_rules(text: str, source: str = "policy") -> list[Rule]:
    """Parse TOML ``[[rules]]``.

    Raises:
        ValueError: the text is not valid TOML or a rule is malformed (the message says where).
    """
    try:
        return list(msgspec.toml.decode(text, type=RuleSet).rules)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ValueError(f"invalid rules in {source}: {exc}") from None
