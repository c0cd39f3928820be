"""Names shared by several answers: the gradients of one function by several
variables repeat its sub-expressions (tanh(W₁x + b₁) in every gradient of a
two-layer network), so one ``where`` list serves them all.

A sub-expression is named when the total printed length — every answer plus
the ``where`` definitions — drops; a few rounds, a few candidates each, so the
work stays bounded on large answers."""
from __future__ import annotations

from collections import Counter
from typing import Callable, Sequence

from ..core import construct as A
from ..core.nodes import Add, Expr, Func, Hadamard, Mul, Sym
from .dag_names import shared_definitions_many
from .passes import cached
from .passes import MAX_CANDIDATES, MAX_NAMING_COST, _fresh_name, _named_as, cost, tokens

ROUNDS = 4


def _total(bodies: Sequence[Expr], defs: Sequence[tuple[Sym, Expr]], printer: Callable[[Expr], str]) -> int:
    return sum(tokens(printer(b)) for b in bodies) + sum(tokens(printer(v)) + 2 for _, v in defs)


def _occurrences(exprs: Sequence[Expr]) -> Counter:
    counts: Counter = Counter()
    stack = list(exprs)
    while stack:
        x = stack.pop()
        if isinstance(x, (Func, Hadamard, Mul, Add)) and not x.is_scalar or (isinstance(x, Func) and _named_as(x)):
            counts[x] += 1
        stack.extend(x.children)
    return counts


def name_shared(bodies: Sequence[Expr], taken: set[str], printer: Callable[[Expr], str]) -> tuple[
        list[Expr], list[tuple[Sym, Expr]]]:
    """(bodies in the shared names, [(name, value)] in the order they can be computed)."""
    cur = list(bodies)
    defs: list[tuple[Sym, Expr]] = []
    if sum(cost(b) for b in cur) > MAX_NAMING_COST:  # too large to print every candidate: on the DAG
        return shared_definitions_many(cur, set(taken))
    printer = cached(printer)
    best_len = _total(cur, defs, printer)
    used = set(taken)
    for _ in range(ROUNDS):
        counts = _occurrences(cur + [v for _, v in defs])
        repeated = [sub for sub, n in counts.items() if n >= 2]
        repeated.sort(key=lambda x: -counts[x] * min(cost(x), 50))
        best = None
        for sub in repeated[:MAX_CANDIDATES]:
            s = Sym(_fresh_name(sub, used), sub.shape, A.is_symmetric(sub))
            new_cur = [A.substitute(b, {sub: s}) for b in cur]
            new_defs = [(n, A.substitute(v, {sub: s})) for n, v in defs] + [(s, sub)]
            length = _total(new_cur, new_defs, printer)
            if length < best_len:
                best, best_len = (s, new_cur, new_defs), length
        if best is None:
            break
        s, cur, defs = best
        used.add(s.name)
    return cur, _in_order(defs)


def _in_order(defs: list[tuple[Sym, Expr]]) -> list[tuple[Sym, Expr]]:
    """Each definition after the names its value uses."""
    out: list[tuple[Sym, Expr]] = []
    pending = list(reversed(defs))  # the last named is the innermost: usually first
    while pending:
        names = {s.name for s, _ in pending}
        for i, (s, v) in enumerate(pending):
            if not (A.free_names(v) & (names - {s.name})):
                out.append(pending.pop(i))
                break
        else:  # cannot happen: values name only earlier candidates' parts
            out.extend(pending)
            break
    return out


__all__ = ["name_shared"]
