"""Values of declared functions (SPEC §7): the user's Python callables.

``lambdify`` and generated code take them by keyword — ``f=``, ``f_prime=``,
``f_prime2=`` for an element-wise f, ``g=``, ``grad_g=`` for a scalar g
(:func:`matdiff.core.declared.callable_name`).  Each is called on the array
in the layout of SPEC §5 (1-D for a vector) and its answer is brought back
to the evaluator's 2-D layout.  ``check`` has no user functions: it puts in
stand-ins whose derivatives are known exactly, so that the structure of the
answer is what is checked."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..core.declared import SCALAR_KIND, Declared, callable_name, calls
from ..core.nodes import Expr
from ..errors import UsageError


def call_declared(e: Declared, arg: Any, values: dict[str, Any]) -> Any:
    """The value of a declared-function call, from the callable in ``values``."""
    key = callable_name(e)
    fn = values.get(key)
    if fn is None or not callable(fn):
        raise UsageError(f"missing the function '{key}': pass a Python callable {key}=… "
                         f"({_what(e)})")
    a = np.asarray(arg, dtype=float)
    user = a.reshape(-1) if a.ndim == 2 and a.shape[1] == 1 else (float(a) if a.size == 1 and a.ndim == 0 else a)
    out = fn(user)
    if e.shape == (1, 1):
        return float(np.asarray(out, dtype=float).reshape(-1)[0])
    out = np.asarray(out, dtype=float)
    if out.size != a.size:
        raise UsageError(f"the function '{key}' returned {out.size} values for an argument of {a.size}")
    return out.reshape(a.shape) if a.ndim else float(out.reshape(-1)[0])


def _what(e: Declared) -> str:
    if e.kind == SCALAR_KIND:
        return "the scalar function itself" if e.order == 0 else "its gradient, an array of the argument's shape"
    return "applied element-wise" if e.order == 0 else f"its derivative of order {e.order}, element-wise"


def callables(exprs: tuple[Expr, ...], kwargs: dict[str, Any]) -> dict[str, Callable[..., Any]]:
    """The callables the expressions need, picked from the keyword arguments."""
    out = {}
    for e in exprs:
        for c in calls(e):
            key = callable_name(c)
            if key in kwargs:
                out[key] = kwargs[key]
    return out


# stand-ins for the numerical check, one per declared name (the k-th name in alphabetical order
# gets c = 1 + k/4, so that two functions swapped in an answer show):
#   f(u) = sin(c u) + u²/4, f′ = c cos(c u) + u/2, f″ = 1/2 − c² sin(c u), f‴ = −c³ cos(c u), f⁗ = c⁴ sin(c u)
#   g(u) = Σ log(1 + exp(c u))/c, ∇g = sigmoid(c u)
def _elementwise(c: float) -> tuple[Callable[..., Any], ...]:
    return (lambda u: np.sin(c * u) + u * u / 4, lambda u: c * np.cos(c * u) + u / 2,
            lambda u: 0.5 - c * c * np.sin(c * u), lambda u: -c ** 3 * np.cos(c * u),
            lambda u: c ** 4 * np.sin(c * u))


def _scalar_pair(c: float) -> tuple[Callable[..., Any], Callable[..., Any]]:
    return (lambda u: float(np.sum(np.logaddexp(0.0, c * np.asarray(u)))) / c,
            lambda u: np.exp(-np.logaddexp(0.0, -c * np.asarray(u))))


def stand_ins(*exprs: Expr) -> dict[str, Callable[..., Any]]:
    """Smooth functions with exact derivatives for every declared function in the expressions."""
    found = {c.name: c.kind for e in exprs for c in calls(e)}
    out: dict[str, Callable[..., Any]] = {}
    for k, name in enumerate(sorted(found)):
        c = 1.0 + k / 4
        if found[name] == SCALAR_KIND:
            out[name], out["grad_" + name] = _scalar_pair(c)
        else:
            for order, fn in enumerate(_elementwise(c)):
                out[name if order == 0 else f"{name}_prime" + (str(order) if order > 1 else "")] = fn
    return out


__all__ = ["call_declared", "callables", "stand_ins"]


# -- generated code ------------------------------------------------------------------------
def code_call(key: str, arg: str, arg_shape) -> str:
    """A call of the user's callable in generated code: vectors go in 1-D and come back a column."""
    if arg_shape[1] == 1 and arg_shape[0] != 1:
        return f"{key}({arg}.reshape(-1)).reshape(-1, 1)"
    return f"{key}({arg})"


def code_arguments(e: Expr) -> list[tuple[str, str]]:
    """(name, description) of each callable argument the generated function takes."""
    return [(callable_name(c), f"Python callable, {_what(c)}") for c in calls(e)]
