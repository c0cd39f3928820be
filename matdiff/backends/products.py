"""Products with a direction, evaluated without forming the matrix: H v.

H v is the differential of the gradient with dX replaced by the direction
(:func:`matdiff.calculus.secondorder.hvp_expr`), evaluated by NumPy."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..calculus.secondorder import hvp_expr
from ..errors import UsageError
from ..present.printing import to_text
from . import evaluate as numeric


def hvp(result: Any) -> Callable[..., Any]:
    """A NumPy function ``f(v, **values)`` computing H v without forming H.

    ``v`` has the variable's layout (1-D for a vector, 2-D for a matrix, a
    float for a scalar); for a matrix variable it may also be vec of the
    direction (column-major, length l·n), and the answer comes back in the
    layout given.  For a symmetric variable H = P H₀ P, so v is first
    projected onto the symmetric matrices.  ``f.expr`` is the closed form of
    H v in the direction ``f.direction``."""
    expr, V = hvp_expr(result)
    var = result.variable
    symbols = dict(result.symbols)
    symbols[V.name] = V
    inner = numeric.lambdify(expr, symbols)

    def f(v, /, **values):
        values = numeric.keyword_spellings(values, symbols)
        if V.name in values:
            raise UsageError(f"'{V.name}' names the direction of the product; pass it as the first argument")
        if var.name not in values:
            raise UsageError(f"missing a value for '{var.name}', the point where H is taken")
        x = np.asarray(values[var.name], dtype=float)
        if var.is_scalar:
            return inner(**values, **{V.name: float(np.asarray(v, dtype=float).reshape(-1)[0])})
        a = np.asarray(v, dtype=float)
        if var.is_vector:
            if a.size != x.size:
                raise UsageError(f"the direction has {a.size} entries, the variable '{var.name}' {x.size}")
            out = inner(**values, **{V.name: a.reshape(-1)})
            return np.asarray(out).reshape(a.shape)
        if a.shape == x.shape:
            d, flat = a, False
        elif a.ndim == 1 and a.size == x.size or a.shape == (x.size, 1):
            d, flat = a.reshape(x.shape, order="F"), True
        else:
            raise UsageError(f"the direction must have the shape of '{var.name}' {x.shape} or be its vec "
                             f"({x.size} entries), got {a.shape}")
        if var.symmetric:
            d = (d + d.T) / 2
        out = np.asarray(inner(**values, **{V.name: d}))
        return out.reshape(-1, order="F").reshape(a.shape) if flat else out

    f.expr = expr  # type: ignore[attr-defined]
    f.direction = V  # type: ignore[attr-defined]
    f.__doc__ = (f"H v for the Hessian of {result.input} with respect to {var.name}: "
                 f"{to_text(expr)}  (direction {V.name})")
    return f
