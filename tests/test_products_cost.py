"""H v, J v and uᵀ J at the cost of a gradient: the closed forms distribute products over sums
((A + Aᵀ) v ↦ A v + Aᵀ v) and apply chains ending in a vector from the right, so no matrix the
answer does not need is built.  Every product is checked against central differences of a
gradient (or function) written by hand in NumPy, with distinct dimensions; the structure is
checked on the expression tree and on the operation graph of the generated code."""
from __future__ import annotations

import numpy as np
import pytest

import matdiff
from matdiff.backends.codegen.lowering import lower, postorder
from matdiff.core.nodes import Add, Mul


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def sym(M):
    return (M + M.T) / 2


# expression, variable, shapes (distinct sizes), hand-written gradient, types, no matrix sum expected
HVP = [
    ("x'*A*x", "x", {"A": (5, 5), "x": (5,)}, lambda A, x: A @ x + A.T @ x, None, True),
    ("x'*(A + B)*x", "x", {"A": (5, 5), "B": (5, 5), "x": (5,)},
     lambda A, B, x: (A + B) @ x + (A + B).T @ x, None, True),
    ("tr(X'*A*X)", "X", {"A": (5, 5), "X": (5, 3)}, lambda A, X: (A + A.T) @ X, None, True),
    ("tr(X'*A*X*C)", "X", {"A": (5, 5), "X": (5, 3), "C": (3, 3)},
     lambda A, X, C: A @ X @ C + A.T @ X @ C.T, None, True),
    ("tr(X*A*X')", "X", {"A": (5, 5), "X": (3, 5)}, lambda A, X: X @ (A + A.T), None, True),
    ("tr(X'*(A + B)*X)", "X", {"A": (5, 5), "B": (5, 5), "X": (5, 3)},
     lambda A, B, X: (A + B + A.T + B.T) @ X, None, True),
    ("sum(log(1 + exp(-y .* (A*w))))", "w", {"A": (6, 4), "y": (6,), "w": (4,)},
     lambda A, y, w: -A.T @ (y * sigmoid(-y * (A @ w))), None, True),
    ("logsumexp(A*x)", "x", {"A": (6, 4), "x": (4,)}, lambda A, x: A.T @ softmax(A @ x), None, True),
    ("norm2(A*x - b)^2", "x", {"A": (6, 4), "x": (4,), "b": (6,)}, lambda A, x, b: 2 * A.T @ (A @ x - b),
     None, True),
    ("sum((W2*tanh(W1*X) - Y).^2)", "W1", {"W1": (4, 3), "X": (3, 6), "W2": (2, 4), "Y": (2, 6)},
     lambda W1, X, W2, Y: 2 * ((W2.T @ (W2 @ np.tanh(W1 @ X) - Y)) * (1 - np.tanh(W1 @ X) ** 2)) @ X.T,
     None, False),
    ("tr(S*A*S*B)", "S", {"S": (4, 4), "A": (4, 4), "B": (4, 4)},
     lambda S, A, B: A.T @ S.T @ B.T + B.T @ S.T @ A.T, {"S": "symmetric"}, False),
]

# expression, variable, shapes, hand-written F, no matrix sum expected
JVP = [
    ("(A + B)*x", "x", {"A": (5, 3), "B": (5, 3), "x": (3,)}, lambda A, B, x: (A + B) @ x),
    ("softmax(A*x)", "x", {"A": (6, 4), "x": (4,)}, lambda A, x: softmax(A @ x)),
    ("(A + A')*X*C", "X", {"A": (5, 5), "X": (5, 3), "C": (3, 2)}, lambda A, X, C: (A + A.T) @ X @ C),
    ("x'*(A + B)*x", "x", {"A": (5, 5), "B": (5, 5), "x": (5,)}, lambda A, B, x: x @ (A + B) @ x),
    ("X*(A + A')", "X", {"X": (3, 5), "A": (5, 5)}, lambda X, A: X @ (A + A.T)),
]


def draw(shapes, types, seed):
    rng = np.random.default_rng(seed)
    out = {}
    for k, s in shapes.items():
        a = rng.standard_normal(s) * 0.7
        if (types or {}).get(k) == "symmetric":
            a = sym(a)
        out[k] = a
    if "y" in out:
        out["y"] = np.where(out["y"] > 0, 1.0, -1.0)
    return out


def moved(inputs, var, d):
    p = dict(inputs)
    p[var] = p[var] + d
    return p


def central(f, inputs, var, d, h=1e-6):
    return (np.asarray(f(**moved(inputs, var, h * d))) - np.asarray(f(**moved(inputs, var, -h * d)))) / (2 * h)


def matrix_sums(expr, var_shape) -> list:
    """Sums of matrices in expr other than ones of the direction's or the answer's own shape."""
    return [x for x in expr.walk() if isinstance(x, Add) and x.shape not in (var_shape, expr.shape)
            and x.shape[0] != 1 and x.shape[1] != 1]


def code_of(r, kind):
    ns: dict = {}
    exec(r.to_code("numpy", name="prod", product=kind), ns)
    return ns["prod"]


@pytest.mark.parametrize("expr, var, shapes, grad, types, thin", HVP, ids=[c[0] for c in HVP])
def test_hvp_is_the_difference_of_gradients(expr, var, shapes, grad, types, thin):
    r = matdiff.diff(expr, var, types=types)
    f, code = r.hvp(), code_of(r, "hvp")
    symmetric = (types or {}).get(var) == "symmetric"
    for seed in range(2):
        inputs = draw(shapes, types, seed)
        v = np.random.default_rng(10 + seed).standard_normal(shapes[var])
        d = sym(v) if symmetric else v
        fd = central(grad, inputs, var, d)
        if symmetric:
            fd = sym(fd)
        scale = max(1.0, float(np.max(np.abs(fd))))
        assert np.max(np.abs(f(v, **inputs) - fd)) < 1e-6 * scale
        # the generated code takes the direction as given: a symmetric one for a symmetric variable
        assert np.max(np.abs(np.asarray(code(d, **inputs)).reshape(fd.shape) - fd)) < 1e-6 * scale
    if thin:
        assert matrix_sums(f.expr, f.direction.shape) == [], str(f.expr)


@pytest.mark.parametrize("expr, var, shapes, F", JVP, ids=[c[0] for c in JVP])
def test_jvp_and_vjp_against_differences(expr, var, shapes, F):
    r = matdiff.diff(expr, var)
    jvp, vjp = r.jvp(), r.vjp()
    jcode, vcode = code_of(r, "jvp"), code_of(r, "vjp")
    for seed in range(2):
        inputs = draw(shapes, None, seed)
        rng = np.random.default_rng(20 + seed)
        v = rng.standard_normal(shapes[var])
        fd = central(F, inputs, var, v)
        assert np.allclose(jvp(v, **inputs), fd, rtol=1e-6, atol=1e-8)
        assert np.allclose(np.asarray(jcode(v, **inputs)).reshape(np.shape(fd)), fd, rtol=1e-6, atol=1e-8)
        f0 = np.asarray(F(**inputs))
        u = rng.standard_normal(f0.shape) if f0.ndim else 1.3
        for got in (vjp(u, **inputs), vcode(u, **inputs)):
            got = np.asarray(got).reshape(shapes[var])
            e = rng.standard_normal(shapes[var])  # ⟨uᵀJ, e⟩ = ⟨u, dF[e]⟩
            assert np.sum(got * e) == pytest.approx(np.sum(u * central(F, inputs, var, e)), rel=1e-6, abs=1e-8)
    for prod in (jvp, vjp):
        assert matrix_sums(prod.expr, prod.direction.shape) == [], str(prod.expr)


@pytest.mark.parametrize("expr, var", [("x'*A*x", "x"), ("tr(X'*A*X)", "X"), ("x'*(A + B)*x", "x"),
                                       ("tr(X*A*X')", "X")])
def test_the_hessian_is_not_formed_in_the_generated_code(expr, var):
    """The operation graph of the generated H v adds no square matrices (A + Aᵀ): only products
    with the direction, then their sum."""
    r = matdiff.diff(expr, var)
    f = r.hvp()
    shape = f.direction.shape
    adds = [op for op in postorder(lower(f.expr)) if op.kind == "add" and op.shape != shape]
    assert adds == []
    assert "A.T" in r.to_code("numpy", product="hvp")


def test_a_recurring_matrix_vector_product_is_computed_once():
    """sᵀ A v and s ⊙ (A v) in the H v of logsumexp(A x) share A v: the generated code multiplies
    by A three times (A x, A v, Aᵀ(…)), as written by hand, and agrees with the hand-written form."""
    r = matdiff.diff("logsumexp(A*x)", "x")
    src = r.to_code("numpy", name="prod", product="hvp")
    assert src.count("A @ v") == 1 and "multi_dot" not in src
    ns: dict = {}
    exec(src, ns)
    rng = np.random.default_rng(3)
    A, x, v = rng.standard_normal((7, 4)), rng.standard_normal(4), rng.standard_normal(4)
    s, Av = softmax(A @ x), A @ v
    assert np.allclose(ns["prod"](v, A, x), A.T @ (s * Av - s * (s @ Av)))
    assert np.allclose(r.hvp()(v, A=A, x=x), A.T @ (s * Av - s * (s @ Av)))


def test_a_square_direction_keeps_the_sum():
    """For a square variable (A + Aᵀ) V is one product and an addition, cheaper than two
    products: the sum is kept (and the product is still right)."""
    r = matdiff.diff("tr(X'*A*X) + tr(X)", "X")
    f = r.hvp()
    assert isinstance(f.expr, Mul) and any(isinstance(g, Add) for g in f.expr.factors), str(f.expr)
    rng = np.random.default_rng(4)
    A, X, V = rng.standard_normal((5, 5)), rng.standard_normal((5, 5)), rng.standard_normal((5, 5))
    grad = lambda A, X: (A + A.T) @ X + np.eye(5)  # noqa: E731
    assert np.allclose(f(V, A=A, X=X), central(grad, {"A": A, "X": X}, "X", V), rtol=1e-6, atol=1e-8)


def test_a_sum_away_from_the_direction_is_kept():
    """Only sums beside the direction (or a vector) are distributed: in the H V of a two-layer net
    the residual W2 tanh(W1 X) − Y stays one matrix, W2ᵀ(W2 M − Y) rather than W2ᵀW2 M − W2ᵀY."""
    r = matdiff.diff("sum((W2*tanh(W1*X) - Y).^2)", "W1")
    e = r.hvp().expr
    residual = [x for x in e.walk() if isinstance(x, Add) and x.shape == r.symbols["Y"].shape]
    assert residual, str(e)
