"""NumPy evaluation of expression trees (the numerical check is in :mod:`.check`).

Inside, every value is 2-D (a vector is n×1, a row 1×n) and scalars are
floats; :func:`lambdify` converts at the boundary to the layouts of SPEC §5.
No user text is ever evaluated: the tree is walked.
"""
from __future__ import annotations

import keyword
from typing import Any, Callable

import math

import numpy as np

from ..core.nodes import (Add, Commutation, D, Differential, DimSize, Expr, Func, Hadamard, Identity, Kron,
                  MatPow, Mul, Num, Ones, Power, Sym, Transpose, Unvec, Where, Zero, Group)
from ..core.catalogue import CATALOGUE
from ..core.declared import Declared, callable_name, calls
from ..errors import UsageError
from .declared_numeric import call_declared
from .schedule import Evaluator, Schedule, int_power, whole_power


FUNCS: dict[str, Callable[[Any], Any]] = {f.name: f.numpy for f in CATALOGUE if f.numpy is not None}
"""The NumPy meaning of each function (from its catalogue record), on floats and 2-D arrays."""


def commutation_matrix(m: int, n: int) -> np.ndarray:
    """K(m,n) with K vec(A) = vec(Aᵀ) for A m×n, built by index permutation."""
    perm = np.arange(m * n).reshape(m, n, order="F").T.reshape(-1, order="F")
    return np.eye(m * n)[perm]


def dim_value(d, dims: dict[str, int]) -> int:
    if d == 1:
        return 1
    out = 1
    for part in str(d).split("*"):
        out *= dims[part]
    return out


def _shape(s, dims):
    return (dim_value(s[0], dims), dim_value(s[1], dims))


class _Diag:
    """diag(v), kept as its vector: products with it are broadcasts, O(n²) not O(n³)."""

    __slots__ = ("v",)

    def __init__(self, v: np.ndarray) -> None:
        self.v = v.reshape(-1, 1)

    @property
    def T(self) -> "_Diag":
        return self

    def dense(self) -> np.ndarray:
        return np.diagflat(self.v)


def _dense(v):
    return v.dense() if isinstance(v, _Diag) else v


def _matmul(chain: list):
    if any(isinstance(c, _Diag) for c in chain):
        acc = chain[0]
        for c in chain[1:]:
            if isinstance(c, _Diag):
                acc = _Diag(acc.v * c.v) if isinstance(acc, _Diag) else acc * c.v.T
            else:
                acc = acc.v * c if isinstance(acc, _Diag) else acc @ c
        return _dense(acc)
    if len(chain) == 1:
        return chain[0]
    if len(chain) == 2:
        return chain[0] @ chain[1]
    if len(chain) > LONG_CHAIN:  # multi_dot's ordering is cubic in the length: halves instead
        h = len(chain) // 2
        return _matmul(chain[:h]) @ _matmul(chain[h:])
    return np.linalg.multi_dot(chain)


LONG_CHAIN = 8
"""Chains longer than this are multiplied as a balanced tree of multi_dot calls."""


def _column_chain(x: Mul, memo: dict):
    """The matrix chain of x, which ends in a column, as matrix–vector products from the right;
    each partial product is kept in the memo under its factors, so a chain's suffix that recurs
    (A v in sᵀ A v and in A v) is computed once."""
    chain = [f for f in x.factors if not f.is_scalar]
    acc = memo[chain[-1]]
    for i in range(len(chain) - 2, -1, -1):
        key = ("chain",) + tuple(chain[i:])
        got = memo.get(key)
        if got is None:
            f = memo[chain[i]]
            got = memo[key] = f.v * acc if isinstance(f, _Diag) else f @ acc
        acc = got
    return acc


def evaluate(e: Expr, values: dict[str, Any], dims: dict[str, int], memo: dict | None = None):
    """The value of e (iterative post-order; shared nodes computed once)."""
    memo = {} if memo is None else memo
    stack: list[tuple[Expr, bool]] = [(e, False)]
    while stack:
        x, ready = stack.pop()
        if x in memo:
            continue
        if isinstance(x, Mul) and not ready and (pair := adjugate_pair(x)) is not None:
            memo[x] = _eval_adjugate_product(x, pair, values, dims, memo)
            continue
        if isinstance(x, Where) and not ready:
            inner = dict(values)
            inner[x.name.name] = evaluate(x.value, values, dims, memo)
            memo[x] = evaluate(x.body, inner, dims, {})
            continue
        if not ready:
            stack.append((x, True))
            stack.extend((c, False) for c in x.children if c not in memo)
            continue
        _step(x, memo, values, dims)
    return _dense(memo[e])


def adjugate_pair(x: Mul) -> tuple[int, int, bool] | None:
    """(i, j, transposed) when factor i of the product is det(M) and factor j is M⁻¹ (or M⁻ᵀ):
    det(M)·M⁻¹ is the adjugate adj(M), which stays finite where M is singular."""
    dets = {f.arg: i for i, f in enumerate(x.factors) if isinstance(f, Func) and f.name == "det"}
    if not dets:
        return None
    for j, f in enumerate(x.factors):
        transposed = isinstance(f, Transpose)
        g = f.arg if transposed else f
        if isinstance(g, Func) and g.name == "inv" and g.arg in dets:
            return dets[g.arg], j, transposed
    return None


def adjugate(m: np.ndarray) -> np.ndarray:
    """adj(M) = det(M)·M⁻¹, by the SVD M = U diag(s) Vᵀ: adj(M) = det(U) det(V) · V diag(∏ⱼ≠ᵢ sⱼ) Uᵀ,
    finite at every M (for n = 1, adj(M) = 1); the products ∏ⱼ≠ᵢ sⱼ without a division."""
    u, s, vt = np.linalg.svd(m)
    before = np.concatenate(([1.0], np.cumprod(s[:-1])))
    after = np.concatenate((np.cumprod(s[::-1][:-1])[::-1], [1.0]))
    sign = np.linalg.det(u) * np.linalg.det(vt)
    return sign * (vt.T * (before * after)) @ u.T


def _eval_adjugate_product(x: Mul, pair: tuple[int, int, bool], values, dims, memo) -> Any:
    """The product x with its factors det(M) and M⁻¹ taken together as adj(M)."""
    i, j, transposed = pair
    scal = 1.0
    chain = []
    for k, f in enumerate(x.factors):
        if k == i:
            continue
        if k == j:
            adj = adjugate(evaluate(x.factors[i].arg, values, dims, memo))
            chain.append(adj.T if transposed else adj)
        elif f.is_scalar:
            scal = scal * _scalar(evaluate(f, values, dims, memo))
        else:
            chain.append(evaluate(f, values, dims, memo))
    prod = _matmul(chain)
    return _scalar(prod) * scal if x.is_scalar else prod * scal


def _step(x: Expr, memo: dict, values, dims) -> None:
    """memo[x] from the values of x's operands, already in the memo."""
    kids = [memo[c] for c in x.children]
    if not isinstance(x, (Mul, Transpose)):
        kids = [_dense(k) for k in kids]
    elif isinstance(x, Mul) and x.factors[-1].shape[1] == 1 and not x.factors[-1].is_scalar:
        kids = [memo[f] if f.is_scalar else None for f in x.factors[:-1]] + [_column_chain(x, memo)]
    memo[x] = _eval_one(x, kids, values, dims)


def _plan(e: Expr) -> list[Expr] | None:
    """The nodes of e in an evaluation order (operands first, each node once), found once for
    a function called many times; None when e holds a ``where`` or a det(M)·M⁻¹ pair (evaluated
    by :func:`evaluate`)."""
    order: list[Expr] = []
    seen: set[Expr] = set()
    stack: list[tuple[Expr, bool]] = [(e, False)]
    while stack:
        x, ready = stack.pop()
        if ready:
            order.append(x)
            continue
        if x in seen:
            continue
        if isinstance(x, Where) or isinstance(x, Mul) and adjugate_pair(x) is not None:
            return None
        seen.add(x)
        stack.append((x, True))
        stack.extend((c, False) for c in reversed(x.children) if c not in seen)
    return order


def as_float(q) -> float:
    """The float nearest the exact number q: ±inf beyond the float range (1e400 is inf, as in NumPy)."""
    try:
        return float(q)
    except OverflowError:
        return math.inf if q > 0 else -math.inf


def _eval_one(x: Expr, kids: list, values, dims):
    if isinstance(x, Group):
        return kids[0]
    if isinstance(x, Sym):
        return values[x.name]
    if isinstance(x, Differential):
        return values["d" + x.var.name]
    if isinstance(x, Num):
        return as_float(x.value)
    if isinstance(x, Identity):
        return np.eye(dim_value(x.shape[0], dims))
    if isinstance(x, Zero):
        return np.zeros(_shape(x.shape, dims))
    if isinstance(x, Ones):
        return np.ones(_shape(x.shape, dims))
    if isinstance(x, Commutation):
        return commutation_matrix(dim_value(x.m, dims), dim_value(x.n, dims))
    if isinstance(x, DimSize):
        return float(dim_value(x.dim, dims))
    if isinstance(x, Add):
        out = kids[0]
        for k in kids[1:]:
            out = out + k
        return out
    if isinstance(x, Mul):
        scal = 1.0
        chain = []
        for f, k in zip(x.factors, kids):
            if f.is_scalar:
                scal = scal * _scalar(k)
            elif k is not None:
                chain.append(k)
        if not chain:
            return scal
        prod = _matmul(chain)
        if x.is_scalar:
            return _scalar(prod) * scal
        if not x.factors[0].is_scalar:  # no scalar factor: no scaled copy
            return prod
        if isinstance(scal, float) and isinstance(prod, np.ndarray) and prod.dtype == np.float64 \
                and not any(prod is c for c in chain):  # a new product: scaled in its own array
            return np.multiply(prod, scal, out=prod)
        return prod * scal
    if isinstance(x, Hadamard):
        out = kids[0]
        for k in kids[1:]:
            out = out * k
        return out
    if isinstance(x, Kron):
        out = kids[0]
        for k in kids[1:]:
            out = np.kron(out, k)
        return out
    if isinstance(x, Transpose):
        return kids[0].T if isinstance(kids[0], np.ndarray) else kids[0]
    if isinstance(x, Func):
        if x.name == "diagm":
            return _Diag(kids[0])
        out = FUNCS[x.name](kids[0])
        return _scalar(out) if x.is_scalar else out
    if isinstance(x, Power):
        b, p = kids
        with np.errstate(divide="ignore", invalid="ignore"):
            if not isinstance(b, np.ndarray):
                return float(np.power(float(b), _scalar(p)))
            k = whole_power(_scalar(p))  # T .^ 3 as T*T*T: NumPy's ** calls pow for each entry
            return b ** _scalar(p) if k is None else int_power(b, k)
    if isinstance(x, MatPow):
        return np.linalg.matrix_power(kids[0], x.k)
    if isinstance(x, Unvec):
        return kids[0].reshape(_shape(x.shape, dims), order="F")
    if isinstance(x, Declared):
        return call_declared(x, kids[0], values)
    if isinstance(x, D):
        raise UsageError("cannot evaluate an unexpanded differential")
    raise TypeError(type(x).__name__)


def _scalar(v) -> float:
    if isinstance(v, np.ndarray):
        return float(v.reshape(-1)[0]) if v.size == 1 else v  # type: ignore[return-value]
    return float(v)


# -- the boundary: user arrays in, SPEC layouts out -------------------------------
def keyword_spellings(kwargs: dict[str, Any], symbols: dict[str, Sym]) -> dict[str, Any]:
    """``lambda_=…`` for a name that is a Python keyword, as ``**{"lambda": …}`` (SPEC §5)."""
    out = dict(kwargs)
    for name in symbols:
        alias = name + "_"
        if keyword.iskeyword(name) and alias in out and alias not in symbols:
            if name in out:
                raise UsageError(f"'{name}' is given twice, as {name!r} and as {alias!r}")
            out[name] = out.pop(alias)
    return out


def bind(symbols: dict[str, Sym], kwargs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, int]]:
    """Internal 2-D values and the sizes of every dimension, from user arrays."""
    kwargs = keyword_spellings(kwargs, symbols)
    values: dict[str, Any] = {}
    dims: dict[str, int] = {}
    products: list[tuple[str, str, int]] = []
    for name, sym in symbols.items():
        if name not in kwargs:
            raise UsageError(f"missing a value for '{name}' (the function takes {', '.join(sorted(symbols))})")
        a = float_array(kwargs[name], f"'{name}'")
        if sym.is_scalar:
            if a.size != 1:
                raise UsageError(f"'{name}' is a scalar, got an array of shape {a.shape}")
            values[name] = float(a.reshape(-1)[0])
            continue
        if sym.is_vector and a.ndim == 1:
            a = a.reshape(-1, 1)
        if a.ndim != 2:
            raise UsageError(f"'{name}' must be {'a 1-D' if sym.is_vector else 'a 2-D'} array, got shape {a.shape}")
        for d, got in zip(sym.shape, a.shape):
            if d == 1:
                if got != 1:
                    raise UsageError(f"'{name}' must be a vector, got shape {a.shape}")
                continue
            if "*" in str(d):
                products.append((name, str(d), got))
            elif dims.setdefault(str(d), got) != got:
                raise UsageError(f"'{name}' has a dimension of size {got} where {dims[str(d)]} was "
                                 f"inferred from another argument (dimension {d})")
        values[name] = a
    _solve_products(products, dims)
    for name, sym in symbols.items():  # p·q = l·n: vec of a p×q X against b ⊗ x
        for have, want in sorted({e for d in sym.shape for e in getattr(d, "equal", ())}):
            if all(p in dims for p in have + want) and math.prod(dims[p] for p in have) != \
                    math.prod(dims[p] for p in want):
                raise UsageError(f"'{name}' has sizes {'·'.join(have)} = {math.prod(dims[p] for p in have)} "
                                 f"where {'·'.join(want)} = {math.prod(dims[p] for p in want)} was inferred "
                                 f"from other arguments")
    return values, dims


def _solve_products(products: list[tuple[str, str, int]], dims: dict[str, int]) -> None:
    """Sizes like m·n = 12 fix their one unknown factor; known ones must agree."""
    pending = list(products)
    while pending:
        progress = False
        for item in list(pending):
            name, d, got = item
            parts = d.split("*")
            unknown = [p for p in parts if p not in dims]
            known = 1
            for p in parts:
                if p in dims:
                    known *= dims[p]
            if not unknown:
                if known != got:
                    raise UsageError(f"'{name}' has a dimension of size {got} where {known} was inferred "
                                     f"from other arguments (dimension {d})")
                pending.remove(item)
                progress = True
            elif len(set(unknown)) == 1 and got % known == 0:
                k = len(unknown)
                root = round((got // known) ** (1 / k))
                if root ** k != got // known:
                    raise UsageError(f"'{name}' has a dimension of size {got}, not a product {d} here")
                dims[unknown[0]] = root
                progress = True
        if not progress:
            raise UsageError(f"cannot tell the sizes {', '.join(d for _, d, _ in pending)} from the arguments")


def float_array(v: Any, what: str) -> np.ndarray:
    """v as an array of floats; anything that is not numbers is a usage error naming ``what``."""
    try:
        return np.asarray(v, dtype=float)
    except (TypeError, ValueError) as e:
        raise UsageError(f"{what} must be a number or an array of numbers, got {repr(v)[:40]} ({e})") from None


def to_layout(v, shape) -> Any:
    """SPEC §5: a float for 1×1, 1-D for a vector or a row, 2-D otherwise."""
    if shape == (1, 1):
        return _scalar(v)
    a = np.asarray(v, dtype=float)
    if shape[1] == 1 or shape[0] == 1:
        return a.reshape(-1)
    return a


_EVALUATOR = Evaluator(_eval_one, _dense, _Diag, _shape)
"""What a :class:`~.schedule.Schedule` leaves to the tree evaluator."""


def lambdify(e: Expr, symbols: dict[str, Sym]) -> Callable[..., Any]:
    """A NumPy function of every name in ``symbols``, passed by keyword."""
    order = _plan(e)
    plan = None if order is None else Schedule.build(e, order)  # see .schedule: values freed, work in place
    needed = [callable_name(c) for c in calls(e)]

    def f(**kwargs):
        values, dims = bind(symbols, kwargs)
        values.update({k: kwargs[k] for k in needed if k in kwargs})
        with np.errstate(all="ignore"):
            if plan is None:
                return to_layout(evaluate(e, values, dims), e.shape)
            out = plan.run(values, dims, _EVALUATOR)
            return to_layout(_dense(out), e.shape)

    f.__doc__ = f"NumPy evaluation of {e}; arguments: {', '.join(sorted(symbols))}"
    return f
