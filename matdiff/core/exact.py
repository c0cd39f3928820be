"""Bounds on exact arithmetic: the rational numbers matdiff folds stay printable and cheap.

An exact number is kept only while its numerator and denominator have at most
``RANGE_BITS`` bits (about 10^1233: every literal of the language, whose exponent is
at most 1000, fits, and its decimal digits stay far below Python's 4,300-digit
limit on printing integers).  A power bᵖ of numbers is folded into one number only
while the result has at most ``FOLD_BITS`` bits (about 10^308, the float range);
beyond that it stays the power the user wrote (``2^100000``).  Any other arithmetic
whose exact result would leave the range — a product 10^1000 · 10^1000, a power
of a power — is refused with a clear error, never carried out.
"""
from __future__ import annotations

import math
from fractions import Fraction

from ..errors import UnsupportedError

RANGE_BITS = 4096
"""The largest numerator or denominator, in bits, of an exact number matdiff keeps."""

FOLD_BITS = 1024
"""The largest numerator or denominator, in bits, of a folded power bᵖ; larger ones stay bᵖ."""


def bits(v: Fraction) -> int:
    """The size of v: the larger bit length of its numerator and denominator."""
    return max(abs(v.numerator).bit_length(), v.denominator.bit_length())


def in_range(v: Fraction) -> bool:
    return bits(v) <= RANGE_BITS


def checked(v: Fraction) -> Fraction:
    """v itself, or a clear error when it lies beyond the range of exact numbers."""
    if not in_range(v):
        digits = int(bits(v) * 0.30103)
        raise UnsupportedError(f"an exact number of about {digits} digits would arise here; matdiff keeps "
                               f"exact numbers below 10^{int(RANGE_BITS * 0.30103)} (write the factor as a power, "
                               "like 10^2000, to keep it symbolic)")
    return v


def power_fits(b: Fraction, p: int) -> bool:
    """Whether bᵖ (integer p) folds into a number of at most FOLD_BITS bits: decided from
    the sizes, before anything is computed."""
    if b == 0 or abs(b) == 1:
        return True
    if abs(p) > FOLD_BITS:  # |b| ≠ 1 has at least a bit: |p| bits at least
        return False
    size = max(math.log2(abs(b.numerator)), math.log2(b.denominator))
    return abs(p) * size <= FOLD_BITS
