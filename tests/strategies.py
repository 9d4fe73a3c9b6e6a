"""Hypothesis strategies for any msgspec type: events, requests, replies.

``values_of(cls, strings)`` builds valid instances of a msgspec Struct (or any
type msgspec understands), every string drawn from ``strings``; tests use it to
put hostile text into every string field of every event type.
"""

from __future__ import annotations

from typing import Any

import msgspec
import msgspec.inspect as mi
from hypothesis import strategies as st

SECRETS = (
    "token=abc123def",
    "password: hunter2222",
    "the wifi password: [REDACTED:password]",
    "api_key='sk-proj-" + "x" * 24 + "'",
    "AKIAIOSFODNN7EXAMPLE",
    "ghp_" + "a1B2" * 9,
    "postgres://bob:hunter22@db.example.com/app",
    'secret="s3cr3t-value"',
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
)
"""Secret-shaped text, including already-redacted text (it still matches a pattern)."""

_DEPTH = 3


def secret_strings() -> st.SearchStrategy[str]:
    """Text with a secret at the start, middle, end, or alone (or no secret at all)."""
    noise = st.text(max_size=12)
    return st.one_of(
        st.builds(lambda a, s, b: a + s + b, noise, st.sampled_from(SECRETS), noise),
        st.sampled_from(SECRETS),
        st.builds(lambda s, b: s + b, st.sampled_from(SECRETS), noise),
        st.builds(lambda a, s: a + s, noise, st.sampled_from(SECRETS)),
        noise,
    )


def values_of(type_: Any, strings: st.SearchStrategy[str] | None = None) -> st.SearchStrategy[Any]:
    """Valid values of ``type_`` (a msgspec Struct or annotation), strings drawn from ``strings``."""
    return _strategy(mi.type_info(type_), st.text(max_size=20) if strings is None else strings, _DEPTH)


def _strategy(t: mi.Type, strings: st.SearchStrategy[str], depth: int) -> st.SearchStrategy[Any]:
    match t:
        case mi.StrType():
            return strings
        case mi.BoolType():
            return st.booleans()
        case mi.IntType():
            low = t.ge if t.ge is not None else -(2**40)
            return st.integers(min_value=low, max_value=t.le if t.le is not None else 2**40)
        case mi.FloatType():
            return st.floats(allow_nan=False, allow_infinity=False, width=64)
        case mi.NoneType():
            return st.none()
        case mi.LiteralType():
            return st.sampled_from(t.values)
        case mi.ListType() | mi.VarTupleType() | mi.SetType() | mi.FrozenSetType():
            items = _strategy(t.item_type, strings, depth - 1) if depth > 0 else st.nothing()
            return st.lists(items, max_size=3)
        case mi.DictType():
            values = _strategy(t.value_type, strings, depth - 1) if depth > 0 else st.nothing()
            return st.dictionaries(st.text(max_size=8), values, max_size=3)
        case mi.UnionType():
            return st.one_of([_strategy(u, strings, depth) for u in t.types])
        case mi.StructType():
            fields = {f.name: _strategy(f.type, strings, depth) for f in t.fields}
            return st.fixed_dictionaries(fields).map(lambda kw, cls=t.cls: cls(**kw))
        case mi.AnyType():
            # msgpack carries 64-bit ints: a bigger one is not a value any client can send
            leaves = st.one_of(strings, st.integers(-(2**63), 2**63 - 1), st.booleans(), st.none())
            if depth <= 0:
                return leaves
            return st.recursive(leaves, lambda inner: st.lists(inner, max_size=3), max_leaves=5)
        case _:
            raise NotImplementedError(f"no strategy for {t!r}")


def event_classes() -> list[type[msgspec.Struct]]:
    """Every event type of the bus."""
    from greenroom.bus import events as e

    return list(e.Event.__args__)  # type: ignore[attr-defined]
