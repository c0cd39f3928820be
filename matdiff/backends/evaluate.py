"""NumPy evaluation of expression trees, and the numerical check of results.

Inside, every value is 2-D (a vector is n×1, a row 1×n) and scalars are
floats; :func:`lambdify` converts at the boundary to the layouts of SPEC §5.
No user text is ever evaluated: the tree is walked.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ..core.nodes import (Add, Commutation, D, Differential, DimSize, Expr, Func, Hadamard, Identity, Kron,
                  MatPow, Mul, Num, Ones, Power, Sym, Transpose, Unvec, Where, Zero)
from ..core.declared import Declared
from ..errors import UsageError
from .declared_numeric import call_declared, callables, stand_ins


def _sigmoid(x):
    return np.exp(-np.logaddexp(0.0, -x))


def _softmax(z):
    e = np.exp(z - np.max(z))
    return e / e.sum()


def _logsumexp(z):
    m = np.max(z)
    return float(m + np.log(np.exp(z - m).sum()))


def _logdet(a):
    return float(np.linalg.slogdet(a)[1])


FUNCS: dict[str, Callable[[Any], Any]] = {
    "abs": np.abs, "sign": np.sign, "exp": np.exp, "log": np.log, "sqrt": np.sqrt, "sin": np.sin,
    "cos": np.cos, "tan": np.tan, "arcsin": np.arcsin, "arccos": np.arccos, "arctan": np.arctan,
    "tanh": np.tanh, "sigmoid": _sigmoid, "relu": lambda x: np.maximum(x, 0.0),
    "step": lambda x: np.greater(x, 0.0).astype(float),
    "tr": lambda a: float(np.trace(a)), "det": lambda a: float(np.linalg.det(a)), "logdet": _logdet,
    "inv": np.linalg.inv, "diagm": lambda v: np.diagflat(v), "diagv": lambda a: np.diag(a).reshape(-1, 1).copy(),
    "vec": lambda a: a.reshape(-1, 1, order="F"), "sum": lambda a: float(np.sum(a)),
    "norm2": lambda a: float(np.linalg.norm(a)), "norm1": lambda a: float(np.abs(a).sum()),
    "softmax": _softmax, "logsumexp": _logsumexp,
}


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
    return np.linalg.multi_dot(chain)


def evaluate(e: Expr, values: dict[str, Any], dims: dict[str, int], memo: dict | None = None):
    """The value of e (iterative post-order; shared nodes computed once)."""
    memo = {} if memo is None else memo
    stack: list[tuple[Expr, bool]] = [(e, False)]
    while stack:
        x, ready = stack.pop()
        if x in memo:
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
        kids = [memo[c] for c in x.children]
        if not isinstance(x, (Mul, Transpose)):
            kids = [_dense(k) for k in kids]
        memo[x] = _eval_one(x, kids, values, dims)
    return _dense(memo[e])


def _eval_one(x: Expr, kids: list, values, dims):
    if isinstance(x, Sym):
        return values[x.name]
    if isinstance(x, Differential):
        return values["d" + x.var.name]
    if isinstance(x, Num):
        return float(x.value)
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
            else:
                chain.append(k)
        if not chain:
            return scal
        prod = _matmul(chain)
        return _scalar(prod) * scal if x.is_scalar else prod * scal
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
            out = np.power(b, _scalar(p)) if isinstance(b, np.ndarray) else float(np.power(float(b), _scalar(p)))
        return out
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
def bind(symbols: dict[str, Sym], kwargs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, int]]:
    """Internal 2-D values and the sizes of every dimension, from user arrays."""
    values: dict[str, Any] = {}
    dims: dict[str, int] = {}
    products: list[tuple[str, str, int]] = []
    for name, sym in symbols.items():
        if name not in kwargs:
            raise UsageError(f"missing a value for '{name}' (the function takes {', '.join(sorted(symbols))})")
        a = np.asarray(kwargs[name], dtype=float)
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


def to_layout(v, shape) -> Any:
    """SPEC §5: a float for 1×1, 1-D for a vector or a row, 2-D otherwise."""
    if shape == (1, 1):
        return _scalar(v)
    a = np.asarray(v, dtype=float)
    if shape[1] == 1 or shape[0] == 1:
        return a.reshape(-1)
    return a


def lambdify(e: Expr, symbols: dict[str, Sym]) -> Callable[..., Any]:
    """A NumPy function of every name in ``symbols``, passed by keyword."""
    def f(**kwargs):
        values, dims = bind(symbols, kwargs)
        values.update(callables((e,), kwargs))
        with np.errstate(all="ignore"):
            return to_layout(evaluate(e, values, dims), e.shape)

    f.__doc__ = f"NumPy evaluation of {e}; arguments: {', '.join(sorted(symbols))}"
    return f


# -- random inputs and the numerical check ---------------------------------------------
SIZES = (4, 3, 5, 2, 6, 7, 8, 9, 10, 11)


def dimension_sizes(symbols: dict[str, Sym], shift: int = 0) -> dict[str, int]:
    """Distinct sizes for distinct dimensions, so that a missing transpose shows;
    ``shift`` rotates the assignment (a product like A X B may need a large middle size)."""
    names: list[str] = []
    for sym in symbols.values():
        for d in sym.shape:
            for part in ([] if d == 1 else str(d).split("*")):
                if part not in names:
                    names.append(part)
    sizes = sorted(SIZES[:len(names)]) if len(names) <= len(SIZES) else list(range(2, 2 + len(names)))
    orders = [sizes, sizes[::-1]] + [sizes[k:] + sizes[:k] for k in range(1, len(sizes))]
    return dict(zip(names, orders[shift % len(orders)]))


def draw(sym: Sym, dims: dict[str, int], rng: np.random.Generator, style: str):
    """A random value for one variable; ``style`` picks the domain."""
    shape = _shape(sym.shape, dims)
    if sym.probability:
        a = rng.uniform(0.5, 1.5, shape)
        return a / a.sum()
    if sym.is_scalar:
        return float(rng.choice([-1, 1]) * rng.uniform(0.5, 1.5)) if style == "normal" else float(rng.uniform(0.5, 1.5))
    if style == "positive":
        a = rng.uniform(0.5, 1.5, shape)
    elif style == "small":
        a = rng.uniform(-0.6, 0.6, shape)
    else:
        a = rng.standard_normal(shape) * 0.7
    if style == "spd" and shape[0] == shape[1]:
        a = a @ a.T / shape[0] + np.eye(shape[0])
    if sym.symmetric:
        a = (a + a.T) / 2
    return a


KINK_FUNCS = ("abs", "sign", "relu", "step", "norm1")


def _off_kinks(e: Expr, values, dims, gap: float = 1e-3) -> bool:
    memo: dict = {}
    try:
        with np.errstate(all="ignore"):
            evaluate(e, values, dims, memo)
    except (np.linalg.LinAlgError, ValueError, ZeroDivisionError):
        return False
    for x, v in memo.items():
        if isinstance(v, np.ndarray) and not np.all(np.isfinite(v)):
            return False
        if isinstance(v, float) and not np.isfinite(v):
            return False
        if isinstance(x, Func) and x.name in KINK_FUNCS:
            arg = memo.get(x.arg)
            if arg is not None and np.min(np.abs(arg)) < gap:
                return False
        if isinstance(x, Func) and x.name in ("inv", "det", "logdet"):
            a = memo.get(x.arg)
            if a is not None and np.ndim(a) == 2 and np.linalg.cond(a) > 1e6:
                return False
    return True


@dataclass
class CheckReport:
    """The outcome of a numerical check: ok, the largest relative error, where."""

    ok: bool
    max_rel_error: float
    trials: int
    dims: dict[str, int] = field(default_factory=dict)
    message: str = ""

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        verdict = "ok" if self.ok else "MISMATCH"
        sizes = ", ".join(f"{k}={v}" for k, v in self.dims.items())
        return (f"check {verdict}: largest relative error {self.max_rel_error:.2e} over {self.trials} "
                f"random points ({sizes or 'scalars'}){'; ' + self.message if self.message else ''}")


def random_point(f: Expr, result: Expr, symbols: dict[str, Sym], rng: np.random.Generator,
                 dims: dict[str, int]) -> dict[str, Any] | None:
    """Inputs where f and the result are finite, away from kinks and near-singular matrices."""
    for attempt in range(60):
        style = ("normal", "positive", "spd", "small")[attempt % 4]
        values = {n: draw(s, dims, rng, style if not (style == "spd" and s.shape[0] != s.shape[1]) else "positive")
                  for n, s in symbols.items()}
        values.update(stand_ins(f, result))
        if _off_kinks(f, values, dims) and _off_kinks(result, values, dims):
            return values
    return None


def check(f: Expr, var: Sym, result: Expr, order: int, symbols: dict[str, Sym], *, trials: int = 3,
          seed: int = 0, rtol: float | None = None) -> CheckReport:
    """Compare ``result`` with central differences of f at random points.

    Order 1: ⟨G, E⟩ (or J vec E) against (f(X+hE) − f(X−hE))/2h.
    Order 2: vec(E₁)ᵀ H vec(E₂) against the four-point second difference."""
    rng = np.random.default_rng(seed)
    worst = 0.0
    done = 0
    rtol = rtol if rtol is not None else (1e-5 if order == 1 else 1e-4)
    shift = 0
    dims = dimension_sizes(symbols, shift)
    for _ in range(trials):
        values = random_point(f, result, symbols, rng, dims)
        while values is None and shift < 8:
            shift += 1
            dims = dimension_sizes(symbols, shift)
            values = random_point(f, result, symbols, rng, dims)
        if values is None:
            return CheckReport(False, float("nan"), done, dims, "no random point kept f finite and off its kinks")
        with np.errstate(all="ignore"):
            out = evaluate(result, values, dims)
        x = values[var.name]

        def fx(dx):
            v = dict(values)
            v[var.name] = x + dx
            with np.errstate(all="ignore"):
                return np.asarray(evaluate(f, v, dims), dtype=float).reshape(-1, order="F")

        def direction():
            if var.is_scalar:
                return 1.0
            e = rng.standard_normal(np.shape(x))
            if var.symmetric:
                e = (e + e.T) / 2
            return e / np.linalg.norm(e)

        for _k in range(3):
            if order == 1:
                e = direction()
                h = 1e-6 * max(1.0, float(np.max(np.abs(x))))
                fd = (fx(h * e) - fx(-h * e)) / (2 * h)
                an = _apply_first(out, e, f.is_scalar, var)
            else:
                e1, e2 = direction(), direction()
                h = 1e-4
                fd = (fx(h * (e1 + e2)) - fx(h * (e1 - e2)) - fx(h * (e2 - e1)) + fx(-h * (e1 + e2))) / (4 * h * h)
                an = np.atleast_1d(np.reshape(e1, -1, order="F") @ np.atleast_2d(out) @ np.reshape(e2, -1, order="F")) \
                    if not var.is_scalar else np.atleast_1d(_scalar(out) * e1 * e2)
            an = np.asarray(an, dtype=float).reshape(-1)
            f0 = float(np.linalg.norm(fx(0.0 * h)))
            # |fd − an| ≤ rtol·max(|fd|, |an|) + atol, atol at the noise level of the differences;
            # reported as the relative error that the same test compares with rtol
            atol = (1e-8 if order == 1 else 1e-6) * (1.0 + f0)
            scale = max(float(np.linalg.norm(fd)), float(np.linalg.norm(an))) + atol / rtol
            err = float(np.linalg.norm(fd - an)) / scale
            worst = max(worst, err if np.isfinite(err) else np.inf)
        done += 1
    ok = worst <= rtol
    return CheckReport(ok, worst, done, dims, "" if ok else f"tolerance {rtol:g}")


def _apply_first(out, e, scalar_f: bool, var: Sym):
    """The first-order prediction for a step along e, in vec layout."""
    if var.is_scalar:
        return np.reshape(np.asarray(out, dtype=float) * e, -1, order="F")
    if scalar_f:
        return np.atleast_1d(np.sum(np.asarray(out) * e))
    return np.atleast_2d(out) @ np.reshape(e, -1, order="F")
