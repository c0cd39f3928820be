"""The first differential d f of an expression with respect to one variable,
built from the rule table of :mod:`matdiff.calculus.rules`."""
from __future__ import annotations

from typing import Callable

from ..core import construct as A
from ..core.nodes import D, Differential, Expr, Sym
from ..simplify.passes import cost
from .rules import rule_for, rule_label


def differential(e: Expr, var: Sym) -> Expr:
    """df: an expression linear in dX (the node ``Differential(X)``)."""
    dX = Differential(var, var.shape)
    return differential_by_rules(e, frozenset((var.name,)), lambda x: dX)


def differential_by_rules(e: Expr, names: frozenset[str], leaf: Callable[[Sym], Expr]) -> Expr:
    """d e by the rule table, each sub-expression once: zero where e is free of ``names``,
    ``leaf(x)`` for the variable x itself."""
    memo: dict[Expr, Expr] = {}

    def d(x: Expr) -> Expr:
        if not (A.free_names(x) & names):
            return A.zero(x.shape)
        if isinstance(x, Sym):
            return leaf(x)
        out = memo.get(x)
        if out is None:
            out = rule_for(x).apply(x, d)
            memo[x] = out
        return out

    return d(e)


def derivation(e: Expr, var: Sym, limit: int = 200, max_cost: float | None = None) -> list[tuple[str, Expr]]:
    """The differential one rule at a time: [(identity used, df so far), …].

    Each step expands the first unexpanded d(·) in reading order, so the
    lines read like a textbook derivation; once df written out is larger than
    ``max_cost`` (nodes), the rest is expanded at once."""
    dX = Differential(var, var.shape)

    def d(x: Expr) -> Expr:
        if not A.depends(x, var.name):
            return A.zero(x.shape)
        return dX if isinstance(x, Sym) else D(x, x.shape)

    cur = d(e)
    lines: list[tuple[str, Expr]] = [("", cur)]
    while len(lines) < limit:
        if max_cost is not None and cost(cur) > max_cost:
            lines.append(("the remaining d(·) expanded at once: the steps are too large to show one by one",
                          differential(e, var)))
            return lines
        target = next((x for x in cur.walk() if isinstance(x, D)), None)
        if target is None:
            break
        expanded = rule_for(target.arg).apply(target.arg, d)
        cur = A.substitute(cur, {target: expanded})
        lines.append((rule_label(target.arg), cur))
    else:
        if any(isinstance(x, D) for x in cur.walk()):
            lines.append((f"the remaining d(·) expanded at once; {limit} steps shown", differential(e, var)))
    return lines
