"""matdiff: closed-form derivatives of matrix expressions, by differentials.

    >>> import matdiff
    >>> print(matdiff.diff("beta*sum(abs(X'X - I))", "X"))
    2*beta*X*sign(X'X - I)
"""
from __future__ import annotations

import sys

from .api import Parsed, Result, diff, lambdify, parse
from .errors import MatdiffError, ParseError, ShapeError, UnknownNameError, UnsupportedError, UsageError



def from_sympy(expr, types=None) -> Parsed:
    """A SymPy matrix expression (MatrixSymbol, MatMul, Trace, …) as a matdiff expression."""
    from .sympy_interop import from_sympy as convert

    return convert(expr, types)


def diff_sympy(expr, wrt, order: int = 1, types=None) -> Result:
    """Differentiate a SymPy matrix expression with respect to a MatrixSymbol or Symbol."""
    from .sympy_interop import diff_sympy as derive

    return derive(expr, wrt, order=order, types=types)


# deep expressions recurse deeply in the printers and the simplifier
if sys.getrecursionlimit() < 20000:
    sys.setrecursionlimit(20000)

__version__ = "0.1.0"
__all__ = ["diff", "parse", "lambdify", "from_sympy", "diff_sympy", "Result", "Parsed", "MatdiffError", "ParseError", "ShapeError",
           "UnknownNameError", "UnsupportedError", "UsageError", "__version__"]
