"""The immutable expression tree.

Every node is a frozen dataclass that knows its shape ``(rows, cols)``; a
dimension is the integer 1 or a symbolic name (``"m"``, ``"n"``, ...).
Scalars are 1×1, vectors n×1, row vectors 1×n.  Structural ``==`` is exact
(sums and Hadamard products compare as multisets, since they commute);
mathematical equivalence is the business of :mod:`matdiff.simplify` and of
the numeric checks.  Nodes are built through :mod:`matdiff.algebra`, whose
constructors keep them in canonical form.
"""
from __future__ import annotations

import weakref
from collections import Counter
from dataclasses import MISSING, dataclass, fields
from fractions import Fraction
from typing import Callable, ClassVar, Iterator

Dim = int | str
Shape = tuple[Dim, Dim]
SCALAR: Shape = (1, 1)


class _Interned(type):
    """Hash-consing: building a node equal to a live one returns the live one,
    so that equal trees are one object and comparing them costs nothing."""

    def __call__(cls, *args, **kwargs):
        names, defaults = cls.__dict__.get("_init") or _init_fields(cls)
        try:
            values = args if len(args) == len(names) and not kwargs else _field_values(names, defaults, args, kwargs)
            key = (cls, *map(_by_identity, values))
            live = _TABLE.get(key)  # looked up before the node is built: most nodes built exist already
        except TypeError:  # an unhashable field (or a missing one, which the constructor reports)
            return super().__call__(*args, **kwargs)
        if live is not None:
            return live
        obj = super().__call__(*args, **kwargs)
        _TABLE[key] = obj
        return obj


_MISSING = object()


def _init_fields(cls) -> tuple[tuple[str, ...], tuple]:
    """The node's fields in constructor order, with their defaults (_MISSING where there is none)."""
    fs = fields(cls)
    spec = (tuple(f.name for f in fs),
            tuple(_MISSING if f.default is MISSING else f.default for f in fs))
    type.__setattr__(cls, "_init", spec)
    return spec


def _field_values(names: tuple[str, ...], defaults: tuple, args: tuple, kwargs: dict) -> tuple:
    values = list(args) + [kwargs.get(n, d) for n, d in zip(names[len(args):], defaults[len(args):])]
    if len(values) != len(names) or any(v is _MISSING for v in values) or not kwargs.keys() <= set(names):
        raise TypeError("a field missing or unknown")  # the constructor itself says which
    return tuple(values)


_TABLE: "weakref.WeakValueDictionary" = weakref.WeakValueDictionary()


PRINTERS: dict[str, Callable[["Expr"], str]] = {}
"""The text and LaTeX printers, registered by :mod:`matdiff.present.printing` (which
sits at the end of the pipeline), so that a node prints itself with ``str``."""


def _by_identity(v):
    """A field in the interning key: children by identity, so that f(A + B) and f(B + A),
    equal as trees, stay two objects that each print their sum in its own order (a child
    outlives every key that names it: its parent holds it)."""
    if isinstance(v, tuple):
        return tuple(id(x) if isinstance(x, Expr) else x for x in v)
    return id(v) if isinstance(v, Expr) else v


class Expr(metaclass=_Interned):
    """Base of all nodes: cached hash, structural equality, child access."""

    shape: Shape
    _child_fields: ClassVar[tuple[str, ...]] = ()
    commutative: ClassVar[bool] = False

    # -- identity ---------------------------------------------------------
    def _key(self) -> tuple:
        names = type(self).__dict__.get("_names")
        if names is None:
            names = tuple(f.name for f in fields(self) if f.compare)  # type: ignore[arg-type]
            type.__setattr__(type(self), "_names", names)
        return tuple(getattr(self, n) for n in names)

    def __hash__(self) -> int:
        h = self.__dict__.get("_h")
        if h is None:
            key = self._key()
            if self.commutative:
                items = key[0]
                h = hash((type(self).__name__, frozenset(Counter(items).items()), key[1:]))
            else:
                h = hash((type(self).__name__, key))
            object.__setattr__(self, "_h", h)
        return h

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if type(self) is not type(other) or hash(self) != hash(other):
            return False
        a, b = self._key(), other._key()  # type: ignore[attr-defined]
        if self.commutative:
            return a[1:] == b[1:] and Counter(a[0]) == Counter(b[0])
        return a == b

    # -- structure --------------------------------------------------------
    @property
    def children(self) -> tuple[Expr, ...]:
        kids = self.__dict__.get("_kids")
        if kids is None:  # found once: a node never changes
            out: list[Expr] = []
            for name in self._child_fields:
                v = getattr(self, name)
                if isinstance(v, tuple):
                    out.extend(v)
                else:
                    out.append(v)
            kids = tuple(out)
            object.__setattr__(self, "_kids", kids)
        return kids

    def walk(self) -> Iterator[Expr]:
        """Every node of the tree, each distinct node once (iterative, preorder)."""
        seen: set[int] = set()
        stack: list[Expr] = [self]
        while stack:
            e = stack.pop()
            if id(e) in seen:
                continue
            seen.add(id(e))
            yield e
            stack.extend(reversed(e.children))

    @property
    def is_scalar(self) -> bool:
        return self.shape == SCALAR

    @property
    def is_vector(self) -> bool:
        return self.shape[1] == 1 and self.shape[0] != 1

    @property
    def is_row(self) -> bool:
        return self.shape[0] == 1 and self.shape[1] != 1

    @property
    def is_square(self) -> bool:
        return self.shape[0] == self.shape[1]

    def __str__(self) -> str:
        return PRINTERS["text"](self)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self}>"

    def _repr_latex_(self) -> str:
        return f"$\\displaystyle {PRINTERS['latex'](self)}$"


def shape_text(shape: Shape) -> str:
    """A shape as users read it: ``m×n``, ``m·n×1``."""
    return "×".join(str(d).replace("*", "·") for d in shape)


def node(cls):
    """Decorator: a frozen dataclass node with cached hash and custom equality."""
    cls = dataclass(frozen=True, eq=False, repr=False)(cls)
    return cls


# -- leaves ---------------------------------------------------------------
@node
class Sym(Expr):
    """A named variable: scalar, vector, matrix or symmetric matrix."""

    name: str
    shape: Shape
    symmetric: bool = False
    probability: bool = False  # a vector declared to sum to 1


@node
class Num(Expr):
    """An exact rational constant (a scalar)."""

    value: Fraction
    shape: Shape = SCALAR


@node
class Identity(Expr):
    """I, the n×n identity."""

    shape: Shape


@node
class Zero(Expr):
    """The zero of a shape."""

    shape: Shape


@node
class Ones(Expr):
    """𝟙, the array of ones of a shape (``vector(1)``, ``matrix(1)``)."""

    shape: Shape


@node
class Commutation(Expr):
    """K(m,n), the commutation matrix: K vec(A) = vec(Aᵀ) for A m×n."""

    m: Dim
    n: Dim
    shape: Shape = SCALAR  # set by algebra.commutation


@node
class Differential(Expr):
    """dX, the differential of the variable X."""

    var: Sym
    shape: Shape


@node
class DimSize(Expr):
    """The size of a symbolic dimension as a scalar (tr(I) = n)."""

    dim: Dim
    shape: Shape = SCALAR


# -- operators ------------------------------------------------------------
@node
class Add(Expr):
    """A sum of terms of one shape."""

    terms: tuple[Expr, ...]
    shape: Shape
    _child_fields: ClassVar = ("terms",)
    commutative: ClassVar = True


@node
class Mul(Expr):
    """A product: scalar factors first (a Num, if any, leading), then a
    matrix chain whose inner dimensions agree."""

    factors: tuple[Expr, ...]
    shape: Shape
    _child_fields: ClassVar = ("factors",)


@node
class Hadamard(Expr):
    """An element-wise product A ⊙ B ⊙ …, all factors of one shape."""

    factors: tuple[Expr, ...]
    shape: Shape
    _child_fields: ClassVar = ("factors",)
    commutative: ClassVar = True


@node
class Kron(Expr):
    """A Kronecker product A ⊗ B ⊗ …"""

    factors: tuple[Expr, ...]
    shape: Shape
    _child_fields: ClassVar = ("factors",)


@node
class Transpose(Expr):
    """Aᵀ; built only where the transpose cannot be pushed further in."""

    arg: Expr
    shape: Shape
    _child_fields: ClassVar = ("arg",)


@node
class Func(Expr):
    """A function of the language applied to one argument (see catalogue.py)."""

    name: str
    arg: Expr
    shape: Shape
    _child_fields: ClassVar = ("arg",)


@node
class Power(Expr):
    """Element-wise power A .^ p with a scalar exponent p (s^p for scalars)."""

    base: Expr
    exp: Expr
    shape: Shape
    _child_fields: ClassVar = ("base", "exp")


@node
class MatPow(Expr):
    """Integer matrix power Xᵏ (k ≥ 2) of a square X; X⁻ᵏ is inv(X)ᵏ."""

    base: Expr
    k: int
    shape: Shape
    _child_fields: ClassVar = ("base",)


@node
class Unvec(Expr):
    """The inverse of vec: the m×n matrix whose columns stack to the argument."""

    arg: Expr
    shape: Shape
    _child_fields: ClassVar = ("arg",)


@node
class Where(Expr):
    """``body where name = value``: a named sub-expression, for printing."""

    body: Expr
    name: Sym
    value: Expr
    shape: Shape
    _child_fields: ClassVar = ("body", "value")


@node
class Group(Expr):
    """A product kept whole: the prefix F₁⋯Fᵢ or suffix Fᵢ⋯F_k that the terms of a long
    product rule share, so that d(F₁⋯F_k) = Σ Pᵢ₋₁ dFᵢ Sᵢ₊₁ is linear in k, not quadratic.
    The constructors do not flatten it; it means, prints and evaluates as its argument."""

    arg: Expr
    shape: Shape
    _child_fields: ClassVar = ("arg",)


@node
class D(Expr):
    """d(A): the differential of a sub-expression, not yet expanded (for steps)."""

    arg: Expr
    shape: Shape
    _child_fields: ClassVar = ("arg",)


Leaf = (Sym, Num, Identity, Zero, Ones, Commutation, Differential, DimSize)

