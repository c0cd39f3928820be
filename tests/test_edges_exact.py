"""Exact numbers, integer powers and arguments singular by construction.

Division by a zero constant is one clear error; exact arithmetic is bounded (a power of
numbers beyond about 10^308 stays the power the user wrote, any other arithmetic that
would leave the range of exact numbers is refused), so nothing hangs and nothing prints
more than Python's 4,300 digits; a matrix power with a large exponent stays symbolic
(tr(Xᵏ) has the closed form k (Xᵏ⁻¹)ᵀ for every k, anything else above k = 64 is a
clear error); inv, det and logdet of the zero matrix or of a rank-one product x yᵀ are
a clear error or a correct value.  Derivatives are compared with central differences
of NumPy functions written here by hand, at distinct dimensions.
"""
from __future__ import annotations

import io
import json
import re
import time
import tracemalloc

import numpy as np
import pytest

import matdiff
from matdiff.cli import run

from fdutil import first_order_error, second_order_error

SECOND = 1.0  # every case below is answered within this (a generous bound on a shared machine: 3 s)


def cli(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = run(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def timed(fn, limit: float = 3 * SECOND, megabytes: float = 200.0):
    """fn(), failing when it takes longer than ``limit`` seconds or more than ``megabytes``."""
    tracemalloc.start()
    t = time.perf_counter()
    try:
        out = fn()
    finally:
        elapsed = time.perf_counter() - t
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert elapsed < limit, f"took {elapsed:.1f} s"
    assert peak < megabytes * 2**20, f"took {peak / 2**20:.0f} MB"
    return out


def outcome(expr: str, wrt: str, order: int = 1):
    """The result, or the MatdiffError, of diff; anything else fails the test."""
    try:
        return matdiff.diff(expr, wrt, order=order)
    except matdiff.MatdiffError as e:
        return e


def every_form(r) -> None:
    """Every printed form of a result, none of which may fail (no 4,300-digit limit)."""
    for text in (str(r), r.unicode(), r.latex(), json.dumps(r.to_dict()), str(r.steps)):
        assert text
    for target in ("numpy", "jax", "torch"):
        assert "def " in r.to_code(target)


# -- division by a zero constant ---------------------------------------------------------
DIVISIONS = [  # (expression, variable, the divisor's column, its width)
    ("x'x/0", "x", 5, 1),
    ("0/0*x'x", "x", 3, 1),
    ("tr(X)/0", "X", 7, 1),
    ("x'x/(1-1)", "x", 5, 5),
    ("x ./ 0", "x", 6, 1),
    ("sum(x ./ (x - x))", "x", 10, 7),
    ("tr(X)/(beta - beta)", "X", 7, 13),
]


@pytest.mark.parametrize("expr,wrt,column,width", DIVISIONS)
def test_division_by_a_zero_constant_is_one_clear_error(expr, wrt, column, width):
    with pytest.raises(matdiff.UndefinedError, match="division by zero") as info:
        timed(lambda: matdiff.diff(expr, wrt))
    assert (info.value.column, info.value.width) == (column, width)
    code, out, err = cli(expr, wrt)
    assert code == 2 and out == ""
    lines = err.splitlines()
    assert lines[0].startswith(f"matdiff: undefined at column {column}: division by zero")
    assert lines[2] == "  " + " " * (column - 1) + "^" * width
    assert "Traceback" not in err


@pytest.mark.parametrize("expr", ["(0^-1)*x'x", "x'x*0^(-2)", "sum(0 .^ -1 .* x)", "inv(0)*x'x"])
def test_zero_to_a_negative_power_is_a_division_by_zero(expr):
    with pytest.raises(matdiff.UndefinedError, match="division by zero"):
        matdiff.diff(expr, "x")
    code, _, err = cli(expr, "x")
    assert code == 2 and "^" in err.splitlines()[-1]


def test_division_by_a_nonzero_constant_is_unchanged():
    """x'x/(1 - 3) = -x'x/2: gradient -x."""
    r = matdiff.diff("x'x/(1-3)", "x")
    x = np.random.default_rng(0).standard_normal(5)
    err = first_order_error(lambda x: -0.5 * x @ x, {"x": x}, "x", r.lambdify()(x=x))
    assert err < 1e-7


# -- bounded exact arithmetic ------------------------------------------------------------------
RUNAWAYS = [
    ("beta^3^3^3^3^3", "beta", 1),
    ("beta^3^3^3^3^3", "beta", 3),
    ("(x'x)^2^2^2^2^2", "x", 1),
    ("(x'x)^2^2^2^2^2", "x", 2),
    ("(x'x)^2^2^2^2^2^2", "x", 1),
    ("(x'x)^(10^(10^10))", "x", 1),
    ("2^100000*tr(X)", "X", 1),
    ("2^(2^64)*tr(X)", "X", 1),
    ("1e+99999999999999*tr(X)", "X", 1),
    ("1e99999*x'x", "x", 1),
    ("3^2000*1e1000*tr(X)", "X", 1),
    ("10^2000*10^2000*tr(X)", "X", 1),
    ("((((2^1e1000)^1e1000)^1e1000)^1e1000)^1e1000*tr(X)", "X", 1),
    ("tr((((X^1e300)^1e300)^1e300)^1e300)", "X", 1),
    ("(x'x)^(1e1000)", "x", 2),
    ("1e1000*1e1000*1e1000*1e1000*1e1000*tr(X)", "X", 1),
    ("1e-1000*1e-1000*1e-1000*1e-1000*1e-1000*tr(X)", "X", 1),
]


@pytest.mark.parametrize("expr,wrt,order", RUNAWAYS)
def test_huge_exact_numbers_are_answered_at_once_and_print(expr, wrt, order):
    r = timed(lambda: outcome(expr, wrt, order))
    if isinstance(r, matdiff.MatdiffError):
        assert r.kind in ("syntax error", "unsupported") and r.column is not None or "exact number" in r.message
        code, out, err = cli(expr, wrt, "--order", str(order))
        assert code == 2 and out == "" and "Traceback" not in err
    else:
        timed(lambda: every_form(r))
        assert max(map(len, re.findall("[0-9]+", str(r)))) < 1300  # never near 4,300 digits


def test_a_power_beyond_the_float_range_stays_the_power_written():
    assert str(matdiff.diff("2^100000*tr(X)", "X")) == "2^100000*I"
    assert str(matdiff.diff("2^(2^64)*tr(X)", "X")) == "2^18446744073709551616*I"
    assert str(matdiff.diff("2^10*tr(X)", "X")) == "1024*I"  # a small power still folds


def test_a_product_beyond_the_range_of_exact_numbers_is_refused_with_a_caret():
    with pytest.raises(matdiff.UnsupportedError, match="exact number") as info:
        matdiff.diff("1e1000*1e1000*tr(X)", "X")
    assert info.value.column == 1
    code, out, err = cli("1e1000*1e1000*tr(X)", "X")
    assert code == 2 and out == "" and err.splitlines()[-1].strip().startswith("^")


def test_a_symbolic_power_of_a_number_evaluates_to_its_value():
    """d/dX 1.001^2000 tr(A X B) = 1.001^2000 A'B' (the power stays symbolic: 20,000 bits exact)."""
    r = matdiff.diff("1.001^2000*tr(A*X*B)", "X")
    assert "1.001^2000" in str(r)
    rng = np.random.default_rng(3)
    A, X, B = rng.standard_normal((3, 4)), rng.standard_normal((4, 5)), rng.standard_normal((5, 3))
    f = lambda A, X, B: 1.001 ** 2000 * np.trace(A @ X @ B)  # noqa: E731
    err = first_order_error(f, {"A": A, "X": X, "B": B}, "X", r.lambdify()(A=A, X=X, B=B))
    assert err < 1e-7


def test_a_symbolic_exponent_differentiates_by_the_power_rule():
    """d/dbeta beta^(2^70) at beta = 1 is 2^70; d/dx (x'x)^(2^2^2) = 2·16 (x'x)^15 x."""
    r = matdiff.diff("beta^(2^70)", "beta")
    assert r.lambdify()(beta=1.0) == pytest.approx(2.0 ** 70)
    r = matdiff.diff("(x'x)^2^2^2", "x")
    x = np.random.default_rng(4).standard_normal(3) / 2
    err = first_order_error(lambda x: (x @ x) ** 16, {"x": x}, "x", r.lambdify()(x=x))
    assert err < 1e-7


# -- integer matrix powers -------------------------------------------------------------------
def scaled(rng, n: int) -> np.ndarray:
    """A well-conditioned n×n matrix of spectral radius about 1: an orthogonal matrix, nudged."""
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return q * 0.98 + 0.02 * rng.standard_normal((n, n)) / np.sqrt(n)


def mpow(X, k):
    out = np.eye(X.shape[0])
    for _ in range(k):
        out = out @ X
    return out


@pytest.mark.parametrize("k", [7, 64, 65, 200])
def test_trace_of_a_power_matches_finite_differences(k):
    """d tr(Xᵏ) = k tr(Xᵏ⁻¹ dX): gradient k (Xᵏ⁻¹)ᵀ, plus tr(A X B) for distinct dimensions."""
    r = timed(lambda: matdiff.diff(f"tr(X^{k}) + tr(A*X*B)", "X"))
    rng = np.random.default_rng(k)
    X, A, B = scaled(rng, 4), rng.standard_normal((3, 4)), rng.standard_normal((4, 3))
    f = lambda X, A, B: np.trace(mpow(X, k)) + np.trace(A @ X @ B)  # noqa: E731
    err = first_order_error(f, {"X": X, "A": A, "B": B}, "X", r.lambdify()(X=X, A=A, B=B))
    assert err < 1e-6, f"{r} is off by {err:.1e}"


@pytest.mark.parametrize("k", [7, 65, 100])
def test_trace_of_a_product_to_a_power(k):
    """d tr((AB)ᵏ) by A = k ((AB)ᵏ⁻¹)ᵀ Bᵀ, A m×n and B n×m."""
    r = timed(lambda: matdiff.diff(f"tr((A*B)^{k})", "A"))
    rng = np.random.default_rng(k + 1)
    A, B = rng.standard_normal((3, 5)), rng.standard_normal((5, 3))
    A /= np.max(np.abs(np.linalg.eigvals(A @ B))) ** 0.5 * 1.01
    f = lambda A, B: np.trace(mpow(A @ B, k))  # noqa: E731
    err = first_order_error(f, {"A": A, "B": B}, "A", r.lambdify()(A=A, B=B))
    assert err < 1e-6, f"{r} is off by {err:.1e}"


@pytest.mark.parametrize("k", [3, 70])
def test_trace_of_a_negative_power(k):
    """tr(X⁻ᵏ) = tr(inv(X)ᵏ): gradient −k (X⁻ᵏ⁻¹)ᵀ."""
    r = timed(lambda: matdiff.diff(f"tr(X^-{k})", "X"))
    rng = np.random.default_rng(k)
    X = scaled(rng, 4)
    f = lambda X: np.trace(mpow(np.linalg.inv(X), k))  # noqa: E731
    err = first_order_error(f, {"X": X}, "X", r.lambdify()(X=X))
    assert err < 1e-6, f"{r} is off by {err:.1e}"


@pytest.mark.parametrize("k", [7, 65])
def test_hessian_of_a_trace_power_up_to_the_bound(k):
    """d² tr(Xᵏ) = k Σⱼ tr(Xʲ dX Xᵏ⁻²⁻ʲ dX), written out while k − 1 ≤ 64."""
    r = timed(lambda: matdiff.diff(f"tr(X^{k})", "X", order=2), limit=10 * SECOND)
    rng = np.random.default_rng(k)
    X = scaled(rng, 3)
    f = lambda X: np.trace(mpow(X, k))  # noqa: E731
    err = second_order_error(f, {"X": X}, "X", r.lambdify()(X=X), h=1e-3)
    assert err < 1e-4


@pytest.mark.parametrize("k", [100000, 1000000000, 10**30 - 1])
def test_gradient_of_a_trace_power_for_any_exponent(k):
    r = timed(lambda: matdiff.diff(f"tr(X^{k})", "X"))
    assert str(r) == f"{k}*X'^{k - 1}"
    timed(lambda: every_form(r))


@pytest.mark.parametrize("expr,wrt,order", [
    ("tr(X^100000)", "X", 2),
    ("X^-100000", "X", 1),
    ("sum(X^100)", "X", 1),
    ("x'*X^65*x", "X", 1),
    ("tr(A*X^65)", "X", 1),
    ("tr(X^" + "9" * 30 + ")", "X", 2),
])
def test_a_power_that_cannot_be_written_out_is_refused_at_once(expr, wrt, order):
    with pytest.raises(matdiff.UnsupportedError, match="up to 64") as info:
        timed(lambda: matdiff.diff(expr, wrt, order=order))
    assert "tr(X" in info.value.message
    code, out, err = cli(expr, wrt, "--order", str(order))
    assert code == 2 and out == "" and "Traceback" not in err


def test_a_power_below_the_bound_is_still_written_out():
    """d x'X⁷x = Σᵢ x'Xⁱ dX X⁶⁻ⁱ x, checked against differences."""
    r = matdiff.diff("a'*X^7*b", "X")
    rng = np.random.default_rng(7)
    a, b, X = rng.standard_normal(4), rng.standard_normal(4), scaled(rng, 4)
    f = lambda a, X, b: a @ mpow(X, 7) @ b  # noqa: E731
    err = first_order_error(f, {"a": a, "X": X, "b": b}, "X", r.lambdify()(a=a, X=X, b=b))
    assert err < 1e-6


# -- arguments singular by construction ---------------------------------------------------------
@pytest.mark.parametrize("expr,wrt,column,words", [
    ("det(x*y')", "x", 5, "rank one"),
    ("det(x*x')", "x", 5, "rank one"),
    ("logdet(x*x')", "x", 8, "rank one"),
    ("logdet(2*x*x')", "x", 8, "rank one"),
    ("tr(inv(A*x*y'*B))", "x", 8, "rank one"),
    ("tr(inv(X - X))", "X", 8, "zero matrix"),
    ("logdet(X - X) + tr(X)", "X", 8, "zero matrix"),
    ("tr(inv(0*X))", "X", 8, "zero matrix"),
    ("tr(X^-2 - (X - X)^-1)", "X", 12, "zero matrix"),
])
def test_singular_arguments_are_a_clear_error(expr, wrt, column, words):
    with pytest.raises(matdiff.UndefinedError, match=words) as info:
        timed(lambda: matdiff.diff(expr, wrt))
    assert info.value.column == column
    code, out, err = cli(expr, wrt)
    assert code == 2 and out == "" and "Traceback" not in err and "^" in err


def test_det_of_the_zero_matrix_is_zero():
    """det(X − X) = 0 for every size: the gradient of det(X − X) + tr(A X B) is AᵀBᵀ."""
    r = matdiff.diff("det(X - X) + tr(A*X*B)", "X")
    rng = np.random.default_rng(5)
    A, X, B = rng.standard_normal((3, 4)), rng.standard_normal((4, 4)), rng.standard_normal((4, 3))
    f = lambda A, X, B: np.linalg.det(X - X) + np.trace(A @ X @ B)  # noqa: E731
    err = first_order_error(f, {"A": A, "X": X, "B": B}, "X", r.lambdify()(A=A, X=X, B=B))
    assert err < 1e-7


def test_full_rank_arguments_are_unchanged():
    """det(X + x y') by x = det(M) M⁻ᵀ y, M = X + x yᵀ: a sum of a matrix and a rank-one term is no error."""
    r = matdiff.diff("det(X + x*y')", "x")
    rng = np.random.default_rng(6)
    X, x, y = 2 * np.eye(4) + 0.3 * rng.standard_normal((4, 4)), rng.standard_normal(4), rng.standard_normal(4)
    f = lambda X, x, y: np.linalg.det(X + np.outer(x, y))  # noqa: E731
    err = first_order_error(f, {"X": X, "x": x, "y": y}, "x", r.lambdify()(X=X, x=x, y=y))
    assert err < 1e-7


# -- det(M)·M⁻¹ evaluated as the adjugate ------------------------------------------------------
@pytest.mark.parametrize("rank", [3, 2, 1])
def test_gradient_of_det_is_finite_and_right_where_the_argument_is_singular(rank):
    """d det(A X B) = tr(adj(AXB) A dX B): at an X of low rank, AXB (3×3) is singular and
    det(AXB)·inv(AXB) is evaluated as the adjugate, finite (0 when rank AXB ≤ 1)."""
    r = matdiff.diff("det(A*X*B)", "X")
    assert "inv(" in str(r)  # the printed answer keeps its textbook form
    rng = np.random.default_rng(rank)
    A, B = rng.standard_normal((3, 4)), rng.standard_normal((5, 3))
    X = rng.standard_normal((4, rank)) @ rng.standard_normal((rank, 5))
    assert np.linalg.matrix_rank(A @ X @ B) == min(rank, 3)
    G = r.lambdify()(A=A, X=X, B=B)
    assert np.all(np.isfinite(G))
    f = lambda A, X, B: np.linalg.det(A @ X @ B)  # noqa: E731
    err = first_order_error(f, {"A": A, "X": X, "B": B}, "X", G, floor=1.0)  # G = 0 at rank 1
    assert err < 1e-6


def test_adjugate_agrees_with_det_times_inverse_where_both_exist():
    from matdiff.backends.evaluate import adjugate
    rng = np.random.default_rng(9)
    for n in (1, 2, 5):
        M = rng.standard_normal((n, n))
        assert np.allclose(adjugate(M), np.linalg.det(M) * np.linalg.inv(M), atol=1e-12)
    M = np.array([[1.0, 2.0], [2.0, 4.0]])  # adj [[a, b], [c, d]] = [[d, -b], [-c, a]]
    assert np.allclose(adjugate(M), [[4.0, -2.0], [-2.0, 1.0]])


# -- numbers beyond the float range in printed answers and generated code -------------------------
@pytest.mark.parametrize("expr,printed", [
    ("3e-400*beta", "3e-400"), ("-2.5e-400*beta", "-25e-401"), ("beta/1e1000", "1e-1000"),
    ("0.1*beta", "0.1"), ("beta/2^100", "1/1267650600228229401496703205376"),
])
def test_a_tiny_exact_number_prints_exactly_and_parses_back(expr, printed):
    """3e-400 is not the float 0.0: the printed text is the exact number and reads back as it."""
    r = matdiff.diff(expr, "beta")
    assert str(r) == printed
    assert matdiff.parse(printed).expr == matdiff.parse(expr).expr.factors[0]


@pytest.mark.parametrize("expr,wrt", [("(1e1000/3)*tr(A*X)", "X"), ("-1e400*tr(A*X)", "X"),
                                      ("sum(x .^ 1e1000) * (2/3)", "x"), ("(2/3)*tr(A*X)", "X")])
def test_generated_code_for_numbers_beyond_the_float_range_runs(expr, wrt):
    """Beyond the float range the generated code computes with ±inf, as evaluation does."""
    r = matdiff.diff(expr, wrt)
    ns: dict = {}
    exec(r.to_code("numpy"), ns)  # noqa: S102 - matdiff's own generated code
    rng = np.random.default_rng(0)
    inputs = {"A": rng.standard_normal((3, 4)), "X": rng.standard_normal((4, 3))} if wrt == "X" \
        else {"x": rng.uniform(0.5, 1.5, 4)}
    with np.errstate(all="ignore"):
        got, want = ns["derivative"](**inputs), r.lambdify()(**inputs)
    np.testing.assert_array_equal(np.isinf(got), np.isinf(want))
    np.testing.assert_allclose(np.nan_to_num(got), np.nan_to_num(want))
    if expr.startswith("(2/3)"):
        np.testing.assert_allclose(got, 2 / 3 * inputs["A"].T)


@pytest.mark.parametrize("rank", [4, 3, 2])
def test_generated_code_computes_the_adjugate_where_the_argument_is_singular(rank):
    """The NumPy code of d det(X + x yᵀ)/dx = adj(M)ᵀ y, M = X + x yᵀ, runs at a singular M."""
    r = matdiff.diff("det(X + x*y')", "x")
    src = r.to_code("numpy")
    assert "adjugate(" in src
    ns: dict = {}
    exec(src, ns)  # noqa: S102 - matdiff's own generated code
    rng = np.random.default_rng(rank)
    x, y = rng.standard_normal(4), rng.standard_normal(4)
    X = rng.standard_normal((4, rank)) @ rng.standard_normal((rank, 4)) - np.outer(x, y)
    assert np.linalg.matrix_rank(X + np.outer(x, y)) == rank
    g = ns["derivative"](X=X, x=x, y=y)
    assert np.all(np.isfinite(g))
    f = lambda X, x, y: np.linalg.det(X + np.outer(x, y))  # noqa: E731
    assert first_order_error(f, {"X": X, "x": x, "y": y}, "x", g, floor=1.0) < 1e-6


def test_the_trace_of_a_sum_of_large_powers_goes_term_by_term():
    """d tr(X¹⁰⁰ − 3β X⁷⁰ + A X B) = tr((100 X⁹⁹ − 210 β X⁶⁹) dX) + tr(B A dX); by β: −3 tr(X⁷⁰)."""
    expr = "tr(X^100 - 3*beta*X^70 + A*X*B)"
    rng = np.random.default_rng(11)
    X, A, B, beta = scaled(rng, 4), rng.standard_normal((4, 4)), rng.standard_normal((4, 4)), 0.7
    f = lambda X, A, B, beta: np.trace(mpow(X, 100) - 3 * beta * mpow(X, 70) + A @ X @ B)  # noqa: E731
    inputs = {"X": X, "A": A, "B": B, "beta": beta}
    for wrt in ("X", "beta"):
        r = timed(lambda: matdiff.diff(expr, wrt))
        err = first_order_error(f, inputs, wrt, r.lambdify()(**inputs))
        assert err < 1e-6, f"d/d{wrt}: {r} is off by {err:.1e}"


@pytest.mark.parametrize("program,words,column", [
    ("M = x*y'; L = det(M)", "rank one", 15),
    ("M = X - X; L = logdet(M) + tr(X)", "zero matrix", 16),
    ("c = 1 - 1; L = x'x/c", "division by zero", 16),
])
def test_a_definition_that_makes_an_expression_undefined_is_a_clear_error(program, words, column):
    with pytest.raises(matdiff.UndefinedError, match=words) as info:
        matdiff.diff(program, "x")
    assert info.value.column == column
    code, out, err = cli(program, "x")
    assert code == 2 and out == "" and "Traceback" not in err and "^" in err
