"""The engine that applies the rewrite table of :mod:`matdiff.core.rewrites`.

Bottom up: the children of a node are rewritten first, then the entries
rooted at the node's type are tried in table order (a matrix product is read
left to right, every chain entry at each factor), and a result is rewritten
again until no entry applies.  Every rewrite that fires is recorded as a
:class:`Fired` (the entry, and the sub-expression before and after).

Bounded: at most ``max_steps`` rewrites per run, and a rewrite whose result
costs more than the sub-expression it replaces is taken only while the total
growth of the run stays under ``max_growth`` plus the cost of the input, so
that no input can make the tree grow more than linearly.  The cost is explicit: :func:`cost` weighs each
operator by the work it stands for; an entry whose result may cost more than
its pattern says why (``Rewrite.expands``), and the table test holds every
other entry to a result no costlier than its example.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from . import construct as A
from .nodes import Add, Commutation, Expr, Func, Kron, MatPow, Mul, Ones, Transpose
from .rewrites import TABLE, Rewrite

WEIGHTS: dict[type, float] = {Transpose: 1.5, Kron: 4.0, Commutation: 2.0, MatPow: 2.0}
"""The cost of an operator beyond 1: a Kronecker product or K builds a large matrix."""
_BUILDS_MATRIX = {"diagm": 2.0, "inv": 2.0}


@lru_cache(maxsize=1 << 16)
def cost(e: Expr) -> float:
    """The cost of a tree: each node 1, more for the operators that build large matrices."""
    own = WEIGHTS.get(type(e), 1.0)
    if isinstance(e, Func):
        own = _BUILDS_MATRIX.get(e.name, 1.0)
    return own + sum(cost(c) for c in e.children)


@dataclass(frozen=True)
class Fired:
    """One rewrite that fired: the entry, and the sub-expression before and after."""

    rule: Rewrite
    before: Expr
    after: Expr

    @property
    def label(self) -> str:
        return self.rule.label


MAX_STEPS = 10_000
MAX_GROWTH = 200.0
"""The growth a run allows beyond the cost of its input (so, linear in the input)."""


class Rewriter:
    """Applies a table of rewrites (by default the whole of :data:`TABLE`)."""

    def __init__(self, table: tuple[Rewrite, ...] = TABLE) -> None:
        self.table = table
        self.chain: list[Rewrite] = [r for r in table if r.chain]
        self.by_type: dict[type, list[Rewrite]] = {}
        self.by_head: dict[str, list[Rewrite]] = {}  # the entries rooted at a call of a name
        for r in table:
            if not r.chain:
                self.by_type.setdefault(r.node, []).append(r)
        for r in self.by_type.get(Func, []):
            for name in getattr(r.apply, "heads", ()):
                self.by_head.setdefault(name, []).append(r)
        self.any_head = [r for r in self.by_type.get(Func, []) if not hasattr(r.apply, "heads")]
        self.done: dict[int, tuple[Expr, Expr]] = {}  # by identity: the results of finished runs
        self.cache_clear = self.done.clear  # forget them (as the lru caches of matdiff are cleared)

    def run(self, e: Expr, log: list[Fired] | None = None, max_steps: int = MAX_STEPS,
            max_growth: float = MAX_GROWTH) -> Expr:
        """e with the table applied until no entry fires (or a bound is reached).

        A run that records nothing reuses the results of earlier such runs (a tree is
        rewritten once, however many stages ask), and adds its own unless a bound stopped it."""
        budget = max_growth + cost(e) if max_growth > 0 else 0.0
        if log is not None:
            return _Run(self, log, max_steps, budget, {}, {}).go(e)
        run = _Run(self, None, max_steps, budget, self.done, {})
        out = run.go(e)
        if not run.bounded:
            if len(self.done) > 1 << 16:
                self.done.clear()
            self.done.update(run.memo)
        return out


def _may_chain(f: Expr) -> bool:
    """A factor some chain entry looks for (the others leave a product alone)."""
    return isinstance(f, (Kron, Commutation, Ones, Add)) or (isinstance(f, Func) and f.name == "diagm")


class _Run:
    def __init__(self, rw: Rewriter, log: list[Fired] | None, max_steps: int, max_growth: float,
                 done: dict[int, tuple[Expr, Expr]], memo: dict[int, tuple[Expr, Expr]]) -> None:
        self.rw, self.log = rw, log
        self.steps, self.max_steps = 0, max_steps
        self.growth, self.max_growth = 0.0, max_growth
        self.bounded = False  # a bound stopped a rewrite
        self.done = done  # results of earlier runs, read only
        self.memo = memo  # by identity: equal sums keep their own order

    def go(self, x: Expr) -> Expr:
        for table in (self.memo, self.done):
            hit = table.get(id(x))
            if hit is not None and hit[0] is x:
                return hit[1]
        y = x
        kids = x.children
        if kids:
            new = tuple(self.go(k) for k in kids)
            if any(a is not b for a, b in zip(new, kids)):
                y = A.rebuild(x, new)
        z = None
        if self.steps < self.max_steps:
            z = self.once(y)
        else:
            self.bounded = True
        if z is not None:  # the result is rewritten in turn
            y = self.go(z)
        self.memo[id(x)] = (x, y)
        return y

    def once(self, y: Expr) -> Expr | None:
        """The first entry that fires at y (its result, recorded), or None."""
        if self.rw.chain and isinstance(y, Mul) and any(map(_may_chain, y.factors)):
            fs = list(y.factors)
            for i in range(1, len(fs)):
                if fs[i].is_scalar or fs[i - 1].is_scalar:
                    continue
                for r in self.rw.chain:
                    hit = r.apply(fs, i)
                    if hit is not None:
                        j, repl = hit
                        out = A.mul(*fs[:j], *repl, *fs[i + 1:])
                        if self.accept(r, y, out):
                            return out
        if isinstance(y, Func):
            entries = self.rw.by_head.get(y.name, ())
            entries = [r for r in self.rw.by_type[Func] if r in entries or r in self.rw.any_head] \
                if self.rw.any_head else entries
        else:
            entries = self.rw.by_type.get(type(y), ())
        for r in entries:
            out = r.apply(y)
            if out is not None and out is not y and self.accept(r, y, out):
                return out
        return None

    def accept(self, r: Rewrite, before: Expr, after: Expr) -> bool:
        if after == before:
            return False
        grow = cost(after) - cost(before)
        if grow > 0:
            if self.growth + grow > self.max_growth:
                self.bounded = True
                return False
            self.growth += grow
        self.steps += 1
        if self.log is not None:
            self.log.append(Fired(r, before, after))
        return True


DEFAULT = Rewriter()


def rewrite(e: Expr, log: list[Fired] | None = None) -> Expr:
    """e with every identity of the table applied (see the module docstring)."""
    return DEFAULT.run(e, log)


def replay(e: Expr, fired: list[Fired]) -> list[tuple[Fired, Expr]]:
    """The whole expression after each recorded rewrite of ``rewrite(e, log)``, for display:
    [(rewrite, e so far)], each rewrite substituted where its sub-expression stands."""
    out: list[tuple[Fired, Expr]] = []
    cur = e
    for f in fired:
        nxt = A.substitute(cur, {f.before: f.after})
        if nxt is cur or nxt == cur:
            continue
        cur = nxt
        out.append((f, cur))
    return out


__all__ = ["Rewriter", "Fired", "rewrite", "replay", "cost", "DEFAULT"]
