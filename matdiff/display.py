"""Rich display in Jupyter: the closed form, the variable and its shape, the
notes, and the derivation as a collapsible list of typeset steps."""
from __future__ import annotations

import html
from typing import TYPE_CHECKING

from .printing import shape_text

if TYPE_CHECKING:
    from .api import Result

KIND_LABEL = {"gradient": "gradient", "jacobian": "Jacobian", "derivative": "derivative", "hessian": "Hessian"}


def result_html(r: "Result") -> str:
    """HTML with MathJax-ready LaTeX: result, variable and shape, notes, steps."""
    var = r.variable
    head = (f"<div class='matdiff-result'><p><b>{KIND_LABEL[r.kind]}</b> of "
            f"<code>{html.escape(r.input)}</code> with respect to <code>{html.escape(var.name)}</code> "
            f"({html.escape(shape_text(var.shape))}); result {html.escape(r.shape_text)}</p>"
            f"<p>$$ {html.escape(r.latex())} $$</p>")
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in r.notes)
    steps = "".join(f"<li><code>{html.escape(s)}</code></li>" for s in r.steps)
    return (head + (f"<ul class='matdiff-notes'>{notes}</ul>" if notes else "")
            + f"<details><summary>derivation ({len(r.steps)} steps)</summary><ol>{steps}</ol></details></div>")
