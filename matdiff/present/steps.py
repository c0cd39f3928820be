"""The derivation as text, one rule per line (``--steps``, ``Result.steps``).

The first line is the function as typed; then each identity of the rewrite
table that fires on it (:mod:`matdiff.core.rewrites`), by name; the
differential one rule at a time, and the rewrites on it; the identification;
the rewrites that shorten the derivative; the answer."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..calculus.derive import derivative
from ..calculus.differential import derivation, differential
from ..core import construct as A
from ..core.nodes import D, Differential, Expr, Sym
from ..core.rewriting import Fired, replay, rewrite
from .printing import to_text

LEFT_SIDES = {"gradient": "∂f/∂{x}", "jacobian": "∂vec F/∂vec({x})'", "derivative": "dF/d{x}", "hessian": "H"}
"""The left-hand side of the last line, by the kind of result."""

MAX_REWRITE_LINES = 40
"""Rewrites of the derivative shown one per line; beyond, one line says how many more."""


@dataclass(frozen=True)
class Derivation:
    """The trees the steps print, for the text and the LaTeX steps alike."""

    rewritten: list[tuple[Fired, Expr]]  # the function after each rewrite
    function: Expr  # the function rewritten, which is differentiated
    differential: list[tuple[str, Expr]]  # (rule, df so far)
    differential_rewrites: list[tuple[Fired, Expr]]  # df after each rewrite
    result_rewrites: list[Fired]  # the rewrites on the derivative, after identification
    more: int  # result rewrites not shown


def derivation_trees(r: Any) -> Derivation:
    """Re-derive r's function, recording every rewrite (r is a Result)."""
    fired: list[Fired] = []
    f = rewrite(r.function, fired)
    rewritten = replay(r.function, fired)
    steps = derivation(f, r.variable)
    df = steps[-1][1]
    df_fired: list[Fired] = []
    rewrite(df, df_fired)
    df_lines = replay(df, df_fired)
    later: list[Fired] = []
    derivative(f, r.variable, r.order, later)
    seen = {(x.rule, x.before, x.after) for x, _ in df_lines}
    rest: list[Fired] = []
    for x in later:
        key = (x.rule, x.before, x.after)
        if key not in seen:
            seen.add(key)
            rest.append(x)
    return Derivation(rewritten, f, steps, df_lines, rest[:MAX_REWRITE_LINES], max(0, len(rest) - MAX_REWRITE_LINES))


def differential_shown(f: Expr, var: Sym) -> tuple[Expr, Expr]:
    """(dX, the node that prints it): ``d(x)`` when ``dx`` is also the name of a variable of f."""
    dX = Differential(var, var.shape)
    return dX, (D(var, var.shape) if "d" + var.name in A.free_names(f) else dX)


def derivation_lines(r: Any) -> list[str]:
    """f, then df one rule at a time, then the identification and the answer (r is a Result)."""
    var = r.variable
    t = derivation_trees(r)
    f = t.function
    F = "f" if f.is_scalar else "F"
    dX, shown = differential_shown(r.function, var)
    dname = to_text(shown)

    def show(e: Expr) -> str:
        return to_text(A.substitute(e, {dX: shown}) if shown is not dX else e)

    lines = [f"{F} = {to_text(r.function)}"]
    lines += [f"{F} = {to_text(cur)}    [{x.label}]" for x, cur in t.rewritten]
    for label, step in t.differential:
        lines.append(f"d{F} = {show(step)}" + (f"    [{label}]" if label else ""))
    lines += [f"d{F} = {show(cur)}    [{x.label}]" for x, cur in t.differential_rewrites]
    G = r.first if r.order == 2 else r.value
    if r.order == 1 or r.first is not None:
        if var.is_scalar:
            lines.append(f"d{F} = ({to_text(G)}) {dname}    [read off the factor of {dname}]")
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
    lines += [f"    {show(x.before)} = {show(x.after)}    [{x.label}]" for x in t.result_rewrites]
    if t.more:
        lines.append(f"    and {t.more} more rewrites of the table")
    if var.symmetric and not f.is_scalar or (var.symmetric and r.order == 2):
        lines.append("restricted to symmetric directions: J P, P = (I + K)/2")
    elif var.symmetric:
        lines.append("symmetric variable: G = (G₀ + G₀')/2")
    lines.append(f"{LEFT_SIDES[r.kind].format(x=var.name)} = {r.text}")
    return lines
