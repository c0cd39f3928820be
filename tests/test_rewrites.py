"""Every entry of the rewrite table (matdiff.core.rewrites), checked numerically.

The cases are generated from ``TABLE``, so an entry is tested the moment it is
added.  For each entry its example is built without rewriting (parsing keeps
the expression as typed; the constructors only keep the structural canonical
form), the entry alone is applied to it, and the two trees are evaluated with
NumPy at random inputs with distinct dimensions: the left side is the example
as typed, never a tree the entry built.  The entry must fire on its example
(a test that cannot fail is a defect), and its result may cost more than the
pattern only when the entry says why.
"""
from __future__ import annotations

import re

import numpy as np
import pytest

import matdiff

from matdiff.backends.evaluate import evaluate
from matdiff.core import construct as A
from matdiff.core.rewrites import GROUPS, TABLE
from matdiff.core.rewriting import Rewriter, cost, rewrite
from matdiff.pipeline import parse

from fdutil import draw_array, first_order_error

SIZES = (3, 4, 5, 2, 6, 7)

# Where the default draw leaves an entry's domain: the style of input it needs.
DOMAIN = {"log of softmax": "normal", "log of exp": "normal", "logsumexp": "normal",
          "inverse of the inverse": "conditioned", "inverse of a power": "conditioned",
          "determinant of a transpose": "conditioned", "log-determinant of a transpose": "conditioned",
          "relu ⊙ step": "away", "abs ⊙ sign": "away", "sign of a sign": "away"}


def example(r):
    """(the example tree as typed, its variables)."""
    if callable(r.example):
        e = r.example()
        return e, A.symbols(e)
    p = parse(r.example, r.types)
    return p.expr, p.symbols


def sizes_for(symbols) -> dict[str, int]:
    order: list[str] = []
    for sym in symbols.values():
        for d in sym.shape:
            for v in ([] if d == 1 else str(d).split("*")):
                if v not in order:
                    order.append(v)
    assert len(order) <= len(SIZES), f"too many dimensions: {order}"
    return dict(zip(order, SIZES))


def size(d, dims) -> int:
    return 1 if d == 1 else int(np.prod([dims[v] for v in str(d).split("*")]))


def inputs(symbols, dims, rng, style):
    out = {}
    for name, sym in symbols.items():
        shape = (size(sym.shape[0], dims), size(sym.shape[1], dims))
        if sym.probability:
            a = rng.uniform(0.5, 1.5, shape)
            out[name] = a / a.sum()
            continue
        out[name] = draw_array(shape, rng, style, 0.5, sym.symmetric)
    return out


def value(e, values, dims):
    v = np.asarray(evaluate(e, values, dims), dtype=float)
    if hasattr(v, "todense"):
        v = np.asarray(v.todense())
    return v


@pytest.mark.parametrize("r", TABLE, ids=[f"{r.group}: {r.pattern} = {r.result}" for r in TABLE])
def test_rewrite_keeps_the_value(r):
    assert r.group in GROUPS
    left, symbols = example(r)
    log: list = []
    right = Rewriter((r,)).run(left, log)
    assert log and all(f.rule is r for f in log), f"{r.name} does not fire on its example {left}"
    assert right != left
    if not r.expands:
        assert cost(right) <= cost(left), f"{r.name} makes {left} costlier: {right}"
    dims = sizes_for(symbols)
    rng = np.random.default_rng(8)
    style = DOMAIN.get(r.name, "normal")
    for _ in range(3):
        values = inputs(symbols, dims, rng, style)
        with np.errstate(all="ignore"):
            a, b = value(left, values, dims), value(right, values, dims)
        np.testing.assert_allclose(b.reshape(a.shape), a, rtol=1e-9, atol=1e-9,
                                   err_msg=f"{r.name}: {left} = {right}")


def test_every_entry_has_a_name_a_pattern_and_a_result():
    for r in TABLE:
        assert r.name and r.pattern and r.result and r.label.endswith(r.result)


def test_the_engine_is_bounded():
    """A rewrite that would make the tree grow past the bound is refused."""
    e = parse("log(softmax(x)) + log(softmax(y))").expr
    log: list = []
    Rewriter().run(e, log, max_growth=0)
    assert not log
    log = []
    Rewriter().run(e, log, max_steps=1)
    assert len(log) == 1


def test_parsing_keeps_the_expression_as_typed():
    p = parse("sum(kron(X,X)*vec(A))", {"A": "symmetric"})  # vec A has n·n entries: A is n×n
    assert str(p.expr) == "sum(kron(X, X)*vec(A))"
    assert str(rewrite(p.expr)) == "sum(X*A*X')"


def vec(a):
    return np.asarray(a).reshape(-1, order="F")


@pytest.mark.parametrize("text, wrt, f, names", [
    ("sum(kron(X,X)*vec(A*A'))", "X", lambda X, A: np.sum(np.kron(X, X) @ vec(A @ A.T)),
     ["Roth's column lemma", "sum of a vec"]),
    ("-y'*log(exp(z)/sum(exp(z)))", "z", lambda y, z: -y @ np.log(np.exp(z) / np.exp(z).sum()),
     ["softmax", "log of softmax"]),
])
def test_steps_begin_as_typed_and_name_each_rewrite(text, wrt, f, names):
    """--steps: the first line is the expression as typed, then one line per rewrite, by name."""
    r = matdiff.diff(text, wrt)
    typed = str(parse(text).expr)
    assert r.steps[0].endswith("= " + typed)
    fired = [line for line in r.steps[1:] if line.startswith(("f = ", "F = "))]
    assert [re.search(r"\[(.*?):", line).group(1) for line in fired] == names
    assert fired[-1].split("    [")[0].endswith(str(rewrite(parse(text).expr)))
    assert r.steps.index(fired[-1]) < next(i for i, line in enumerate(r.steps) if line.startswith("df"))
    rng = np.random.default_rng(3)
    inputs = {"X": rng.standard_normal((3, 4)), "A": rng.standard_normal((4, 4)),  # vec(A): n² entries
              "y": rng.standard_normal(5), "z": rng.standard_normal(5)}
    inputs = {k: v for k, v in inputs.items() if k in r.symbols}
    assert first_order_error(f, inputs, wrt, r.lambdify()(**inputs)) < 1e-7
