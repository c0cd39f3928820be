"""The sizes of a Kronecker product and of a vec are products of sizes (SPEC §2): b ⊗ x with
b ∈ ℝˡ, x ∈ ℝⁿ has l·n entries, vec X of a p×q X has p·q, and l·n = p·q does not say l = p.

Each answer is compared with central differences of NumPy written here by hand, at inputs
whose sizes factor in more than one way (b ∈ ℝ⁵, x ∈ ℝ³, X 5×3 and X 3×5), and lambdify
accepts every consistent set of shapes."""
from __future__ import annotations

import numpy as np
import pytest

import matdiff
from fdutil import first_order_error, second_order_error, vec

RNG = np.random.default_rng(20261124)


def kron_vec(b, x, X):
    return np.kron(b, x) @ vec(X)


SHAPES = [  # b, x, X: X in both factorings of 15, and one that only the product fixes
    (5, 3, (5, 3)), (5, 3, (3, 5)), (2, 6, (4, 3)), (4, 3, (3, 4)),
]


def _inputs(nb, nx, xs):
    return {"b": RNG.standard_normal(nb), "x": RNG.standard_normal(nx), "X": RNG.standard_normal(xs)}


@pytest.mark.parametrize("nb, nx, xs", SHAPES)
@pytest.mark.parametrize("wrt", ["b", "x", "X"])
def test_gradient_of_kron_against_vec_for_every_factoring(nb, nx, xs, wrt):
    r = matdiff.diff("(b ⊗ x)' vec(X)", wrt)
    inputs = _inputs(nb, nx, xs)
    got = r.lambdify()(**inputs)
    assert np.shape(got) == np.shape(inputs[wrt])
    assert first_order_error(kron_vec, inputs, wrt, got) < 1e-7


@pytest.mark.parametrize("nb, nx, xs", SHAPES)
@pytest.mark.parametrize("wrt", ["b", "x", "X"])
def test_hessian_through_kron_for_every_factoring(nb, nx, xs, wrt):
    r = matdiff.diff("((b ⊗ x)' vec(X))^2 + sum(exp(kron(b, x) .* vec(X)))", wrt, order=2)
    inputs = {k: 0.5 * v for k, v in _inputs(nb, nx, xs).items()}

    def f(b, x, X):
        u = np.kron(b, x) * vec(X)
        return u.sum() ** 2 + np.exp(u).sum()

    H = r.lambdify()(**inputs)
    n = np.size(inputs[wrt])
    assert np.shape(H) == (n, n)
    assert second_order_error(f, inputs, wrt, H) < 1e-5


@pytest.mark.parametrize("nb, nx, xs", SHAPES)
@pytest.mark.parametrize("wrt", ["b", "x", "X"])
def test_jacobian_through_kron_for_every_factoring(nb, nx, xs, wrt):
    r = matdiff.diff("kron(b, x) .* tanh(vec(X))", wrt)
    inputs = _inputs(nb, nx, xs)

    def f(b, x, X):
        return np.kron(b, x) * np.tanh(vec(X))

    J = r.lambdify()(**inputs)
    assert np.shape(J) == (nb * nx, np.size(inputs[wrt]))
    assert first_order_error(f, inputs, wrt, J) < 1e-7


@pytest.mark.parametrize("wrt", ["y", "A", "B", "X"])
def test_kron_of_matrices_against_vec_of_another_shape(wrt):
    """y' (A ⊗ B) vec X with A 2×3, B 4×5 (15 columns) and X 5×3 or 3×5."""
    r = matdiff.diff("y'*kron(A, B)*vec(X)", wrt)
    for xs in [(5, 3), (3, 5)]:
        inputs = {"y": RNG.standard_normal(8), "A": RNG.standard_normal((2, 3)), "B": RNG.standard_normal((4, 5)),
                  "X": RNG.standard_normal(xs)}

        def f(y, A, B, X):
            return y @ np.kron(A, B) @ vec(X)

        assert first_order_error(f, inputs, wrt, r.lambdify()(**inputs)) < 1e-7


def test_sizes_that_cancel_are_forced():
    """b ⊗ x against vec X with x's size also X's rows: l·n = n·q gives q = l, so X is n×l
    and the answer is the closed form of Roth's lemma."""
    r = matdiff.diff("(b ⊗ x)' vec(X) + x'*X*b", "b")
    assert str(r) == "2*X'*x"
    inputs = _inputs(5, 3, (3, 5))
    got = r.lambdify()(**inputs)
    assert first_order_error(lambda b, x, X: 2 * kron_vec(b, x, X), inputs, "b", got) < 1e-7
    with pytest.raises(matdiff.MatdiffError):
        r.lambdify()(**_inputs(5, 3, (5, 3)))


def test_inconsistent_sizes_are_refused():
    r = matdiff.diff("(b ⊗ x)' vec(X)", "b")
    with pytest.raises(matdiff.MatdiffError):
        r.lambdify()(**_inputs(5, 3, (4, 4)))


def test_check_accepts_the_general_answer():
    assert matdiff.diff("(b ⊗ x)' vec(X)", "x").check().ok
    assert matdiff.diff("((b ⊗ x)' vec(X))^2", "X", order=2).check().ok
