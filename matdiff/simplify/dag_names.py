"""Names for the shared parts of a large answer, found on its DAG in linear time.

Nodes are hash-consed, so an answer is a DAG that may be far smaller than the
tree it prints as: the gradient of k nested tanh holds each intermediate
tᵢ = tanh(tᵢ₋₁) once, but prints it in every factor 1 − tᵢ² and inside
tᵢ₊₁, …, t_k — O(k²) characters, O(k³) for the Hessian. Here every distinct
node is visited once: a node with p ≥ 2 parents whose printed length L (its
own named parts counted as one token each) makes (p − 1)(L − 1) > p + 3 is
named, so that the answer prints as ``body  where t1 = …, t2 = …`` with a
length proportional to the DAG's size.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Sequence

from ..core import construct as A
from ..core.catalogue import lookup
from .passes import MAX_NAMING_COST, cached, cost, name_repeats, pull_transposes, tokens
from ..core.nodes import (Commutation, Differential, DimSize, Expr, Func, Identity, Num, Ones, Sym, Transpose,
                          Where, Zero)

_LEAVES = (Sym, Num, Identity, Zero, Ones, DimSize, Differential, Commutation)


def post_order(e: Expr | Sequence[Expr]) -> list[Expr]:
    """Every distinct node of e (or of several roots) once, children before parents (iterative)."""
    out: list[Expr] = []
    seen: set[int] = set()
    roots = [e] if isinstance(e, Expr) else list(e)
    stack: list[tuple[Expr, bool]] = [(r, False) for r in reversed(roots)]
    while stack:
        x, done = stack.pop()
        if done:
            out.append(x)
            continue
        if id(x) in seen:
            continue
        seen.add(id(x))
        stack.append((x, True))
        stack.extend((c, False) for c in reversed(x.children) if id(c) not in seen)
    return out


def _nameable(x: Expr) -> bool:
    if isinstance(x, _LEAVES) or isinstance(x, Where):
        return False
    return not (isinstance(x, Transpose) and isinstance(x.arg, _LEAVES))


def _worth(length: int, parents: int) -> bool:
    """Naming a part of ``length`` tokens used ``parents`` times shortens the print: each use
    becomes one token, and the definition ``name = part,`` costs the part and three more."""
    return parents >= 2 and (parents - 1) * (length - 1) > parents + 3


class _Names:
    """Fresh names by pool, each pool counting on (u, u1, u2, …), none of ``taken``."""

    def __init__(self, taken: set[str]) -> None:
        self.taken = set(taken)
        self.next: Counter = Counter()

    def fresh(self, x: Expr) -> str:
        rec = lookup(x.name) if isinstance(x, Func) else None
        if rec is not None and rec.named_as:
            pool = rec.named_as[0]
        elif x.is_scalar:
            pool = "c"
        elif x.is_vector:
            pool = "u"
        else:
            pool = "M"
        while True:
            i = self.next[pool]
            self.next[pool] += 1
            name = pool if i == 0 else f"{pool}{i}"
            if name not in self.taken:
                self.taken.add(name)
                return name


def _with_children(x: Expr, kids: tuple[Expr, ...]) -> Expr:
    """x with new children of the same shapes, rebuilt as is (the printed form kept)."""
    if all(a is b for a, b in zip(kids, x.children)):
        return x
    values = {}
    rest = list(kids)
    for name in x._child_fields:
        old = getattr(x, name)
        if isinstance(old, tuple):
            values[name], rest = tuple(rest[:len(old)]), rest[len(old):]
        else:
            values[name], rest = rest[0], rest[1:]
    return replace(x, **values)


def shared_definitions(e: Expr, taken: set[str]) -> tuple[Expr, list[tuple[Sym, Expr]]]:
    """(e in the names, [(name, value)] each after the names its value uses): the parts of e
    worth naming, found in one pass over its distinct nodes."""
    bodies, defs = shared_definitions_many([e], taken)
    return bodies[0], defs


def shared_definitions_many(roots: Sequence[Expr], taken: set[str]) -> tuple[list[Expr], list[tuple[Sym, Expr]]]:
    """:func:`shared_definitions` for several answers at once (the gradients of one function by
    several variables): one list of names that every answer uses."""
    order = post_order(roots)
    parents: Counter = Counter()
    for x in order:
        for c in x.children:
            parents[id(c)] += 1
    names = _Names(taken)
    tops = {id(r) for r in roots}
    length: dict[int, int] = {}
    named: dict[int, Sym] = {}
    new: dict[int, Expr] = {}
    defs: list[tuple[Sym, Expr]] = []
    for x in order:
        kids = x.children
        length[id(x)] = 1 + sum(1 if id(c) in named else length[id(c)] for c in kids)
        y = _with_children(x, tuple(named.get(id(c)) or new[id(c)] for c in kids)) if kids else x
        new[id(x)] = y
        if id(x) not in tops and _nameable(x) and _worth(length[id(x)], parents[id(x)]):
            s = Sym(names.fresh(x), x.shape)
            named[id(x)] = s
            defs.append((s, y))
    return [new[id(r)] for r in roots], defs


def with_where(body: Expr, defs: list[tuple[Sym, Expr]]) -> Expr:
    """``body where`` each definition, the first outermost (computed first)."""
    for s, v in reversed(defs):
        body = Where(body, s, v, body.shape)
    return body


def where_parts(e: Expr) -> tuple[Expr, list[tuple[Sym, Expr]]]:
    """The body and the definitions of a chain of ``where`` nodes, the first outermost."""
    defs: list[tuple[Sym, Expr]] = []
    while isinstance(e, Where):
        defs.append((e.name, e.value))
        e = e.body
    return e, defs


def name_shared_nodes(e: Expr, taken: set[str]) -> Expr:
    """e with its shared parts named (a chain of ``where`` nodes), or e when none is worth it."""
    body, defs = shared_definitions(e, taken)
    return with_where(body, defs) if defs else e


SMALL_ANSWER = 200
"""Below this cost (nodes of the printed tree) an answer keeps the one name of
:func:`~matdiff.simplify.passes.name_repeats` at most: textbook answers stay as the textbook writes them."""


def display_names(value: Expr, taken: set[str], printer) -> Expr:
    """The answer as printed: the best single name of ``name_repeats`` for a small answer, the
    shared parts of its DAG named when that is shorter, and always for an answer too large to
    print whole (beyond ``MAX_NAMING_COST``)."""
    if cost(value) > MAX_NAMING_COST:
        return name_shared_nodes(value, taken)
    printer = cached(printer)
    pulled = pull_transposes(value, printer)
    display = name_repeats(pulled, taken, printer)
    if cost(value) <= SMALL_ANSWER:
        return display
    named = name_shared_nodes(pulled, taken)
    return named if tokens(printer(named)) < tokens(printer(display)) else display


__all__ = ["display_names", "post_order", "shared_definitions", "shared_definitions_many", "with_where", "where_parts", "name_shared_nodes"]
