"""Hessians (SPEC §3: d²f = (d vec X)ᵀ H (d vec X), H symmetric; P H P for a
symmetric variable) against four-point second differences of hand-written
NumPy functions and against the textbook closed forms of Magnus & Neudecker
(M&N, *Matrix Differential Calculus*, 3rd ed., ch. 10, second identification
table) and The Matrix Cookbook (MC, 2012 edition, sections cited).

Distinct dimensions throughout (l ≠ m ≠ n)."""
from __future__ import annotations

import numpy as np
import pytest
from fdutil import commutation, second_order_error, vec
from test_jacobians import Case, in_context, params, point, sig, smax, textbook_value

import matdiff


def inv(a):
    return np.linalg.inv(a)


def eye(n):
    return np.eye(n)


def K(m, n):
    return commutation(m, n)


def P(n):
    return (eye(n * n) + K(n, n)) / 2


def trace_quadratic(C, D):
    """The Hessian of X ↦ tr(C X D X) type terms: d²f = 2 tr(C dX D dX) gives
    H = M + Mᵀ with M = K(m,n)ᵀ (Cᵀ ⊗ D), X m×n, C n×m, D n×m (M&N ch. 10)."""
    n, m = C.shape
    M = K(m, n).T @ np.kron(C.T, D)
    return M + M.T


def logistic_f(X, w, y, **_):
    return -np.sum(np.log(sig(y * (X @ w))))


def logistic_H(X, w, y, **_):
    m = y * (X @ w)
    return X.T @ np.diag(y * y * sig(m) * sig(-m)) @ X


def logdet_XtX_H(X, **_):
    m, n = X.shape
    C = inv(X.T @ X)
    M = K(n, m) @ np.kron(X @ C, C @ X.T)
    return 2 * np.kron(C, eye(m)) - 2 * np.kron(C, X @ C @ X.T) - (M + M.T)


def det_H(X, **_):
    Xit = inv(X).T
    return np.linalg.det(X) * (np.outer(vec(Xit), vec(Xit)) - K(*X.shape) @ np.kron(Xit, inv(X)))


SCALAR_T = {"t": "scalar"}
SYM_A = {"A": "symmetric"}

CASES = [
    # -- required -------------------------------------------------------------------
    Case("x'*A*x", "x", lambda x, A, **_: x @ A @ x, "A + A'", "MC §2.4.2: ∂²(x'Ax)/∂x∂x' = A + A'", exact=True),
    Case("norm2(A*x - b)^2", "x", lambda A, x, b, **_: np.sum((A @ x - b) ** 2), "2*A'*A",
         "MC §2.4.2 (least squares): 2A'A", exact=True),
    Case("logsumexp(x)", "x", lambda x, **_: np.log(np.sum(np.exp(x))),
         "diag(softmax(x)) - softmax(x)*softmax(x)'",
         "log-sum-exp Hessian diag(s) − s s' (Boyd & Vandenberghe §3.1.5)"),
    Case("-sum(log(sigmoid(y .* (X*w))))", "w", logistic_f, logistic_H,
         "logistic regression, labels y arbitrary: X' diag(y ⊙ y ⊙ σ(y⊙Xw) ⊙ σ(−y⊙Xw)) X (Bishop, PRML (4.97))"),
    Case("tr(X'*A*X)", "X", lambda X, A, **_: np.trace(X.T @ A @ X),
         lambda X, A, **_: np.kron(eye(X.shape[1]), A + A.T), "MC §2.5.2 / M&N ch. 10: I ⊗ (A + A')"),
    Case("logdet(X)", "X", lambda X, **_: np.linalg.slogdet(X)[1],
         lambda X, **_: -K(*X.shape) @ np.kron(inv(X).T, inv(X)), "M&N ch. 10 (log|X|): −K(X⁻ᵀ ⊗ X⁻¹)",
         domain={"X": "cond"}),
    Case("norm2(A*X - B)^2", "X", lambda A, X, B, **_: np.sum((A @ X - B) ** 2),
         lambda A, X, B, **_: 2 * np.kron(eye(X.shape[1]), A.T @ A), "MC §2.5.2 / M&N ch. 10: 2(I ⊗ A'A)"),
    Case("logdet(S)", "S", lambda S, **_: np.linalg.slogdet(S)[1],
         lambda S, **_: -P(len(S)) @ np.kron(inv(S), inv(S)) @ P(len(S)),
         "M&N ch. 10 (symmetric X): −P(S⁻¹ ⊗ S⁻¹)P, P = (I + K)/2", types={"S": "symmetric"}, domain={"S": "spd"}),
    Case("tr(S*A*S*B)", "S", lambda S, A, B, **_: np.trace(S @ A @ S @ B),
         lambda S, A, B, **_: P(len(S)) @ trace_quadratic(A, B) @ P(len(S)),
         "MC §2.5.2 (tr(AXBX)) restricted to symmetric directions: P H P", types={"S": "symmetric"}),
    # -- more, from M&N and the Cookbook ----------------------------------------------
    Case("x'*x", "x", lambda x, **_: x @ x, lambda x, **_: 2 * eye(x.size), "MC §2.4.2: 2I"),
    Case("x'*A*x", "x", lambda x, A, **_: x @ A @ x, "2*A", "MC §2.4.2, A symmetric: 2A", types=SYM_A, exact=True),
    Case("(a'*x)^2", "x", lambda a, x, **_: (a @ x) ** 2, "2*a*a'", "2aa' (M&N ch. 10)"),
    Case("(a'*x)*(a'*x)", "x", lambda a, x, **_: (a @ x) ** 2, "2*a*a'", "2aa' (M&N ch. 10)"),
    Case("(x'*x)^2", "x", lambda x, **_: (x @ x) ** 2, lambda x, **_: 4 * (x @ x) * eye(x.size) + 8 * np.outer(x, x),
         "‖x‖⁴: 4‖x‖²I + 8xx' (M&N ch. 10)"),
    Case("norm2(x)^4", "x", lambda x, **_: (x @ x) ** 2, lambda x, **_: 4 * (x @ x) * eye(x.size) + 8 * np.outer(x, x),
         "‖x‖⁴: 4‖x‖²I + 8xx' (M&N ch. 10)"),
    Case("norm2(x)", "x", lambda x, **_: np.linalg.norm(x),
         lambda x, **_: (eye(x.size) - np.outer(x, x) / (x @ x)) / np.linalg.norm(x),
         "MC §2.6: ∂²‖x‖ = (I − xx'/x'x)/‖x‖"),
    Case("log(x'*A*x)", "x", lambda x, A, **_: np.log(x @ A @ x),
         lambda x, A, **_: 2 * A / (x @ A @ x) - 4 * np.outer(A @ x, A @ x) / (x @ A @ x) ** 2,
         "2A/q − 4Axx'A/q², q = x'Ax (M&N ch. 10)", types=SYM_A, domain={"A": "spd"}),
    Case("log(norm2(B*x)^2)", "x", lambda B, x, **_: np.log(np.sum((B @ x) ** 2)),
         lambda B, x, **_: 2 * B.T @ B / np.sum((B @ x) ** 2)
         - 4 * np.outer(B.T @ B @ x, B.T @ B @ x) / np.sum((B @ x) ** 2) ** 2,
         "2A/q − 4Axx'A/q², q = x'Ax, A = B'B (M&N ch. 10)"),
    Case("sum(log(x))", "x", lambda x, **_: np.sum(np.log(x)), lambda x, **_: -np.diag(1 / x ** 2),
         "−diag(1/x²) (Boyd & Vandenberghe §3.1.5)", domain={"x": "pos"}),
    Case("sum(exp(A*x))", "x", lambda A, x, **_: np.sum(np.exp(A @ x)),
         "A'*diag(exp(A*x))*A", "A' diag(exp(Ax)) A (chain rule, M&N ch. 10)"),
    Case("logsumexp(W*x)", "x", lambda W, x, **_: np.log(np.sum(np.exp(W @ x))),
         lambda W, x, **_: W.T @ (np.diag(smax(W @ x)) - np.outer(smax(W @ x), smax(W @ x))) @ W,
         "softmax regression: W'(diag s − ss')W (Bishop, PRML §4.3.4)"),
    Case("tr(X'*X)", "X", lambda X, **_: np.trace(X.T @ X), lambda X, **_: 2 * eye(X.size), "MC §2.5.2: 2I"),
    Case("norm2(X)^2", "X", lambda X, **_: np.sum(X * X), lambda X, **_: 2 * eye(X.size),
         "MC §2.7 (Frobenius norm): 2I"),
    Case("tr(X*A*X')", "X", lambda X, A, **_: np.trace(X @ A @ X.T),
         lambda X, A, **_: np.kron(A + A.T, eye(X.shape[0])), "MC §2.5.2 / M&N ch. 10: (A + A') ⊗ I"),
    Case("tr(A*X'*B*X)", "X", lambda A, X, B, **_: np.trace(A @ X.T @ B @ X),
         lambda A, X, B, **_: np.kron(A.T, B) + np.kron(A, B.T), "MC §2.5.2 / M&N ch. 10: A' ⊗ B + A ⊗ B'"),
    Case("tr(A*X*B*X)", "X", lambda A, X, B, **_: np.trace(A @ X @ B @ X),
         lambda A, X, B, **_: trace_quadratic(A, B), "MC §2.5.2 / M&N ch. 10: K(A' ⊗ B) + (A ⊗ B')K"),
    Case("tr(X^2)", "X", lambda X, **_: np.trace(X @ X), lambda X, **_: 2 * K(*X.shape), "M&N ch. 10: 2K"),
    Case("tr(X^3)", "X", lambda X, **_: np.trace(X @ X @ X), lambda X, **_: 3 * trace_quadratic(X, eye(len(X))),
         "M&N ch. 10: 3(K(X' ⊗ I) + (X ⊗ I)K)"),
    Case("sum(A .* X .^ 2)", "X", lambda A, X, **_: np.sum(A * X ** 2), "2*diag(vec(A))",
         "M&N ch. 10 (Hadamard): 2 diag(vec A)"),
    Case("tr(inv(X)*A)", "X", lambda X, A, **_: np.trace(inv(X) @ A),
         lambda X, A, **_: trace_quadratic(inv(X) @ A @ inv(X), inv(X)),
         "MC §2.5.2 / M&N ch. 10: d² tr(X⁻¹A) = 2 tr(X⁻¹AX⁻¹ dX X⁻¹ dX)", domain={"X": "cond"}),
    Case("a'*inv(X)*b", "X", lambda a, X, b, **_: a @ inv(X) @ b,
         lambda a, X, b, **_: trace_quadratic(inv(X) @ np.outer(b, a) @ inv(X), inv(X)),
         "MC §2.3 / M&N ch. 10: d²(a'X⁻¹b) = 2 a'X⁻¹dX X⁻¹dX X⁻¹b", domain={"X": "cond"}),
    Case("det(X)", "X", lambda X, **_: np.linalg.det(X), det_H,
         "M&N ch. 10 (|X|): |X|(vec X⁻ᵀ (vec X⁻ᵀ)' − K(X⁻ᵀ ⊗ X⁻¹))", domain={"X": "cond"}),
    Case("logdet(X'*X)", "X", lambda X, **_: np.linalg.slogdet(X.T @ X)[1], logdet_XtX_H,
         "M&N ch. 10 (log|X'X|), X tall", types={"X": "matrix"}, sizes=(5, 3)),
    Case("logdet(A + t*B)", "t", lambda A, t, B, **_: np.linalg.slogdet(A + t * B)[1],
         lambda A, t, B, **_: -np.trace(inv(A + t * B) @ B @ inv(A + t * B) @ B),
         "M&N ch. 8: d² log|A + tB| = −tr((A+tB)⁻¹B(A+tB)⁻¹B) dt²", types=SCALAR_T, domain={"A": "spd", "B": "small"}),
    Case("sum((W2*tanh(W1*x) - y).^2)", "W1",
         lambda W2, W1, x, y, **_: np.sum((W2 @ np.tanh(W1 @ x) - y) ** 2), None,
         "a two-layer network: the Gauss–Newton part plus the curvature term (tests/test_secondorder.py)"),
]

_cache: dict[str, matdiff.Result] = {}


def derived(case: Case) -> matdiff.Result:
    if case.id not in _cache:
        _cache[case.id] = matdiff.diff(case.expr, case.wrt, types=case.types or None, order=2)
    return _cache[case.id]


@pytest.mark.parametrize("case", params(CASES, "fd"))
def test_hessian_against_second_differences(case):
    r = derived(case)
    assert r.kind == "hessian"
    vals = point(r, case.domain, sizes=case.sizes)
    H = r.lambdify()(**vals)
    x = vals[case.wrt]
    if np.ndim(x) == 0:
        assert isinstance(H, float)
    else:
        assert np.shape(H) == (np.size(x), np.size(x))
        np.testing.assert_allclose(H, np.asarray(H).T, atol=1e-10, err_msg="the Hessian is not symmetric")
    err = second_order_error(case.f, vals, case.wrt, H, symmetric=r.variable.symmetric)
    assert err < 1e-5, f"{case.id}: relative error {err:.2e} ({case.source})"


@pytest.mark.parametrize("case", params([c for c in CASES if c.textbook is not None], "textbook"))
def test_hessian_equals_textbook_form(case):
    r = derived(case)
    for seed in (0, 1):
        vals = point(r, case.domain, seed, case.sizes)
        got = np.asarray(r.lambdify()(**vals), dtype=float)
        want = np.asarray(textbook_value(case, vals), dtype=float)
        np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-10, err_msg=case.source)


@pytest.mark.parametrize("case", params([c for c in CASES if c.exact], "form"))
def test_hessian_canonical_form(case):
    r = derived(case)
    assert r.value == in_context(case.textbook, r), f"{r} vs {case.textbook}"


@pytest.mark.parametrize("case", params(CASES, "check"))
def test_hessian_check(case):
    assert derived(case).check().ok


def test_symmetric_hessian_lives_on_symmetric_directions():
    """P H P: H vec(E) = 0 for every antisymmetric E."""
    r = derived(CASES[7])
    vals = point(r, {"S": "spd"})
    H = r.lambdify()(**vals)
    E = np.random.default_rng(3).standard_normal(vals["S"].shape)
    assert np.linalg.norm(H @ vec(E - E.T)) < 1e-10 * np.linalg.norm(H)


def test_oracle_fails_on_a_wrong_hessian():
    """The second-difference oracle is able to fail: A in place of A + A'."""
    rng = np.random.default_rng(0)
    A, x = rng.standard_normal((4, 4)), rng.standard_normal(4)
    assert second_order_error(lambda x, A: x @ A @ x, {"x": x, "A": A}, "x", A) > 1e-2
    X = 2 * eye(3) + 0.5 * rng.standard_normal((3, 3))
    wrong = -np.kron(inv(X), inv(X))  # logdet without K and transpose
    assert second_order_error(lambda X: np.linalg.slogdet(X)[1], {"X": X}, "X", wrong) > 1e-2
