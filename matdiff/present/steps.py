"""The derivation as text, one rule per line (``--steps``, ``Result.steps``).

The first line is the function as typed; then each identity of the rewrite
table that fires on it (:mod:`matdiff.core.rewrites`), by name; the
differential one rule at a time, and the rewrites on it; the identification;
the rewrites that shorten the derivative; the answer."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ..calculus.derive import derivative
from ..calculus.differential import derivation, differential
from ..core import construct as A
from ..core.nodes import D, Differential, Expr, Sym
from ..core.rewriting import Fired, replay, rewrite
from ..simplify.passes import cost
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
    steps = derivation(f, r.variable, max_cost=STEPS_TREE_LIMIT)
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


@dataclass(frozen=True)
class Line:
    """One line of the derivation, for every printer: its ``form`` (a key of the printers'
    templates), the expressions it shows, the rule it applies, or a remark's ``text``."""

    form: str
    exprs: tuple[Any, ...] = ()
    label: str = ""
    text: str = ""


def derivation_steps(r: Any) -> list[Line]:
    """The lines of the derivation (r is a Result): f as typed, the rewrites on it, df one rule
    at a time and its rewrites, the identification, the rewrites on the derivative, the answer.
    :func:`derivation_lines` prints them as text, ``present.jupyter.latex_steps`` as LaTeX."""
    var = r.variable
    t = derivation_trees(r)
    dX, shown = differential_shown(r.function, var)
    dname = to_text(shown)
    lines = [Line("function", (r.function,))]
    lines += [Line("function", (cur,), x.label) for x, cur in t.rewritten]
    lines += [Line("differential", (step,), label) for label, step in t.differential]
    lines += [Line("differential", (cur,), x.label) for x, cur in t.differential_rewrites]
    G = r.first if r.order == 2 else r.value
    if r.order == 1 or r.first is not None:
        if var.is_scalar:
            lines.append(Line("read off", (G, dX), f"read off the factor of {dname}"))
        elif t.function.is_scalar:
            lines.append(Line("inner", (G, dX), "identification: trace cyclicity, transposition, Hadamard adjoint"))
        else:
            lines.append(Line("vec", (r.value, var), "vec(A dX B) = (B' ⊗ A) vec dX"))
    if r.order == 2:
        lines.append(Line("second", (G, differential(G, var), dX)))
        lines.append(Line("hessian", (var,), f"H from d vec G = H d vec {var.name}"))
    lines += [Line("rewrite", (x.before, x.after), x.label) for x in t.result_rewrites]
    if t.more:
        lines.append(Line("remark", text=f"    and {t.more} more rewrites of the table"))
    if var.symmetric and not t.function.is_scalar or (var.symmetric and r.order == 2):
        lines.append(Line("remark", text="restricted to symmetric directions: J P, P = (I + K)/2"))
    elif var.symmetric:
        lines.append(Line("remark", text="symmetric variable: G = (G₀ + G₀')/2"))
    lines.append(Line("answer"))
    return [_bounded(line) for line in lines]


STEPS_TREE_LIMIT = 2000
"""A step whose expression is larger written out (nodes of the tree) is summarised, not printed:
the steps of a large derivation stay proportional to the input, and the answer line names the
shared parts."""


def _bounded(line: Line) -> Line:
    """The line, or a remark saying how large it is when its expression is too large to print."""
    sizes = [cost(e) for e in line.exprs if isinstance(e, Expr)]
    if not sizes or max(sizes) <= STEPS_TREE_LIMIT:
        return line
    label = f"    [{line.label}]" if line.label else ""
    return Line("remark", text=f"{line.form}: an expression of {max(sizes):.3g} nodes written out, "
                               f"not shown{label}")


def derivation_lines(r: Any, steps: list[Line] | None = None,
                     printer: Callable[[Expr], str] = to_text) -> list[str]:
    """The derivation as text, one line each (``--steps``, ``Result.steps``; r is a Result),
    printed by ``printer`` (``to_text``, or ``to_unicode`` for ``--format unicode``)."""
    var = r.variable
    F = "f" if r.function.is_scalar else "F"
    dX, shown = differential_shown(r.function, var)

    def show(e: Expr) -> str:
        return printer(A.substitute(e, {dX: shown}) if shown is not dX else e)

    out = []
    for line in derivation_steps(r) if steps is None else steps:
        e = line.exprs
        if line.form == "remark":
            out.append(line.text)
            continue
        if line.form == "function":
            body = f"{F} = {show(e[0])}"
        elif line.form == "differential":
            body = f"d{F} = {show(e[0])}"
        elif line.form == "read off":
            body = f"d{F} = ({show(e[0])}) {show(e[1])}"
        elif line.form == "inner":
            body = f"df = <{show(e[0])}, {show(e[1])}>"
        elif line.form == "vec":
            body = f"d vec F = ({show(e[0])}) d vec {e[1].name}"
        elif line.form == "second":
            body = f"d²f = <d({show(e[0])}), {show(e[2])}> = <{show(e[1])}, {show(e[2])}>"
        elif line.form == "hessian":
            body = f"d²f = (d vec {e[0].name})' H (d vec {e[0].name})"
        elif line.form == "rewrite":
            body = f"    {show(e[0])} = {show(e[1])}"
        else:  # the answer
            body = f"{LEFT_SIDES[r.kind].format(x=var.name)} = {printer(r.display)}"
        out.append(body + (f"    [{line.label}]" if line.label else ""))
    return out
