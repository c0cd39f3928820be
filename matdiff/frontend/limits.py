"""The sizes of input matdiff reads, checked before parsing so that no input can
take time or memory beyond a bound: each limit is generous for mathematics
typed or generated, and passing one is a clear error with a caret."""
from __future__ import annotations

from ..errors import ParseError, UsageError

MAX_INPUT = 100_000
"""Characters of an expression or program (a 10,000-term sum is 60,000)."""

MAX_NAME = 256
"""Characters of one name (a variable, a declared name, an index)."""

MAX_DIGITS = 200
"""Digits of a number literal, before its exponent (a float has 17 significant digits)."""

MAX_EXPONENT = 1000
"""Of a number literal: 1e-1000 … 1e1000 (exact beyond what a float holds).  With
:data:`MAX_DIGITS`, the numerator and denominator of a literal have at most 1200
digits: every literal lies inside the range of exact numbers (:mod:`matdiff.core.exact`)."""


def shortened(s: str, keep: int = 12) -> str:
    """``s`` with its middle elided when it is long, to quote it in a message."""
    return s if len(s) <= 2 * keep + 1 else f"{s[:keep]}…{s[-keep:]}"


def check_input_size(text: str) -> None:
    """Refuse an expression longer than :data:`MAX_INPUT`, pointing at the first character past it."""
    if len(text) > MAX_INPUT:
        raise ParseError(f"the expression is {len(text):,} characters long; matdiff reads at most "
                         f"{MAX_INPUT:,}", text, MAX_INPUT + 1, len(text) - MAX_INPUT)


def name_too_long(name: str) -> str | None:
    """The message for a name longer than :data:`MAX_NAME`, or None."""
    if len(name) <= MAX_NAME:
        return None
    return f"the name '{shortened(name)}' is {len(name):,} characters long; a name has at most {MAX_NAME}"


def check_name_length(name: str) -> None:
    """Refuse, as a usage error, a name passed to the API (variable, declaration) that is too long."""
    message = name_too_long(name)
    if message:
        raise UsageError(message)
