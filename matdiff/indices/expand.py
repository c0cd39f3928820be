"""A matrix expression written entry by entry: (A B)ᵢⱼ = Σₖ Aᵢₖ Bₖⱼ, (Aᵀ)ᵢⱼ = Aⱼᵢ,
Iᵢⱼ = δᵢⱼ, and a slice variable ``Phi[:,i,:]`` at (k, j) is Φₖᵢⱼ.  This gives
the index form of every matrix answer, and its evaluation by einsum."""
from __future__ import annotations

from ..core import construct as A
from ..core.catalogue import ELEMENTWISE, VECTOR
from ..core.nodes import (Add, DimSize, Expr, Func, Hadamard, Identity, MatPow, Mul, Num, Ones, Power, Sym,
                          Transpose, Where, Zero)
from ..errors import UnsupportedError
from . import ricci as R
from .lower import Arrays
from .recover import Slice


class Expansion:
    def __init__(self, arrays: Arrays, slices: dict[str, Slice] | None = None,
                 rename: dict[str, str] | None = None, subst: dict[str, R.Ricci] | None = None) -> None:
        self.arrays = arrays
        self.slices = slices or {}
        self.rename = rename or {}
        self.subst = subst or {}  # scalar names standing for an index expression (a named sum)

    def fresh(self, dim) -> str:
        k = R.fresh()
        self.arrays.dims[k] = dim
        return k

    @staticmethod
    def axes(e: Expr) -> list:
        return [d for d in e.shape if d != 1]

    def __call__(self, e: Expr, want: list[str]) -> R.Ricci:
        return self.x(e, want)

    def x(self, e: Expr, want: list[str]) -> R.Ricci:
        if isinstance(e, Sym):
            if e.name in self.subst:
                return self.subst[e.name]
            s = self.slices.get(e.name)
            if s is None:
                return R.Entry(e.name, tuple(want))
            it = iter(want)
            return R.Entry(s.name, tuple(next(it) if p == ":" else self.rename.get(p, p) for p in s.pattern))
        if isinstance(e, Num):
            return R.Const(e.value)
        if isinstance(e, Identity):
            return R.delta(want[0], want[1])
        if isinstance(e, Zero):
            return R.ZERO
        if isinstance(e, Ones):
            return R.ONE
        if isinstance(e, DimSize):
            return R.isum([self.fresh(e.dim)], R.ONE)
        if isinstance(e, Add):
            return R.add(*[self.x(t, [] if t.is_scalar else want) for t in e.terms])
        if isinstance(e, Hadamard):
            return R.prod(*[self.x(t, [] if t.is_scalar else want) for t in e.factors])
        if isinstance(e, Mul):
            scalars = [self.x(f, []) for f in e.factors if f.is_scalar]
            chain = [f for f in e.factors if not f.is_scalar]
            return R.prod(*scalars, self.chain(chain, want)) if chain else R.prod(*scalars)
        if isinstance(e, MatPow) and e.k > 0:
            return self.chain([e.base] * e.k, want)
        if isinstance(e, Transpose):
            return self.x(e.arg, list(reversed(want)))
        if isinstance(e, Power):
            return R.power(self.x(e.base, want), self.x(e.exp, []))
        if isinstance(e, Where):
            return self.x(A.substitute(e.body, {e.name: e.value}), want)
        if isinstance(e, Func):
            return self.func(e, want)
        raise UnsupportedError(f"'{e}' has no index form yet")

    def chain(self, factors: list[Expr], want: list[str]) -> R.Ricci:
        left = want[0] if factors[0].shape[0] != 1 else None
        right = want[-1] if factors[-1].shape[1] != 1 else None
        parts, bound = [], []
        prev = left
        for n, f in enumerate(factors):
            if n == len(factors) - 1:
                nxt = right
            elif f.shape[1] != 1:
                nxt = self.fresh(f.shape[1])
                bound.append(nxt)
            else:
                nxt = None
            keys = [k for k, d in ((prev, f.shape[0]), (nxt, f.shape[1])) if d != 1]
            parts.append(self.x(f, keys))
            prev = nxt
        return R.isum(bound, R.prod(*parts))

    def func(self, e: Func, want: list[str]) -> R.Ricci:
        name, a = e.name, e.arg
        if name in ELEMENTWISE:
            return R.Fn(name, self.x(a, want))
        keys = [self.fresh(d) for d in self.axes(a)]
        reduced = R.reduction(name, lambda ks: self.x(a, ks), keys)
        if reduced is not None:
            return reduced
        if name in VECTOR:
            return R.vector_function(name, self.x(a, keys), keys[0], want)
        if name in ("inv", "det", "logdet") and len(keys) == 2:
            return R.MatFn(name, self.x(a, keys), (keys[0], keys[1]), tuple(want) if name == "inv" else ())
        if name == "diagm":
            return R.prod(self.x(a, [want[0]]), R.delta(want[0], want[1]))
        if name == "diagv":
            return self.x(a, [want[0], want[0]])
        raise UnsupportedError(f"{name}() has no index form yet")
