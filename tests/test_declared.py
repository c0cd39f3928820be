"""Declared functions (SPEC §7): f element-wise with f'(u), g scalar with grad_g(u); answers
checked against central differences of NumPy written by hand, with concrete callables."""
from __future__ import annotations

import io

import numpy as np
import pytest

import matdiff
from matdiff.cli import run

F = {"f": "function"}
G = {"g": "scalar function"}
TANH = dict(f=np.tanh, f_prime=lambda u: 1 - np.tanh(u) ** 2,
            f_prime2=lambda u: -2 * np.tanh(u) * (1 - np.tanh(u) ** 2))
CUBE = dict(g=lambda u: float(np.sum(u ** 3)), grad_g=lambda u: 3 * np.asarray(u) ** 2)


def gradient_fd(f, inputs, var, rng, h=1e-6, ndir=4):
    """[(⟨E, fd⟩ direction, finite difference)] for random unit directions E."""
    out = []
    for _ in range(ndir):
        x = inputs[var]
        e = rng.standard_normal(np.shape(x)) if np.ndim(x) else 1.0
        e = e / np.linalg.norm(e) if np.ndim(x) else e
        p, m = dict(inputs), dict(inputs)
        p[var], m[var] = x + h * e, x - h * e
        out.append((e, (f(**p) - f(**m)) / (2 * h)))
    return out


CASES = [
    # expression, variable, types, shapes, hand-written f (callables by keyword), callables, printed
    ("g(A*x)", "x", G, {"A": (5, 4), "x": (4,)}, lambda A, x: np.sum((A @ x) ** 3), CUBE,
     "A'*grad_g(A*x)"),
    ("sum(f(A*x))", "x", F, {"A": (5, 4), "x": (4,)}, lambda A, x: np.sum(np.tanh(A @ x)), TANH,
     "A'*f'(A*x)"),
    ("sum(f(W*x))", "W", F, {"W": (3, 4), "x": (4,)}, lambda W, x: np.sum(np.tanh(W @ x)), TANH,
     "f'(W*x)*x'"),
    ("y'*f(W*x + b)", "b", F, {"y": (3,), "W": (3, 4), "x": (4,), "b": (3,)},
     lambda y, W, x, b: y @ np.tanh(W @ x + b), TANH, "y .* f'(W*x + b)"),
    ("g(X*B)", "X", G, {"X": (2, 3), "B": (3, 4)}, lambda X, B: np.sum((X @ B) ** 3), CUBE,
     "grad_g(X*B)*B'"),
    ("g(f(A*x))", "x", {**F, **G}, {"A": (5, 4), "x": (4,)},
     lambda A, x: np.sum(np.tanh(A @ x) ** 3), {**TANH, **CUBE}, "A'*(grad_g(f(A*x)) .* f'(A*x))"),
    ("f(alpha)^2", "alpha", F, {"alpha": ()}, lambda alpha: np.tanh(alpha) ** 2, TANH,
     "2*f(alpha)*f'(alpha)"),
]


@pytest.mark.parametrize("expr, var, types, shapes, f, funcs, printed", CASES, ids=[c[0] for c in CASES])
def test_chain_rule_through_declared_functions(expr, var, types, shapes, f, funcs, printed):
    r = matdiff.diff(expr, var, types=types)
    assert str(r) == printed
    rng = np.random.default_rng(0)
    inputs = {k: (float(rng.uniform(0.5, 1.5)) if s == () else rng.standard_normal(s) * 0.5)
              for k, s in shapes.items()}
    G_ = r.lambdify()(**inputs, **funcs)
    assert np.shape(G_) == np.shape(inputs[var])
    for e, fd in gradient_fd(f, inputs, var, rng):
        assert np.sum(G_ * e) == pytest.approx(fd, rel=1e-6, abs=1e-8)
    assert r.check().ok


def test_the_printed_derivative_parses_back():
    r = matdiff.diff("sum(f(W*x))", "W", types=F)
    again = matdiff.parse(str(r), types=F)
    assert str(again) == str(r)
    rng = np.random.default_rng(1)
    W, x = rng.standard_normal((3, 4)), rng.standard_normal(4)
    direct = matdiff.lambdify(str(r), types=F)(W=W, x=x, **TANH)
    assert np.allclose(direct, np.outer(1 - np.tanh(W @ x) ** 2, x))
    assert str(matdiff.parse("f′(x) + f''(x)", types=F)) == "f'(x) + f''(x)"


def test_unicode_and_latex_use_primes_and_nabla():
    r = matdiff.diff("sum(f(A*x)) + g(A*x)", "x", types={**F, **G})
    assert "f′(A x)" in r.unicode() and "∇g(A x)" in r.unicode()
    assert r"f^{\prime}\left(A x\right)" in r.latex() and r"\nabla g" in r.latex()


def test_hessian_through_f_needs_f_prime2():
    r = matdiff.diff("sum(f(A*x))", "x", types=F, order=2)
    assert str(r) == "A'*diag(f''(A*x))*A"
    rng = np.random.default_rng(2)
    A, x = rng.standard_normal((5, 3)), rng.standard_normal(3)
    H = r.lambdify()(A=A, x=x, **TANH)
    t = np.tanh(A @ x)
    assert np.allclose(H, A.T @ np.diag(-2 * t * (1 - t ** 2)) @ A)
    with pytest.raises(matdiff.MatdiffError, match="f_prime2"):
        r.lambdify()(A=A, x=x, f=np.tanh, f_prime=TANH["f_prime"])


def test_hessian_of_a_declared_scalar_function_is_refused():
    with pytest.raises(matdiff.UnsupportedError, match="Hessian of the declared scalar function 'g'"):
        matdiff.diff("g(A*x)", "x", types=G, order=2)


def test_generated_code_takes_the_callables():
    r = matdiff.diff("sum(f(W*x))", "W", types=F)
    src = r.to_code("numpy")
    assert "def derivative(W, x, f_prime):" in src
    ns: dict = {}
    exec(src, ns)
    rng = np.random.default_rng(3)
    W, x = rng.standard_normal((3, 4)), rng.standard_normal(4)
    assert np.allclose(ns["derivative"](W, x, TANH["f_prime"]), np.outer(1 - np.tanh(W @ x) ** 2, x))
    r = matdiff.diff("g(A*x)", "x", types=G)
    ns = {}
    exec(r.to_code("numpy"), ns)
    A = rng.standard_normal((5, 4))
    assert np.allclose(ns["derivative"](A, x, CUBE["grad_g"]), A.T @ (3 * (A @ x) ** 2))


def test_products_and_third_derivatives_through_declared_functions():
    r = matdiff.diff("f(A*x)", "x", types=F)
    rng = np.random.default_rng(4)
    A, x, v = rng.standard_normal((5, 3)), rng.standard_normal(3), rng.standard_normal(3)
    assert np.allclose(r.jvp()(v, A=A, x=x, **TANH), (1 - np.tanh(A @ x) ** 2) * (A @ v))
    t = matdiff.diff("sum(f(x))", "x", types=F, order=3)
    assert str(t) == "∂³f/∂x[a]∂x[b]∂x[c] = f'''(x[a])*delta(a,b)*delta(b,c)"


@pytest.mark.parametrize("expr, types, message", [
    ("f + x", F, "'f' is a declared function: call it as f(…)"),
    ("g'(x)", G, "its derivative is grad_g(…), not g'(…)"),
    ("sum(f(x, y))", F, "f() takes 1 argument, got 2"),
    ("sum(f'''''(x))", F, "at most 4 primes"),
])
def test_misuse_of_declared_functions(expr, types, message):
    with pytest.raises(matdiff.MatdiffError, match=message.replace("(", r"\(").replace(")", r"\)")):
        matdiff.diff(expr, "x", types=types)


@pytest.mark.parametrize("types, message", [
    ({"exp": "function"}, "'exp' is a built-in name"),
    ({"grad_h": "scalar function"}, "grad_NAME is the gradient"),
])
def test_bad_declarations(types, message):
    with pytest.raises(matdiff.MatdiffError, match=message):
        matdiff.diff("sum(x)", "x", types=types)


def test_cli_declares_functions():
    out, err = io.StringIO(), io.StringIO()
    code = run(["sum(f(W*x))", "W", "--function", "f", "--check"], out=out, err=err)
    assert code == 0 and out.getvalue().splitlines() == ["f'(W*x)*x'"] and "check ok" in err.getvalue()
    assert "does not occur" not in err.getvalue()
    out = io.StringIO()
    code = run(["g(A*x)", "x", "--scalar-function", "g"], out=out, err=err)
    assert code == 0 and out.getvalue().splitlines()[0] == "A'*grad_g(A*x)"


def test_several_variables_and_programs_through_declared_functions():
    rs = matdiff.diff("sum(f(W*x + b))", ["W", "b"], types=F)
    rng = np.random.default_rng(5)
    W, x, b = rng.standard_normal((3, 4)), rng.standard_normal(4), rng.standard_normal(3)
    fp = TANH["f_prime"](W @ x + b)
    assert np.allclose(rs["W"].lambdify()(W=W, x=x, b=b, **TANH), np.outer(fp, x))
    ns: dict = {}
    exec(rs.to_code(), ns)
    out = ns["gradients"](W, x, b, TANH["f_prime"])
    assert np.allclose(out["W"], np.outer(fp, x)) and np.allclose(out["b"], fp)
    r = matdiff.diff("z = W*x; y = f(z); L = sum(y)", "W", types=F)
    assert str(r) == "f'(z)*x'"
    for e, fd in gradient_fd(lambda W: np.sum(np.tanh(W @ x)), {"W": W}, "W", rng):
        assert np.sum(r.lambdify()(W=W, x=x, **TANH) * e) == pytest.approx(fd, rel=1e-6)


def test_check_tells_two_declared_functions_apart():
    """The check's stand-ins differ by name: an answer with f and h swapped is a mismatch."""
    from dataclasses import replace

    from matdiff.core import construct as C
    from matdiff.core.declared import Declared

    types = {"f": "function", "h": "function"}
    r = matdiff.diff("sum(f(x) .* h(A*x))", "x", types=types)
    assert r.check().ok
    swap = {e: Declared("h" if e.name == "f" else "f", e.arg, e.shape, e.kind, e.order)
            for e in r.value.walk() if isinstance(e, Declared)}
    wrong = replace(r, value=C.substitute(r.value, swap), _display=None)
    assert not wrong.check().ok
