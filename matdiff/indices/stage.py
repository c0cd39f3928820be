"""The index stage of the pipeline (SPEC §6), for expressions with subscripts,
index sums or δ:

1. types, index ranges and the expression in indices (:mod:`.typing`, :mod:`.lower`);
2. matrix notation where the whole expression has one (:mod:`.recover`): the
   matrix engine differentiates it — gradients, Jacobians, Hessians;
3. otherwise slice by slice (:mod:`.slices`): the variable enters through
   slices bound by index sums, each slice a matrix for the engine;
4. otherwise in indices (:mod:`.derivative`), printed entry by entry.
"""
from __future__ import annotations

import dataclasses

from ..core import construct as A
from ..core.nodes import Func, Sym
from ..errors import UnsupportedError, UsageError
from ..frontend.syntax import parse_raw
from ..frontend.types import assumed_types_note, check_types
from ..present.printing import to_text
from ..result import Result
from ..simplify.passes import simplify
from . import ricci as R
from .expand import Expansion
from .lower import IndexLowering
from .recover import NoMatrixForm, Recovery
from .result import IndexResult, MatrixForm
from .typing import IndexInference, Part, axes_of_shape, has_indices, parse_part, refuse_in_program


def applies(expr, wrt) -> bool:
    """Whether the index stage answers: index notation in the input or in the variable."""
    if isinstance(wrt, str) and "[" in wrt:
        return True
    if not isinstance(expr, str):
        return False
    try:
        return has_indices(parse_raw(expr))
    except Exception:  # noqa: BLE001 - the ordinary pipeline reports syntax errors
        return False


def typed(expr: str, types: dict[str, str], part: Part):
    """(f in indices, its output indices, the arrays, the inference)."""
    raw = parse_raw(expr)
    refuse_in_program(raw, expr)
    inf = IndexInference(expr, check_types(types), part if part.subs else None)
    inf.prepare(raw)
    inf.infer(raw)
    inf.check_constants()
    for shape in list(inf.sym_shapes.values()) + [tuple(a) for a in inf.tensor_axes.values()]:
        for t in shape:
            for v in inf.dims.resolve(t):
                inf.letter(v)
    low = IndexLowering(inf)
    want = [low.fresh(t) for t in axes_of_shape(inf, inf.shape(raw))]
    f = low.lower(raw, want)
    return f, want, low.arrays, inf


def run(expr: str, wrt: str, types: dict[str, str], order: int, notes: list[str], matrix_run) -> Result:
    """Every stage for an index expression; ``matrix_run`` is the matrix pipeline."""
    part = parse_part(wrt)
    f, want, arrays, _ = typed(expr, types, part)
    name = part.name
    if name not in arrays.axes:
        raise UsageError(f"'{name}' does not occur in the expression")
    order_v = arrays.order(name)
    if part.subs is not None and len(part.subs) != order_v:
        raise UsageError(f"the variable {part} has {len(part.subs)} subscripts but '{name}' has "
                         f"{order_v} ax{'i' if order_v == 1 else 'e'}s")
    vkeys = tuple(R.fresh() for _ in range(order_v))
    for k, d in zip(vkeys, arrays.axes[name]):
        arrays.dims[k] = d
    kinds = {n: arrays.kinds[n] for n in arrays.axes}
    notes = notes + assumed_types_note(list(arrays.axes), types, _kind_labels(arrays))
    # 2. matrix notation for the whole expression
    try:
        rec = Recovery(arrays)(f)
    except NoMatrixForm:
        rec = None
    if rec is not None and arrays.kinds[name] != "tensor":
        M = rec.expr if list(rec.idx) == want else A.T(rec.expr)
        text = to_text(M)
        if part.subs is None:
            r = matrix_run(text, name, {n: k for n, k in kinds.items() if k != "tensor"}, order,
                           notes + [f"in matrix notation: {text}"])
            grad = _expand(r.value, arrays, vkeys) if r.kind == "gradient" and order == 1 else None
            return _from(r, expr, arrays, part, f, grad, vkeys, matrix_numbers=True)
        if order != 1 or want:
            raise UnsupportedError(f"by the part {part}: first derivatives of scalar functions only")
        r = matrix_run(text, name, {n: k for n, k in kinds.items() if k != "tensor"}, 1,
                       notes + [f"in matrix notation: {text}"])
        select = tuple(s for s in part.subs)
        grad = _expand(r.value, arrays, vkeys)
        return _from(r, expr, arrays, part, f, grad, vkeys, matrix_numbers=True,
                     form=MatrixForm(None, select if any(s != ":" for s in select) else None))
    if order != 1 or want:  # Jacobians and Hessians in indices, on vec (SPEC §3)
        from .derivative import index_derivative
        return index_derivative(expr, f, tuple(want), part, arrays, vkeys, order, notes)
    # 3. slice by slice
    from .slices import batch_gradient, slice_gradient
    sl = slice_gradient(f, part, arrays, vkeys, notes) or batch_gradient(f, part, arrays, vkeys, notes)
    if sl is not None:
        return _finish(sl, expr, arrays, part, f, vkeys)
    # 4. in indices
    from .derivative import index_gradient
    return index_gradient(expr, f, part, arrays, vkeys, notes)


def _kind_labels(arrays) -> dict[str, str]:
    """The kind of every array as the assumed-types note says it (``order-3 tensor``)."""
    return {n: f"order-{arrays.order(n)} tensor" if k == "tensor" else k for n, k in arrays.kinds.items()}


def _expand(G, arrays, vkeys):
    try:
        return Expansion(arrays)(G, list(vkeys))
    except UnsupportedError:
        return None


def _from(r: Result, expr, arrays, part, f, grad, vkeys, matrix_numbers, form=MatrixForm()) -> IndexResult:
    out = IndexResult(expr, r.variable, r.order, r.kind, r.value, r.function, r.symbols, r.notes, r.first,
                      r._display, arrays=arrays, part=part, ricci_function=f, gradient=grad, vkeys=vkeys,
                      matrix_numbers=matrix_numbers, form=form)

    def lines() -> list[str]:
        return ([f"L = {expr} = {to_text(r.function)}    [sums over shared indices as matrix products]"]
                + r.steps[1:] + ([f"in indices: {out.index()}"] if grad is not None else []))

    return dataclasses.replace(out, derivation_of=lines)


def _finish(sl, expr, arrays, part, f, vkeys) -> IndexResult:
    G = simplify(sl.value)
    for x in G.walk():  # s*sum(y) - y: say when sum(y) = 1 shortens it
        if isinstance(x, Func) and x.name == "sum" and isinstance(x.arg, Sym) and x.arg.is_vector:
            note = f"if {x.arg.name} sums to 1 (a probability vector), sum({x.arg.name}) = 1"
            if note not in sl.notes:
                sl.notes.append(note)
    symbols = A.symbols(G)
    grad = R.isum(sl.bound, Expansion(arrays, sl.slices, sl.rename, sl.subst)(G, sl.want))
    out = IndexResult(expr, sl.variable, 1, "gradient", G, sl.function, symbols, tuple(sl.notes), None, None,
                      arrays=arrays, part=part, ricci_function=f, gradient=grad, vkeys=vkeys,
                      matrix_numbers=False, form=sl.form, index_only=sl.form.cuts)

    def lines() -> list[str]:
        return ([f"L = {expr}"] + [line for item in sl.steps for line in ([item] if isinstance(item, str) else item())]
                + [f"in indices: {out.index()}"] + ([f"∂L/∂{part} = {out.text}"] if sl.form.lhs is None else []))

    return dataclasses.replace(out, derivation_of=lines)


__all__ = ["applies", "as_index_result", "as_parsed", "run", "typed"]


def as_index_result(r: Result) -> IndexResult:
    """A matrix result with its index form (``--format index`` on a matrix expression)."""
    from .lower import Arrays
    arrays = Arrays()
    for name, s in r.symbols.items():
        arrays.axes[name] = tuple(d for d in s.shape if d != 1)
        arrays.kinds[name] = "matrix"
    var = r.variable
    vkeys = tuple(R.fresh() for d in var.shape if d != 1)
    for k, d in zip(vkeys, [d for d in var.shape if d != 1]):
        arrays.dims[k] = d
    if r.kind != "gradient" or r.order != 1:
        raise UnsupportedError("the index form is printed for gradients (first derivatives of a scalar)")
    grad = Expansion(arrays)(r.value, list(vkeys))
    f = Expansion(arrays)(r.function, [])
    return _from(r, r.input, arrays, Part(var.name), f, grad, vkeys, matrix_numbers=True)


def as_parsed(text: str, types: dict[str, str], parse, extra: tuple[str, ...] = ()):
    """``matdiff.parse`` of an index expression: its matrix form, where it has one
    (``parse`` is the matrix pipeline's)."""
    from ..result import Parsed
    f, want, arrays, _ = typed(text, types, Part("#"))
    try:
        rec = Recovery(arrays)(f)
    except NoMatrixForm:
        rec = None
    if rec is None or any(k == "tensor" for k in arrays.kinds.values()):
        raise UnsupportedError("this index expression has no matrix form: differentiate it with diff(), "
                               "whose results evaluate it by einsum")
    p = parse(to_text(rec.expr if list(rec.idx) == want else A.T(rec.expr)),
              {n: k for n, k in arrays.kinds.items()}, extra=extra)
    assumed = tuple(assumed_types_note(list(arrays.axes), types, _kind_labels(arrays)))
    return Parsed(p.expr, p.symbols, assumed + p.notes + (f"in matrix notation: {to_text(p.expr)}",), text)
