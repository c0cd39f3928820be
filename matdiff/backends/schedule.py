"""The evaluation schedule of a function called many times (``lambdify``, ``hvp``, ``jvp``, ``vjp``).

The tree is walked once, when the function is made, into steps (operands
first); each call runs them.  Besides the node-by-node evaluation of
:mod:`.evaluate`, the schedule

* frees a value after its last use, so that a call holds only what it still needs;
* computes a sum, an element-wise product, a power or a scaling in the array of an
  operand when that array is a temporary of the call that nothing else uses
  (NumPy allocates a new array for every operation, and a large one is mapped
  afresh from the system, page by page);
* adds and multiplies the all-ones matrix 𝟙 as the number 1 (``1 - T .^ 2``
  builds no matrix of ones) and a term c·T of a sum as ``+ c * T`` (``A - B``
  is one subtraction, not a negation and an addition);
* raises to a whole power k (2 ≤ |k| ≤ 8, or -1) by multiplications: NumPy's
  ``**`` is fast for the exponents 2 and ½ only, and ``T ** 3`` calls ``pow``
  for every entry, about a hundred times slower than ``T * T * T``.

Nothing here evaluates user text; the steps are nodes of the tree.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.nodes import Add, Expr, Func, Hadamard, Mul, Num, Ones, Power, Sym, Transpose

SMALL_POWER = 8
"""Whole exponents up to this size are computed by multiplications (repeated squaring)."""


def whole_power(p: Any) -> int | None:
    """p as an int k when it is whole with 2 ≤ |k| ≤ SMALL_POWER or k = -1, else None."""
    if isinstance(p, (int, float)) and float(p).is_integer() and (2 <= abs(p) <= SMALL_POWER or p == -1):
        return int(p)
    return None


def int_power(b: np.ndarray, k: int, out: np.ndarray | None = None) -> np.ndarray:
    """b .^ k for a whole k (see :func:`whole_power`) by repeated squaring, b^-k = 1 / b^k.

    ``out`` may be b itself only when |k| is a power of two (every step squares)."""
    n = abs(k)
    if n == 1:
        return np.divide(1.0, b, out=out)
    bits = bin(n)[3:]  # after the leading one: for each bit square, then times b for a 1
    r = np.multiply(b, b, out=out)
    if bits[0] == "1":
        np.multiply(r, b, out=r)
    for bit in bits[1:]:
        np.multiply(r, r, out=r)
        if bit == "1":
            np.multiply(r, b, out=r)
    if k < 0:
        np.divide(1.0, r, out=r)
    return r


# -- the steps ----------------------------------------------------------------------------
GENERIC, SUM, PRODUCT, POWER, SCALE, ONES, SKIP, NAME, NUMBER = range(9)
"""How a step computes its node: by the tree evaluator, or one of the cases above; ONES is
an all-ones matrix left to its sums and products, SKIP a term c·T folded into its sums (no
step), NAME an argument's value, NUMBER a constant."""

ONE = object()
"""The value of an all-ones matrix that its sums and products take as the number 1."""

OWNABLE = (Add, Hadamard, Mul, Power, Func)
"""Nodes whose value may be a new array of the call (never a name's value, a view, a user's callable's)."""


@dataclass(frozen=True, slots=True)
class Step:
    """One node of the schedule, its value kept in a slot (a list index): how it is computed, its
    operands' slots (with a coefficient for a sum, the exponent for a power), the operands whose
    arrays it may overwrite (used by nothing else), the slots no later step needs, whether the
    tree evaluator's value may be a new array of the call, a name's name or a number's value,
    and for the tree evaluator how it takes the operands (see :func:`_generic`)."""

    node: Expr
    slot: int
    how: int
    operands: tuple[tuple[int, Any], ...]
    reuse: frozenset
    drop: tuple[int, ...]
    ownable: bool = False
    leaf: Any = None
    kids: int = 0
    chain: tuple = ()


@dataclass(frozen=True)
class Evaluator:
    """What the schedule takes from the tree evaluator: the value of one node from its operands'
    values, a diagonal matrix made dense, the diagonal's type, the size of a shape in a call."""

    eval_one: Callable[[Expr, list, dict, dict], Any]
    dense: Callable[[Any], Any]
    diag: type
    shape: Callable[[tuple, dict], tuple[int, int]]


PLAIN, RAW, COLUMN = range(3)
"""How the tree evaluator takes a node's operands: made dense, as they are (products and
transposes keep a diagonal as its vector), or a chain ending in a column, multiplied from
the right with each partial product kept for the chains that end alike."""


def _whole_exponent(x: Power) -> int | None:
    """The exponent of x when it is a number computed by multiplications (see :func:`whole_power`)."""
    if not isinstance(x.exp, Num) or x.exp.value.denominator != 1 or abs(x.exp.value) > SMALL_POWER:
        return None
    return whole_power(int(x.exp.value))


def _folded(t: Expr) -> tuple[Expr, Any] | None:
    """(T, c) when t is c·T with c a number and T an array: a sum adds it as + c * T."""
    if isinstance(t, Mul) and len(t.factors) == 2 and isinstance(t.factors[0], Num) \
            and not t.factors[1].is_scalar:
        try:
            return t.factors[1], float(t.factors[0].value)
        except OverflowError:  # beyond the float range: the tree evaluator's ±inf
            return None
    return None


@dataclass(frozen=True)
class Schedule:
    """The steps of one expression, found once; :meth:`run` evaluates them for one call."""

    root: Expr
    steps: tuple[Step, ...]
    size: int

    @staticmethod
    def build(root: Expr, order: list[Expr]) -> Schedule:
        """The schedule of ``order`` (every node of root once, operands first)."""
        slot = {x: i for i, x in enumerate(order)}
        parents: dict[Expr, list[Expr]] = {}
        for x in order:
            for c in x.children:
                parents.setdefault(c, []).append(x)
        fold = {x for x in order if x is not root and _folded(x) is not None
                and all(isinstance(p, Add) and not p.is_scalar for p in parents.get(x, ()))}
        plan: list[tuple[Expr, int, tuple]] = []
        for x in order:
            if x in fold:
                plan.append((x, SKIP, ()))
            elif isinstance(x, Add) and not x.is_scalar:
                plan.append((x, SUM, tuple(_folded(t) if t in fold else (t, 1.0) for t in x.terms)))
            elif isinstance(x, Hadamard) and not x.is_scalar:
                plan.append((x, PRODUCT, tuple((f, 1.0) for f in x.factors)))
            elif isinstance(x, Power) and not x.is_scalar and _whole_exponent(x) is not None:
                plan.append((x, POWER, ((x.base, _whole_exponent(x)), (x.exp, None))))
            elif isinstance(x, Mul) and not x.is_scalar and isinstance(x.factors[0], Num) \
                    and sum(not f.is_scalar for f in x.factors) == 1:
                plan.append((x, SCALE, tuple((f, not f.is_scalar) for f in x.factors)))
            else:
                plan.append((x, GENERIC, tuple((c, None) for c in x.children)))
        uses: dict[Expr, int] = {}
        users: dict[Expr, list[int]] = {}
        for i, (x, how, ops) in enumerate(plan):
            for c, _ in ops:
                uses[c] = uses.get(c, 0) + 1
                users.setdefault(c, []).append(i)
        drops: dict[int, list[int]] = {}
        for c, ix in users.items():
            if c is not root:
                drops.setdefault(max(ix), []).append(slot[c])
        steps = []
        for i, (x, how, ops) in enumerate(plan):
            if how == SKIP:
                continue
            leaf, kids, chain = None, PLAIN, ()
            if how == GENERIC and isinstance(x, Ones) and x is not root and x in users and all(
                    plan[j][1] in (SUM, PRODUCT) for j in users[x]):
                how = ONES
            elif how == GENERIC and isinstance(x, Sym) and x is not root:
                how, leaf = NAME, x.name
            elif how == GENERIC and isinstance(x, Num) and x is not root and _finite(x) is not None:
                how, leaf = NUMBER, _finite(x)
            if isinstance(x, Mul) and x.factors[-1].shape[1] == 1 and not x.factors[-1].is_scalar:
                kids, chain = COLUMN, _column_chain(x, slot)
            elif isinstance(x, (Mul, Transpose)):
                kids = RAW
            reuse = frozenset(slot[c] for c, _ in ops if how in (SUM, PRODUCT, POWER, SCALE)
                              and uses.get(c) == 1 and isinstance(c, OWNABLE))
            ownable = isinstance(x, OWNABLE) and not _column_alias(x)
            steps.append(Step(x, slot[x], how, tuple((slot[c], a) for c, a in ops), reuse,
                              tuple(drops.get(i, ())), ownable, leaf, kids, chain))
        return Schedule(root, tuple(steps), len(order))

    def run(self, values: dict, dims: dict, ev: Evaluator) -> Any:
        """The value of the root for the arguments' ``values`` (2-D arrays, floats) and the sizes
        ``dims``; ``ev`` evaluates a node the schedule leaves to the tree evaluator."""
        slots: list = [None] * self.size
        owned: set = set()  # slots holding an array of this call that nothing else holds
        partial: dict = {}  # partial products of chains ending in a column, by their factors' slots
        for st in self.steps:
            how, i = st.how, st.slot
            if how == NAME:
                slots[i] = values[st.leaf]
            elif how == NUMBER:
                slots[i] = st.leaf
            elif how == ONES:
                slots[i] = ONE
            elif how == SUM:
                slots[i] = _sum(st, slots, owned, ev, dims)
                owned.add(i)
            elif how == PRODUCT:
                slots[i] = _product(st, slots, owned, ev, dims)
                owned.add(i)
            elif how == POWER and isinstance(base := slots[st.operands[0][0]], np.ndarray):
                b, k = st.operands[0]
                mine = b in st.reuse and b in owned and base.dtype == np.float64 and abs(k) & (abs(k) - 1) == 0
                slots[i] = int_power(base, k, base if mine else None)
                owned.add(i)
            elif how == SCALE and (out := _scale(st, slots, owned)) is not None:
                slots[i] = out
                owned.add(i)
            else:
                v = slots[i] = _generic(st, slots, partial, values, dims, ev)
                if st.ownable and isinstance(v, np.ndarray) and v.flags.owndata and not any(
                        v is slots[j] for j, _ in st.operands):
                    owned.add(i)
            for j in st.drop:
                slots[j] = None
                owned.discard(j)
        return slots[self.size - 1]  # the root comes last in the order


def _column_chain(x: Mul, slot: dict) -> tuple:
    """For a chain ending in a column: the slot of the column, then from the right each
    factor's slot with the key of the partial product it makes (the slots of its factors)."""
    chain = [slot[f] for f in x.factors if not f.is_scalar]
    pre = tuple(slot[f] if f.is_scalar else None for f in x.factors[:-1])
    return chain[-1], tuple((tuple(chain[k:]), chain[k]) for k in range(len(chain) - 2, -1, -1)), pre


def _generic(st: Step, slots: list, partial: dict, values: dict, dims: dict, ev: Evaluator) -> Any:
    """The tree evaluator's value of the step's node (as :func:`matdiff.backends.evaluate._step`)."""
    if st.kids == PLAIN:
        kids = [ev.dense(slots[j]) for j, _ in st.operands]
    elif st.kids == RAW:
        kids = [slots[j] for j, _ in st.operands]
    else:  # matrix–vector products from the right; a suffix another chain shares is computed once
        last, steps, pre = st.chain
        acc = slots[last]
        for key, j in steps:
            got = partial.get(key)
            if got is None:
                f = slots[j]
                got = partial[key] = f.v * acc if type(f) is ev.diag else f @ acc
            acc = got
        kids = [None if j is None else slots[j] for j in pre] + [acc]
    return ev.eval_one(st.node, kids, values, dims)


def _finite(x: Num) -> float | None:
    """The float of a number, None beyond the float range (the tree evaluator gives its ±inf)."""
    try:
        return float(x.value)
    except OverflowError:
        return None


def _column_alias(x: Expr) -> bool:
    """True when the tree evaluator's value of x may be a partial product it keeps for reuse
    (a chain ending in a column, without a scalar factor)."""
    return isinstance(x, Mul) and x.factors[-1].shape[1] == 1 and not x.factors[0].is_scalar


def _mine(c: int, v: Any, st: Step, owned: set, full: tuple, others: list) -> bool:
    """May the step write into the array v of the operand in slot c? (A temporary of this call, used by this step
    alone, of the result's shape, sharing no memory with the other operands.)"""
    return (c in st.reuse and c in owned and isinstance(v, np.ndarray) and v.dtype == np.float64
            and v.shape == full and v.flags.writeable
            and not any(isinstance(o, np.ndarray) and np.may_share_memory(v, o) for o in others if o is not v))


def _values(st: Step, slots: list, ev: Evaluator, dims: dict) -> tuple[list[tuple[int, Any, Any]], tuple | None]:
    """The operands' values (a diagonal made dense; 𝟙 as 1.0 when an array fixes the shape,
    else as an array of ones) and the result's shape (None when every operand is a number)."""
    vals = []
    shapes = []
    ones = False
    for c, coef in st.operands:
        v = slots[c]
        if v is ONE:
            ones = True
        elif not isinstance(v, (np.ndarray, float, int)):
            v = ev.dense(v)
        if isinstance(v, np.ndarray):
            shapes.append(v.shape)
        vals.append((c, v, coef))
    if ones:
        one = 1.0 if shapes else np.ones(ev.shape(st.node.shape, dims))
        if not shapes:
            shapes.append(one.shape)
        vals = [(c, one if v is ONE else v, coef) for c, v, coef in vals]
    full = (shapes[0] if len(set(shapes)) == 1 else np.broadcast_shapes(*shapes)) if shapes else None
    return vals, full


def _sum(st: Step, slots: list, owned: set, ev: Evaluator, dims: dict) -> Any:
    """Σ cᵢ Tᵢ, in an operand's array when one is free, else in one new array."""
    vals, full = _values(st, slots, ev, dims)
    if full is None or not any(isinstance(v, np.ndarray) and v.shape == full for _, v, _ in vals):
        out = 0.0  # numbers, or arrays that broadcast to a larger shape: term by term
        for _, v, coef in vals:
            out = out + (v if coef == 1.0 else coef * v)
        return out
    arrays = [v for _, v, _ in vals]
    pick = next((i for i, (c, v, _) in enumerate(vals) if _mine(c, v, st, owned, full, arrays)), None)
    if pick is None:  # the first two terms into a new array, one of the result's shape first
        pick = next(i for i, (_, v, _) in enumerate(vals) if isinstance(v, np.ndarray) and v.shape == full)
        rest = vals[:pick] + vals[pick + 1:]
        (_, a, ca), (c, b, cb) = vals[pick], rest[0]
        rest = rest[1:]
        if ca == 1.0 and cb in (1.0, -1.0):
            out = np.add(a, b) if cb == 1.0 else np.subtract(a, b)
        elif ca == -1.0 and cb == 1.0:
            out = np.subtract(b, a)
        else:
            out = np.multiply(a, ca)
            rest = [(c, b, cb)] + rest
    else:
        out, ca = vals[pick][1], vals[pick][2]
        rest = vals[:pick] + vals[pick + 1:]
        j = next((j for j, r in enumerate(rest) if r[2] == 1.0), None) if ca == -1.0 else None
        if j is not None:  # -T + B as B - T, in T's array
            np.subtract(rest[j][1], out, out=out)
            rest = rest[:j] + rest[j + 1:]
        elif ca == -1.0:
            np.negative(out, out=out)
        elif ca != 1.0:
            np.multiply(out, ca, out=out)
    for c, v, coef in rest:
        if coef == 1.0:
            np.add(out, v, out=out)
        elif coef == -1.0:
            np.subtract(out, v, out=out)
        elif _mine(c, v, st, owned, full, [out]):
            np.add(out, np.multiply(v, coef, out=v), out=out)
        else:
            np.add(out, coef * v, out=out)
    return out


def _product(st: Step, slots: list, owned: set, ev: Evaluator, dims: dict) -> Any:
    """A ⊙ B ⊙ …, in an operand's array when one is free, else in one new array; the numbers
    among the factors multiplied together first."""
    vals, full = _values(st, slots, ev, dims)
    if full is None:
        out = 1.0
        for _, v, _ in vals:
            out = out * v
        return out
    scale = 1.0
    arrays: list[tuple[int, Any]] = []
    for c, v, _ in vals:
        if isinstance(v, np.ndarray):
            arrays.append((c, v))
        elif not (v == 1.0 and isinstance(v, float)):
            scale = scale * v
    values = [v for _, v in arrays]
    pick = next((i for i, (c, v) in enumerate(arrays) if _mine(c, v, st, owned, full, values)), None)
    if pick is not None:
        out = arrays[pick][1]
        rest = arrays[:pick] + arrays[pick + 1:]
    elif len(arrays) >= 2 and arrays[0][1].shape == full:
        out = np.multiply(arrays[0][1], arrays[1][1])
        rest = arrays[2:]
    else:
        out = np.multiply(arrays[0][1], scale) if arrays[0][1].shape == full else np.ones(full) * arrays[0][1]
        rest = arrays[1:]
        if arrays[0][1].shape == full:
            scale = 1.0
    for _, v in rest:
        np.multiply(out, v, out=out)
    if scale != 1.0:
        np.multiply(out, scale, out=out)
    return out


def _scale(st: Step, slots: list, owned: set) -> Any:
    """c·s·T for numbers c, s and an array T, in T's array when it is free; None when an operand is
    not a plain number or array (the tree evaluator takes it)."""
    scale = 1.0
    arr = None
    for c, is_array in st.operands:
        v = slots[c]
        if is_array and isinstance(v, np.ndarray):
            arr, mine = v, c
        elif not is_array and isinstance(v, (float, int)):
            scale = scale * v
        else:
            return None
    if arr is None:
        return None
    mine = mine in st.reuse and mine in owned and arr.dtype == np.float64 and arr.flags.writeable
    return np.multiply(arr, scale, out=arr if mine else None)


__all__ = ["SMALL_POWER", "Evaluator", "Schedule", "int_power", "whole_power"]
