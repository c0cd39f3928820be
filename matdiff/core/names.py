"""Names of the language (SPEC §1–§2): what a name may be, which are reserved,
which read as scalars by default, and how a fresh name is picked."""
from __future__ import annotations

import re
from collections.abc import Iterable

RESERVED_NAMES = {"I": "identity", "eye": "identity"}

NAME = re.compile(r"^[A-Za-z_\u0370-\u03ff][A-Za-z0-9_\u0370-\u03ff]*$")
"""A name of the language (the grammar's NAME terminal)."""

GREEK = ("alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa lambda mu nu "
         "xi omicron pi rho varrho sigma tau upsilon phi varphi chi psi omega").split()
_GREEK = re.compile(r"^(%s)(\d+|_\w*)?$" % "|".join(GREEK))


def is_greek(name: str) -> bool:
    """A Greek name, spelled out or as a lower-case letter, with an optional suffix
    of digits or ``_…`` (``beta2``, ``sigma_1``, ``β``): a scalar by default (SPEC §2)."""
    return bool(_GREEK.match(name)) or "\u03b1" <= name[0] <= "\u03c9"


def fresh_name(taken: Iterable[str], pool: Iterable[str]) -> str:
    """The first name of ``pool`` not in ``taken``, else the first one with a number (u1, u2, …)."""
    taken = set(taken)
    pool = tuple(pool)
    for cand in pool:
        if cand not in taken:
            return cand
    i = 1
    while f"{pool[0]}{i}" in taken:
        i += 1
    return f"{pool[0]}{i}"


__all__ = ["RESERVED_NAMES", "NAME", "GREEK", "is_greek", "fresh_name"]
