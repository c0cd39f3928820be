"""Mixed and higher derivatives (SPEC §7): diff(f, x₁, x₂, …, x_K).

Each step is a derivative in the layouts of SPEC §3, taken of vec of the
previous one:

    D₁ = ∂f/∂x₁                     (gradient, Jacobian or dF/dt)
    D_k = ∂ vec D_{k−1} / ∂(vec x_k)ᵀ  from  d vec D_{k−1} = D_k d vec x_k

so for a scalar f, D₂ is ∂²f/∂x₁∂x₂ᵀ with d²f = (d vec x₁)ᵀ D₂ (d vec x₂),
and D_K, an (s₁⋯s_{K−1})×s_K matrix (s_k = size of x_k), reshaped
column-major to (s₁, …, s_K) is the K-th derivative tensor:
T[i₁, …, i_K] = ∂ᴷf / ∂(vec x₁)_{i₁} ⋯ ∂(vec x_K)_{i_K}.
A symmetric x_k restricts its directions: D_k ↦ D_k P, P = (I + K)/2.

The same derivative as a multilinear form, for printing entry by entry:
E₀ = f, E_k = d E_{k−1} with d x_k := V_k (a direction symbol), so that
E_K(V₁, …, V_K) = Dᴷf[V₁, …, V_K]; :mod:`matdiff.present.index_form` reads
its entries off with each V_k a unit array.
"""
from __future__ import annotations

from ..core import construct as A
from ..core.nodes import Differential, Expr, Sym
from ..errors import UnsupportedError, UsageError
from ..simplify.passes import simplify
from .derive import derive
from .differential import differential
from .identify import jacobian, symmetric_projection

MAX_ORDER = 6
"""The highest total order: the K-th derivative of f by an n-vector has nᴷ entries,
and its closed form grows with K."""


def check_order(order: int) -> None:
    """Refuse an order that is not an integer in 1..MAX_ORDER."""
    if isinstance(order, bool) or not isinstance(order, int) or order < 1:
        raise UsageError(f"order must be a positive integer, got {order!r}")
    if order > MAX_ORDER:
        raise UsageError(f"order {order} is too high: matdiff takes derivatives up to order {MAX_ORDER} "
                         "(the K-th derivative of f by an n-vector has n^K entries)")


def next_derivative(D: Expr, var: Sym) -> Expr:
    """∂ vec D / ∂(vec x)ᵀ: J with d vec D = J d vec x (a column for a scalar x)."""
    vD = A.func("vec", D) if not (D.is_scalar or D.is_vector) else D
    dD = differential(vD, var)
    if var.is_scalar:
        return simplify(A.substitute(dD, {Differential(var, var.shape): A.ONE}))
    J = jacobian(dD, var)
    if var.symmetric:
        J = A.mul(J, symmetric_projection(var.shape[0]))
    return simplify(J)


def derivative_chain(f: Expr, variables: tuple[Sym, ...]) -> Expr:
    """D_K of the module doc: the derivatives by x₁, …, x_K, each of vec of the one before."""
    check_order(len(variables))
    _, D, _ = derive(f, variables[0], 1)
    D = simplify(D)
    for var in variables[1:]:
        D = next_derivative(D, var)
    return D


def multilinear_form(f: Expr, variables: tuple[Sym, ...], directions: tuple[Sym, ...]) -> Expr:
    """Dᴷf[V₁, …, V_K]: f differentiated by each x_k in the direction V_k (the shape of f)."""
    E = f
    for var, V in zip(variables, directions):
        dE = differential(E, var)
        E = A.substitute(dE, {Differential(var, var.shape): V})
        if not A.is_diff_free(E):
            raise UnsupportedError(f"the differential is not linear in d{var.name}")
        E = simplify(E)
    return E


__all__ = ["MAX_ORDER", "check_order", "derivative_chain", "multilinear_form", "next_derivative"]
