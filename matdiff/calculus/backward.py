"""Several variables at once, and the backward pass of a program (SPEC §7).

``derive_many``: one pass of the rule table over f for all the variables —
every sub-expression differentiated once, the differential df holding dW,
db, … together — then each derivative read off df by the adjoint walk of
:mod:`.identify` (reverse accumulation: df = Σᵥ ⟨Gᵥ, dv⟩ gives every Gᵥ).

``backward_pass``: the adjoints of a program's intermediates, last to first,
as backpropagation tabulates them.  With ḡ = ∂f/∂y the adjoint of a defined
y = e(z, …), the chain rule ⟨ḡ, dy⟩ = ⟨ḡ, de⟩ = ⟨z̄, dz⟩ + … gives each
name's share; a name's adjoint is the sum of its shares over the statements
that use it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from ..core import construct as A
from ..core.nodes import Differential, Expr, Sym
from ..simplify.passes import simplify
from .derive import sym
from .differential import differential_by_rules
from .identify import gradient, jacobian, symmetric_projection


def differential_many(e: Expr, variables: Sequence[Sym]) -> Expr:
    """df, linear in dv for every v of ``variables`` (one rule application per node)."""
    return differential_by_rules(e, frozenset(v.name for v in variables), lambda x: Differential(x, x.shape))


def identify(f: Expr, df: Expr, var: Sym, others: Sequence[Sym]) -> tuple[str, Expr]:
    """(kind, derivative) of f by var, read off the joint differential df (SPEC §3): the
    identification follows var's own differential node; by a scalar, dvar = 1 and the others 0."""
    if var.is_scalar:
        mapping: dict[Expr, Expr] = {Differential(v, v.shape): A.zero(v.shape) for v in others if v != var}
        mapping[Differential(var, var.shape)] = A.ONE
        return ("gradient" if f.is_scalar else "derivative"), A.substitute(df, mapping)
    if f.is_scalar:
        G = gradient(df, var)
        return "gradient", (sym(G) if var.symmetric else G)
    J = jacobian(df, var)
    if var.symmetric:
        J = A.mul(J, symmetric_projection(var.shape[0]))
    return "jacobian", J


def derive_many(f: Expr, variables: Sequence[Sym]) -> dict[str, tuple[str, Expr]]:
    """name → (kind, derivative before simplification), for every variable."""
    df = differential_many(f, variables)
    return {v.name: identify(f, df, v, variables) for v in variables}


# -- the backward pass of a program ---------------------------------------------------
@dataclass(frozen=True)
class Adjoint:
    """∂f/∂name = value, with the local differentials used (``rules``: text of d(name's users))."""

    name: Sym
    value: Expr  # in the adjoint symbols of the statements that use the name
    rules: tuple[tuple[Sym, Expr], ...]  # (user y, dy as a function of d name)


def adjoint_symbol(function_name: str, y: Sym) -> Sym:
    """The symbol ∂L/∂y standing for y's adjoint in the pass."""
    return Sym(f"∂{function_name}/∂{y.name}", y.shape)


def backward_pass(statements: Sequence[tuple[Sym, Expr]], function: Expr, function_name: str,
                  inputs: Sequence[Sym]) -> list[Adjoint]:
    """The adjoints of the intermediates (``statements``: (name, definition) in program order,
    the function excluded), last to first, then of the ``inputs``."""
    users: list[tuple[Sym | None, Expr]] = [(None, function)] + [(s, e) for s, e in reversed(statements)]
    out: list[Adjoint] = []
    alive: set[str] = set()  # the intermediates the function depends on
    for target in [s for s, _ in reversed(statements)] + list(inputs):
        shares: list[Expr] = []
        rules: list[tuple[Sym, Expr]] = []
        for y, e in users:
            if not A.depends(e, target.name) or (y is not None and y.name not in alive):
                continue
            de = differential_many(e, [target])
            bar = A.ONE if y is None else adjoint_symbol(function_name, y)
            if not (y is None or y.is_scalar):
                de_scalar = A.inner(bar, de)
            else:
                de_scalar = A.mul(bar, de) if y is not None else de
            _kind, share = identify(A.ONE, de_scalar, target, [target])
            shares.append(simplify(share))
            if y is not None:
                rules.append((y, de))
            else:
                rules.append((Sym(function_name, function.shape), de))
        if shares:
            alive.add(target.name)
            out.append(Adjoint(target, simplify(A.add(*shares)), tuple(rules)))
    return out


__all__ = ["differential_many", "derive_many", "identify", "backward_pass", "Adjoint", "adjoint_symbol"]
