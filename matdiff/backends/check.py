"""Random inputs and the numerical check of a result against central finite
differences of the original expression (SPEC §5: ``check``, ``--check``).

Order 1: ⟨G, E⟩ (or J vec E) against (f(X+hE) − f(X−hE))/2h; order 2:
vec(E₁)ᵀ H vec(E₂) against the four-point second difference.  Inputs get
distinct dimension sizes and stay away from kinks and near-singular matrices.
"""
from __future__ import annotations

import math

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core.catalogue import KINKED
from ..core.nodes import Expr, Func, Sym
from .declared_numeric import stand_ins
from .evaluate import _scalar, _shape, evaluate


# -- random inputs --------------------------------------------------------------------
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
    dims = dict(zip(names, orders[shift % len(orders)]))
    for have, want in dict.fromkeys(e for sym in symbols.values() for d in sym.shape for e in getattr(d, "equal", ())):
        dims.update(zip(have, _factors(math.prod(dims[p] for p in want), len(have), [dims[p] for p in want])))
    return dims


def _factors(n: int, k: int, avoid: list[int]) -> list[int]:
    """n as a product of k sizes ≥ 2 (p·q = l·n: vec of a p×q X against b ⊗ x), another
    factoring than ``avoid`` when there is one."""
    def split(n: int, k: int) -> list[list[int]]:
        if k == 1:
            return [[n]] if n >= 2 else []
        return [[d] + rest for d in range(2, n // 2 + 1) if n % d == 0 for rest in split(n // d, k - 1)]
    ways = split(n, k)
    return next((w for w in ways if sorted(w) != sorted(avoid)), ways[0] if ways else avoid)


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


KINK_FUNCS = tuple(KINKED)


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
        sizes = ", ".join(f"{k}={v}" for k, v in self.dims.items())
        if not self.ok and self.trials == 0:  # neither ok nor a mismatch (SPEC §5)
            return f"check could not be made ({sizes or 'scalars'}): {self.message or 'no usable random point'}"
        verdict = "ok" if self.ok else "MISMATCH"
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
