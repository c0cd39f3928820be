"""Every differential rule of matdiff.rules, checked against central finite differences.

The cases are generated from ``matdiff.rules.all_rules()``, so a rule is tested the
moment it is added to the table.  The reference values come from
``matdiff.lambdify(example)``, which evaluates the original expression and never
touches the differentiation code.  Dimensions get distinct sizes, so that a missing
or misplaced transpose changes the numbers; inputs stay inside each function's
domain and away from its kinks.
"""
from __future__ import annotations

import numpy as np
import pytest

import matdiff
from matdiff.calculus.rules import all_rules

from fdutil import draw_array, first_order_error

TOL = 1e-6
SIZES = (3, 4, 5, 2, 6, 7)

# Rule examples that cannot be checked numerically, each with its reason.
SKIP = {
    "unvec": "unvec has no syntax in the language: its example 'x' does not contain the operator",
}

# Rule examples that matdiff gets wrong or rejects: expected failures with the bug.
XFAIL: dict[str, str] = {}

# Further examples for rules whose own example is skipped or fails, so that every
# rule still has a gradient that is checked.
SUBSTITUTES = {
    "Kronecker product rule": [("sum(kron(A, X))", "X"), ("sum(kron(X, B))", "X"), ("sum(kron(X, X))", "X")],
}

# Where the default draw (standard normal, scaled) leaves a function's domain or
# lands near a kink: the style of input each rule needs.
DOMAIN = {
    "log": "positive", "sqrt": "positive", "norm1": "positive",
    "arcsin": "unit", "arccos": "unit", "tan": "unit",
    "abs": "away", "sign": "away", "step": "away", "relu": "away",
    "det": "conditioned", "logdet": "conditioned", "inv": "conditioned",
}


def letters(shape) -> list[str]:
    out = []
    for d in shape:
        if d != 1:
            out.extend(str(d).split("*"))
    return out


def sizes_for(symbols) -> dict[str, int]:
    """A distinct size for every dimension letter, in order of first appearance."""
    order: list[str] = []
    for sym in symbols.values():
        for v in letters(sym.shape):
            if v not in order:
                order.append(v)
    assert len(order) <= len(SIZES), f"too many dimensions: {order}"
    return dict(zip(order, SIZES))


def size(d, sizes) -> int:
    if d == 1:
        return 1
    return int(np.prod([sizes[v] for v in str(d).split("*")]))


def draw(sym, sizes, rng, style: str):
    """A value for one symbol, in the layout lambdify takes (float, 1-D, 2-D)."""
    shape = (size(sym.shape[0], sizes), size(sym.shape[1], sizes))
    a = draw_array(shape, rng, style, 0.5, sym.symmetric)
    if shape == (1, 1):
        return float(a[0, 0])
    if shape[1] == 1:
        return a[:, 0]
    return a


def inputs_for(text: str, style: str, seed: int = 0):
    parsed = matdiff.parse(text)
    rng = np.random.default_rng(seed)
    sizes = sizes_for(parsed.symbols)
    return {name: draw(sym, sizes, rng, style) for name, sym in parsed.symbols.items()}


def case(name, identity, example, wrt):
    if name in SKIP:
        return pytest.param(name, identity, example, wrt, id=name,
                            marks=pytest.mark.skip(reason=SKIP[name]))
    if name in XFAIL:
        return pytest.param(name, identity, example, wrt, id=name,
                            marks=pytest.mark.xfail(strict=True, reason=XFAIL[name]))
    return pytest.param(name, identity, example, wrt, id=name)


RULES = all_rules()
RULE_CASES = [case(*r) for r in RULES]


def test_rule_table_is_walked():
    names = [r[0] for r in RULES]
    assert len(names) == len(set(names)), "two rules share a name"
    assert len(names) >= 30
    for name in XFAIL:
        assert name in SUBSTITUTES, f"'{name}' fails on its own example: give it a substitute"
    for name in list(SKIP) + list(XFAIL) + list(DOMAIN) + list(JACOBIAN_VARIANTS) + list(SUBSTITUTES):
        assert name in names, f"the test lists a rule '{name}' that the table no longer has"


@pytest.mark.parametrize("name,identity,example,wrt", RULE_CASES)
def test_rule_gradient_matches_finite_differences(name, identity, example, wrt):
    """The example's gradient (identity: see the rule) agrees with central differences."""
    r = matdiff.diff(example, wrt)
    assert r.kind == "gradient"
    inputs = inputs_for(example, DOMAIN.get(name, "normal"))
    f = matdiff.lambdify(example)
    G = r.lambdify()(**inputs)
    assert np.shape(G) == np.shape(inputs[wrt])
    assert np.all(np.isfinite(G))
    err = first_order_error(f, inputs, wrt, G, rng=np.random.default_rng(1))
    assert err < TOL, f"{name}: {identity}; d/d{wrt} {example} = {r} is off by {err:.2e}"


@pytest.mark.parametrize("name,example,wrt", [
    pytest.param(name, ex, w, id=f"{name}: {ex}") for name, exs in SUBSTITUTES.items() for ex, w in exs])
def test_substitute_gradient_matches_finite_differences(name, example, wrt):
    r = matdiff.diff(example, wrt)
    inputs = inputs_for(example, DOMAIN.get(name, "normal"))
    G = r.lambdify()(**inputs)
    assert np.shape(G) == np.shape(inputs[wrt])
    err = first_order_error(matdiff.lambdify(example), inputs, wrt, G, rng=np.random.default_rng(1))
    assert err < TOL, f"{name}: d/d{wrt} {example} = {r} is off by {err:.2e}"


# -- Jacobians: a vector- or matrix-valued expression that exercises each rule ---------
JACOBIAN_XFAIL: dict[str, str] = {}

JACOBIAN_VARIANTS = {
    "sum rule": ("X + A", "X"),
    "product rule": ("A*X*B*X'", "X"),
    "Hadamard product rule": ("X .* X .* A", "X"),
    "Kronecker product rule": ("kron(A, X)", "X"),
    "transpose": ("A*X'", "X"),
    "power rule": ("X .^ 3", "X"),
    "matrix power": ("X^3", "X"),
    "tr": ("tr(A*X*B)*q", "X"),
    "sum": ("sum(A*X)*q", "X"),
    "vec": ("vec(A*X*B)", "X"),
    "diagm": ("A*diag(x)", "x"),
    "diagv": ("diag(X*B)", "X"),
    "det": ("det(X)*q", "X"),
    "logdet": ("logdet(X)*q", "X"),
    "inv": ("inv(X)", "X"),
    "norm2": ("x/norm2(x)", "x"),
    "norm1": ("norm1(A*x)*q", "x"),
    "softmax": ("softmax(x)", "x"),
    "logsumexp": ("x - logsumexp(x)*vector(1)", "x"),
}


def jacobian_cases():
    """An explicit variant where one is listed; otherwise the summand of a sum(...)
    example (A ⊙ f(X) for the element-wise rules, a diagonal Jacobian on vec X), or
    the scalar example times a fresh vector q (J = q vec(G)ᵀ)."""
    out = []
    for name, _identity, example, wrt in RULES:
        if name in SKIP:
            continue
        if name in JACOBIAN_VARIANTS:
            text, var = JACOBIAN_VARIANTS[name]
        elif example.startswith("sum(") and example.endswith(")"):
            text, var = example[len("sum("):-1], wrt
        else:
            assert "q" not in matdiff.parse(example).symbols
            text, var = f"({example})*q", wrt
        marks = [pytest.mark.xfail(strict=True, reason=JACOBIAN_XFAIL[name])] if name in JACOBIAN_XFAIL else []
        out.append(pytest.param(name, text, var, id=f"{name}: {text}", marks=marks))
    return out


JACOBIAN_CASES = jacobian_cases()


@pytest.mark.parametrize("name,text,wrt", JACOBIAN_CASES)
def test_rule_jacobian_matches_finite_differences(name, text, wrt):
    """A non-scalar use of every rule: J with d vec F = J d vec X, against central differences."""
    r = matdiff.diff(text, wrt)
    assert r.kind == "jacobian"
    inputs = inputs_for(text, DOMAIN.get(name, "normal"), seed=2)
    f = matdiff.lambdify(text)
    J = r.lambdify()(**inputs)
    F = np.asarray(f(**inputs))
    assert np.shape(J) == (F.size, np.size(inputs[wrt]))
    err = first_order_error(f, inputs, wrt, J, rng=np.random.default_rng(3))
    assert err < TOL, f"{name}: d vec({text})/d vec {wrt} = {r} is off by {err:.2e}"
