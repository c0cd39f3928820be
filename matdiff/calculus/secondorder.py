"""Second-order tools built on the closed forms: Hessian-vector products and
the Gauss–Newton matrix.

* :func:`hvp_expr` — v ↦ H v from the differential of the gradient,
  d G = H(dX) (SPEC §3: d vec G = H d vec X), with dX replaced by a direction V.
  The expression is linear in V and never builds H (no Kronecker products, no
  commutation matrices), so it costs about as much as one gradient.
* :func:`gauss_newton_parts` — for f = L(N(x)), the split of the Hessian

      H = J_Nᵀ (∇²L ∘ N) J_N  +  Σₖ (∂L/∂uₖ ∘ N) ∇²Nₖ
          └─ Gauss–Newton ──┘     └─ curvature term ─┘

  The first part is positive semidefinite wherever ∇²L is; the second is
  computed independently (the Hessian of x ↦ ⟨g, N(x)⟩ with g = ∇L(N(x)) held
  fixed), so that GN + curvature = H is a real check.
"""
from __future__ import annotations

from typing import Any

from ..core import construct as A
from ..core.catalogue import lookup
from ..core.names import fresh_name
from ..core.nodes import Add, Differential, Expr, Func, Hadamard, Mul, Power, Sym, Transpose, Unvec
from ..errors import UnsupportedError, UsageError
from ..present.printing import to_text
from ..simplify.passes import name_repeats, simplify
from .derive import derive, sym
from .differential import differential
from .identify import jacobian, symmetric_projection


def _taken(*exprs: Expr, extra: set[str] = frozenset()) -> set[str]:
    names = set(extra)
    for e in exprs:
        names |= set(A.symbols(e))
    return names


# -- Hessian-vector products -------------------------------------------------------------
def hvp_expr(result: Any) -> tuple[Expr, Sym]:
    """(H V as an expression linear in V, the direction symbol V).

    H V = d G with dX := V, G the gradient; for a symmetric variable the
    direction and the product are symmetric: P H P v = vec sym(dG[sym V])."""
    var = result.variable
    if not result.function.is_scalar:
        raise UsageError("a Hessian-vector product needs a scalar function; this one is "
                         f"{result.function.shape[0]}×{result.function.shape[1]}")
    if result.kind == "hessian":
        G = result.first
    elif result.kind == "gradient":
        G = result.value
    else:
        raise UsageError(f"a Hessian-vector product needs a gradient or Hessian result, not a {result.kind}")
    if G is None:  # a Hessian built without its gradient: derive it
        G = derive(result.function, var, 2)[2]
    if var.is_scalar:
        pool: tuple[str, ...] = ("nu", "eta", "tau", "omega")
    else:
        pool = ("v", "u", "w", "z") if var.is_vector else ("V", "U", "W", "Z")
    V = Sym(fresh_name(_taken(result.function, G, extra=set(result.symbols)), pool), var.shape, var.symmetric)
    dG = differential(G, var)
    HV = A.substitute(dG, {Differential(var, var.shape): V})
    if not A.is_diff_free(HV):
        raise UnsupportedError("the differential of the gradient is not linear in d" + var.name)
    if var.symmetric:
        HV = sym(HV)
    return simplify(HV), V


# -- Gauss–Newton ------------------------------------------------------------------------
def _dependent(e: Expr, name: str) -> list[Expr]:
    return [c for c in e.children if A.depends(c, name)]


def _is_output_map(e: Expr, name: str) -> bool:
    """True for the maps that belong to the loss L rather than to the model N:
    element-wise functions, the functions whose catalogue record says so (``loss_side``:
    vec and the normalizing vector functions), powers A.^p, Hadamard products, sums,
    transposes, vec/unvec, and scalings c·A — none of them mixes entries
    through a matrix product."""
    if isinstance(e, Func):
        rec = lookup(e.name)
        return rec is not None and rec.loss_side
    if isinstance(e, Power):
        return not A.depends(e.exp, name)
    if isinstance(e, (Hadamard, Add, Transpose, Unvec)):
        return True
    if isinstance(e, Mul):
        dep = _dependent(e, name)
        # c(x)·A with a scalar c(x), or c·B(x) with constant scalars c
        return all(f.is_scalar for f in dep) or (len(dep) == 1 and all(f.is_scalar for f in e.factors
                                                                        if f is not dep[0]))
    return False


def _inner_map(f: Expr, var: Sym) -> Expr:
    """N: the model through which the scalar f depends on var.

    From the root, every scalar-valued node and every output map (see
    ``_is_output_map``) is part of L; the descent stops at the first other
    node (a matrix product, an inverse, …).  Where a node has several
    arguments that depend on var, they must lead to one N (up to a
    transpose); an output map whose arguments lead to different places is
    itself N."""
    name = var.name
    if name not in A.free_names(f):
        raise UnsupportedError(f"f does not depend on {name}: there is no inner map N, and the Hessian is zero")

    def same(a: Expr, b: Expr) -> bool:
        return a == b or A.T(a) == b

    def descend(e: Expr) -> Expr:
        if e == var or A.T(e) == var:
            return var
        if not (e.is_scalar or _is_output_map(e, name)):
            return e
        found = [descend(c) for c in _dependent(e, name)]
        if all(same(x, found[0]) for x in found):
            return found[0]
        if not e.is_scalar:
            return e
        raise UnsupportedError(
            f"f depends on {name} through several inner maps "
            f"({', '.join(dict.fromkeys(to_text(x) for x in found))}); Gauss–Newton needs f = L(N({name})) "
            "with one N: split the sum and take each part", node=e)

    N = descend(f)
    if N == var:
        raise UnsupportedError(
            f"f depends on {name} directly, not through an inner vector- or matrix-valued map N: "
            f"the Gauss–Newton matrix J_N' H_L J_N needs f = L(N({name})) (e.g. a residual A*x - b "
            "or the logits X*w)", node=var)
    return A.T(N) if N.is_row else N


def gauss_newton_parts(result: Any) -> dict[str, Any]:
    """J_Nᵀ H_L J_N for f = L(N(x)) (see the module doc for how N is chosen), with its parts:
    the fields of a Gauss–Newton result, from a gradient or Hessian result."""
    f, var = result.function, result.variable
    if not f.is_scalar:
        raise UsageError("the Gauss–Newton matrix needs a scalar function; this one is "
                         f"{f.shape[0]}×{f.shape[1]}")
    if var.is_scalar:
        raise UnsupportedError(f"the Gauss–Newton matrix needs a vector or matrix variable; '{var.name}' is a scalar")
    N = _inner_map(f, var)
    taken = _taken(f, extra=set(result.symbols))
    pool = ("u", "r", "z", "q") if N.is_vector else ("U", "R", "Z", "Q")
    u = Sym(fresh_name(taken, pool), N.shape, False)
    L = A.substitute(f, {N: u, A.T(N): A.T(u)})
    if A.depends(L, var.name):
        raise UnsupportedError(f"{var.name} occurs outside the inner map {to_text(N)}: "
                               "Gauss–Newton needs every occurrence inside N", node=N)
    # H_L and ∇L with respect to u, then u := N
    _, H_L, G_L = derive(L, u, 2)
    back = {u: N}
    H_L = A.substitute(simplify(H_L), back)
    G_L = A.substitute(G_L, back)
    J = jacobian(differential(N, var), var)
    if var.symmetric:
        J = A.mul(J, symmetric_projection(var.shape[0]))
    GN = simplify(A.mul(A.T(J), H_L, J))
    # the curvature term: the Hessian of ⟨g, N(x)⟩ with g = ∇L(N) held fixed
    g = Sym(fresh_name(taken | {u.name}, ("g", "gL") if N.is_vector else ("G", "GL")), N.shape, False)
    _, C, _ = derive(A.inner(g, N), var, 2)
    C = simplify(A.substitute(C, {g: G_L}))
    first = result.first if result.kind == "hessian" and result.first is not None else derive(f, var, 2)[2]
    notes = tuple(result.notes) + (
        f"Gauss–Newton: f = L(N) with N = {to_text(N)} and L({u.name}) = {to_text(L)}; "
        f"the matrix is J_N' H_L J_N, the Hessian minus the curvature term",)
    display = name_repeats(GN, set(result.symbols), to_text)
    return dict(value=GN, notes=notes, first=first, _display=display if display is not GN else None,
                inner=N, inner_symbol=u, outer=L, inner_jacobian=simplify(J), outer_hessian=H_L, curvature=C)


__all__ = ["hvp_expr", "gauss_newton_parts"]
