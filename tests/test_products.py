"""J v and uᵀ J (SPEC §7): closed forms from the differential, never the Jacobian, checked
against central differences of NumPy written by hand."""
from __future__ import annotations

import time

import numpy as np
import pytest

import matdiff
from matdiff.core.nodes import Commutation, Kron

inv = np.linalg.inv


def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


CASES = [
    # expression, variable, shapes, hand-written F, types
    ("inv(X)", "X", {"X": (4, 4)}, lambda X: inv(X), None),
    ("A*x", "x", {"A": (5, 3), "x": (3,)}, lambda A, x: A @ x, None),
    ("softmax(A*x)", "x", {"A": (5, 3), "x": (3,)}, lambda A, x: softmax(A @ x), None),
    ("X*X'", "X", {"X": (3, 5)}, lambda X: X @ X.T, None),
    ("exp(X)*B", "X", {"X": (2, 3), "B": (3, 4)}, lambda X, B: np.exp(X) @ B, None),
    ("tr(X*A)", "X", {"X": (3, 4), "A": (4, 3)}, lambda X, A: np.trace(X @ A), None),
    ("x*alpha^2", "alpha", {"x": (3,), "alpha": ()}, lambda x, alpha: x * alpha ** 2, None),
    ("S*A*S", "S", {"S": (3, 3), "A": (3, 3)}, lambda S, A: S @ A @ S, {"S": "symmetric"}),
    ("logdet(X)*x", "X", {"X": (3, 3), "x": (2,)}, lambda X, x: np.linalg.slogdet(X)[1] * x, None),
]


def draw(shapes, types, rng):
    out = {}
    for k, s in shapes.items():
        if s == ():
            out[k] = float(rng.uniform(0.5, 1.5))
        elif len(s) == 2 and s[0] == s[1]:
            a = 2 * np.eye(s[0]) + 0.4 * rng.standard_normal(s)
            out[k] = (a + a.T) / 2 if (types or {}).get(k) == "symmetric" else a
        else:
            out[k] = rng.standard_normal(s) * 0.7
    return out


def unit(rng, shape, symmetric=False):
    if shape == ():
        return 1.0
    e = rng.standard_normal(shape)
    if symmetric:
        e = (e + e.T) / 2
    return e / np.linalg.norm(e)


def moved(inputs, var, d):
    p = dict(inputs)
    p[var] = p[var] + d
    return p


@pytest.mark.parametrize("expr, var, shapes, F, types", CASES, ids=[c[0] for c in CASES])
def test_jvp_is_the_directional_derivative(expr, var, shapes, F, types):
    r = matdiff.diff(expr, var, types=types)
    jvp = r.jvp()
    rng = np.random.default_rng(0)
    sym = (types or {}).get(var) == "symmetric"
    for _ in range(3):
        inputs = draw(shapes, types, rng)
        v = unit(rng, shapes[var], sym)
        h = 1e-6
        fd = (np.asarray(F(**moved(inputs, var, h * v))) - np.asarray(F(**moved(inputs, var, -h * v)))) / (2 * h)
        out = jvp(v, **inputs)
        assert np.shape(out) == np.shape(fd)
        assert np.allclose(out, fd, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("expr, var, shapes, F, types", CASES, ids=[c[0] for c in CASES])
def test_vjp_is_the_adjoint(expr, var, shapes, F, types):
    """⟨uᵀJ, E⟩ = ⟨u, dF[E]⟩ for random E."""
    r = matdiff.diff(expr, var, types=types)
    vjp = r.vjp()
    rng = np.random.default_rng(1)
    sym = (types or {}).get(var) == "symmetric"
    for _ in range(2):
        inputs = draw(shapes, types, rng)
        f0 = np.asarray(F(**inputs))
        u = rng.standard_normal(f0.shape) if f0.ndim else 1.3
        out = vjp(u, **inputs)
        assert np.shape(out) == np.shape(inputs[var])
        for _ in range(2):
            e = unit(rng, shapes[var], sym)
            h = 1e-6
            dF = (np.asarray(F(**moved(inputs, var, h * e))) - np.asarray(F(**moved(inputs, var, -h * e)))) / (2 * h)
            assert np.sum(out * e) == pytest.approx(np.sum(u * dF), rel=1e-5, abs=1e-7)
        if sym:
            assert np.allclose(out, out.T)


def test_products_carry_their_closed_forms():
    r = matdiff.diff("inv(X)", "X")
    assert str(r.jvp().expr) == "-inv(X)*V*inv(X)"
    assert str(r.vjp().expr) == "-inv(X)'*U*inv(X)'"
    assert str(matdiff.diff("A*x", "x").vjp().expr) == "A'*u"


def test_jvp_never_builds_the_jacobian():
    r = matdiff.diff("inv(X)", "X")
    expr = r.jvp().expr
    assert not any(isinstance(x, (Kron, Commutation)) for x in expr.walk())
    n = 400
    rng = np.random.default_rng(2)
    X = np.eye(n) * 2 + rng.standard_normal((n, n)) / np.sqrt(n)
    V = rng.standard_normal((n, n))
    t = time.perf_counter()
    out = r.jvp()(V, X=X)
    elapsed = time.perf_counter() - t
    Xi = inv(X)
    assert np.allclose(out, -Xi @ V @ Xi)
    assert elapsed < 5.0  # an n²×n² Jacobian would have 2.6e10 entries


def test_a_matrix_direction_may_come_as_its_vec():
    r = matdiff.diff("inv(X)", "X")
    rng = np.random.default_rng(3)
    X = 2 * np.eye(3) + 0.3 * rng.standard_normal((3, 3))
    V = rng.standard_normal((3, 3))
    assert np.allclose(r.jvp()(V.reshape(-1, order="F"), X=X), -inv(X) @ V @ inv(X))


@pytest.mark.parametrize("product", ["jvp", "vjp", "hvp"])
def test_generated_code_of_products(product):
    expr = "logsumexp(A*x)" if product == "hvp" else "softmax(A*x)"
    r = matdiff.diff(expr, "x")
    ns: dict = {}
    exec(r.to_code("numpy", name="prod", product=product), ns)
    rng = np.random.default_rng(4)
    A, x = rng.standard_normal((5, 3)), rng.standard_normal(3)
    s = softmax(A @ x)
    J = (np.diag(s) - np.outer(s, s)) @ A  # the Jacobian of softmax(A x), by hand
    if product == "jvp":
        v = rng.standard_normal(3)
        assert np.allclose(ns["prod"](v, A, x), J @ v)
    elif product == "vjp":
        u = rng.standard_normal(5)
        assert np.allclose(ns["prod"](u, A, x), u @ J)
    else:
        v = rng.standard_normal(3)
        assert np.allclose(ns["prod"](v, A, x), A.T @ (np.diag(s) - np.outer(s, s)) @ A @ v)


def test_unknown_product_is_a_usage_error():
    with pytest.raises(matdiff.MatdiffError, match="unknown product"):
        matdiff.diff("A*x", "x").to_code(product="xvp")


def test_products_benchmark_quick(tmp_path):
    import importlib.util
    import sys
    from pathlib import Path

    bench = Path(__file__).resolve().parent.parent / "benchmarks"
    sys.path.insert(0, str(bench))
    spec = importlib.util.spec_from_file_location("matdiff_bench_products", bench / "bench_products.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    out = tmp_path / "README.md"
    res = mod.main(["--quick", "--repeats", "1", "--no-jax", "--out", str(out)])
    assert {r["problem"] for r in res["rows"]} == {"xAx-hvp", "trXAX-hvp", "logistic-hvp", "logsumexp-hvp", "mlp-hvp",
                                                    "inv-jvp", "inv-vjp", "softmax-jvp", "softmax-vjp"}
    assert {r["impl"] for r in res["rows"]} >= {"matdiff codegen", "NumPy by hand"}
    assert all(r["err"] < 1e-10 for r in res["rows"])
    assert "## Products with a direction" in out.read_text()


def test_jvp_of_a_hessian_result_is_refused():
    h = matdiff.diff("x'*A*x", "x", order=2)
    with pytest.raises(matdiff.MatdiffError, match="first derivative"):
        h.jvp()
    with pytest.raises(matdiff.MatdiffError, match="first derivative"):
        h.to_code(product="vjp")
