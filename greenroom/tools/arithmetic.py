"""Arithmetic, worked out exactly: the ``math.calculate`` tool and how a request is read as a sum.

A 135M model asked "what is 12 times 7?" answers "80". A question that is only
arithmetic is therefore routed to this tool without asking the model (see
``routing.ToolRouter``), and the step's words become its argument: the model is
not asked at all, and the answer is the tool's: 12 times 7 is 84, exactly.

:func:`expression_in` reads a request as an expression only when all of it is
one: a few question words ("what is", "calculate", ...), then numbers, operators
and their words ("times", "divided by", "squared", "15% of", "square root of"),
then nothing but punctuation. "Remind me in 2-3 days" or "list the files from
2024" is no sum. Evaluation is ``simpleeval``'s (a safe evaluator of Python
expressions: no names, attributes or calls but ``sqrt``), with tighter bounds:
a power whose result would have more than :data:`MAX_DIGITS` digits is refused
before it is computed.
"""

from __future__ import annotations

import ast
import math
import re
from typing import Annotated, Any

import msgspec

from greenroom.tools.spec import ToolContext, ToolError, ToolSpec

MAX_EXPRESSION = 200
"""Characters of an expression at most."""
MAX_DIGITS = 1000
"""Digits of a result (or of any power on the way) at most."""

_QUESTION = re.compile(
    r"^(?:(?:please|ok|hey|so)[,\s]+)?(?:(?:can|could) you\s+)?"
    r"(?:what(?:'s|\u2019s| is| does)|whats|how much (?:is|are|does)"
    r"|calculate|compute|evaluate|work out|solve|tell me)?"
    r"\s*(?:the\s+(?:value|result|answer)\s+of\s+)?",
    re.IGNORECASE,
)
_TAIL = re.compile(r"\s*(?:(?:=|equals?|make|come to)\s*)?(?:please)?\s*[?.!]*\s*$", re.IGNORECASE)
_WORDS: tuple[tuple[str, str], ...] = (
    (r"(?:the\s+)?(?:square\s+root|sqrt)\s+of\s+(\(?[\d.]+\)?)", r"sqrt(\1)"),
    (r"\u221a\s*(\(?[\d.]+\)?)", r"sqrt(\1)"),
    (r"(?:%|\s+percent|\s+per\s+cent)\s+of\b", r" / 100 * "),
    (r"(?:%|\s+percent|\s+per\s+cent)(?=\s*(?:[-+*/)]|$))", r" / 100"),
    (r"\b(?:raised\s+)?to\s+the\s+power\s+of\b|\braised\s+to\b|\^", " ** "),
    (r"\bsquared\b", " ** 2"),
    (r"\bcubed\b", " ** 3"),
    (r"\bmultiplied\s+by\b|\btimes\b|\u00d7|\u00b7|(?<=\d)\s*x\s*(?=[\d(])", " * "),
    (r"\bdivided\s+by\b|\bover\b|\u00f7", " / "),
    (r"\bplus\b", " + "),
    (r"\bminus\b|\u2212|\u2013", " - "),
    (r"\bmod(?:ulo)?\b", " % "),
)
_WORD_RES = tuple((re.compile(pattern, re.IGNORECASE), repl) for pattern, repl in _WORDS)
_THOUSANDS = re.compile(r"\b\d{1,3}(?:,\d{3})+(?!\d)")
_ALLOWED = re.compile(r"(?:[\d.\s+\-*/%()]|sqrt)*")
_OPERATOR = re.compile(r"[\d)]\s*(?:\*\*|[-+*/%])|sqrt\(")


class CalculateArgs(msgspec.Struct, forbid_unknown_fields=True):
    expression: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_EXPRESSION)]
    """Numbers and + - * / ^ %, parentheses, sqrt(); words such as "12 times 7" also do."""


def expression_in(text: str) -> str | None:
    """The arithmetic expression ``text`` is (in Python's notation), or None when it is not only that."""
    if len(text) > MAX_EXPRESSION * 2:
        return None
    words = " ".join(text.split())  # single spaces: no run of them for the patterns' \s* to share out
    body = _TAIL.sub("", _QUESTION.sub("", words, count=1), count=1)
    body = _THOUSANDS.sub(lambda m: m.group(0).replace(",", ""), body)
    for pattern, repl in _WORD_RES:
        body = pattern.sub(repl, body)
    expression = " ".join(body.split())
    if not expression or len(expression) > MAX_EXPRESSION or not _ALLOWED.fullmatch(expression):
        return None
    if not _OPERATOR.search(expression):
        return None  # a bare number ("what is 42?") is no sum
    try:
        ast.parse(expression, mode="eval")
    except (SyntaxError, ValueError):
        return None
    return expression


def _power(base: Any, exponent: Any) -> Any:
    if abs(base) > 1 and abs(exponent) * math.log10(abs(base)) > MAX_DIGITS:
        raise ToolError(f"the result of {base} ** {exponent} would have more than {MAX_DIGITS} digits")
    return base**exponent


def _sqrt(x: Any) -> float:
    if x < 0:
        raise ToolError(f"the square root of {x} is not a real number")
    return math.sqrt(x)


def evaluate(expression: str) -> int | float:
    """The value of ``expression`` (as :func:`expression_in` gives it).

    Raises:
        ToolError: not arithmetic, a division by zero, or a result too large, saying which.
    """
    from simpleeval import DEFAULT_OPERATORS, InvalidExpression, SimpleEval

    operators = {op: fn for op, fn in DEFAULT_OPERATORS.items() if op in _ARITHMETIC}
    operators[ast.Pow] = _power
    evaluator = SimpleEval(operators=operators, functions={"sqrt": _sqrt}, names={})
    try:
        value = evaluator.eval(expression)
    except ZeroDivisionError:
        raise ToolError(f"{expression} divides by zero") from None
    except OverflowError:
        raise ToolError(f"the result of {expression} is too large") from None
    except (InvalidExpression, SyntaxError, TypeError, ValueError) as exc:
        raise ToolError(f"{expression!r} is not arithmetic this tool can work out: {exc}") from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ToolError(f"{expression!r} is not arithmetic this tool can work out")
    if isinstance(value, float) and not math.isfinite(value):
        raise ToolError(f"the result of {expression} is too large")
    if isinstance(value, int) and value.bit_length() > MAX_DIGITS * 3.33:
        raise ToolError(f"the result of {expression} has more than {MAX_DIGITS} digits")
    return value


_ARITHMETIC = {ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.USub, ast.UAdd}


def shown(value: int | float) -> str:
    """``value`` as a person writes it: whole numbers whole, others to 12 significant digits."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        value = int(value)
    return str(value) if isinstance(value, int) else format(value, ".12g")


def written(expression: str) -> str:
    """``expression`` spaced and in a person's notation: times and divided-by signs, ``^`` for
    powers, ``mod``, and the root sign."""
    spaced = ast.unparse(ast.parse(expression, mode="eval"))
    for python, person in _NOTATION:
        spaced = spaced.replace(python, person)
    return spaced


_NOTATION = (
    (" ** ", "^"),
    (" * ", " \u00d7 "),
    (" / ", " \u00f7 "),
    (" // ", " div "),
    (" % ", " mod "),
    ("sqrt(", "\u221a("),
)


def _calculate(ctx: ToolContext, args: CalculateArgs) -> str:
    expression = expression_in(args.expression)
    if expression is None:
        raise ToolError(
            f"{args.expression!r} is not an arithmetic expression: use numbers, + - * / ^ %, parentheses and sqrt()"
        )
    return f"{written(expression)} = {shown(evaluate(expression))}"


CALCULATE_TOOL = ToolSpec(
    "math.calculate",
    "Work out arithmetic exactly: + - * /, powers, percentages, square roots.",
    CalculateArgs,
    _calculate,
    "none",
    memorable=False,
)

__all__ = ["CALCULATE_TOOL", "CalculateArgs", "evaluate", "expression_in", "shown", "written"]
