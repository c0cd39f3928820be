"""The derivation as text, one rule per line (``--steps``, ``Result.steps``)."""
from __future__ import annotations

from typing import Any

from ..calculus.differential import derivation, differential
from ..core import construct as A
from ..core.nodes import D, Differential, Expr, Sym
from .printing import to_text

LABELS = {"gradient": "∂f/∂{x}", "jacobian": "∂vec F/∂vec({x})'", "derivative": "dF/d{x}", "hessian": "H"}
"""The left-hand side of the last line, by the kind of result."""


def differential_shown(f: Expr, var: Sym) -> tuple[Expr, Expr]:
    """(dX, the node that prints it): ``d(x)`` when ``dx`` is also the name of a variable of f."""
    dX = Differential(var, var.shape)
    return dX, (D(var, var.shape) if "d" + var.name in A.free_names(f) else dX)


def derivation_lines(r: Any) -> list[str]:
    """f, then df one rule at a time, then the identification and the answer (r is a Result)."""
    f, var = r.function, r.variable
    dX, shown = differential_shown(f, var)
    dname = to_text(shown)
    lines = [f"{'f' if f.is_scalar else 'F'} = {to_text(f)}"]
    for label, step in derivation(f, var):
        step = A.substitute(step, {dX: shown}) if shown is not dX else step
        lines.append(f"d{'f' if f.is_scalar else 'F'} = {to_text(step)}" + (f"    [{label}]" if label else ""))
    G = r.first if r.order == 2 else r.value
    if r.order == 1 or r.first is not None:
        if var.is_scalar:
            lines.append(f"d{'f' if f.is_scalar else 'F'} = ({to_text(G)}) {dname}    [read off the factor of {dname}]")
        elif f.is_scalar:
            lines.append(f"df = <{to_text(G)}, {dname}>    [identification: trace cyclicity, "
                         f"transposition, Hadamard adjoint]")
        else:
            lines.append(f"d vec F = ({to_text(r.value)}) d vec {var.name}    [vec(A dX B) = (B' ⊗ A) vec dX]")
    if r.order == 2:
        dG = differential(G, var)
        dG = A.substitute(dG, {dX: shown}) if shown is not dX else dG
        lines.append(f"d²f = <d({to_text(G)}), {dname}> = <{to_text(dG)}, {dname}>")
        lines.append(f"d²f = (d vec {var.name})' H (d vec {var.name})    [H from d vec G = H d vec {var.name}]")
    if var.symmetric and not f.is_scalar or (var.symmetric and r.order == 2):
        lines.append("restricted to symmetric directions: J P, P = (I + K)/2")
    elif var.symmetric:
        lines.append("symmetric variable: G = (G₀ + G₀')/2")
    lines.append(f"{LABELS[r.kind].format(x=var.name)} = {r.text}")
    return lines
