"""Rich display in Jupyter: the closed form, the variable and its shape, the
notes, and the derivation as a collapsible list of typeset steps.

The steps are the lines of :func:`matdiff.present.steps.derivation_steps` (the
source of ``Result.steps`` too), their trees typeset by :func:`to_latex`, with
the same rule labels.  All LaTeX is MathJax-ready (``$$ … $$``), HTML-escaped
inside the page."""
from __future__ import annotations

import html
from typing import Any

from .printing import LatexPrinter, shape_text, to_latex
from .steps import derivation_steps


RESULT_NAMES = {"gradient": "gradient", "jacobian": "Jacobian", "derivative": "derivative", "hessian": "Hessian"}
"""What each kind of result is called (gradient, Jacobian, derivative, Hessian)."""
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
    """The derivation as (LaTeX formula, rule label) pairs, one per line of ``r.steps``: the lines
    of :func:`matdiff.present.steps.derivation_steps` typeset; the formula is empty for a remark.
    A result whose steps are not that derivation (a program's backward pass) keeps its text."""
    if not r.rule_steps:
        return [("", t) for t in r.steps]
    steps = derivation_steps(r)
    var = r.variable
    fF = "f" if r.function.is_scalar else "F"
    x = _NAME(var.name)
    dvecX = rf"\mathrm{{d}}\operatorname{{vec}} {x}"
    pairs: list[tuple[str, str]] = []
    for line in steps:
        e = [to_latex(a) for a in line.exprs]
        if line.form == "remark":
            pairs.append(("", line.text))
            continue
        if line.form == "function":
            tex = f"{fF} = {e[0]}"
        elif line.form == "differential":
            tex = rf"\mathrm{{d}}{fF} = {e[0]}"
        elif line.form == "read off":
            tex = rf"\mathrm{{d}}{fF} = \left({e[0]}\right) {e[1]}"
        elif line.form == "inner":
            tex = rf"\mathrm{{d}}f = \left\langle {e[0]}, {e[1]} \right\rangle"
        elif line.form == "vec":
            tex = rf"\mathrm{{d}}\operatorname{{vec}} F = \left({e[0]}\right) {dvecX}"
        elif line.form == "second":
            tex = (rf"\mathrm{{d}}^{{2}}f = \left\langle \mathrm{{d}}\left({e[0]}\right), {e[2]} \right\rangle"
                   rf" = \left\langle {e[1]}, {e[2]} \right\rangle")
        elif line.form == "hessian":
            tex = rf"\mathrm{{d}}^{{2}}f = \left({dvecX}\right)^{{\top}} H \left({dvecX}\right)"
        elif line.form == "rewrite":
            tex = f"{e[0]} = {e[1]}"
        else:  # the answer
            tex = f"{lhs_latex(r)} = {r.latex()}"
        pairs.append((tex, line.label))
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
