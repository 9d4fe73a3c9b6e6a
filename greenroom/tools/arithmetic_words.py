"""How a request is read as a sum: "what is 12 times 7?" is ``12 * 7``; "list 5 files" is none.

:func:`expression_in` reads a request as an expression only when all of it is
one: a few question words ("what is", "calculate", ...), then numbers, operators
and their words ("times", "divided by", "squared", "15% of", "square root of"),
then nothing but punctuation. The result must parse as Python and hold nothing
but numbers, the arithmetic operators and ``sqrt(...)`` (:func:`is_arithmetic`).

Not read as sums, because people mean something else by them: three numbers
joined by ``-`` or ``/`` without spaces (a date, a phone number), a bare
fraction such as ``9/11``, ``24/7`` or ``50/50`` (say "9 divided by 11"), ``0x``
numbers, and a percentage added or taken off inside a longer sum. Such a request
goes to the model as any other question. Numbers in words ("twelve times seven")
are read as digits first (``text2num``, a maintained parser of numbers written in
words, where hand-written rules would miss "one hundred and five").

Calculator conventions where Python's differ: "-5 squared" is 25, and "100 - 20%"
is 80 (a percentage added to or taken off a number is that share of it).
"""

from __future__ import annotations

import ast
import re

MAX_EXPRESSION = 200
"""Characters of an expression at most."""

_QUESTION = re.compile(
    r"^(?:(?:please|ok|hey|so)[,\s]+)?(?:(?:can|could) you\s+)?"
    r"(?:what(?:'s|\u2019s| is| does)|whats|how much (?:is|are|does)"
    r"|calculate|compute|evaluate|work out|solve|tell me)?"
    r"\s*(?:the\s+(?:value|result|answer)\s+of\s+)?",
    re.IGNORECASE,
)
_TAIL = re.compile(r"\s*(?:(?:=|equals?|make|come to)\s*)?(?:please)?\s*[?.!]*\s*$", re.IGNORECASE)
_PERCENT = r"(?:%|\s*percent|\s*per\s+cent)"
_NUMBER = r"\d+(?:\.\d+)?"
_WORDS: tuple[tuple[str, str], ...] = (
    (rf"(?:the\s+)?(?:square\s+root|sqrt)\s+of\s+({_NUMBER}(?:/{_NUMBER})?|\([^()]*\))", r"sqrt(\1)"),
    (rf"\u221a\s*({_NUMBER}|\([^()]*\))", r"sqrt(\1)"),
    (rf"{_PERCENT}\s+of\b", r" / 100 * "),
    (rf"{_PERCENT}(?=\s*(?:[-+*/)]|$))", r" / 100"),
    (r"\b(?:raised\s+)?to\s+the\s+power\s+of\b|\braised\s+to\b|\^", " ** "),
    (rf"(?<![\d)])(?<![\d)] )(-{_NUMBER}) (squared|cubed)\b", r"(\1) \2"),  # -5 squared is 25
    (r"\bsquared\b", " ** 2"),
    (r"\bcubed\b", " ** 3"),
    (r"\bmultiplied\s+by\b|\btimes\b|\u00d7|\u00b7|(?<=\d)(?<!\b0)\s*x\s*(?=[\d(])", " * "),
    (r"\bdivided\s+by\b|\bover\b|\u00f7", " / "),
    (r"\bplus\b", " + "),
    (r"\bminus\b|\u2212|\u2013", " - "),
    (r"\bmod(?:ulo)?\b", " % "),
)
_WORD_RES = tuple((re.compile(pattern, re.IGNORECASE), repl) for pattern, repl in _WORDS)
_THOUSANDS = re.compile(r"\b\d{1,3}(?:,\d{3})+(?!\d)")
_SHARE_OF = re.compile(rf"^({_NUMBER}) ?(\+|-|plus|minus) ?({_NUMBER}){_PERCENT}$", re.IGNORECASE)
_NOT_A_SUM = (
    re.compile(r"\d+[-/]\d+[-/]\d+"),  # 12/25/2024, 2024-12-25, 555-123-4567
    re.compile(r"^\d+/\d+$"),  # 9/11, 24/7, 50/50: names more often than sums
    re.compile(rf"(?:[-+]|\bplus|\bminus) ?{_NUMBER}{_PERCENT}(?! ?of\b)", re.IGNORECASE),  # 50 + 10% + 3
)
_ALLOWED = re.compile(r"(?:[\d.\s+\-*/%()]|sqrt)*")
_OPERATOR = re.compile(r"[\d)]\s*(?:\*\*|[-+*/%])|sqrt\(")
_OPERATORS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.USub, ast.UAdd)


def expression_in(text: str) -> str | None:
    """The arithmetic expression ``text`` is (in Python's notation), or None when it is not only that."""
    if len(text) > MAX_EXPRESSION * 2:
        return None
    words = " ".join(_digits(text).split())  # single spaces: no run of them for the patterns' \s* to share out
    body = _TAIL.sub("", _QUESTION.sub("", words, count=1), count=1)
    body = _THOUSANDS.sub(lambda m: m.group(0).replace(",", ""), body)
    share = _SHARE_OF.match(body)
    if share:
        a, op, b = share.groups()
        return f"{a} * (1 {'+' if op.lower() in ('+', 'plus') else '-'} {b} / 100)"
    if any(pattern.search(body) for pattern in _NOT_A_SUM):
        return None
    for pattern, repl in _WORD_RES:
        body = pattern.sub(repl, body)
    expression = " ".join(body.split())
    if not _OPERATOR.search(expression) or _NOT_A_SUM[1].match(expression):
        return None  # a bare number ("what is 42?") is no sum
    return python_expression(expression)


def _digits(text: str) -> str:
    """``text`` with numbers in words as digits ("twelve times seven": 12 times 7), by text2num."""
    from text_to_num import alpha2digit

    try:
        return str(alpha2digit(text, "en", threshold=0))  # threshold 0: "two plus two" too
    except Exception:  # text it cannot encode (a lone surrogate) is read as it is
        return text


def python_expression(text: str) -> str | None:
    """``text`` (stripped) when it already is arithmetic in Python's notation (``12 * 7``), else None."""
    expression = text.strip()
    if not expression or len(expression) > MAX_EXPRESSION or not _ALLOWED.fullmatch(expression):
        return None
    return expression if is_arithmetic(expression) else None


def is_arithmetic(expression: str) -> bool:
    """``expression`` parses as Python and holds only numbers, arithmetic operators and ``sqrt(x)``:
    not ``2(3+4)`` (a call of a number), nor anything else an evaluator would have to refuse."""
    try:
        tree = ast.parse(expression, mode="eval")
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return False
    called: set[int] = set()  # the sqrt names that are called: no other name is allowed
    for node in ast.walk(tree):
        match node:
            case ast.Expression() | ast.BinOp() | ast.UnaryOp() | ast.Load():
                pass
            case ast.Constant(value=value) if type(value) in (int, float):
                pass
            case ast.Call(func=ast.Name(id="sqrt") as name, args=[_], keywords=[]):
                called.add(id(name))
            case ast.Name() if id(node) in called:
                pass
            case _ if isinstance(node, _OPERATORS):
                pass
            case _:
                return False
    return True


__all__ = ["MAX_EXPRESSION", "expression_in", "is_arithmetic", "python_expression"]
