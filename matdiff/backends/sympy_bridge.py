"""SymPy interoperability: matdiff trees to SymPy matrix expressions and back.

``to_sympy`` maps every node onto SymPy's matrix-expression classes
(``MatrixSymbol``, ``MatMul``, ``Trace``, ``KroneckerProduct``, …).  Three
operators have no SymPy class; they become the small ``MatrixExpr``
subclasses below, which define their entries and so evaluate with
``as_explicit()``:

* ``CommutationMatrix(m, n)`` — K(m,n), K vec(A) = vec(Aᵀ) for A m×n;
* ``Vec(A)``                  — the columns of A stacked;
* ``Unvec(v, m, n)``          — the m×n matrix whose vec is v.

A scalar-valued matrix product (xᵀAy, a 1×1 matrix in SymPy) enters scalar
positions as ``Trace(xᵀAy)``, its only entry.  Symmetric matrices become
plain ``MatrixSymbol``s; :func:`sympy_assumptions` gives the matching
``Q.symmetric`` facts.

``from_sympy`` goes the other way by printing the SymPy expression in the
matdiff language and parsing it, with each name declared from its SymPy
type; ``diff_sympy`` differentiates such an expression with matdiff.
"""
from __future__ import annotations

import re
from fractions import Fraction
from functools import reduce
from typing import Any

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.diagonal import DiagMatrix, DiagonalMatrix, DiagonalOf
from sympy.matrices.expressions.matexpr import MatrixExpr

from ..core import construct as A
from ..core.catalogue import CATALOGUE, ELEMENTWISE_GROUP, lookup
from ..core.nodes import (Add, Commutation, D, Differential, Dim, DimSize, Expr, Func, Hadamard, Identity, Kron,
                  MatPow, Mul, Num, Ones, Power, Sym, Transpose, Unvec as UnvecNode, Where, Zero, Group)
from ..errors import UnsupportedError

# -- SymPy classes for what SymPy lacks ----------------------------------------------


class CommutationMatrix(MatrixExpr):
    """K(m,n), (mn)×(mn): K vec(A) = vec(Aᵀ) for every m×n A.

    Entry (r, c) is 1 exactly when c = ⌊r/n⌋ + m·(r mod n)."""

    def __new__(cls, m: Any, n: Any):
        return super().__new__(cls, sp.sympify(m), sp.sympify(n))

    @property
    def shape(self):
        m, n = self.args
        return (m * n, m * n)

    def _entry(self, i, j, **kwargs):
        m, n = self.args
        return sp.KroneckerDelta(j, sp.floor(i / n) + m * sp.Mod(i, n))

    def _eval_transpose(self):
        m, n = self.args
        return CommutationMatrix(n, m)


class Vec(MatrixExpr):
    """vec(A): the columns of the m×n matrix A stacked, (mn)×1; entry i is A[i mod m, ⌊i/m⌋]."""

    def __new__(cls, arg: Any):
        return super().__new__(cls, sp.sympify(arg))

    @property
    def shape(self):
        m, n = self.args[0].shape
        return (m * n, sp.S.One)

    def _entry(self, i, j, **kwargs):
        a = self.args[0]
        m = a.shape[0]
        return a[sp.Mod(i, m), sp.floor(i / m)]


class Unvec(MatrixExpr):
    """unvec(v): the m×n matrix whose vec is the (mn)-vector v; entry (i, j) is v[i + m·j]."""

    def __new__(cls, arg: Any, m: Any, n: Any):
        return super().__new__(cls, sp.sympify(arg), sp.sympify(m), sp.sympify(n))

    @property
    def shape(self):
        return (self.args[1], self.args[2])

    def _entry(self, i, j, **kwargs):
        v, m, _ = self.args
        return v[i + m * j, 0]


# -- matdiff → SymPy -------------------------------------------------------------------
_T = sp.Dummy("t")
_ELEMENTWISE: dict[str, Any] = {
    f.name: getattr(sp, f.sympy) if isinstance(f.sympy, str) else sp.Lambda(_T, f.sympy(sp, _T))
    for f in CATALOGUE if f.group == ELEMENTWISE_GROUP}
"""Element-wise functions: a SymPy function of one scalar (σ(t) = 1/(1+e⁻ᵗ),
relu(t) = max(t, 0), step(t) = H(t) with H(0) = 0)."""


def dim_symbol(name: str) -> sp.Symbol:
    """The SymPy symbol of a symbolic dimension: a positive integer."""
    return sp.Symbol(name, integer=True, positive=True)


def sympy_dim(d: Dim) -> sp.Expr:
    """A matdiff dimension (1, ``"n"``, ``"m*n"``) as a SymPy integer expression."""
    if d == 1:
        return sp.S.One
    return sp.Mul(*[dim_symbol(p) for p in str(d).split("*")])


def _shape(shape) -> tuple[sp.Expr, sp.Expr]:
    return sympy_dim(shape[0]), sympy_dim(shape[1])


def _scalar(v: Any) -> sp.Expr:
    """A SymPy scalar: a 1×1 matrix expression becomes its trace, its only entry."""
    if isinstance(v, sp.MatrixBase):
        return v[0, 0]
    if isinstance(v, MatrixExpr):
        return sp.Trace(v)
    return v


def _apply(name: str, v: Any, scalar: bool) -> Any:
    f = _ELEMENTWISE[name]
    if scalar:
        return f(_scalar(v))
    return ElementwiseApplyFunction(f if isinstance(f, sp.Lambda) else sp.Lambda(_T, f(_T)), v)


def _sum(v: Any) -> sp.Expr:
    """sum(A) = 𝟙ᵀ A 𝟙."""
    m, n = v.shape
    if n == 1:
        return _scalar(sp.MatMul(sp.OneMatrix(1, m), v))
    return _scalar(sp.MatMul(sp.OneMatrix(1, m), v, sp.OneMatrix(n, 1)))


class _Forms:
    """What a catalogue record's SymPy builder (S, a, e) uses: sp, the matrix classes here, 𝟙ᵀA𝟙."""

    sp = sp
    DiagMatrix = DiagMatrix
    DiagonalOf = DiagonalOf
    Vec = Vec
    sum = staticmethod(lambda v: _sum(v))
    scalar = staticmethod(lambda v: _scalar(v))
    apply = staticmethod(lambda name, v, scalar: _apply(name, v, scalar))


def _func(e: Func, a: Any) -> Any:
    """The SymPy form of ``name(arg)`` for the functions of the language (their catalogue records)."""
    n = e.name
    if n in _ELEMENTWISE:
        return _apply(n, a, e.is_scalar)
    rec = lookup(n)
    if rec is not None and callable(rec.sympy):
        return rec.sympy(_Forms, a, e)
    raise UnsupportedError(f"no SymPy form for the function '{n}'")


def to_sympy(expr: Expr) -> Any:
    """The SymPy matrix expression equal to ``expr`` (a SymPy scalar for a scalar).

    Vectors and matrices are ``MatrixSymbol``s whose symbolic dimensions are
    positive-integer ``Symbol``s; scalar names are plain ``Symbol``s."""
    memo: dict[Expr, Any] = {}

    def go(e: Expr) -> Any:
        out = memo.get(e)
        if out is None:
            out = _convert(e, go)
            if e.is_scalar:
                out = _scalar(out)
            memo[e] = out
        return out

    return go(expr)


def _convert(e: Expr, go) -> Any:
    if isinstance(e, Sym):
        if e.is_scalar:
            return sp.Symbol(e.name)
        return sp.MatrixSymbol(e.name, *_shape(e.shape))
    if isinstance(e, Differential):
        return sp.MatrixSymbol("d" + e.var.name, *_shape(e.shape)) if not e.is_scalar else sp.Symbol("d" + e.var.name)
    if isinstance(e, Num):
        return sp.Rational(e.value.numerator, e.value.denominator)
    if isinstance(e, Identity):
        return sp.Identity(sympy_dim(e.shape[0]))
    if isinstance(e, Zero):
        return sp.ZeroMatrix(*_shape(e.shape))
    if isinstance(e, Ones):
        return sp.OneMatrix(*_shape(e.shape))
    if isinstance(e, Commutation):
        return CommutationMatrix(sympy_dim(e.m), sympy_dim(e.n))
    if isinstance(e, DimSize):
        return sympy_dim(e.dim)
    if isinstance(e, Where):
        return go(A.substitute(e.body, {e.name: e.value}))
    if isinstance(e, Group):
        return go(e.arg)
    if isinstance(e, D):
        raise UnsupportedError("an unexpanded differential d(·) has no SymPy form")
    kids = [go(c) for c in e.children]
    if isinstance(e, Add):
        if e.is_scalar:
            return sp.Add(*[_scalar(k) for k in kids])
        return sp.MatAdd(*kids).doit(deep=False)
    if isinstance(e, Mul):
        scalars = [_scalar(k) for f, k in zip(e.factors, kids) if f.is_scalar]
        chain = [k for f, k in zip(e.factors, kids) if not f.is_scalar]
        coef = sp.Mul(*scalars)
        if not chain:
            return coef
        prod = chain[0] if len(chain) == 1 else sp.MatMul(*chain)
        if e.is_scalar:
            return coef * _scalar(prod)
        return prod if coef == 1 else coef * prod
    if isinstance(e, Hadamard):
        return sp.HadamardProduct(*kids)
    if isinstance(e, Kron):
        return sp.KroneckerProduct(*kids)
    if isinstance(e, Transpose):
        return sp.Transpose(kids[0])
    if isinstance(e, Func):
        return _func(e, kids[0])
    if isinstance(e, Power):
        base, p = kids[0], _scalar(kids[1])
        if e.is_scalar:
            return sp.Pow(_scalar(base), p)
        return sp.HadamardPower(base, p)
    if isinstance(e, MatPow):
        return sp.MatPow(kids[0], e.k)
    if isinstance(e, UnvecNode):
        return Unvec(kids[0], *_shape(e.shape))
    raise UnsupportedError(f"no SymPy form for {type(e).__name__} nodes")


def sympy_assumptions(expr: Expr) -> Any:
    """``Q.symmetric(S)`` for every symmetric matrix S of ``expr`` (``True`` if none),
    for use with ``sympy.ask`` / ``sympy.refine``."""
    facts = [sp.Q.symmetric(sp.MatrixSymbol(s.name, *_shape(s.shape)))
             for s in expr.walk() if isinstance(s, Sym) and s.symmetric]
    return sp.And(*facts) if facts else sp.true


def evaluate_sympy(sympy_expr: Any, values: dict[str, Any], dims: dict[str, int] | None = None) -> Any:
    """The value of a SymPy matrix expression at NumPy arrays given by name.

    ``dims`` gives the size of each dimension symbol; sizes not given are read
    off the arrays.  Vectors may be 1-D.  Evaluated bottom-up by SymPy itself
    (``doit`` / ``as_explicit`` on explicit matrices).  Returns a float, or a
    2-D NumPy array (a vector as n×1)."""
    import numpy as np

    dims = dict(dims or {})
    arrays: dict[Any, Any] = {}
    for ms in sympy_expr.atoms(sp.MatrixSymbol):
        name = str(ms.name)
        if name not in values:
            raise UnsupportedError(f"no value given for the matrix '{name}'")
        a = np.asarray(values[name], dtype=float)
        if a.ndim == 1:
            a = a.reshape(-1, 1) if ms.shape[1] == 1 else a.reshape(1, -1)
        for d, size in zip(ms.shape, a.shape):
            if isinstance(d, sp.Symbol):
                dims.setdefault(d.name, size)
        arrays[ms] = sp.ImmutableMatrix(a.tolist())
    repl: dict[Any, Any] = dict(arrays)
    for s in sympy_expr.free_symbols:
        if isinstance(s, sp.Symbol) and not isinstance(s, sp.Dummy):
            if s.name in dims:
                repl[s] = sp.Integer(dims[s.name])
            elif s.name in values:
                repl[s] = sp.Float(float(values[s.name]))
            else:
                raise UnsupportedError(f"no value given for '{s.name}'")
    memo: dict[Any, Any] = {}

    def ev(e: Any) -> Any:
        if e in repl:
            return repl[e]
        if not e.args or isinstance(e, (sp.Lambda, sp.MatrixBase)):
            return e
        out = memo.get(e)
        if out is not None:
            return out
        if isinstance(e, sp.MatrixSymbol):  # a symbol inside a shape was replaced
            return repl[next(k for k in arrays if k.name == e.name)]
        out = e.func(*[ev(a) for a in e.args]).doit()
        if isinstance(out, MatrixExpr):
            out = out.as_explicit().doit()
        memo[e] = out
        return out

    out = ev(sympy_expr)
    if isinstance(out, sp.MatrixBase):
        return np.array(out.evalf().tolist(), dtype=float)
    return float(sp.N(out))


# -- SymPy → matdiff ---------------------------------------------------------------
_NAME = re.compile(r"^[A-Za-z_\u0370-\u03ff][A-Za-z0-9_\u0370-\u03ff]*$")
_SCALAR_FUNCS: dict[Any, str] = {
    getattr(sp, f.sympy): f.name for f in CATALOGUE
    if f.group == ELEMENTWISE_GROUP and isinstance(f.sympy, str) and isinstance(getattr(sp, f.sympy), type)}


class _Printer:
    """SymPy expression → matdiff text, collecting each name's kind on the way."""

    def __init__(self, types: dict[str, str]):
        self.declared = types
        self.kinds: dict[str, str] = {}

    def name(self, s: Any, kind: str) -> str:
        n = str(s.name)
        if not _NAME.match(n):
            raise UnsupportedError(f"the SymPy name {n!r} is not a matdiff name (letters, digits, '_')")
        self.kinds.setdefault(n, self.declared.get(n, kind))
        return n

    def number(self, x: Any) -> str:
        if x.is_Rational:
            f = Fraction(int(x.p), int(x.q))
            s = str(f.numerator) if f.denominator == 1 else f"{f.numerator}/{f.denominator}"
        else:
            v = complex(sp.N(x))
            if v.imag:
                raise UnsupportedError(f"the complex number {x} has no matdiff form")
            s = repr(v.real)
        return f"({s})" if s.startswith("-") or "/" in s else s

    def __call__(self, e: Any, var: Any = None, arg: str = "") -> str:
        """Text of e; inside an element-wise function, ``var`` stands for the matrix ``arg``."""
        if var is not None and e == var:
            return f"({arg})"
        elementwise = var is not None
        P = lambda x: self(x, var, arg)  # noqa: E731
        if isinstance(e, sp.MatrixSymbol):
            r, c = e.shape
            if r == 1 and c == 1:
                return self.name(e, "scalar")
            if c == 1:
                return self.name(e, "vector")
            if r == 1:  # a row: the transpose of a vector of the same name
                return f"({self.name(e, 'vector')})'"
            return self.name(e, "matrix")
        if isinstance(e, sp.Symbol):
            return self.name(e, "scalar")
        if e.is_number and not isinstance(e, (MatrixExpr, sp.MatrixBase)):
            return self.number(e)
        if isinstance(e, sp.Identity):
            return "I"
        if isinstance(e, sp.ZeroMatrix):
            return "0"
        if isinstance(e, sp.OneMatrix):
            r, c = e.shape
            if r == 1 and c == 1:
                return "1"
            return "vector(1)" if c == 1 else "(vector(1))'" if r == 1 else "matrix(1)"
        if isinstance(e, sp.MatAdd) or isinstance(e, sp.Add):
            return "(" + " + ".join(P(a) for a in e.args) + ")"
        if isinstance(e, sp.MatMul):
            a = e.args
            if isinstance(a[0], sp.OneMatrix) and a[0].shape[0] == 1 and (  # 𝟙ᵀv, 𝟙ᵀM𝟙 = sum
                    (len(a) == 2 and a[1].shape[1] == 1) or (
                    len(a) == 3 and isinstance(a[2], sp.OneMatrix) and a[2].shape[1] == 1)):
                return f"sum({P(a[1])})"
            return "(" + "*".join(P(a) for a in e.args) + ")"
        if isinstance(e, sp.Mul):
            return "(" + (" .* " if elementwise else "*").join(P(a) for a in e.args) + ")"
        if isinstance(e, sp.Pow):
            b, p = e.args
            if p == -1 and isinstance(b, sp.Add) and len(b.args) == 2 and sp.S.One in b.args:
                other = b.args[0] if b.args[1] == 1 else b.args[1]
                if isinstance(other, sp.exp):  # 1/(1 + e⁻ᵘ) = σ(u)
                    return f"sigmoid({P(-other.args[0])})"
            if p == sp.S.Half:
                return f"sqrt({P(b)})"
            return f"({P(b)}){' .^ ' if elementwise else '^'}({P(p)})"
        if isinstance(e, sp.HadamardProduct):
            return "(" + " .* ".join(P(a) for a in e.args) + ")"
        if isinstance(e, sp.HadamardPower):
            return f"(({P(e.base)}) .^ ({P(e.exp)}))"
        if isinstance(e, sp.KroneckerProduct):
            return reduce(lambda a, b: f"kron({a}, {b})", [P(a) for a in e.args])
        if isinstance(e, sp.Transpose):
            return f"({P(e.arg)})'"
        if isinstance(e, sp.Inverse):
            return f"inv({P(e.arg)})"
        if isinstance(e, sp.MatPow):
            k = e.exp
            if not (k.is_Integer):
                raise UnsupportedError(f"the matrix power {e} needs an integer exponent")
            k = int(k)
            return f"(inv({P(e.base)}))^{-k}" if k < 0 else f"({P(e.base)})^{k}"
        if isinstance(e, sp.Trace):
            return f"tr({P(e.arg)})"
        if isinstance(e, sp.Determinant):
            return f"det({P(e.arg)})"
        if isinstance(e, DiagMatrix):
            return f"diag({P(e.args[0])})"
        if isinstance(e, DiagonalOf):
            return f"diag({P(e.arg)})"
        if isinstance(e, DiagonalMatrix):
            return f"diag(diag({P(e.arg)}))"
        if isinstance(e, Vec):
            return f"vec({P(e.args[0])})"
        if isinstance(e, ElementwiseApplyFunction):
            f = e.function
            if not isinstance(f, sp.Lambda):
                f = sp.Lambda(_T, f(_T))
            (t,), body = f.variables, f.expr
            return "(" + self(body, t, P(e.expr)) + ")"
        if isinstance(e, sp.Max) and len(e.args) == 2 and sp.S.Zero in e.args:
            other = e.args[0] if e.args[1] == 0 else e.args[1]
            return f"relu({P(other)})"
        if isinstance(e, sp.Heaviside):
            return f"step({P(e.args[0])})"
        if isinstance(e, sp.Function) and type(e) in _SCALAR_FUNCS:
            return f"{_SCALAR_FUNCS[type(e)]}({P(e.args[0])})"
        raise UnsupportedError(f"no matdiff form for the SymPy expression {e} ({type(e).__name__})")


def sympy_to_text(sympy_expr: Any, types: dict[Any, str] | None = None) -> tuple[str, dict[str, str]]:
    """The matdiff text of a SymPy expression and the declared kind of each name.

    Kinds come from SymPy: ``Symbol`` → scalar, n×1 ``MatrixSymbol`` → vector,
    1×n → the transpose of a vector of that name, otherwise matrix; ``types``
    overrides (e.g. ``{"S": "symmetric"}``; keys may be names or SymPy symbols)."""
    declared = {str(getattr(k, "name", k)): v for k, v in (types or {}).items()}
    pr = _Printer(declared)
    text = pr(sp.sympify(sympy_expr))
    if text.startswith("(") and _balanced_inside(text):
        text = text[1:-1]
    kinds = dict(pr.kinds)
    kinds.update({k: v for k, v in declared.items() if k in kinds})
    return text, kinds


def _balanced_inside(text: str) -> bool:
    """True when the outer parentheses of ``(...)`` enclose the whole text."""
    depth = 0
    for i, ch in enumerate(text):
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0 and i < len(text) - 1:
            return False
    return text.endswith(")")


__all__ = ["to_sympy", "sympy_to_text", "evaluate_sympy", "sympy_assumptions",
           "CommutationMatrix", "Vec", "Unvec"]
