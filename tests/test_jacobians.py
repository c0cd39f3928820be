"""Jacobians (SPEC §3: d vec F = J d vec X, column-major vec) against finite
differences of hand-written NumPy functions and against the textbook closed
forms of Magnus & Neudecker (M&N, *Matrix Differential Calculus*, 3rd ed.,
ch. 9–10 tables) and The Matrix Cookbook (MC, 2012 edition, equation numbers).

Every case uses distinct dimensions (l ≠ m ≠ n), so a missing transpose or a
swapped Kronecker factor shows."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pytest
from fdutil import commutation, first_order_error, vec

import matdiff
from matdiff.core.construct import substitute

SIZES = (3, 4, 5, 2, 6)


def sig(x):
    return 1.0 / (1.0 + np.exp(-x))


def smax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def inv(a):
    return np.linalg.inv(a)


def eye(n):
    return np.eye(n)


@dataclass
class Case:
    expr: str
    wrt: str
    f: Callable[..., Any]  # the function, by hand, in NumPy
    textbook: str | Callable[..., Any] | None  # matdiff syntax, or NumPy of the values
    source: str
    types: dict[str, str] = field(default_factory=dict)
    domain: dict[str, str] = field(default_factory=dict)  # name -> "spd" | "pos"
    exact: bool = False  # the simplified result is the textbook form, node for node
    sizes: tuple[int, ...] = SIZES  # sizes of the dimensions, in order of appearance
    bug: str | None = None  # a known matdiff bug: the tests named in bug_in are xfail(strict)
    bug_in: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        decl = ",".join(f"{k}:{v}" for k, v in self.types.items() if k != "t")
        return f"{self.expr} wrt {self.wrt}" + (f" [{decl}]" if decl else "")


def params(cases: list[Case], test: str) -> list:
    """pytest params, with xfail(strict=True) where a known bug breaks this test."""
    return [pytest.param(c, id=c.id, marks=pytest.mark.xfail(strict=True, reason=c.bug))
            if c.bug and test in c.bug_in else pytest.param(c, id=c.id) for c in cases]


def point(r: matdiff.Result, domain: dict[str, str], seed: int = 0, sizes: tuple[int, ...] = SIZES) -> dict[str, Any]:
    """Random values with distinct sizes for distinct dimensions."""
    rng = np.random.default_rng(seed)
    dims: dict[str, int] = {}
    for s in r.symbols.values():
        for d in s.shape:
            if d != 1 and str(d) not in dims:
                dims[str(d)] = sizes[len(dims)]
    vals: dict[str, Any] = {}
    for name, s in r.symbols.items():
        shape = tuple(1 if d == 1 else dims[str(d)] for d in s.shape)
        kind = domain.get(name, "normal")
        if s.is_scalar:
            vals[name] = float(rng.uniform(0.5, 1.2))
            continue
        if kind == "small":
            a = rng.standard_normal(shape) * 0.2
        elif kind == "cond":  # well conditioned and not symmetric, so X⁻ᵀ ≠ X⁻¹ shows
            a = 2.0 * np.eye(shape[0]) + 0.5 * rng.standard_normal(shape)
        elif kind == "spd":
            m = rng.standard_normal(shape)
            a = m @ m.T / shape[0] + np.eye(shape[0])
        elif kind == "pos":
            a = rng.uniform(0.5, 1.5, shape)
        else:
            a = rng.standard_normal(shape) * 0.6
        if s.symmetric:
            a = (a + a.T) / 2
        vals[name] = a.reshape(-1) if s.is_vector else a
    return vals


def textbook_value(case: Case, vals: dict[str, Any]):
    if callable(case.textbook):
        return case.textbook(**vals)
    return matdiff.lambdify(case.textbook, case.types or None)(**vals)


def in_context(text: str, r: matdiff.Result):
    """The textbook form parsed with the result's own variables (so its symbolic
    dimensions are the result's): structural equality then means the same form."""
    p = matdiff.parse(text, {n: ("symmetric" if s.symmetric else "scalar" if s.is_scalar else "vector"
                                 if s.is_vector else "matrix") for n, s in r.symbols.items()})
    return substitute(p.expr, {p.symbols[n]: r.symbols[n] for n in p.symbols})


def K(m, n):
    return commutation(m, n)


def sym_proj(n):
    return (np.eye(n * n) + K(n, n)) / 2


def diag_select(n):
    """S with S vec(X) = diag(X), X n×n."""
    S = np.zeros((n, n * n))
    for i in range(n):
        S[i, i + i * n] = 1.0
    return S


def kron_vec_perm(m, n, p, q):
    """M&N Thm 3.10: vec(A ⊗ B) = (Iₙ ⊗ K(q,m) ⊗ Iₚ)(vec A ⊗ vec B), A m×n, B p×q."""
    return np.kron(np.kron(eye(n), K(q, m)), eye(p))


SCALAR = {"t": "scalar"}

CASES = [
    # -- required -------------------------------------------------------------------
    Case("A*x", "x", lambda A, x, **_: A @ x, "A", "MC §2.4.1: ∂(Ax)/∂x = A; M&N ch. 9 Jacobian table", exact=True),
    Case("softmax(z)", "z", lambda z, **_: smax(z), "diag(softmax(z)) - softmax(z)*softmax(z)'",
         "softmax Jacobian diag(s) − s sᵀ (Bishop, PRML (4.106))"),
    Case("exp(x)", "x", lambda x, **_: np.exp(x), "diag(exp(x))",
         "element-wise: J = diag(f′(x)) (M&N ch. 9, vector functions)",
         exact=True),
    Case("sin(x)", "x", lambda x, **_: np.sin(x), "diag(cos(x))", "element-wise: diag(cos x)", exact=True),
    Case("tanh(x)", "x", lambda x, **_: np.tanh(x), "diag(1 - tanh(x).^2)", "element-wise: diag(1 − tanh² x)",
         exact=True),
    Case("sigmoid(x)", "x", lambda x, **_: sig(x), lambda x, **_: np.diag(sig(x) * (1 - sig(x))),
         "element-wise: diag(σ(x)(1 − σ(x)))"),
    Case("log(x)", "x", lambda x, **_: np.log(x), "diag(1 ./ x)", "element-wise: diag(1/x)", domain={"x": "pos"}),
    Case("sqrt(x)", "x", lambda x, **_: np.sqrt(x), lambda x, **_: np.diag(0.5 / np.sqrt(x)),
         "element-wise: diag(1/(2√x))", domain={"x": "pos"}),
    Case("arctan(x)", "x", lambda x, **_: np.arctan(x), lambda x, **_: np.diag(1 / (1 + x * x)),
         "element-wise: diag(1/(1 + x²))"),
    Case("x .* x", "x", lambda x, **_: x * x, "2*diag(x)",
         "Hadamard square: d(x ⊙ x) = 2 x ⊙ dx = 2 diag(x) dx (M&N ch. 9)", exact=True),
    Case("X'X", "X", lambda X, **_: X.T @ X,
         lambda X, **_: np.kron(X.T, eye(X.shape[1])) @ K(*X.shape) + np.kron(eye(X.shape[1]), X.T),
         "M&N ch. 9 (Jacobian of X'X): ((X' ⊗ I)K + (I ⊗ X'))"),
    Case("inv(X)", "X", lambda X, **_: inv(X), "-kron(inv(X)', inv(X))",
         "M&N ch. 9 (Jacobian of X⁻¹) / MC §2.3: d vec X⁻¹ = −(X⁻ᵀ ⊗ X⁻¹) d vec X", domain={"X": "cond"}, exact=True),
    Case("A*X*B", "X", lambda A, X, B, **_: A @ X @ B, "kron(B', A)",
         "M&N ch. 2 §4 / MC §10.2.2: vec(AXB) = (B' ⊗ A) vec X",
         exact=True),
    Case("X'", "X", lambda X, **_: X.T, lambda X, **_: K(*X.shape),
         "M&N ch. 3 §7 (commutation matrix): vec X' = K(m,n) vec X"),
    Case("X*a", "X", lambda X, a, **_: X @ a, lambda X, a, **_: np.kron(a[None, :], eye(X.shape[0])),
         "M&N ch. 2 §4: vec(X a) = (a' ⊗ I) vec X"),
    Case("X'*b", "X", lambda X, b, **_: X.T @ b, lambda X, b, **_: np.kron(eye(X.shape[1]), b[None, :]),
         "M&N ch. 2 §4: X'b = (I ⊗ b') vec X"),
    Case("diag(X)", "X", lambda X, **_: np.diag(X).copy(), lambda X, **_: diag_select(X.shape[0]),
         "selection: diag X = Σ eᵢ eᵢ' X eᵢ (M&N ch. 9, diag)", types={"X": "matrix"}),
    Case("vec(X)", "X", lambda X, **_: vec(X), lambda X, **_: eye(X.size), "vec: the identity on vec X",
         exact=False),
    Case("x*y'", "x", lambda x, y, **_: np.outer(x, y), lambda x, y, **_: np.kron(y[:, None], eye(x.size)),
         "M&N ch. 2 §4: vec(x y') = (y ⊗ I) x"),
    Case("x*y'", "y", lambda x, y, **_: np.outer(x, y), lambda x, y, **_: np.kron(eye(y.size), x[:, None]),
         "M&N ch. 2 §4: vec(x y') = (I ⊗ x) y"),
    Case("diag(x)", "x", lambda x, **_: np.diag(x), lambda x, **_: diag_select(x.size).T,
         "vec diag(x) = S' x, S the diagonal selection (M&N ch. 9, diag)"),
    Case("t*A", "t", lambda t, A, **_: t * A, "A", "dF/dt of t A: A", types=SCALAR, exact=True),
    Case("exp(t)*A", "t", lambda t, A, **_: np.exp(t) * A, "exp(t)*A", "dF/dt of eᵗ A: eᵗ A", types=SCALAR,
         exact=True),
    # -- more, from M&N and the Cookbook ----------------------------------------------
    Case("X*A", "X", lambda X, A, **_: X @ A, lambda X, A, **_: np.kron(A.T, eye(X.shape[0])),
         "M&N ch. 2 §4: vec(XA) = (A' ⊗ I) vec X"),
    Case("A*X", "X", lambda A, X, **_: A @ X, lambda A, X, **_: np.kron(eye(X.shape[1]), A),
         "M&N ch. 2 §4: vec(AX) = (I ⊗ A) vec X"),
    Case("X^2", "X", lambda X, **_: X @ X, lambda X, **_: np.kron(X.T, eye(len(X))) + np.kron(eye(len(X)), X),
         "M&N ch. 9 (powers): d vec X² = (X' ⊗ I + I ⊗ X) d vec X"),
    Case("X^3", "X", lambda X, **_: X @ X @ X,
         lambda X, **_: np.kron(X.T @ X.T, eye(len(X))) + np.kron(X.T, X) + np.kron(eye(len(X)), X @ X),
         "M&N ch. 9 (powers): d vec Xᵏ = Σⱼ (X')ᵏ⁻¹⁻ʲ ⊗ Xʲ d vec X"),
    Case("X*X'", "X", lambda X, **_: X @ X.T,
         lambda X, **_: np.kron(X, eye(X.shape[0])) + np.kron(eye(X.shape[0]), X) @ K(*X.shape),
         "M&N ch. 9 (Jacobian of XX'): X ⊗ I + (I ⊗ X)K"),
    Case("X'*A*X", "X", lambda X, A, **_: X.T @ A @ X,
         lambda X, A, **_: np.kron(eye(X.shape[1]), X.T @ A) + np.kron(X.T @ A.T, eye(X.shape[1])) @ K(*X.shape),
         "M&N ch. 9 (Jacobian of X'AX): (I ⊗ X'A) + (X'A' ⊗ I) K"),
    Case("inv(X)*a", "X", lambda X, a, **_: inv(X) @ a, lambda X, a, **_: -np.kron((inv(X) @ a)[None, :], inv(X)),
         "M&N: d(X⁻¹a) = −X⁻¹ dX X⁻¹ a → −(a'X⁻ᵀ ⊗ X⁻¹)", domain={"X": "cond"}),
    Case("exp(X)", "X", lambda X, **_: np.exp(X), "diag(vec(exp(X)))", "element-wise on a matrix: diag(vec f′(X))",
         exact=True),
    Case("X .* A", "X", lambda X, A, **_: X * A, "diag(vec(A))",
         "MC §10.2.2 / M&N ch. 9: vec(A ⊙ X) = diag(vec A) vec X",
         exact=True),
    Case("x .* (A*x)", "x", lambda x, A, **_: x * (A @ x), "diag(A*x) + diag(x)*A",
         "product rule: diag(Ax) + diag(x) A"),
    Case("x / norm2(x)", "x", lambda x, **_: x / np.linalg.norm(x),
         lambda x, **_: (eye(x.size) - np.outer(x, x) / (x @ x)) / np.linalg.norm(x),
         "MC §2.6 (vector norms): ∂(x/‖x‖)/∂x = (I − x x'/x'x)/‖x‖"),
    Case("x / (x'*x)", "x", lambda x, **_: x / (x @ x),
         lambda x, **_: (eye(x.size) - 2 * np.outer(x, x) / (x @ x)) / (x @ x),
         "inversion in the sphere: (I − 2xx'/x'x)/x'x (MC §2.4.1, quotient rule)"),
    Case("x / norm2(x)^2", "x", lambda x, **_: x / (x @ x),
         lambda x, **_: (eye(x.size) - 2 * np.outer(x, x) / (x @ x)) / (x @ x),
         "inversion in the sphere: (I − 2xx'/x'x)/x'x (MC §2.4.1, quotient rule)"),
    Case("sigmoid(A*x)", "x", lambda A, x, **_: sig(A @ x), "diag(sigmoid(A*x) .* (1 - sigmoid(A*x)))*A",
         "chain rule: diag(σ′(Ax)) A"),
    Case("softmax(A*x)", "x", lambda A, x, **_: smax(A @ x),
         "(diag(softmax(A*x)) - softmax(A*x)*softmax(A*x)')*A", "chain rule: (diag s − s s') A"),
    Case("tanh(W*x)", "W", lambda W, x, **_: np.tanh(W @ x),
         lambda W, x, **_: np.diag(1 - np.tanh(W @ x) ** 2) @ np.kron(x[None, :], eye(W.shape[0])),
         "neural layer: diag(1 − tanh²(Wx)) (x' ⊗ I)"),
    Case("kron(x, y)", "x", lambda x, y, **_: np.kron(x, y), lambda x, y, **_: np.kron(eye(x.size), y[:, None]),
         "M&N: x ⊗ y = (I ⊗ y) x"),
    Case("kron(A, X)", "X", lambda A, X, **_: np.kron(A, X),
         lambda A, X, **_: kron_vec_perm(*A.shape, *X.shape) @ np.kron(vec(A)[:, None], eye(X.size)),
         "M&N ch. 3 §7: vec(A ⊗ X) = (I ⊗ K ⊗ I)(vec A ⊗ I) vec X"),
    Case("tr(X)*A", "X", lambda X, A, **_: np.trace(X) * A, lambda X, A, **_: np.outer(vec(A), vec(eye(X.shape[0]))),
         "vec(A) vec(I)': d tr X = vec(I)' d vec X (MC §2.5.1)", types={"X": "matrix"}),
    Case("(x'*x)*A", "x", lambda x, A, **_: (x @ x) * A, lambda x, A, **_: 2 * np.outer(vec(A), x),
         "2 vec(A) x' (MC §2.4.1: ∂x'x/∂x = 2x)"),
    Case("t^2*A + t*B", "t", lambda t, A, B, **_: t * t * A + t * B, "2*t*A + B", "dF/dt = 2tA + B", types=SCALAR),
    Case("inv(I + t*A)", "t", lambda t, A, **_: inv(eye(A.shape[0]) + t * A),
         lambda t, A, **_: -inv(eye(A.shape[0]) + t * A) @ A @ inv(eye(A.shape[0]) + t * A),
         "MC §2.3: dY⁻¹ = −Y⁻¹ dY Y⁻¹", types=SCALAR, domain={"A": "spd"}),
    Case("exp(t*x)", "t", lambda t, x, **_: np.exp(t * x), "x .* exp(t*x)", "dF/dt = x ⊙ exp(t x)", types=SCALAR),
    Case("S*a", "S", lambda S, a, **_: S @ a,
         lambda S, a, **_: np.kron(a[None, :], eye(S.shape[0])) @ sym_proj(S.shape[0]),
         "symmetric variable: J P, P = (I + K)/2 (M&N ch. 3 §8, N = (I + K)/2)", types={"S": "symmetric"}),
    Case("S^2", "S", lambda S, **_: S @ S,
         lambda S, **_: (np.kron(S, eye(S.shape[0])) + np.kron(eye(S.shape[0]), S)) @ sym_proj(S.shape[0]),
         "symmetric: (S ⊗ I + I ⊗ S) P", types={"S": "symmetric"}),
    Case("inv(S)", "S", lambda S, **_: inv(S), lambda S, **_: -np.kron(inv(S), inv(S)) @ sym_proj(S.shape[0]),
         "symmetric: −(S⁻¹ ⊗ S⁻¹) P (M&N ch. 3 §8 / ch. 9, symmetric matrices)", types={"S": "symmetric"},
         domain={"S": "spd"}),
]



@pytest.fixture(scope="module")
def results():
    return {}


def derived(case: Case, results) -> matdiff.Result:
    key = case.id
    if key not in results:
        results[key] = matdiff.diff(case.expr, case.wrt, types=case.types or None)
    return results[key]


@pytest.mark.parametrize("case", params(CASES, "fd"))
def test_jacobian_against_finite_differences(case, results):
    r = derived(case, results)
    vals = point(r, case.domain, sizes=case.sizes)
    J = r.lambdify()(**vals)
    x = vals[case.wrt]
    F = np.asarray(case.f(**vals))
    if np.ndim(x) == 0:
        assert r.kind == "derivative"
        assert np.shape(J) == F.shape  # dF/dt has the shape of F
    else:
        assert r.kind == "jacobian"
        assert np.shape(J) == (F.size, np.size(x))
    err = first_order_error(case.f, vals, case.wrt, J, symmetric=r.variable.symmetric)
    assert err < 1e-6, f"{case.id}: relative error {err:.2e} ({case.source})"


@pytest.mark.parametrize("case", params([c for c in CASES if c.textbook is not None], "textbook"))
def test_jacobian_equals_textbook_form(case, results):
    r = derived(case, results)
    for seed in (0, 1):
        vals = point(r, case.domain, seed, case.sizes)
        got = np.asarray(r.lambdify()(**vals), dtype=float)
        want = np.asarray(textbook_value(case, vals), dtype=float)
        assert got.shape == want.shape or got.size == want.size
        np.testing.assert_allclose(got.reshape(want.shape), want, rtol=1e-9, atol=1e-10, err_msg=case.source)


@pytest.mark.parametrize("case", params([c for c in CASES if c.exact], "form"))
def test_jacobian_canonical_form(case, results):
    r = derived(case, results)
    assert r.value == in_context(case.textbook, r), f"{r} vs {case.textbook}"


@pytest.mark.parametrize("case", params(CASES, "check"))
def test_jacobian_check(case, results):
    assert derived(case, results).check().ok


def test_distinct_dimensions_are_used():
    r = matdiff.diff("A*X*B", "X")
    vals = point(r, {})
    assert len({vals["A"].shape[0], vals["X"].shape[0], vals["X"].shape[1], vals["B"].shape[1]}) == 4


def test_oracle_fails_on_a_wrong_jacobian():
    """The finite-difference oracle is able to fail: (A ⊗ B') in place of (B' ⊗ A)."""
    r = matdiff.diff("A*X*B", "X")
    vals = point(r, {})
    wrong = np.kron(vals["A"], vals["B"].T)
    if wrong.shape == r.lambdify()(**vals).shape:
        assert first_order_error(lambda A, X, B, **_: A @ X @ B, vals, "X", wrong) > 1e-3
    assert r.value != in_context("kron(B, A')", r) and r.value != in_context("kron(A, B')", r)
    wrong_t = matdiff.diff("X'", "X").lambdify()
    X = np.random.default_rng(0).standard_normal((3, 4))
    assert first_order_error(lambda X: X, {"X": X}, "X", wrong_t(X=X)) > 1e-3
