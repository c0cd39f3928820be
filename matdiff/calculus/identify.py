"""Identification: read the derivative off a differential (SPEC §3).

This module is the one place that fixes the layouts:

* gradient of a scalar f:  df = ⟨G, dX⟩ = tr(Gᵀ dX), G the shape of X;
* Jacobian:  d vec F = J d vec X  (column-major vec, numerator layout);
* derivative by a scalar t:  dF = (dF/dt) dt, the shape of F.

``gradient`` moves every operator off dX with its adjoint — trace
cyclicity ⟨G, L dX R⟩ = ⟨LᵀGRᵀ, dX⟩, transposition ⟨G, dXᵀ⟩ = ⟨Gᵀ, dX⟩,
the Hadamard adjoint ⟨G, A ⊙ dX⟩ = ⟨A ⊙ G, dX⟩ — and ``jacobian`` uses
vec(A dX B) = (Bᵀ ⊗ A) vec dX, vec(dXᵀ) = K vec dX, vec(A ⊙ dX) = diag(vec A) vec dX.
"""
from __future__ import annotations

from fractions import Fraction

from ..core import construct as A
from ..core.nodes import (Add, Differential, Expr, Func, Group, Hadamard, Identity, Kron, Mul, Ones, Sym, Transpose,
                  Unvec)
from ..errors import UnsupportedError
from .rules import SHARED_PRODUCT_MIN


def _diff_index(parts: tuple[Expr, ...], var: Sym) -> int:
    """The position of the one factor that holds dX (df is linear in dX)."""
    hits = [i for i, p in enumerate(parts) if A.has_differential(p, var)]
    if len(hits) != 1:
        raise UnsupportedError("the differential is not linear in d" + var.name)
    return hits[0]


def _product(parts: list[Expr], n) -> Expr:
    """The product of a (possibly empty) chain; I of size n when empty."""
    return A.mul(*parts) if parts else A.identity(n)


# -- gradients: df = ⟨G, dX⟩ ---------------------------------------------------
def gradient(df: Expr, var: Sym) -> Expr:
    """G with df = ⟨G, dX⟩, for a scalar df linear in dX."""
    if not A.has_differential(df, var):
        return A.zero(var.shape)
    contributions: list[Expr] = []
    stack: list[tuple[Expr, Expr]] = [(df, A.ONE)]
    while stack:
        e, g = stack.pop()
        stack.extend(reversed(_adjoint(e, g, var, contributions)))
    if not contributions:
        return A.zero(var.shape)
    return A.add(*contributions)


def _adjoint(e: Expr, g: Expr, var: Sym, out: list[Expr]) -> list[tuple[Expr, Expr]]:
    """One step of ⟨g, e⟩ → Σ ⟨gᵢ, eᵢ⟩ with eᵢ closer to dX; dX itself emits g."""
    if isinstance(e, Differential):
        out.append(g)
        return []
    if isinstance(e, Add):
        return [(t, g) for t in e.terms if A.has_differential(t, var)]
    if isinstance(e, Mul):
        i = _diff_index(e.factors, var)
        f = e.factors[i]
        rest = e.factors[:i] + e.factors[i + 1:]
        if f.is_scalar:  # ⟨G, s R⟩ = s ⟨G, R⟩
            return [(f, A.inner(g, A.mul(*rest)) if rest else g)]
        scalars = [x for x in e.factors if x.is_scalar]
        chain = [x for x in e.factors if not x.is_scalar]
        j = i - len(scalars)  # scalars come first in a product
        left, right = chain[:j], chain[j + 1:]
        # ⟨G, s L dF R⟩ = ⟨s Lᵀ G Rᵀ, dF⟩
        return [(f, A.mul(*scalars, *[A.T(x) for x in reversed(left)], g,
                          *[A.T(x) for x in reversed(right)]))]
    if isinstance(e, Hadamard):
        i = _diff_index(e.factors, var)
        return [(e.factors[i], A.had(g, *e.factors[:i], *e.factors[i + 1:]))]
    if isinstance(e, Transpose):
        return [(e.arg, A.T(g))]
    if isinstance(e, Func):
        a = e.arg
        if e.name == "tr":
            return [(a, A.mul(g, Identity(a.shape)))]
        if e.name == "sum":
            return [(a, A.mul(g, Ones(a.shape)))]
        if e.name == "vec":
            return [(a, A.unvec(g, a.shape))]
        if e.name == "diagm":
            return [(a, A.func("diagv", g))]
        if e.name == "diagv":
            return [(a, A.func("diagm", g))]
    if isinstance(e, Unvec):
        return [(e.arg, A.func("vec", g))]
    if isinstance(e, Kron):
        return [_kron_adjoint(e, g, var)]
    raise UnsupportedError(f"cannot identify a gradient through {type(e).__name__} "
                           f"{getattr(e, 'name', '')}".strip())


def _kron_adjoint(e: Kron, g: Expr, var: Sym) -> tuple[Expr, Expr]:
    """⟨G, A ⊗ dB⟩ for the cases with a closed form: G = c·I (tr) and G = c·𝟙 (sum)."""
    i = _diff_index(e.factors, var)
    c, core = A.split_coef(g)
    scal = [x for x in (core.factors if isinstance(core, Mul) else (core,)) if x.is_scalar]
    body = [x for x in (core.factors if isinstance(core, Mul) else (core,)) if not x.is_scalar]
    others = e.factors[:i] + e.factors[i + 1:]
    f = e.factors[i]
    if len(body) == 1 and isinstance(body[0], Identity) and all(o.is_square for o in others):
        return (f, A.mul(A.num(c), *scal, *[A.func("tr", o) for o in others], Identity(f.shape)))
    if len(body) == 1 and isinstance(body[0], Ones):
        return (f, A.mul(A.num(c), *scal, *[A.func("sum", o) for o in others], Ones(f.shape)))
    if len(e.factors) != 2:
        return _kron_adjoint(Kron((e.factors[0], A.kron(*e.factors[1:])), e.shape), g, var)
    # in general, through vec(A ⊗ B) = P (vec A ⊗ vec B), P = I_n ⊗ K(q,m) ⊗ I_p, A m×n, B p×q
    a, b = e.factors
    (m, n), (p, q) = a.shape, b.shape
    Pt = A.kron(A.identity(n), A.commutation(m, q), A.identity(p))
    vg = A.func("vec", g)
    if i == 1:
        return (b, A.unvec(A.mul(A.kron(A.T(A.func("vec", a)), A.identity(size(b))), Pt, vg), b.shape))
    return (a, A.unvec(A.mul(A.kron(A.identity(size(a)), A.T(A.func("vec", b))), Pt, vg), a.shape))


# -- Jacobians: d vec F = J d vec X ----------------------------------------------
def size(e: Expr):
    return A.dim_mul(*e.shape)


def jacobian(dF: Expr, var: Sym) -> Expr:
    """J with vec dF = J vec dX, for dF linear in dX."""
    n = size(var)
    if not A.has_differential(dF, var):
        return A.zero((size(dF), n))
    memo: dict[Expr, Expr] = {}

    def jac(e: Expr, var: Sym) -> Expr:  # each distinct part of dF once: linear in its DAG
        out = memo.get(e)
        if out is None:
            out = memo[e] = _kept_whole(_jac(e, var, jac))
        return out

    return jac(dF, var)


KEPT_WHOLE_MIN = 3 * SHARED_PRODUCT_MIN
"""Shorter chains stay flat, so that factoring can still pull their common ends out."""


def _kept_whole(J: Expr) -> Expr:
    """A long chain J₁J₂⋯ kept as one factor of the Jacobians built on it (the chain rule
    through k layers multiplies k Jacobians: each product built once, not once per layer)."""
    if isinstance(J, Mul) and len(J.factors) >= KEPT_WHOLE_MIN:
        return Group(J, J.shape)
    return J


def _jac(e: Expr, var: Sym, jac) -> Expr:
    """One step of J for e, ``jac`` giving the Jacobians of its parts."""
    if isinstance(e, Differential):
        return A.identity(size(var))
    if e.is_scalar and not var.is_scalar:  # a scalar ds = ⟨G, dX⟩ has the row vec(G)ᵀ
        return A.T(A.func("vec", gradient(e, var)))
    if isinstance(e, Add):
        return A.add(*[jac(t, var) for t in e.terms if A.has_differential(t, var)])
    if isinstance(e, Mul):
        i = _diff_index(e.factors, var)
        f = e.factors[i]
        rest = e.factors[:i] + e.factors[i + 1:]
        if f.is_scalar:  # vec(s R) = vec(R) s
            return A.mul(A.func("vec", A.mul(*rest)), jac(f, var))
        scalars = [x for x in e.factors if x.is_scalar]
        chain = [x for x in e.factors if not x.is_scalar]
        j = [k for k, x in enumerate(chain) if x is f][0]
        left, right = chain[:j], chain[j + 1:]
        # vec(L dF R) = (Rᵀ ⊗ L) vec dF
        L = _product(left, f.shape[0])
        Rt = A.T(_product(right, f.shape[1]))
        return A.mul(*scalars, A.kron(Rt, L), jac(f, var))
    if isinstance(e, Hadamard):  # vec(B ⊙ dF) = diag(vec B) vec dF
        i = _diff_index(e.factors, var)
        other = A.had(*e.factors[:i], *e.factors[i + 1:])
        return A.mul(A.func("diagm", A.func("vec", other)), jac(e.factors[i], var))
    if isinstance(e, Transpose):  # vec(dFᵀ) = K vec dF
        m, n = e.arg.shape
        return A.mul(A.commutation(m, n), jac(e.arg, var))
    if isinstance(e, Func):
        a = e.arg
        if e.name == "tr":  # tr dF = vec(I)ᵀ vec dF
            return A.mul(A.T(A.func("vec", Identity(a.shape))), jac(a, var))
        if e.name == "sum":
            return A.mul(Ones((1, size(a))), jac(a, var))
        if e.name == "vec":
            return jac(a, var)
        if e.name == "diagm":  # vec diag(v) = diag(vec I) (𝟙 ⊗ I) v
            n = a.shape[0]
            sel = A.mul(A.func("diagm", A.func("vec", Identity((n, n)))), A.kron(Ones((n, 1)), Identity((n, n))))
            return A.mul(sel, jac(a, var))
        if e.name == "diagv":  # diag(F) = (𝟙ᵀ ⊗ I) diag(vec I) vec F
            n = a.shape[0]
            sel = A.mul(A.kron(Ones((1, n)), Identity((n, n))), A.func("diagm", A.func("vec", Identity((n, n)))))
            return A.mul(sel, jac(a, var))
    if isinstance(e, Unvec):
        return jac(e.arg, var)
    if isinstance(e, Kron):
        return _kron_jac(e, var, jac)
    raise UnsupportedError(f"cannot identify a Jacobian through {type(e).__name__}")


def _kron_jac(e: Kron, var: Sym, jac) -> Expr:
    """vec(A ⊗ B) = (Iₙ ⊗ K(q,m) ⊗ Iₚ)(vec A ⊗ vec B) for A m×n, B p×q."""
    if len(e.factors) != 2:
        return _kron_jac(Kron((e.factors[0], A.kron(*e.factors[1:])), e.shape), var, jac)
    a, b = e.factors
    (m, n), (p, q) = a.shape, b.shape
    perm = A.kron(A.identity(n), A.commutation(q, m), A.identity(p))
    if A.has_differential(b, var):
        return A.mul(perm, A.kron(A.func("vec", a), A.identity(size(b))), jac(b, var))
    return A.mul(perm, A.kron(A.identity(size(a)), A.func("vec", b)), jac(a, var))


def symmetric_projection(n) -> Expr:
    """P = (I + K)/2 on vec of an n×n matrix: the symmetric directions."""
    return A.scale(Fraction(1, 2), A.add(A.identity(A.dim_mul(n, n)), A.commutation(n, n)))
