"""Config mistakes explained: one line that names the mistake, where it is, and the fix.

A person meets these on the command line (``greenroom --set agent.max_round=2 status``)
or in their ``config.toml``; each becomes a :class:`ConfigError` whose message is
a single line (file, line and column for TOML syntax; the ``--set`` item for an
override; a "did you mean" for a misspelt key; the valid values of an enum).
"""

from __future__ import annotations

import difflib
import re
import types
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import msgspec

from greenroom.runtime.errors import ConfigError

_AT = re.compile(r"^(?P<problem>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)
_TOML_POS = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")


def toml_error(origin: str, exc: Exception) -> ConfigError:
    """A TOML syntax error as ``origin:LINE:COL: problem``."""
    message = str(exc)
    line, col = getattr(exc, "lineno", None), getattr(exc, "colno", None)
    match = _TOML_POS.search(message)
    if match:
        message = message[: match.start()]
        line, col = line or int(match.group(1)), col or int(match.group(2))
    where = f"{origin}:{line}:{col}" if line else origin
    return ConfigError(f"{where}: not valid TOML: {message}; fix it there (TOML: key = value, [section])")


def struct_fields(struct: type) -> dict[str, Any]:
    """A msgspec Struct type's field names and their (resolved) types."""
    return {f.encode_name: f.type for f in msgspec.structs.fields(struct)}


def _is_struct(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, msgspec.Struct)


def _element_struct(tp: Any) -> type | None:
    """The Struct inside ``list[Struct]`` (None otherwise)."""
    if get_origin(tp) is list:
        (inner,) = get_args(tp) or (None,)
        return inner if _is_struct(inner) else None
    return None


def _suggest(key: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(key, choices, n=1, cutoff=0.6)
    if close:
        return f"did you mean {close[0]!r}?"
    return "valid keys: " + ", ".join(sorted(choices))


def unknown_keys(tree: dict[str, Any], struct: type, prefix: str = "") -> list[str]:
    """Each key in ``tree`` that ``struct`` has no field for, as a sentence with a suggestion."""
    fields = struct_fields(struct)
    problems = []
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        if key not in fields:
            where = f"[{prefix.rstrip('.')}]" if prefix else "the file's top level"
            problems.append(f"unknown key {dotted!r} in {where}; {_suggest(key, list(fields))}")
            continue
        tp = fields[key]
        if _is_struct(tp) and isinstance(value, dict):
            problems += unknown_keys(value, tp, dotted + ".")
        elif (inner := _element_struct(tp)) is not None and isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, dict):
                    problems += unknown_keys(item, inner, f"{dotted}[{i}].")
    return problems


def check_override_key(root: type, key: str) -> str | None:
    """Why ``key`` (``section.key``) names no setting, with a suggestion; None when it does."""
    struct: Any = root
    parts = key.split(".")
    for depth, part in enumerate(parts):
        fields = struct_fields(struct)
        prefix = ".".join(parts[:depth])
        if part not in fields:
            where = f"[{prefix}]" if prefix else "the config"
            return f"unknown key {key!r}: {where} has no {part!r}; {_suggest(part, list(fields))}"
        struct = fields[part]
        if depth < len(parts) - 1 and not _is_struct(struct):
            return f"{'.'.join(parts[: depth + 1])!r} is a value, not a section"
    return None


def _field_type(root: type, path: str) -> Any:
    """The type at a msgspec error path like ``.llm.backend`` or ``.policy.rules[0].decision``."""
    tp: Any = root
    for part in re.findall(r"\.([A-Za-z0-9_]+)|\[\d+\]", path):
        if not part:  # a list index
            tp = (get_args(tp) or (None,))[0]
            continue
        if not _is_struct(tp):
            return None
        tp = struct_fields(tp).get(part)
    return tp


def _literal_values(tp: Any) -> list[Any]:
    if get_origin(tp) is Literal:
        return list(get_args(tp))
    if get_origin(tp) in (Union, types.UnionType):
        return [v for arg in get_args(tp) for v in _literal_values(arg)]
    return []


_KINDS = {"str": "a string", "int": "an integer", "float": "a number", "bool": "true or false",
          "array": "a list", "object": "a table", "null": "nothing"}  # fmt: skip
_EXPECTED = re.compile(r"^Expected `(?P<want>[^`]+)`, got `(?P<got>[^`]+)`$")


def _type_name(tp: Any) -> str:
    names = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}
    if tp in names:
        return names[tp]
    if get_origin(tp) is list:
        return 'a list, e.g. ["a", "b"]'
    if _is_struct(tp):
        return "a table"
    return str(tp).replace("typing.", "")


def explain_validation(root: type, exc: msgspec.ValidationError, origin_of: dict[str, str], file: str) -> str:
    """One line for a value of the wrong type or out of range.

    Args:
        root: the Config struct type.
        exc: msgspec's error (``problem - at `$.a.b```).
        origin_of: dotted key -> the ``--set`` item that set it.
        file: the config file's name, for values that came from it.
    """
    match = _AT.match(str(exc))
    problem, path = (match.group("problem"), match.group("path") or "") if match else (str(exc), "")
    dotted = path.lstrip(".")
    tp = _field_type(root, path)
    allowed = _literal_values(tp)
    if allowed and problem.startswith("Invalid enum value"):
        problem = f"{problem}; valid values: {', '.join(map(str, allowed))}"
    elif (expected := _EXPECTED.match(problem)) is not None:
        want = _type_name(tp) if tp is not None else _KINDS.get(expected["want"], expected["want"])
        problem = f"{dotted or 'the value'} takes {want}, not {_KINDS.get(expected['got'], expected['got'])}"
    # The override that set this value, or (for a check on a whole section) one inside it.
    key = next((k for k in origin_of if dotted == k or dotted.startswith((k + ".", k + "["))), None)
    if key is None and dotted:
        key = next((k for k in origin_of if k.startswith(dotted + ".")), None)
    if key is not None:
        return f"--set {origin_of[key]}: {problem}"
    where = f"{file}: {dotted}" if dotted and dotted not in problem else file
    return f"{where}: {problem}"


def read_toml(path: Path, loads: Any) -> dict[str, Any]:
    """Parse ``path`` with ``loads`` (tomllib's), turning failures into one-line errors."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8") from None
    try:
        return dict(loads(text))
    except Exception as exc:
        raise toml_error(str(path), exc) from None


__all__ = ["ConfigError", "check_override_key", "explain_validation", "read_toml", "toml_error", "unknown_keys"]
