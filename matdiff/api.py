"""The Python API (SPEC §5): ``parse``, ``diff``, ``lambdify`` and the SymPy bridge.

This module checks what the caller passed and hands it to
:mod:`matdiff.pipeline`; what comes back is a :class:`~matdiff.result.Result`."""
from __future__ import annotations

from typing import Any, Callable

from .backends import evaluate as numeric
from .core.catalogue import FUNCTIONS
from .core.names import NAME
from .calculus.higher import check_order
from .errors import UnsupportedError, UsageError, guarded
from .frontend.types import check_types
from .higher_result import run_higher
from .indices.typing import parse_part
from .pipeline import parse as _parse
from .pipeline import run, run_many
from .result import Parsed, Result
from .results import Results

__all__ = ["parse", "diff", "lambdify", "from_sympy", "diff_sympy", "Parsed", "Result", "Results"]


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
    if isinstance(expr, Parsed):
        types = {**expr.types, **check_types(types)}
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
        if more or (isinstance(order, int) and not isinstance(order, bool) and order > 2):
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


def _check_variable(wrt: str, types: dict[str, str] | None) -> None:
    if not isinstance(wrt, str) or not NAME.match(wrt):
        raise UsageError(f"the variable must be a name, got {wrt!r}")
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
        part = parse_part(wrt)
        _check_variable(part.name, types)
        wrt = str(part)
    else:
        _check_variable(wrt, types)
    if isinstance(order, bool) or order not in (1, 2):
        check_order(order)
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
    if isinstance(order, bool) or order != 1:
        raise UsageError(f"several variables take first derivatives only (order=1), got order={order!r}")
    notes: list[str] = []
    types = dict(types or {})
    for w in wrts:
        _check_variable(w, types)
        if str(types.get(w, "")).lower() == "probability":
            types[w] = "vector"
            notes.append(f"'{w}' is differentiated as an unconstrained vector: sum({w}) = 1 is not used")
    return run_many(expr, wrts, types, notes)


@guarded("evaluating")
def lambdify(expr: str, types: dict[str, str] | None = None) -> Callable[..., Any]:
    """A NumPy function of the expression itself (not of a derivative)."""
    p = parse(expr, types)
    return numeric.lambdify(p.expr, p.symbols)


@guarded("reading a SymPy expression")
def from_sympy(sympy_expr: Any, types: dict[Any, str] | None = None) -> Parsed:
    """A SymPy matrix expression (MatrixSymbol, MatMul, Trace, …) as a matdiff expression."""
    from .backends.sympy_bridge import sympy_to_text  # SymPy is imported only when used

    text, kinds = sympy_to_text(sympy_expr, types)
    return parse(text, kinds)


@guarded("differentiating a SymPy expression")
def diff_sympy(sympy_expr: Any, wrt: Any, order: int = 1, types: dict[Any, str] | None = None) -> Result:
    """The matdiff derivative of a SymPy expression with respect to ``wrt``
    (a ``MatrixSymbol``, a ``Symbol`` or a name)."""
    import sympy as sp

    from .backends.sympy_bridge import sympy_to_text

    text, kinds = sympy_to_text(sympy_expr, types)
    name = str(getattr(wrt, "name", wrt))
    if name not in kinds and isinstance(wrt, (sp.MatrixSymbol, sp.Symbol)):
        r, c = wrt.shape if isinstance(wrt, sp.MatrixSymbol) else (1, 1)
        kinds[name] = "scalar" if (r, c) == (1, 1) else "vector" if 1 in (r, c) else "matrix"
    return diff(text, name, types=kinds, order=order)
