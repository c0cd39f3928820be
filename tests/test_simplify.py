"""The simplifier: each rewrite keeps the value (checked numerically) and gives the
textbook form (checked on the canonical tree), and the numerical check itself can fail."""
import numpy as np
import pytest

import matdiff
from matdiff.core.rewriting import rewrite
from matdiff.core import construct as A
from matdiff.backends.check import dimension_sizes, random_point
from matdiff.backends.evaluate import evaluate
from matdiff.simplify.passes import cost, factor, pull_transposes, simplify, tokens
from matdiff.present.printing import to_text


def same_value(a, b, symbols, seed=0):
    """a and b agree at a random point with distinct dimensions."""
    rng = np.random.default_rng(seed)
    dims = dimension_sizes(symbols)
    values = random_point(a, b, symbols, rng, dims)
    assert values is not None
    np.testing.assert_allclose(evaluate(a, values, dims), evaluate(b, values, dims), rtol=1e-10, atol=1e-12)


# (expression, variable, textbook answer, types): matdiff's tree equals the simplified textbook tree
TEXTBOOK = [
    ("beta*sum(abs(X'X - I))", "X", "2*beta*X*sign(X'X - I)", None),
    ("x'*A*x", "x", "(A + A')*x", None),
    ("norm2(S - B)^2", "S", "2*S - B - B'", {"S": "symmetric"}),
    ("tr(A*S)", "S", "(A + A')/2", {"S": "symmetric"}),
    ("det(X^3)", "X", "3*det(X^3)*inv(X)'", None),
    ("sum(log(1 + exp(-y .* (X*w))))", "w", "-X'*(y .* sigmoid(-y .* (X*w)))", None),
    ("-y'*log(softmax(z))", "z", "softmax(z) - y", {"y": "probability"}),
    ("-sum(log(sigmoid(X*w)))", "w", "-X'*sigmoid(-X*w)", None),
    ("tr(X^3)", "X", "3*X'^2", None),
]


@pytest.mark.parametrize("expr,wrt,answer,types", TEXTBOOK)
def test_textbook_form(expr, wrt, answer, types):
    r = matdiff.diff(expr, wrt, types=types)
    want = matdiff.parse(f"0*({expr})*{wrt} + {answer}" if not r.value.is_scalar else answer, types).expr
    assert r.value == simplify(want), f"{r} vs {answer}"
    same_value(r.value, want, r.symbols)
    assert r.check().ok


def test_factoring_lowers_the_cost_and_keeps_the_value():
    p = matdiff.parse("A*x + A'*x + B*x")
    f = factor(p.expr)
    assert cost(f) < cost(p.expr)
    same_value(f, p.expr, p.symbols)


@pytest.mark.parametrize("expr,wrt,shorter", [
    ("tr(A*X^3)", "X", "(X^2*A + X*A*X + A*X^2)'"),
    ("tr(X^2*B)", "X", "(X*B + B*X)'"),
    ("tr(A*inv(X)*B)", "X", "-(inv(X)*B*A*inv(X))'"),
])
def test_transposes_taken_out_for_display(expr, wrt, shorter):
    r = matdiff.diff(expr, wrt)
    shown = pull_transposes(r.value, to_text)
    assert tokens(to_text(shown)) < tokens(to_text(r.value))
    assert tokens(str(r)) <= tokens(shorter)
    same_value(shown, r.value, r.symbols)
    reparsed = matdiff.parse(str(r)).expr
    same_value(reparsed, r.value, r.symbols)


def test_logistic_identities_keep_the_value():
    p = matdiff.parse("exp(v) ./ (1 + exp(v)) + (1 - sigmoid(u))")
    assert rewrite(p.expr) == matdiff.parse("sigmoid(v) + sigmoid(-u)").expr
    rng = np.random.default_rng(0)
    v, u = rng.standard_normal(4), rng.standard_normal(4)
    by_hand = np.exp(v) / (1 + np.exp(v)) + 1 - 1 / (1 + np.exp(-u))
    np.testing.assert_allclose(matdiff.lambdify("exp(v) ./ (1 + exp(v)) + (1 - sigmoid(u))")(v=v, u=u), by_hand)


def test_powers_of_one_base_merge_in_a_chain():
    p = matdiff.parse("X^3*inv(X)^2*X'^2*inv(X)'")
    assert p.expr == matdiff.parse("X*X' + 0*tr(X)").expr  # tr(X): the same square X
    X = np.random.default_rng(1).standard_normal((4, 4)) + 3 * np.eye(4)
    iX = np.linalg.inv(X)
    np.testing.assert_allclose(matdiff.lambdify("X^3*inv(X)^2*X'^2*inv(X)'")(X=X),
                               np.linalg.matrix_power(X, 3) @ iX @ iX @ X.T @ X.T @ iX.T)


def test_check_accepts_zero_hessians_and_catches_a_wrong_answer():
    for expr, wrt in [("tr(A*X)", "X"), ("x'*A*x", "A")]:
        assert matdiff.diff(expr, wrt, order=2).check().ok
    r = matdiff.diff("x'*A*x", "x")
    wrong = type(r)(r.input, r.variable, r.order, r.kind, A.T(A.mul(A.T(r.symbols["A"]), r.symbols["x"])),
                    r.function, r.symbols)
    assert not wrong.check().ok
