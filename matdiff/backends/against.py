"""Checking a claimed derivative (SPEC §4 ``--against``, §5 ``matdiff.check``).

The answer is read in matdiff's language over the names of the expression and
typed together with it: the expression's dimensions are fixed first (rigid),
so the answer may only use them as they are — it cannot make m = n.  Its shape
must then be the SPEC §3 layout of the derivative (X's shape for a gradient,
(size F)×(size X) for a Jacobian, (size X)×(size X) for a Hessian); a wrong
shape is a mismatch naming both shapes.  Otherwise the answer is compared
numerically with finite differences of the expression (:mod:`.check`).

Not supported: programs, index notation, an indexed part as the variable,
mixed and third or higher derivatives, second derivatives of non-scalar
functions.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ..core import construct as A
from ..core.declared import callable_names
from ..core.nodes import Expr, Sym
from ..errors import ShapeError, UnsupportedError, UsageError
from ..frontend.lowering import Lowering
from ..frontend.syntax import Raw, parse_raw
from ..frontend.types import ONE, DimT, Dims, Inference, ShapeT, default_kind
from ..indices.typing import has_indices
from .check import CheckReport, check


@dataclass
class RigidDims(Dims):
    """Dimensions where the ``rigid`` ones (the expression's) never merge with one another
    nor become products: only the answer's own fresh dimensions are bound."""

    rigid: frozenset[int] = field(default_factory=frozenset)

    def unify(self, a: DimT, b: DimT) -> bool:
        ra, rb = self.cancelled(a, b)
        if not ra and not rb:
            return True
        if not ra or not rb:
            return False
        if all(v in self.rigid for v in ra + rb):
            return False  # the expression's sizes stay distinct
        if len(ra) == 1 and len(rb) == 1:
            keep, drop = (ra[0], rb[0]) if ra[0] in self.rigid else (rb[0], ra[0])
            self.parent[drop] = keep
            return True
        if (len(ra) == 1 and ra[0] in self.rigid) or (len(rb) == 1 and rb[0] in self.rigid):
            return False  # one of the expression's sizes is no product
        return super().unify(a, b)

    def kept(self) -> bool:
        """Whether the expression's sizes are still distinct single sizes."""
        seen = {self.resolve((v,)) for v in self.rigid}
        return len(seen) == len(self.rigid) and all(len(t) == 1 for t in seen)


@dataclass(frozen=True)
class Claim:
    """The expression and the claimed answer, typed together."""

    function: Expr
    answer: Expr
    variable: Sym
    symbols: dict[str, Sym]
    order: int
    wrong_shape: str = ""  # why the answer's shape is not the derivative's, if it is not


def layout(inf: Inference, f: ShapeT, x: ShapeT, order: int) -> ShapeT:
    """The SPEC §3 shape of the derivative of f by x, as dimension terms (vec X of an
    m×n X is n·m, slow index first, as the type inference reads vec)."""
    size_f = inf.dims.resolve(f[1]) + inf.dims.resolve(f[0])
    size_x = inf.dims.resolve(x[1]) + inf.dims.resolve(x[0])
    if order == 2:
        return (size_x, size_x) if size_x else (ONE, ONE)
    if not size_f:
        return x
    if not size_x:
        return f
    return (size_f, size_x)


def _letters(inf: Inference) -> None:
    """Name the dimensions in order of first appearance among the variables."""
    for shape in inf.sym_shapes.values():
        for t in shape:
            for v in inf.dims.resolve(t):
                inf.letter(v)


def derivative_name(f_scalar: bool, x_scalar: bool, order: int) -> str:
    return "Hessian" if order == 2 else "gradient" if f_scalar else "derivative" if x_scalar else "Jacobian"


def _plain(raw: Raw, text: str, what: str) -> None:
    if raw.op == "program":
        raise UnsupportedError(f"{what} is a program, which cannot be checked against an answer yet: "
                               "write it as one expression", text, 1)
    if has_indices(raw):
        raise UnsupportedError(f"{what} is in index notation, which cannot be checked against an answer "
                               "yet: write it in matrix notation", text, 1)


def type_claim(expr: str, wrt: str, answer: str, types: dict[str, str], order: int) -> Claim:
    """Parse and type the expression, then the answer with the expression's dimensions fixed."""
    calls = callable_names(types)
    raw_f = parse_raw(expr, calls)
    _plain(raw_f, expr, "the expression")
    inf = Inference(expr, types)
    f_shape = inf.infer(raw_f)
    x_shape = inf.symbol_shape(wrt)
    inf.check_constants()
    _letters(inf)  # the expression's letters first, as matdiff prints them
    if order == 2 and not inf.is_scalar(f_shape):
        raise UnsupportedError("a second derivative is checked for a scalar function only", expr, 1)
    roots = frozenset(v for v in range(len(inf.dims.parent)) if inf.dims.find(v) == v)
    rigid = RigidDims(parent=inf.dims.parent, bound=inf.dims.bound, rigid=roots)
    rigid.pending = list(inf.dims.pending)
    inf.dims = rigid
    expected = layout(inf, f_shape, x_shape, order)
    known = set(inf.sym_shapes)

    inf.text, inf.constants = answer, []
    raw_a = parse_raw(answer, calls)
    _plain(raw_a, answer, "the answer")
    try:
        a_shape = inf.infer(raw_a)
    except ShapeError as e:  # the answer asks two of the expression's dimensions to be equal
        e.message = f"{e.message} (in the answer; the expression's dimensions stay as they are there)"
        e.args = (e.message,)
        raise
    extra = [n for n in inf.sym_shapes if n not in known]
    if extra:
        raise UsageError(f"the answer names {', '.join(repr(n) for n in extra)}, which the expression "
                         f"{'does' if len(extra) == 1 else 'do'} not")
    what = derivative_name(inf.is_scalar(f_shape), inf.is_scalar(x_shape), order)
    expected_text, answer_text = inf.shape_text(expected), inf.shape_text(a_shape)
    wrong = ""
    zero = answer.strip() in ("0", "0.0")  # 0 is the zero of any shape
    if not zero and not inf.unify_shapes(a_shape, expected):
        wrong = (f"the answer is {answer_text} but the {what} by {wrt} is {expected_text} "
                 f"(SPEC §3 layout)")
    else:
        inf.check_constants()
        if not inf.dims.kept():
            raise ShapeError("the answer needs two of the expression's dimensions to be equal", answer, 1,
                             len(answer))
    _letters(inf)
    inf.text = expr
    function = Lowering(inf).build(raw_f)
    inf.text = answer
    value = function if wrong else A.zero(inf.final_shape(expected)) if zero else Lowering(inf).build(raw_a)
    symbols: dict[str, Sym] = {}
    for name, shape in inf.sym_shapes.items():
        kind = types.get(name) or default_kind(name)
        symbols[name] = Sym(name, inf.final_shape(shape), kind == "symmetric", kind == "probability")
    return Claim(function, value, symbols[wrt], symbols, order, wrong)


def check_claim(expr: str, wrt: str, answer: str, types: dict[str, str], order: int = 1, *,
                trials: int = 3, seed: int = 0) -> CheckReport:
    """The report on ``answer`` as the derivative of ``expr`` by ``wrt`` (see the module)."""
    claim = type_claim(expr, wrt, answer, types, order)
    if claim.wrong_shape:
        return CheckReport(False, math.inf, 0, {}, claim.wrong_shape, checked=True)
    return check(claim.function, claim.variable, claim.answer, order, claim.symbols, trials=trials, seed=seed)


def answer_text(answer: Any, types: dict[str, str]) -> str:
    """An answer as matdiff text: a string as it is, a SymPy expression converted."""
    if isinstance(answer, str):
        return answer
    if type(answer).__module__.split(".")[0] == "sympy":
        from .sympy_bridge import sympy_to_text

        text, _kinds = sympy_to_text(answer, dict(types))
        return text
    raise UsageError(f"the answer must be an expression string (or a SymPy expression), "
                     f"got {type(answer).__name__}")


__all__ = ["Claim", "RigidDims", "answer_text", "check_claim", "layout", "type_claim"]
