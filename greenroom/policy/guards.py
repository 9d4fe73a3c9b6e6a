"""Guards: prompt-injection phrases in tool outputs, and secrets that must never be stored.

Injection: a tool output containing phrases that try to steer the model
("ignore previous instructions", "you are no longer", ...) flags the task;
for the rest of it, calls with side effects always ask.

Secrets: API keys, tokens, private keys and credentials inside URLs are
replaced by ``[REDACTED:kind]`` in tool outputs before the model, memory or
the journal sees them; ``SecretMasker`` is a last line of defence the bus
applies to every event before it is journaled, on its decoded string values
(never on encoded bytes, which a match could run across and corrupt). The bus
walks only the events whose bytes hold one of ``MARKERS``: literal pieces
that every match contains, so an event without one cannot hold a secret.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Collection

from ahocorasick_rs import BytesAhoCorasick, Implementation

INJECTION_PHRASES = (
    "ignore previous",
    "ignore all previous",
    "ignore the above",
    "disregard previous",
    "disregard all previous",
    "forget your instructions",
    "show system prompt",
    "show your system prompt",
    "reveal your system prompt",
    "print your system prompt",
    "reveal context",
    "reveal your instructions",
    "you are no longer",
    "you are now",
    "developer mode",
    "jailbreak",
    "new instructions:",
    "send your api key",
    "exfiltrate",
)

_WS = re.compile(r"\s+")

_KEYWORDS = ("password", "passwd", "secret", "api_key", "apikey", "token")
"""Words that name a secret when a ``:`` or ``=`` follows (``token=...``, ``"password": "..."``)."""

# The characters Python's case-insensitive matching takes for a lower-case ASCII letter
# beyond its upper case; ASCII upper case needs no spelling (the scans lower-case ASCII).
_FOLDS = {"i": ("\u0130", "\u0131"), "k": ("\u212a",), "s": ("\u017f",)}

_WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + "\u2028\u2029\u202f\u205f\u3000"
)
"""Every character ``\\s`` matches in a ``str`` pattern (a test checks the list against ``re``)."""


def _spellings(word: str) -> list[str]:
    """Every spelling of ``word`` that ``re.IGNORECASE`` matches, in lower case (U+017F for ``s``, ...)."""
    options = [sorted({c, *(o for o in _FOLDS.get(c, ()))}) for c in word]
    return ["".join(p) for p in itertools.product(*options)]


# What follows a keyword in a match: the regex's optional quote, optional whitespace,
# then ``:`` or ``=``. Requiring it keeps field names such as ``prompt_tokens`` from
# flagging every event that has one.
_KEYWORD_MARKERS = tuple(s + after for word in _KEYWORDS for s in _spellings(word) for after in "\"':=" + _WHITESPACE)

_SECRET_PATTERNS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("private-key", r"-----BEGIN (?:[A-Z0-9]+ )?PRIVATE KEY-----[\s\S]*?-----END (?:[A-Z0-9]+ )?PRIVATE KEY-----",
     ("private key",)),
    ("aws-access-key", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b", ("akia", "asia")),
    ("github-token", r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36,}\b|\bgithub_pat_[A-Za-z0-9_]{50,}\b",
     ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_")),
    ("openai-key", r"\bsk-(?:proj-)?[A-Za-z0-9_-]{20,}\b", ("sk-",)),
    ("anthropic-key", r"\bsk-ant-[A-Za-z0-9_-]{20,}\b", ("sk-",)),
    ("slack-token", r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b", ("xox",)),
    ("google-api-key", r"\bAIza[0-9A-Za-z_-]{35}\b", ("aiza",)),
    ("stripe-key", r"\b[sr]k_(?:live|test)_[0-9A-Za-z]{16,}\b", ("k_live_", "k_test_")),
    ("jwt", r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\b", ("eyj",)),
    ("url-credentials", r"://(?P<s>[^/\s:@]+:[^/\s@]+)@", ("://",)),
    ("password", rf"(?i:{'|'.join(_KEYWORDS)})[\"']?\s?[:=]\s?[\"']?(?!\[REDACTED:)(?P<s>[^\s\"',;]{{6,}})",
     _KEYWORD_MARKERS),
)  # fmt: skip
"""(kind, regex, markers): where the regex has a group ``s``, only that part is the secret.
Every match holds one of its markers, ASCII case ignored (a test checks this property)."""

_SECRETS = [(kind, re.compile(pattern)) for kind, pattern, _markers in _SECRET_PATTERNS]

MARKERS: tuple[bytes, ...] = tuple(dict.fromkeys(m.encode() for *_, markers in _SECRET_PATTERNS for m in markers))
"""Byte strings, one of which (ASCII case ignored) the UTF-8 form of any text a secret pattern matches holds.

Lower-case ASCII apart from the non-ASCII letters that case-insensitive matching
equates with an ASCII one. The bus looks for them in encoded events
(``greenroom.bus.MarkerScan``) before it walks any event's strings.
"""

_MARKER_KINDS = [{kind for kind, _p, markers in _SECRET_PATTERNS if m.decode() in markers} for m in MARKERS]
_SCAN = BytesAhoCorasick(list(MARKERS), implementation=Implementation.DFA)


def _span(m: re.Match[str]) -> tuple[int, int]:
    return m.span("s") if "s" in m.re.groupindex else m.span()


def kinds_marked(text: str) -> set[str]:
    """The kinds of secret ``text`` may hold: those whose markers it holds (one pass for all)."""
    found = _SCAN.find_matches_as_indexes(text.encode("utf-8", "surrogatepass").lower(), overlapping=True)
    return {kind for index, _start, _end in found for kind in _MARKER_KINDS[index]}


def find_injection(text: str) -> str | None:
    """The first injection phrase in ``text`` (case and spacing ignored), or None."""
    flat = _WS.sub(" ", text.lower())
    for phrase in INJECTION_PHRASES:
        if phrase in flat:
            return phrase
    return None


def redact(text: str, kinds: Collection[str] | None = None) -> tuple[str, list[str]]:
    """``text`` with secrets replaced by ``[REDACTED:kind]``, and the kinds found.

    Args:
        text: any text.
        kinds: look only for these kinds of secret (default: all).
    """
    found: list[str] = []
    for kind, pattern in _SECRETS:
        if kinds is not None and kind not in kinds:
            continue
        pieces: list[str] = []
        last = 0
        for m in pattern.finditer(text):
            start, end = _span(m)
            pieces += [text[last:start], f"[REDACTED:{kind}]"]
            last = end
        if pieces:
            found.append(kind)
            text = "".join(pieces) + text[last:]
    return text, found


class SecretMasker:
    """The bus's masker (``greenroom.bus.Masker``): secrets in any string of any event are redacted."""

    markers = MARKERS

    def __call__(self, text: str) -> str:
        kinds = kinds_marked(text)
        return redact(text, kinds)[0] if kinds else text
