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
             es: list, h: float) -> float:
    """Σ_s (Π s) f(x + h Σ s_k e_k) / (2h)ᴷ, each e_k moving its own variable."""
    K = len(es)
    total = 0.0
    for signs in np.ndindex(*(2,) * K):
        s = [1 - 2 * b for b in signs]
        moved = dict(values)
        for sk, v, e in zip(s, variables, es):
            moved[v.name] = moved[v.name] + sk * h * e
        total += float(np.prod(s)) * fu(moved)
    return total / (2 * h) ** K


def check_higher(f: Expr, variables: tuple[Sym, ...], value: Expr, symbols: dict[str, Sym], *,
                 trials: int = 3, seed: int = 0) -> checking.CheckReport:
    """Compare T[e₁, …, e_K] with a K-point central difference of f (Richardson for K ≥ 3);
    a vector- or matrix-valued F is first contracted with a random u."""
    rng = np.random.default_rng(seed)
    K = len(variables)
    rtol = 1e-4
    worst, done = 0.0, 0
    dims = checking.dimension_sizes(symbols)
    for _ in range(trials):
        values = checking.random_point(f, value, symbols, rng, dims)
        if values is None:
            return checking.CheckReport(False, float("nan"), done, dims,
                                       "no random point kept f finite and off its kinks")
        shape = tensor_shape(f, variables, dims)
        _guard(shape)
        _guard_intermediates(value, dims)
        with np.errstate(all="ignore"):
            T = as_tensor(numeric.evaluate(value, values, dims), shape)
            f0 = np.asarray(numeric.evaluate(f, values, dims), dtype=float)
        u = rng.standard_normal(f0.shape) if f0.ndim else np.array(1.0)

        def fu(vals):
            with np.errstate(all="ignore"):
                return float(np.sum(u * np.asarray(numeric.evaluate(f, vals, dims), dtype=float)))

        for _k in range(2):
            es = []
            for v in variables:
                x = values[v.name]
                e = 1.0 if v.is_scalar else rng.standard_normal(np.shape(x))
                if v.symmetric:
                    e = (e + e.T) / 2
                es.append(e if v.is_scalar else e / np.linalg.norm(e))
            vecs = [np.reshape(np.asarray(e, dtype=float), -1, order="F") for e in es]
            if K == 2:
                fds = [_stencil(fu, values, variables, es, 1e-4)]
                M = T.reshape(-1, T.shape[1], order="F")
                lead = np.kron(vecs[0], np.reshape(u, -1, order="F")) if f0.ndim else vecs[0]
                an = float(lead @ M @ vecs[1])
            else:
                # Richardson from h and h/2, for four h: truncation shrinks with h, rounding grows
                # like (2h)^-K; the closest estimate is taken (a wrong answer is far from all of them)
                h0 = 1e-2 * 2.0 ** (K - 3)
                d = [_stencil(fu, values, variables, es, h0 / 2 ** k) for k in range(5)]
                fds = [(4 * d[k + 1] - d[k]) / 3 for k in range(4)]
                out = T
                if f0.ndim:
                    out = np.tensordot(np.reshape(u, -1, order="F"), out, axes=([0], [0]))
                for vv in vecs:
                    out = np.tensordot(vv, out, axes=([0], [0]))
                an = float(out)
            atol = 10.0 ** (K - 8) * (1.0 + float(np.linalg.norm(f0)))
            err = min(abs(fd - an) / (max(abs(fd), abs(an)) + atol / rtol) for fd in fds)
            worst = max(worst, err if np.isfinite(err) else np.inf)
        done += 1
    ok = worst <= rtol
    return checking.CheckReport(ok, worst, done, dims, "" if ok else f"tolerance {rtol:g}")


__all__ = ["MAX_ENTRIES", "as_tensor", "check_higher", "lambdify_higher", "tensor_shape"]
