"""Presenting several derivatives of one function, and the backward pass of a program.

Text: one ``∂f/∂W = …`` line per variable, then the ``where`` names they
share.  Jupyter: one table, a row per variable (∂f/∂v, its shape, the closed
form).  Steps of a program: its statements, then the adjoint of each
intermediate, last to first, each with the differential it came through."""
from __future__ import annotations

import html
from typing import Any, Callable, Sequence

from ..core.nodes import Differential, Expr, Sym
from .printing import LatexPrinter, shape_text, to_latex, to_text, to_unicode

_NAME = LatexPrinter().name


def lhs_text(function_name: str, var: str, kind: str = "gradient", vector: bool = False) -> str:
    """∂f/∂W, or ∂vec F/∂vec(W)' for a Jacobian (∂F/∂x' by a vector x), dF/dt for a derivative."""
    if kind == "jacobian":
        return f"∂{function_name}/∂{var}'" if vector else f"∂vec {function_name}/∂vec({var})'"
    if kind == "derivative":
        return f"d{function_name}/d{var}"
    return f"∂{function_name}/∂{var}"


def lhs_latex(function_name: str, var: str, kind: str = "gradient", vector: bool = False) -> str:
    f, x = _NAME(function_name), _NAME(var)
    if kind == "jacobian" and vector:
        return rf"\frac{{\partial {f}}}{{\partial {x}^{{\top}}}}"
    if kind == "jacobian":
        return rf"\frac{{\partial \operatorname{{vec}} {f}}}{{\partial \left(\operatorname{{vec}} {x}\right)^{{\top}}}}"
    if kind == "derivative":
        return rf"\frac{{\mathrm{{d}}{f}}}{{\mathrm{{d}}{x}}}"
    return rf"\frac{{\partial {f}}}{{\partial {x}}}"


def where_text(defs: Sequence[tuple[Sym, Expr]], printer: Callable[[Expr], str] = to_text) -> str:
    return ", ".join(f"{printer(s)} = {printer(v)}" for s, v in defs)


def lines(function_name: str, bodies: dict[str, Expr], kinds: dict[str, str],
          defs: Sequence[tuple[Sym, Expr]], printer: Callable[[Expr], str] = to_text,
          vectors: frozenset[str] = frozenset()) -> str:
    out = [f"{lhs_text(function_name, v, kinds[v], v in vectors)} = {printer(b)}" for v, b in bodies.items()]
    if defs:
        out.append(f"  where {where_text(defs, printer)}")
    return "\n".join(out)


def unicode_lines(function_name: str, bodies, kinds, defs, vectors: frozenset[str] = frozenset()) -> str:
    return lines(function_name, bodies, kinds, defs, to_unicode, vectors)


def latex_lines(function_name: str, bodies: dict[str, Expr], kinds: dict[str, str],
                defs: Sequence[tuple[Sym, Expr]], vectors: frozenset[str] = frozenset()) -> str:
    rows = [f"{lhs_latex(function_name, v, kinds[v], v in vectors)} &= {to_latex(b)}"
            for v, b in bodies.items()]
    if defs:
        rows.append(r"&\text{where } " + r",\ ".join(f"{to_latex(s)} = {to_latex(v)}" for s, v in defs))
    return r"\begin{aligned}" + r" \\ ".join(rows) + r"\end{aligned}"


def results_html(rs: Any) -> str:
    """One table of ∂f/∂(each variable): variable, its shape, the result's shape, the closed form."""
    f = rs.function_name
    rows = []
    for name, r in rs.items():
        lhs = lhs_latex(f, name, r.kind, r.variable.is_vector)
        rows.append(f"<tr><td><code>{html.escape(name)}</code></td>"
                    f"<td>{html.escape(shape_text(r.variable.shape))}</td>"
                    f"<td>{html.escape(r.shape_text)}</td>"
                    f"<td>$${html.escape(lhs)} = {html.escape(to_latex(rs.bodies[name]))}$$</td></tr>")
    where = ""
    if rs.shared_display:
        where = ("<p>where $$" + html.escape(r",\ ".join(f"{to_latex(s)} = {to_latex(v)}"
                                                       for s, v in rs.shared_display)) + "$$</p>")
    if rs.program is not None and rs.program.intermediates:
        defs = r",\ ".join(f"{to_latex(d.name)} = {to_latex(d.expr)}" for d in rs.program.intermediates)
        where += f"<p>with $${html.escape(defs)}$$</p>"
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in rs.notes)
    steps = ""
    if rs.program is not None:  # the backward pass, collapsed
        items = "".join(f"<li><code>{html.escape(s)}</code></li>" for s in rs.steps)
        steps = f"<details><summary>backward pass ({len(rs.steps)} lines)</summary><ol>{items}</ol></details>"
    return (f"<div class='matdiff-results'><p><b>derivatives</b> of <code>{html.escape(rs.input)}</code> "
            f"with respect to {', '.join(f'<code>{html.escape(n)}</code>' for n in rs)}</p>"
            "<table><thead><tr><th>variable</th><th>shape</th><th>result</th><th>closed form</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>{where}"
            + (f"<ul class='matdiff-notes'>{notes}</ul>" if notes else "") + steps + "</div>")


def program_lines(program: Any) -> list[str]:
    """The statements of a program, one a line."""
    out = [f"{d.name.name} = {d.source or to_text(d.expr)}" for d in program.definitions]
    if program.function_name == "f":
        out.append(f"f = {program.source or to_text(program.function)}")
    return out


def backward_lines(function_name: str, adjoints: Sequence[Any], fold: Callable[[Expr], Expr],
                   identities: dict[str, str] | None = None) -> list[str]:
    """``∂L/∂y = …    [dL = …]`` for each adjoint of the backward pass, last to first; a
    statement y = f(u) of an element-wise f adds f′ (``identities``: name → f′'s identity)."""
    identities = identities or {}
    out = []
    for adj in adjoints:
        rules = "; ".join(f"{to_text(Differential(y, y.shape))} = {to_text(fold(de))}"
                          + (f", {identities[y.name]}" if y.name in identities else "") for y, de in adj.rules)
        out.append(f"{lhs_text(function_name, adj.name.name)} = {to_text(fold(adj.value))}    [{rules}]")
    return out


__all__ = ["lines", "unicode_lines", "latex_lines", "results_html", "program_lines", "backward_lines",
           "lhs_text", "lhs_latex", "where_text"]
