"""Property-based tests over random well-typed expressions (tests/strategies.py).

The oracle is a NumPy function of each expression that the generator writes
itself from the same random choices (``strategies.oracle``: plain NumPy, not
matdiff's constructors or evaluator), differentiated by central finite
differences from tests/fdutil.py, at inputs with distinct dimensions (l=2,
m=3, n=4) chosen so that f is finite, off its kinks and away from singular
matrices.
"""
from __future__ import annotations

import os
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, note, settings
from hypothesis import strategies as st

import matdiff
from matdiff.core.rewriting import rewrite
from matdiff.core.nodes import DimSize
from fdutil import first_order_error, second_order_error
from strategies import SIZES, SYMMETRIC, TYPES, VARIABLES, Node, array_expressions, expressions, oracle, \
    random_inputs, scalar_expressions

# MATDIFF_EXPLORE=k runs every property with k times its examples, from fresh random seeds
# (the default run is derandomized: the same examples for the same hypothesis version).
EXPLORE = float(os.environ.get("MATDIFF_EXPLORE", "0"))
SETTINGS = dict(deadline=None, derandomize=not EXPLORE, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                       HealthCheck.data_too_large])



def examples(n: int) -> int:
    return int(n * EXPLORE) if EXPLORE else n


GAP = 1e-2  # how far kinked arguments stay from 0
MAX_COND = 1e5


def _reparse(printed: str, tree=None):
    """Parse printed text back, discarding the cases text cannot express: a constant such as
    '0' or 'matrix(1)' whose size came from sub-expressions that simplified away (-beta*matrix(1)
    for beta*(1 - (B - B)) has no name left to size the ones from), and a dimension as a number
    (m*tr(W + I) for tr(kron(W + I, I)))."""
    assume(tree is None or not any(isinstance(e, DimSize) for e in tree.walk()))
    assume(set(re.findall(r"[A-Za-z_]\w*", printed)) & set(TYPES))
    try:
        return matdiff.parse(printed, TYPES)
    except matdiff.ShapeError as e:
        assume("cannot infer the size" not in str(e))
        raise


def _value(text: str, inputs: dict):
    with np.errstate(all="ignore"):
        return np.asarray(matdiff.lambdify(text, TYPES)(**inputs), dtype=float)


def _oracle_value(node: Node, inputs: dict):
    return np.asarray(oracle(node)(**inputs), dtype=float)


def _admissible(node: Node, inputs: dict) -> bool:
    """f finite and moderate; every kink argument away from 0; inverses well conditioned."""
    f = _oracle_value(node, inputs)
    if not np.all(np.isfinite(f)) or np.max(np.abs(f), initial=0.0) > 1e6:
        return False
    for kind, sub in node.kinks:
        v = _oracle_value(sub, inputs)
        small = np.linalg.norm(v) if kind == "norm" else np.min(np.abs(v), initial=np.inf)
        if not small > GAP:
            return False
    for sub in node.conds:
        if np.linalg.cond(np.atleast_2d(_oracle_value(sub, inputs))) > MAX_COND:
            return False
    return True


def find_inputs(node: Node, seed: int, tries: int = 6) -> dict | None:
    rng = np.random.default_rng(seed)
    for _ in range(tries):
        inputs = random_inputs(rng)
        if _admissible(node, inputs):
            return inputs
    return None


def size(shape) -> int:
    out = 1
    for d in shape:
        out *= 1 if d == 1 else SIZES[d]
    return out


def expected_layout(node: Node, wrt: str, order: int = 1) -> tuple:
    """SPEC §5: the NumPy shape of a gradient, Jacobian, derivative or Hessian."""
    var = VARIABLES[wrt]
    if var == (1, 1):
        if order == 2 or node.is_scalar:
            return ()
        return (size(node.shape),) if 1 in node.shape else tuple(SIZES[d] for d in node.shape)
    if order == 2:
        return (size(var), size(var))
    if node.is_scalar:
        return (SIZES[var[0]],) if var[1] == 1 else (SIZES[var[0]], SIZES[var[1]])
    return (size(node.shape), size(var))


def derive(node: Node, wrt: str, order: int = 1):
    """matdiff.diff of a generated expression; any exception fails the property."""
    return matdiff.diff(node.text, wrt, types=TYPES, order=order)


def assert_first_order(node: Node, wrt: str, inputs: dict, out, r) -> None:
    f = oracle(node)
    err = first_order_error(f, inputs, wrt, out, symmetric=wrt in SYMMETRIC)
    if err >= 1e-4:  # steep f (exp(sin(det(M)³))): the h² truncation error needs a smaller step
        err = min(err, first_order_error(f, inputs, wrt, out, symmetric=wrt in SYMMETRIC, h=1e-7))
    if err >= 1e-4:  # a derivative 1e-6 the size of f: rounding (eps·|f|/h) is all the differences see
        with np.errstate(all="ignore"):
            size = float(np.max(np.abs(f(**inputs)), initial=1.0))
        err = first_order_error(f, inputs, wrt, out, symmetric=wrt in SYMMETRIC, floor=1e-5 * size)
    if err < 1e-4:
        return
    # a derivative that is zero (softmax(x + c) in c, say): relative error is noise over noise
    fd = _fd_size(f, inputs, wrt)
    scale = 1.0 + float(np.max(np.abs(f(**inputs)), initial=0.0))
    assert fd < 1e-6 * scale and float(np.linalg.norm(out)) < 1e-6 * scale, \
        f"{node.text} wrt {wrt}: {r} (relative error {err:.2e})"


def _fd_size(f, inputs, wrt, h=1e-6) -> float:
    rng = np.random.default_rng(1)
    out = 0.0
    for _ in range(3):
        e = rng.standard_normal(np.shape(inputs[wrt])) if np.ndim(inputs[wrt]) else 1.0
        if wrt in SYMMETRIC:
            e = (e + e.T) / 2
        plus, minus = dict(inputs), dict(inputs)
        plus[wrt] = inputs[wrt] + h * e
        minus[wrt] = inputs[wrt] - h * e
        out = max(out, float(np.max(np.abs((np.asarray(f(**plus)) - np.asarray(f(**minus))) / (2 * h)))))
    return out


def _setup(node: Node, data) -> tuple[str, dict]:
    assume(node.names)
    wrt = data.draw(st.sampled_from(sorted(node.names)), label="wrt")
    inputs = find_inputs(node, data.draw(st.integers(0, 2**16), label="seed"))
    assume(inputs is not None)
    note(f"matdiff.diff({node.text!r}, {wrt!r})")
    return wrt, inputs


def test_trace_of_a_product_is_a_scalar():
    p = matdiff.parse("tr(A*x*y')")
    assert p.expr.shape == (1, 1)
    assert rewrite(p.expr) == matdiff.parse("y'*A*x").expr  # tr(L u R) = R L u, by the rewrite table


@settings(max_examples=examples(90), **SETTINGS)
@given(node=scalar_expressions(max_size=30), data=st.data())
def test_gradient_agrees_with_finite_differences(node, data):
    check_gradient(node, data)


def check_gradient(node: Node, data) -> None:
    wrt, inputs = _setup(node, data)
    r = derive(node, wrt)
    assert r.kind == "gradient"
    G = r.lambdify()(**inputs)
    assert np.shape(G) == expected_layout(node, wrt)
    if wrt in SYMMETRIC:
        np.testing.assert_allclose(G, np.transpose(G), atol=1e-10)
    assert_first_order(node, wrt, inputs, G, r)


def check_jacobian(node: Node, data) -> None:
    wrt, inputs = _setup(node, data)
    r = derive(node, wrt)
    assert r.kind == ("derivative" if VARIABLES[wrt] == (1, 1) else "jacobian")
    J = r.lambdify()(**inputs)
    assert np.shape(J) == expected_layout(node, wrt)
    assert_first_order(node, wrt, inputs, J, r)


@settings(max_examples=examples(80), **SETTINGS)
@given(node=array_expressions(max_size=24), data=st.data())
def test_jacobian_agrees_with_finite_differences(node, data):
    check_jacobian(node, data)


def _expected_value(expected: str, inputs: dict, r):
    """The NumPy value of a closed form; 'I' is sized like the variable."""
    if expected == "(1 + beta)*I":
        return (1 + inputs["beta"]) * np.eye(np.size(inputs[r.variable.name]))
    return matdiff.lambdify(expected, TYPES)(**inputs)


@pytest.mark.parametrize("expr,wrt,expected", [
    ("x + beta*x", "x", "(1 + beta)*I"),
    ("B + beta*B", "B", "(1 + beta)*I"),
    ("beta*exp(beta)*A", "beta", "exp(beta)*(1 + beta)*A"),
    ("sin(beta)*beta*C", "beta", "(cos(beta)*beta + sin(beta))*C"),
])
def test_simplifier_terminates_on_scaled_identities(expr, wrt, expected):
    """Minimal reproducers found by the properties above: at commit cf2379d simplify() recursed
    without end on I + beta*I (RecursionError after seconds)."""
    r = matdiff.diff(expr, wrt, types=TYPES)
    assert r.check().ok
    inputs = random_inputs(np.random.default_rng(3))
    np.testing.assert_allclose(r.lambdify()(**inputs), _expected_value(expected, inputs, r))


@settings(max_examples=examples(40), **SETTINGS)
@given(node=scalar_expressions(depth=4, max_size=18), data=st.data())
def test_hessian_is_symmetric_and_agrees_with_second_differences(node, data):
    wrt, inputs = _setup(node, data)
    r = derive(node, wrt, order=2)
    assert r.kind == "hessian"
    H = r.lambdify()(**inputs)
    assert np.shape(H) == expected_layout(node, wrt, order=2)
    H = np.asarray(H, dtype=float)
    scale = max(1.0, float(np.max(np.abs(H), initial=0.0)))
    np.testing.assert_allclose(H, H.T, atol=1e-8 * scale, err_msg=f"{node.text} wrt {wrt}: {r}")
    f = oracle(node)
    with np.errstate(all="ignore"):
        size = float(np.max(np.abs(f(**inputs)), initial=1.0))
    # rounding in the differences is about 2e-8·|f| at h = 1e-4: measure relative to 1e-4·|f| at least
    err = second_order_error(f, inputs, wrt, H, symmetric=wrt in SYMMETRIC, floor=1e-4 * size)
    if err >= 1e-3:  # a zero Hessian (sum(a + a) in a): relative error is noise over noise
        zero = second_order_error(f, inputs, wrt, np.ones_like(H))  # 1.0 unless the differences vanish
        assert np.max(np.abs(H), initial=0.0) < 1e-8 and zero > 0.99, \
            f"{node.text} wrt {wrt}: {r} (relative error {err:.2e})"


@settings(max_examples=examples(60), **SETTINGS)
@given(node=expressions(max_size=40, kron_norm=True))
@example(node=Node("(x + x) .* (x ./ sigmoid(x) * beta)", 1, ("n", 1), frozenset({"x", "beta"})))
@example(node=Node("b + b + (b * x' * B - b * x' * B)^2 * b", 0, ("l", 1), frozenset({"B", "b", "x"})))
def test_printed_expression_parses_back_to_the_same_tree(node):
    first = matdiff.parse(node.text, TYPES)
    printed = str(first.expr)
    note(printed)
    again = _reparse(printed, first.expr)
    assume(again.symbols)  # a tree without variables ('0' for b - b) cannot carry its shape in text
    assert str(again.expr) == printed
    assert rename_dims(again.expr, dim_renaming(again.symbols, first.symbols)) == first.expr


def test_reparsing_printed_hadamard_gives_the_same_tree():
    first = matdiff.parse("(x + x) .* (x ./ sigmoid(x) * beta)").expr
    assert matdiff.parse(str(first)).expr == first


@settings(max_examples=examples(100), **SETTINGS)
@given(node=expressions(max_size=40, kron_norm=True), seed=st.integers(0, 2**16))
def test_printed_expression_means_the_same(node, seed):
    """The printed text is in the language and evaluates to the input (catches precedence slips)."""
    first = matdiff.parse(node.text, TYPES)
    printed = str(first.expr)
    note(printed)
    _reparse(printed, first.expr)
    inputs = random_inputs(np.random.default_rng(seed))
    want, got = _oracle_value(node, inputs), _value(printed, inputs)
    np.testing.assert_allclose(np.broadcast_to(got, want.shape), want, rtol=1e-7, atol=1e-9, equal_nan=True)


def dim_renaming(src: dict, dst: dict) -> dict:
    """Dimension letters are given in order of first appearance, so re-parsing printed text may
    name them differently: the map from the letters of ``src`` to those of ``dst``."""
    out: dict = {}
    for name, sym in src.items():
        for a, b in zip(sym.shape, dst[name].shape):
            if a != 1:
                assert out.setdefault(a, b) == b
    return out


def rename_dims(e, mapping: dict):
    """The tree e with every dimension renamed (a structural copy, field by field)."""
    from dataclasses import fields, replace

    from matdiff.core import construct as algebra
    from matdiff.core.nodes import Expr

    def dim(d):
        if d == 1 or not isinstance(d, str):
            return d
        return algebra.dim_mul(*[mapping.get(p, p) for p in d.split("*")])

    def go(x):
        if isinstance(x, Expr):
            changes = {}
            for f in fields(x):
                v = getattr(x, f.name)
                new = go(v)
                if new is not v:
                    changes[f.name] = new
            return replace(x, **changes) if changes else x
        if isinstance(x, tuple):
            new = tuple(go(v) for v in x)
            return new if any(a is not b for a, b in zip(new, x)) else x
        if isinstance(x, str) and x in mapping or (isinstance(x, str) and "*" in x):
            return dim(x)
        return x

    return go(e)


SKIP_MARKERS = ("where", "K(", "unvec")


@settings(max_examples=examples(20), **SETTINGS)
@given(node=scalar_expressions(max_size=20), data=st.data())
def test_printed_gradient_parses_back_and_means_the_same(node, data):
    """str(r) is in the language: it parses, prints back to itself, and evaluates to r."""
    wrt, inputs = _setup(node, data)
    r = derive(node, wrt)
    text = str(r)
    note(text)
    assume(not any(m in text for m in SKIP_MARKERS))
    again = _reparse(text, r.value)
    third = matdiff.parse(str(again.expr), TYPES)
    assert rename_dims(third.expr, dim_renaming(third.symbols, again.symbols)) == again.expr
    if not (set(again.symbols) - set(r.symbols)):
        with np.errstate(all="ignore"):
            want = np.asarray(r.lambdify()(**inputs), dtype=float)
            got = np.asarray(matdiff.lambdify(text, TYPES)(**inputs), dtype=float)
        np.testing.assert_allclose(np.broadcast_to(got, want.shape), want, rtol=1e-8, atol=1e-10)


def test_strategies_cover_the_language():
    """The generator reaches every operator and function of SPEC §1 (so the properties mean something)."""
    seen: set[str] = set()

    @settings(max_examples=1500, **SETTINGS)
    @given(node=expressions(max_size=40, kron_norm=True))
    def collect(node):
        seen.add(node.text)

    collect()
    text = " ".join(seen)
    for token in ["+", "-", "*", ".*", "./", " / ", "'", "^", ".^", "⊗", "kron(", "tr(", "det(", "logdet(",
                  "inv(", "diag(", "vec(", "sum(", "norm1(", "norm2(", "abs(", "sign(", "exp(", "log(",
                  "sqrt(", "sin(", "cos(", "tan(", "arcsin(", "arccos(", "arctan(", "tanh(", "sigmoid(",
                  "relu(", "step(", "softmax(", "logsumexp(", "I", "eye", "vector(", "matrix(", "^-1", "S", "beta"]:
        assert token in text, token


@settings(max_examples=examples(60), **SETTINGS)
@given(node=expressions(max_size=40, kron_norm=True), seed=st.integers(0, 2**16))
def test_evaluation_agrees_with_the_generators_numpy(node, seed):
    """matdiff.lambdify of the input is the generator's own NumPy function of it."""
    inputs = random_inputs(np.random.default_rng(seed))
    want, got = _oracle_value(node, inputs), _value(node.text, inputs)
    assume(np.all(np.isfinite(want)) and np.max(np.abs(want), initial=0.0) < 1e6)
    np.testing.assert_allclose(np.broadcast_to(got, want.shape), want, rtol=1e-7, atol=1e-9)


def test_norm1_of_outer_product_times_the_variable():
    r = matdiff.diff("norm1(a*b')*b", "b", types=TYPES)
    assert r.check().ok


@settings(max_examples=examples(40), **SETTINGS)
@given(node=scalar_expressions(max_size=25), data=st.data(), order=st.sampled_from([1, 2]))
def test_generated_numpy_code_agrees_with_lambdify(node, data, order):
    """r.to_code('numpy') is the same function as r.lambdify(), on random gradients and Hessians."""
    from test_codegen import assert_same, load

    wrt, inputs = _setup(node, data)
    r = derive(node, wrt, order=order)
    f = load(r.to_code("numpy"))
    with np.errstate(all="ignore"):
        want = r.lambdify()(**inputs)
        got = f(*[inputs[n] for n in r.symbols])
    assume(np.all(np.isfinite(want)))
    assert_same(got, want)
