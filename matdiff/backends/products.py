"""Products with a direction, evaluated without forming the matrix: H v, J v, uᵀ J.

H v is the differential of the gradient with dX replaced by the direction
(:func:`matdiff.calculus.secondorder.hvp_expr`); J v the differential of F
with dX := v and uᵀ J the gradient of ⟨u, F⟩
(:mod:`matdiff.calculus.directional`); each evaluated by NumPy or written
as code with the direction as first argument."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..calculus.directional import apply_right, jvp_expr, vjp_expr
from ..calculus.secondorder import hvp_expr
from ..core.nodes import Expr, Sym
from ..errors import UsageError
from ..present.printing import to_text
from . import evaluate as numeric
from .codegen import to_code


def hvp(result: Any) -> Callable[..., Any]:
    """A NumPy function ``f(v, **values)`` computing H v without forming H.

    ``v`` has the variable's layout (1-D for a vector, 2-D for a matrix, a
    float for a scalar); for a matrix variable it may also be vec of the
    direction (column-major, length l·n), and the answer comes back in the
    layout given.  For a symmetric variable H = P H₀ P, so v is first
    projected onto the symmetric matrices.  ``f.expr`` is the closed form of
    H v in the direction ``f.direction``."""
    expr, V = hvp_expr(result)
    expr = apply_right(expr, V.name)
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
        x = numeric.float_array(values[var.name], f"'{var.name}'")
        if var.is_scalar:
            return inner(**values, **{V.name: float(numeric.float_array(v, "the direction").reshape(-1)[0])})
        a = numeric.float_array(v, "the direction")
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


# -- J v and uᵀ J ------------------------------------------------------------------------
def _as_direction(a, sym, what: str):
    """A direction for ``sym`` as the evaluator takes it: a float, a 1-D vector, or a matrix
    (a matrix may also come as its vec); returns (value, reshape back to the layout given)."""
    if sym.is_scalar:
        return float(numeric.float_array(a, what).reshape(-1)[0]), None
    a = numeric.float_array(a, what)
    if sym.is_vector or sym.is_row:
        return a.reshape(-1), a.shape
    if a.ndim == 2:
        return a, None
    if a.ndim == 1:  # vec of the matrix: its shape comes from the other arguments
        return a, "vec"
    raise UsageError(f"{what} must be a matrix (2-D) or its vec (1-D), got shape {a.shape}")


def _product(result: Any, kind: str) -> Callable[..., Any]:
    """``f(direction, **values)`` for J v (kind 'jvp') or uᵀ J (kind 'vjp')."""
    var, F = result.variable, result.function
    if result.order != 1:
        raise UsageError(f"{kind}() is the product with the first derivative ∂F/∂{var.name}: take it from "
                         f"diff(expr, '{var.name}'); for the Hessian use hvp()")
    if kind == "jvp":
        expr, D = jvp_expr(F, var, set(result.symbols))
    else:
        expr, D = vjp_expr(F, var, set(result.symbols))
    symbols = dict(result.symbols)
    symbols[D.name] = D
    inner = numeric.lambdify(expr, symbols)
    what = "the direction v" if kind == "jvp" else "the cotangent u"

    def f(d, /, **values):
        if D.name in values:
            raise UsageError(f"'{D.name}' names the direction of the product; pass it as the first argument")
        value, back = _as_direction(d, D, what)
        if back == "vec":  # vec of a matrix direction: unvec by the shape fixed by the other arguments
            _, dims = numeric.bind(result.symbols, values)
            rows, cols = (numeric.dim_value(x, dims) for x in D.shape)
            if value.size != rows * cols:
                raise UsageError(f"{what} has {value.size} entries, '{D.name}' needs {rows}×{cols}")
            value = value.reshape((rows, cols), order="F")
        if D.symmetric:
            value = (value + value.T) / 2
        return inner(**values, **{D.name: value})

    f.expr = expr  # type: ignore[attr-defined]
    f.direction = D  # type: ignore[attr-defined]
    name = "J v" if kind == "jvp" else "u' J"
    f.__doc__ = (f"{name} for the Jacobian of {result.input} with respect to {var.name}, without forming J: "
                 f"{to_text(expr)}  (direction {D.name})")
    return f


def jvp(result: Any) -> Callable[..., Any]:
    """``f(v, **values)`` = J v = dF[dX := v], in F's shape; ``f.expr`` is its closed form."""
    return _product(result, "jvp")


def vjp(result: Any) -> Callable[..., Any]:
    """``f(u, **values)`` = uᵀ J = ∇ₓ⟨u, F⟩, in the variable's shape; ``f.expr`` is its closed form."""
    return _product(result, "vjp")


def product_expr(result: Any, kind: str) -> tuple[Expr, Sym]:
    """(closed form, direction symbol) of the product ``kind``: jvp, vjp or hvp."""
    if kind in ("jvp", "vjp") and result.order != 1:
        raise UsageError(f"{kind} is the product with the first derivative: take it from "
                         f"diff(expr, '{result.variable.name}'); for the Hessian use hvp")
    if kind == "jvp":
        return jvp_expr(result.function, result.variable, set(result.symbols))
    if kind == "vjp":
        return vjp_expr(result.function, result.variable, set(result.symbols))
    if kind == "hvp":
        expr, V = hvp_expr(result)
        return apply_right(expr, V.name), V
    raise UsageError(f"unknown product {kind!r}; the products are jvp, vjp, hvp")


def product_code(result: Any, kind: str, target: str, name: str) -> str:
    """Generated code of a product with a direction: the direction is the first argument."""
    expr, D = product_expr(result, kind)
    symbols = {D.name: D, **result.symbols}
    what = {"jvp": "J v", "vjp": "u' J", "hvp": "H v"}[kind]
    doc = (f"{what} for the derivative of {result.input} with respect to {result.variable.name}, "
           f"direction {D.name}, without forming the matrix.")
    return to_code(expr, symbols, target=target, name=name, doc=doc)
