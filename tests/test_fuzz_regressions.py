"""Inputs found by fuzzing the CLI and the API that once ended in an internal
error; each now gets its answer, checked against NumPy written by hand."""
from __future__ import annotations

import io

import numpy as np

import matdiff
from matdiff.cli import run


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_mixed_derivative_of_an_index_expression_by_an_absent_variable_is_zero():
    r = matdiff.diff("sum_i(A[i,i]*x[i])", "x", "X")
    assert any("'X' does not occur" in n for n in r.notes)
    rng = np.random.default_rng(0)
    A, x = rng.standard_normal((3, 3)), rng.standard_normal(3)
    assert np.allclose(r.lambdify()(A=A, x=x, X=rng.standard_normal((2, 4))), 0)
    code, out, err = cli("sum_{i,j}(A[i,j]*x[i]*x[j])", "x", "--then", "y")
    assert code == 0 and "internal error" not in err and out.strip() == "0"


def test_mixed_derivative_of_an_index_expression_by_a_present_variable():
    """∂/∂vec A of ∇ₓ(xᵀAx) = (A + Aᵀ)x: d∇ = (dA + dAᵀ)x."""
    r = matdiff.diff("sum_{i,j}(A[i,j]*x[i]*x[j])", "x", "A")
    rng = np.random.default_rng(1)
    A, x = rng.standard_normal((4, 4)), rng.standard_normal(4)
    h, J = 1e-6, np.zeros((4, 16))
    for k in range(16):
        E = np.zeros(16)
        E[k] = h
        dA = E.reshape(4, 4, order="F")
        J[:, k] = ((A + dA + (A + dA).T) @ x - (A - dA + (A - dA).T) @ x) / (2 * h)
    assert np.allclose(r.lambdify()(A=A, x=x), J, atol=1e-6)


def test_index_format_of_several_variables_prints_one_gradient_each():
    code, out, err = cli("norm2(W*x - y)^2", "W,x", "--format", "index")
    assert code == 0, err
    assert out.splitlines() == [
        "∂L/∂W[a,b] = 2*(sum_j(W[a,j]*x[j]) - y[a])*x[b]",
        "∂L/∂x[a] = 2*sum_j(W[j,a]*(sum_k(W[j,k]*x[k]) - y[j]))",
    ]
    rs = matdiff.diff("norm2(W*x - y)^2", ["W", "x"])
    rng = np.random.default_rng(2)
    W, x, y = rng.standard_normal((3, 4)), rng.standard_normal(4), rng.standard_normal(3)
    u = W @ x - y  # the printed entries, by hand: 2 u_a x_b and 2 Σ_j W_ja u_j
    assert np.allclose(rs["W"].lambdify()(W=W, x=x, y=y), 2 * np.outer(u, x))
    assert np.allclose(rs["x"].lambdify()(W=W, x=x, y=y), 2 * W.T @ u)


def test_many_index_sums_get_enough_placeholder_names():
    k = 12
    term = "sum_i(sum(abs(Phi[:,i,:]'*Ph[:,i,:] - I)))"
    expr = " + ".join(f"c{j}*{term}" for j in range(k))
    r = matdiff.diff(expr, "Phi", types={f"c{j}": "scalar" for j in range(k)})
    rng = np.random.default_rng(3)
    Phi, Ph, c = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 3, 4)), rng.uniform(0.5, 1.5, k)

    def f(P):
        return sum(c[j] * sum(np.abs(P[:, i, :].T @ Ph[:, i, :] - np.eye(4)).sum() for i in range(3))
                   for j in range(k))

    g = np.asarray(r.lambdify()(Phi=Phi, Ph=Ph, **{f"c{j}": c[j] for j in range(k)}))
    fd, h = np.zeros_like(Phi), 1e-6
    for idx in np.ndindex(Phi.shape):
        E = np.zeros_like(Phi)
        E[idx] = h
        fd[idx] = (f(Phi + E) - f(Phi - E)) / (2 * h)
    assert np.allclose(g, fd, atol=1e-5)


def test_a_number_with_a_huge_exponent_is_refused_at_once():
    code, out, err = cli("x^99991e9999999", "x")
    assert code == 2 and out == ""
    assert err.splitlines() == [
        "matdiff: syntax error at column 3: the number '99991e9999999' is out of range: "
        "its exponent may be at most 1000",
        "  x^99991e9999999",
        "    ^^^^^^^^^^^^^",
    ]


def test_a_huge_power_of_a_number_stays_a_power():
    """2^1e99 is not written out (it would never finish); d(c x)/dx = c I all the same."""
    r = matdiff.diff("2^1e99*x + 3^2*x", "x")
    assert "2^1" in r.text and "9" in r.text
    small = matdiff.diff("2^3*x", "x")
    x = np.array([0.5, -1.0, 2.0])
    assert np.allclose(small.lambdify()(x=x), 8 * np.eye(3))


def test_index_notation_inside_a_program_is_refused_with_a_caret():
    code, out, err = cli("z = W*x + b; L = sum_i(z[i]^2)", "W")
    assert code == 2 and out == ""
    assert err.splitlines() == [
        "matdiff: unsupported at column 18: index notation (subscripts, sum_i, delta) inside a program "
        "of definitions: write the function as one expression",
        "  z = W*x + b; L = sum_i(z[i]^2)",
        "                   ^^^^^^^^^^^^^",
    ]
    try:
        matdiff.parse("z = sum_i(x[i]); L = 2*z")
    except matdiff.MatdiffError as e:
        assert e.column == 5 and "inside a program" in e.message
    else:
        raise AssertionError("no error")


def test_a_name_that_starts_with_an_underscore_prints_in_every_format():
    code, out, err = cli("_w'*x", "x", "--format", "latex")
    assert code == 0 and out.strip() == r"\mathrm{\_w}", err
    r = matdiff.diff("sum(abs(X) .* _W)", "X", types={"_W": "matrix"})  # d Σ |X| ⊙ W = ⟨W ⊙ sign(X), dX⟩
    rng = np.random.default_rng(4)
    X, W = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    assert np.allclose(r.lambdify()(X=X, _W=W), W * np.sign(X))
    assert r.latex() and r.unicode()


def test_gauss_newton_of_a_function_free_of_the_variable_is_refused_clearly():
    code, out, err = cli("tr(3)", "X", "--gauss-newton")
    assert code == 2 and out == ""
    assert err.strip() == "matdiff: unsupported: f does not depend on X: there is no inner map N, and the Hessian is zero"


def test_steps_of_a_higher_derivative_in_unicode_and_latex():
    """∂³ tr(X³)/∂X³ by entries: 3 ⋅ (all six orderings of δ's), checked on its lambdified tensor."""
    for fmt in ("unicode", "latex"):
        code, out, err = cli("tr(X^3)", "X", "--order", "3", "--steps", "--format", fmt)
        assert code == 0 and "internal error" not in err, err
        assert out.startswith("∂³f/∂X[a,b]∂X[c,d]∂X[e,f]" if fmt == "unicode" else r"\frac{\partial^{3} f}")
    r = matdiff.diff("tr(X^3)", "X", order=3)
    X = np.random.default_rng(5).standard_normal((3, 3))
    T = np.asarray(r.lambdify()(X=X))  # axis k is vec X: X[a,b] at a + n*b
    n, h = 3, 1e-4
    for (a, b) in [(0, 1), (2, 0)]:
        for (c, d) in [(1, 2), (0, 0)]:
            E1, E2 = np.zeros((n, n)), np.zeros((n, n))
            E1[a, b], E2[c, d] = 1, 1

            def hess_entry(Y):  # ∂²tr(Y³)/∂Y[a,b]∂Y[c,d] = 3 tr(E1 E2 Y + E2 E1 Y)
                return 3 * np.trace(E1 @ E2 @ Y + E2 @ E1 @ Y)
            for (e, f) in [(2, 1), (1, 0), (2, 0)]:  # (0,1),(1,2),(2,0): 3
                E3 = np.zeros((n, n))
                E3[e, f] = 1
                fd = (hess_entry(X + h * E3) - hess_entry(X - h * E3)) / (2 * h)
                assert abs(T[a + n * b, c + n * d, e + n * f] - fd) < 1e-6


def test_numbers_beyond_the_float_range_evaluate_to_inf_not_an_internal_error():
    r = matdiff.diff("sum(1e400*y) + sum(-1e400*y)", "y")
    assert r.lambdify()(y=np.array([1.0, 2.0])).tolist() == [0.0, 0.0]
    assert np.all(np.isposinf(matdiff.diff("sum(1e400*y)", "y").lambdify()(y=np.array([1.0, 2.0]))))
    code, out, err = cli("z = W*x + b; y = sigmoid(z); L = 0.5*norm2(1e-400*y - t)^2", "W", "--check")
    assert code == 3 and "internal error" not in err
    assert err.splitlines()[-1] == "check could not be made (m=4, n=3): no random point kept f finite and off its kinks"


def test_a_huge_matrix_power_in_index_notation_is_refused_at_once():
    code, out, err = cli("sum_i(sum(X^99999999*A[:,i]))", "A")
    assert code == 2 and out == ""
    assert err.splitlines() == [
        "matdiff: unsupported at column 11: a matrix power above 64 has no index form yet: "
        "write 'X^99999999' outside subscripts and index sums",
        "  sum_i(sum(X^99999999*A[:,i]))",
        "            ^^^^^^^^^^",
    ]
    r = matdiff.diff("sum_i(sum(X^3*A[:,i]))", "A")  # Σ (X³A) by A: X³ᵀ 1 1ᵀ
    rng = np.random.default_rng(6)
    X, A = rng.standard_normal((3, 3)), rng.standard_normal((3, 4))
    assert np.allclose(r.lambdify()(X=X, A=A), np.linalg.matrix_power(X, 3).T @ np.ones((3, 4)))
