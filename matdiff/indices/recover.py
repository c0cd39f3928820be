"""Back to matrix notation: an expression in indices as a matrix expression.

Entries become variables (``A[i,j]`` is A at (i, j)), or slices when some
indices are held fixed (``Phi[k,i,j]`` with i fixed is the matrix
``Phi[:,i,:]`` at (k, j)); a sum over an index shared by two factors is a
matrix product (Σⱼ Aᵢⱼ xⱼ = (A x)ᵢ), around a cycle a trace
(Σᵢⱼₖ Aᵢⱼ Xⱼₖ Bₖᵢ = tr(A X B)), over an end a sum; equal index sets
multiply entry-wise; δ is I.  What has no such form raises NoMatrixForm."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from ..core import construct as A
from ..core.nodes import DimSize, Expr, Identity, Ones, Sym
from . import ricci as R
from .lower import Arrays


class NoMatrixForm(Exception):
    """The index expression has no matrix form of the kind sought."""


@dataclass(frozen=True)
class Rec:
    """A matrix expression and the indices of its rows and columns (None: 1)."""

    expr: Expr
    row: str | None = None
    col: str | None = None

    @property
    def idx(self) -> tuple[str, ...]:
        return tuple(k for k in (self.row, self.col) if k is not None)


@dataclass(frozen=True)
class Slice:
    """A slice variable: ``name`` with ':' at the kept axes and fixed indices elsewhere."""

    name: str
    pattern: tuple[str, ...]  # ':' or a fixed index, per axis


def slice_name(name: str, pattern, show) -> str:
    return f"{name}[{','.join(p if p == ':' else show(p) for p in pattern)}]"


class Recovery:
    """Recovers matrix forms with the indices ``outer`` held fixed."""

    def __init__(self, arrays: Arrays, outer=frozenset(), show=None) -> None:
        self.arrays = arrays
        self.outer = frozenset(outer)
        self.show = show or (lambda k: arrays.shown.get(k, k))
        self.slices: dict[str, Slice] = {}  # name of the slice variable -> what it is

    def dim(self, key: str):
        return self.arrays.dims[key]

    def __call__(self, e: R.Ricci) -> Rec:
        return self.rec(e)

    def rec(self, e: R.Ricci) -> Rec:
        if isinstance(e, R.Const):
            return Rec(A.num(e.value))
        if isinstance(e, R.Entry):
            return self.entry(e)
        if isinstance(e, R.Delta):
            if e.i in self.outer or e.j in self.outer:
                raise NoMatrixForm("δ with a fixed index")
            return Rec(Identity((self.dim(e.i), self.dim(e.i))), e.i, e.j)
        if isinstance(e, R.Add):
            return self.add([self.rec(t) for t in e.terms])
        if isinstance(e, R.Prod):
            return self.contract([self.rec(f) for f in e.factors], ())
        if isinstance(e, R.Sum):
            factors = e.body.factors if isinstance(e.body, R.Prod) else (e.body,)
            return self.contract([self.rec(f) for f in factors], e.idx)
        if isinstance(e, R.Pow):
            p = self.rec(e.exp)
            if p.idx:
                raise NoMatrixForm("an exponent with indices")
            b = self.rec(e.base)
            return Rec(A.power(b.expr, p.expr), b.row, b.col)
        if isinstance(e, R.Fn):
            a = self.rec(e.arg)
            return Rec(A.func(e.name, a.expr), a.row, a.col)
        if isinstance(e, R.VecFn):
            a = self.rec(e.arg)
            if a.idx != (e.axis,) or (e.at is not None and e.at in self.outer):
                raise NoMatrixForm("a vector function of a non-vector")
            return Rec(A.func(e.name, a.expr), e.at, None)
        if isinstance(e, R.MatFn):
            a = self.rec(e.arg)
            if set(a.idx) != set(e.axes) or len(a.idx) != 2 or any(k in self.outer for k in e.at):
                raise NoMatrixForm("a matrix function of a non-matrix")
            m = a.expr if a.idx == e.axes else A.T(a.expr)
            return Rec(A.func(e.name, m), *e.at)
        raise NoMatrixForm(type(e).__name__)

    def entry(self, e: R.Entry) -> Rec:
        axes = self.arrays.axes[e.name]
        inner = [(p, k) for p, k in enumerate(e.idx) if k not in self.outer]
        if len(inner) > 2:
            raise NoMatrixForm(f"{e.name} keeps more than two axes")
        keys = [k for _, k in inner]
        dims = [axes[p] for p, _ in inner]
        shape = (dims[0] if dims else 1, dims[1] if len(dims) > 1 else 1)
        if len(inner) == len(e.idx):
            kind = self.arrays.kinds.get(e.name)
            sym = Sym(e.name, shape, kind == "symmetric" and len(keys) == 2, kind == "probability")
        else:
            pattern = tuple(":" if k not in self.outer else k for k in e.idx)
            name = slice_name(e.name, pattern, self.show)
            self.slices[name] = Slice(e.name, pattern)
            sym = Sym(name, shape)
        if len(keys) == 2 and keys[0] == keys[1]:
            return Rec(A.func("diag", sym), keys[0])
        return Rec(sym, *keys)

    def align(self, r: Rec, like: Rec) -> Expr:
        return r.expr if r.idx == like.idx else A.T(r.expr)

    def add(self, recs: list[Rec]) -> Rec:
        arrays = [r for r in recs if r.idx]
        if not arrays:
            return Rec(A.add(*[r.expr for r in recs]))
        first = arrays[0]
        if any(set(r.idx) != set(first.idx) for r in arrays):
            raise NoMatrixForm("terms with different indices")
        return Rec(A.add(*[self.align(r, first) if r.idx else r.expr for r in recs]), first.row, first.col)

    def contract(self, recs: list[Rec], summed) -> Rec:
        K = set(summed)
        scalars = [r.expr for r in recs if not r.idx]
        groups: dict = {}
        for r in recs:
            if not r.idx:
                continue
            if r.row == r.col:
                raise NoMatrixForm("a repeated index")
            key = frozenset(r.idx)
            g = groups.get(key)
            if g is not None and len(key) == 1 and key <= K and sum(key <= set(x.idx) for x in recs) == 2:
                groups[(key, 2)] = r  # uᵢ vᵢ summed over i: the inner product u'v, not sum(u .* v)
                continue
            groups[key] = r if g is None else Rec(A.had(g.expr, self.align(r, g)), g.row, g.col)
        items = list(groups.values())
        items = self._absorb(items, K)
        count = Counter(k for it in items for k in it.idx)
        if any(c > 2 for c in count.values()) or any(c > 1 for k, c in count.items() if k not in K):
            raise NoMatrixForm("an index on more than two factors")
        scalars += [DimSize(self.dim(k)) for k in summed if k not in count]  # in order, not by hash
        comps: list[Rec] = []
        unused = list(items)
        while unused:
            comps.append(self._chain(unused, count, K))
        arrays = [c for c in comps if c.idx]
        scalars += [c.expr for c in comps if not c.idx]
        if not arrays:
            return Rec(A.mul(*scalars) if scalars else A.num(1))
        if len(arrays) == 1:
            a = arrays[0]
            return Rec(A.mul(*scalars, a.expr), a.row, a.col)
        if len(arrays) == 2 and all(len(a.idx) == 1 for a in arrays):
            u, v = arrays
            return Rec(A.mul(*scalars, u.expr, A.T(v.expr)), u.row, v.row)
        raise NoMatrixForm("more than two free indices")

    def _absorb(self, items: list[Rec], K: set) -> list[Rec]:
        """xᵢ Aᵢⱼ with i on a third factor, or not summed: (diag(x) A)ᵢⱼ."""
        while True:
            count = Counter(k for it in items for k in it.idx)
            for v in items:
                if len(v.idx) != 1:
                    continue
                i = v.row
                if count[i] >= 3 or (i not in K and count[i] >= 2):
                    m = next((x for x in items if len(x.idx) == 2 and i in x.idx), None)
                    if m is None:
                        continue
                    d = A.func("diag", v.expr)
                    new = Rec(A.mul(d, m.expr) if m.row == i else A.mul(m.expr, d), m.row, m.col)
                    items = [x for x in items if x is not v and x is not m] + [new]
                    break
            else:
                return items

    def _chain(self, unused: list[Rec], count: Counter, K: set) -> Rec:
        """One connected chain of factors, taken out of ``unused``."""
        def is_end(k):
            return k is None or count[k] == 1

        def oriented(r: Rec, left):
            if r.row == left:
                return r.expr, r.row, r.col
            return A.T(r.expr), r.col, r.row

        start = next((r for r in unused if any(is_end(k) for k in (r.row, r.col))), unused[0])
        unused.remove(start)
        if start.col is None:
            expr, left, right = (start.expr, start.row, None) if is_end(start.row) \
                else (A.T(start.expr), None, start.row)
        elif is_end(start.row) or not is_end(start.col):
            expr, left, right = oriented(start, start.row)
        else:
            expr, left, right = oriented(start, start.col)
        exprs = [expr]
        while right is not None and not is_end(right) and right != left:
            nxt = next((r for r in unused if right in r.idx), None)
            if nxt is None:
                raise NoMatrixForm("a broken chain")
            unused.remove(nxt)
            if nxt.col is None:
                e, right = nxt.expr, None
            else:
                e, _, right = oriented(nxt, right)
            exprs.append(e)
        P = A.mul(*exprs)
        if right is not None and right == left and not is_end(left):  # a cycle
            return Rec(A.func("tr", P))
        summed_left = left is not None and left in K
        summed_right = right is not None and right in K
        if (summed_left or left is None) and (summed_right or right is None) and (summed_left or summed_right):
            return Rec(A.func("sum", P))
        if summed_left:
            P, left = A.mul(A.T(Ones((self.dim(left), 1))), P), None
        if summed_right:
            P, right = A.mul(P, Ones((self.dim(right), 1))), None
        if left is None and right is not None:
            return Rec(A.T(P), right)
        return Rec(P, left, right)


__all__ = ["NoMatrixForm", "Rec", "Recovery", "Slice", "slice_name"]
