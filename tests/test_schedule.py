"""The evaluation schedule (matdiff.backends.schedule) and the powers of generated code: whole
powers by multiplications, 𝟙 as the number 1, sums and products in the arrays of temporaries.

Every value is compared with NumPy written here by hand, every product (H v, J v, uᵀ J) with
central differences of a hand-written function, at distinct dimensions; the schedule also
must never write into an argument, and must agree with the plain walk of the tree
(``evaluate``) on random expressions and their derivatives."""
from __future__ import annotations

import sys
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import TYPES, array_expressions, random_inputs, scalar_expressions

import matdiff
from matdiff.backends.evaluate import bind, evaluate, lambdify
from matdiff.backends.schedule import int_power, whole_power
from matdiff.core.nodes import Add, Hadamard, Mul, Num

RNG = np.random.default_rng(7)


def tanh_net(W, X):
    return np.tanh(W @ X)


# -- whole powers ------------------------------------------------------------------------------
@pytest.mark.parametrize("k", [-8, -5, -3, -2, -1, 2, 3, 4, 5, 6, 7, 8])
def test_int_power_is_numpy_power(k):
    b = RNG.uniform(0.3, 1.7, (3, 5)) * RNG.choice([-1.0, 1.0], (3, 5))
    want = np.power(b, float(k))
    assert np.allclose(int_power(b, k), want, rtol=4e-15, atol=0)
    if abs(k) & (abs(k) - 1) == 0:  # a power of two may be computed in the base's own array
        c = b.copy()
        assert int_power(c, k, out=c) is c and np.allclose(c, want, rtol=4e-15, atol=0)


def test_only_small_whole_exponents_are_multiplied():
    assert [whole_power(p) for p in (2, 3.0, -1, -2.0, 8, -8)] == [2, 3, -1, -2, 8, -8]
    assert [whole_power(p) for p in (0, 1, 0.5, 2.5, 9, -9, 1e300)] == [None] * 7


@pytest.mark.parametrize("k", [-3, -2, -1, 2, 3, 4, 5, 7])
def test_element_wise_powers_evaluate_as_numpy(k):
    X = RNG.uniform(0.4, 1.6, (3, 5)) * RNG.choice([-1.0, 1.0], (3, 5))
    f = matdiff.lambdify(f"X .^ ({k})", {"X": "matrix"})
    assert np.allclose(f(X=X), X ** float(k), rtol=1e-14, atol=0)
    r = matdiff.diff(f"sum(X .^ ({k}))", "X")
    assert np.allclose(r.lambdify()(X=X), k * X ** float(k - 1), rtol=1e-13, atol=0)


# -- products with whole powers and 1 - tanh² ------------------------------------------------------
def _second_difference(f, inputs, wrt, v, w, h=1e-4):
    def at(d):
        p = dict(inputs)
        p[wrt] = inputs[wrt] + d
        return f(**p)
    return (at(h * v + h * w) - at(h * v - h * w) - at(-h * v + h * w) + at(-h * v - h * w)) / (4 * h * h)


HVP_CASES = [
    ("sum(x .^ 3)", "x", {"x": (5,)}, lambda x: np.sum(x ** 3)),
    ("sum(x .^ 4)", "x", {"x": (5,)}, lambda x: np.sum(x ** 4)),
    ("sum((A*x) .^ -2)", "x", {"A": (6, 4), "x": (4,)}, lambda A, x: np.sum((A @ x) ** -2.0)),
    ("sum(tanh(W*X) .^ 3)", "W", {"W": (4, 3), "X": (3, 6)}, lambda W, X: np.sum(tanh_net(W, X) ** 3)),
    ("sum((W2*tanh(W1*X) - Y) .^ 2)", "W1", {"W1": (4, 3), "X": (3, 6), "W2": (2, 4), "Y": (2, 6)},
     lambda W1, X, W2, Y: np.sum((W2 @ np.tanh(W1 @ X) - Y) ** 2)),
    ("sum(1 - tanh(W*X) .^ 2)", "W", {"W": (4, 3), "X": (3, 6)}, lambda W, X: np.sum(1 - tanh_net(W, X) ** 2)),
    ("sum(exp(x) ./ (A*x) .^ 3)", "x", {"A": (4, 4), "x": (4,)}, lambda A, x: np.sum(np.exp(x) / (A @ x) ** 3)),
]


def _inputs(shapes):
    out = {}
    for name, s in shapes.items():
        out[name] = RNG.uniform(0.2, 1.0, s) if name in ("A", "x") else RNG.standard_normal(s) * 0.6
    return out


@pytest.mark.parametrize("expr, var, shapes, f", HVP_CASES, ids=[c[0] for c in HVP_CASES])
def test_hvp_with_powers_against_second_differences(expr, var, shapes, f):
    r = matdiff.diff(expr, var)
    hvp = r.hvp()
    rng = np.random.default_rng(1)
    for _ in range(3):
        inputs = _inputs(shapes)
        kept = {k: v.copy() for k, v in inputs.items()}
        v, w = rng.standard_normal(shapes[var]), rng.standard_normal(shapes[var])
        hv = hvp(v, **inputs)
        fd = _second_difference(f, inputs, var, v, w)
        assert np.sum(hv * w) == pytest.approx(fd, rel=1e-5, abs=1e-6)
        assert all(np.array_equal(kept[k], inputs[k]) for k in inputs)  # no argument written to
        assert np.array_equal(hvp(v, **inputs), hv)  # the same again


JV_CASES = [
    ("tanh(W*X) .^ 3", "W", {"W": (4, 3), "X": (3, 6)}, lambda W, X: tanh_net(W, X) ** 3),
    ("1 - tanh(W*X) .^ 2", "W", {"W": (4, 3), "X": (3, 6)}, lambda W, X: 1 - tanh_net(W, X) ** 2),
    ("(A*x) .^ -2", "x", {"A": (6, 4), "x": (4,)}, lambda A, x: (A @ x) ** -2.0),
    ("X .^ 4 + 2", "X", {"X": (3, 5)}, lambda X: X ** 4 + 2),
    ("exp(X) .* X .^ 3 - X", "X", {"X": (3, 5)}, lambda X: np.exp(X) * X ** 3 - X),
    ("(A*x) .^ -1 - 3*(A*x)", "x", {"A": (6, 4), "x": (4,)}, lambda A, x: 1 / (A @ x) - 3 * (A @ x)),
]


@pytest.mark.parametrize("expr, var, shapes, F", JV_CASES, ids=[c[0] for c in JV_CASES])
def test_jvp_and_vjp_with_powers_against_differences(expr, var, shapes, F):
    r = matdiff.diff(expr, var)
    jvp, vjp = r.jvp(), r.vjp()
    rng = np.random.default_rng(2)
    h = 1e-6
    for _ in range(3):
        inputs = _inputs(shapes)
        kept = {k: v.copy() for k, v in inputs.items()}
        v = rng.standard_normal(shapes[var])
        plus, minus = dict(inputs), dict(inputs)
        plus[var], minus[var] = inputs[var] + h * v, inputs[var] - h * v
        fd = (F(**plus) - F(**minus)) / (2 * h)
        assert np.allclose(jvp(v, **inputs), fd, rtol=1e-6, atol=1e-7)
        u = rng.standard_normal(np.shape(fd))
        assert np.sum(vjp(u, **inputs) * v) == pytest.approx(np.sum(u * fd), rel=1e-6, abs=1e-7)
        assert all(np.array_equal(kept[k], inputs[k]) for k in inputs)


@pytest.mark.parametrize("expr, var, shapes, f", HVP_CASES, ids=[c[0] for c in HVP_CASES])
def test_generated_products_with_powers_match_hand_written(expr, var, shapes, f):
    """H v of generated NumPy (and JAX, when installed) against the second differences above."""
    r = matdiff.diff(expr, var)
    targets = ["numpy"] + (["jax"] if _jax() else [])
    inputs = _inputs(shapes)
    rng = np.random.default_rng(3)
    v, w = rng.standard_normal(shapes[var]), rng.standard_normal(shapes[var])
    fd = _second_difference(f, inputs, var, v, w)
    for target in targets:
        ns: dict = {}
        exec(r.to_code(target, name="prod", product="hvp"), ns)  # generated code, not user text
        hv = np.asarray(ns["prod"](v, **inputs), dtype=float)
        assert np.sum(hv * w) == pytest.approx(fd, rel=1e-5, abs=1e-6), target


def _jax():
    try:
        import jax
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    return jax


def test_generated_numpy_multiplies_small_powers():
    r = matdiff.diff("sum(tanh(W*X) .^ 4)", "W")
    code = r.to_code("numpy", name="g")
    assert "** 3" not in code and "M * M * M" in code  # 4 M.^3 .* (1 - M.^2) X', M a named temporary
    ns: dict = {}
    exec(code, ns)
    W, X = RNG.standard_normal((4, 3)), RNG.standard_normal((3, 6))
    M = np.tanh(W @ X)
    assert np.allclose(ns["g"](W=W, X=X), (4 * M ** 3 * (1 - M ** 2)) @ X.T, rtol=1e-13)
    for target in ("jax", "torch"):  # their powers of whole exponents are multiplications already
        assert "** 3" in r.to_code(target, name="g")


def test_generated_numpy_divides_by_a_product():
    r = matdiff.diff("sum(exp(x) ./ (A*x) .^ 2)", "x")
    code = r.to_code("numpy", name="g")
    assert "(u * u * u)" in code
    ns: dict = {}
    exec(code, ns)
    A, x = RNG.uniform(0.2, 1.0, (4, 4)), RNG.uniform(0.2, 1.0, 4)
    u = A @ x
    assert np.allclose(ns["g"](A=A, x=x), np.exp(x) / u ** 2 - 2 * A.T @ (np.exp(x) / u ** 3), rtol=1e-13)


# -- 𝟙 and sums -------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, hand", [
    ("1 - X .^ 2", lambda X: 1 - X ** 2),
    ("X + 2", lambda X: X + 2),
    ("2 - 3*X", lambda X: 2 - 3 * X),
    ("-X - exp(X) + 1", lambda X: -X - np.exp(X) + 1),
    ("(X + 1) .* (X - 1)", lambda X: (X + 1) * (X - 1)),
    ("(1 - X .^ 2) .* (2 - X) .* exp(X)", lambda X: (1 - X ** 2) * (2 - X) * np.exp(X)),
    ("exp(X) .^ 2 - sin(X) .^ 4 + (X .* X + 1) .^ -2 - 2*tanh(X) .^ 3",  # powers in their bases' arrays
     lambda X: np.exp(X) ** 2 - np.sin(X) ** 4 + (X * X + 1) ** -2.0 - 2 * np.tanh(X) ** 3),
])
def test_sums_with_ones_evaluate_as_numpy(text, hand):
    X = RNG.standard_normal((3, 5))
    kept = X.copy()
    assert np.allclose(matdiff.lambdify(text, {"X": "matrix"})(X=X), hand(X), rtol=1e-14, atol=1e-15)
    assert np.array_equal(X, kept)


def test_a_sum_or_product_of_ones_alone_has_the_shape():
    p = matdiff.parse("X + 1")
    _, one = p.expr.terms
    twice = Add((one, Mul((Num(Fraction(2)), one), one.shape)), one.shape)
    square = Hadamard((one, one), one.shape)
    X = np.zeros((2, 3))
    assert np.array_equal(lambdify(twice, p.symbols)(X=X), np.full((2, 3), 3.0))
    assert np.array_equal(lambdify(square, p.symbols)(X=X), np.ones((2, 3)))
    assert np.array_equal(matdiff.diff("sum(X)", "X").lambdify()(X=X), np.ones((2, 3)))


@pytest.mark.parametrize("text, hand", [
    ("(X + X') .^ 2 - (X + X')", lambda X: (X + X.T) ** 2 - (X + X.T)),
    ("tanh(X) - tanh(X)'", lambda X: np.tanh(X) - np.tanh(X).T),
    ("exp(X) .* exp(X)' - 2*exp(X)", lambda X: np.exp(X) * np.exp(X).T - 2 * np.exp(X)),
    ("(X*X + 1)' .* (X*X + 1) + (X*X + 1)", lambda X: (X @ X + 1).T * (X @ X + 1) + (X @ X + 1)),
    ("(X .^ 3)' + X .^ 3", lambda X: (X ** 3).T + X ** 3),
    ("-(X .^ 4)' - 2*X .^ 4 + X", lambda X: -(X ** 4).T - 2 * X ** 4 + X),
])
def test_temporaries_shared_with_a_transpose_are_not_overwritten(text, hand):
    X = RNG.standard_normal((4, 4))
    assert np.allclose(matdiff.lambdify(text, {"X": "matrix"})(X=X), hand(X), rtol=1e-13, atol=1e-14)


# -- random expressions: the schedule agrees with the walk of the tree and writes no argument ----------
SETTINGS = dict(deadline=None, derandomize=True, database=None, max_examples=40,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                       HealthCheck.data_too_large])


def _walk(e, symbols, inputs):
    values, dims = bind(symbols, inputs)
    with np.errstate(all="ignore"):
        return evaluate(e, values, dims)


@settings(**SETTINGS)
@given(node=array_expressions(), seed=st.integers(0, 2 ** 16))
def test_schedule_agrees_with_the_tree_walk(node, seed):
    p = matdiff.parse(node.text, TYPES)
    inputs = random_inputs(np.random.default_rng(seed), p.symbols)
    kept = {k: np.copy(v) for k, v in inputs.items()}
    with np.errstate(all="ignore"):
        got = np.asarray(lambdify(p.expr, p.symbols)(**inputs), dtype=float)
    want = np.asarray(_walk(p.expr, p.symbols, inputs), dtype=float).reshape(got.shape)
    assert np.allclose(got, want, rtol=1e-12, atol=1e-12, equal_nan=True)
    assert all(np.array_equal(kept[k], inputs[k], equal_nan=True) for k in inputs)


@settings(**SETTINGS)
@given(node=scalar_expressions(), seed=st.integers(0, 2 ** 16))
def test_scheduled_gradients_and_hvps_agree_with_the_tree_walk(node, seed):
    p = matdiff.parse(node.text, TYPES)
    names = sorted(n for n, s in p.symbols.items() if not s.is_scalar)
    if not names:
        return
    try:
        r = matdiff.diff(node.text, names[0], types=TYPES)
    except matdiff.MatdiffError:
        return
    inputs = random_inputs(np.random.default_rng(seed), r.symbols)
    kept = {k: np.copy(v) for k, v in inputs.items()}
    with np.errstate(all="ignore"):
        got = np.asarray(r.lambdify()(**inputs), dtype=float)
    want = np.asarray(_walk(r.value, r.symbols, inputs), dtype=float).reshape(got.shape)
    assert np.allclose(got, want, rtol=1e-12, atol=1e-12, equal_nan=True)
    hvp = r.hvp()
    v = np.random.default_rng(seed + 1).standard_normal(np.shape(inputs[names[0]]))
    if r.variable.symmetric:  # H v of a symmetric variable takes v's symmetric part
        v = (v + v.T) / 2
    with np.errstate(all="ignore"):
        hv = np.asarray(hvp(v, **inputs), dtype=float)
    symbols = dict(r.symbols)
    symbols[hvp.direction.name] = hvp.direction
    want = np.asarray(_walk(hvp.expr, symbols, {**inputs, hvp.direction.name: v}), dtype=float)
    assert np.allclose(hv, want.reshape(hv.shape), rtol=1e-12, atol=1e-12, equal_nan=True)
    assert all(np.array_equal(kept[k], inputs[k], equal_nan=True) for k in inputs)


@pytest.mark.parametrize("product", ["jvp", "vjp", "hvp"])
def test_generated_jax_products_match_hand_written(product):
    """JAX code writes Aᵀ w as (wᵀ A)ᵀ (XLA copies A to transpose it for a matrix-vector product)."""
    jax = _jax()
    if jax is None:
        pytest.skip("JAX is not installed")
    expr = "logsumexp(A*x)" if product == "hvp" else "softmax(A*x)"
    r = matdiff.diff(expr, "x")
    code = r.to_code("jax", name="prod", product=product)
    if product != "jvp":
        assert ".T @ A).T" in code and "A.T @" not in code
    ns: dict = {}
    exec(code, ns)  # generated code, not user text
    rng = np.random.default_rng(4)
    A, x = rng.standard_normal((5, 3)), rng.standard_normal(3)
    z = A @ x
    s = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    J = (np.diag(s) - np.outer(s, s)) @ A  # the Jacobian of softmax(A x), by hand
    d = rng.standard_normal(5 if product == "vjp" else 3)
    want = J @ d if product == "jvp" else d @ J if product == "vjp" else A.T @ (J @ d)
    assert np.allclose(np.asarray(jax.jit(ns["prod"])(d, A=A, x=x)), want, rtol=1e-12, atol=1e-14)


class _Shaped:
    """A stand-in matrix that records the multiplications a product of it costs."""

    def __init__(self, shape, log):
        self.shape, self.log = shape, log

    def __matmul__(self, other):
        self.log.append(self.shape[0] * self.shape[1] * other.shape[1])
        return _Shaped((self.shape[0], other.shape[1]), self.log)


def test_generated_jax_multiplies_a_chain_in_the_cheapest_order(monkeypatch):
    r = matdiff.diff("sum((W2*tanh(W1*X) - Y) .^ 2)", "W1")
    code = r.to_code("jax", name="prod", product="hvp")
    assert "multi_dot([W2.T, W2," in code and "jnp.linalg.multi_dot([" not in code
    jax = _jax()
    if jax is None:  # the chain helper is plain Python: defined against a stand-in for jax.numpy
        import types
        stub = types.ModuleType("jax")
        stub.numpy = types.ModuleType("jax.numpy")
        monkeypatch.setitem(sys.modules, "jax", stub)
        monkeypatch.setitem(sys.modules, "jax.numpy", stub.numpy)
    ns: dict = {}
    exec(code, ns)  # generated code, not user text
    log: list[int] = []
    ns["multi_dot"]([_Shaped((256, 10), log), _Shaped((10, 256), log), _Shaped((256, 512), log)])
    assert sum(log) == 2 * 10 * 256 * 512  # W2' (W2 M), not (W2' W2) M
    log.clear()
    ns["multi_dot"]([_Shaped((3, 50), log), _Shaped((50, 2), log), _Shaped((2, 40), log), _Shaped((40, 5), log)])
    assert sum(log) == 3 * 50 * 2 + 2 * 40 * 5 + 3 * 2 * 5  # (A B)(C D)
    if jax is None:
        return
    shapes = {"W1": (4, 3), "X": (3, 6), "W2": (2, 4), "Y": (2, 6)}
    inputs = _inputs(shapes)
    v, w = RNG.standard_normal((4, 3)), RNG.standard_normal((4, 3))
    f = HVP_CASES[4][3]
    hv = np.asarray(jax.jit(ns["prod"])(v, **inputs))
    assert np.sum(hv * w) == pytest.approx(_second_difference(f, inputs, "W1", v, w), rel=1e-5, abs=1e-6)
