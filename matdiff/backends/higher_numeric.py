"""Numbers for mixed and higher derivatives (SPEC §7): evaluation as arrays and
the numerical check.

The closed form D_K (see :mod:`matdiff.calculus.higher`) is a matrix on vec;
as an array the K-th derivative of a scalar f by x₁, …, x_K has the shape
(s₁, …, s_K), s_k = size of x_k, with T[i₁, …, i_K] = ∂ᴷf/∂(vec x₁)_{i₁}⋯∂(vec x_K)_{i_K}:
D_K reshaped column-major.  A vector- or matrix-valued F adds a leading axis
of size F.size.  A mixed second derivative stays the matrix D₂."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..core.nodes import Expr, Sym
from ..errors import UsageError
from . import check as checking
from . import evaluate as numeric

MAX_ENTRIES = 10_000_000
"""The largest array a higher derivative may evaluate to."""


def tensor_shape(f: Expr, variables: tuple[Sym, ...], dims: dict[str, int]) -> tuple[int, ...]:
    """The array shape of D_K at these dimension sizes."""
    sizes = [numeric.dim_value(v.shape[0], dims) * numeric.dim_value(v.shape[1], dims) for v in variables]
    fsize = numeric.dim_value(f.shape[0], dims) * numeric.dim_value(f.shape[1], dims)
    if len(variables) == 2:
        return (fsize * sizes[0], sizes[1])
    return tuple(([fsize] if fsize != 1 else []) + sizes)


MAX_INTERMEDIATE = 20_000_000
"""The largest array the closed form may build on the way (its Kronecker products grow as n^(2K−2))."""


def _guard_intermediates(value: Expr, dims: dict[str, int]) -> None:
    for x in value.walk():
        r, c = (numeric.dim_value(d, dims) for d in x.shape)
        if r * c > MAX_INTERMEDIATE:
            raise UsageError(f"evaluating this derivative would build a {r}×{c} array ({r * c} entries, more "
                             f"than {MAX_INTERMEDIATE}): take smaller arrays or a lower order, or products "
                             "with directions (jvp, hvp)")


def _guard(shape: tuple[int, ...]) -> None:
    total = int(np.prod(shape, dtype=np.int64))
    if total > MAX_ENTRIES:
        raise UsageError(f"the derivative has {total} entries (shape {shape}), more than {MAX_ENTRIES}: "
                         "take a lower order, smaller arrays, or a product with directions")


def as_tensor(value, shape: tuple[int, ...]) -> np.ndarray:
    """D_K as the array of the module doc (column-major reshape)."""
    return np.reshape(np.asarray(value, dtype=float), shape, order="F")


def lambdify_higher(value: Expr, f: Expr, variables: tuple[Sym, ...],
                    symbols: dict[str, Sym]) -> Callable[..., Any]:
    """A NumPy function of every name, by keyword, returning the derivative as an array."""
    def fn(**kwargs):
        values, dims = numeric.bind(symbols, kwargs)
        shape = tensor_shape(f, variables, dims)
        _guard(shape)
        _guard_intermediates(value, dims)
        with np.errstate(all="ignore"):
            return as_tensor(numeric.evaluate(value, values, dims), shape)

    fn.__doc__ = (f"NumPy evaluation of the derivative of order {len(variables)} by "
                  f"{', '.join(v.name for v in variables)}; arguments: {', '.join(sorted(symbols))}")
    return fn


def _stencil(fu: Callable[[dict[str, Any]], float], values: dict[str, Any], variables: tuple[Sym, ...],
             es: list, h: float) -> tuple[float, float]:
    """Σ_s (Π s) f(x + h Σ s_k e_k) / (2h)ᴷ, each e_k moving its own variable, and its
    rounding error (the values' sizes times the assumed relative error of one evaluation)."""
    K = len(es)
    total, size = 0.0, 0.0
    for signs in np.ndindex(*(2,) * K):
        s = [1 - 2 * b for b in signs]
        moved = dict(values)
        for sk, v, e in zip(s, variables, es):
            moved[v.name] = moved[v.name] + sk * h * e
        y = fu(moved)
        total += float(np.prod(s)) * y
        size += abs(y)
    return total / (2 * h) ** K, checking.ROUNDING * size / (2 * h) ** K


def check_higher(f: Expr, variables: tuple[Sym, ...], value: Expr, symbols: dict[str, Sym], *,
                 trials: int = 3, seed: int = 0) -> checking.CheckReport:
    """Compare T[e₁, …, e_K] with the K-point central difference of f (a vector- or
    matrix-valued F first contracted with a random u), extrapolated to h → 0 with an
    error estimate and judged as every check is (:func:`.check.compare_direction`):
    within 10⁻⁵ (10⁻⁴ for K = 3, 10⁻³ beyond, where differences of differences lose
    digits) of the derivative's own size, never of |f|."""
    checking.check_arguments(trials, seed)
    trials, seed = int(trials), int(seed)
    rng = np.random.default_rng(seed)
    K = len(variables)
    rtol = {2: 1e-5, 3: 1e-4}.get(K, 1e-3)
    h0 = 2e-2 if K == 2 else 5e-2 * 2.0 ** (K - 3)  # times the size of the inputs
    g = checking.varying_part(f, variables[0].name)  # a term free of x₁ has no ∂/∂x₁
    worst, done, attempts, unsure, reason = 0.0, 0, 0, 0, ""
    dims = checking.dimension_sizes(symbols)
    while done < trials and attempts < trials + 4:
        attempts += 1
        values = checking.random_point(f, value, symbols, rng, dims, 3 if unsure else 0)
        if values is None:
            reason = "no random point kept f finite and off its kinks"
            break
        shape = tensor_shape(f, variables, dims)
        _guard(shape)
        _guard_intermediates(value, dims)
        with np.errstate(all="ignore"):
            T = as_tensor(numeric.evaluate(value, values, dims), shape)
            f0 = np.asarray(numeric.evaluate(f, values, dims), dtype=float)
        if not np.all(np.isfinite(T)):
            reason, unsure = "the answer is not finite at the random points", unsure + 1
            continue
        u = rng.standard_normal(f0.shape) if f0.ndim else np.array(1.0)

        def fu(vals):
            with np.errstate(all="ignore"):
                return float(np.sum(u * np.asarray(numeric.evaluate(g, vals, dims), dtype=float)))

        scale = max([float(np.max(np.abs(values[v.name]))) for v in variables] + [1e-3])
        confirmed = 0
        for k in range(4):  # two directions decided, an undecided one replaced
            if confirmed == 2:
                break
            es = []
            for v in variables:
                x = values[v.name]
                e = 1.0 if v.is_scalar else rng.standard_normal(np.shape(x))
                if v.symmetric:
                    e = (e + e.T) / 2
                es.append(e if v.is_scalar else e / np.linalg.norm(e))
            vecs = [np.reshape(np.asarray(e, dtype=float), -1, order="F") for e in es]
            if K == 2:
                M = T.reshape(-1, T.shape[1], order="F")
                lead = np.kron(vecs[0], np.reshape(u, -1, order="F")) if f0.ndim else vecs[0]
                an = float(lead @ M @ vecs[1])
            else:
                out = T
                if f0.ndim:
                    out = np.tensordot(np.reshape(u, -1, order="F"), out, axes=([0], [0]))
                for vv in vecs:
                    out = np.tensordot(vv, out, axes=([0], [0]))
                an = float(out)
            with np.errstate(all="ignore"):
                v = checking.compare_direction(np.array([an]), lambda h, es=es: _stencil(fu, values, variables, es, h),
                                               h0 * scale, rtol, second_look=1e-2 if K == 2 else 0.25)
            if v.status == checking.MISMATCH:
                return checking.CheckReport(False, v.error, done + 1, dims, v.message,
                                            f"at random point {attempts}, direction {k + 1}{v.where}", checked=True)
            if v.status == checking.UNCHECKED:
                reason = v.message
                continue
            confirmed += 1
            worst = max(worst, v.error)
        if confirmed < 2:
            unsure += 1
            continue
        done += 1
    if done < trials:
        return checking.CheckReport(False, worst if done else float("nan"), done, dims,
                                    reason or "no usable random point", checked=False)
    return checking.CheckReport(True, worst, done, dims, checked=True)


__all__ = ["MAX_ENTRIES", "as_tensor", "check_higher", "lambdify_higher", "tensor_shape"]
