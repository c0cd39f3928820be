"""Evaluation of index expressions with NumPy: a value is an array with one
labelled axis per free index; a sum of products is one ``numpy.einsum``
call (contraction order chosen by ``optimize=True``), never a Python loop
over an index."""
from __future__ import annotations

import string
from typing import Any

import numpy as np

from ..backends.evaluate import FUNCS, dim_value
from ..core.catalogue import lookup
from . import ricci as R

LETTERS = string.ascii_letters


class Evaluator:
    """Values of index expressions for given arrays, index ranges and fixed indices."""

    def __init__(self, values: dict[str, Any], sizes: dict[str, int], fixed: dict[str, int] | None = None):
        self.values = values
        self.sizes = sizes  # index -> range
        self.fixed = fixed or {}
        self.memo: dict = {}

    def __call__(self, e: R.Ricci, out: tuple[str, ...]) -> np.ndarray:
        """The value with its axes in the order ``out`` (broadcast where e does not depend)."""
        a, labels = self.ev(e)
        return self.arrange(a, labels, out)

    def arrange(self, a, labels, out) -> np.ndarray:
        a = np.asarray(a, dtype=float)
        missing = [k for k in labels if k not in out]
        if missing:
            raise ValueError(f"indices {missing} are not output axes")
        shape = [self.sizes[k] for k in out]
        src = [labels.index(k) for k in out if k in labels]
        a = np.transpose(a, src) if src else a
        full = np.reshape(a, [self.sizes[k] if k in labels else 1 for k in out])
        return np.broadcast_to(full, shape).copy()

    def ev(self, e: R.Ricci) -> tuple[Any, tuple[str, ...]]:
        if e in self.memo:
            return self.memo[e]
        v = self._ev(e)
        self.memo[e] = v
        return v

    def _ev(self, e):
        if isinstance(e, R.Const):
            return float(e.value), ()
        if isinstance(e, R.Entry):
            return self.entry(e)
        if isinstance(e, R.Delta):
            return self.entry(R.Entry("#eye", (e.i, e.j)), np.eye(self.sizes[e.i]))
        if isinstance(e, R.Add):
            parts = [self.ev(t) for t in e.terms]
            labels = tuple(dict.fromkeys(k for _, ls in parts for k in ls))
            total = 0.0
            for a, ls in parts:
                total = total + self._broadcast(a, ls, labels)
            return total, labels
        if isinstance(e, R.Prod):
            return self.einsum([self.ev(f) for f in e.factors], None)
        if isinstance(e, R.Sum):
            factors = e.body.factors if isinstance(e.body, R.Prod) else (e.body,)
            parts = [self.ev(f) for f in factors]
            keep = tuple(k for k in dict.fromkeys(k for _, ls in parts for k in ls) if k not in e.idx)
            scale = 1.0
            inside = {k for _, ls in parts for k in ls}
            for k in e.idx:
                if k not in inside and k not in self.fixed:
                    scale *= self.sizes[k]
            a, ls = self.einsum(parts, keep)
            return a * scale, ls
        if isinstance(e, R.Pow):
            b, ls = self.ev(e.base)
            p, _ = self.ev(e.exp)
            with np.errstate(all="ignore"):
                return np.power(b, p), ls
        if isinstance(e, R.Fn):
            a, ls = self.ev(e.arg)
            out = FUNCS[e.name](np.asarray(a, dtype=float))
            return (float(out) if np.ndim(out) == 0 else out), ls
        if isinstance(e, R.VecFn):
            a, ls = self.ev(e.arg)
            a = np.asarray(a, dtype=float)
            if e.axis not in ls:  # a constant vector
                a = np.broadcast_to(a[..., None], np.shape(a) + (self.sizes[e.axis],))
                ls = ls + (e.axis,)
            pos = ls.index(e.axis)
            a = np.moveaxis(a, pos, -1)
            rest = ls[:pos] + ls[pos + 1:]
            record = lookup(e.name)  # the catalogue's implementation, along the last axis
            s = record.numpy(a, axis=-1)
            if not record.keeps_shape:
                return s, rest
            if e.at in self.fixed:
                return s[..., self.fixed[e.at]], rest
            if e.at in rest:  # f(v)[i] with i also outside: the diagonal
                return self._diag(s, rest, e.at)
            return s, rest + (e.at,)
        if isinstance(e, R.MatFn):
            a, ls = self.ev(e.arg)
            a = np.asarray(a, dtype=float)
            r, c = e.axes
            rest = tuple(k for k in ls if k not in (r, c))
            a = np.transpose(a, [ls.index(k) for k in rest] + [ls.index(r), ls.index(c)])
            if e.name == "det":
                return np.linalg.det(a), rest
            if e.name == "logdet":
                return np.linalg.slogdet(a)[1], rest
            m = np.linalg.inv(a)
            return self.entry(R.Entry("#inv", rest + e.at), m) if rest else self.entry(R.Entry("#inv", e.at), m)
        raise TypeError(type(e).__name__)

    def _diag(self, s, rest, at):
        labels = rest + (at,)
        letters = {k: LETTERS[n] for n, k in enumerate(dict.fromkeys(labels))}
        spec = "".join(letters[k] for k in labels) + "->" + "".join(letters[k] for k in rest)
        return np.einsum(spec, s), rest

    def entry(self, e: R.Entry, a=None):
        a = self.values[e.name] if a is None else a
        if not e.idx:
            return float(a), ()
        a = np.asarray(a, dtype=float)
        key = tuple(self.fixed[k] if k in self.fixed else slice(None) for k in e.idx)
        a = a[key]
        labels = tuple(k for k in e.idx if k not in self.fixed)
        if len(set(labels)) < len(labels):
            return self.einsum([(a, labels)], None)
        return a, labels

    def _broadcast(self, a, ls, labels):
        if not labels:
            return a
        src = [ls.index(k) for k in labels if k in ls]
        a = np.transpose(np.asarray(a, dtype=float), src) if src else np.asarray(a, dtype=float)
        return np.reshape(a, [self.sizes[k] if k in ls else 1 for k in labels])

    def einsum(self, parts, keep):
        """Σ over every label not in ``keep`` (None: keep all) of the product of the parts."""
        labels_all = list(dict.fromkeys(k for _, ls in parts for k in ls))
        if keep is None:
            keep = tuple(labels_all)
        scalar = 1.0
        arrays, specs = [], []
        letters = {k: LETTERS[n] for n, k in enumerate(labels_all)}
        if len(letters) > len(LETTERS):
            raise ValueError("too many indices in one product")
        for a, ls in parts:
            if not ls:
                scalar = scalar * float(a)
                continue
            arrays.append(np.asarray(a, dtype=float))
            specs.append("".join(letters[k] for k in ls))
        if not arrays:
            return scalar, ()
        keep = _batch_first(keep, [ls for _, ls in parts if ls])
        spec = ",".join(specs) + "->" + "".join(letters[k] for k in keep)
        out = np.einsum(spec, *arrays, optimize=True)
        return (scalar * out if np.ndim(out) else scalar * float(out)), tuple(keep)


def _batch_first(keep, operands) -> tuple[str, ...]:
    """Output indices that every operand carries first: einsum then runs a batched
    product whose result needs no transposing copy (Φᵢ S for every slice i)."""
    batch = [k for k in keep if all(k in ls for ls in operands)]
    return tuple(batch) + tuple(k for k in keep if k not in batch)


def index_sizes(arrays, values: dict[str, Any]) -> tuple[dict[str, int], dict[str, int]]:
    """The sizes of every dimension letter and of every index, from the arrays."""
    from ..errors import UsageError
    letters: dict[str, int] = {}
    for name, axes in arrays.axes.items():
        if name not in values:
            continue
        shape = np.shape(values[name])
        if len(shape) != len(axes):
            raise UsageError(f"'{name}' must be an array of order {len(axes)} (axes in subscript order), "
                             f"got shape {shape}")
        for d, n in zip(axes, shape):
            if "*" in str(d):
                continue
            if letters.setdefault(str(d), n) != n:
                raise UsageError(f"'{name}' has an axis of size {n} where {letters[str(d)]} was inferred "
                                 f"from another argument (dimension {d})")
    sizes = {k: dim_value(d, letters) for k, d in arrays.dims.items() if _known(d, letters)}
    return letters, sizes


def _known(d, letters) -> bool:
    return d == 1 or all(p in letters for p in str(d).split("*"))
