"""Hessian-vector products and the Gauss–Newton matrix (matdiff.secondorder).

H v is checked against the explicit H @ v of the Hessian result (vec layout)
and against second differences; the Gauss–Newton matrix against H where the
inner map is affine, and GN + curvature = H where it is not."""
from __future__ import annotations

import numpy as np
import pytest
from fdutil import second_order_error, vec
from test_jacobians import point

import matdiff
from matdiff.core.nodes import Commutation, Kron
from matdiff.backends.products import hvp
from matdiff.calculus.secondorder import hvp_expr
from matdiff.result import GaussNewtonResult, curvature_term, gauss_newton

SYM = {"S": "symmetric"}

HVP_CASES = [
    ("x'*A*x", "x", {}, {}),
    ("norm2(A*x - b)^2", "x", {}, {}),
    ("-sum(log(sigmoid(y .* (X*w))))", "w", {}, {}),
    ("logsumexp(W*x)", "x", {}, {}),
    ("tr(X'*A*X)", "X", {}, {}),
    ("norm2(A*X - B)^2", "X", {}, {}),
    ("logdet(X)", "X", {}, {"X": "cond"}),
    ("sum((W2*tanh(W1*x) - y).^2)", "W1", {}, {}),
    ("tr(A*X*B*X)", "X", {}, {}),
    ("logdet(S)", "S", SYM, {"S": "spd"}),
    ("tr(S*A*S*B)", "S", SYM, {}),
    ("logdet(A + t*B)", "t", {"t": "scalar"}, {"A": "spd", "B": "small"}),
]


def _hessian(expr, wrt, types):
    return matdiff.diff(expr, wrt, types=types or None, order=2)


@pytest.mark.parametrize("expr,wrt,types,domain", HVP_CASES, ids=[c[0] + " wrt " + c[1] for c in HVP_CASES])
def test_hvp_equals_explicit_hessian_times_v(expr, wrt, types, domain):
    r = _hessian(expr, wrt, types)
    vals = point(r, domain)
    H = r.lambdify()(**vals)
    f = r.hvp()
    rng = np.random.default_rng(7)
    x = vals[wrt]
    for _ in range(2):
        v = rng.standard_normal(np.shape(x)) if np.ndim(x) else float(rng.standard_normal())
        got = f(v, **vals)
        if np.ndim(x) == 0:
            assert isinstance(got, float)
            assert got == pytest.approx(H * v, rel=1e-10)
            continue
        assert np.shape(got) == np.shape(x)  # the variable's own layout
        np.testing.assert_allclose(vec(got), H @ vec(v), rtol=1e-9, atol=1e-10)
        if np.ndim(x) == 2:  # vec layout in, vec layout out
            flat = f(vec(v), **vals)
            assert flat.shape == (x.size,)
            np.testing.assert_allclose(flat, H @ vec(v), rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("expr,wrt,types,domain", HVP_CASES, ids=[c[0] + " wrt " + c[1] for c in HVP_CASES])
def test_hvp_never_forms_the_hessian(expr, wrt, types, domain):
    expr_hv, V = hvp_expr(_hessian(expr, wrt, types))
    assert V.name not in _hessian(expr, wrt, types).symbols
    assert V.shape == _hessian(expr, wrt, types).variable.shape
    assert not any(isinstance(n, (Kron, Commutation)) for n in expr_hv.walk()), str(expr_hv)
    assert expr_hv.shape == V.shape


def test_hvp_against_second_differences_of_numpy():
    """⟨e, H v⟩ from the hvp against the four-point second difference along (e, v)."""
    r = _hessian("sum((W2*tanh(W1*x) - y).^2)", "W1", {})
    vals = point(r, {})
    f = r.hvp()
    n = vals["W1"].size
    H = np.column_stack([vec(f(np.eye(n)[:, k], **vals)) for k in range(n)])  # H by columns, via hvp
    np.testing.assert_allclose(H, H.T, atol=1e-10)

    def loss(W2, W1, x, y):
        return np.sum((W2 @ np.tanh(W1 @ x) - y) ** 2)

    assert second_order_error(loss, vals, "W1", H) < 1e-5


def same_form(expr, text: str) -> bool:
    """expr and the textbook text are one canonical tree: read together, their difference is 0."""
    return matdiff.core.construct.is_zero(matdiff.parse(f"({expr}) - ({text})").expr)


def test_same_form_can_fail():
    assert not same_form(matdiff.parse("A*v").expr, "A'*v")


def test_hvp_closed_forms():
    assert same_form(hvp(_hessian("x'*A*x", "x", {})).expr, "A*v + A'*v")  # A + A' is never formed
    r = _hessian("-sum(log(sigmoid(y .* (X*w))))", "w", {})
    e = hvp(r).expr
    assert same_form(e, "X'*(sigmoid(-y .* (X*w)) .* sigmoid(y .* (X*w)) .* y .^ 2 .* (X*v))")  # X'(d ⊙ (X v))
    vals = point(r, {})
    v = np.random.default_rng(2).standard_normal(vals["w"].shape)
    m = vals["y"] * (vals["X"] @ vals["w"])
    d = vals["y"] ** 2 / (1 + np.exp(-m)) / (1 + np.exp(m))
    np.testing.assert_allclose(r.hvp()(v, **vals), vals["X"].T @ (d * (vals["X"] @ v)), rtol=1e-10)


def test_hvp_from_a_gradient_result():
    g = matdiff.diff("norm2(A*X - B)^2", "X")
    h = matdiff.diff("norm2(A*X - B)^2", "X", order=2)
    vals = point(h, {})
    V = np.random.default_rng(4).standard_normal(vals["X"].shape)
    np.testing.assert_allclose(hvp(g)(V, **vals), hvp(h)(V, **vals), rtol=1e-12)
    np.testing.assert_allclose(hvp(g)(V, **vals), 2 * vals["A"].T @ vals["A"] @ V, rtol=1e-10)


def test_hvp_symmetric_variable_projects_the_direction():
    r = _hessian("logdet(S)", "S", SYM)
    vals = point(r, {"S": "spd"})
    V = np.random.default_rng(5).standard_normal(vals["S"].shape)
    out = r.hvp()(V, **vals)
    Si = np.linalg.inv(vals["S"])
    Vs = (V + V.T) / 2
    np.testing.assert_allclose(out, -Si @ Vs @ Si, rtol=1e-10)
    np.testing.assert_allclose(out, out.T, atol=1e-12)
    anti = V - V.T
    assert np.linalg.norm(r.hvp()(anti, **vals)) < 1e-12


def test_hvp_rejects_bad_directions_and_jacobians():
    r = _hessian("tr(X'*A*X)", "X", {})
    vals = point(r, {})
    with pytest.raises(matdiff.MatdiffError):
        r.hvp()(np.ones(3), **vals)
    with pytest.raises(matdiff.MatdiffError):
        hvp(matdiff.diff("A*x", "x"))


def test_hvp_direction_name_is_fresh():
    r = _hessian("v'*A*v + sum(u)", "v", {})
    f = r.hvp()
    assert f.direction.name not in r.symbols
    vals = point(r, {})
    d = np.arange(vals["v"].size, dtype=float)
    np.testing.assert_allclose(f(d, **vals), (vals["A"] + vals["A"].T) @ d, rtol=1e-12)


# -- Gauss–Newton -------------------------------------------------------------------------
def _psd(M, tol=1e-9):
    M = (M + M.T) / 2
    return np.linalg.eigvalsh(M).min() >= -tol * max(1.0, np.abs(M).max())


@pytest.mark.parametrize("expr,wrt,inner", [
    ("norm2(A*x - b)^2", "x", "A*x"),
    ("-sum(log(sigmoid(y .* (X*w))))", "w", "X*w"),
    ("norm2(A*X - B)^2", "X", "A*X"),
    ("logsumexp(W*x)", "x", "W*x"),
])
def test_gauss_newton_equals_hessian_for_affine_inner_maps(expr, wrt, inner):
    r = _hessian(expr, wrt, {})
    gn = r.gauss_newton
    assert isinstance(gn, GaussNewtonResult) and isinstance(gn, matdiff.Result)
    assert gn.kind == "hessian" and gn.order == 2 and gn.variable == r.variable
    assert str(gn.inner) == inner
    assert matdiff.core.construct.is_zero(curvature_term(gn))
    for seed in (0, 1):
        vals = point(r, {}, seed)
        np.testing.assert_allclose(gn.lambdify()(**vals), r.lambdify()(**vals), rtol=1e-9, atol=1e-10)
    assert gn.check().ok


def test_gauss_newton_closed_forms():
    gn = gauss_newton(_hessian("norm2(A*x - b)^2", "x", {}))
    assert same_form(gn.value, "2*A'*A")
    gn = gauss_newton(_hessian("-sum(log(sigmoid(y .* (X*w))))", "w", {}))
    assert same_form(gn.value, "X'*diag(sigmoid(-y .* (X*w)) .* sigmoid(y .* (X*w)) .* y .^ 2)*X")


NETWORK = "sum((W2*tanh(W1*x) - y).^2)"


def test_gauss_newton_of_a_network_is_psd_and_differs_from_h():
    r = _hessian(NETWORK, "W1", {})
    gn = r.gauss_newton
    assert str(gn.inner) == "W2*tanh(W1*x)"
    for seed in range(3):
        vals = point(r, {}, seed)
        G, H = gn.lambdify()(**vals), r.lambdify()(**vals)
        assert G.shape == H.shape == (vals["W1"].size,) * 2
        np.testing.assert_allclose(G, G.T, atol=1e-10)
        assert _psd(G)
        assert np.linalg.norm(G - H) > 1e-3 * np.linalg.norm(H)
        C = gn.curvature_function()(**vals)
        np.testing.assert_allclose(G + C, H, rtol=1e-9, atol=1e-10)  # GN + curvature = H


def test_gauss_newton_plus_curvature_matches_second_differences():
    r = _hessian(NETWORK, "W1", {})
    gn = r.gauss_newton
    vals = point(r, {}, 3)
    total = matdiff.api.numeric.lambdify(gn.hessian, gn.symbols)(**vals)

    def loss(W2, W1, x, y):
        return np.sum((W2 @ np.tanh(W1 @ x) - y) ** 2)

    assert second_order_error(loss, vals, "W1", total) < 1e-5
    assert gn.check().ok
    # the GN matrix alone is not the Hessian: the oracle sees the difference
    assert second_order_error(loss, vals, "W1", gn.lambdify()(**vals)) > 1e-3


def test_gauss_newton_wrt_the_outer_layer_equals_hessian():
    """f is quadratic in W2 through the affine N = W2 tanh(W1 x): GN = H = 2 (h h' ⊗ I)."""
    r = _hessian(NETWORK, "W2", {})
    gn = r.gauss_newton
    vals = point(r, {})
    h = np.tanh(vals["W1"] @ vals["x"])
    m = vals["W2"].shape[0]
    np.testing.assert_allclose(gn.lambdify()(**vals), 2 * np.kron(np.outer(h, h), np.eye(m)), rtol=1e-10)
    np.testing.assert_allclose(gn.lambdify()(**vals), r.lambdify()(**vals), rtol=1e-10)


def test_gauss_newton_of_a_softmax_classifier_is_psd():
    r = _hessian("-y'*log(softmax(W2*tanh(W1*x)))", "W1", {})
    gn = r.gauss_newton
    assert str(gn.inner) == "W2*tanh(W1*x)"  # the logits: log-softmax belongs to the loss
    vals = point(r, {"y": "pos"})
    G, H = gn.lambdify()(**vals), r.lambdify()(**vals)
    assert _psd(G) and np.linalg.norm(G) > 1e-3 * np.linalg.norm(H)
    assert np.linalg.norm(G - H) > 1e-3 * np.linalg.norm(H)
    np.testing.assert_allclose(G + gn.curvature_function()(**vals), H, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("expr,inner", [
    ("(A*x - b)'*(A*x - b)", "A*x"),  # both factors lead to one N, up to a transpose
    ("sum((x .* (A*x)).^2)", "x .* (A*x)"),  # an output map whose arguments differ is N itself
])
def test_gauss_newton_inner_map_choice(expr, inner):
    r = _hessian(expr, "x", {})
    gn = r.gauss_newton
    assert str(gn.inner) == inner
    vals = point(r, {})
    G = gn.lambdify()(**vals)
    assert _psd(G)
    C = matdiff.api.numeric.lambdify(curvature_term(r), r.symbols)(**vals)
    np.testing.assert_allclose(G + C, r.lambdify()(**vals), rtol=1e-9, atol=1e-10)
    assert gn.check().ok


def test_gauss_newton_symmetric_variable():
    r = _hessian("norm2(A*S*b - c)^2", "S", SYM)
    gn = r.gauss_newton
    vals = point(r, {})
    np.testing.assert_allclose(gn.lambdify()(**vals), r.lambdify()(**vals), rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("expr,wrt,types", [
    ("x'*A*x", "x", {}),  # depends on x directly
    ("sum(exp(x))", "x", {}),  # element-wise of the variable itself
    ("sum(exp(A*x)) + x'*x", "x", {}),  # two inner maps
    ("logdet(A + t*B)", "t", {"t": "scalar"}),  # a scalar variable
])
def test_gauss_newton_unsupported(expr, wrt, types):
    with pytest.raises(matdiff.UnsupportedError) as info:
        gauss_newton(_hessian(expr, wrt, types))
    assert "Gauss" in str(info.value) or "scalar" in str(info.value)
