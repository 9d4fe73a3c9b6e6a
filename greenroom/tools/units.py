"""Unit conversions, worked out rather than guessed: the ``units.convert`` tool.

The 135M model asked "How many minutes are in 3 hours?" answers "30". A question
that is only a conversion is therefore routed to this tool without asking the
model (see ``routing.ToolRouter``), its words become the argument
(:func:`conversion_in`: ``3 hours to minutes``), and the answer is the tool's:
3 hours = 180 minutes.

Units and their factors are ``pint``'s (a maintained registry of units, with
their plurals, abbreviations and offsets such as °F to °C), loaded on the first
conversion. Read as conversions: "how many <units> are in <amount> <unit>",
"how many <units> is <amount> <unit>", and "[convert] <amount> <unit> to|in
<unit>", with the amount in digits or as "a"/"an"/"one". Both units must be
units pint knows, of the same kind; anything else ("how many people are in a
car") goes to the model as any other question. Temperatures said as "F", "C",
"degrees Fahrenheit" are read as temperatures (pint alone reads "F" as farads).
"""

from __future__ import annotations

import functools
import math
import re
from typing import Annotated, Any

import msgspec

from greenroom.tools.spec import ToolContext, ToolError, ToolSpec

MAX_CONVERSION = 200
"""Characters of a conversion at most."""
UNITS_TOOL_NAME = "units.convert"

_AMOUNT = r"(?P<amount>\d[\d,]*(?:\.\d+)?|\.\d+|an?|one)"
_UNIT = r"(?P<{}>[a-z°/][a-z°/ .\-]{{0,38}}?)"
_LEAD = r"^(?:(?:please|ok|hey|so)[,\s]+)?(?:(?:can|could) you\s+)?(?:tell me\s+)?"
_END = r"\s*[?.!]*$"
_PATTERNS = tuple(
    re.compile(_LEAD + body + _END, re.IGNORECASE)
    for body in (
        rf"how many {_UNIT.format('to')} (?:are |is )?(?:there )?in {_AMOUNT} {_UNIT.format('unit')}",
        rf"how many {_UNIT.format('to')} (?:is|are|make|makes) {_AMOUNT} {_UNIT.format('unit')}",
        rf"(?:(?:convert|what(?:'s|\u2019s| is| are)|how much is)\s+)?{_AMOUNT} {_UNIT.format('unit')}"
        rf" (?:to|in|into|in terms of) {_UNIT.format('to')}",
    )
)
_TEMPERATURES = {
    "f": "degF",
    "°f": "degF",
    "fahrenheit": "degF",
    "c": "degC",
    "°c": "degC",
    "celsius": "degC",
    "centigrade": "degC",
    "k": "kelvin",
}
_DEGREES = re.compile(r"^(?:degrees?|deg)\s+")
_NOT_UNITS = frozenset({"a", "an", "the", "in", "are", "is", "it", "at", "of", "to", "and", "or", "this", "that"})
"""Words pint reads as units (``a`` is a year, ``in`` an inch, ``are`` 100 m²) that, said alone
where a unit goes, are not one."""
_SOME_AMOUNT = re.compile(r"\d|\b(?:an?|one)\b", re.IGNORECASE)
_CONVERSION = re.compile(rf"^\s*{_AMOUNT}\s+{_UNIT.format('unit')}\s+to\s+{_UNIT.format('to')}\s*$", re.IGNORECASE)


class ConvertArgs(msgspec.Struct, forbid_unknown_fields=True):
    conversion: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_CONVERSION)]
    """An amount with its unit, "to", and the unit wanted: "3 hours to minutes", "5 miles to km"."""


@functools.cache
def _registry() -> Any:
    import pint

    return pint.UnitRegistry()


def _unit_name(said: str) -> str | None:
    """The pint name of the unit ``said`` ("miles per hour", "°F", "MB"), or None when it is none.
    As said first ("MB" is megabytes, "mb" millibarns), then in lower case ("Km")."""
    text = " ".join(said.replace(" per ", " / ").split()).strip(" .")
    low = text.lower()
    if not text or any(word in _NOT_UNITS for word in low.split()) or low in ("degree", "degrees"):
        return None
    temperature = _TEMPERATURES.get(_DEGREES.sub("", low))
    for candidate in [temperature] if temperature else dict.fromkeys((text, low)):
        try:
            units = _registry().parse_units(candidate)
        except Exception:  # pint's own errors, and its parser's on text that is no expression
            continue
        name = str(units)
        if not units.dimensionless or "bit" in name or "byte" in name:  # pint's data units have no dimension
            return name
    return None


def _read(match: re.Match[str]) -> tuple[float, str, str]:
    """The amount, the unit and the unit wanted, as said."""
    said = match.group("amount").lower()
    amount = 1.0 if said in ("a", "an", "one") else float(said.replace(",", ""))
    return amount, match.group("unit").strip(), match.group("to").strip()


def _match(text: str, patterns: tuple[re.Pattern[str], ...]) -> re.Match[str] | None:
    said = " ".join(text.split())
    return next((m for pattern in patterns if (m := pattern.match(said)) is not None), None)


def _converted(amount: float, unit_name: str, to_name: str) -> float | None:
    registry = _registry()
    for unit, to in ((unit_name, to_name), (_fluid(unit_name), _fluid(to_name))):
        try:
            value = registry.Quantity(amount, registry.parse_units(unit)).to(registry.parse_units(to))
        except Exception:  # DimensionalityError: hours to metres; overflow on absurd amounts
            continue
        magnitude = float(value.magnitude)
        return magnitude if math.isfinite(magnitude) else None
    return None


def _fluid(name: str) -> str:
    """Ounces beside a volume are fluid ounces ("how many ounces in a cup": 8)."""
    return "fluid_ounce" if name == "ounce" else name


def conversion_in(text: str) -> str | None:
    """The conversion ``text`` asks for, as ``<amount> <unit> to <unit>``, or None when it is not
    only that (or its units are not units of one kind)."""
    if len(text) > MAX_CONVERSION * 2 or not _SOME_AMOUNT.search(text):
        return None
    match = _match(text, _PATTERNS)
    if match is None:
        return None
    amount, unit, to = _read(match)
    unit_name, to_name = _unit_name(unit), _unit_name(to)
    if unit_name is None or to_name is None or _converted(amount, unit_name, to_name) is None:
        return None
    return f"{_shown(amount)} {unit} to {to}"


def convert(conversion: str) -> str:
    """``conversion`` ("3 hours to minutes") worked out: ``3 hours = 180 minutes``.

    Raises:
        ToolError: not ``<amount> <unit> to <unit>``, a unit pint does not know, or units of
            different kinds, naming which.
    """
    match = _match(conversion, (_CONVERSION, *_PATTERNS))
    if match is None:
        raise ToolError(f"{conversion!r} is not a conversion: write an amount, its unit, 'to', and the unit wanted")
    amount, unit, to = _read(match)
    names = [_unit_name(said) for said in (unit, to)]
    for said, name in zip((unit, to), names, strict=True):
        if name is None:
            raise ToolError(f"{said!r} is not a unit this tool knows")
    value = _converted(amount, str(names[0]), str(names[1]))
    if value is None:
        raise ToolError(f"{unit!r} cannot be converted to {to!r}: they measure different things")
    return f"{_shown(amount)} {unit} = {_shown(value)} {to}"


def _shown(value: float) -> str:
    """``value`` as a person writes it: to 6 significant digits, but never fewer than its whole
    part (19,598,940 minutes stays that), and whole numbers without decimals."""
    if value == 0:
        return "0"
    if abs(value) >= 1e15 or abs(value) < 1e-6:
        return format(value, ".6g")
    decimals = max(0, 5 - math.floor(math.log10(abs(value))))
    rounded = round(value, decimals)
    if float(rounded).is_integer():
        return f"{int(rounded):,}"
    return f"{rounded:,.{decimals}f}".rstrip("0").rstrip(".")


def _convert(ctx: ToolContext, args: ConvertArgs) -> str:
    return convert(args.conversion)


UNITS_TOOL = ToolSpec(
    UNITS_TOOL_NAME,
    "Convert an amount between units: time, length, weight, volume, speed, temperature, data.",
    ConvertArgs,
    _convert,
    "none",
    memorable=False,
)

__all__ = ["MAX_CONVERSION", "UNITS_TOOL", "UNITS_TOOL_NAME", "ConvertArgs", "conversion_in", "convert"]
