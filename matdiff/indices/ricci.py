"""Expressions in indices (Ricci notation): every node is a scalar that
depends on its free indices.  ``Entry("Phi", ("k", "i", "j"))`` is Φₖᵢⱼ,
``Sum(("k",), e)`` is Σₖ e, ``Delta("i", "j")`` is δᵢⱼ.

Indices are strings: the names typed by the user (``i``), bound indices made
unique (``i#2``) and fresh ones from matrix products (``#3``); printers choose
the names shown."""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from fractions import Fraction
from typing import Union

from ..core.catalogue import lookup


class Ricci:
    """Base class of index expressions."""

    @property
    def free(self) -> frozenset[str]:
        return free_indices(self)


@dataclass(frozen=True)
class Const(Ricci):
    """A rational constant."""

    value: Fraction


@dataclass(frozen=True)
class Entry(Ricci):
    """An entry X[i,j,…] of a named array (a scalar has no indices)."""

    name: str
    idx: tuple[str, ...]


@dataclass(frozen=True)
class Delta(Ricci):
    """Kronecker's δᵢⱼ."""

    i: str
    j: str


@dataclass(frozen=True)
class Add(Ricci):
    terms: tuple[Ricci, ...]


@dataclass(frozen=True)
class Prod(Ricci):
    factors: tuple[Ricci, ...]


@dataclass(frozen=True)
class Pow(Ricci):
    """base ** exp, exp a scalar without free indices."""

    base: Ricci
    exp: Ricci


@dataclass(frozen=True)
class Fn(Ricci):
    """An element-wise function of a scalar: abs, exp, log, …"""

    name: str
    arg: Ricci


@dataclass(frozen=True)
class VecFn(Ricci):
    """A function of a whole vector v (vᵢ = ``arg`` for the index ``axis``, bound here), a
    record of the catalogue's vector group: the entry ``f(v)[at]`` of a vector-valued one, or
    the scalar ``f(v)`` (``at`` is None)."""

    name: str
    arg: Ricci
    axis: str
    at: str | None


@dataclass(frozen=True)
class MatFn(Ricci):
    """A function of a whole square matrix M (Mᵣ꜀ = ``arg`` for the indices ``axes``,
    bound here): ``inv(M)[at]``, or the scalars ``det(M)``, ``logdet(M)`` (``at`` empty)."""

    name: str
    arg: Ricci
    axes: tuple[str, str]
    at: tuple[str, ...] = ()


@dataclass(frozen=True)
class Sum(Ricci):
    """Σ over the indices ``idx`` (bound) of ``body``."""

    idx: tuple[str, ...]
    body: Ricci


Node = Union[Const, Entry, Delta, Add, Prod, Pow, Fn, VecFn, MatFn, Sum]
ZERO = Const(Fraction(0))
ONE = Const(Fraction(1))

_fresh = itertools.count(1)


def fresh() -> str:
    """A new index, shown with a free letter when printed."""
    return f"#{next(_fresh)}"


def children(e: Ricci) -> tuple[Ricci, ...]:
    if isinstance(e, (Add,)):
        return e.terms
    if isinstance(e, Prod):
        return e.factors
    if isinstance(e, Pow):
        return (e.base, e.exp)
    if isinstance(e, (Fn, VecFn, MatFn)):
        return (e.arg,)
    if isinstance(e, Sum):
        return (e.body,)
    return ()


def free_indices(e: Ricci) -> frozenset[str]:
    if isinstance(e, Entry):
        return frozenset(e.idx)
    if isinstance(e, Delta):
        return frozenset((e.i, e.j))
    if isinstance(e, Sum):
        return free_indices(e.body) - set(e.idx)
    if isinstance(e, VecFn):
        out = free_indices(e.arg) - {e.axis}
        return out | {e.at} if e.at else out
    if isinstance(e, MatFn):
        return (free_indices(e.arg) - set(e.axes)) | set(e.at)
    out: frozenset[str] = frozenset()
    for c in children(e):
        out |= free_indices(c)
    return out


def walk(e: Ricci):
    stack = [e]
    while stack:
        x = stack.pop()
        yield x
        stack.extend(children(x))


def names(e: Ricci) -> set[str]:
    """The arrays an expression reads."""
    return {x.name for x in walk(e) if isinstance(x, Entry)}


def rename(e: Ricci, m: dict[str, str]) -> Ricci:
    """Rename free indices (bound ones are unique, so they never capture)."""
    if not m:
        return e
    if isinstance(e, Entry):
        return Entry(e.name, tuple(m.get(i, i) for i in e.idx))
    if isinstance(e, Delta):
        return delta(m.get(e.i, e.i), m.get(e.j, e.j))
    if isinstance(e, Const):
        return e
    if isinstance(e, Add):
        return add(*[rename(t, m) for t in e.terms])
    if isinstance(e, Prod):
        return prod(*[rename(f, m) for f in e.factors])
    if isinstance(e, Pow):
        return power(rename(e.base, m), rename(e.exp, m))
    if isinstance(e, Fn):
        return Fn(e.name, rename(e.arg, m))
    if isinstance(e, VecFn):
        inner = {k: v for k, v in m.items() if k != e.axis}
        return VecFn(e.name, rename(e.arg, inner), e.axis, m.get(e.at, e.at) if e.at else None)
    if isinstance(e, MatFn):
        inner = {k: v for k, v in m.items() if k not in e.axes}
        return MatFn(e.name, rename(e.arg, inner), e.axes, tuple(m.get(k, k) for k in e.at))
    if isinstance(e, Sum):
        inner = {k: v for k, v in m.items() if k not in e.idx}
        return isum(e.idx, rename(e.body, inner))
    raise TypeError(type(e).__name__)


# -- constructors with the obvious simplifications ------------------------------
def const(v) -> Const:
    return Const(Fraction(v))


def delta(i: str, j: str) -> Ricci:
    return ONE if i == j else Delta(i, j)


def add(*terms: Ricci) -> Ricci:
    flat: list[Ricci] = []
    c = Fraction(0)
    for t in terms:
        for u in (t.terms if isinstance(t, Add) else (t,)):
            if isinstance(u, Const):
                c += u.value
            else:
                flat.append(u)
    if c:
        flat.append(Const(c))
    if not flat:
        return ZERO
    return flat[0] if len(flat) == 1 else Add(tuple(flat))


def prod(*factors: Ricci) -> Ricci:
    flat: list[Ricci] = []
    c = Fraction(1)
    for f in factors:
        for u in (f.factors if isinstance(f, Prod) else (f,)):
            if isinstance(u, Const):
                c *= u.value
            else:
                flat.append(u)
    if c == 0:
        return ZERO
    flat = _merge_powers(flat)
    if c != 1:
        flat.insert(0, Const(c))
    if not flat:
        return ONE
    return flat[0] if len(flat) == 1 else Prod(tuple(flat))


def _merge_powers(flat: list[Ricci]) -> list[Ricci]:
    """u^p · u^q = u^(p+q) for numeric p, q (so u · u⁻¹ = 1), in the order first met."""
    def split(u: Ricci) -> tuple[Ricci, Fraction] | None:
        if isinstance(u, Pow):
            return (u.base, u.exp.value) if isinstance(u.exp, Const) else None
        return u, Fraction(1)

    total: dict[Ricci, Fraction] = {}
    for u in flat:
        if (bp := split(u)) is not None:
            total[bp[0]] = total.get(bp[0], Fraction(0)) + bp[1]
    if len(total) == sum(1 for u in flat if split(u) is not None):
        return flat
    out: list[Ricci] = []
    done: set[Ricci] = set()
    for u in flat:
        bp = split(u)
        if bp is None:
            out.append(u)
        elif bp[0] not in done:
            done.add(bp[0])
            if total[bp[0]] != 0:
                out.append(power(bp[0], const(total[bp[0]])))
    return out


def neg(e: Ricci) -> Ricci:
    return prod(const(-1), e)


def power(b: Ricci, p: Ricci) -> Ricci:
    if p == ONE:
        return b
    if p == ZERO:
        return ONE
    return Pow(b, p)


def reduction(name: str, entries, keys: list[str]) -> Ricci | None:
    """A reduction in indices, of the array whose entry at ``keys`` is ``entries(keys)``:
    sum(A) = Σ A, norm1(A) = Σ |A|, norm2(A) = (Σ A²)^(1/2), tr(A) = Σₖ A[k,k] (a scalar
    passes); None for a function that is not one of these."""
    if name == "sum":
        return isum(keys, entries(keys))
    if name == "norm1":
        return isum(keys, Fn("abs", entries(keys)))
    if name == "norm2":
        return power(isum(keys, power(entries(keys), const(2))), const(Fraction(1, 2)))
    if name == "tr":
        return entries([]) if not keys else isum(keys[:1], entries([keys[0], keys[0]]))
    return None


def vector_function(name: str, arg: Ricci, axis: str, want) -> VecFn:
    """f(v) for a function of the catalogue's vector group, vᵢ = ``arg`` along ``axis``: its entry
    ``want[0]`` when f is vector-valued, the scalar itself otherwise."""
    return VecFn(name, arg, axis, want[0] if lookup(name).keeps_shape else None)


def isum(idx, body: Ricci) -> Ricci:
    """Σ over idx; an index the body does not use multiplies by its range."""
    if body == ZERO:
        return ZERO
    if not idx:
        return body
    if isinstance(body, Sum):
        return Sum(tuple(idx) + body.idx, body.body)
    return Sum(tuple(idx), body)
