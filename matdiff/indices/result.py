"""The derivative of an index expression: printed in matrix notation where one
exists (slice by slice for a tensor) and always in indices (:meth:`index`);
evaluated and checked by einsum."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar

import numpy as np

from ..backends import check as numeric
from ..core import construct as A
from ..core.nodes import Expr, Mul
from ..errors import UsageError
from ..present.printing import to_latex, to_text, to_unicode
from ..result import Result
from . import ricci as R
from .evaluate import Evaluator, index_sizes
from .lower import Arrays
from .printing import index_text
from .typing import Part

KINKED = ("abs", "sign", "relu", "step")
LHS = {"text": ("∂L/∂", ""), "unicode": ("∂L/∂", ""), "latex": ("\\frac{\\partial L}{\\partial ", "}")}


@dataclass(frozen=True)
class MatrixForm:
    """How the answer reads in matrix notation: ``lhs = expr`` with an optional
    selection of entries (``(…)[:,b]``, pushed into the last factor of a product)."""

    lhs: str | None = None  # e.g. "Phi[:,i,:]": the answer is ∂L/∂Phi[:,i,:] for every i
    select: tuple[str, ...] | None = None  # e.g. (":", "b")
    cuts: bool = False  # the variable is a part across several slices: no matrix form of its own
    sum_over: tuple[str, ...] = ()  # the answer is a sum of matrix forms over these indices
    where: tuple[tuple[str, str], ...] = ()  # names of sums inside the answer: (s, "sum_i(…)")


def render(e: Expr, select, printer: Callable[[Expr], str]) -> str:
    if not select:
        return printer(e)
    sel = "[" + ",".join(select) + "]"
    if isinstance(e, Mul) and len(e.factors) > 1 and not e.factors[-1].is_scalar and len(select) == 2 \
            and select[0] == ":":
        head = A.mul(*e.factors[:-1])
        if "^-" in to_text(head):  # a quotient: the selection goes on the whole
            s = printer(e)
            return f"({s}){sel}"
        last = printer(e.factors[-1])
        last = last if _atomic(last) else f"({last})"
        return f"{printer(head)}*{last}{sel}" if printer is to_text else f"{printer(head)} {last}{sel}"
    s = printer(e)
    return (s if _atomic(s) else f"({s})") + sel


def _atomic(s: str) -> bool:
    depth = 0
    for n, ch in enumerate(s):
        depth += ch in "([{"
        depth -= ch in ")]}"
        if depth == 0 and ch in " +-*/'^" and n > 0:
            return False
    return True


@dataclass(frozen=True, repr=False)
class IndexResult(Result):
    """A derivative of an index expression (SPEC §6)."""

    rule_steps: ClassVar[bool] = False  # steps of their own, kept as text

    arrays: Arrays | None = field(default=None, compare=False)
    part: Part | None = None
    ricci_function: R.Ricci | None = field(default=None, compare=False)
    gradient: R.Ricci | None = field(default=None, compare=False)  # the entry of ∂L/∂V at vkeys
    vkeys: tuple[str, ...] = ()
    matrix_numbers: bool = False  # evaluated by the matrix engine (a closed form by a whole variable)
    form: MatrixForm = field(default_factory=MatrixForm)
    index_only: bool = False  # no matrix form: printed in indices
    derivation: tuple[str, ...] = ()
    derivation_of: Callable[[], list[str]] | None = field(default=None, compare=False)  # the lines, when asked
    out_keys: tuple[str, ...] = ()  # the function's own free indices (a Jacobian)
    second_keys: tuple[str, ...] = ()  # the second variable's indices (a Hessian)
    index_lhs: str | None = None
    index_names: dict | None = field(default=None, compare=False)

    # -- printing ------------------------------------------------------------------
    def _matrix(self, style: str) -> str:
        if self.index_only:
            return self.index(style)
        printer = {"text": to_text, "unicode": to_unicode, "latex": to_latex}[style]
        body = render(self.display, self.form.select, printer)
        if self.form.sum_over:
            names = self.form.sum_over
            if style == "latex":
                body = f"\\sum_{{{','.join(names)}}} \\left({body}\\right)"
            else:
                head = "sum_" if style == "text" else "Σ_"
                body = f"{head}{names[0] if len(names) == 1 else '{' + ','.join(names) + '}'}({body})"
        if self.form.where:
            body += " where " + ", ".join(f"{n} = {t}" for n, t in self.form.where)
        if self.form.lhs is None:
            return body
        a, b = LHS[style]
        from ..core.nodes import Sym
        lhs = self.form.lhs if style == "text" else printer(Sym(self.form.lhs, (1, 1)))
        return f"{a}{lhs}{b} = {body}"

    @property
    def text(self) -> str:
        return self._matrix("text")

    def unicode(self) -> str:
        return self._matrix("unicode")

    def latex(self) -> str:
        return self._matrix("latex")

    def axis_names(self) -> dict[str, str]:
        """Display names of the gradient's axes: the part's indices, then a, b, c, …"""
        names = {}
        subs = self.part.subs if self.part and self.part.subs else (":",) * len(self.vkeys)
        taken = {s for s in subs if s != ":"}
        letters = (x for x in "abcdefgh" if x not in taken)
        for k, s in zip(self.vkeys, subs):
            names[k] = s if s != ":" else next(letters)
        return names

    def index(self, style: str = "text") -> str:
        """The answer entry by entry: ``∂L/∂Phi[a,b,c] = …`` (SPEC §6)."""
        if self.gradient is None:
            raise UsageError("this result has no index form (a Hessian: see its matrix form)")
        if self.index_lhs is not None:
            body = index_text(self.gradient, self.index_names, self.arrays.shown, style)
            return f"{self.index_lhs} = {body}"
        names = self.axis_names()
        body = index_text(self.gradient, names, self.arrays.shown, style)
        var = self.part.name if self.part else self.variable.name
        if style == "latex":
            sub = "_{" + "".join(names[k] for k in self.vkeys) + "}" if self.vkeys else ""
            from ..core.nodes import Sym
            return f"\\frac{{\\partial L}}{{\\partial {to_latex(Sym(var, (1, 1)))}{sub}}} = {body}"
        if style == "unicode":
            from ..core.nodes import Sym
            var = to_unicode(Sym(var, (1, 1)))
        sub = "[" + ",".join(names[k] for k in self.vkeys) + "]" if self.vkeys else ""
        return f"∂L/∂{var}{sub} = {body}"

    @cached_property
    def steps(self) -> list[str]:
        if self.derivation:
            return list(self.derivation)
        if self.derivation_of is not None:  # built only when shown: most calls never print their steps
            return list(self.derivation_of())
        return super().steps

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict() if self.matrix_numbers else {
            "input": self.input, "variable": str(self.part or self.variable.name), "kind": self.kind,
            "order": self.order, "text": self.text, "unicode": self.unicode(), "latex": self.latex(),
            "notes": list(self.notes), "steps": self.steps}
        if self.gradient is not None:
            d["index"] = self.index()
        return d

    # -- numbers -------------------------------------------------------------------
    def _inputs(self) -> list[str]:
        used = R.names(self.gradient) | R.names(self.ricci_function)
        return [n for n in self.arrays.axes if n in used or n == self.part.name]

    def lambdify(self) -> Callable[..., Any]:
        if self.matrix_numbers and not (self.part and self.part.subs):
            return super().lambdify()
        grad, vkeys, part, arrays = self.gradient, self.vkeys, self.part, self.arrays
        outk, second = self.out_keys, self.second_keys
        inputs = self._inputs()

        def f(**kwargs):
            values = {}
            for n in inputs:
                v = kwargs.get(n, kwargs.get(n + "_"))
                if v is None:
                    raise UsageError(f"missing a value for '{n}' (the function takes "
                                     f"{', '.join(inputs + list(part.free))})")
                values[n] = v
            _, sizes = index_sizes(arrays, values)
            fixed = _fixed(part, vkeys, kwargs, sizes)
            for k1, k2 in zip(vkeys, second):
                if k1 in fixed:
                    fixed[k2] = fixed[k1]
            rows = tuple(outk) if outk else tuple(k for k in vkeys if k not in fixed)
            cols = tuple(k for k in (second if second else vkeys) if k not in fixed) if (outk or second) else ()
            with np.errstate(all="ignore"):
                a = Evaluator(values, sizes, fixed)(grad, rows + cols)
            if outk or second:  # on vec, column-major: (size of F or of V, size of V)
                nr = int(np.prod([sizes[k] for k in rows]))
                return a.reshape((nr, -1), order="F")
            return float(a) if a.ndim == 0 else a

        f.__doc__ = f"NumPy (einsum) evaluation of {self.text}; arguments: {', '.join(inputs + list(part.free))}"
        return f

    def check(self, trials: int = 3, seed: int = 0) -> numeric.CheckReport:
        if self.matrix_numbers and not (self.part and self.part.subs):
            return super().check(trials, seed)
        return check_index(self, trials, seed)

    def to_code(self, target: str = "numpy", name: str = "derivative") -> str:
        if self.matrix_numbers and not (self.part and self.part.subs):
            return super().to_code(target, name)
        from .codegen import index_code
        return index_code(self, target, name)


    def _matrix_only(self, what: str) -> None:
        if not self.matrix_numbers or (self.part and self.part.subs):
            from ..errors import UnsupportedError
            raise UnsupportedError(f"{what} is available for matrix results; this result is in indices "
                                   "(use lambdify, check or to_code)")

    def hvp(self):
        self._matrix_only("hvp()")
        return super().hvp()

    @property
    def gauss_newton(self):
        self._matrix_only("the Gauss-Newton matrix")
        return super().gauss_newton

    def to_sympy(self):
        self._matrix_only("to_sympy()")
        return super().to_sympy()

    def plot(self, **values):
        self._matrix_only("plot()")
        return super().plot(**values)


def _fixed(part: Part, vkeys, kwargs, sizes) -> dict[str, int]:
    fixed = {}
    for k, s in zip(vkeys, part.subs or ()):
        if s == ":":
            continue
        if s not in kwargs:
            raise UsageError(f"missing the index '{s}' of the variable {part} (an int, 0-based)")
        v = kwargs[s]
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not 0 <= int(v) < sizes[k]:
            raise UsageError(f"the index '{s}' must be an int in 0…{sizes[k] - 1}, got {v!r}")
        fixed[k] = int(v)
    return fixed


def check_index(r: IndexResult, trials: int, seed: int) -> numeric.CheckReport:
    """Central differences of the index expression along random directions of the part
    (second differences for a Hessian; F on vec for a Jacobian)."""
    numeric.check_arguments(trials, seed)
    trials, seed = int(trials), int(seed)
    rng = np.random.default_rng(seed)
    arrays = r.arrays
    letters = sorted({str(d) for ax in arrays.axes.values() for d in ax if d != 1 and "*" not in str(d)})
    sizes_by_letter = dict(zip(letters, [4, 3, 5, 2, 6, 7, 8, 9, 10, 11][:len(letters)] or [4]))
    worst, done = 0.0, 0
    f_out = tuple(r.out_keys)
    part = r.part
    for _ in range(trials):
        for attempt in range(50):
            values = {n: rng.standard_normal(tuple(sizes_by_letter[str(d)] for d in ax)) * 0.7 if ax
                      else float(rng.uniform(0.5, 1.5)) for n, ax in arrays.axes.items()}
            _, sizes = index_sizes(arrays, values)
            idx = {s: int(rng.integers(0, sizes[k])) for k, s in zip(r.vkeys, part.subs or ()) if s != ":"}
            if _off_kinks(r, values, sizes, idx):
                break
        else:
            return numeric.CheckReport(False, float("nan"), done, sizes_by_letter, "no random point off the kinks")
        G = np.asarray(r.lambdify()(**values, **idx), dtype=float)
        x = np.asarray(values[part.name], dtype=float)
        key = tuple(idx[s] if s != ":" else slice(None) for s in (part.subs or (":",) * x.ndim))

        def f(dx, values=values, x=x, key=key, sizes=sizes):
            v = dict(values)
            y = x.copy()
            y[key] = y[key] + dx
            v[part.name] = y
            with np.errstate(all="ignore"):
                out = Evaluator(v, sizes)(r.ricci_function, f_out)
            return np.reshape(out, -1, order="F")

        def vec(a):
            return np.reshape(a, -1, order="F")

        scale = max(float(np.max(np.abs(x[key]))), 1e-3)
        rtol = 1e-5 if r.order == 2 else 1e-6
        for k in range(3):  # judged as every check is (matdiff.backends.check.compare_direction)
            e = rng.standard_normal(np.shape(x[key]))
            e = e / (np.linalg.norm(e) or 1.0)
            if r.order == 2:
                e2 = rng.standard_normal(np.shape(x[key]))
                e2 = e2 / (np.linalg.norm(e2) or 1.0)
                an = np.atleast_1d(vec(e) @ np.atleast_2d(G) @ vec(e2))

                def phi(h, e=e, e2=e2):
                    ys = [f(h * (e + e2)), f(h * (e - e2)), f(h * (e2 - e)), f(-h * (e + e2))]
                    return ((ys[0] - ys[1] - ys[2] + ys[3]) / (4 * h * h),
                            numeric.ROUNDING * sum(numeric.safe_norm(y) for y in ys) / (4 * h * h))
                h0 = 2e-2 * scale
            else:
                an = np.atleast_1d(G @ vec(e) if f_out else np.sum(G * e))

                def phi(h, e=e):
                    a, b = f(h * e), f(-h * e)
                    return (a - b) / (2 * h), numeric.ROUNDING * (numeric.safe_norm(a) + numeric.safe_norm(b)) / (2 * h)
                h0 = 1e-2 * scale
            with np.errstate(all="ignore"):
                v = numeric.compare_direction(an, phi, h0, rtol, 1e-12 * numeric.safe_norm(G))
            if v.status == numeric.MISMATCH:
                return numeric.CheckReport(False, v.error, done + 1, sizes_by_letter, v.message,
                                           f"at random point {done + 1}, direction {k + 1}{v.where}", checked=True)
            if v.status == numeric.UNCHECKED:
                return numeric.CheckReport(False, worst if done else float("nan"), done, sizes_by_letter,
                                           v.message, checked=False)
            worst = max(worst, v.error)
        done += 1
    return numeric.CheckReport(True, worst, done, sizes_by_letter, checked=True)


def _off_kinks(r: IndexResult, values, sizes, idx, gap: float = 1e-3) -> bool:
    fixed = {k: idx[s] for k, s in zip(r.vkeys, r.part.subs or ()) if s != ":"}
    ev = Evaluator(values, sizes, fixed)
    try:
        with np.errstate(all="ignore"):
            ev.ev(r.ricci_function)
            ev.ev(r.gradient)
    except (ValueError, np.linalg.LinAlgError, ZeroDivisionError):
        return False
    for x, (v, _) in ev.memo.items():
        if not np.all(np.isfinite(v)):
            return False
        if isinstance(x, R.Fn) and x.name in KINKED:
            a, _ = ev.memo[x.arg]
            if np.min(np.abs(a)) < gap:
                return False
    return True
