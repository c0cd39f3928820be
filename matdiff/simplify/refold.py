"""Answers in the names of a program's definitions (SPEC §7).

The derivative of a program is taken of the inlined function; each
definition ``y = tree`` is then folded back: every occurrence of its tree
becomes the name, outer (longer) definitions first, and a sum that holds all
the terms of a defined sum is written with the name (``W*u + b - t`` with
``z = W*u + b`` is ``z - t``).  One identity is used on the way, for
definitions of a sigmoid: σ(−u) = 1 − σ(u), so that with y = σ(u) the
derivative σ(u) ⊙ σ(−u) reads y ⊙ (1 − y).  Folding replaces equal trees by
equal values, so the answer is the same function of the inputs.
"""
from __future__ import annotations

from collections import Counter
from fractions import Fraction
from typing import Sequence

from ..core import construct as A
from ..core.nodes import Add, Expr, Func, Mul, Sym


def complements(defs: Sequence[tuple[Sym, Expr]]) -> dict[Expr, Expr]:
    """σ(−u) ↦ 1 − σ(u) for every definition of a sigmoid σ(u)."""
    out: dict[Expr, Expr] = {}
    for _sym, tree in defs:
        if isinstance(tree, Func) and tree.name == "sigmoid":
            # built as is: the constructors would turn 1 − σ(u) back into σ(−u)
            out[A.func("sigmoid", A.neg(tree.arg))] = Add((A.ones(tree.shape), A.neg(tree)), tree.shape)
    return out


def refold(e: Expr, defs: Sequence[tuple[Sym, Expr]]) -> Expr:
    """e with each definition's tree (``defs``: (name, tree) in program order) written as its name."""
    comp = complements(defs)
    if comp:
        e = A.substitute(e, comp)
    exact: dict[Expr, Expr] = {}
    for sym, tree in reversed(defs):
        if isinstance(tree, Sym):
            continue
        exact.setdefault(tree, sym)
        if isinstance(tree, Func) and tree.name == "sqrt":  # √u is also written u^(1/2), 1/√u as u^(−1/2)
            half = A.num(Fraction(1, 2))
            exact.setdefault(A.power(tree.arg, half), sym)
            exact.setdefault(A.power(tree.arg, A.neg(half)), A.power(sym, A.MINUS_ONE))
        if not tree.is_scalar and not tree.is_vector:  # (relu(W x))ᵀ is kept as relu(xᵀWᵀ)
            exact.setdefault(A.T(tree), A.T(sym))
        elif tree.is_vector:
            exact.setdefault(A.T(tree), A.T(sym))
    sums = sorted(((sym, tree) for sym, tree in defs if isinstance(tree, Add)),
                  key=lambda st: -len(st[1].terms))
    chains: list[tuple[Expr, tuple[Expr, ...]]] = []
    for sym, tree in defs:
        for name, t in ((sym, tree), (A.T(sym), A.T(tree))):
            if isinstance(t, Mul) and not t.is_scalar and not any(f.is_scalar for f in t.factors):
                chains.append((name, t.factors))
    chains.sort(key=lambda c: -len(c[1]))
    memo: dict[int, tuple[Expr, Expr]] = {}  # id(x) → (x, folded): x held, so its id stays its own

    def go(x: Expr) -> Expr:
        if id(x) in memo:
            return memo[id(x)][1]
        if x in exact:
            out: Expr = exact[x]
        elif isinstance(x, Add) and (part := _fold_sum(x, sums)) is not None:
            out = go(part)
        elif isinstance(x, Mul) and (part := _fold_chain(x, chains)) is not None:
            out = go(part)
        elif not x.children:
            out = x
        else:
            kids = tuple(go(c) for c in x.children)
            out = x if all(a is b for a, b in zip(kids, x.children)) else A.rebuild(x, kids)
        memo[id(x)] = (x, out)
        return out

    return go(e)


def _fold_sum(x: Add, sums: list[tuple[Sym, Expr]]) -> Expr | None:
    """A sum holding every term of a defined sum (or of its negative), with the name instead."""
    have = Counter(x.terms)
    for sym, tree in sums:
        if tree.shape != x.shape or len(tree.terms) >= len(x.terms):
            continue
        for sign, terms in ((1, tree.terms), (-1, tuple(A.neg(t) for t in tree.terms))):
            want = Counter(terms)
            if all(have[t] >= n for t, n in want.items()):
                rest = list((have - want).elements())
                return A.add(sym if sign > 0 else A.neg(sym), *rest)
    return None


def _fold_chain(x: Mul, chains: list[tuple[Expr, tuple[Expr, ...]]]) -> Expr | None:
    """A product holding a defined product as a run of its factors, with the name instead
    (A'*(B + B')*A*x with z = A*x is A'*(B + B')*z)."""
    scalars = [f for f in x.factors if f.is_scalar]
    chain = [f for f in x.factors if not f.is_scalar]
    for name, fs in chains:
        k = len(fs)
        if k > len(chain) or (k == len(chain) and not scalars):
            continue
        for i in range(len(chain) - k + 1):
            if all(a == b for a, b in zip(chain[i:i + k], fs)):
                return A.mul(*scalars, *chain[:i], name, *chain[i + k:])
    return None


__all__ = ["refold", "complements"]
