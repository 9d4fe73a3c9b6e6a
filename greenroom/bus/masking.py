"""Masking of event payloads before they are journaled: on decoded values, never on bytes.

The bus encodes each event once to journal it. A ``Masker`` (the policy's
secret masking) names literal markers, one of which anything it would mask
contains; the bus finds the events of a batch whose bytes hold one
(``MarkerScan``: one lower-cased copy of the batch, one SIMD pass for the
markers' prefixes), and only those are walked as values: every string inside
them (struct fields, list items, dict values) goes through the masker, and an
event the masker changed is encoded again. So masking can never break the framing of what
is stored: the encoder writes the lengths.
"""

from __future__ import annotations

import functools
import types
import typing
from bisect import bisect_right
from collections.abc import Callable, Sequence
from itertools import accumulate
from typing import Any, Protocol

import msgspec
from ahocorasick_rs import BytesAhoCorasick, Implementation, MatchKind

from greenroom.bus.envelope import Envelope


class Masker(Protocol):
    """What the bus needs from a masker."""

    @property
    def markers(self) -> Sequence[bytes]:
        """Lower-case ASCII literals: text without any of them (ASCII case ignored) needs no masking."""
        ...

    def __call__(self, text: str) -> str:
        """``text`` masked (the same object when nothing needed masking)."""
        ...


class MarkerScan:
    """Finds the encoded events of a batch that hold a masker's markers (ASCII case ignored).

    Events are joined (``\\0`` between them: no marker spans two) and lower-cased a
    slice of ``SLICE`` events at a time. A first pass looks for the markers'
    prefixes (their first bytes, cut so that at most ``PREFIXES`` remain): few
    enough for the SIMD searcher behind leftmost-first matching, ~0.02 µs an
    event (joining and lower-casing cost ~0.08 more), where the DFA over all 808
    of the policy's markers cost ~0.27. Each
    match of a leftmost-first pass lies inside one event and every event holding
    a prefix gets one, so no event is missed; the few events flagged are then
    checked for a whole marker, one at a time. Slices keep the copies in the
    CPU's cache; a whole batch of thousands of events joined at once cost a
    third more.

    Args:
        markers: lower-case ASCII literals, apart from any non-ASCII letters a masker
            matches (the scan lower-cases ASCII only).
    """

    SLICE = 512
    PREFIXES = 40
    """Most prefixes the first pass looks for: at 54 it already cost half again as much, at 109 as much as the DFA."""

    def __init__(self, markers: Sequence[bytes]) -> None:
        markers = list(dict.fromkeys(markers))
        self._whole = BytesAhoCorasick(markers, implementation=Implementation.DFA) if markers else None
        prefixes = _prefixes(markers, self.PREFIXES)
        self._first = BytesAhoCorasick(prefixes, matchkind=MatchKind.LeftmostFirst) if prefixes else self._whole
        self._confirm = bool(prefixes) and set(prefixes) != set(markers)

    def __call__(self, raws: Sequence[bytes]) -> list[int]:
        """Indexes of the events in ``raws`` whose bytes hold a marker, ascending."""
        if self._first is None:
            return []
        if len(raws) == 1:  # a single event (the latency path): nothing to join or to map back
            found = [0] if self._first.find_matches_as_indexes(raws[0].lower()) else []
        else:
            found = []
            for offset in range(0, len(raws), self.SLICE):
                part = raws[offset : offset + self.SLICE]
                found += (offset + i for i in self._scan(self._first, part))
        if not self._confirm or self._whole is None:
            return found
        whole = self._whole
        return [i for i in found if whole.find_matches_as_indexes(raws[i].lower())]

    @staticmethod
    def _scan(automaton: BytesAhoCorasick, raws: Sequence[bytes]) -> list[int]:
        found = automaton.find_matches_as_indexes(b"\0".join(raws).lower())
        if not found:
            return []
        ends = list(accumulate(len(raw) + 1 for raw in raws))  # just past event i's separator in the joined bytes
        return sorted({bisect_right(ends, start) for _, start, _ in found})


def _prefixes(markers: Sequence[bytes], most: int) -> list[bytes]:
    """The markers cut to the longest length at which at most ``most`` distinct prefixes remain ([] if none)."""
    longest = max(map(len, markers), default=0)
    for size in range(longest, 0, -1):
        prefixes = list(dict.fromkeys(m[:size] for m in markers))
        if len(prefixes) <= most:
            return prefixes
    return []


@functools.cache
def _free_text_fields(cls: type[msgspec.Struct]) -> tuple[str, ...]:
    """A Struct's fields that can hold free text: all but ``Literal`` ones (fixed words, never data)."""

    def fixed(tp: Any) -> bool:
        if typing.get_origin(tp) is typing.Literal:
            return True
        args = typing.get_args(tp)
        return typing.get_origin(tp) in (typing.Union, types.UnionType) and all(
            a is type(None) or fixed(a) for a in args
        )

    try:
        fields = msgspec.structs.fields(cls)
    except Exception:  # annotations that cannot be resolved here: walk every field
        return tuple(cls.__struct_fields__)
    return tuple(f.name for f in fields if not fixed(f.type))


def map_strings(value: Any, fn: Callable[[str], str]) -> Any:
    """``value`` with ``fn`` applied to every string inside it; the same object when nothing changed.

    Walks msgspec Structs, lists, tuples and dicts (values only: keys are names).
    ``Literal`` fields of a Struct are left alone: they hold one of a few fixed
    words, and changing one would make the value invalid.

    Raises:
        RecursionError: ``value`` is nested deeper than Python's recursion limit allows.
    """
    if isinstance(value, str):
        new = fn(value)
        return value if new == value else new
    if isinstance(value, msgspec.Struct):
        changes = {}
        for name in _free_text_fields(type(value)):
            old = getattr(value, name)
            new = map_strings(old, fn)
            if new is not old:
                changes[name] = new
        return msgspec.structs.replace(value, **changes) if changes else value
    if isinstance(value, (list, tuple)):
        items = [map_strings(v, fn) for v in value]
        if all(a is b for a, b in zip(items, value, strict=True)):
            return value
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, dict):
        pairs = {k: map_strings(v, fn) for k, v in value.items()}
        return value if all(pairs[k] is v for k, v in value.items()) else pairs
    return value


def mask_envelope(env: Envelope, masker: Masker) -> Envelope:
    """``env`` with every string of its event masked (the same object when nothing changed)."""
    event = map_strings(env.event, masker)
    return env if event is env.event else msgspec.structs.replace(env, event=event)
