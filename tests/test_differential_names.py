"""The differential is a node, not a name: variables called dx, dX, d, dd work everywhere
(API, CLI, steps, generated code, Hessian-vector products), each checked against
central finite differences of NumPy written by hand."""
from __future__ import annotations

import io

import numpy as np

import matdiff
from matdiff.cli import run
from fdutil import first_order_error, second_order_error, vec


def cli(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = run(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def load(src: str, name: str = "derivative"):
    namespace: dict = {}
    exec(compile(src, "<matdiff generated>", "exec"), namespace)  # noqa: S102 - the code under test
    return namespace[name]


RNG = np.random.default_rng(8)
x, dx, a = RNG.standard_normal(4), RNG.standard_normal(4), RNG.standard_normal(4)
A = RNG.standard_normal((3, 4))
S = RNG.standard_normal((4, 4))
dX, B = RNG.standard_normal((3, 5)), RNG.standard_normal((3, 3))


def test_a_variable_named_dx_next_to_x():
    r = matdiff.diff("x'*dx", "x")
    assert r.text == "dx"
    f = lambda x, dx: x @ dx  # noqa: E731
    assert first_order_error(f, {"x": x, "dx": dx}, "x", r.lambdify()(x=x, dx=dx)) < 1e-8


def test_a_sum_with_a_variable_named_dx():
    r = matdiff.diff("a'*x + dx'*x", "x")
    f = lambda a, x, dx: a @ x + dx @ x  # noqa: E731
    inputs = {"a": a, "x": x, "dx": dx}
    assert first_order_error(f, inputs, "x", r.lambdify()(**inputs)) < 1e-8


def test_differentiating_by_dx_with_x_present():
    r = matdiff.diff("sum(exp(A*dx)) + x'*dx", "dx")
    f = lambda A, dx, x: np.sum(np.exp(A @ dx)) + x @ dx  # noqa: E731
    inputs = {"A": A, "dx": dx, "x": x}
    assert first_order_error(f, inputs, "dx", r.lambdify()(**inputs)) < 1e-7


def test_cli_by_x_and_by_dx():
    code, out, err = cli("x'*dx", "x")
    assert code == 0 and out.splitlines()[0] == "dx"
    code, out, _ = cli("a'*x + dx'*x", "x", "--check")
    assert code == 0
    code, out, err = cli("tr(dX'*B*dX)", "dX", "--matrix", "dX", "--check")
    assert code == 0 and "check ok" in out + err


def test_steps_write_the_differential_apart_from_a_variable_named_dx():
    r = matdiff.diff("x'*dx + sum(exp(x))", "x")
    assert any("d(x)" in line for line in r.steps)
    assert r.steps[-1] == f"∂f/∂x = {r.text}"
    g = r.lambdify()(x=x, dx=dx)
    f = lambda x, dx: x @ dx + np.sum(np.exp(x))  # noqa: E731
    assert first_order_error(f, {"x": x, "dx": dx}, "x", g) < 1e-7


def test_steps_by_dd_with_d_present():
    r = matdiff.diff("dd'*S*d + sum(exp(dd))", "dd")
    assert r.steps[-1].startswith("∂f/∂dd = ")
    f = lambda dd, S, d: dd @ S @ d + np.sum(np.exp(dd))  # noqa: E731
    inputs = {"dd": dx, "S": S, "d": x}
    assert first_order_error(f, inputs, "dd", r.lambdify()(**inputs)) < 1e-7


def test_generated_code_for_a_matrix_named_dX():
    r = matdiff.diff("tr(dX'*B*dX) + sum(exp(dX))", "dX", types={"dX": "matrix"})
    g = load(r.to_code("numpy"))(dX=dX, B=B)
    f = lambda dX, B: np.trace(dX.T @ B @ dX) + np.sum(np.exp(dX))  # noqa: E731
    assert first_order_error(f, {"dX": dX, "B": B}, "dX", g) < 1e-7


def test_hessian_and_hvp_by_d_with_dd_present():
    r = matdiff.diff("d'*S*d + sum(exp(d))*(dd'*d)", "d", order=2)
    f = lambda d, S, dd: d @ S @ d + np.sum(np.exp(d)) * (dd @ d)  # noqa: E731
    inputs = {"d": x, "S": S, "dd": dx}
    H = r.lambdify()(**inputs)
    assert second_order_error(f, inputs, "d", H) < 1e-5
    v = RNG.standard_normal(4)
    np.testing.assert_allclose(r.hvp()(v, **inputs), H @ v, rtol=1e-10, atol=1e-12)
    src = r.to_code("numpy")
    np.testing.assert_allclose(load(src)(**inputs), H, rtol=1e-10, atol=1e-12)


def test_hessian_of_a_matrix_named_dX_by_finite_differences():
    r = matdiff.diff("tr(dX'*B*dX*dX'*dX)", "dX", order=2, types={"dX": "matrix"})
    f = lambda dX, B: np.trace(dX.T @ B @ dX @ dX.T @ dX)  # noqa: E731
    inputs = {"dX": dX, "B": B}
    assert second_order_error(f, inputs, "dX", r.lambdify()(**inputs)) < 1e-5
    V = RNG.standard_normal(dX.shape)
    np.testing.assert_allclose(vec(r.hvp()(V, **inputs)), r.lambdify()(**inputs) @ vec(V), rtol=1e-9)


def test_a_program_in_a_variable_named_dx_writes_its_differential_apart():
    r = matdiff.diff("z = W*dx; L = sum(sigmoid(z))", "dx")
    assert any("d(dx)" in line for line in r.steps) and not any("ddx" in line for line in r.steps)
    W = RNG.standard_normal((3, 4))
    f = lambda W, dx: np.sum(1 / (1 + np.exp(-W @ dx)))  # noqa: E731
    assert first_order_error(f, {"W": W, "dx": dx}, "dx", r.lambdify()(W=W, dx=dx)) < 1e-7
