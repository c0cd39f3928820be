"""The functions of the language (SPEC §1) and what kind each one is.

The derivative of each lives in :mod:`matdiff.rules`; the NumPy meaning in
:mod:`matdiff.numeric`; this module only says what a name is."""
from __future__ import annotations

import re

ELEMENTWISE = ("abs", "sign", "exp", "log", "sqrt", "sin", "cos", "tan", "arcsin", "arccos",
               "arctan", "tanh", "sigmoid", "relu", "step")
"""f(A) applied entry by entry; ``step`` (Heaviside, step(0) = 0) is relu′."""

MATRIX = ("tr", "det", "logdet", "inv", "diag", "vec")
REDUCTIONS = ("sum", "norm2", "norm1")
VECTOR = ("softmax", "logsumexp")
CONSTRUCTORS = ("vector", "matrix")
BINARY = ("kron",)

FUNCTIONS = ELEMENTWISE + MATRIX + REDUCTIONS + VECTOR + CONSTRUCTORS + BINARY
"""Every name that may be called: ``name(arg)``."""

INTERNAL = {"diagm": "diag", "diagv": "diag"}
"""Internal names printed as a language name: diag of a vector (a diagonal
matrix) and diag of a matrix (the vector of its diagonal)."""

KINKED = {"abs": "abs′ = sign", "sign": "sign′ = 0", "relu": "relu′ = step (step(0) = 0)",
          "step": "step′ = 0", "norm1": "norm1′ = sign"}
"""Functions not differentiable at 0: derivatives there are subgradients."""

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

ALIASES = {"trace": "tr", "transpose": "'", "determinant": "det", "inverse": "inv",
           "norm": "norm2", "frobenius": "norm2", "max": "relu", "logistic": "sigmoid",
           "expit": "sigmoid", "lse": "logsumexp", "ln": "log", "heaviside": "step"}
"""Common names from other systems, mapped to the nearest function here."""


def nearest_function(name: str) -> str | None:
    """The known function nearest to ``name`` (edit distance ≤ 2, or an alias)."""
    if name.lower() in ALIASES:
        return ALIASES[name.lower()]
    best, best_d = None, 3
    for f in FUNCTIONS:
        d = _edit_distance(name.lower(), f)
        if d < best_d:
            best, best_d = f, d
    return best if best_d <= (1 if len(name) <= 3 else 2) else None


def _edit_distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]
