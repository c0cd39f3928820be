"""Rich display in Jupyter: the closed form, the variable and its shape, the
notes, and the derivation as a collapsible list of typeset steps.

The steps are typeset by re-deriving: :func:`matdiff.present.steps.derivation_trees`
gives the function after each rewrite and each intermediate differential as a
tree, which :func:`to_latex` prints; the rule label of each line is the one of ``Result.steps``.  All
LaTeX is MathJax-ready (``$$ … $$``), HTML-escaped inside the page."""
from __future__ import annotations

import html
import re
from typing import Any

from ..core.nodes import Differential
from .printing import LatexPrinter, shape_text, to_latex


RESULT_NAMES = {"gradient": "gradient", "jacobian": "Jacobian", "derivative": "derivative", "hessian": "Hessian"}
"""What each kind of result is called (gradient, Jacobian, derivative, Hessian)."""
_LABEL = re.compile(r"\s{2,}\[(.*)\]\s*$")
_NAME = LatexPrinter().name


def variable_kind(r: Any) -> str:
    """scalar, vector, matrix or symmetric matrix."""
    v = r.variable
    if v.symmetric:
        return "symmetric matrix"
    return "scalar" if v.is_scalar else "vector" if v.is_vector else "matrix"


def lhs_latex(r: Any) -> str:
    """The name of the result: ∂f/∂X, ∂vec F/∂(vec X)ᵀ, dF/dt or H."""
    x = _NAME(r.variable.name)
    fn = _NAME(getattr(getattr(r, "program", None), "function_name", "f"))  # a program's function: L
    if r.kind == "gradient":
        return rf"\frac{{\partial {fn}}}{{\partial {x}}}"
    if r.kind == "derivative":
        return rf"\frac{{\mathrm{{d}}F}}{{\mathrm{{d}}{x}}}"
    if r.kind == "hessian":
        return "H"
    f = "f" if r.function.shape[1] == 1 else r"\operatorname{vec} F"
    wrt = f"{x}^{{\\top}}" if r.variable.is_vector else rf"\left(\operatorname{{vec}} {x}\right)^{{\top}}"
    return rf"\frac{{\partial {f}}}{{\partial {wrt}}}"


def latex_steps(r: Any) -> list[tuple[str, str]]:
    """The derivation as (LaTeX formula, rule label) pairs, one per line of ``r.steps``;
    the formula is empty for a line that is only a remark."""
    from ..calculus.differential import differential
    from .steps import derivation_trees

    var = r.variable
    t = derivation_trees(r)
    f = t.function
    fF = "f" if f.is_scalar else "F"
    dX = to_latex(Differential(var, var.shape))
    x = _NAME(var.name)
    dvecX = rf"\mathrm{{d}}\operatorname{{vec}} {x}"
    out: list[str] = [f"{fF} = {to_latex(r.function)}"]
    out += [f"{fF} = {to_latex(cur)}" for _, cur in t.rewritten]
    for _label, step in t.differential:
        out.append(rf"\mathrm{{d}}{fF} = {to_latex(step)}")
    out += [rf"\mathrm{{d}}{fF} = {to_latex(cur)}" for _, cur in t.differential_rewrites]
    G = r.first if r.order == 2 else r.value
    if r.order == 1 or r.first is not None:
        if var.is_scalar:
            out.append(rf"\mathrm{{d}}{fF} = \left({to_latex(G)}\right) {dX}")
        elif f.is_scalar:
            out.append(rf"\mathrm{{d}}f = \left\langle {to_latex(G)}, {dX} \right\rangle")
        else:
            out.append(rf"\mathrm{{d}}\operatorname{{vec}} F = \left({to_latex(r.value)}\right) {dvecX}")
    if r.order == 2:
        dG = differential(G, var)
        out.append(rf"\mathrm{{d}}^{{2}}f = \left\langle \mathrm{{d}}\left({to_latex(G)}\right), {dX} \right\rangle"
                   rf" = \left\langle {to_latex(dG)}, {dX} \right\rangle")
        out.append(rf"\mathrm{{d}}^{{2}}f = \left({dvecX}\right)^{{\top}} H \left({dvecX}\right)")
    out += [f"{to_latex(x.before)} = {to_latex(x.after)}" for x in t.result_rewrites]
    if t.more:  # a remark: how many rewrites are not shown
        out.append("")
    if var.symmetric:  # a remark: the restriction to symmetric directions
        out.append("")
    out.append(f"{lhs_latex(r)} = {r.latex()}")
    texts = r.steps
    if len(texts) != len(out):  # the text derivation has changed shape: typeset nothing, keep the text
        return [("", t) for t in texts]
    pairs: list[tuple[str, str]] = []
    for tex, text in zip(out, texts):
        m = _LABEL.search(text)
        pairs.append((tex, m.group(1) if m else ("" if tex else text)))
    return pairs


def result_html(r: Any) -> str:
    """HTML with MathJax-ready LaTeX: result, variable and shape, notes, steps."""
    var = r.variable
    head = (f"<div class='matdiff-result'><p><b>{RESULT_NAMES[r.kind]}</b> of "
            f"<code>{html.escape(r.input)}</code> with respect to <code>{html.escape(var.name)}</code> "
            f"({html.escape(variable_kind(r))}, {html.escape(shape_text(var.shape))}); "
            f"result {html.escape(r.shape_text)}</p>"
            f"<p>$$ {html.escape(lhs_latex(r))} = {html.escape(r.latex())} $$</p>")
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in r.notes)
    items = []
    for tex, label in latex_steps(r):
        math = f"$$ {html.escape(tex)} $$" if tex else ""
        rule = f"<span class='matdiff-rule'>[{html.escape(label)}]</span>" if label and tex else (
            html.escape(label) if label else "")
        items.append(f"<li>{math}{rule}</li>")
    return (head + (f"<ul class='matdiff-notes'>{notes}</ul>" if notes else "")
            + f"<details><summary>derivation ({len(items)} steps)</summary><ol>{''.join(items)}</ol>"
            + "</details></div>")


def result_markdown(r: Any) -> str:
    """The same content as Markdown with ``$$`` math (for ``_repr_markdown_``)."""
    lines = [f"**{RESULT_NAMES[r.kind]}** of `{r.input}` with respect to `{r.variable.name}` "
             f"({variable_kind(r)}, {shape_text(r.variable.shape)}); result {r.shape_text}", "",
             f"$$ {lhs_latex(r)} = {r.latex()} $$", ""]
    lines += [f"- {n}" for n in r.notes]
    if r.notes:
        lines.append("")
    lines.append("Derivation:")
    lines.append("")
    for i, (tex, label) in enumerate(latex_steps(r), 1):
        body = f"$ {tex} $" if tex else ""
        lines.append(f"{i}. {body}" + (f" [{label}]" if label and tex else label if label else ""))
    return "\n".join(lines)


__all__ = ["result_html", "result_markdown", "latex_steps", "lhs_latex", "variable_kind"]
