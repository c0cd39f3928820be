"""The seed examples: printed closed form, and agreement with finite differences."""
import numpy as np
import pytest

import matdiff


def test_seed_prints_textbook_form():
    r = matdiff.diff("beta*sum(abs(X'X - I))", "X")
    assert r.value == matdiff.parse("2*beta*X*sign(X'X - I)").expr
    assert str(r) == "2*beta*X*sign(X'X - I)"


def test_seed_numerically():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((5, 3)) * 0.5
    beta = 0.7
    G = matdiff.diff("beta*sum(abs(X'X - I))", "X").lambdify()(X=X, beta=beta)
    f = lambda X: beta * np.abs(X.T @ X - np.eye(3)).sum()  # noqa: E731
    E = rng.standard_normal(X.shape)
    h = 1e-6
    fd = (f(X + h * E) - f(X - h * E)) / (2 * h)
    assert np.sum(G * E) == pytest.approx(fd, rel=1e-6)


@pytest.mark.parametrize("expr,wrt,order", [
    ("tr(abs(X'X - I))", "X", 1), ("x'*A*x", "x", 1), ("x'*A*x", "x", 2), ("softmax(z)", "z", 1),
    ("X'X", "X", 1),
])
def test_seed_checks(expr, wrt, order):
    assert matdiff.diff(expr, wrt, order=order).check().ok
