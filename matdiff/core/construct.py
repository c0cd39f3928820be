"""Smart constructors: every node is built here, in structural canonical form.

Each constructor keeps only the structure canonical: flattening, ordering
(scalars first, in one order), folding numbers, dropping zeros and
identities, pushing transposes inward ((AB)ᵀ = BᵀAᵀ, Sᵀ = S for symmetric S),
collecting like terms (G + G = 2G) and merging equal factors (A A = A²,
A ⊙ A = A.^2), taking 1×1 runs (xᵀAy) out of a matrix chain.  Every other
identity (Roth's lemma, diag(a) w = a ⊙ w, exp(v) / sum(exp(v)), …) is an entry of the
rewrite table in :mod:`matdiff.core.rewrites`, applied by
:mod:`matdiff.core.rewriting`; the rewrites that need a choice (factoring,
naming) live in :mod:`matdiff.simplify`.
"""
from __future__ import annotations

from dataclasses import fields
from fractions import Fraction
from functools import lru_cache

from .nodes import (SCALAR, Add, Commutation, D, Differential, Dim, DimSize, Expr, Func, Group, Hadamard,
                  Identity, Kron, MatPow, Mul, Num, Ones, Power, Shape, Sym, Transpose, Unvec,
                  Where, Zero)
from .catalogue import BY_NAME, ELEMENTWISE, VECTOR
from .declared import Declared
from .declared import rebuilt as declared_rebuilt
from .exact import in_range, checked, power_fits
from ..errors import UndefinedError

ONE = Num(Fraction(1))
MINUS_ONE = Num(Fraction(-1))
_F0, _F1 = Fraction(0), ONE.value  # the usual coefficients, shared: most products multiply by 1


def _times(a: Fraction, b: Fraction) -> Fraction:
    """a·b, without arithmetic when a factor is the shared 1."""
    return b if a is _F1 else a if b is _F1 else a * b


def _plus(table: dict, key, c: Fraction) -> None:
    """table[key] += c, starting from 0."""
    have = table.get(key)
    table[key] = c if have is None else have + c


class InternalShapeError(AssertionError):
    """A constructor got operands whose shapes do not agree: a bug in matdiff."""


# -- dimensions -------------------------------------------------------------
class EqualProduct(str):
    """A dimension letter of a product that equals another product of letters: X is p×q
    where vec X meets b ⊗ x of size l·n, and nothing says p = l or p = n.  ``equal`` holds
    the equations (p·q = l·n as (("p", "q"), ("l", "n"))); :func:`dim_mul` writes p·q as
    l·n, so that the two sides are one size.  Not equal to the plain letter."""

    equal: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]

    def __new__(cls, letter: str, equal: tuple = ()) -> "EqualProduct":
        out = super().__new__(cls, letter)
        out.equal = tuple(equal)
        return out

    def __eq__(self, other: object) -> bool:
        return type(other) is EqualProduct and str.__eq__(self, other) and self.equal == other.equal

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash((str(self), self.equal))

    def __reduce__(self):
        return EqualProduct, (str(self), self.equal)


def dim_mul(*dims: Dim) -> Dim:
    """The product of symbolic dimensions, canonical: ``"m*n"``; 1 is neutral."""
    dims = tuple(d for d in dims if d != 1)
    if len(dims) == 1 and isinstance(dims[0], EqualProduct):
        return dims[0]
    parts: list[str] = []
    equal: list = []
    for d in dims:
        equal.extend(getattr(d, "equal", ()))
        parts.extend(str(d).split("*"))
    left = []
    for have, want in sorted(set(equal)):
        if all(parts.count(p) >= have.count(p) for p in have):
            for p in have:
                parts.remove(p)
            parts.extend(want)
        elif set(have) & set(parts):
            left.append((have, want))
    if not parts:
        return 1
    text = "*".join(sorted(parts))
    return EqualProduct(text, tuple(left)) if left else text


def num(v: int | Fraction | float) -> Num:
    """The exact number v, within the range of :mod:`matdiff.core.exact` (else a clear error)."""
    return Num(checked(v if type(v) is Fraction else Fraction(v)))


def is_zero(e: Expr) -> bool:
    return isinstance(e, Zero) or (isinstance(e, Num) and e.value == 0)


def is_one(e: Expr) -> bool:
    return isinstance(e, Num) and e.value == 1


def zero(shape: Shape) -> Expr:
    return Num(Fraction(0)) if shape == SCALAR else Zero(shape)


def ones(shape: Shape) -> Expr:
    return ONE if shape == SCALAR else Ones(shape)


def identity(n: Dim) -> Expr:
    return ONE if n == 1 else Identity((n, n))


# -- coefficients -------------------------------------------------------------
def split_coef(e: Expr) -> tuple[Fraction, Expr]:
    """e = c·core with c a rational number."""
    if isinstance(e, Num):
        return e.value, ONE
    if isinstance(e, Mul) and isinstance(e.factors[0], Num):
        rest = e.factors[1:]
        return e.factors[0].value, rest[0] if len(rest) == 1 else Mul(rest, e.shape)
    return _F1, e


def split_scalars(e: Expr) -> tuple[list[Expr], Expr]:
    """e = (Π scalars)·rest: the scalar factors of a non-scalar product and its matrix part."""
    if isinstance(e, Mul) and not e.is_scalar and e.factors[0].is_scalar:
        return [f for f in e.factors if f.is_scalar], mul(*[f for f in e.factors if not f.is_scalar])
    return [], e


def scale(c: Fraction | int, e: Expr) -> Expr:
    return e if c is _F1 or c == 1 else mul(num(c), e)


def neg(e: Expr) -> Expr:
    return mul(MINUS_ONE, e)


# -- sums -----------------------------------------------------------------
def add(*terms: Expr) -> Expr:
    """Σ terms: flattened, zeros dropped, scalars broadcast, like terms collected."""
    flat: list[Expr] = []
    for t in terms:
        if isinstance(t, Mul) and len(t.factors) == 2 and isinstance(t.factors[0], Num) \
                and isinstance(t.factors[1], Add):
            t = Add(tuple(scale(t.factors[0].value, u) for u in t.factors[1].terms), t.shape)
        elif isinstance(t, Mul) and isinstance(t.factors[-1], Ones):
            c, core = split_coef(t)  # c(α + β)𝟙 = cα𝟙 + cβ𝟙, as a broadcast sum reads
            if isinstance(core, Mul) and len(core.factors) == 2 and isinstance(core.factors[0], Add):
                t = Add(tuple(scale(c, mul(u, core.factors[1])) for u in core.factors[0].terms), t.shape)
        if isinstance(t, Add):
            flat.extend(t.terms)
        elif not is_zero(t):
            flat.append(t)
    shapes = [t.shape for t in terms]
    big = next((s for s in shapes if s != SCALAR), SCALAR)
    if not flat:
        return zero(big)
    if big != SCALAR:
        flat = [mul(t, Ones(big)) if t.shape == SCALAR else t for t in flat]
        for t in flat:
            if t.shape != big:
                raise InternalShapeError(f"add: {t.shape} vs {big}")
    coefs: dict[Expr, Fraction] = {}
    for t in flat:
        c, core = split_coef(t)
        if core not in coefs and core.is_scalar and isinstance(core, Mul):
            alt = transpose_chain(core)
            if alt in coefs:
                core = alt
        _plus(coefs, core, c)
    out = [scale(c, core) for core, c in coefs.items() if c != 0]
    if not out:
        return zero(big)
    if len(out) == 1:
        return out[0]
    return Add(tuple(out), big)


def sub(a: Expr, b: Expr) -> Expr:
    return add(a, neg(b))


# -- products ---------------------------------------------------------------
def _base_exp(e: Expr) -> tuple[Expr, int]:
    """e = Bᵏ with k a (possibly negative) integer: X³, inv(X) = X⁻¹, inv(X)ᵀ = (Xᵀ)⁻¹."""
    k = 1
    if isinstance(e, MatPow):
        e, k = e.base, e.k
    if isinstance(e, Func) and e.name == "inv":
        return e.arg, -k
    if isinstance(e, Transpose) and isinstance(e.arg, Func) and e.arg.name == "inv":
        return T(e.arg.arg), -k
    return e, k


def _scalar_base_exp(e: Expr) -> tuple[Expr, Fraction | None]:
    if isinstance(e, Power) and isinstance(e.exp, Num):
        return e.base, e.exp.value
    return e, _F1


def constant_scalar(e: Expr) -> Expr | None:
    """c for a constant array c·𝟙 (also written as a sum of such terms), else None."""
    if isinstance(e, Ones):
        return ONE
    if isinstance(e, Mul) and isinstance(e.factors[-1], Ones) and all(f.is_scalar for f in e.factors[:-1]):
        return mul(*e.factors[:-1])
    if isinstance(e, Add):
        parts = [constant_scalar(t) for t in e.terms]
        if all(p is not None for p in parts):
            return add(*parts)
    return None


def _is_run(e: Expr) -> bool:
    """A scalar-valued matrix chain such as xᵀAy."""
    return isinstance(e, Mul) and e.is_scalar and not e.factors[-1].is_scalar


def _scalar_run_end(chain: list[Expr], i: int) -> int | None:
    """The end j of the shortest run chain[i:j] that starts with a row and multiplies to 1×1."""
    if chain[i].shape[0] != 1:
        return None
    for j in range(i + 1, len(chain) + 1):
        if chain[j - 1].shape[1] == 1:
            return j
        if j < len(chain) and chain[j - 1].shape[1] != chain[j].shape[0]:
            return None
    return None


def _split_runs(chain: list[Expr]) -> tuple[Fraction, list[Expr], list[Expr]]:
    """Read a product chain left to right and take out its 1×1 runs as scalar factors:
    a scalar prefix times a matrix ((xᵀy) A), a run the chain cannot go through
    (A (bᵀc) W), a run after a column (u (vᵀw) zᵀ).  Returns (coefficient, runs, rest)."""
    coef, runs = _F1, []

    def take(part: list[Expr]) -> None:
        nonlocal coef
        c, core = split_coef(mul(*part))
        coef = _times(coef, c)
        runs.append(core)

    segment: list[Expr] = []
    i = 0
    while i < len(chain):
        f = chain[i]
        if segment:
            if (segment[0].shape[0], segment[-1].shape[1]) == SCALAR and f.shape[0] != 1:
                take(segment)
                segment = []
            elif segment[-1].shape[1] != f.shape[0]:
                j = _scalar_run_end(chain, i)
                if j is None:
                    raise InternalShapeError(f"mul: {segment[-1].shape} · {f.shape} in {segment[-1]} · {f}")
                take(chain[i:j])
                i = j
                continue
        segment.append(f)
        i += 1
    rest = segment
    k = -1
    while k < len(rest) - 1:  # a 1×1 run at the start or after a column
        j = _scalar_run_end(rest, k + 1) if k < 0 or rest[k].shape[1] == 1 else None
        if j is None or (k < 0 and j == len(rest)):  # (a whole scalar chain stays one)
            k += 1
            continue
        take(rest[k + 1:j])
        del rest[k + 1:j]
    return coef, runs, rest


def mul(*factors: Expr) -> Expr:
    """A product: scalars (coefficient first) then the matrix chain."""
    coef = _F1
    scalars: list[Expr] = []
    chain: list[Expr] = []
    for f in factors:
        if isinstance(f, Mul):
            inner_scalars = [g for g in f.factors if g.is_scalar]
            inner_chain = [g for g in f.factors if not g.is_scalar]
            if f.is_scalar and inner_chain:
                # a scalar-valued chain (xᵀAy) stays one scalar factor
                for g in inner_scalars:
                    if isinstance(g, Num):
                        coef = _times(coef, g.value)
                    else:
                        scalars.append(g)
                scalars.append(inner_chain[0] if len(inner_chain) == 1 else Mul(tuple(inner_chain), SCALAR))
                continue
            for g in inner_scalars:
                if isinstance(g, Num):
                    coef = _times(coef, g.value)
                else:
                    scalars.append(g)
            chain.extend(inner_chain)
        elif isinstance(f, Num):
            coef = _times(coef, f.value)
        elif f.is_scalar:
            scalars.append(f)
        elif isinstance(f, Add) and (c := constant_scalar(f)) is not None:
            scalars.append(c)  # (β𝟙 + 𝟙) = (β + 1)·𝟙
            chain.append(Ones(f.shape))
        else:
            chain.append(f)
    c, runs, chain = _split_runs(chain)
    coef = _times(coef, c)
    scalars += runs
    if len(chain) > 1 and (chain[0].shape[0], chain[-1].shape[1]) == SCALAR and any(map(_is_run, scalars)):
        c, core = split_coef(mul(*chain))  # (xᵀa)(bᵀy): every run a factor, in one order
        coef = _times(coef, c)
        scalars.append(core)
        chain = []
    shape: Shape = (chain[0].shape[0], chain[-1].shape[1]) if chain else SCALAR
    if coef == 0 or any(is_zero(f) for f in scalars + chain):
        return zero(shape)
    flat: list[Expr] = []
    for s in scalars:  # a product of scalars among the scalars: its factors, one level
        if isinstance(s, Mul) and all(f.is_scalar for f in s.factors):
            for f in s.factors:
                if isinstance(f, Num):
                    coef = _times(coef, f.value)
                else:
                    flat.append(f)
        else:
            flat.append(s)
    # merge equal scalar factors into powers: β·β = β²
    powers: dict[Expr, Fraction] = {}
    for s in flat:
        b, p = _scalar_base_exp(s)
        if b not in powers and _is_run(b):  # yᵀx = xᵀy: one base for both
            alt = transpose_chain(b)
            if alt in powers:
                b = alt
        _plus(powers, b, p)
    scalars = []
    for b, p in powers.items():
        if p == 0:
            continue
        s = b if p == 1 else power(b, num(p))
        if isinstance(s, Num):
            coef = _times(coef, s.value)
        elif isinstance(s, Mul):  # power() may fold into a product
            c, core = split_coef(s)
            coef = _times(coef, c)
            scalars.append(core)
        else:
            scalars.append(s)
    # the chain: identities dropped, Aᵃ·Aᵇ = Aᵃ⁺ᵇ (A·A = A², A·A⁻¹ = I)
    merged: list[Expr] = []
    for f in chain:
        if isinstance(f, Identity) and (merged or len(chain) > 1):
            continue
        if merged:
            pb, pk = _base_exp(merged[-1])
            fb, fk = _base_exp(f)
            if pb == fb and pb.is_square:
                merged[-1] = matpow(pb, pk + fk)
                if isinstance(merged[-1], Identity):
                    merged.pop()
                continue
        merged.append(f)
    if chain and not merged:
        merged = [Identity((shape[0], shape[0]))]
    runs = [f for f in scalars if _is_run(f)]
    if not merged and len(runs) == 1 and not any(f.is_scalar for f in runs[0].factors):
        scalars.remove(runs[0])  # β·(xᵀAy) is written β·xᵀAy, one flat product
        merged = list(runs[0].factors)
    # scalars in one order (named ones first), so that β·sum(x) and sum(x)·β are one tree
    scalars.sort(key=_scalar_order)
    out: list[Expr] = ([num(coef)] if coef != 1 else []) + scalars + merged
    if not out:
        return ONE
    if len(out) == 1:
        return out[0]
    return Mul(tuple(out), shape)


@lru_cache(maxsize=1 << 16)
def _size(e: Expr) -> int:
    return 1 + sum(_size(c) for c in e.children)


@lru_cache(maxsize=1 << 14)
def _scalar_order(f: Expr) -> tuple:
    """A deterministic sort key for scalar factors, by structure: names, then small trees by
    their canonical text, then large ones by size."""
    if isinstance(f, Sym):
        return (0, f.name)
    if _size(f) > 40:
        return (3, type(f).__name__, _size(f))
    return (1, _canonical_text(f))


@lru_cache(maxsize=1 << 14)
def _canonical_text(e: Expr) -> str:
    """A text for e that equal trees share: the terms of sums and ⊙ products sorted, and no
    dimension letters (renaming the dimensions keeps the order it gives)."""
    kids = [_canonical_text(c) for c in e.children]
    if e.commutative:
        kids.sort()
    attrs = [repr(getattr(e, f.name)) for f in fields(e)
             if f.compare and f.name not in e._child_fields and f.name != "shape"]
    return f"{type(e).__name__}({','.join(attrs)};{','.join(kids)})"


def div(a: Expr, b: Expr) -> Expr:
    """a / b for a scalar b; b = 0 is an error."""
    if is_zero(b):
        raise UndefinedError("division by zero", node=b)
    if isinstance(b, Num):
        return scale(1 / b.value, a)
    return mul(a, power(b, MINUS_ONE))


FLATTEN_LIMIT = 32


def had(*factors: Expr) -> Expr:
    """A ⊙ B ⊙ …: scalars pulled out, ones dropped, A ⊙ A = A.^2."""
    coef = _F1
    scalars: list[Expr] = []
    arrays: list[Expr] = []
    work = list(reversed(factors))
    while work:
        f = work.pop()
        if isinstance(f, Hadamard):  # already canonical: its factors need no second look
            if len(f.factors) > FLATTEN_LIMIT:  # a long product stays one factor: linear, not quadratic, growth
                arrays.append(f)
            else:
                arrays.extend(f.factors)
            continue
        c, core = split_coef(f)
        coef = _times(coef, c)
        if isinstance(core, Hadamard):
            work.append(core)
        elif core.is_scalar:
            scalars.append(core)
        elif split_scalars(core)[0]:
            outer, inner = split_scalars(core)
            scalars.extend(outer)
            work.append(inner)
        else:
            arrays.append(core)
    if not arrays:
        return mul(num(coef), *scalars)
    shape = arrays[0].shape
    for a in arrays:
        if a.shape != shape:
            raise InternalShapeError(f"hadamard: {a.shape} vs {shape}")
    if coef == 0 or any(is_zero(a) for a in arrays):
        return Zero(shape)
    groups: dict[Expr, list[Expr]] = {}
    for a in arrays:
        if isinstance(a, Ones):
            continue
        groups.setdefault(a.base if isinstance(a, Power) else a, []).append(a)
    rest: list[Expr] = []
    for b, items in groups.items():
        if len(items) == 1:
            rest.append(items[0])
            continue
        merged = power(b, add(*[x.exp if isinstance(x, Power) else ONE for x in items]))
        if not isinstance(merged, Ones):
            rest.append(merged)
    if not rest:
        body: Expr = Ones(shape)
    elif len(rest) == 1:
        body = rest[0]
    else:
        body = Hadamard(tuple(rest), shape)
    return mul(num(coef), *scalars, body)


def kron(*factors: Expr) -> Expr:
    """A ⊗ B ⊗ …: scalars pulled out, nested products flattened."""
    scalars: list[Expr] = []
    arrays: list[Expr] = []
    for f in factors:
        for g in (f.factors if isinstance(f, Kron) else (f,)):
            if g.is_scalar:
                scalars.append(g)
            else:
                outer, inner = split_scalars(g)
                scalars.extend(outer)
                arrays.append(inner)
    if not arrays:
        return mul(*scalars)
    shape = (dim_mul(*[a.shape[0] for a in arrays]), dim_mul(*[a.shape[1] for a in arrays]))
    if any(is_zero(a) for a in arrays):
        return Zero(shape)
    if all(isinstance(a, Identity) for a in arrays):
        return mul(*scalars, Identity(shape))
    body = arrays[0] if len(arrays) == 1 else Kron(tuple(arrays), shape)
    return mul(*scalars, body)


def commutation(m: Dim, n: Dim) -> Expr:
    """K(m,n), (mn)×(mn); K(1,n) = K(m,1) = I."""
    size = dim_mul(m, n)
    if m == 1 or n == 1:
        return identity(size)
    return Commutation(m, n, (size, size))


# -- transpose ----------------------------------------------------------------
def _per_node(fn):
    """Cache fn by node identity, not equality: A + B and B + A are equal trees but print
    in their own order, and a transpose keeps the order of the sum it came from."""
    table: dict[int, tuple[Expr, Expr]] = {}

    def cached(e: Expr) -> Expr:
        hit = table.get(id(e))
        if hit is not None and hit[0] is e:
            return hit[1]
        if len(table) >= 1 << 16:
            table.clear()
        out = fn(e)
        table[id(e)] = (e, out)
        return out

    cached.__doc__, cached.__name__, cached.__wrapped__ = fn.__doc__, fn.__name__, fn
    return cached


@_per_node
def T(e: Expr) -> Expr:
    """Aᵀ, pushed inward as far as it goes."""
    if e.is_scalar:
        return e
    if isinstance(e, Transpose):
        return e.arg
    if isinstance(e, Sym):
        return e if e.symmetric else Transpose(e, (e.shape[1], e.shape[0]))
    if isinstance(e, Differential):
        return e if e.var.symmetric else Transpose(e, (e.shape[1], e.shape[0]))
    if isinstance(e, Identity):
        return e
    if isinstance(e, Zero):
        return Zero((e.shape[1], e.shape[0]))
    if isinstance(e, Ones):
        return Ones((e.shape[1], e.shape[0]))
    if isinstance(e, Commutation):
        return commutation(e.n, e.m)
    if isinstance(e, Add):
        return add(*[T(t) for t in e.terms])
    if isinstance(e, Mul):
        return transpose_chain(e)
    if isinstance(e, Hadamard):
        return had(*[T(f) for f in e.factors])
    if isinstance(e, Kron):
        return kron(*[T(f) for f in e.factors])
    if isinstance(e, Power):
        return power(T(e.base), e.exp)
    if isinstance(e, MatPow):
        return matpow(T(e.base), e.k)
    if isinstance(e, Func):
        if e.name in ELEMENTWISE:
            return func(e.name, T(e.arg))
        if e.name == "diagm":
            return e
        if e.name == "inv" and is_symmetric(e.arg):
            return e
    return Transpose(e, (e.shape[1], e.shape[0]))


def transpose_chain(e: Mul) -> Expr:
    """(s·ABC)ᵀ = s·CᵀBᵀAᵀ; for a scalar-valued chain the other way to write it, (xᵀAy)ᵀ = yᵀAᵀx."""
    scalars = [f for f in e.factors if f.is_scalar]
    chain = [T(f) for f in reversed(e.factors) if not f.is_scalar]
    return mul(*scalars, *chain)


@lru_cache(maxsize=1 << 16)
def is_symmetric(e: Expr) -> bool:
    """Aᵀ = A, decided structurally after pushing the transpose in."""
    if not e.is_square:
        return False
    if e.is_scalar:
        return True
    return T(e) == e


# -- functions --------------------------------------------------------------
def func(name: str, a: Expr) -> Expr:
    """name(a), with the identities that shorten it (tr Aᵀ = tr A, inv(inv A) = A, …)."""
    if name in ELEMENTWISE:
        if isinstance(a, Num):
            folded = _fold_elementwise(name, a.value)
            if folded is not None:
                return num(folded)
        if isinstance(a, Zero):
            at_zero = _fold_elementwise(name, Fraction(0))
            if at_zero is not None:
                return Zero(a.shape) if at_zero == 0 else scale(at_zero, Ones(a.shape))
            if not a.is_scalar:  # arccos(0) entry-wise: the constant array arccos(0)·𝟙
                return mul(func(name, num(0)), Ones(a.shape))
        return Func(name, a, a.shape)
    if name in ("tr", "sum"):  # linear scalar reductions; a scalar passes
        if a.is_scalar:
            return a
        if isinstance(a, Zero):
            return zero(SCALAR)
        outer, inner = split_scalars(a)
        if outer:  # f(cA) = c f(A)
            return mul(*outer, func(name, inner))
        return Func(name, a, SCALAR)
    if name in ("det", "logdet"):
        if a.is_scalar:
            return a if name == "det" else func("log", func("abs", a))
        if name == "det" and isinstance(a, Zero):
            return zero(SCALAR)  # det 0 = 0 for every n ≥ 1
        _refuse_singular(name, a)
        return Func(name, a, SCALAR)
    if name == "inv":
        if a.is_scalar:
            return power(a, MINUS_ONE)
        _refuse_singular(name, a)
        if isinstance(a, Identity):
            return a
        if isinstance(a, Transpose):
            return T(func("inv", a.arg))
        outer, inner = split_scalars(a)
        if outer:  # (cA)⁻¹ = c⁻¹ A⁻¹
            return mul(*[power(f, MINUS_ONE) for f in outer], func("inv", inner))
        return Func("inv", a, a.shape)
    if name in ("diag", "diagm", "diagv") and a.is_scalar:
        return a
    if name == "diag":
        return func("diagm" if a.is_vector else "diagv", a)
    if name in ("vec", "diagm", "diagv") and split_scalars(a)[0]:
        outer, inner = split_scalars(a)  # linear: vec(cA) = c vec(A)
        return mul(*outer, func(name, inner))
    if name == "diagm":
        if isinstance(a, Func) and a.name == "diagv":
            return Func("diagm", a, (a.shape[0], a.shape[0]))
        if isinstance(a, Zero):
            return Zero((a.shape[0], a.shape[0]))
        return Func("diagm", a, (a.shape[0], a.shape[0]))
    if name == "diagv":
        if isinstance(a, Zero):
            return Zero((a.shape[0], 1))
        return Func("diagv", a, (a.shape[0], 1))
    if name == "vec":
        if a.shape[1] == 1:
            return a
        if a.shape[0] == 1:  # a row's columns stacked: its transpose
            return T(a)
        if isinstance(a, Unvec) and a.arg.shape == (dim_mul(*a.shape), 1):
            return a.arg
        if isinstance(a, (Zero, Ones)):
            return type(a)((dim_mul(*a.shape), 1))
        return Func("vec", a, (dim_mul(*a.shape), 1))
    if name in ("norm2", "norm1"):
        if isinstance(a, Zero):
            return zero(SCALAR)
        if a.is_scalar:
            return func("abs", a)
        return Func(name, a, SCALAR)
    if name in VECTOR:  # the shape rule of the catalogue's record
        return Func(name, a, a.shape if BY_NAME[name].shape == "vector->same" else SCALAR)
    raise KeyError(name)


def _rank_at_most_one(a: Expr) -> bool:
    """A square product whose chain passes through a column or row (x yᵀ, A x yᵀ B), or c·𝟙:
    rank at most one, singular for every size n ≥ 2."""
    chain = [f for f in (a.factors if isinstance(a, Mul) else (a,)) if not f.is_scalar]
    return any(f.shape[1] == 1 for f in chain[:-1]) or (len(chain) == 1 and isinstance(chain[0], Ones))


def _refuse_singular(name: str, a: Expr) -> None:
    """inv, det and logdet of an argument singular by construction have no derivative to give:
    inv(0) and logdet(0) do not exist; det of a rank-one n×n matrix is 0 for n ≥ 2 but uᵀv
    for n = 1, so no one formula serves (the user writes the one meant)."""
    if isinstance(a, Zero):
        what = "the inverse of the zero matrix does not exist" if name == "inv" else \
            "logdet of the zero matrix is -inf: its determinant is 0"
        raise UndefinedError(what, node=a)
    if _rank_at_most_one(a):
        what = {"inv": "it is singular for every size n ≥ 2",
                "det": "its determinant is 0 for every size n ≥ 2 (for n = 1, write the product itself)",
                "logdet": "its determinant is 0 for every size n ≥ 2, so logdet is -inf"}[name]
        raise UndefinedError(f"the argument of {name} has rank one: {what}", node=a)


def _fold_elementwise(name: str, v: Fraction) -> Fraction | None:
    """f(v) when it is rational, by the catalogue's record of f (exp(0) = 1, sign(−2) = −1)."""
    rec = BY_NAME.get(name)
    return rec.exact(v) if rec is not None and rec.exact is not None else None


def unvec(a: Expr, shape: Shape) -> Expr:
    """The m×n matrix whose vec is a."""
    if shape[1] == 1:
        return a
    if shape[0] == 1:  # a 1×n matrix: the row aᵀ
        return T(a)
    outer, inner = split_scalars(a)
    if outer:  # linear: unvec(c v) = c unvec(v)
        return mul(*outer, unvec(inner, shape))
    if isinstance(a, Func) and a.name == "vec" and a.arg.shape == shape:
        return a.arg
    if isinstance(a, (Zero, Ones)):
        return type(a)(shape)
    return Unvec(a, shape)


# -- powers -----------------------------------------------------------------
def power(base: Expr, p: Expr) -> Expr:
    """base .^ p element-wise (s^p for a scalar s), p a scalar."""
    if isinstance(p, Num):
        if p.value == 1:
            return base
        if p.value == 0:
            return ones(base.shape)
        if p.value < 0 and is_zero(base):
            raise UndefinedError("division by zero: 0 to a negative power", node=base)
        if isinstance(base, Num):
            folded = _fold_power(base.value, p.value)
            if folded is not None:
                return num(folded)
        if isinstance(base, Power) and isinstance(base.exp, Num) and p.value.denominator == 1 \
                and in_range(base.exp.value * p.value):  # (bᵖ)^q = b^(pq); beyond the range it stays nested
            return power(base.base, num(base.exp.value * p.value))
        if isinstance(base, (Ones,)):
            return base
        if isinstance(base, Zero) and p.value > 0:
            return base
        if isinstance(base, Mul) and p.value.denominator == 1 and all(f.is_scalar for f in base.factors):
            return mul(*[power(f, p) for f in base.factors])  # (αβ)ᵖ = αᵖβᵖ for scalars α, β
        c, rest = split_coef(base)
        if c > 0 and c != 1 and (cp := _fold_power(c, p.value)) is not None:
            return mul(num(cp), power(rest, p))  # (c u)ᵖ = cᵖ uᵖ for c > 0: ((4 − t²)/4)^½ = (4 − t²)^½/2
    return Power(base, p, base.shape)


def _fold_power(b: Fraction, p: Fraction) -> Fraction | None:
    if p.denominator == 1:
        if b == 0 and p < 0:
            return None
        if not power_fits(b, int(p)):
            return None  # 2^100000 stays a power: folded, its digits would be too many to print
        return b ** int(p)
    if p.denominator == 2 and b > 0:  # b^(k/2) = (√b)^k when √b is rational
        rn, rd = _isqrt(b.numerator), _isqrt(b.denominator)
        if rn is not None and rd is not None and power_fits(Fraction(rn, rd), p.numerator):
            return Fraction(rn, rd) ** p.numerator
    if p == Fraction(1, 2) and b == 0:
        return Fraction(0)
    return None


def _isqrt(n: int) -> int | None:
    import math

    r = math.isqrt(n)
    return r if r * r == n else None


def _transposes(e: Expr) -> int:
    return sum(isinstance(x, Transpose) for x in e.walk())


def matpow(base: Expr, k: int) -> Expr:
    """Xᵏ for integer k (X⁰ = I, X⁻ᵏ = inv(X)ᵏ)."""
    if base.is_scalar:
        return power(base, num(k))
    if k == 0:
        return Identity(base.shape)
    if k < 0 and is_zero(base):
        raise UndefinedError("the zero matrix has no inverse", node=base)
    if k < 0:
        tb = T(base)
        if _transposes(tb) < _transposes(base):  # (X' + A')⁻² = ((X + A)⁻¹)'²
            return T(matpow(func("inv", tb), -k))
        return matpow(func("inv", base), -k)
    if k == 1 or isinstance(base, Zero):  # 0ᵏ = 0 for k ≥ 1
        return base
    if isinstance(base, MatPow) and in_range(Fraction(base.k * k)):  # beyond the range it stays nested
        return matpow(base.base, base.k * k)
    if isinstance(base, Identity):
        return base
    return MatPow(base, k, base.shape)


# -- rebuilding -----------------------------------------------------------------
def rebuild(e: Expr, kids: tuple[Expr, ...]) -> Expr:
    """e with its children replaced, through the canonical constructors."""
    if isinstance(e, Add):
        return add(*kids)
    if isinstance(e, Mul):
        return mul(*kids)
    if isinstance(e, Hadamard):
        return had(*kids)
    if isinstance(e, Kron):
        return kron(*kids)
    if isinstance(e, Transpose):
        return T(kids[0])
    if isinstance(e, Func):
        return func(e.name, kids[0])
    if isinstance(e, Power):
        return power(kids[0], kids[1])
    if isinstance(e, MatPow):
        return matpow(kids[0], e.k)
    if isinstance(e, Unvec):
        return unvec(kids[0], e.shape)
    if isinstance(e, D):
        return D(kids[0], kids[0].shape)
    if isinstance(e, Where):
        return Where(kids[0], e.name, kids[1], kids[0].shape)
    if isinstance(e, Group):  # a shared prefix or suffix of a product, kept whole
        return Group(kids[0], kids[0].shape) if isinstance(kids[0], (Mul, Hadamard)) else kids[0]
    if isinstance(e, Declared):
        return declared_rebuilt(e, kids[0])
    return e


def substitute(e: Expr, mapping: dict[Expr, Expr]) -> Expr:
    """e with every occurrence of a key replaced by its value (bottom-up)."""
    memo: dict[int, Expr] = {}

    def go(x: Expr) -> Expr:
        if id(x) in memo:
            return memo[id(x)]
        if x in mapping:
            out = mapping[x]
        elif not x.children:
            out = x
        else:
            kids = tuple(go(c) for c in x.children)
            out = x if all(a is b for a, b in zip(kids, x.children)) else rebuild(x, kids)
        memo[id(x)] = out
        return out

    return go(e)


# -- queries ------------------------------------------------------------------
@lru_cache(maxsize=1 << 16)
def free_names(e: Expr) -> frozenset[str]:
    """The names of the variables e depends on."""
    if isinstance(e, Sym):
        return frozenset((e.name,))
    out: set[str] = set()
    for c in e.children:
        out |= free_names(c)
    if isinstance(e, Where):
        out.discard(e.name.name)
    return frozenset(out)


def depends(e: Expr, name: str) -> bool:
    return name in free_names(e)


@lru_cache(maxsize=1 << 16)
def has_differential(e: Expr, var: Sym | None = None) -> bool:
    """True when e holds the differential node dX of ``var`` (of any variable when var is None),
    whatever the variables are called."""
    return _holds_differential(e, var)


@lru_cache(maxsize=1 << 16)
def _holds_differential(e: Expr, var: Sym | None) -> bool:
    if isinstance(e, Differential):
        return var is None or e.var == var
    return any(_holds_differential(c, var) for c in e.children)


def is_diff_free(e: Expr) -> bool:
    return not has_differential(e)


def inner(a: Expr, b: Expr) -> Expr:
    """⟨A, B⟩ = tr(AᵀB), written the way a textbook would."""
    if a.is_scalar:
        return mul(a, b)
    if isinstance(a, Ones):
        return func("sum", b)
    if isinstance(b, Ones):
        return func("sum", a)
    if a.is_vector or a.is_row:
        return mul(T(a), b) if a.is_vector else mul(a, T(b))
    if isinstance(a, Identity):
        return func("tr", b)
    return func("tr", mul(T(a), b))


def symbols(e: Expr) -> dict[str, Sym]:
    """The variables of e by name."""
    return {x.name: x for x in e.walk() if isinstance(x, Sym)}



__all__ = ["add", "sub", "mul", "div", "had", "kron", "T", "func", "power", "matpow", "num",
           "neg", "scale", "split_coef", "is_symmetric", "depends", "has_differential", "inner", "zero", "ones",
           "identity", "commutation", "unvec", "dim_mul", "ONE", "MINUS_ONE", "DimSize"]
