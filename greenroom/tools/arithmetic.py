"""Arithmetic, worked out rather than guessed: the ``math.calculate`` tool.

A 135M model asked "what is 12 times 7?" answers "80". A question that is only
arithmetic is therefore routed to this tool without asking the model (see
``routing.ToolRouter``), the step's words become its argument
(``arithmetic_words.expression_in``), and the answer is the tool's: 12 times 7
is 84.

Evaluation is ``simpleeval``'s (a safe evaluator of Python expressions: no
names, attributes or calls but ``sqrt``) with exact division: whole numbers and
fractions stay exact (``99999999999999999 / 3`` is 33333333333333333), and a
result that is not whole is shown to 12 significant digits. A power whose result
would have more than :data:`MAX_DIGITS` digits, or be under 1e-300, is refused
before it is computed; any other result over :data:`MAX_DIGITS` digits is
refused once computed (at most a few thousand digits: an expression is at most
200 characters).
"""

from __future__ import annotations

import ast
import decimal
import math
from fractions import Fraction
from typing import Annotated, Any

import msgspec

from greenroom.tools.arithmetic_words import MAX_EXPRESSION, expression_in, python_expression
from greenroom.tools.spec import ToolContext, ToolError, ToolSpec

MAX_DIGITS = 1000
"""Digits of a result (or of any power on the way) at most."""
MIN_MAGNITUDE = -300
"""A power below 10 to this is refused (a float would show it as 0)."""

Number = int | float | Fraction
_NOTATION = (
    (" ** ", "^"),
    (" * ", " \u00d7 "),
    (" / ", " \u00f7 "),
    (" // ", " div "),
    (" % ", " mod "),
    ("sqrt(", "\u221a("),
)


class CalculateArgs(msgspec.Struct, forbid_unknown_fields=True):
    expression: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_EXPRESSION)]
    """Python notation (numbers, + - * / // % **, parentheses, sqrt()); words such as "12 times 7" also do."""


class _Unworkable(Exception):
    """Why an expression has no value to show (the caller names the expression)."""


def _log10(x: Number) -> float:
    if isinstance(x, Fraction):
        return math.log10(abs(x.numerator)) - math.log10(x.denominator)
    return math.log10(abs(x))


def _power(base: Number, exponent: Number) -> Any:
    if base != 0:
        magnitude = float(exponent) * _log10(base)
        if magnitude >= MAX_DIGITS:
            raise _Unworkable(f"would have more than {MAX_DIGITS} digits")
        if magnitude < MIN_MAGNITUDE:
            raise _Unworkable(f"is under 1e{MIN_MAGNITUDE}, too small to show")
    return base**exponent


def _divide(a: Number, b: Number) -> Number:
    if isinstance(a, int | Fraction) and isinstance(b, int | Fraction):
        return Fraction(a) / Fraction(b)  # exact: 99999999999999999 / 3 is a whole number
    return a / b


def _sqrt(x: Number) -> float:
    if x < 0:
        raise _Unworkable("takes the square root of a negative number: that is not a real number")
    return math.sqrt(x)


def evaluate(expression: str) -> Number:
    """The value of ``expression`` (arithmetic in Python's notation, as ``expression_in`` gives it).

    Raises:
        ToolError: not arithmetic, a division by zero, or a result too large or too small,
            naming the expression and which.
    """
    from simpleeval import DEFAULT_OPERATORS, InvalidExpression, SimpleEval

    said = written(expression) if python_expression(expression) else repr(expression)
    operators: dict[Any, Any] = {op: DEFAULT_OPERATORS[op] for op in _ARITHMETIC}
    operators.update({ast.Pow: _power, ast.Div: _divide})
    evaluator = SimpleEval(operators=operators, functions={"sqrt": _sqrt}, names={})
    try:
        value = evaluator.eval(expression)
    except _Unworkable as exc:
        raise ToolError(f"{said} {exc}") from None
    except ZeroDivisionError:
        raise ToolError(f"{said} divides by zero") from None
    except OverflowError:
        raise ToolError(f"the result of {said} is too large") from None
    except (InvalidExpression, SyntaxError, TypeError, ValueError, RecursionError):
        raise ToolError(f"{said} is not arithmetic this tool can work out") from None
    return _checked(value, said)


def _checked(value: Any, said: str) -> Number:
    if isinstance(value, complex):
        raise ToolError(f"the result of {said} is not a real number")
    if isinstance(value, bool) or not isinstance(value, Number):
        raise ToolError(f"{said} is not arithmetic this tool can work out")
    if isinstance(value, Fraction) and value.denominator == 1:
        value = value.numerator
    if isinstance(value, int) and (value.bit_length() > MAX_DIGITS * 3.33 + 8 or len(str(abs(value))) > MAX_DIGITS):
        raise ToolError(f"the result of {said} has more than {MAX_DIGITS} digits")
    if isinstance(value, float) and not math.isfinite(value):
        raise ToolError(f"the result of {said} is too large")
    if isinstance(value, Fraction) and _log10(value) >= MAX_DIGITS:
        raise ToolError(f"the result of {said} has more than {MAX_DIGITS} digits")
    return value


_ARITHMETIC = (ast.Add, ast.Sub, ast.Mult, ast.FloorDiv, ast.Mod, ast.USub, ast.UAdd)
"""simpleeval's own operators kept (power and division are ours); comparisons, bit operations
and the rest are left out."""


def shown(value: Number) -> str:
    """``value`` as a person writes it: whole numbers whole, others to 12 significant digits."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        value = int(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Fraction):  # through Decimal: a float would overflow past 1e308
        with decimal.localcontext() as context:
            context.prec = 20
            return format(decimal.Decimal(value.numerator) / value.denominator, ".12g")
    return format(value, ".12g")


def written(expression: str) -> str:
    """``expression`` spaced and in a person's notation: times and divided-by signs, ``^`` for
    powers, ``mod``, and the root sign."""
    spaced = ast.unparse(ast.parse(expression, mode="eval"))
    for python, person in _NOTATION:
        spaced = spaced.replace(python, person)
    return spaced


def _calculate(ctx: ToolContext, args: CalculateArgs) -> str:
    expression = python_expression(args.expression) or expression_in(args.expression)
    if expression is None:
        raise ToolError(
            f"{args.expression!r} is not an arithmetic expression: use numbers, + - * / ** %, parentheses and sqrt()"
        )
    return f"{written(expression)} = {shown(evaluate(expression))}"


CALCULATE_TOOL = ToolSpec(
    "math.calculate",
    "Work out arithmetic: + - * /, powers, percentages, square roots.",
    CalculateArgs,
    _calculate,
    "none",
    memorable=False,
)

__all__ = ["CALCULATE_TOOL", "MAX_DIGITS", "CalculateArgs", "evaluate", "expression_in", "shown", "written"]
