"""The derivation as users hold it (``Result.steps``): a list of lines that
prints one rewrite per line and is typeset in Jupyter."""
from __future__ import annotations

import html
from typing import Any, Iterable


class Steps(list):
    """The derivation, one rewrite per line; still a ``list`` of ``str``."""

    def __init__(self, lines: Iterable[str] = (), result: Any = None) -> None:
        super().__init__(lines)
        self.result = result

    def __str__(self) -> str:
        return "\n".join(self)

    def _repr_pretty_(self, p, cycle) -> None:  # IPython's plain-text display
        p.text(str(self))

    def _repr_html_(self) -> str:
        """The steps typeset, each with its rule."""
        from .jupyter import latex_steps

        if self.result is None:
            return "<pre>" + html.escape(str(self)) + "</pre>"
        items = []
        for tex, label in latex_steps(self.result):
            math = f"$$ {html.escape(tex)} $$" if tex else ""
            rule = f"<span class='matdiff-rule'>[{html.escape(label)}]</span>" if label and tex else html.escape(label)
            items.append(f"<li>{math}{rule}</li>")
        return f"<ol class='matdiff-steps'>{''.join(items)}</ol>"


__all__ = ["Steps"]
