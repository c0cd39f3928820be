"""The typed raw tree with subscripts becomes an expression in indices.

``lower(r, want)`` is the entry of r at the indices ``want``, one index per
axis of r that is not 1: a product A B at (i, j) is Σₖ Aᵢₖ Bₖⱼ, a transpose
swaps the indices, I is δ, sum(A) is Σᵢⱼ Aᵢⱼ, and a subscript fixes axes."""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from ..core.catalogue import CONSTRUCTORS, ELEMENTWISE, VECTOR
from ..core.names import RESERVED_NAMES
from ..errors import UnsupportedError
from ..frontend.syntax import Raw
from ..frontend.types import integer_exponent
from . import ricci as R
from .typing import IndexInference, axes_of_shape


MAX_CHAIN = 64  # the largest matrix power Xᵏ written out in indices, as k factors


@dataclass
class Arrays:
    """What the index stage knows of the arrays and indices of one expression."""

    axes: dict[str, tuple] = field(default_factory=dict)  # name -> axis sizes (dimension letters)
    kinds: dict[str, str] = field(default_factory=dict)  # name -> scalar / vector / matrix / tensor / …
    dims: dict[str, object] = field(default_factory=dict)  # index -> its range (a dimension letter)
    shown: dict[str, str] = field(default_factory=dict)  # index -> the name typed

    def order(self, name: str) -> int:
        return len(self.axes[name])


class IndexLowering:
    def __init__(self, inf: IndexInference) -> None:
        self.inf = inf
        self.arrays = Arrays(shown=dict(inf.shown))
        for key, d in inf.index_dim.items():
            self.arrays.dims[key] = inf.final_dim(d)
        for name, s in inf.sym_shapes.items():
            self.arrays.axes[name] = tuple(inf.final_dim(t) for t in axes_of_shape(inf, s))
        for name, ax in inf.tensor_axes.items():
            self.arrays.axes[name] = tuple(inf.final_dim(t) for t in ax)
        from ..frontend.types import default_kind
        for name in self.arrays.axes:
            self.arrays.kinds[name] = inf.types.get(name) or default_kind(name)

    def fresh(self, dim) -> str:
        k = R.fresh()
        self.arrays.dims[k] = self.inf.final_dim(dim)
        return k

    def axes(self, r: Raw) -> list:
        return axes_of_shape(self.inf, self.inf.shape(r))

    def scalar(self, r: Raw) -> bool:
        return not self.axes(r)

    def fail(self, r: Raw, what: str) -> UnsupportedError:
        return UnsupportedError(f"{what} has no index form yet: write '{self.inf.src(r)}' outside "
                                "subscripts and index sums", self.inf.text, r.start, max(1, r.end - r.start))

    def lower(self, r: Raw, want: list[str]) -> R.Ricci:
        op, args = r.op, r.args
        if op == "num":
            return R.Const(Fraction(args[0]))
        if op == "name":
            name = args[0]
            if name in RESERVED_NAMES and name not in self.inf.types:
                return R.delta(want[0], want[1])
            return R.Entry(name, tuple(want))
        if op in ("paren", "pos"):
            return self.lower(args[0], want)
        if op == "neg":
            return R.neg(self.lower(args[0], want))
        if op == "transpose":
            return self.lower(args[0], list(reversed(want)))
        if op in ("add", "sub"):
            a, b = (self.lower(x, [] if self.scalar(x) else want) for x in args)
            return R.add(a, R.neg(b) if op == "sub" else b)
        if op in ("hadamard", "ediv"):
            a, b = (self.lower(x, [] if self.scalar(x) else want) for x in args)
            return R.prod(a, R.power(b, R.const(-1)) if op == "ediv" else b)
        if op == "div":
            return R.prod(self.lower(args[0], want), R.power(self.lower(args[1], []), R.const(-1)))
        if op == "mul":
            return self._mul(r, want)
        if op == "pow":
            base, ex = args
            inner = base.args[0] if base.op == "paren" else base
            if inner.op == "call" and inner.args[0] == "norm2" and integer_exponent(ex) == 2:
                a = inner.args[1]  # norm2(A)^2 = Σ Aᵢⱼ², without the square root
                keys = [self.fresh(t) for t in self.axes(a)]
                return R.isum(keys, R.power(self.lower(a, keys), R.const(2)))
            if self.scalar(base):
                return R.power(self.lower(base, []), self.lower(ex, []))
            k = integer_exponent(ex)
            if k is None or k < 1:
                raise self.fail(r, "a matrix power with an exponent below 1")
            if k > MAX_CHAIN:  # written out as a chain of k factors
                raise self.fail(r, f"a matrix power above {MAX_CHAIN}")
            return self._chain([base] * k, want)
        if op == "epow":
            return R.power(self.lower(args[0], want), self.lower(args[1], []))
        if op == "call":
            return self._call(r, want)
        if op == "subscript":
            base, subs = args
            it = iter(want)
            keys = [next(it) if n == ":" else self.inf.keys[(id(r), p)] for p, (n, _) in enumerate(subs)]
            if base.op == "name" and id(base) in self.inf.bases:
                name = base.args[0]
                if name in RESERVED_NAMES and name not in self.inf.types:
                    return R.delta(keys[0], keys[1])
                return R.Entry(name, tuple(keys))
            return self.lower(base, keys)
        if op == "index_sum":
            keys = [self.inf.keys[(id(r), p)] for p in range(len(args[0]))]
            return R.isum(keys, self.lower(args[1], want))
        if op == "delta":
            return R.delta(self.inf.keys[(id(r), 0)], self.inf.keys[(id(r), 1)])
        if op == "kron":
            raise self.fail(r, "a Kronecker product")
        raise AssertionError(op)

    def _mul(self, r: Raw, want: list[str]) -> R.Ricci:
        a, b = r.args
        if self.scalar(a):
            return R.prod(self.lower(a, []), self.lower(b, want))
        if self.scalar(b):
            return R.prod(self.lower(a, want), self.lower(b, []))
        return self._chain([a, b], want)

    def _chain(self, factors: list[Raw], want: list[str]) -> R.Ricci:
        """(F₁ F₂ … Fₖ) at want: a sum over the inner indices."""
        shapes = [self.inf.shape(f) for f in factors]
        rows = bool(self.inf.dims.resolve(shapes[0][0]))
        left = want[0] if rows else None
        right = want[-1] if bool(self.inf.dims.resolve(shapes[-1][1])) else None
        parts, bound = [], []
        prev = left
        for n, (f, s) in enumerate(zip(factors, shapes)):
            if n == len(factors) - 1:
                nxt = right
            elif self.inf.dims.resolve(s[1]):
                nxt = self.fresh(s[1])
                bound.append(nxt)
            else:
                nxt = None
            keys = [k for k, t in ((prev, s[0]), (nxt, s[1])) if self.inf.dims.resolve(t)]
            parts.append(self.lower(f, keys))
            prev = nxt
        return R.isum(bound, R.prod(*parts))

    def _call(self, r: Raw, want: list[str]) -> R.Ricci:
        fn, *args = r.args
        a = args[0]
        if fn in ELEMENTWISE:
            return R.Fn(fn, self.lower(a, want))
        if fn in CONSTRUCTORS:
            return self.lower(a, [])
        keys = [self.fresh(t) for t in self.axes(a)]
        reduced = R.reduction(fn, lambda ks: self.lower(a, ks), keys)
        if reduced is not None:
            return reduced
        if fn in VECTOR:
            return R.vector_function(fn, self.lower(a, keys), keys[0], want)
        if fn in ("inv", "det", "logdet") and len(keys) == 2:
            return R.MatFn(fn, self.lower(a, keys), (keys[0], keys[1]), tuple(want) if fn == "inv" else ())
        if fn in ("inv", "det", "logdet"):
            return R.power(self.lower(a, []), R.const(-1)) if fn == "inv" else \
                (self.lower(a, []) if fn == "det" else R.Fn("log", R.Fn("abs", self.lower(a, []))))
        if fn == "diag" and len(keys) == 1:
            return R.prod(self.lower(a, [want[0]]), R.delta(want[0], want[1]))
        if fn == "diag" and len(keys) == 2:
            return self.lower(a, [want[0], want[0]])
        raise self.fail(r, f"{fn}()")
