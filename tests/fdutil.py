"""Finite-difference oracles shared by the tests (SPEC §3 layouts, column-major vec)."""
from __future__ import annotations

import numpy as np


def vec(a) -> np.ndarray:
    return np.atleast_1d(np.asarray(a, dtype=float)).reshape(-1, order="F")


def direction(rng, x, symmetric: bool = False):
    if np.ndim(x) == 0:
        return 1.0
    e = rng.standard_normal(np.shape(x))
    if symmetric:
        e = (e + e.T) / 2
    return e / np.linalg.norm(e)


def _at(f, inputs, wrt, dx):
    p = dict(inputs)
    p[wrt] = inputs[wrt] + dx
    return f(**p)


def first_order_error(f, inputs, wrt, out, *, rng=None, ndir=4, h=1e-6, symmetric=False,
                      floor: float = 1e-12) -> float:
    """Relative error of a gradient / Jacobian / derivative `out` against central differences of f
    (``floor`` bounds the denominator below: the differences round at about eps·|f|/h)."""
    rng = rng or np.random.default_rng(0)
    f0 = np.asarray(f(**inputs))
    fds, ans = [], []
    for _ in range(ndir):
        e = direction(rng, inputs[wrt], symmetric)
        fds.append((vec(_at(f, inputs, wrt, h * e)) - vec(_at(f, inputs, wrt, -h * e))) / (2 * h))
        if np.ndim(inputs[wrt]) == 0:
            ans.append(vec(np.asarray(out) * e))
        elif f0.ndim == 0:
            ans.append(np.atleast_1d(np.sum(np.asarray(out) * e)))
        else:
            ans.append(np.asarray(out) @ vec(e))
    fd, an = np.concatenate(fds), np.concatenate(ans)
    return float(np.linalg.norm(fd - an) / max(np.linalg.norm(fd), np.linalg.norm(an), floor))


def second_order_error(f, inputs, wrt, H, *, rng=None, ndir=4, h=1e-4, symmetric=False,
                       floor: float = 1e-12) -> float:
    """Relative error of a Hessian H (on vec) against four-point second differences of f;
    ``floor`` bounds the denominator below (second differences carry a rounding error
    of about eps·|f|/h², so curvatures far below that cannot be measured relatively)."""
    rng = rng or np.random.default_rng(0)
    fds, ans = [], []
    for _ in range(ndir):
        e1, e2 = direction(rng, inputs[wrt], symmetric), direction(rng, inputs[wrt], symmetric)
        val = (f(**_shift(inputs, wrt, h * e1 + h * e2)) - f(**_shift(inputs, wrt, h * e1 - h * e2))
               - f(**_shift(inputs, wrt, -h * e1 + h * e2)) + f(**_shift(inputs, wrt, -h * e1 - h * e2)))
        fds.append(val / (4 * h * h))
        if np.ndim(inputs[wrt]) == 0:
            ans.append(float(H) * e1 * e2)
        else:
            ans.append(vec(e1) @ np.asarray(H) @ vec(e2))
    fd, an = np.array(fds, dtype=float), np.array(ans, dtype=float)
    return float(np.linalg.norm(fd - an) / max(np.linalg.norm(fd), np.linalg.norm(an), floor))


def _shift(inputs, wrt, dx):
    p = dict(inputs)
    p[wrt] = inputs[wrt] + dx
    return p


def draw_array(shape, rng, style: str, scale: float, symmetric: bool = False) -> np.ndarray:
    """A random 2-D value of ``shape`` for an input drawn in ``style``: "positive" entries,
    "unit" (|a| < 0.8), "away" from 0, "conditioned" or "spd" square matrices, else scale·N(0, 1)."""
    if style == "positive":
        a = rng.uniform(0.5, 1.5, shape)
    elif style == "unit":
        a = rng.uniform(-0.8, 0.8, shape)
    elif style == "away":
        a = rng.choice([-1.0, 1.0], shape) * rng.uniform(0.3, 1.3, shape)
    else:
        a = rng.standard_normal(shape) * scale
    if style == "conditioned" and shape[0] == shape[1] and shape[0] > 1:
        a = 2.0 * np.eye(shape[0]) + 0.3 * rng.standard_normal(shape)
    if style == "spd" and shape[0] == shape[1] and shape[0] > 1:
        a = a @ a.T / shape[0] + np.eye(shape[0])
    return (a + a.T) / 2 if symmetric else a


def spd(rng, n):
    m = rng.standard_normal((n, n))
    return m @ m.T / n + np.eye(n)


def commutation(m, n):
    """K(m,n) @ vec(A) == vec(A.T) for A m×n (written out by loops, independently of matdiff)."""
    K = np.zeros((m * n, m * n))
    for i in range(m):
        for j in range(n):
            K[i * n + j, j * m + i] = 1.0
    return K
