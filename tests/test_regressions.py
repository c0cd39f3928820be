"""Inputs that once went wrong, each checked against NumPy written by hand."""
import io

import numpy as np
import pytest

import matdiff
from matdiff.core.rewriting import rewrite
from matdiff.cli import run
from matdiff.present.printing import to_unicode
from fdutil import first_order_error, second_order_error


def vec(a):
    return np.asarray(a).reshape(-1, order="F")


def test_kron_against_vec_pairs_dimensions_like_vec_AXB():
    rng = np.random.default_rng(0)
    A, X, B = rng.standard_normal((3, 5)), rng.standard_normal((5, 4)), rng.standard_normal((4, 2))
    J = matdiff.diff("kron(B', A)*vec(X)", "X").lambdify()(A=A, X=X, B=B)
    np.testing.assert_allclose(J, np.kron(B.T, A))


def test_quadratic_form_in_vec_with_kron():
    rng = np.random.default_rng(1)
    X, A, B = rng.standard_normal((3, 4)), rng.standard_normal((4, 4)), rng.standard_normal((3, 3))
    f = lambda X, A, B: vec(X) @ np.kron(A, B) @ vec(X)  # noqa: E731
    r = matdiff.diff("vec(X)'*kron(A, B)*vec(X)", "X")
    inputs = {"X": X, "A": A, "B": B}
    assert first_order_error(f, inputs, "X", r.lambdify()(**inputs)) < 1e-7
    H = matdiff.diff("vec(X)'*kron(A, B)*vec(X)", "X", order=2).lambdify()(**inputs)
    np.testing.assert_allclose(H, np.kron(A, B) + np.kron(A, B).T)


def test_identity_sized_through_a_kronecker_product():
    rng = np.random.default_rng(2)
    X, a = rng.standard_normal((3, 4)), rng.standard_normal(20)
    J = matdiff.diff("kron(I, X)*a", "X").lambdify()(X=X, a=a)
    f = lambda X, a: np.kron(np.eye(5), X) @ a  # noqa: E731
    assert first_order_error(f, {"X": X, "a": a}, "X", J) < 1e-7


def test_diag_of_a_scalar_is_the_scalar():
    assert matdiff.diff("diag(alpha)", "alpha").lambdify()(alpha=0.3) == 1.0


def test_unicode_minus_and_middle_dot_read_as_minus_and_times():
    r = matdiff.diff("2·x'x − a'x", "x")
    x, a = np.arange(1.0, 5.0), np.ones(4)
    np.testing.assert_allclose(r.lambdify()(x=x, a=a), 4 * x - a)


def test_gauss_newton_hvp_applies_the_gauss_newton_matrix():
    rng = np.random.default_rng(3)
    vals = {"W1": rng.standard_normal((3, 4)), "W2": rng.standard_normal((2, 3)), "x": rng.standard_normal(4),
            "y": rng.standard_normal(2)}
    gn = matdiff.diff("sum((W2*tanh(W1*x) - y) .^ 2)", "W1", order=2).gauss_newton
    V = rng.standard_normal((3, 4))
    np.testing.assert_allclose(gn.hvp()(V, **vals), (gn.lambdify()(**vals) @ vec(V)).reshape(3, 4, order="F"))


def test_hessian_of_a_zero_function_checks_ok():
    assert matdiff.diff("tr(A*X)", "X", order=2).check().ok


def test_second_differences_of_binary_cross_entropy():
    rng = np.random.default_rng(4)
    X, w, t = rng.standard_normal((6, 3)), rng.standard_normal(3), rng.uniform(0, 1, 6)
    sig = lambda u: 1 / (1 + np.exp(-u))  # noqa: E731
    f = lambda X, w, t: -np.sum(t * np.log(sig(X @ w)) + (1 - t) * np.log(1 - sig(X @ w)))  # noqa: E731
    expr = "-sum(t .* log(sigmoid(X*w)) + (1 - t) .* log(1 - sigmoid(X*w)))"
    inputs = {"X": X, "w": w, "t": t}
    assert first_order_error(f, inputs, "w", matdiff.diff(expr, "w").lambdify()(**inputs)) < 1e-7
    assert second_order_error(f, inputs, "w", matdiff.diff(expr, "w", order=2).lambdify()(**inputs)) < 1e-5


@pytest.mark.parametrize("argv,message", [
    (["2..3*x'x", "x"], "syntax error at column 2: unexpected character '.'"),
    (["A^2", "A", "--matrix", "A", "--vector", "A"], "usage error: 'A' is declared both vector and matrix"),
    (["x'x", "tr"], "usage error: 'tr' is a function, not a variable"),
    (["(a + (b)", "a"], "syntax error at column 1: unclosed parenthesis: '(' is never closed"),
    (["x'x", "y", "--probability", "y", "--vector", "y"], "usage error: 'y' is declared both vector and probability"),
])
def test_bad_input_exits_2_with_one_line(argv, message):
    out, err = io.StringIO(), io.StringIO()
    assert run(argv, out=out, err=err) == 2
    assert err.getvalue().splitlines()[0] == f"matdiff: {message}"
    assert "Traceback" not in err.getvalue()


def test_a_probability_vector_is_differentiated_without_its_constraint():
    r = matdiff.diff("log(sum(y)) - sum(y .* log(y))", "y", types={"y": "probability"})
    y = np.array([0.2, 0.3, 0.5])
    np.testing.assert_allclose(r.lambdify()(y=y), 1 / y.sum() - np.log(y) - 1)
    assert any("unconstrained" in n for n in r.notes)


def test_cli_gauss_newton_prints_and_checks_the_gauss_newton_matrix():
    out, err = io.StringIO(), io.StringIO()
    assert run(["norm2(A*x - b)^2", "x", "--gauss-newton", "--check"], out=out, err=err) == 0
    lines = out.getvalue().splitlines()
    assert matdiff.parse(lines[0]).expr == matdiff.parse("2*A'*A").expr
    assert any(ln.startswith("check ok") for ln in err.getvalue().splitlines())


def test_symmetric_hessians_use_k_commuting_with_b_kron_b():
    """P H P with P = (I + K)/2 shortened by K² = I and K (B ⊗ B) = (B ⊗ B) K: the values stay."""
    from fdutil import commutation

    rng = np.random.default_rng(5)
    m = rng.standard_normal((4, 4))
    S = m @ m.T / 4 + np.eye(4)
    P = (np.eye(16) + commutation(4, 4)) / 2
    iS = np.linalg.inv(S)
    H = matdiff.diff("logdet(S)", "S", types={"S": "symmetric"}, order=2).lambdify()(S=S)
    np.testing.assert_allclose(H, -P @ np.kron(iS, iS) @ P, atol=1e-12)
    H = matdiff.diff("tr(S*S)", "S", types={"S": "symmetric"}, order=2).lambdify()(S=S)
    np.testing.assert_allclose(H, 2 * P @ P, atol=1e-12)


def test_zero_inside_softmax_is_the_zero_vector_its_context_sizes():
    """SPEC: '0' is the zero of inferred shape, so softmax(0) is softmax of a zero vector."""
    rng = np.random.default_rng(3)
    b = rng.standard_normal(5)
    value = matdiff.lambdify("b' * softmax(0)")(b=b)
    np.testing.assert_allclose(value, b.mean())
    r = matdiff.diff("b' * softmax(-(0))", "b")
    np.testing.assert_allclose(r.lambdify()(b=b), np.full(5, 0.2))
    with pytest.raises(matdiff.ShapeError, match="cannot infer the size of '0'"):
        matdiff.parse("softmax(0)")


def test_a_scalar_run_inside_a_parenthesised_chain():
    """I*(b'*b*W)*a: the inner b'*b is a scalar, so I and W still meet as a matrix chain."""
    rng = np.random.default_rng(4)
    b, W, a = rng.standard_normal(2), rng.standard_normal((3, 4)), rng.standard_normal(4)
    f = lambda b, W, a: np.eye(3) @ ((b @ b) * W) @ (a + a)  # noqa: E731
    text = "I * (b' * b * W) * (a + a)"
    np.testing.assert_allclose(matdiff.lambdify(text)(b=b, W=W, a=a), f(b, W, a))
    for wrt in ("b", "W", "a"):
        inputs = {"b": b, "W": W, "a": a}
        assert first_order_error(f, inputs, wrt, matdiff.diff(text, wrt).lambdify()(**inputs)) < 1e-7


def test_broadcast_scalars_print_and_parse_back_to_one_tree():
    for text in ("b - vector(beta + 2) + (b + b)", "b - 2*vector(beta + 1)", "x - (beta + 1)"):
        first = matdiff.parse(text).expr
        assert matdiff.parse(str(first)).expr == first


def _kron_inputs(rng):
    S = rng.standard_normal((3, 3))
    return {"A": rng.standard_normal((3, 4)), "B": rng.standard_normal((2, 5)), "x": rng.standard_normal(5),
            "X": rng.standard_normal((4, 2)), "S": S + S.T}


@pytest.mark.parametrize("text, wrt, f", [
    ("norm2(kron(A, x))", "A", lambda A, x: np.linalg.norm(np.kron(A, x[:, None]))),
    ("sum(kron(A, B))", "B", lambda A, B: np.kron(A, B).sum()),
    ("norm1(kron(X, x))", "X", lambda X, x: np.abs(np.kron(X, x[:, None])).sum()),
    ("tr(kron(S, X'*X))", "X", lambda S, X: np.trace(np.kron(S, X.T @ X))),
])
def test_reductions_of_a_kronecker_product_factor(text, wrt, f):
    """tr, sum, norm1, norm2 of A ⊗ B are products f(A) f(B): no vec/unvec in the answer."""
    r = matdiff.diff(text, wrt, types={"S": "symmetric"})
    assert "kron" not in str(r) and "unvec" not in str(r)
    inputs = {k: v for k, v in _kron_inputs(np.random.default_rng(5)).items() if k in r.symbols}
    assert first_order_error(f, inputs, wrt, r.lambdify()(**inputs)) < 1e-7


def test_powers_of_a_rank_one_product_collapse_to_a_scalar_power():
    """(b xᵀB)³ = (xᵀBb)² b xᵀB, so ∇_b tr((b xᵀB)³) = 3 (xᵀBb)² Bᵀx, as by hand."""
    rng = np.random.default_rng(6)
    inputs = {"b": rng.standard_normal(3), "x": rng.standard_normal(4), "B": rng.standard_normal((4, 3))}
    f = lambda b, x, B: np.trace(np.linalg.matrix_power(np.outer(b, x) @ B, 3))  # noqa: E731
    r = matdiff.diff("tr((b * x' * B)^3)", "b")
    assert r.value == matdiff.parse("b + 3*(x'*B*b)^2*B'*x - b").expr  # b first: the same dimension letters
    assert first_order_error(f, inputs, "b", r.lambdify()(**inputs)) < 1e-7


def test_an_inner_scalar_run_is_pulled_out_of_a_chain():
    """A x (yᵀ B z) is the scalar yᵀBz times A x, however it is written."""
    assert matdiff.parse("A*x*y'*B*z").expr == matdiff.parse("A*x*(y'*B*z)").expr
    rng = np.random.default_rng(7)
    inputs = {"A": rng.standard_normal((2, 3)), "x": rng.standard_normal(3), "y": rng.standard_normal(4),
              "B": rng.standard_normal((4, 5)), "z": rng.standard_normal(5)}
    value = matdiff.lambdify("A*x*y'*B*z")(**inputs)
    np.testing.assert_allclose(value, inputs["A"] @ inputs["x"] * (inputs["y"] @ inputs["B"] @ inputs["z"]))


def test_norm_of_a_zero_is_zero():
    text = "norm2(a*b' - a*b')*b + 2*b"
    assert str(matdiff.parse(text).expr) == "2*b"
    rng = np.random.default_rng(18)
    a, b = rng.standard_normal(3), rng.standard_normal(4)
    np.testing.assert_allclose(matdiff.lambdify(text)(a=a, b=b), 2 * b)


def test_a_dimension_in_the_answer_is_explained_in_a_note():
    r = matdiff.diff("sum(b*x'*B + matrix(logsumexp(b)))", "b")
    rng = np.random.default_rng(8)
    inputs = {"b": rng.standard_normal(2), "x": rng.standard_normal(3), "B": rng.standard_normal((3, 4))}
    f = lambda b, x, B: np.sum(np.outer(b, x) @ B + np.log(np.sum(np.exp(b))))  # noqa: E731
    assert first_order_error(f, inputs, "b", r.lambdify()(**inputs)) < 1e-7
    letters = [n for n in r.notes if "dimension" in n]
    assert len(letters) == 1 and "b is m×1" in letters[0] and "B is n×p" in letters[0]


@pytest.mark.parametrize("text, printed, uni", [
    ("B*(b - b + vector(beta) + 1)", "(beta + 1)*B*vector(1)", "(β + 1) B 𝟙"),
    ("(b' - b' + beta + 1)*C", "(beta + 1)*vector(1)'*C", "(β + 1) 𝟙ᵀ C"),
])
def test_a_constant_array_keeps_its_shape_in_print(text, printed, uni):
    """A sum of broadcast scalars alone is the constant array (β + 1)𝟙, not the scalar β + 1."""
    e = matdiff.parse(text).expr
    assert str(e) == printed and to_unicode(e) == uni
    rng = np.random.default_rng(9)
    inputs = {"B": rng.standard_normal((3, 4)), "C": rng.standard_normal((4, 2)), "b": rng.standard_normal(4),
              "beta": 0.3}
    for t in (text, printed):
        names = matdiff.parse(t).symbols
        want = matdiff.lambdify(text)(**{k: v for k, v in inputs.items() if k in matdiff.parse(text).symbols})
        got = matdiff.lambdify(t)(**{k: v for k, v in inputs.items() if k in names})
        np.testing.assert_allclose(got, want)
    c = 1.3 * np.ones(4)
    np.testing.assert_allclose(matdiff.lambdify(printed)(**{k: v for k, v in inputs.items() if k in {"B", "C", "beta"}}),
                               inputs["B"] @ c if "B" in text else c @ inputs["C"])


def test_printing_does_not_depend_on_what_was_parsed_before():
    """f(A + B) and f(B + A) are equal trees, but each prints its sum in the order it was written."""
    first = str(matdiff.parse("-(b * det(C * C' + eye))").expr)
    second = str(matdiff.parse("-(b * det(eye + C * C'))").expr)
    assert first == "-det(C*C' + I)*b" and second == "-det(I + C*C')*b"
    assert matdiff.parse(first).expr == matdiff.parse(second).expr


def test_a_zero_factor_in_a_chain_of_scalar_runs_makes_the_product_zero():
    assert str(matdiff.parse("abs(beta * (b' * (b * x' * B) * (b - b)))").expr) == "0"
    e = matdiff.parse("b'*b*x'*B*a").expr
    rng = np.random.default_rng(10)
    b, x, B, a = rng.standard_normal(2), rng.standard_normal(3), rng.standard_normal((3, 4)), rng.standard_normal(4)
    np.testing.assert_allclose(matdiff.lambdify(str(e))(b=b, x=x, B=B, a=a), (b @ b) * (x @ B @ a))


@pytest.mark.parametrize("text, printed, f", [
    ("b' * arccos(tanh(b * x' * B - b * x' * B) / 2)", "arccos(0)*sum(b)*vector(1)'",
     lambda b, x, B: b @ np.arccos(np.tanh(np.outer(b, x) @ B - np.outer(b, x) @ B) / 2)),
    ("vector(1)'*A*x", "sum(A*x)", lambda A, x: np.ones(4) @ A @ x),
    ("matrix(1)*B'*x + a", "sum(B'*x) + a", lambda B, x, a: np.ones((5, 4)) @ B.T @ x + a),
    ("vec(matrix(2))'*vec(X)", "2*sum(X)", lambda X: 2 * np.ones(12) @ vec(X)),
])
def test_products_with_constant_arrays_reduce_to_sums(text, printed, f):
    """𝟙𝟙ᵀv = sum(v)𝟙 (the rewrite table), vec(𝟙) = 𝟙, f(0) of an array is the constant array f(0)𝟙."""
    assert str(rewrite(matdiff.parse(text).expr)) == printed
    rng = np.random.default_rng(11)
    inputs = {"b": rng.standard_normal(2), "x": rng.standard_normal(3), "B": rng.standard_normal((3, 4)),
              "A": rng.standard_normal((4, 3)), "a": rng.standard_normal(5), "X": rng.standard_normal((3, 4))}
    given = {k: v for k, v in inputs.items() if k in matdiff.parse(text).symbols}
    np.testing.assert_allclose(matdiff.lambdify(text)(**given), f(**given))
    if "vector(1)'" not in printed:  # a row of ones alone takes its length from the text before simplifying
        np.testing.assert_allclose(matdiff.lambdify(printed)(**given), f(**given))


def test_a_commutation_matrix_leaves_a_vector_of_ones_alone():
    r = matdiff.diff("(b + b) * beta - vector(arccos(tanh(sum(kron(a, S))) / 2))", "S", types={"S": "symmetric"})
    assert "K" not in str(r) and "vec(" not in str(r)
    rng = np.random.default_rng(12)
    S = rng.standard_normal((3, 3))
    inputs = {"b": rng.standard_normal(2), "beta": 0.3, "a": 0.2 * rng.standard_normal(4), "S": 0.1 * (S + S.T)}

    def f(b, beta, a, S):
        return 2 * beta * b - np.arccos(np.tanh(np.kron(a[:, None], S).sum()) / 2) * np.ones_like(b)

    assert first_order_error(f, inputs, "S", r.lambdify()(**inputs), symmetric=True) < 1e-7


@pytest.mark.parametrize("text", ["x' * (x * a') * a * -b", "a' * (a * b') * b * (b + b)", "beta*(gamma*x'x)*a"])
def test_scalar_runs_print_and_parse_back_to_one_tree(text):
    first = matdiff.parse(text)
    again = matdiff.parse(str(first.expr))
    assert str(again.expr) == str(first.expr)
    rng = np.random.default_rng(13)
    inputs = {k: rng.standard_normal(3) if s.shape[0] != 1 else 0.7 for k, s in first.symbols.items()}
    np.testing.assert_allclose(matdiff.lambdify(str(first.expr))(**inputs), matdiff.lambdify(text)(**inputs))


@pytest.mark.parametrize("text, wrt, want", [
    ("vec(X)'*kron(A, B)*vec(X) + sum(B*X*A')", "A", "(X' + 1)*B*X"),
    ("vec(X)'*kron(A, B)*vec(X) + sum(B*X*A')", "X", "B'*(X + 1)*A + B*X*A'"),
    ("norm2(kron(A, C)*vec(X) - y)^2 + sum(C*X*A')", "X", None),
])
def test_roth_column_lemma_gives_kronecker_gradients_in_closed_form(text, wrt, want):
    """(A ⊗ B) vec X = vec(B X Aᵀ) where X is cols(B)×cols(A) (here sum(B X Aᵀ) says so): no
    K in gradients through a Kronecker product."""
    r = matdiff.diff(text, wrt)
    if want is not None:
        assert str(r) == want
    assert "K(" not in str(r)
    rng = np.random.default_rng(14)
    X = rng.standard_normal((3, 4))
    inputs = {"X": X, "A": rng.standard_normal((4, 4)), "B": rng.standard_normal((3, 3)),
              "C": rng.standard_normal((3, 3)), "y": rng.standard_normal(12)}
    inputs = {k: v for k, v in inputs.items() if k in r.symbols}

    def f(X, A, B=None, C=None, y=None):
        if C is None:
            return vec(X) @ np.kron(A, B) @ vec(X) + np.sum(B @ X @ A.T)
        return np.sum((np.kron(A, C) @ vec(X) - y) ** 2) + np.sum(C @ X @ A.T)

    assert first_order_error(f, inputs, wrt, r.lambdify()(**inputs)) < 1e-7


@pytest.mark.parametrize("wrt", ["A", "B", "X"])
@pytest.mark.parametrize("xs", [(3, 4), (4, 3), (2, 6)])
def test_kronecker_against_vec_holds_for_every_shape_of_x(wrt, xs):
    """vec(X)'(A ⊗ B) vec X with A 4×4, B 3×3: X may be 3×4, 4×3 or 2×6 (12 entries each)."""
    r = matdiff.diff("vec(X)'*kron(A, B)*vec(X)", wrt)
    rng = np.random.default_rng(15)
    inputs = {"X": rng.standard_normal(xs), "A": rng.standard_normal((4, 4)), "B": rng.standard_normal((3, 3))}
    f = lambda X, A, B: vec(X) @ np.kron(A, B) @ vec(X)  # noqa: E731
    assert first_order_error(f, inputs, wrt, r.lambdify()(**inputs)) < 1e-7


@pytest.mark.parametrize("text, wrt, printed, f", [
    ("arccos(beta/2)", "beta", "-1/(4 - beta^2)^0.5", lambda beta: np.arccos(beta / 2)),
    ("sum(arcsin(x/3))", "x", "(9 - x .^ 2) .^ -0.5", lambda x: np.arcsin(x / 3).sum()),
    ("(4*beta)^-0.5", "beta", "-1/(4*beta^1.5)", lambda beta: (4 * beta) ** -0.5),
])
def test_rational_roots_of_coefficients_come_out_of_powers(text, wrt, printed, f):
    """(c u)ᵖ = cᵖ uᵖ for c > 0 with cᵖ rational: ((4 − β²)/4)^(−½) = 2 (4 − β²)^(−½)."""
    r = matdiff.diff(text, wrt)
    assert str(r) == printed
    inputs = {"beta": 0.7} if wrt == "beta" else {"x": np.array([0.3, -1.2, 2.1])}
    assert first_order_error(f, inputs, wrt, r.lambdify()(**inputs)) < 1e-7


@pytest.mark.parametrize("text, wrt, order, printed, f", [
    ("sigmoid(x)'*y", "x", 2, "diag(y .* sigmoid(x) .* sigmoid(-x) .* (sigmoid(-x) - sigmoid(x)))",
     lambda x, y: y @ (1 / (1 + np.exp(-x)))),
    ("sum(x .* y .^ 2 - x .^ 2 .* y)", "y", 1, "x .* (2*y - x)", lambda x, y: np.sum(x * y**2 - x**2 * y)),
])
def test_shared_elementwise_factors_and_diagonals_are_collected(text, wrt, order, printed, f):
    """diag(a) − diag(b) = diag(a − b), and a ⊙ u + a ⊙ v = a ⊙ (u + v) when that is shorter."""
    r = matdiff.diff(text, wrt, order=order)
    assert str(r) == printed
    rng = np.random.default_rng(15)
    inputs = {"x": rng.standard_normal(4), "y": rng.standard_normal(4)}
    out = r.lambdify()(**inputs)
    err = (first_order_error if order == 1 else second_order_error)(f, inputs, wrt, out)
    assert err < (1e-7 if order == 1 else 1e-5)


@pytest.mark.parametrize("text, wrt, printed, f", [
    ("norm2(relu(W*x))^2", "W", "2*relu(W*x)*x'", lambda W, x: np.sum(np.maximum(W @ x, 0) ** 2)),
    ("sum(abs(x).^2)", "x", "2*x", lambda x: np.sum(np.abs(x) ** 2)),
])
def test_a_kinked_function_times_its_derivative_folds(text, wrt, printed, f):
    """relu(u) ⊙ step(u) = relu(u) and abs(u) ⊙ sign(u) = u, at 0 as well."""
    r = matdiff.diff(text, wrt)
    assert str(r) == printed
    rng = np.random.default_rng(16)
    inputs = {"W": rng.standard_normal((3, 4)), "x": rng.standard_normal(4)}
    inputs = {k: v for k, v in inputs.items() if k in r.symbols}
    assert first_order_error(f, inputs, wrt, r.lambdify()(**inputs)) < 1e-7


@pytest.mark.parametrize("text, wrt, printed, f", [
    ("diag(x)*y", "x", "diag(y)", lambda x, y: np.diag(x) @ y),
    ("y'*diag(x)*z", "x", "z .* y", lambda x, y, z: y @ np.diag(x) @ z),
    ("sum(diag(x)*A*y)", "x", "A*y", lambda x, A, y: np.sum(np.diag(x) @ A @ y)),
    ("diag(a*b')", "a", "diag(b)", lambda a, b: np.diag(np.outer(a, b))),
])
def test_diagonal_matrices_against_vectors_become_hadamard_products(text, wrt, printed, f):
    """diag(a) w = a ⊙ w, wᵀ diag(a) = (a ⊙ w)ᵀ, diag(u vᵀ) = u ⊙ v."""
    r = matdiff.diff(text, wrt)
    assert str(r) == printed
    rng = np.random.default_rng(17)
    inputs = {"x": rng.standard_normal(4), "y": rng.standard_normal(4), "z": rng.standard_normal(4),
              "A": rng.standard_normal((4, 3)), "a": rng.standard_normal(5), "b": rng.standard_normal(5)}
    if "A" in text:
        inputs["y"] = rng.standard_normal(3)
    inputs = {k: v for k, v in inputs.items() if k in r.symbols}
    assert first_order_error(f, inputs, wrt, r.lambdify()(**inputs)) < 1e-7


@pytest.mark.parametrize("text, order, entry, printed", [
    ("sum(exp(x) .* x .^ 2)", 3, lambda x: np.exp(x) * (x ** 2 + 6 * x + 6), None),
    ("sum(exp(x) .* x .^ 2)", 4, lambda x: np.exp(x) * (x ** 2 + 8 * x + 12), None),
    ("sum(exp(x) .* x)", 3, lambda x: np.exp(x) * (x + 3), None),
    ("sum_i(x[i]*log(x[i]))", 3, lambda x: -1 / x ** 2, "-x[a]^(-2)*delta(a,b)*delta(b,c)"),
    ("x'*log(x)", 3, lambda x: -1 / x ** 2, "-x[a]^(-2)*delta(a,b)*delta(b,c)"),
    ("sum_i(x[i]^2*exp(x[i]))", 3, lambda x: np.exp(x) * (x ** 2 + 6 * x + 6), None),
])
def test_higher_derivative_entries_are_simplified(text, order, entry, printed):
    """Entry by entry, a constant c·𝟙 prints as c (not (vector(1))[a]) and powers of one entry
    merge (x[a]*x[a]^(-3) = x[a]^(-2)); the printed K-th derivative, contracted with K
    directions, is the hand-written Σₐ T[a,…,a] u¹ₐ⋯uᴷₐ, and so is the lambdified array."""
    r = matdiff.diff(text, "x", order=order)
    body = str(r).split(" = ", 1)[1]
    assert "vector(1)" not in body and "matrix(1)" not in body and "(x[a])^" not in body, body
    assert printed is None or body == printed
    letters, dirs = "abcd"[:order], [f"u{k}" for k in range(order)]
    form = f"sum_{{{','.join(letters)}}}(({body})*" + "*".join(f"{u}[{a}]" for u, a in zip(dirs, letters)) + ")"
    grad = matdiff.diff(form, "u0").lambdify()  # the form is linear in u0: form = <grad, u0>
    rng = np.random.default_rng(5)
    x, *us = rng.standard_normal((order + 1, 5))
    x = np.abs(x) + 0.5
    want = float(np.sum(entry(x) * np.prod(us, axis=0)))
    assert abs(float(grad(x=x, **dict(zip(dirs, us))) @ us[0]) - want) < 1e-9 * (1 + abs(want))
    T = np.asarray(r.lambdify()(x=x))
    assert abs(float(np.einsum(T, list(range(order)), *[a for k, u in enumerate(us) for a in (u, [k])])) - want) \
        < 1e-9 * (1 + abs(want))


def test_an_index_met_only_by_delta_has_no_range():
    """Σᵢ δ(i,i) with i on no array's axis is refused (it once became a vector variable 'n',
    making the gradient of a scalar a row); δ against arrays still contracts."""
    with pytest.raises(matdiff.ShapeError, match="index 'i' meets no array's axis"):
        matdiff.diff("sum_{i}(delta(i,i))*sum(x)", "x")
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal(4), rng.standard_normal(4)
    r = matdiff.diff("sum_{i,j,k}(delta(i,j)*delta(j,k)*x[i]*y[k]^2)", "x")
    f = lambda x, y: float(np.einsum("ij,jk,i,k->", np.eye(4), np.eye(4), x, y ** 2))
    assert first_order_error(f, {"x": x, "y": y}, "x", r.lambdify()(x=x, y=y)) < 1e-7


def test_entry_times_its_reciprocal_cancels_in_index_answers():
    """∂/∂Z[a,b] Σⱼ yⱼ log softmax(Z[:,j])ⱼ = yₐ δ(a,b) − y_b softmax(Z[:,b])ₐ: the s·…/s of the
    chain rule through log cancels, and the entries agree with the hand-written NumPy."""
    r = matdiff.diff("sum_j(y[j]*log(softmax(Z[:,j])[j]))", "Z[a,b]")
    assert str(r) == "∂L/∂Z[a,b] = y[a]*delta(a,b) - y[b]*softmax(Z[:,b])[a]"
    rng = np.random.default_rng(8)
    Z, y = rng.standard_normal((4, 4)), rng.standard_normal(4)
    E = np.exp(Z - Z.max(axis=0))
    want = np.diag(y) - E / E.sum(axis=0) * y[None, :]
    g = r.lambdify()
    got = np.array([[g(Z=Z, y=y, a=a, b=b) for b in range(4)] for a in range(4)])
    assert np.abs(got - want).max() < 1e-12


def test_a_power_of_the_zero_matrix_is_zero():
    """(A - A)^2 was kept as a power of the zero matrix, printed 0^2, which reads back as the
    number 0: the printed answer did not parse back to the same tree."""
    rng = np.random.default_rng(5)
    b, x, B = rng.standard_normal(3), rng.standard_normal(4), rng.standard_normal((4, 3))
    text = "b + b + (b*x'*B - b*x'*B)^2*b"
    p = matdiff.parse(text)
    assert str(matdiff.parse(str(p.expr)).expr) == str(p.expr)
    hand = b + b + np.linalg.matrix_power(np.outer(b, x) @ B - np.outer(b, x) @ B, 2) @ b
    np.testing.assert_allclose(matdiff.lambdify(text)(b=b, x=x, B=B), hand)
    r = matdiff.diff("b'*(" + text + ")", "b")

    def f(b, x, B):
        M = np.outer(b, x) @ B - np.outer(b, x) @ B
        return b @ (b + b + np.linalg.matrix_power(M, 2) @ b)
    assert first_order_error(f, {"b": b, "x": x, "B": B}, "b", r.lambdify()(b=b, x=x, B=B)) < 1e-8
