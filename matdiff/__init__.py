"""matdiff: closed-form derivatives of matrix expressions, by differentials.

    >>> import matdiff
    >>> print(matdiff.diff("beta*sum(abs(X'X - I))", "X"))
    2*beta*X*sign(X'X - I)
"""
from __future__ import annotations

import sys

from .api import Parsed, Result, Results, check, diff, diff_sympy, from_sympy, lambdify, parse
from .errors import (InternalError, MatdiffError, ParseError, ShapeError, UndefinedError, UnknownNameError,
                     UnsupportedError, UsageError)

# deep expressions recurse deeply in the printers and the simplifier
if sys.getrecursionlimit() < 20000:
    sys.setrecursionlimit(20000)

__version__ = "0.1.0"
__all__ = ["diff", "check", "parse", "lambdify", "from_sympy", "diff_sympy", "Result", "Results", "Parsed", "MatdiffError", "InternalError", "ParseError", "ShapeError",
           "UndefinedError", "UnknownNameError", "UnsupportedError", "UsageError", "__version__"]
