"""Mixed and higher derivatives (SPEC §7), against finite differences of NumPy written by hand:
mixed second derivatives by polarization, third derivatives by differences of a hand-written
Hessian, orders four and up by a K-point stencil of f."""
from __future__ import annotations

import io
from fractions import Fraction

import numpy as np
import pytest
from fdutil import vec

import matdiff
from matdiff.cli import run

inv = np.linalg.inv


def rng_for(seed=0):
    return np.random.default_rng(seed)


# -- mixed second derivatives: d²f = vec(dx)' M vec(dy), checked by polarization -------------------
def polar(f, inputs, x, y, e1, e2, h=1e-4):
    """(f(x+u, y+v) − f(x+u, y−v) − f(x−u, y+v) + f(x−u, y−v)) / 4hk with u = h e1, v = h e2."""
    def at(s1, s2):
        p = dict(inputs)
        p[x] = p[x] + s1 * h * e1
        p[y] = p[y] + s2 * h * e2
        return f(**p)
    return (at(1, 1) - at(1, -1) - at(-1, 1) + at(-1, -1)) / (4 * h * h)


MIXED = [
    # expression, x, y, shapes, hand-written f
    ("x'*A*y", "x", "y", {"x": (4,), "A": (4, 3), "y": (3,)}, lambda x, A, y: x @ A @ y),
    ("tr(X*Y*X)", "X", "Y", {"X": (3, 3), "Y": (3, 3)}, lambda X, Y: np.trace(X @ Y @ X)),
    ("tr(A*X*B*Y')", "X", "Y", {"A": (2, 3), "X": (3, 4), "B": (4, 5), "Y": (2, 5)},
     lambda A, X, B, Y: np.trace(A @ X @ B @ Y.T)),
    ("sum(exp(A*x))*beta^2", "x", "beta", {"A": (5, 3), "x": (3,), "beta": ()},
     lambda A, x, beta: np.sum(np.exp(A @ x)) * beta ** 2),
    ("sum(exp(A*x))*beta^2", "beta", "x", {"A": (5, 3), "x": (3,), "beta": ()},
     lambda A, x, beta: np.sum(np.exp(A @ x)) * beta ** 2),
    ("x'*X*y + norm2(X)^2*(y'*y)", "X", "y", {"x": (2,), "X": (2, 4), "y": (4,)},
     lambda x, X, y: x @ X @ y + np.sum(X ** 2) * (y @ y)),
    ("logsumexp(W*x)", "W", "x", {"W": (3, 4), "x": (4,)},
     lambda W, x: np.log(np.sum(np.exp(W @ x)))),
]


def draw(shapes, rng):
    return {k: (float(rng.uniform(0.5, 1.5)) if s == () else rng.standard_normal(s) * 0.7)
            for k, s in shapes.items()}


def direction(rng, a):
    if np.ndim(a) == 0:
        return 1.0
    e = rng.standard_normal(np.shape(a))
    return e / np.linalg.norm(e)


@pytest.mark.parametrize("expr, x, y, shapes, f", MIXED, ids=[f"{c[0]}-{c[1]}{c[2]}" for c in MIXED])
def test_mixed_second_derivative_by_polarization(expr, x, y, shapes, f):
    r = matdiff.diff(expr, x, y)
    rng = rng_for(1)
    for _ in range(2):
        inputs = draw(shapes, rng)
        M = r.lambdify()(**inputs)
        nx, ny = int(np.prod(shapes[x])), int(np.prod(shapes[y]))
        assert np.shape(M) == (nx, ny)
        for _ in range(3):
            e1, e2 = direction(rng, inputs[x]), direction(rng, inputs[y])
            fd = polar(f, inputs, x, y, e1, e2)
            an = vec(e1) @ M @ vec(e2)
            assert abs(fd - an) <= 1e-5 * max(1.0, abs(fd)), (expr, fd, an)
    assert r.check().ok


def test_mixed_of_a_bilinear_form_is_its_matrix():
    r = matdiff.diff("x'*A*y", "x", "y")
    assert str(r) == "A"
    assert r.label == "mixed second derivative"


def test_mixed_derivative_of_a_vector_function_is_the_jacobian_of_vec_J():
    """diff(F, x, y) = ∂ vec J / ∂y' with J = ∂F/∂x' (F.size·x.size × y.size)."""
    r = matdiff.diff("exp(A*x)*beta", "x", "beta")
    rng = rng_for(2)
    A, x, beta = rng.standard_normal((4, 3)), rng.standard_normal(3), 1.3
    M = r.lambdify()(A=A, x=x, beta=beta)
    assert np.shape(M) == (12, 1)
    h = 1e-6
    J = lambda b: np.diag(np.exp(A @ x)) @ A * b
    fd = (vec(J(beta + h)) - vec(J(beta - h))) / (2 * h)
    assert np.allclose(M[:, 0], fd, rtol=1e-6, atol=1e-8)


# -- diff(f, x, x) is the Hessian -------------------------------------------------------------------
@pytest.mark.parametrize("expr, var, types", [
    ("x'*A*x + sum(exp(x))", "x", None),
    ("logdet(X) + tr(A*X*X')", "X", None),
    ("tr(S*A*S)", "S", {"S": "symmetric"}),
    ("alpha^3*sum(x)", "alpha", None),
])
def test_diff_x_x_is_the_hessian(expr, var, types):
    a = matdiff.diff(expr, var, var, types=types)
    b = matdiff.diff(expr, var, order=2, types=types)
    assert a.kind == b.kind == "hessian"
    assert a.value == b.value and str(a) == str(b)


# -- third derivatives: differences of a Hessian written by hand ------------------------------------
def third_by_hessian(hess, x, h=1e-5):
    """T[:, :, k] = (H(x + h e_k) − H(x − h e_k)) / 2h on vec x."""
    n = x.size
    T = np.zeros((n, n, n))
    for k in range(n):
        e = np.zeros(n)
        e[k] = h
        E = e.reshape(x.shape, order="F")
        T[:, :, k] = (hess(x + E) - hess(x - E)) / (2 * h)
    return T


def hess_logdet(X):
    """d vec(X⁻ᵀ) = −vec(X⁻ᵀ dXᵀ X⁻ᵀ), column by column."""
    n = X.size
    H = np.zeros((n, n))
    Xi = inv(X)
    for k in range(n):
        E = np.zeros(n)
        E[k] = 1
        E = E.reshape(X.shape, order="F")
        H[:, k] = vec(-Xi.T @ E.T @ Xi.T)
    return H


THIRD = [
    ("sum(x .^ 4)", "x", {"x": (4,)}, lambda x: np.diag(12 * x ** 2)),
    ("sum(exp(A*x))", "x", {"A": (5, 3), "x": (3,)},
     lambda x, A: A.T @ np.diag(np.exp(A @ x)) @ A),
    ("(x'*x)^2", "x", {"x": (3,)}, lambda x: 4 * (x @ x) * np.eye(3) + 8 * np.outer(x, x)),
    ("logdet(X)", "X", {"X": (3, 3)}, hess_logdet),
    ("sum(sigmoid(A*x))", "x", {"A": (4, 3), "x": (3,)},
     lambda x, A: A.T @ np.diag((lambda s: s * (1 - s) * (1 - 2 * s))(1 / (1 + np.exp(-A @ x)))) @ A),
    ("logsumexp(A*x)", "x", {"A": (5, 3), "x": (3,)},
     lambda x, A: A.T @ (np.diag(softmax(A @ x)) - np.outer(softmax(A @ x), softmax(A @ x))) @ A),
]


def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


@pytest.mark.parametrize("expr, var, shapes, hess", THIRD, ids=[c[0] for c in THIRD])
def test_third_derivative_by_differences_of_the_hessian(expr, var, shapes, hess):
    r = matdiff.diff(expr, var, order=3)
    rng = rng_for(3)
    inputs = draw(shapes, rng)
    if var == "X":
        inputs[var] = 2 * np.eye(3) + 0.3 * rng.standard_normal((3, 3))
    others = {k: v for k, v in inputs.items() if k != var}
    T = r.lambdify()(**inputs)
    n = inputs[var].size
    assert T.shape == (n, n, n)
    fd = third_by_hessian(lambda v: hess(v, **others), inputs[var])
    assert np.allclose(T, fd, rtol=1e-5, atol=1e-6 * max(1.0, np.abs(fd).max()))
    assert np.allclose(T, np.transpose(T, (1, 0, 2))) and np.allclose(T, np.transpose(T, (2, 1, 0)))
    assert r.check().ok


def test_third_derivative_prints_in_index_notation():
    r = matdiff.diff("sum(x .^ 4)", "x", order=3)
    assert str(r) == "∂³f/∂x[a]∂x[b]∂x[c] = 24*x[a]*delta(a,b)*delta(b,c)"
    assert r.latex() == (r"\frac{\partial^{3} f}{\partial x_{a} \partial x_{b} \partial x_{c}} = "
                         r"24 x_{a} \delta_{ab} \delta_{bc}")
    x = np.array([0.3, -1.2, 2.0, 0.7])
    T = r.lambdify()(x=x)
    assert T[2, 2, 2] == pytest.approx(24 * 2.0) and T[0, 1, 1] == 0


def test_index_notation_of_a_chain_keeps_a_sum_over_the_inner_index():
    r = matdiff.diff("sum(exp(A*x))", "x", order=3)
    assert str(r) == "∂³f/∂x[a]∂x[b]∂x[c] = sum_i(exp((A*x)[i])*A[i,a]*A[i,b]*A[i,c])"


# -- orders four and up: a K-point stencil of f ---------------------------------------------------
def kth_by_stencil(f, x, es, h):
    K = len(es)
    total = 0.0
    for signs in np.ndindex(*(2,) * K):
        s = [1 - 2 * b for b in signs]
        total += np.prod(s) * f(x + h * sum(si * e for si, e in zip(s, es)))
    return total / (2 * h) ** K


@pytest.mark.parametrize("expr, K, f", [
    ("sum(x .^ 5)", 4, lambda x: np.sum(x ** 5)),
    ("sum(exp(A*x))", 4, None),
    ("sum(x .^ 6)", 6, lambda x: np.sum(x ** 6)),
])
def test_order_k_against_a_stencil(expr, K, f):
    rng = rng_for(4)
    A = rng.standard_normal((4, 3)) * 0.5
    if f is None:
        f = lambda x: np.sum(np.exp(A @ x))
    n = 3
    x = rng.standard_normal(n) * 0.5
    r = matdiff.diff(expr, "x", order=K)
    T = r.lambdify()(x=x, A=A) if "A" in expr else r.lambdify()(x=x)
    assert T.shape == (n,) * K
    for _ in range(3):
        es = [direction(rng, x) for _ in range(K)]
        h = 1e-2 * 2.0 ** (K - 3)
        fd = (4 * kth_by_stencil(f, x, es, h / 2) - kth_by_stencil(f, x, es, h)) / 3
        an = T
        for e in es:
            an = np.tensordot(e, an, axes=([0], [0]))
        assert abs(fd - float(an)) <= 1e-4 * max(1.0, abs(fd))


def test_generated_code_of_a_third_derivative_returns_the_tensor():
    r = matdiff.diff("sum(exp(A*x))", "x", order=3)
    ns: dict = {}
    exec(r.to_code("numpy"), ns)
    rng = rng_for(5)
    A, x = rng.standard_normal((5, 3)), rng.standard_normal(3)
    T = ns["derivative"](A, x)
    hand = np.einsum("i,ia,ib,ic->abc", np.exp(A @ x), A, A, A)
    assert T.shape == (3, 3, 3) and np.allclose(T, hand)


def test_mixed_third_derivative_of_several_variables():
    r = matdiff.diff("sum(exp(A*x))*beta^2", "x", "beta", "x")
    rng = rng_for(6)
    A, x, beta = rng.standard_normal((4, 3)), rng.standard_normal(3), 0.8
    T = r.lambdify()(A=A, x=x, beta=beta)
    hand = 2 * beta * np.einsum("i,ia,ib->ab", np.exp(A @ x), A, A)
    assert T.shape == (3, 1, 3) and np.allclose(T[:, 0, :], hand)
    assert str(r) == "∂³f/∂x[a]∂beta∂x[b] = sum_i(2*beta*exp((A*x)[i])*A[i,a]*A[i,b])"


# -- bounds and errors ------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, message", [
    (dict(order=7), "order 7 is too high"),
    (dict(order=0), "order must be a positive integer"),
    (dict(order=2.5), "order must be a positive integer"),
])
def test_orders_are_bounded(kwargs, message):
    with pytest.raises(matdiff.MatdiffError, match=message):
        matdiff.diff("sum(x .^ 4)", "x", **kwargs)


def test_mixed_and_order_together_is_a_usage_error():
    with pytest.raises(matdiff.MatdiffError, match="not both"):
        matdiff.diff("x'*A*y", "x", "y", order=2)


def test_a_large_tensor_is_refused_when_evaluated():
    r = matdiff.diff("sum(x .^ 4)", "x", order=6)
    with pytest.raises(matdiff.MatdiffError, match="entries"):
        r.lambdify()(x=np.ones(20))


# -- the command line ------------------------------------------------------------------------------
def cli(*argv):
    out, err = io.StringIO(), io.StringIO()
    return run(list(argv), out=out, err=err), out.getvalue(), err.getvalue()


def test_cli_then_and_order():
    code, out, err = cli("x'*A*y", "x", "--then", "y", "--check")
    assert code == 0 and out.splitlines() == ["A"] and "check ok" in err
    code, out, _ = cli("sum(x .^ 4)", "x", "--order", "3")
    assert code == 0 and out.splitlines()[0] == "∂³f/∂x[a]∂x[b]∂x[c] = 24*x[a]*delta(a,b)*delta(b,c)"
    code, _, err = cli("sum(x .^ 4)", "x", "--order", "30")
    assert code == 2 and "too high" in err
    code, _, err = cli("x'*A*y", "x", "--then", "y", "--order", "2")
    assert code == 2 and "not both" in err


def test_index_notation_rebuilds_matrix_products():
    """Σ_i A[a,i] x[i] prints (A*x)[a]; the entries still agree with the derivative."""
    r = matdiff.diff("(x'*A*x)*(x'*x)", "x", order=3)
    assert "(A*x)[a]" in str(r) and "sum_" not in str(r)
    rng = rng_for(7)
    A, x = rng.standard_normal((3, 3)), rng.standard_normal(3)
    hess = lambda v: ((A + A.T) * (v @ v) + 2 * np.outer((A + A.T) @ v, v)
                      + 2 * np.outer(v, (A + A.T) @ v) + 2 * (v @ A @ v) * np.eye(3))
    assert np.allclose(r.lambdify()(A=A, x=x), third_by_hessian(hess, x), rtol=1e-5, atol=1e-6)


# -- the printed index form, evaluated entry by entry by loops written here ---------------------------
def index_form_tensor(r, values, n, per_variable=1):
    """T[a,b,c,…] from r.index (its monomials: entries of arrays, deltas, sums) by plain loops;
    with matrix variables (per_variable = 2) reshaped to the vec layout."""
    import itertools

    from matdiff.backends.evaluate import evaluate
    from matdiff.present.index_form import Atom, free_indices

    K = r.order * per_variable
    free = free_indices(K)
    dims = {"m": n, "n": n}
    arrays = {}

    def entry(atom, env):
        key = id(atom.expr)
        if key not in arrays:
            arrays[key] = np.atleast_2d(np.asarray(evaluate(atom.expr, values, dims), dtype=float))
            if atom.expr.shape[0] != 1 and arrays[key].shape[0] == 1:
                arrays[key] = arrays[key].T
        a = arrays[key]
        i = env[atom.idx[0]] if atom.idx[0] is not None else 0
        j = env[atom.idx[1]] if atom.idx[1] is not None else 0
        return a[i, j]

    T = np.zeros((n,) * K)
    for assign in itertools.product(range(n), repeat=K):
        env0 = dict(zip(free, assign))
        total = 0.0
        for m in r.index.terms:
            for bound in itertools.product(range(n), repeat=len(m.bound)):
                env = {**env0, **dict(zip(m.bound, bound))}
                v = float(m.coef)
                for f in m.factors:
                    v *= entry(f, env) if isinstance(f, Atom) else float(env[f.i] == env[f.j])
                total += v
        T[assign] = total
    return T.reshape((n ** per_variable,) * r.order, order="F")


@pytest.mark.parametrize("expr, var, shapes, hess", THIRD[:3] + THIRD[4:], ids=[c[0] for c in THIRD[:3] + THIRD[4:]])
def test_printed_index_form_agrees_with_differences_of_the_hessian(expr, var, shapes, hess):
    r = matdiff.diff(expr, var, order=3)
    rng = rng_for(8)
    inputs = draw(shapes, rng)
    internal = {k: (v.reshape(-1, 1) if np.ndim(v) == 1 else v) for k, v in inputs.items()}
    n = inputs[var].size
    if "A" in inputs:  # the index form sums over A's rows: square A keeps one size for every index
        inputs["A"] = internal["A"] = rng.standard_normal((n, n)) * 0.7
    others = {k: v for k, v in inputs.items() if k != var}
    fd = third_by_hessian(lambda v: hess(v, **others), inputs[var])
    assert np.allclose(index_form_tensor(r, internal, n), fd, rtol=1e-5, atol=1e-6 * max(1.0, np.abs(fd).max()))


def test_printed_index_form_with_rebuilt_products():
    r = matdiff.diff("(x'*A*x)*(x'*x)", "x", order=3)
    rng = rng_for(9)
    A, x = rng.standard_normal((3, 3)), rng.standard_normal(3)
    hess = lambda v: ((A + A.T) * (v @ v) + 2 * np.outer((A + A.T) @ v, v)
                      + 2 * np.outer(v, (A + A.T) @ v) + 2 * (v @ A @ v) * np.eye(3))
    T = index_form_tensor(r, {"A": A, "x": x.reshape(-1, 1)}, 3)
    assert np.allclose(T, third_by_hessian(hess, x), rtol=1e-5, atol=1e-6)


def test_printed_index_form_of_a_matrix_variable():
    r = matdiff.diff("logdet(X)", "X", order=3)
    rng = rng_for(10)
    X = 2 * np.eye(2) + 0.3 * rng.standard_normal((2, 2))
    T = index_form_tensor(r, {"X": X}, 2, per_variable=2)
    assert T.shape == (4, 4, 4)
    assert np.allclose(T, third_by_hessian(hess_logdet, X), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("expr, names, order", [
    ("sum(exp(A*x))", ("x",), 3), ("x'*A*y", ("x", "y"), 1), ("logdet(X)", ("X",), 3)])
def test_check_catches_a_wrong_higher_derivative(expr, names, order):
    """r.check() can fail: the same result with its value off by a factor is a mismatch."""
    from dataclasses import replace

    from matdiff.core import construct as C

    r = matdiff.diff(expr, *names, order=order)
    assert r.check().ok
    wrong = replace(r, value=C.scale(Fraction(11, 10), r.value), _display=None)
    assert not wrong.check().ok


def test_higher_derivatives_of_programs():
    r = matdiff.diff("z = A*x; L = sum(z .^ 4)", "x", order=3)
    rng = rng_for(11)
    A, x = rng.standard_normal((4, 3)), rng.standard_normal(3)
    hand = np.einsum("i,ia,ib,ic->abc", 24 * (A @ x), A, A, A)
    assert np.allclose(r.lambdify()(A=A, x=x), hand)
    m = matdiff.diff("z = A*x; L = z'*y", "x", "y")
    assert str(m) == "A'"


@pytest.mark.parametrize("args, kw", [(("sum(x .^ 4)", "x"), {"order": 3}), (("x'*A*y", "x", "y"), {})])
def test_higher_results_display_in_jupyter_and_json(args, kw):
    r = matdiff.diff(*args, **kw)
    assert r.latex() in r._repr_markdown_() and "$$" in r._repr_html_()
    d = r.to_dict()
    assert d["text"] == str(r) and d["variables"] == list(args[1:]) * (kw.get("order", 1) if len(args) == 2 else 1)


def test_a_huge_intermediate_is_refused_before_it_is_built():
    """logdet(X) to order 3 builds K-sized Kronecker products: at 12×12 they would hold 4·10⁸ entries."""
    r = matdiff.diff("logdet(X)", "X", order=3)
    with pytest.raises(matdiff.MatdiffError, match="would build"):
        r.lambdify()(X=np.eye(12) * 2)


def test_unicode_index_form_uses_delta_and_sigma():
    assert matdiff.diff("sum(x .^ 4)", "x", order=3).unicode() == "∂³f/∂x[a]∂x[b]∂x[c] = 24*x[a]*δ(a,b)*δ(b,c)"
    assert "Σ_i(" in matdiff.diff("sum(exp(A*x))", "x", order=3).unicode()


def test_steps_of_a_mixed_derivative_end_with_its_name():
    r = matdiff.diff("tr(X*Y)", "X", "Y")
    steps = r.steps
    assert steps[0] == "f = tr(X*Y)" and steps[-1] == "∂²f/∂vec(X)∂vec(Y)' = K(n,m)"
    rng = rng_for(12)
    X, Y, dX, dY = (rng.standard_normal(s) for s in ((3, 4), (4, 3), (3, 4), (4, 3)))
    M = r.lambdify()(X=X, Y=Y)
    assert vec(dX) @ M @ vec(dY) == pytest.approx(np.trace(dX @ dY))  # d²f = tr(dX dY)
