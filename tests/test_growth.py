"""Answers that grow with the input, not faster: the shared parts of a large answer are named
(``… where u = …, u1 = …``), so that its printed size, generated code and evaluation stay
proportional to the input. Every named answer is compared with central finite differences
of a NumPy function written here; sizes are bounded, never timed."""
from __future__ import annotations

import numpy as np
import pytest

import matdiff
from matdiff.core.nodes import Where
from matdiff.simplify.dag_names import post_order, where_parts

from fdutil import first_order_error, second_order_error


def nest(fn: str, k: int) -> str:
    return "sum(" + f"{fn}(" * k + "x" + ")" * k + ")"


def np_nest(fn, k):
    def f(x):
        for _ in range(k):
            x = fn(x)
        return float(np.sum(x))
    return f


def run_code(source: str, name: str = "derivative"):
    scope: dict = {}
    exec(compile(source, "<generated>", "exec"), scope)  # code matdiff generated, not user text
    return scope[name]


@pytest.fixture
def rng():
    return np.random.default_rng(7)


# -- nests of element-wise functions ----------------------------------------------------------------
def test_tanh_nest_gradient_is_named_and_right(rng):
    k = 40
    r = matdiff.diff(nest("tanh", k), "x")
    assert isinstance(r.display, Where) and len(where_parts(r.display)[1]) >= k // 8
    x = rng.uniform(-1, 1, 5)
    f = np_nest(np.tanh, k)
    assert first_order_error(f, {"x": x}, "x", r.lambdify()(x=x)) < 1e-6
    # the generated code computes the named parts as temporaries
    code = r.numpy()
    assert first_order_error(f, {"x": x}, "x", run_code(code)(x=x)) < 1e-6


def test_tanh_nest_hessian_is_named_and_right(rng):
    k = 30
    r = matdiff.diff(nest("tanh", k), "x", order=2)
    x = rng.uniform(-1, 1, 4)
    f = np_nest(np.tanh, k)
    assert second_order_error(f, {"x": x}, "x", r.lambdify()(x=x), floor=1e-6) < 1e-4
    assert second_order_error(f, {"x": x}, "x", run_code(r.numpy())(x=x), floor=1e-6) < 1e-4


def test_exp_nest_order_two_is_right(rng):
    k = 4  # exp∘…∘exp overflows beyond a few levels; the size test below goes deep
    r = matdiff.diff(nest("exp", k), "x", order=2)
    x = rng.uniform(-3, -2, 3)
    f = np_nest(np.exp, k)
    assert second_order_error(f, {"x": x}, "x", r.lambdify()(x=x), h=1e-5, floor=1e-6) < 1e-4


@pytest.mark.parametrize("fn", ["tanh", "exp", "sigmoid"])
def test_nest_gradient_prints_linearly(fn):
    sizes = {}
    for k in (100, 200):
        r = matdiff.diff(nest(fn, k), "x")
        sizes[k] = len(str(r)), len(r.numpy())
        assert sizes[k][0] < 12 * len(nest(fn, k)), sizes
    # doubling the input at most doubles the answer and its code (and a little)
    assert sizes[200][0] < 2.3 * sizes[100][0] and sizes[200][1] < 2.3 * sizes[100][1], sizes


def test_named_where_list_prints_in_order():
    r = matdiff.diff(nest("tanh", 60), "x")
    body, defs = where_parts(r.display)
    text = str(r)
    assert text.count(" where ") == 1
    # each name is defined before a later definition uses it
    seen: set[str] = set()
    for s, v in defs:
        used = {x.name for x in post_order(v) if hasattr(x, "name") and isinstance(x.name, str)}
        assert not ({d.name for d, _ in defs} - seen) & used - {s.name}
        seen.add(s.name)


def test_short_answers_keep_their_form():
    assert str(matdiff.diff("sum(tanh(tanh(tanh(x))))", "x")) == \
        "(1 - tanh(tanh(u)) .^ 2) .* (1 - tanh(u) .^ 2) .* (1 - u .^ 2)  where u = tanh(x)"
    assert str(matdiff.diff("x'*A*x", "x")) == "(A + A')*x"
