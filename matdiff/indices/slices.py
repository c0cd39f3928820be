"""Slice by slice: a variable used through slices bound by index sums.

In L = F(Σᵢ bᵢ(Φ[:,i,:]), …) each slice Sᵢ = Φ[:,i,:] is a matrix for the
engine: ∂L/∂Sᵢ = ∂/∂S ⟨∂F/∂σ, b(S)⟩ (F linear in the sum σ), and ∂L/∂Φ is
these stacked.  The variable may also be a matrix used by columns (Z[:,j])
or a vector used by entries (x[i])."""
from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import combinations

from ..calculus.derive import derive, kink_notes
from ..core import construct as A
from ..core.nodes import Expr, Sym
from ..present.printing import to_text
from ..present.steps import derivation_lines
from ..simplify.passes import simplify
from . import ricci as R
from .lower import Arrays
from .recover import NoMatrixForm, Recovery, Slice
from .result import MatrixForm
from .typing import Part

MAX_TRIES = 64
"""Sets of fixed indices tried per sum before giving the slice form up."""


@dataclass(frozen=True)
class _Step:
    """What the derivation printer reads: f, the variable and the gradient."""

    function: Expr
    variable: Sym
    value: Expr
    order: int = 1
    first: Expr | None = None
    kind: str = "gradient"

    @property
    def text(self) -> str:
        return to_text(self.value)

    @property
    def display(self) -> Expr:
        return self.value


@dataclass
class SliceAnswer:
    value: Expr
    variable: Sym
    function: Expr
    slices: dict[str, Slice]
    rename: dict[str, str]
    want: list[str]
    form: MatrixForm
    notes: list[str] = field(default_factory=list)
    steps: list[str | Callable[[], list[str]]] = field(default_factory=list)  # a callable: lines built when shown
    bound: tuple[str, ...] = ()  # indices summed over outside the matrix form (a batch)
    subst: dict = field(default_factory=dict)  # a named sum in the answer (… where s = sum_i(…))


def _sums(f: R.Ricci, name: str) -> list[R.Sum] | None:
    """The outermost sums whose bodies read ``name``; None if it is read outside any sum."""
    out: list[R.Sum] = []
    stack = [f]
    while stack:
        x = stack.pop()
        if isinstance(x, R.Sum) and name in R.names(x):
            out.append(x)
            continue
        if isinstance(x, R.Entry) and x.name == name:
            return None
        stack.extend(R.children(x))
    return out


def _replace(f: R.Ricci, table: dict) -> R.Ricci:
    if f in table:
        return table[f]
    if isinstance(f, R.Add):
        return R.add(*[_replace(t, table) for t in f.terms])
    if isinstance(f, R.Prod):
        return R.prod(*[_replace(t, table) for t in f.factors])
    if isinstance(f, R.Pow):
        return R.power(_replace(f.base, table), _replace(f.exp, table))
    if isinstance(f, R.Fn):
        return R.Fn(f.name, _replace(f.arg, table))
    if isinstance(f, R.VecFn):
        return R.VecFn(f.name, _replace(f.arg, table), f.axis, f.at)
    if isinstance(f, R.MatFn):
        return R.MatFn(f.name, _replace(f.arg, table), f.axes, f.at)
    if isinstance(f, R.Sum):
        return R.isum(f.idx, _replace(f.body, table))
    return f


def slice_gradient(f: R.Ricci, part: Part, arrays: Arrays, vkeys, notes) -> SliceAnswer | None:
    name = part.name
    sums = _sums(f, name)
    if not sums:
        return None
    positions = None  # the fixed axes of the variable, shared by every sum
    found = []
    for n, s in enumerate(sums):
        entries = [x for x in R.walk(s.body) if isinstance(x, R.Entry) and x.name == name]
        keys = [k for k in s.idx if any(k in x.idx for x in entries)]
        got = None
        tried = 0
        for size in range(1, len(keys) + 1):
            for outer in combinations(keys, size):
                tried += 1
                if tried > MAX_TRIES:  # bounded work: the index path answers instead
                    return None
                pats = {tuple(p for p, k in enumerate(x.idx) if k in outer) for x in entries}
                if len(pats) != 1 or len({tuple(x.idx[p] for p in next(iter(pats))) for x in entries}) != 1:
                    continue
                pos = next(iter(pats))
                if positions is not None and pos != positions:
                    continue
                key_at = dict(zip(pos, (entries[0].idx[p] for p in pos)))
                shown = _show(part, arrays, key_at, found)
                rc = Recovery(arrays, set(outer), shown)
                try:
                    rec = rc(R.isum([k for k in s.idx if k not in outer], s.body))
                except NoMatrixForm:
                    continue
                mine = {k: v for k, v in rc.slices.items() if v.name == name}
                if len(mine) != 1 or any(isinstance(x, Sym) and x.name == name for x in rec.expr.walk()):
                    continue
                got = (set(outer), pos, key_at, rec, rc, next(iter(mine)))
                break
            if got:
                break
        if got is None:
            return None
        positions = got[1]
        found.append(got)
    # the function with each sum as a placeholder σₙ
    table = {}
    placeholders = []
    for n, (s, got) in enumerate(zip(sums, found)):
        rec = got[3]
        pname = _placeholder(arrays, placeholders)
        arrays.axes[pname] = tuple(arrays.dims[k] for k in rec.idx)
        arrays.kinds[pname] = "placeholder"
        table[s] = R.Entry(pname, rec.idx)
        placeholders.append(pname)
    try:
        F = Recovery(arrays)(_replace(f, table)).expr
    except NoMatrixForm:
        return None
    finally:
        for p in placeholders:
            arrays.axes.pop(p, None)
            arrays.kinds.pop(p, None)
    if any(isinstance(x, Sym) and x.name == name for x in F.walk()):
        return None
    syms = {x.name: x for x in F.walk() if isinstance(x, Sym)}
    total = []
    var = None
    steps = []
    for pname, got in zip(placeholders, found):
        rec, rc, sname = got[3], got[4], got[5]
        sig = syms.get(pname)
        if sig is None:
            continue
        _, g, _ = derive(F, sig, 1)
        g = simplify(g)
        if any(isinstance(x, Sym) and x.name in placeholders for x in g.walk()) and \
                any(other[3].idx for other in found):
            return None  # F is not linear in an array-valued sum
        var = next(x for x in rec.expr.walk() if isinstance(x, Sym) and x.name == sname)
        body = A.inner(g, rec.expr)
        _, G, _ = derive(body, var, 1)
        total.append(G)
        fixed = ", ".join(rc.show(k) for k in sorted(got[0]))
        steps.append(f"L = sum_{fixed}(f), f = {to_text(simplify(body))}: for each {fixed}, {sname} is "
                     f"{'×'.join(map(str, var.shape))}    [slice by slice]")
        steps.append(_lines_of(body, var, G, simplified=False))
        notes += [n for n in kink_notes(body, var) if n not in notes]
    if var is None:
        return None
    value = simplify(A.add(*total))
    used = {x.name for x in value.walk() if isinstance(x, Sym)}
    where = tuple((p, _sum_text(got)) for p, got in zip(placeholders, found) if p in used)
    subst = {p: sm for p, sm in zip(placeholders, sums) if p in used}
    pattern = next(iter(found))[4].slices[var.name].pattern
    rename = {}
    for got in found:
        for p, k in got[2].items():
            rename[k] = vkeys[p]
    slices = {}
    for got in found:
        for k, v in got[4].slices.items():
            slices.setdefault(k, v)
    want = [vkeys[p] for p, s in enumerate(pattern) if s == ":"]
    form = dataclasses.replace(_form(part, pattern, var), where=where)
    steps.append(f"∂L/∂{var.name} = {to_text(value)}, for every "
                 f"{', '.join(sorted({found[0][4].show(k) for k in found[0][0]}))}    [∂L/∂{name} stacks the slices]")
    return SliceAnswer(value, var, F, slices, rename, want, form, list(notes), steps, subst=subst)


def batch_gradient(f: R.Ricci, part: Part, arrays: Arrays, vkeys, notes) -> SliceAnswer | None:
    """L = F(Σᵢ bᵢ), V used whole in each bᵢ beside slices of other arrays (a batch,
    X[:,j]): ∂L/∂V = Σᵢ ∂/∂V ⟨∂F/∂σ, bᵢ(V)⟩, each term in matrix form."""
    name = part.name
    sums = _sums(f, name)
    if part.subs or not sums or len(sums) != 1:
        return None
    s = sums[0]
    got = None
    tried = 0
    for size in range(1, len(s.idx) + 1):
        for outer in combinations(s.idx, size):
            tried += 1
            if tried > MAX_TRIES:
                return None
            rc = Recovery(arrays, set(outer))
            try:
                rec = rc(R.isum([k for k in s.idx if k not in outer], s.body))
            except NoMatrixForm:
                continue
            whole = next((x for x in rec.expr.walk() if isinstance(x, Sym) and x.name == name), None)
            if whole is None or any(v.name == name for v in rc.slices.values()):
                continue
            got = (outer, rec, rc, whole)
            break
        if got:
            break
    if got is None:
        return None
    outer, rec, rc, var = got
    arrays.axes["σ"] = tuple(arrays.dims[k] for k in rec.idx)
    arrays.kinds["σ"] = "placeholder"
    try:
        F = Recovery(arrays)(_replace(f, {s: R.Entry("σ", rec.idx)})).expr
    except NoMatrixForm:
        return None
    finally:
        arrays.axes.pop("σ", None)
        arrays.kinds.pop("σ", None)
    sig = next((x for x in F.walk() if isinstance(x, Sym) and x.name == "σ"), None)
    if sig is None or any(isinstance(x, Sym) and x.name == name for x in F.walk()):
        return None
    _, g, _ = derive(F, sig, 1)
    g = simplify(g)
    if any(isinstance(x, Sym) and x.name == "σ" for x in g.walk()):
        return None  # F is not linear in the sum
    body = simplify(A.inner(g, rec.expr))
    _, G, _ = derive(body, var, 1)
    value = simplify(G)
    shown = ", ".join(rc.show(k) for k in outer)
    steps = [f"L = sum_{shown if len(outer) == 1 else '{' + shown + '}'}(f), f = {to_text(body)}    "
             f"[term by term: {name} is the same in every term]"]
    steps.append(_lines_of(body, var, value, simplified=True))
    notes += [n for n in kink_notes(body, var) if n not in notes]
    form = MatrixForm(None, sum_over=tuple(rc.show(k) for k in outer))
    return SliceAnswer(value, var, F, dict(rc.slices), {}, list(vkeys), form, list(notes), steps, tuple(outer))


def _lines_of(body: Expr, var: Sym, gradient: Expr, simplified: bool) -> Callable[[], list[str]]:
    """The rule-by-rule derivation of one slice's gradient, built only when the steps are shown."""
    def lines() -> list[str]:
        step = _Step(body, var, gradient) if simplified else _Step(simplify(body), var, simplify(gradient))
        return derivation_lines(step)[1:-1]
    return lines


def _placeholder(arrays: Arrays, taken: list[str]) -> str:
    """A name for a sum inside the answer: s, t, u, … unless the expression uses it."""
    names = itertools.chain(("s", "t", "u", "v", "w"), (f"s{k}" for k in itertools.count(1)))
    return next(n for n in names if n not in arrays.axes and n not in taken)


def _sum_text(got) -> str:
    """sum_i(…) of one sum's body in matrix notation, its fixed indices as typed."""
    outer, rec, rc = got[0], got[3], got[4]
    names = [rc.show(k) for k in sorted(outer)]
    head = names[0] if len(names) == 1 else "{" + ",".join(names) + "}"
    return f"sum_{head}({to_text(rec.expr)})"


def _show(part: Part, arrays: Arrays, key_at: dict[int, str], found) -> callable:
    """Names of the fixed indices: the variable's own (Phi[:,a,b]), else those of the first sum."""
    first = found[0][2] if found else key_at
    names = {}
    for p, k in key_at.items():
        if part.subs and part.subs[p] != ":":
            names[k] = part.subs[p]
        else:
            names[k] = arrays.shown.get(first[p], first[p])

    def show(k: str) -> str:
        return names.get(k, arrays.shown.get(k, k))

    return show


def _form(part: Part, pattern, var: Sym) -> MatrixForm:
    if not part.subs:
        return MatrixForm(var.name)
    if any(pattern[p] != ":" and part.subs[p] == ":" for p in range(len(pattern))):
        return MatrixForm(var.name, cuts=True)  # the part cuts across the slices: shown in indices
    select = tuple(part.subs[p] for p, s in enumerate(pattern) if s == ":")
    return MatrixForm(None, select if any(s != ":" for s in select) else None)


__all__ = ["SliceAnswer", "batch_gradient", "slice_gradient"]
