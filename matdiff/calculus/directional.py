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
from ..core.nodes import Add, Dim, Differential, Expr, Func, Mul, Sym
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


# -- products applied right to left: no matrix the answer does not need is built ----------------
def _structured(t: Expr) -> bool:
    """diag(s) or an outer product s tᵀ (possibly scaled): cheap applied to a vector, costly built."""
    _, core = A.split_coef(t)
    if isinstance(core, Func) and core.name == "diagm":
        return True
    if isinstance(core, Mul):
        chain = [f for f in core.factors if not f.is_scalar]
        return any(a.shape[1] == 1 and b.shape[0] == 1 for a, b in zip(chain, chain[1:]))
    return False


def _thin(w: Expr, f: Expr) -> bool:
    """w is narrower than the matrix f it is multiplied by: a column, or columns of a dimension f
    has not (a thin direction).  Then Σ tᵢ w costs less than building Σ tᵢ: (A + Aᵀ) v is n² work
    to add and n² to multiply, A v + Aᵀ v only the two products."""
    return w.shape[1] == 1 or w.shape[1] not in f.shape


def _splits(f: Expr, side: Dim, carries: bool, direction: str | None) -> bool:
    """For a product with a direction: the sum f is distributed over the factor beside it, whose
    free side (columns on the right, rows on the left) is ``side``, when that factor is a vector
    or is thin and ``carries`` the direction."""
    return direction is not None and isinstance(f, Add) and not f.is_scalar and (
        side == 1 or side not in f.shape and carries)


def _sum_to_split(f: Expr, w: Expr, direction: str | None) -> bool:
    """f is a sum of matrices worth distributing over w: f w = Σ tᵢ w — one with a diagonal or
    rank-one term applied to a column, or (for a product with a ``direction``) see _splits."""
    if not isinstance(f, Add) or f.is_scalar:
        return False
    if w.shape[1] == 1 and any(_structured(t) for t in f.terms):
        return True
    return direction is not None and _splits(f, w.shape[1], A.depends(w, direction), direction)


def _apply(f: Expr, w: Expr, direction: str | None) -> Expr:
    """f w, with f = diag(s) as s ⊙ w for a column w, and a sum distributed (see _sum_to_split):
    (diag(s) − s sᵀ) w ↦ s ⊙ w − s (sᵀ w), (A + Aᵀ) v ↦ A v + Aᵀ v."""
    if isinstance(f, Func) and f.name == "diagm" and w.shape[1] == 1:
        return A.had(f.arg, w)
    if _sum_to_split(f, w, direction):
        return A.add(*[_apply(t, w, direction) for t in f.terms])
    if isinstance(f, Mul) and (_structured(f) and w.shape[1] == 1
                               or direction is not None and any(_sum_to_split(g, w, direction) for g in f.factors)):
        for g in reversed(f.factors):
            w = A.mul(g, w) if g.is_scalar else _apply(g, w, direction)
        return w
    return A.mul(f, w)


def _thin_rows(w: Expr, f: Expr, direction: str) -> bool:
    """The mirror of _sum_to_split: f a sum, w beside it on the left."""
    return _splits(f, w.shape[0], A.depends(w, direction), direction)


def _apply_left(w: Expr, f: Expr, direction: str) -> Expr:
    """w f, sums distributed (the mirror of _apply): V (A + Aᵀ) ↦ V A + V Aᵀ."""
    if _thin_rows(w, f, direction):
        return A.add(*[_apply_left(w, t, direction) for t in f.terms])
    if isinstance(f, Mul) and any(_thin_rows(w, g, direction) for g in f.factors):
        for g in f.factors:
            w = A.mul(w, g) if g.is_scalar else _apply_left(w, g, direction)
        return w
    return A.mul(w, f)


def _worth_applying(f: Expr, w: Expr, direction: str | None) -> bool:
    if w.shape[1] == 1 and (_structured(f) or isinstance(f, Add) and any(_structured(t) for t in f.terms)):
        return True
    return _sum_to_split(f, w, direction)


def _carries(factors: list[Expr], direction: str | None) -> bool:
    return direction is not None and any(A.depends(g, direction) for g in factors)


def apply_right(e: Expr, direction: str | None = None) -> Expr:
    """Every matrix chain that ends in a column, evaluated as matrix–vector products from the right:
    (diag(s) − s sᵀ) A v ↦ s ⊙ (A v) − s (sᵀ A v).  For a product with a ``direction`` (its
    name), a sum of matrices is also distributed over a column, or over thin columns or rows
    that carry the direction, so that it is never built: (A + Aᵀ) v ↦ A v + Aᵀ v,
    (A + Aᵀ) V ↦ A V + Aᵀ V for V n×k, V (A + Aᵀ) ↦ V A + V Aᵀ for V k×n."""
    memo: dict[Expr, Expr] = {}

    def go(x: Expr) -> Expr:
        if x in memo:
            return memo[x]
        kids = tuple(go(c) for c in x.children)
        y = x if all(a is b for a, b in zip(kids, x.children)) else A.rebuild(x, kids)
        if isinstance(y, Mul):
            chain = [f for f in y.factors if not f.is_scalar]
            if len(chain) >= 2 and (any(_worth_applying(f, chain[-1], direction) for f in chain[:-1]) or any(
                    _splits(chain[i], chain[-1].shape[1], _carries(chain[i + 1:], direction), direction)
                    for i in range(len(chain) - 1))):
                w = chain[-1]
                for f in reversed(chain[:-1]):
                    w = _apply(f, w, direction)
                y = A.mul(*[f for f in y.factors if f.is_scalar], w)
            elif len(chain) >= 2 and any(_splits(chain[i], chain[0].shape[0], _carries(chain[:i], direction), direction)
                                         for i in range(1, len(chain))):
                w = chain[0]
                for f in chain[1:]:
                    w = _apply_left(w, f, direction)
                y = A.mul(*[f for f in y.factors if f.is_scalar], w)
        memo[x] = y
        return y

    return go(e)


def jvp_expr(f: Expr, var: Sym, taken: set[str]) -> tuple[Expr, Sym]:
    """(J V = dF[dX := V], V)."""
    V = Sym(fresh_name(taken | set(A.free_names(f)), _pool(var.shape, "v")), var.shape, var.symmetric)
    dF = differential(f, var)
    JV = A.substitute(dF, {Differential(var, var.shape): V})
    if not A.is_diff_free(JV):
        raise UnsupportedError("the differential is not linear in d" + var.name)
    return apply_right(simplify(JV), V.name), V


def vjp_expr(f: Expr, var: Sym, taken: set[str]) -> tuple[Expr, Sym]:
    """(uᵀ J = ∇ₓ⟨U, F⟩ in the variable's shape, U)."""
    U = Sym(fresh_name(taken | set(A.free_names(f)), _pool(f.shape, "u")), f.shape, False)
    dX = Differential(var, var.shape)
    ds = A.inner(U, differential(f, var))
    if var.is_scalar:
        out = A.substitute(ds, {dX: A.ONE})
        if not A.is_diff_free(out):
            raise UnsupportedError("the differential is not linear in d" + var.name)
        return apply_right(simplify(out), U.name), U
    G = gradient(ds, var)
    return apply_right(simplify(sym(G) if var.symmetric else G), U.name), U


__all__ = ["apply_right", "fresh_name", "jvp_expr", "vjp_expr"]
