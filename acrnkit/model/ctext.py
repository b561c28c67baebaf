"""How acrn-dm's C reads text: ``isspace``, ``strtol``/``strtoul`` prefixes, ``:``-split fields.

String code rather than regular expressions, so that the checker's usual path never imports
``re`` (a third of the fake acrn-dm's start-up budget). The C library is ASCII-only here: its
``isspace`` is `` \\t\\n\\v\\f\\r`` and its digits are ``0-9``, unlike Python's ``\\s``/``\\d``.
"""

from __future__ import annotations

C_SPACE = " \t\n\v\f\r"
DECIMAL = "0123456789"
_DIGITS = {8: "01234567", 10: DECIMAL, 16: "0123456789abcdefABCDEF"}


def skip_space(text: str, at: int = 0) -> int:
    """The index of the first character at or after ``at`` that C's ``isspace`` rejects."""
    n = len(text)
    while at < n and text[at] in C_SPACE:
        at += 1
    return at


def number_prefix(text: str, base: int = 0, *, signed: bool = True) -> tuple[int, int] | None:
    """``strtol(text, &end, base)`` for base 0, 8, 10 or 16: ``(value, end)``, or None when no
    digit is read. Leading C whitespace is skipped; a sign is read when ``signed``; base 0 (and
    16) take ``0x`` only when a hex digit follows, as glibc does; base 0 reads ``0...`` as octal.
    The value is not wrapped or clamped: callers apply their C type's rules."""
    n = len(text)
    at = skip_space(text)
    negative = False
    if signed and at < n and text[at] in "+-":
        negative = text[at] == "-"
        at += 1
    if base in (0, 16) and text.startswith(("0x", "0X"), at) and at + 2 < n \
            and text[at + 2] in _DIGITS[16]:
        at += 2
        base = 16
    elif base == 0:
        base = 8 if text.startswith("0", at) else 10
    digits = _DIGITS[base]
    end = at
    while end < n and text[end] in digits:
        end += 1
    if end == at:
        return None
    value = int(text[at:end], base)
    return (-value if negative else value), end


def is_decimal(text: str) -> bool:
    """``text`` is one or more ASCII digits (a regex ``[0-9]+`` full match)."""
    return text != "" and text.strip(DECIMAL) == ""


def split_any(text: str, separators: str) -> list[str]:
    """``text`` split at every character in ``separators`` (``re.split("[...]")``)."""
    first = separators[0]
    for sep in separators[1:]:
        text = text.replace(sep, first)
    return text.split(first)


def find_any(text: str, chars: str) -> int:
    """The index of the first character of ``text`` in ``chars``, or -1."""
    for at, char in enumerate(text):
        if char in chars:
            return at
    return -1
