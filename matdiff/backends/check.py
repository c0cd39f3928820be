"""Random inputs and the numerical check of a derivative against central finite
differences of the original expression (SPEC §5: ``check``, ``--check``, ``--against``).

Along random unit directions E at random points, order 1 compares J vec E with
D = lim (f(X+hE) − f(X−hE))/2h and order 2 compares vec(E)ᵀ H vec(E) with
lim (f(X+hE) − 2f(X) + f(X−hE))/h², each limit extrapolated from a sequence
of steps (Ridders) with an estimate of its own error.  The verdict is honest:

- ok only when every direction agrees within ``rtol``·‖D‖ (plus a floor of
  10⁻¹² times the answer's own size) and the difference quotient is known to
  that accuracy — the tolerance never grows with |f|, and the additive parts
  of f free of the variable are dropped before differencing, so that a huge
  constant cannot drown the derivative;
- mismatch when a direction disagrees by more than the tolerance plus three
  times the estimated error of the difference quotient (and an extrapolation
  from much smaller steps finds the same limit), when the answer does not
  have the layout of SPEC §3, when a Hessian is not symmetric, or when a
  derivative by a symmetric variable is not invariant under P = (I + K)/2;
- could not check when the numbers overflow or underflow, the inputs cannot
  be drawn, or the difference quotients cannot decide (a direction that
  cannot is replaced by another, a point by a smaller one, a few times).

Inputs get distinct dimension sizes and stay away from kinks and
near-singular matrices.
"""
from __future__ import annotations

import html
import math
import numbers
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ..core import construct as A
from ..core.catalogue import KINKED
from ..core.nodes import Add, Expr, Func, Hadamard, Kron, Mul, Sym, Transpose, Unvec
from ..errors import UsageError
from .declared_numeric import stand_ins
from .evaluate import _shape, dim_value, evaluate


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


def random_point(f: Expr, result: Expr, symbols: dict[str, Sym], rng: np.random.Generator,
                 dims: dict[str, int], start: int = 0) -> dict[str, Any] | None:
    """Inputs where f and the result are finite, away from kinks and near-singular matrices;
    ``start`` picks the first style of draw tried (normal, positive, spd, small)."""
    for attempt in range(start, start + 60):
        style = ("normal", "positive", "spd", "small")[attempt % 4]
        values = {n: draw(s, dims, rng, style if not (style == "spd" and s.shape[0] != s.shape[1]) else "positive")
                  for n, s in symbols.items()}
        values.update(stand_ins(f, result))
        if _off_kinks(f, values, dims) and _off_kinks(result, values, dims):
            return values
    return None


OK, MISMATCH, UNCHECKED = "ok", "mismatch", "could not check"


@dataclass
class CheckReport:
    """The outcome of a numerical check: ok, mismatch or could not check (SPEC §5),
    the largest relative error ‖J vec E − D‖/‖D‖ over the directions tried, and where."""

    ok: bool
    max_rel_error: float
    trials: int
    dims: dict[str, int] = field(default_factory=dict)
    message: str = ""
    where: str = ""
    checked: bool | None = None  # False: the check could not be made; None: read from trials

    def __bool__(self) -> bool:
        return self.ok

    @property
    def status(self) -> str:
        """``"ok"``, ``"mismatch"`` or ``"could not check"``."""
        if self.ok:
            return OK
        could_not = self.checked is False or (self.checked is None and self.trials == 0)
        return UNCHECKED if could_not else MISMATCH

    @property
    def exit_code(self) -> int:
        """The CLI's exit status for this report (SPEC §4): 0 ok, 1 mismatch, 3 could not check."""
        return {OK: 0, MISMATCH: 1, UNCHECKED: 3}[self.status]

    def _sizes(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.dims.items()) or "scalars"

    def __str__(self) -> str:
        sizes = f" ({self._sizes()})" if self.dims else ""
        if self.status == UNCHECKED:
            return f"check could not be made{sizes}: {self.message or 'no usable random point'}"
        err = (f"largest relative error {self.max_rel_error:.2e}" if math.isfinite(self.max_rel_error)
               else "")
        if self.ok:
            return (f"check ok: {err} over {self.trials} random point{'s' if self.trials != 1 else ''}"
                    f"{sizes}{'; ' + self.message if self.message else ''}")
        return f"check MISMATCH{sizes}: " + " ".join(p for p in (self.message or err, self.where) if p)

    def __repr__(self) -> str:
        return f"<matdiff check: {self}>"

    def _repr_html_(self) -> str:
        colour = {OK: "#1a7f37", MISMATCH: "#cf222e", UNCHECKED: "#9a6700"}[self.status]
        text = html.escape(str(self))
        head, _, rest = text.partition(":")
        return (f"<div class='matdiff-check'><b style='color:{colour}'>{head}</b>:{rest}</div>")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values (NaN and infinity, which JSON lacks, as null)."""
        err = self.max_rel_error
        return {"status": self.status, "ok": bool(self.ok),
                "max_rel_error": float(err) if math.isfinite(err) else None,
                "trials": self.trials, "dims": dict(self.dims), "message": self.message,
                "where": self.where, "report": str(self)}


# -- the part of f that varies with the variable ------------------------------------------
LINEAR_FUNCS = frozenset({"tr", "sum", "vec", "diag"})


def varying_part(e: Expr, name: str) -> Expr:
    """e minus additive parts free of ``name``: L(C + g) = L(C) + L(g) for every linear L
    (sums, transposes, tr, sum, vec, diag, products with factors free of the variable),
    so differences of the result equal differences of e — without a huge constant
    (1e10 + tr(A*X), exp(30) + …) cancelling in floating point."""
    if not A.depends(e, name):
        return A.zero(e.shape)
    if isinstance(e, Add):
        return A.add(*[varying_part(t, name) for t in e.terms if A.depends(t, name)])
    if isinstance(e, (Transpose, Unvec)) or (isinstance(e, Func) and e.name in LINEAR_FUNCS):
        return A.rebuild(e, (varying_part(e.children[0], name),))
    if isinstance(e, (Mul, Hadamard, Kron)):
        moving = [i for i, c in enumerate(e.children) if A.depends(c, name)]
        if len(moving) == 1:
            kids = list(e.children)
            kids[moving[0]] = varying_part(kids[moving[0]], name)
            return A.rebuild(e, tuple(kids))
    return e


# -- limits of difference quotients ------------------------------------------------------
def safe_norm(v) -> float:
    """‖v‖₂ without overflow or underflow in the squares."""
    a = np.abs(np.asarray(v, dtype=float)).reshape(-1)
    if a.size == 0:
        return 0.0
    m = float(np.max(a))
    if not math.isfinite(m):
        return math.inf if not math.isnan(m) else math.nan
    return 0.0 if m == 0.0 else m * float(np.sqrt(np.sum((a / m) ** 2)))


def extrapolate(phi: Callable[[float], tuple[np.ndarray, float]], h0: float, target: float,
                levels: int = 14) -> tuple[np.ndarray | None, float]:
    """Ridders' extrapolation of φ(h) = D + c₁h² + c₂h⁴ + … to h → 0, from h0, h0/2, …:
    the estimate with the smallest error estimate — the change from the neighbouring
    tableau entries, and never less than the rounding error of φ at that step, which
    ``phi`` returns beside its value.  It stops once the error is below ``target`` or
    rounding alone exceeds the best error so far.  Steps where φ is not finite
    (overflow, a singular matrix) restart the tableau."""
    best, err = None, math.inf
    prev: list[np.ndarray] | None = None
    for i in range(levels):
        h = h0 / 2.0 ** i
        try:
            v, rounding = phi(h)
            v = np.asarray(v, dtype=float)
        except (np.linalg.LinAlgError, ValueError, ZeroDivisionError, OverflowError, FloatingPointError):
            v, rounding = np.array(np.nan), math.nan
        if not np.all(np.isfinite(v)) or not math.isfinite(rounding):
            prev = None
            continue
        if best is not None and rounding >= err:
            break  # smaller steps only round worse
        row = [v]
        fac = 4.0
        for j in range(1, (len(prev) + 1) if prev is not None else 1):
            row.append((row[j - 1] * fac - prev[j - 1]) / (fac - 1.0))
            fac *= 4.0
            e = max(safe_norm(row[j] - row[j - 1]), safe_norm(row[j] - prev[j - 1]), rounding * 2.0 ** j)
            if e <= err:
                best, err = row[j], e
        if best is not None and err <= target:
            break
        if prev is not None and best is not None and err < 1e-3 * safe_norm(best) \
                and safe_norm(row[-1] - prev[-1]) >= 4.0 * err:
            break  # truncation no longer shrinks: nothing better is coming
        prev = row
    return best, err


EPS = float(np.finfo(float).eps)
ROUNDING = 16 * EPS  # relative error of one evaluation of g, assumed


# -- the check -------------------------------------------------------------------------
@dataclass
class _Verdict:
    status: str
    error: float = 0.0
    message: str = ""
    where: str = ""


def expected_shape(f: Expr, var: Sym, order: int, dims: dict[str, int]) -> tuple[int, int]:
    """The numeric shape of the SPEC §3 layout: X's shape for a gradient, F's for a
    derivative by a scalar, (size F)×(size X) for a Jacobian, (size X)² for a Hessian."""
    fr, fc = _shape(f.shape, dims)
    xr, xc = _shape(var.shape, dims)
    if order == 2:
        return (1, 1) if var.is_scalar else (xr * xc, xr * xc)
    if f.is_scalar:
        return (xr, xc)
    if var.is_scalar:
        return (fr, fc)
    return (fr * fc, xr * xc)


def _as_matrix(out, f: Expr, var: Sym, order: int, dims: dict[str, int]) -> np.ndarray:
    """The answer as the matrix J of d vec F = J d vec X (order 1) or H (order 2)."""
    a = np.asarray(out, dtype=float)
    if order == 2:
        return a.reshape(1, 1) if var.is_scalar else a
    if f.is_scalar:
        return a.reshape(1, -1, order="F")
    if var.is_scalar:
        return a.reshape(-1, 1, order="F")
    return a


def _asymmetry(J: np.ndarray, n: int, both: bool) -> float:
    """‖J − J P‖ (and ‖H − P H P‖ when ``both``) relative to ‖J‖, P = (I + K)/2 on vec of n×n."""
    rows = J.reshape(J.shape[0], n, n, order="F")
    d = safe_norm(rows - rows.transpose(0, 2, 1)) / 2
    if both:
        cols = J.T.reshape(J.shape[1], n, n, order="F")
        d = max(d, safe_norm(cols - cols.transpose(0, 2, 1)) / 2)
    size = safe_norm(J)
    return 0.0 if d == 0.0 else d / size if size > 0 else math.inf


def _shape_text(s: tuple[int, int]) -> str:
    return f"{s[0]}×{s[1]}"


TINY = 1e-280  # below this the numbers have lost their precision to underflow


def _underflows(*vs) -> bool:
    return any(0.0 < float(np.max(np.abs(v))) < TINY for v in vs if np.size(v))


def _underflow_in(e: Expr, values: dict[str, Any], dims: dict[str, int]) -> bool:
    """Whether evaluating e underflows somewhere (exp(−1000), X¹⁰⁰⁰⁰⁰ of a small X): a 0
    that is really a tiny number proves nothing."""
    try:
        with np.errstate(all="ignore", under="raise"):
            evaluate(e, values, dims)
    except FloatingPointError:
        return True
    except (np.linalg.LinAlgError, ValueError, ZeroDivisionError, OverflowError):
        return False
    return False


def _at_point(g: Expr, f: Expr, var: Sym, out, values: dict[str, Any], dims: dict[str, int], order: int,
              rng: np.random.Generator, rtol: float, directions: int, result: Expr | None = None,
              ingredients: float = 0.0) -> _Verdict:
    """Compare the answer ``out`` (the value of ``result``) with difference quotients of g
    at one point; where the answer or g is 0 through underflow, the point proves nothing.
    ``ingredients`` is the largest number met in evaluating the answer: an answer far
    smaller is cancellation noise, and its asymmetry says nothing."""
    want = expected_shape(f, var, order, dims)
    got = np.shape(np.atleast_2d(np.asarray(out, dtype=float)))
    what = ("Hessian" if order == 2 else "gradient" if f.is_scalar else
            "derivative" if var.is_scalar else "Jacobian")
    if got != want:
        return _Verdict(MISMATCH, math.inf, f"the answer is {_shape_text(got)} but the {what} by "
                                             f"{var.name} is {_shape_text(want)} here (SPEC §3 layout)")
    J = _as_matrix(out, f, var, order, dims)
    if not np.all(np.isfinite(J)):
        return _Verdict(UNCHECKED, message="the answer is not finite at the random points")
    # an answer far smaller than the numbers it is made of is their rounding: numerically 0
    cancelled = 0.0 < safe_norm(J) <= 1e-9 * ingredients
    if order == 2 and not cancelled and safe_norm(J - J.T) > rtol * safe_norm(J):
        asym = safe_norm(J - J.T) / safe_norm(J)
        return _Verdict(MISMATCH, asym, f"the Hessian is not symmetric (relative asymmetry {asym:.2e})")
    if var.symmetric and not var.is_scalar and not cancelled:
        bad = _asymmetry(J, dim_value(var.shape[0], dims), order == 2)
        if bad > rtol:
            return _Verdict(MISMATCH, bad, f"{var.name} is symmetric but the {what} is not "
                                           f"{'symmetric' if f.is_scalar and order == 1 else 'invariant under (I + K)/2'}"
                                           f" (relative asymmetry {bad:.2e})")
    if _underflows(J) or (safe_norm(J) == 0.0 and result is not None and (
            _underflow_in(result, values, dims) or _underflow_in(g, values, dims))):
        return _Verdict(UNCHECKED, message="the numbers underflow at the random points")
    x = values[var.name]
    scale = max(float(np.max(np.abs(x))), 1e-3)
    floor = safe_norm(J) if cancelled else 1e-12 * safe_norm(J)

    def g_at(step) -> np.ndarray:
        v = dict(values)
        v[var.name] = x + step
        return np.asarray(evaluate(g, v, dims), dtype=float).reshape(-1, order="F")

    with np.errstate(all="ignore"):
        g0 = g_at(0.0 * x) if order == 2 else None
        n0 = safe_norm(g0) if order == 2 else 0.0
        worst = 0.0
        where = ""
        uncertain = ""
        confirmed = 0
        for k in range(2 * directions):  # a direction that cannot decide is replaced by another
            if confirmed == directions:
                break
            if var.is_scalar:
                e = 1.0 if k % 2 == 0 else -1.0
            else:
                e = rng.standard_normal(np.shape(x))
                if var.symmetric:
                    e = (e + e.T) / 2
                e = e / np.linalg.norm(e)
            ev = np.reshape(np.asarray(e, dtype=float), -1, order="F")
            if order == 1:
                an = J @ ev
                h0 = 1e-2 * scale

                def phi(h, e=e):
                    a, b = g_at(h * e), g_at(-h * e)
                    return (a - b) / (2 * h), ROUNDING * (safe_norm(a) + safe_norm(b)) / (2 * h)
            else:
                an = np.atleast_1d(ev @ J @ ev)
                h0 = 2e-2 * scale

                def phi(h, e=e):
                    a, b = g_at(h * e), g_at(-h * e)
                    return (a - 2 * g0 + b) / (h * h), ROUNDING * (safe_norm(a) + 2 * n0 + safe_norm(b)) / (h * h)
            v = compare_direction(an, phi, h0, rtol, floor)
            if v.status == MISMATCH:
                return _Verdict(MISMATCH, v.error, v.message, f"direction {k + 1}{v.where}")
            if v.status == UNCHECKED:
                uncertain = v.message
                continue
            confirmed += 1
            if v.error > worst:
                worst, where = v.error, f"direction {k + 1}"
    if confirmed < directions:
        return _Verdict(UNCHECKED, worst, uncertain)
    return _Verdict(OK, worst, where=where)


def compare_direction(an: np.ndarray, phi: Callable[[float], tuple[np.ndarray, float]], h0: float,
                      rtol: float, floor: float = 0.0, second_look: float = 1e-2) -> _Verdict:
    """The verdict on one direction: ``an`` the answer's prediction, φ(h) the difference
    quotient (and its rounding error) whose limit it must equal.  ok when ‖an − D‖ ≤
    rtol‖D‖ + floor with D known to half that; mismatch when the gap exceeds that plus
    three times D's estimated error; otherwise undecided.  A claimed 0 is ok when D is 0
    to the rounding of the differences.  A mismatch is confirmed from steps ``second_look``
    times smaller."""
    an = np.atleast_1d(np.asarray(an, dtype=float)).reshape(-1)
    claims_zero = safe_norm(an) <= floor
    try:
        round0 = phi(h0)[1]
    except (np.linalg.LinAlgError, ValueError, ZeroDivisionError, OverflowError):
        round0 = math.nan
    D, noise = extrapolate(phi, h0, 0.0 if claims_zero else 1e-3 * rtol * safe_norm(an))
    if D is None or not math.isfinite(noise) or not math.isfinite(round0):
        return _Verdict(UNCHECKED, message="the difference quotients overflow or are not finite near the "
                                           "random points")
    D = np.atleast_1d(D).reshape(-1)
    diff, size = safe_norm(an - D), safe_norm(D)
    if not math.isfinite(diff) or not math.isfinite(size):
        return _Verdict(UNCHECKED, message="the numbers overflow near the random points")
    if _underflows(D, an):
        return _Verdict(UNCHECKED, message="the numbers underflow near the random points")
    rel = diff / size if size > 0 else (0.0 if diff == 0.0 else math.inf)
    if claims_zero and size <= 3 * noise + 8 * round0 and noise <= 64 * round0:
        return _Verdict(OK, 0.0)  # zero, as claimed, to the rounding of the differences
    bound = rtol * size + floor
    if diff > bound + 3 * noise and not _settles(phi, h0 * second_look, D, noise, an, rtol, floor):
        return _Verdict(UNCHECKED, message="the difference quotients do not settle (the function varies "
                                           "too fast near the random points)")
    if diff > bound + 3 * noise:
        entry = int(np.argmax(np.abs(an - D))) if D.size > 1 else None
        place = f", entry {entry + 1} of vec of the directional derivative" if entry is not None else ""
        return _Verdict(MISMATCH, rel, f"relative error {rel:.2e} > tolerance {rtol:g}",
                        place + f": answer {_fmt(an, entry)}, finite differences {_fmt(D, entry)}")
    if diff > bound or noise > bound / 2:
        return _Verdict(UNCHECKED, message="the finite differences are not accurate enough to decide "
                                           f"(estimated error {noise / size if size else noise:.1e} relative)")
    return _Verdict(OK, rel if math.isfinite(rel) else 0.0)  # D = 0 met by an answer within its floor


LOCATE_UP_TO = 64  # entries of the variable: beyond, a mismatch is not traced to an entry


def locate(g: Expr, f: Expr, var: Sym, out, values: dict[str, Any], dims: dict[str, int]) -> str:
    """The entry of a first derivative farthest from finite differences along each unit
    direction of vec X (``"; worst entry (i, j) of the answer: …"``), or "" when X is
    large, symmetric, or no entry can be told apart."""
    x = values[var.name]
    size = int(np.size(x))
    if var.symmetric or size > LOCATE_UP_TO:
        return ""
    J = _as_matrix(out, f, var, 1, dims)
    scale = max(float(np.max(np.abs(x))), 1e-3)
    worst, at = 0.0, None
    with np.errstate(all="ignore"):
        for k in range(size):
            e = np.zeros(size)
            e[k] = 1.0
            e = e.reshape(np.shape(x), order="F") if np.ndim(x) else 1.0

            def g_at(step):
                v = dict(values)
                v[var.name] = x + step
                return np.asarray(evaluate(g, v, dims), dtype=float).reshape(-1, order="F")

            def phi(h, e=e):
                a, b = g_at(h * e), g_at(-h * e)
                return (a - b) / (2 * h), ROUNDING * (safe_norm(a) + safe_norm(b)) / (2 * h)

            D, noise = extrapolate(phi, 1e-2 * scale, 1e-9 * safe_norm(J[:, k]))
            if D is None:
                continue
            gap = np.abs(J[:, k] - np.reshape(D, -1)) - 3 * noise
            r = int(np.argmax(gap))
            if gap[r] > worst:
                worst, at = float(gap[r]), (r, k, float(J[r, k]), float(np.reshape(D, -1)[r]))
    if at is None:
        return ""
    r, k, a, d = at
    rows = np.shape(np.atleast_2d(np.asarray(out, dtype=float)))[0]
    if f.is_scalar:  # a gradient, X's shape
        i, j = k % rows, k // rows
    elif var.is_scalar:  # F's shape
        i, j = r % rows, r // rows
    else:  # the Jacobian itself
        i, j = r, k
    return f"; worst entry ({i + 1}, {j + 1}) of the answer: {a:.6g}, finite differences {d:.6g}"


def _settles(phi, h0: float, D: np.ndarray, noise: float, an: np.ndarray, rtol: float, floor: float) -> bool:
    """Whether an extrapolation from much smaller steps finds the same limit D, also far
    from ``an``: a fast oscillation can fool the first one, never both the same way."""
    D2, noise2 = extrapolate(phi, h0, 1e-3 * rtol * safe_norm(D))
    if D2 is None or not math.isfinite(noise2):
        return False
    D2 = np.atleast_1d(D2).reshape(-1)
    size = max(safe_norm(D), safe_norm(D2))
    same = safe_norm(D2 - D) <= 3 * (noise + noise2) + rtol * size
    return same and safe_norm(an - D2) > rtol * safe_norm(D2) + floor + 3 * noise2


def _fmt(v: np.ndarray, entry: int | None) -> str:
    a = np.reshape(v, -1)
    return f"{a[entry if entry is not None else 0]:.6g}"


MAX_TRIALS = 1000


def check_arguments(trials: Any, seed: Any) -> None:
    """``trials`` a whole number from 1 to MAX_TRIALS and ``seed`` a whole number (Python's
    or NumPy's, never a bool): anything else is a usage error, not a failure deep in NumPy."""
    for name, v, low, high in (("trials", trials, 1, MAX_TRIALS), ("seed", seed, 0, 2**63 - 1)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or not low <= int(v) <= high:
            raise UsageError(f"{name} must be a whole number from {low} to {high}, got {repr(v)[:40]}")


def check(f: Expr, var: Sym, result: Expr, order: int, symbols: dict[str, Sym], *, trials: int = 3,
          seed: int = 0, rtol: float | None = None) -> CheckReport:
    """Compare ``result`` (in the SPEC §3 layout) with extrapolated central differences
    of f at ``trials`` random points, three random directions each (see the module)."""
    check_arguments(trials, seed)
    trials, seed = int(trials), int(seed)
    rng = np.random.default_rng(seed)
    rtol = rtol if rtol is not None else (1e-6 if order == 1 else 1e-5)
    if order == 2 and not f.is_scalar:
        return CheckReport(False, math.nan, 0, {}, "second derivatives are checked for scalar functions only",
                           checked=False)
    g = varying_part(f, var.name)
    worst, worst_where, done, attempts, reason, unsure = 0.0, "", 0, 0, "", 0
    shift = 0
    dims = dimension_sizes(symbols, shift)
    while done < trials and attempts < trials + 6:
        attempts += 1
        values = random_point(f, result, symbols, rng, dims, 3 if unsure else 0)  # then small inputs
        while values is None and shift < 8:
            shift += 1
            dims = dimension_sizes(symbols, shift)
            values = random_point(f, result, symbols, rng, dims, 3 if unsure else 0)
        if values is None:
            reason = "no random point kept f finite and off its kinks"
            break
        with np.errstate(all="ignore"):
            try:
                memo: dict = {}
                out = evaluate(result, values, dims, memo)
                ingredients = max((float(np.max(np.abs(v))) for v in memo.values()
                                   if isinstance(v, (float, np.ndarray)) and np.size(v) and np.all(np.isfinite(v))),
                                  default=0.0)
            except (np.linalg.LinAlgError, ValueError, ZeroDivisionError, OverflowError):
                reason = "the answer cannot be evaluated at the random points"
                continue
        v = _at_point(g, f, var, out, values, dims, order, rng, rtol, 3, result, ingredients)
        if v.status == MISMATCH:
            where = f"at random point {attempts}" + (f", {v.where}" if v.where else "")
            if v.where.startswith("direction") and order == 1:
                where += locate(g, f, var, out, values, dims)
            return CheckReport(False, v.error, done + 1, dims, v.message, where, checked=True)
        if v.status == UNCHECKED:
            reason, unsure = v.message, unsure + 1
            continue
        done += 1
        if v.error >= worst:
            worst, worst_where = v.error, f"at random point {attempts}, {v.where}" if v.where else ""
    if done < trials:
        return CheckReport(False, worst if done else math.nan, done, dims,
                           reason or "no usable random point", checked=False)
    return CheckReport(True, worst, done, dims, "", worst_where, checked=True)


__all__ = ["CheckReport", "check", "compare_direction", "dimension_sizes", "safe_norm", "ROUNDING", "draw", "expected_shape", "extrapolate",
           "random_point", "varying_part", "OK", "MISMATCH", "UNCHECKED"]
