"""The differential of a declared function (SPEC §7), one identity per kind:

    d f⁽ᵏ⁾(A) = f⁽ᵏ⁺¹⁾(A) ⊙ dA         (element-wise f: f′(A) ⊙ dA, then f″(A) ⊙ dA, …)
    d g(A)    = ⟨∇g(A), dA⟩             (scalar g; ∇g prints grad_g)

The Hessian of a scalar g is not a declared quantity: differentiating ∇g is refused.
"""
from __future__ import annotations

from collections.abc import Callable

from ..core import construct as A
from ..core.declared import MAX_PRIMES, SCALAR_KIND, Declared, declared
from ..core.nodes import Expr
from ..errors import UnsupportedError

IDENTITY = "d f(A) = f′(A) ⊙ dA;  d g(A) = ⟨∇g(A), dA⟩"


def d_declared(e: Declared, d: Callable[[Expr], Expr]) -> Expr:
    """d f⁽ᵏ⁾(A) = f⁽ᵏ⁺¹⁾(A) ⊙ dA; d g(A) = ⟨∇g(A), dA⟩."""
    da = d(e.arg)
    if A.is_zero(da):
        return A.zero(e.shape)
    if e.kind == SCALAR_KIND:
        if e.order >= 1:
            raise UnsupportedError(
                f"the derivative of grad_{e.name} (the Hessian of the declared scalar function "
                f"'{e.name}') is not available: declare '{e.name}' element-wise, or write it out")
        return A.inner(declared(e.name, e.kind, 1, e.arg), da)
    if e.order >= MAX_PRIMES:
        raise UnsupportedError(f"derivatives of the declared function '{e.name}' go up to order {MAX_PRIMES}")
    return A.had(declared(e.name, e.kind, e.order + 1, e.arg), da)


__all__ = ["IDENTITY", "d_declared"]
