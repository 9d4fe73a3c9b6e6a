"""Guards: prompt-injection phrases in tool outputs, and secrets that must never be stored.

Injection: a tool output containing phrases that try to steer the model
("ignore previous instructions", "you are no longer", ...) flags the task;
for the rest of it, calls with side effects always ask.

Secrets: API keys, tokens, private keys and credentials inside URLs are
replaced by ``[REDACTED:kind]`` in tool outputs before the model, memory or
the journal sees them; ``SecretMasker`` is a last line of defence the bus
applies to every event before it is journaled, on its decoded string values
(never on encoded bytes, which a match could run across and corrupt).
"""

from __future__ import annotations

import re

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

_SECRET_PATTERNS: tuple[tuple[str, str], ...] = (
    ("private-key", r"-----BEGIN (?:[A-Z0-9]+ )?PRIVATE KEY-----[\s\S]*?-----END (?:[A-Z0-9]+ )?PRIVATE KEY-----"),
    ("aws-access-key", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    ("github-token", r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36,}\b|\bgithub_pat_[A-Za-z0-9_]{50,}\b"),
    ("openai-key", r"\bsk-(?:proj-)?[A-Za-z0-9_-]{20,}\b"),
    ("anthropic-key", r"\bsk-ant-[A-Za-z0-9_-]{20,}\b"),
    ("slack-token", r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b"),
    ("google-api-key", r"\bAIza[0-9A-Za-z_-]{35}\b"),
    ("stripe-key", r"\b[sr]k_(?:live|test)_[0-9A-Za-z]{16,}\b"),
    ("jwt", r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\b"),
    ("url-credentials", r"://(?P<s>[^/\s:@]+:[^/\s@]+)@"),
    (
        "password",
        r"(?i:password|passwd|secret|api_key|apikey|token)[\"']?\s?[:=]\s?[\"']?(?!\[REDACTED:)(?P<s>[^\s\"',;]{6,})",
    ),
)
"""(kind, regex); where the regex has a group ``s``, only that part is the secret."""

_SECRETS = [(kind, re.compile(pattern)) for kind, pattern in _SECRET_PATTERNS]


def _span(m: re.Match[str]) -> tuple[int, int]:
    return m.span("s") if "s" in m.re.groupindex else m.span()


def find_injection(text: str) -> str | None:
    """The first injection phrase in ``text`` (case and spacing ignored), or None."""
    flat = _WS.sub(" ", text.lower())
    for phrase in INJECTION_PHRASES:
        if phrase in flat:
            return phrase
    return None


def redact(text: str) -> tuple[str, list[str]]:
    """``text`` with secrets replaced by ``[REDACTED:kind]``, and the kinds found."""
    found: list[str] = []
    for kind, pattern in _SECRETS:
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


# Literal pieces, one of which every secret pattern above contains (lower-cased): checking
# them with ``in`` costs well under a microsecond, so the regex only runs on candidates.
_MARKERS = (
    b"private key", b"akia", b"asia", b"ghp_", b"gho_", b"ghu_", b"ghs_", b"ghr_", b"github_pat_", b"sk-",
    b"k_live_", b"k_test_", b"xox", b"aiza", b"eyj", b"://",
    b"password", b"passwd", b"secret", b"api_key", b"apikey", b"token",
)  # fmt: skip


_TEXT_MARKERS = tuple(m.decode() for m in _MARKERS)


def _may_hold_secret(data: bytes) -> bool:
    lowered = data.lower()
    return any(marker in lowered for marker in _MARKERS)


class SecretMasker:
    """The bus's masker (``greenroom.bus.Masker``): secrets in any string of any event are redacted."""

    markers = _MARKERS

    def candidates(self, data: bytes) -> bool:
        return _may_hold_secret(data)

    def __call__(self, text: str) -> str:
        lowered = text.lower()
        if not any(marker in lowered for marker in _TEXT_MARKERS):
            return text
        return redact(text)[0]
