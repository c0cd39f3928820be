"""From a typed expression to its derivative, before simplification (SPEC §3).

d f by the rule table, then identification: the gradient G with
df = ⟨G, dX⟩, the Jacobian J with d vec F = J d vec X, dF/dt for a scalar t,
and for order 2 the Hessian from d vec G = H d vec X.  A symmetric variable
restricts the directions to symmetric dX: G ↦ (G + Gᵀ)/2, J ↦ J P, H ↦ P H P.
"""
from __future__ import annotations

from fractions import Fraction

from ..core import construct as A
from ..core.catalogue import KINKED
from ..core.nodes import Differential, Expr, Func, Sym, shape_text
from ..core.rewriting import Fired, rewrite
from ..errors import UsageError
from ..simplify.passes import cost, simplify
from .differential import differential
from .identify import gradient, jacobian, symmetric_projection


def sym(G: Expr) -> Expr:
    """(G + Gᵀ)/2, the gradient on symmetric matrices."""
    if A.is_symmetric(G):
        return G
    Gt = A.T(G)
    first, second = (Gt, G) if cost(Gt) < cost(G) else (G, Gt)
    half = Fraction(1, 2)
    return A.add(A.scale(half, first), A.scale(half, second))


def kink_notes(f: Expr, var: Sym) -> list[str]:
    """The functions of f, depending on var, that are not differentiable at 0."""
    found = []
    for x in f.walk():
        if isinstance(x, Func) and x.name in KINKED and A.depends(x, var.name) and x.name not in found:
            found.append(x.name)
    if not found:
        return []
    rules = "; ".join(KINKED[n] for n in found)
    return [f"{', '.join(found)} not differentiable at 0: the result is a subgradient there ({rules})"]


def derive(f: Expr, var: Sym, order: int, log: list[Fired] | None = None) -> tuple[str, Expr, Expr | None]:
    """(kind, derivative, gradient for a Hessian) of f with respect to var; f and its
    differential are rewritten by the rewrite table first (the rewrites on the
    differential recorded in ``log``)."""
    dX = Differential(var, var.shape)
    f = rewrite(f)
    df = rewrite(differential(f, var), log)
    if order == 1:
        if var.is_scalar:
            return ("gradient" if f.is_scalar else "derivative"), A.substitute(df, {dX: A.ONE}), None
        if f.is_scalar:
            G = gradient(df, var)
            return "gradient", (sym(G) if var.symmetric else G), None
        J = jacobian(df, var)
        if var.symmetric:
            J = A.mul(J, symmetric_projection(var.shape[0]))
        return "jacobian", J, None
    if not f.is_scalar:
        raise UsageError("a Hessian needs a scalar function; this one is "
                         f"{shape_text(f.shape)}: differentiate its Jacobian instead")
    G = A.substitute(df, {dX: A.ONE}) if var.is_scalar else gradient(df, var)
    G = simplify(G, log)
    dG = rewrite(differential(G, var), log)
    if var.is_scalar:
        return "hessian", A.substitute(dG, {dX: A.ONE}), G
    H = jacobian(dG, var)
    if var.symmetric:
        P = symmetric_projection(var.shape[0])
        H = A.mul(P, H, P)
    return "hessian", H, (sym(G) if var.symmetric else G)


def derivative(f: Expr, var: Sym, order: int, log: list[Fired] | None = None) -> tuple[str, Expr, Expr | None]:
    """:func:`derive`, then the derivative simplified: (kind, derivative, gradient for a Hessian);
    every rewrite of the table that fires on the way is recorded in ``log``."""
    kind, value, first = derive(f, var, order, log)
    return kind, simplify(value, log), first
