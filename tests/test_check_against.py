"""Checking a claimed answer (SPEC §4 ``--against``, §5 ``matdiff.check``): wrong answers
are reported mismatch whatever the size of f, right ones ok, overflowing ones could not
check — and never a NumPy warning.

Every right answer below is written by hand from the textbook identities; each wrong
one is a typical slip: transposed, scaled by 1 + 10⁻⁴, sign-flipped, unsymmetrised,
off by a constant."""
from __future__ import annotations

import io
import json
import warnings

import numpy as np
import pytest

import matdiff
from matdiff.backends.check import MISMATCH, OK, UNCHECKED, extrapolate, varying_part
from matdiff.cli import run

SYM = {"S": "symmetric"}

# (expression, variable, types, order, right answer, wrong answers)
TABLE = [
    # gradients (+ tr(P) makes P square, so that the transpose keeps the shape)
    ("tr(A*P) + tr(P)", "P", {}, 1, "A' + I", ["A + I", "1.0001*A' + I", "-A' - I", "A' + I + 1"]),
    ("1e10 + tr(A*X)", "X", {}, 1, "A'", ["A' + 1", "1.0001*A'", "-A'", "A'*(1 + 1e-4)"]),
    ("exp(30) + tr(A*X)", "X", {}, 1, "A'", ["matrix(1)", "A' + 1", "1.0001*A'"]),
    ("1e-9*x'x", "x", {}, 1, "2e-9*x", ["-2e-9*x", "2.0002e-9*x", "2e-9*x + 1e-9", "2e-9*x + 1"]),
    ("1e10*(1 + x'x)", "x", {}, 1, "2e10*x", ["-2e10*x", "2.0002e10*x", "2e10*x + 1e7"]),
    ("x'P x + 1e12", "x", {}, 1, "(P + P')*x", ["2*P*x", "2*P'*x", "1.0001*(P + P')*x", "(P + P')*x + 1"]),
    ("tr(A*S)", "S", SYM, 1, "(A + A')/2", ["A'", "A", "1.0001*(A + A')/2", "(A + A')/2 + 1"]),
    ("logdet(S) + 1e8", "S", SYM, 1, "inv(S)", ["-inv(S)", "1.0001*inv(S)", "inv(S) + 1", "inv(S) + S"]),
    ("sum(exp(x)) - 1e15", "x", {}, 1, "exp(x)", ["-exp(x)", "1.0001*exp(x)", "exp(x) + 1"]),
    # Jacobians (P*x + x: P square) and derivatives by a scalar
    ("P*x + x", "x", {}, 1, "P + I", ["P' + I", "1.0001*P + I", "-P - I", "P + I + 1"]),
    ("1e-9*A*x + 1e9*a", "x", {}, 1, "1e-9*A", ["-1e-9*A", "1.0001e-9*A", "1e-9*A + 1e-9"]),
    ("A*P*B", "P", {}, 1, "kron(B', A)", ["kron(B, A')", "1.0001*kron(B', A)", "-kron(B', A)"]),
    ("beta*P + 1e10*P'", "beta", {}, 1, "P", ["P'", "-P", "1.0001*P", "P + 1"]),
    # Hessians
    ("x'P x", "x", {}, 2, "P + P'", ["2*P", "2*P'", "1.0001*(P + P')", "-(P + P')", "P + P' + 1"]),
    ("1e10 + sum(exp(x))", "x", {}, 2, "diag(exp(x))",
     ["-diag(exp(x))", "1.0001*diag(exp(x))", "diag(exp(x)) + 1"]),
    ("1e-9*(x'x)^2", "x", {}, 2, "8e-9*x*x' + 4e-9*(x'x)*I",
     ["-(8e-9*x*x' + 4e-9*(x'x)*I)", "1.0001*(8e-9*x*x' + 4e-9*(x'x)*I)", "8e-9*x*x' + 4e-9*I",
      "4e-9*x*x' + 2e-9*(x'x)*I"]),
    ("exp(30) + beta^3", "beta", {}, 2, "6*beta", ["-6*beta", "6.0006*beta", "6*beta + 1"]),
]

CASES = [(e, w, t, o, a) for e, w, t, o, _, wrongs in TABLE for a in wrongs]


def _quiet_check(*args, **kwargs):
    """matdiff.check with every warning an error: no NumPy warning may leak."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return matdiff.check(*args, **kwargs)


@pytest.mark.parametrize("expr,wrt,types,order,right", [(e, w, t, o, a) for e, w, t, o, a, _ in TABLE])
def test_the_right_answer_is_ok(expr, wrt, types, order, right):
    report = _quiet_check(expr, wrt, right, types=types, order=order)
    assert report.status == OK and report.ok and report.exit_code == 0, str(report)
    assert report.max_rel_error < 1e-6 and str(report).startswith("check ok")


@pytest.mark.parametrize("expr,wrt,types,order,wrong", CASES)
def test_a_wrong_answer_is_a_mismatch(expr, wrt, types, order, wrong):
    report = _quiet_check(expr, wrt, wrong, types=types, order=order)
    assert report.status == MISMATCH and not report.ok and report.exit_code == 1, str(report)
    assert str(report).startswith("check MISMATCH")


def test_a_wrong_shape_names_both_shapes():
    r = _quiet_check("tr(A*X)", "X", "A")  # A is m×n, X (so the gradient) n×m
    assert r.status == MISMATCH and "m×n" in str(r) and "n×m" in str(r) and "gradient" in str(r)
    r = _quiet_check("A*X*B", "X", "kron(B, A')")
    assert r.status == MISMATCH and "Jacobian" in str(r)
    r = _quiet_check("x'x", "x", "2*x'")  # a row where the gradient is a column
    assert r.status == MISMATCH and "1×m" in str(r) and "m×1" in str(r)
    r = _quiet_check("x'P x", "x", "(P + P')*x", order=2)
    assert r.status == MISMATCH and "Hessian" in str(r)


def test_overflow_and_underflow_cannot_be_checked():
    for expr, answer in [("exp(1e5*x'x)", "2e5*exp(1e5*x'x)*x"), ("1e308*x'x*10", "2e309*x"),
                         ("tr(X^100000)", "100000*X'^99999"), ("x'x*1e-320", "2e-320*x")]:
        r = _quiet_check(expr, "X" if "X" in expr else "x", answer)
        assert r.status == UNCHECKED and r.exit_code == 3 and not r.ok, (expr, str(r))
        assert str(r).startswith("check could not be made")


def test_right_answers_of_large_powers_and_huge_scales_are_not_mismatches():
    for expr, wrt, answer in [("tr(X^2000)", "X", "2000*X'^1999"), ("1e300*x'x", "x", "2e300*x")]:
        r = _quiet_check(expr, wrt, answer)
        assert r.status in (OK, UNCHECKED), str(r)
        assert _quiet_check(expr, wrt, f"1.0001*({answer})").status in (MISMATCH, UNCHECKED)
    assert _quiet_check("1e300*x'x", "x", "2e300*x").status == OK
    assert _quiet_check("1e300*x'x", "x", "-2e300*x").status == MISMATCH


def test_matdiffs_own_results_pass_the_same_check():
    for expr, wrt, types, order in [("1e10 + tr(A*X)", "X", {}, 1), ("tr(A*S)", "S", SYM, 1),
                                    ("1e-9*x'x", "x", {}, 2), ("tr(X^2000)", "X", {}, 1),
                                    ("1e300*x'x", "x", {}, 1), ("A*X*B", "X", {}, 1)]:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            r = matdiff.diff(expr, wrt, types=types, order=order).check()
        assert r.status in (OK, UNCHECKED) and (r.status == OK or "X^2000" in expr), (expr, str(r))


def test_several_variables_and_zero_answers():
    expr = "x'W x + b'x + 1e10"
    r = _quiet_check(expr, ["x", "b"], ["(W + W')*x + b", "x"])
    assert r.status == OK and r.exit_code == 0
    r = _quiet_check(expr, ["x", "b"], {"b": "x", "x": "2*W*x + b"})
    assert r.status == MISMATCH and r.exit_code == 1 and r.reports["b"].status == OK
    assert _quiet_check("tr(A)", "X", "0").status == OK  # 0 is the zero of any shape
    assert _quiet_check("tr(A*X)", "X", "0").status == MISMATCH
    with pytest.raises(matdiff.UsageError):
        matdiff.check(expr, ["x", "b"], ["x"])


def test_sympy_answers_and_bad_input():
    import sympy as sp

    n = sp.Symbol("n")
    A, X = sp.MatrixSymbol("A", n, n), sp.MatrixSymbol("X", n, n)
    assert _quiet_check("tr(A*X)", "X", A.T).status == OK
    assert _quiet_check("tr(A*X)", "X", A).status == MISMATCH
    with pytest.raises(matdiff.ParseError):
        matdiff.check("tr(A*X)", "X", "A'+")
    with pytest.raises(matdiff.UsageError, match="'B'"):
        matdiff.check("tr(A*X)", "X", "B'")
    with pytest.raises(matdiff.ShapeError):  # m×n times m×n: the answer cannot make m = n
        matdiff.check("tr(A*X)", "X", "A*A")
    with pytest.raises(matdiff.UsageError):
        matdiff.check("tr(A*X)", "X", "A'", order=3)
    with pytest.raises(matdiff.UnsupportedError):
        matdiff.check("A*x", "x", "A", order=2)
    with pytest.raises(matdiff.UsageError):
        matdiff.check("tr(A*X)", "X", 3)


def test_the_report_renders_in_text_json_and_jupyter():
    r = matdiff.check("1e10 + tr(A*X)", "X", "A' + 1")
    d = r.to_dict()
    assert d["status"] == MISMATCH and json.loads(json.dumps(d))["ok"] is False
    assert "random point" in r.where and "direction" in r.where and "worst entry (" in r.where
    assert "MISMATCH" in r._repr_html_() and "<div" in r._repr_html_()
    ok = matdiff.check("tr(A*X)", "X", "A'")
    assert "ok" in ok._repr_html_() and ok.to_dict()["max_rel_error"] < 1e-6


def test_huge_constants_are_dropped_before_differencing():
    p = matdiff.parse("1e10 + 3*(exp(30) + tr(A*X))'")
    g = varying_part(p.expr, "X")
    assert "e+" not in str(g) and "exp" not in str(g) and "X" in str(g)
    # and the part left has the same differences as the whole, in exact arithmetic
    rng = np.random.default_rng(1)
    A, X, E = rng.standard_normal((3, 4)), rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    f = matdiff.lambdify(str(g))
    assert np.isclose(f(A=A, X=X + E) - f(A=A, X=X - E), 3 * np.trace(A @ (2 * E)))


def test_extrapolation_reaches_full_accuracy_and_knows_its_error():
    d, err = extrapolate(lambda h: ((np.exp(1 + h) - np.exp(1 - h)) / (2 * h), 1e-16 / h), 0.1, 1e-14)
    assert abs(d - np.e) < 1e-12 and err < 1e-9


def cli(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = run(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def test_cli_exit_codes():
    code, out, err = cli("tr(A*X)", "X", "--against", "A'")
    assert code == 0 and out == "" and err.startswith("check ok")
    code, out, err = cli("1e10 + tr(A*X)", "X", "--against", "A' + 1")
    assert code == 1 and err.startswith("check MISMATCH")
    code, out, err = cli("tr(A*X)", "X", "--against", "A")
    assert code == 1 and "n×m" in err
    code, out, err = cli("tr(A*X)", "X", "--against", "A'+")
    assert code == 2 and err.startswith("matdiff: syntax error") and "^" in err and "Traceback" not in err
    code, out, err = cli("tr(A*X)", "X", "--against", "B")
    assert code == 2 and len(err.strip().splitlines()) == 1
    code, out, err = cli("exp(1e5*x'x)", "x", "--against", "2e5*exp(1e5*x'x)*x")
    assert code == 3 and err.startswith("check could not be made") and "Warning" not in err
    code, out, err = cli("x'P x", "x", "--hessian", "--against", "2*P")
    assert code == 1 and "symmetric" in err
    code, out, err = cli("x'W x + b'x", "x,b", "--against", "(W + W')*x + b", "--against", "x")
    assert code == 0 and err.count("check ok") == 2
    code, out, err = cli("x'W x + b'x", "x,b", "--against", "(W + W')*x + b")
    assert code == 2
    code, out, err = cli("tr(A*S)", "S", "--symmetric", "S", "--against", "A'", "--format", "json")
    data = json.loads(out)
    assert code == 1 and data["status"] == MISMATCH and data["check"]["ok"] is False


def test_cli_check_exit_codes_follow_the_report_and_no_warning_leaks():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code, out, err = cli("1e300*x'x", "x", "--check")
        assert code == 0 and "check ok" in err
        code, out, err = cli("tr(X^2000)", "X", "--check")
        assert code in (0, 3) and "MISMATCH" not in err
        code, out, err = cli("exp(1e5*x'x)", "x", "--against", "2e5*exp(1e5*x'x)*x")
        assert code == 3
    assert not caught, [str(w.message) for w in caught]


# -- random expressions: matdiff's own answer passes, a slightly wrong one never does ----------
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from matdiff.present.printing import to_text  # noqa: E402
from strategies import TYPES, scalar_expressions  # noqa: E402


@settings(max_examples=15, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(node=scalar_expressions(max_size=18), data=st.data())
def test_random_answers_read_back_pass_and_scaled_ones_fail(node, data):
    wrt = data.draw(st.sampled_from(sorted(node.names) or ["beta"]))
    r = matdiff.diff(node.text, wrt, types=TYPES)
    text = to_text(r.value)
    if "K" in text:  # the commutation matrix has no spelling in the language
        return
    assert r.check().status != MISMATCH
    assert _quiet_check(node.text, wrt, text, types=TYPES).status != MISMATCH
    wrong = _quiet_check(node.text, wrt, f"1.0001*({text})", types=TYPES).status
    assert wrong != OK or text == "0"


def test_mixed_and_higher_derivatives_are_checked_as_honestly():
    from dataclasses import replace
    from fractions import Fraction

    from matdiff.core import construct as A

    for expr, wrt, order, slip in [("1e10 + x'*A*y", ("x", "y"), 1, Fraction(10001, 10000)),
                                   ("1e10 + sum(x .^ 4)", ("x",), 3, Fraction(1001, 1000)),
                                   ("1e-9*sum(exp(x))", ("x",), 4, Fraction(101, 100))]:
        r = matdiff.diff(expr, *wrt, order=order)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert r.check().status == OK, (expr, str(r.check()))
            for wrong in (A.scale(slip, r.value), A.neg(r.value)):
                report = replace(r, value=wrong).check()
                assert report.status == MISMATCH, (expr, str(report))


def test_a_slice_derivative_in_indices_is_checked_as_honestly():
    for constant, right_status in (("", (OK,)), ("1e10 + ", (OK, UNCHECKED))):  # 1e10 drowns it here
        r = matdiff.diff(constant + "beta*sum_i(sum(abs(Phi[:,i,:]'*Phi[:,i,:] - I)))", "Phi[:,a,b]",
                         types={"Phi": "tensor"})
        assert r.check().status in right_status, str(r.check())
        right = r.lambdify()
        for slip in (1.0001, -1.0):
            object.__setattr__(r, "lambdify", lambda slip=slip: (lambda **kw: slip * right(**kw)))
            assert r.check().status != OK, str(r.check())
        assert r.check().status == MISMATCH or constant
