"""Malformed input: the exact message, column and error class through the API,
and the same one-line message with a caret, exit status 2 and no traceback
through the CLI (SPEC §4, §5)."""
from __future__ import annotations

import io

import pytest

import matdiff
from matdiff.cli import run
from matdiff.errors import ParseError, ShapeError, UnknownNameError, UsageError

# (expression, variable, error class, str(error), column)
CASES = [
    ("", "x", ParseError, "syntax error at column 1: empty expression", 1),
    ("   ", "x", ParseError, "syntax error at column 1: empty expression", 1),
    ("x +", "x", ParseError, "syntax error at column 4: missing operand at the end of the expression", 4),
    ("tr(X", "X", ParseError, "syntax error at column 3: unclosed parenthesis: '(' is never closed", 3),
    ("log(x", "x", ParseError, "syntax error at column 4: unclosed parenthesis: '(' is never closed", 4),
    ("X)", "X", ParseError, "syntax error at column 2: unmatched ')'", 2),
    ("sum(x) )", "x", ParseError, "syntax error at column 8: unmatched ')'", 8),
    ("x # y", "x", ParseError, "syntax error at column 3: unexpected character '#'", 3),
    ("x + * y", "x", ParseError, "syntax error at column 5: missing operand before '*'", 5),
    ("2 +* x", "x", ParseError, "syntax error at column 4: missing operand before '*'", 4),
    ("exp()", "x", ParseError, "syntax error at column 5: missing operand before ')'", 5),
    ("(, x)", "x", ParseError, "syntax error at column 2: missing operand before ','", 2),
    ("x, y", "x", ParseError, "syntax error at column 2: ',' outside a function call", 2),
    ("tr(X, X)", "X", ParseError, "syntax error at column 1: tr() takes 1 argument, got 2", 1),
    ("trace(X)", "X", UnknownNameError, "unknown name at column 1: unknown function 'trace'; did you mean "
     "'tr'? (write 'trace (…)' with a space for a product)", 1),
    ("x + A", "x", ShapeError, "shape error at column 1: shape mismatch in 'x + A': 'x' is m×1 but 'A' is m×n", 1),
    ("A*x*y", "x", ShapeError, "shape error at column 1: inner dimensions do not agree in 'A*x*y': "
     "'A*x' is m×1 but 'y' is n×1", 1),
    ("A'x'", "x", ShapeError, "shape error at column 1: inner dimensions do not agree in 'A'x'': "
     "'A'' is m×n but 'x'' is 1×p", 1),
    ("det(x)", "x", ShapeError, "shape error at column 1: det() needs a square matrix, but 'x' is m×1", 1),
    ("softmax(A)", "A", ShapeError, "shape error at column 1: softmax() takes a vector, but 'A' is m×n", 1),
    ("X^0.5", "X", ShapeError, "shape error at column 3: a matrix power needs an integer exponent, not '0.5'", 3),
    ("X^beta", "X", ShapeError, "shape error at column 3: a matrix power needs an integer exponent, not 'beta'", 3),
    ("X^x", "X", ShapeError, "shape error at column 1: the exponent 'x' must be a scalar, but it is m×1", 1),
    ("x / y", "x", ShapeError, "shape error at column 1: '/' divides by a scalar only, but 'y' is m×1; "
     "use inv(…) or './'", 1),
    ("tr(I)", "x", ShapeError, "shape error at column 4: cannot infer the size of 'I' from the expression "
     "around it", 4),
    ("sum(vector(1))", "x", ShapeError, "shape error at column 5: cannot infer the size of 'vector(1)' from "
     "the expression around it", 5),
]


def _ids(cases):
    return [c[0] or "<empty>" for c in cases]


@pytest.mark.parametrize("expr,wrt,cls,message,column", CASES, ids=_ids(CASES))
def test_api_error(expr, wrt, cls, message, column):
    with pytest.raises(cls) as info:
        matdiff.diff(expr, wrt)
    e = info.value
    assert type(e) is cls
    assert isinstance(e, matdiff.MatdiffError)
    assert str(e) == message
    assert e.column == column


def cli(argv):
    out, err = io.StringIO(), io.StringIO()
    code = run(argv, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("expr,wrt,cls,message,column", CASES, ids=_ids(CASES))
def test_cli_error(expr, wrt, cls, message, column):
    code, out, err = cli([expr, wrt])
    assert code == 2
    assert out == ""
    assert "Traceback" not in err
    lines = err.rstrip("\n").split("\n")
    assert lines[0] == f"matdiff: {message}"
    assert len(lines) == 3
    assert lines[1] == "  " + expr.replace("\n", " ")
    caret = lines[2]
    assert caret.index("^") == 2 + column - 1, err
    assert set(caret.strip()) == {"^"}


# -- misuse of the API and of the command line (no column: nothing to point at) ---------
@pytest.mark.parametrize("kwargs,wrt,message", [
    (dict(order=99), "x", "usage error: order 99 is too high: matdiff takes derivatives up to order 6 "
                          "(the K-th derivative of f by an n-vector has n^K entries)"),
    (dict(order=0), "x", "usage error: order must be a positive integer, got 0"),
    (dict(), "x+y", "usage error: the variable must be a name, got 'x+y'"),
    (dict(), "2", "usage error: the variable must be a name, got '2'"),
    (dict(), "I", "usage error: 'I' is the identity matrix, not a variable"),
    (dict(types={"x+": "vector"}), "x", "usage error: 'x+' is not a name"),
])
def test_api_misuse(kwargs, wrt, message):
    with pytest.raises(UsageError) as info:
        matdiff.diff("x'x", wrt, **kwargs)
    assert str(info.value) == message
    assert info.value.column is None


def test_unknown_type():
    with pytest.raises(UsageError) as info:
        matdiff.diff("x'x", "x", types={"x": "cube"})
    assert str(info.value).startswith("usage error: unknown type 'cube' for 'x'; the types are scalar, "
                                      "vector, matrix, symmetric")


@pytest.mark.parametrize("argv,message", [
    (["x'x", "x", "--order", "0"], "matdiff: usage error: order must be a positive integer, got 0"),
    (["x'x", "x", "--bogus"], "matdiff: usage error: unrecognized arguments: --bogus"),
    (["x'x"], "matdiff: usage error: the following arguments are required: wrt"),
    (["x'x", "x+y"], "matdiff: usage error: the variable must be a name, got 'x+y'"),
    (["x'x", "x", "--order", "two"], "matdiff: usage error: argument --order: invalid int value: 'two'"),
])
def test_cli_misuse(argv, message):
    code, out, err = cli(argv)
    assert code == 2
    assert err.rstrip("\n") == message
    assert "Traceback" not in err


def test_cli_bad_format():
    code, out, err = cli(["x'x", "x", "--format", "html"])
    assert code == 2
    assert err.startswith("matdiff: usage error: argument --format: invalid choice: 'html' (choose from 'text'")
    assert err.count("\n") == 1 and "Traceback" not in err


def test_cli_unknown_type_flag_value():
    """A bad name in a declaration flag is one line, exit 2."""
    code, out, err = cli(["x'x", "x", "--vector", "x+"])
    assert code == 2
    assert err == "matdiff: usage error: 'x+' is not a name\n"


# -- messages that should be better ---------------------------------------------------
def test_wrong_number_of_arguments_is_a_syntax_error():
    with pytest.raises(ParseError) as info:
        matdiff.diff("kron(A)", "A")
    assert str(info.value) == "syntax error at column 1: kron() takes 2 arguments, got 1"


def test_cli_does_not_blame_a_short_input_for_nesting():
    code, out, err = cli(["x + beta*x", "x"])
    assert code == 0, err
    assert "nested too deeply" not in err


# -- errors after parsing: columns kept, internal faults never bare ------------------------------
def test_an_error_while_building_the_tree_points_at_its_sub_expression(monkeypatch):
    from matdiff.core import construct

    real = construct.func

    def failing(name, a):
        if name == "logdet":
            raise matdiff.UnsupportedError("logdet of this argument is not supported here")
        return real(name, a)

    monkeypatch.setattr(construct, "func", failing)
    with pytest.raises(matdiff.UnsupportedError) as info:
        matdiff.diff("tr(X) + logdet(X'X)", "X")
    assert info.value.column == 9 and info.value.width == len("logdet(X'X)")
    assert "^^^^^^^^^^^" in info.value.report()


def test_an_internal_fault_while_building_the_tree_is_an_internal_error_with_a_column(monkeypatch):
    from matdiff.core import construct

    def failing(*factors):
        raise KeyError("boom")

    monkeypatch.setattr(construct, "had", failing)
    with pytest.raises(matdiff.InternalError) as info:
        matdiff.diff("sum(x .* y)", "x")
    assert isinstance(info.value, matdiff.MatdiffError)
    assert "KeyError" in str(info.value) and info.value.column == 5


@pytest.mark.parametrize("fault", [KeyError("k"), AssertionError("a"), TypeError("t")])
def test_an_internal_fault_while_differentiating_is_an_internal_error(monkeypatch, fault):
    import matdiff.pipeline as pipeline

    def failing(*args, **kwargs):
        raise fault

    monkeypatch.setattr(pipeline, "derivative", failing)
    with pytest.raises(matdiff.InternalError) as info:
        matdiff.diff("x'*x", "x")
    assert type(fault).__name__ in str(info.value) and "bug in matdiff" in str(info.value)
    assert info.value.__cause__ is fault
    out, err = io.StringIO(), io.StringIO()
    assert run(["x'*x", "x"], out=out, err=err) == 2
    assert err.getvalue().startswith("matdiff: internal error: ") and "Traceback" not in err.getvalue()
    assert len(err.getvalue().strip().splitlines()) == 1


def test_internal_faults_in_result_methods_are_internal_errors(monkeypatch):
    import matdiff.result as result

    r = matdiff.diff("x'*x", "x")

    def failing(*args, **kwargs):
        raise IndexError("i")

    monkeypatch.setattr(result, "to_code", failing)
    with pytest.raises(matdiff.InternalError):
        r.to_code()


def test_gauss_newton_errors_point_at_the_sub_expression():
    r = matdiff.diff("sum((A*x).^2) + sum(exp(B*x))", "x", order=2)
    with pytest.raises(matdiff.UnsupportedError) as info:
        r.gauss_newton
    assert info.value.column == 1 and "several inner maps" in str(info.value)
    r = matdiff.diff("beta*sum(x.^2)", "x", order=2)
    with pytest.raises(matdiff.UnsupportedError) as info:
        r.gauss_newton
    assert info.value.column == 10 and info.value.width == 1  # the variable itself
