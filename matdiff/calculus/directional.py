"""Products of the first derivative with a direction, as closed forms that never
build the Jacobian (SPEC §7):

* J v — the directional derivative: dF with dX := V, so of ``inv(X)`` it is
  ``-inv(X)*V*inv(X)``; V has the variable's shape, J v the shape of F.
* uᵀ J — the gradient of the scalar ⟨U, F⟩: from ⟨U, dF⟩ = ⟨G, dX⟩ by the
  identification of :mod:`matdiff.calculus.identify`, so of ``inv(X)`` it is
  ``-inv(X)'*U*inv(X)'``; U has F's shape, uᵀ J the variable's.

For a symmetric variable the directions are symmetric: J v takes sym(V),
and uᵀ J is symmetrized like a gradient.
"""
from __future__ import annotations

from ..core import construct as A
from ..core.nodes import Differential, Expr, Sym
from ..errors import UnsupportedError
from ..simplify.passes import simplify
from .derive import sym
from .differential import differential
from .identify import gradient


def fresh_name(taken: set[str], pool: tuple[str, ...]) -> str:
    """The first name of ``pool`` (then pool[0] with a number) not in ``taken``."""
    for cand in pool:
        if cand not in taken and "d" + cand not in taken:
            return cand
    i = 1
    while f"{pool[0]}{i}" in taken:
        i += 1
    return f"{pool[0]}{i}"


def _pool(shape, first: str) -> tuple[str, ...]:
    if shape == (1, 1):
        return ("nu", "eta", "tau", "omega") if first == "v" else ("mu", "xi", "rho", "kappa")
    names = (first, "w", "z", "q") if shape[1] == 1 else (first.upper(), "W", "Z", "Q")
    return names


def jvp_expr(f: Expr, var: Sym, taken: set[str]) -> tuple[Expr, Sym]:
    """(J V = dF[dX := V], V)."""
    V = Sym(fresh_name(taken | set(A.free_names(f)), _pool(var.shape, "v")), var.shape, var.symmetric)
    dF = differential(f, var)
    JV = A.substitute(dF, {Differential(var, var.shape): V})
    if not A.is_diff_free(JV):
        raise UnsupportedError("the differential is not linear in d" + var.name)
    return simplify(JV), V


def vjp_expr(f: Expr, var: Sym, taken: set[str]) -> tuple[Expr, Sym]:
    """(uᵀ J = ∇ₓ⟨U, F⟩ in the variable's shape, U)."""
    U = Sym(fresh_name(taken | set(A.free_names(f)), _pool(f.shape, "u")), f.shape, False)
    dX = Differential(var, var.shape)
    ds = A.inner(U, differential(f, var))
    if var.is_scalar:
        out = A.substitute(ds, {dX: A.ONE})
        if not A.is_diff_free(out):
            raise UnsupportedError("the differential is not linear in d" + var.name)
        return simplify(out), U
    G = gradient(ds, var)
    return simplify(sym(G) if var.symmetric else G), U


__all__ = ["jvp_expr", "vjp_expr", "fresh_name"]
