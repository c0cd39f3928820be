"""The structure of a derivative as a picture: |entries| of the evaluated
result, exact zeros blank, with grid lines between the vec blocks (one block
per column of the matrix variable, or of the matrix function), where
Kronecker structure such as I ⊗ (A + Aᵀ) shows as repeated blocks."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..backends import check as numcheck
from ..backends import evaluate as numeric
from ..errors import UsageError



def _dims_from_values(r: Any, values: dict[str, Any], dims: dict[str, int]) -> dict[str, int]:
    """The sizes fixed by the arrays given, over the distinct defaults."""
    out = dict(dims)
    for name, v in values.items():
        sym = r.symbols.get(name)
        if sym is None or sym.is_scalar:
            continue
        shape = np.shape(v) if np.ndim(v) == 2 else (np.size(v), 1)
        for d, k in zip(sym.shape, shape):
            if d != 1:
                out[str(d)] = int(k)
    return out


def structure_values(r: Any, seed: int = 0, **values: Any) -> tuple[dict[str, Any], dict[str, int]]:
    """Inputs for every name of the result: those given, the rest random (distinct sizes)."""
    unknown = set(values) - set(r.symbols)
    if unknown:
        raise UsageError(f"unknown name(s) {', '.join(sorted(unknown))}; the result takes {', '.join(sorted(r.symbols))}")
    dims = _dims_from_values(r, values, numcheck.dimension_sizes(r.symbols))
    rng = np.random.default_rng(seed)
    point = numcheck.random_point(r.function, r.value, r.symbols, rng, dims) or {
        n: numcheck.draw(s, dims, rng, "normal") for n, s in r.symbols.items()}
    for name, v in values.items():
        sym = r.symbols[name]
        a = np.asarray(v, dtype=float)
        point[name] = float(a.reshape(-1)[0]) if sym.is_scalar else (a.reshape(-1, 1) if a.ndim == 1 else a)
    return point, dims


def plot_structure(result: Any, *, seed: int = 0, ax: Any = None, **values: Any):
    """A matplotlib Figure of |result| at the given (or random) inputs, with vec-block grid lines."""
    try:
        from matplotlib.colors import LogNorm
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("plot_structure needs matplotlib: pip install matplotlib") from exc
    point, dims = structure_values(result, seed, **values)
    with np.errstate(all="ignore"):
        v = numeric.evaluate(result.value, point, dims)
    M = np.abs(np.atleast_2d(np.asarray(v, dtype=float)))
    if ax is None:
        fig = Figure(figsize=(4.8, 4.8 * min(2.0, max(0.5, M.shape[0] / max(M.shape[1], 1)))))
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    nonzero = M[M > 0]
    shown = np.ma.masked_where(M == 0, M)
    norm = LogNorm(vmin=nonzero.min(), vmax=nonzero.max()) if nonzero.size and nonzero.max() > nonzero.min() else None
    ax.imshow(shown, cmap="viridis", norm=norm, interpolation="nearest")
    var = result.variable
    col_block = int(numeric.dim_value(var.shape[0], dims)) if result.kind in ("jacobian", "hessian") \
        and not var.is_vector and not var.is_scalar else 0
    f = result.function
    row_block = col_block if result.kind == "hessian" else (
        int(numeric.dim_value(f.shape[0], dims)) if result.kind == "jacobian" and f.shape[1] != 1 else 0)
    for block, n, line in ((col_block, M.shape[1], ax.axvline), (row_block, M.shape[0], ax.axhline)):
        if block and n > block:
            for k in range(block, n, block):
                line(k - 0.5, color="0.55", linewidth=0.8)
    sizes = ", ".join(f"{k}={s}" for k, s in dims.items())
    text = result.input.replace("$", r"\$")  # not mathtext
    ax.set_title(f"{result.kind} of {text} wrt {var.name}\n|entries| (log scale), {M.shape[0]}×{M.shape[1]}"
                 + (f"; {sizes}" if sizes else ""), fontsize=9)
    ax.set_xlabel(f"vec {var.name}" if col_block else "column")
    ax.set_ylabel("row")
    return fig


__all__ = ["plot_structure", "structure_values"]
