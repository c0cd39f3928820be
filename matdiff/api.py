"""The Python API (SPEC §5): ``parse``, ``diff``, ``lambdify`` and the SymPy bridge.

This module checks what the caller passed and hands it to
:mod:`matdiff.pipeline`; what comes back is a :class:`~matdiff.result.Result`."""
from __future__ import annotations

import numbers
import re
from collections.abc import Mapping
from typing import Any, Callable

from .backends import evaluate as numeric
from .backends.against import answer_text, check_claim
from .backends.check import CheckReport
from .core.catalogue import FUNCTIONS
from .core.names import NAME
from .calculus.higher import check_order
from .errors import UnsupportedError, UsageError, guarded
from .frontend.limits import MAX_NAME, check_name_length, shortened
from .frontend.types import check_types
from .higher_result import run_higher
from .indices.typing import parse_part
from .pipeline import parse as _parse
from .pipeline import run, run_many
from .result import Parsed, Result
from .results import ChecksReport, Results

__all__ = ["parse", "diff", "check", "lambdify", "from_sympy", "diff_sympy", "Parsed", "Result", "Results"]


@guarded("parsing")
def parse(text: str, types: dict[str, str] | None = None) -> Parsed:
    """The typed expression tree of ``text`` (SPEC §1–§2), with its variables and notes."""
    return _parse(text, types)


@guarded("differentiating")
def diff(expr: str | Parsed, wrt: Any, *more: Any, types: dict[str, str] | None = None,
         order: int = 1) -> Result | Results:
    """The derivative of ``expr`` with respect to ``wrt``, simplified (SPEC §3, §5); for a
    list of variables, a mapping variable → derivative found in one pass (SPEC §7);
    ``diff(f, "x", "y")`` is the mixed derivative ∂²f/∂x∂yᵀ, ``order=K`` the K-th (SPEC §7).

    ``expr`` is text or what :func:`parse` and :func:`from_sympy` return (read
    again with its declarations); a variable is a name, or a SymPy ``MatrixSymbol``
    or ``Symbol``, whose shape declares its type unless ``types`` does."""
    types = check_types(types) if types is not None else None
    order = _order(order)
    if isinstance(expr, Parsed):
        types = {**expr.types, **(types or {})}
        expr = expr.text or str(expr)
    if isinstance(wrt, (list, tuple)):
        wrt = list(wrt)
        for i, w in enumerate(wrt):
            if _is_sympy(w):
                wrt[i], types = _sympy_variable(w, types)
    elif _is_sympy(wrt):
        wrt, types = _sympy_variable(wrt, types)
    more = list(more)
    for i, w in enumerate(more):
        if _is_sympy(w):
            more[i], types = _sympy_variable(w, types)
    try:
        if isinstance(wrt, (list, tuple)):
            if more:
                raise UsageError("give several variables as one list, or a mixed derivative as "
                                 "diff(f, 'x', 'y'), not both")
            return _diff_many(expr, list(wrt), types, order)
        if more or order > 2:
            return _diff_higher(expr, (wrt, *more), types, order)
        return _diff(expr, wrt, types, order)
    except RecursionError:
        raise UnsupportedError("the expression is nested too deeply for this Python's recursion limit",
                               expr if isinstance(expr, str) else None, 1) from None


def _is_sympy(obj: Any) -> bool:
    return type(obj).__module__.split(".")[0] == "sympy"


def _sympy_variable(wrt: Any, types: dict[str, str] | None) -> tuple[str, dict[str, str]]:
    """A SymPy symbol as a name, its type declared by its shape (1×1 scalar, n×1 vector)."""
    import sympy as sp

    if not isinstance(wrt, (sp.MatrixSymbol, sp.Symbol)):
        raise UsageError(f"the variable must be a name, a MatrixSymbol or a Symbol, got {type(wrt).__name__}")
    name = str(wrt.name)
    types = dict(types or {})
    if name not in types:
        r, c = wrt.shape if isinstance(wrt, sp.MatrixSymbol) else (1, 1)
        types[name] = "scalar" if (r, c) == (1, 1) else "vector" if c == 1 else "matrix"
    return name, types


def _order(order: Any) -> int:
    """``order`` as a plain int: an integer (Python's or NumPy's), never a bool, a float or an array."""
    if isinstance(order, bool) or not isinstance(order, numbers.Integral):
        shown = shortened(repr(order), 40)
        raise UsageError(f"order must be a positive integer, got {shown} ({type(order).__name__})")
    order = int(order)
    check_order(order)
    return order


_PART = re.compile(r"[A-Za-z_\u0370-\u03ff][A-Za-z0-9_\u0370-\u03ff]*\[[^\[\]\n]*\]")
"""An indexed part as written, ``Phi[:,a,b]``: its subscripts are read by ``parse_part``."""


def _check_variable(wrt: str, types: dict[str, str] | None) -> None:
    if not isinstance(wrt, str) or not NAME.fullmatch(wrt):
        raise UsageError(f"the variable must be a name, got {shortened(repr(wrt), 40)}")
    check_name_length(wrt)
    if wrt in FUNCTIONS:
        raise UsageError(f"'{wrt}' is a function, not a variable")
    if wrt in ("I", "eye") and wrt not in (types or {}):
        raise UsageError(f"'{wrt}' is the identity matrix, not a variable")


def _diff_higher(expr: str, names: tuple[str, ...], types: dict[str, str] | None, order: int) -> Result:
    """diff(f, x, y, …) (each of vec of the one before) or order K ≥ 3 by one variable."""
    if len(names) > 1 and order != 1:
        raise UsageError("give either several variables for a mixed derivative or order=K, not both")
    names = names * order if len(names) == 1 else names
    check_order(len(names))
    for name in names:
        _check_variable(name, types)
    if len(names) == 2 and names[0] == names[1] and _parse(expr, types, extra=names[:1]).expr.is_scalar:
        return _diff(expr, names[0], types, 2)  # ∂²f/∂x∂xᵀ is the Hessian
    return run_higher(expr, names, dict(types or {}), [])


def _diff(expr: str, wrt: str, types: dict[str, str] | None, order: int) -> Result:
    if isinstance(wrt, str) and "[" in wrt:  # an indexed part, Phi[:,a,b] (SPEC §6)
        if not _PART.fullmatch(wrt) or len(wrt) > 4 * MAX_NAME:
            raise UsageError(f"the variable must be a name or an indexed part like 'Phi[:,a,b]', "
                             f"got {shortened(repr(wrt), 40)}")
        part = parse_part(wrt)
        _check_variable(part.name, types)
        wrt = str(part)
    else:
        _check_variable(wrt, types)
    notes = []
    if str((types or {}).get(wrt, "")).lower() == "probability":  # d with respect to p: sum(p) = 1 not used
        types = dict(types or {}, **{wrt: "vector"})
        notes.append(f"'{wrt}' is differentiated as an unconstrained vector: sum({wrt}) = 1 is not used")
    return run(expr, wrt, types or {}, order, notes)


def _diff_many(expr: str, wrts: list[str], types: dict[str, str] | None, order: int) -> Results:
    if not wrts:
        raise UsageError("the list of variables is empty")
    if len(set(wrts)) != len(wrts):
        dup = next(w for w in wrts if wrts.count(w) > 1)
        raise UsageError(f"'{dup}' is listed twice among the variables")
    if order != 1:
        raise UsageError(f"several variables take first derivatives only (order=1), got order={order!r}")
    notes: list[str] = []
    types = dict(types or {})
    for w in wrts:
        _check_variable(w, types)
        if str(types.get(w, "")).lower() == "probability":
            types[w] = "vector"
            notes.append(f"'{w}' is differentiated as an unconstrained vector: sum({w}) = 1 is not used")
    return run_many(expr, wrts, types, notes)


@guarded("checking an answer")
def check(expr: str | Parsed, wrt: Any, answer: Any, types: dict[str, str] | None = None, order: int = 1,
          trials: int = 3, seed: int = 0) -> CheckReport | ChecksReport:
    """Verify a derivative found by hand (SPEC §5): ``answer`` (matdiff text over the
    expression's names, or a SymPy expression) must have the SPEC §3 layout of the
    derivative of ``expr`` by ``wrt`` and agree with central finite differences of
    ``expr``.  The report's ``status`` is ``"ok"``, ``"mismatch"`` or ``"could not check"``.

    Several variables: ``wrt`` a list and ``answer`` a list in the same order (or a dict
    variable → answer); ``order=2`` checks a Hessian."""
    if isinstance(expr, Parsed):
        types = {**expr.types, **check_types(types)}
        expr = expr.text or str(expr)
    elif _is_sympy(expr):
        from .backends.sympy_bridge import sympy_to_text

        expr, kinds = sympy_to_text(expr, types)
        types = {**kinds, **check_types(types)}
    if not isinstance(expr, str):
        raise UsageError(f"the expression must be a string, got {type(expr).__name__}")
    types = check_types(types)
    if _order(order) not in (1, 2):
        raise UsageError(f"an answer is checked for order 1 or 2, got order={order!r}")
    order = int(order)
    names = list(wrt) if isinstance(wrt, (list, tuple)) else [wrt]
    names = [_sympy_variable(w, types)[0] if _is_sympy(w) else w for w in names]
    for w in names:
        _check_variable(w, types)
    if not isinstance(wrt, (list, tuple)):
        return check_claim(expr, names[0], answer_text(answer, types), types, order, trials=trials, seed=seed)
    if isinstance(answer, dict):
        missing = [w for w in names if w not in answer]
        if missing or len(answer) != len(names):
            raise UsageError(f"give one answer for each of {', '.join(names)}")
        answers = [answer[w] for w in names]
    elif isinstance(answer, (list, tuple)) and len(answer) == len(names):
        answers = list(answer)
    else:
        raise UsageError(f"give one answer for each of {', '.join(names)}, as a list in that order")
    if len(set(names)) != len(names):
        raise UsageError("a variable is listed twice")
    return ChecksReport("f", {w: check_claim(expr, w, answer_text(a, types), types, order, trials=trials,
                                             seed=seed) for w, a in zip(names, answers)})


@guarded("evaluating")
def lambdify(expr: str, types: dict[str, str] | None = None) -> Callable[..., Any]:
    """A NumPy function of the expression itself (not of a derivative)."""
    p = parse(expr, types)
    return numeric.lambdify(p.expr, p.symbols)


def _sympy_types(types: Any) -> Any:
    """``types`` of the SymPy entry points: a mapping (of symbols or names) or None."""
    if types is not None and not isinstance(types, Mapping):
        raise UsageError(f"types must be a dict of name or symbol → kind, such as {{X: 'symmetric'}}, "
                         f"got {type(types).__name__}")
    return types


@guarded("reading a SymPy expression")
def from_sympy(sympy_expr: Any, types: dict[Any, str] | None = None) -> Parsed:
    """A SymPy matrix expression (MatrixSymbol, MatMul, Trace, …) as a matdiff expression."""
    from .backends.sympy_bridge import sympy_to_text  # SymPy is imported only when used

    text, kinds = sympy_to_text(sympy_expr, _sympy_types(types))
    return parse(text, kinds)


@guarded("differentiating a SymPy expression")
def diff_sympy(sympy_expr: Any, wrt: Any, order: int = 1, types: dict[Any, str] | None = None) -> Result:
    """The matdiff derivative of a SymPy expression with respect to ``wrt``
    (a ``MatrixSymbol``, a ``Symbol`` or a name)."""
    import sympy as sp

    from .backends.sympy_bridge import sympy_to_text

    text, kinds = sympy_to_text(sympy_expr, _sympy_types(types))
    name = str(getattr(wrt, "name", wrt))
    if name not in kinds and isinstance(wrt, (sp.MatrixSymbol, sp.Symbol)):
        r, c = wrt.shape if isinstance(wrt, sp.MatrixSymbol) else (1, 1)
        kinds[name] = "scalar" if (r, c) == (1, 1) else "vector" if 1 in (r, c) else "matrix"
    return diff(text, name, types=kinds, order=order)
