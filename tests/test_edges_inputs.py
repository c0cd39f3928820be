"""Input at the edges: number literals, input sizes, API arguments, flags and odd
names.  Each input gets a clear MatdiffError with a caret (the CLI: exit 2, one
line and the caret, never a traceback or an internal error) within a second and
modest memory, or its answer, checked against NumPy written by hand."""
from __future__ import annotations

import io
import json
import time
import tracemalloc
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import matdiff
from matdiff.cli import run
from matdiff.errors import InternalError, MatdiffError, ParseError, UsageError
from matdiff.frontend import syntax
from matdiff.frontend.limits import MAX_DIGITS, MAX_INPUT, MAX_NAME

from fdutil import first_order_error, second_order_error

RNG = np.random.default_rng(13)


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def refused(fn, *args, kind=MatdiffError, seconds: float = 1.0, megabytes: float = 200,
            **kwargs) -> MatdiffError:
    """The MatdiffError ``fn`` raises, checked to come within the time and memory bounds."""
    tracemalloc.start()
    t = time.perf_counter()
    try:
        with pytest.raises(kind) as info:
            fn(*args, **kwargs)
        elapsed = time.perf_counter() - t
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert kind is InternalError or not isinstance(info.value, InternalError), info.value
    assert elapsed < seconds, f"{elapsed:.2f} s"
    assert peak < megabytes * 1e6, f"{peak / 1e6:.0f} MB"
    return info.value


def cli_refuses(*argv: str, column: int | None = None) -> str:
    """Exit 2 with one line of message, then (for an error in the text) the input and a caret."""
    code, out, err = cli(*argv)
    assert code == 2 and out == "", (code, out, err)
    assert "Traceback" not in err and "internal error" not in err and "VisitError" not in err, err
    lines = err.rstrip("\n").split("\n")
    assert lines[0].startswith("matdiff: "), err
    if column is not None:
        assert f"at column {column}:" in lines[0], lines[0]
        assert len(lines) == 3 and set(lines[2].strip()) == {"^"}, err
    else:
        assert len(lines) == 1, err
    return lines[0]


def gradient_error(r, f, inputs) -> float:
    return first_order_error(f, inputs, r.variable.name, r.lambdify()(**inputs), rng=RNG)


# --- number literals --------------------------------------------------------

# (input, the column of the offending character, words of the message)
BAD_LITERALS = [
    ("1_000*x'x", 2, "digit separators; write 1000"),
    ("1_000_000*x'x", 2, "write 1000000"),
    ("2_a'x", 2, "needs a space or '*'"),
    ("0x10*x'x", 2, "'0x10' is not a number"),
    ("0b101*x'x", 2, "'0b101' is not a number"),
    ("0o17 x'x", 2, "'0o17' is not a number"),
    ("1e5.5*x'x", 4, "'1e5.5' is not a number"),
    ("1.2.3*x'x", 4, "at most one decimal point"),
    ("1e5e3*x'x", 4, "one exponent"),
    ("1e-1e-33*x'x", 5, "'1e-1e-33' is not a number"),
    ("x'x + 2*x^2_0", 12, "digit separators"),
]


@pytest.mark.parametrize("text,column,words", BAD_LITERALS)
def test_literals_that_would_read_as_a_product_are_refused_at_the_offending_character(text, column, words):
    e = refused(matdiff.diff, text, "x", kind=ParseError)
    assert e.column == column and words in e.message, str(e)
    assert e.context().splitlines()[1].index("^") == column + 1  # two spaces of indent
    assert words in cli_refuses(text, "x", column=column)


@pytest.mark.parametrize("text,c", [
    ("1000*x'x", 1000), ("2x'x", 2), ("2 _a + x'x", 1), (".5*x'x", 0.5), ("1e+3*x'x", 1000),
    ("x'x*1e0005", 1e5), ("1.5E-2*x'x", 0.015), ("0*x'x + x'x", 1), ("x'x*" + "0" * 199 + "3", 3),
])
def test_literals_next_to_the_refused_ones_still_read_as_numbers(text, c):
    """d(c xᵀx) = 2c xᵀdx, with c as the literal means."""
    r = matdiff.diff(text, "x", types={"_a": "scalar"})
    x = RNG.standard_normal(4)
    inputs = {"x": x, **({"_a": 0.3} if "_a" in text else {})}
    f = (lambda x, _a: c * x @ x + _a) if "_a" in text else (lambda x: c * x @ x)
    assert gradient_error(r, f, inputs) < 1e-6, r.text


@pytest.mark.parametrize("text,wrt,column", [
    ("9" * 5000 + "*tr(X)", "X", 1),
    ("beta^" + "9" * 5000, "beta", 6),
    ("x'x*0." + "0" * 5000 + "1", "x", 5),
    ("1e99999*x'x", "x", 1),
    ("1e" + "9" * 5000 + "*x'x", "x", 1),
    ("1e-" + "9" * 5000 + "*x'x", "x", 1),
    ("x'x + 1e+99999999999999*tr(X)", "x", 7),
])
def test_number_literals_beyond_the_bounds_are_a_syntax_error(text, wrt, column):
    """Never lark's VisitError, nor Python's 4,300-digit ValueError."""
    e = refused(matdiff.diff, text, wrt, kind=ParseError)
    assert e.column == column
    assert ("digits" in e.message and str(MAX_DIGITS) in e.message) or "out of range" in e.message, e.message
    assert len(e.report()) < 600  # the number is quoted shortened, the line around the column
    cli_refuses(text, wrt, column=column)


def test_the_longest_number_literal_and_an_exponent_of_many_zeros_are_read():
    c = int("9" * MAX_DIGITS)
    r = matdiff.diff("9" * MAX_DIGITS + "e-300*x'x", "x")
    x = RNG.standard_normal(3)
    assert gradient_error(r, lambda x: float(Fraction(c, 10 ** 300)) * x @ x, {"x": x}) < 1e-6


@pytest.mark.parametrize("literal,value", [
    ("9" * MAX_DIGITS + "e1000", float("inf")),  # beyond the float range: evaluates to inf, as 1e400 does
    ("0." + "9" * (MAX_DIGITS - 1) + "e-1000", 0.0),
    ("1" + "0" * (MAX_DIGITS - 1) + "e-1000", 1e-801),
])
def test_every_literal_within_the_bounds_is_an_exact_number_matdiff_keeps(literal, value):
    """The largest numerators and denominators a literal can have stay inside the exact range."""
    r = matdiff.diff(f"{literal}*x'x + x'x", "x")
    x = np.array([1.0, 2.0, 3.0])
    with np.errstate(all="ignore"):
        got = r.lambdify()(x=x)
    assert np.allclose(got, 2 * value * x + 2 * x) if np.isfinite(value) else np.all(np.isposinf(got))
    r = matdiff.diff("3e" + "0" * 5000 + "1*x'x", "x")  # 3e1, however many zeros the exponent has
    assert gradient_error(r, lambda x: 30 * x @ x, {"x": x}) < 1e-6


def test_an_exception_inside_a_transformer_method_never_escapes_as_visit_error(monkeypatch):
    def broken(*args):
        raise KeyError("boom")

    monkeypatch.setattr(syntax._ToRaw, "transpose", broken)
    syntax._parse_raw.cache_clear()
    e = refused(matdiff.parse, "2 + x'x", kind=InternalError)
    assert e.column == 5 and "KeyError" in e.message  # the rule's columns: x'
    def refusing(*args):
        raise ParseError("no transposes here")

    monkeypatch.setattr(syntax._ToRaw, "transpose", refusing)
    syntax._parse_raw.cache_clear()
    e = refused(matdiff.parse, "2 + x'x", kind=ParseError)
    assert e.column == 5 and e.message == "no transposes here"


# --- input size -------------------------------------------------------------

def test_a_million_character_name_is_refused_at_once():
    text = "x'" + "a" * 1_000_000 + "x"
    e = refused(matdiff.diff, text, "x", kind=ParseError, megabytes=50)
    assert e.column == MAX_INPUT + 1 and "100,000" in e.message
    assert len(e.report()) < 600
    cli_refuses(text, "x", column=MAX_INPUT + 1)


@pytest.mark.parametrize("text", ["x'x" + " " * MAX_INPUT, "x+" * 60_000 + "x", "(" * 200_000])
def test_an_input_beyond_the_size_limit_is_refused_before_parsing(text):
    e = refused(matdiff.diff, text, "x", kind=ParseError, megabytes=50)
    assert e.column == MAX_INPUT + 1 and "characters long" in e.message


def test_a_name_longer_than_the_bound_is_refused_with_a_caret_under_it():
    long = "a" * (MAX_NAME + 1)
    e = refused(matdiff.diff, f"x'{long} + beta", "x", kind=ParseError)
    assert e.column == 3 and e.width == MAX_NAME + 1 and f"at most {MAX_NAME}" in e.message
    cli_refuses(f"x'{long}", "x", column=3)
    # the longest name is read, and is its own variable
    ok = "a" * MAX_NAME
    r = matdiff.diff(f"x'{ok}", ok)
    x = RNG.standard_normal(3)
    assert np.allclose(r.lambdify()(**{"x": x, ok: RNG.standard_normal(3)}), x)


@pytest.mark.parametrize("wrt,types", [("x" * 1_000_000, None), ("x" * (MAX_NAME + 1), None),
                                       ("x", {"y" * (MAX_NAME + 1): "scalar"})])
def test_a_variable_or_declared_name_longer_than_the_bound_is_a_usage_error(wrt, types):
    e = refused(matdiff.diff, "x'x", wrt, types=types, kind=UsageError, megabytes=50)
    assert "characters long" in e.message and len(str(e)) < 200


def test_a_name_that_is_a_product_of_other_names_is_found_in_linear_time():
    """A name that almost splits into names of the expression in exponentially many ways."""
    text = "a + aa + " + "a" * 60 + "b"
    t = time.perf_counter()
    p = matdiff.parse(text)
    assert time.perf_counter() - t < 1
    assert set(p.symbols) == {"a", "aa", "a" * 60 + "b"}
    assert any("'aa' is read as one name; write 'a a'" in n for n in p.notes)


def _peak(fn, *args) -> float:
    tracemalloc.start()
    try:
        fn(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("make", [
    lambda n: "x'x" + " " * n,  # blanks
    lambda n: "y = x'x\n" * (n // 8) + "y",  # a program of n/8 lines
    lambda n: "x'(" + "+".join(["a"] * (n // 2)) + ")",  # a long sum, parsed
])
def test_memory_of_reading_grows_linearly_with_the_input(make):
    """The frontend (lexing, parsing, statement breaks) below the size limit: peak memory
    of ten times the characters is at most about ten times as much (measured at 10k, 50k and
    100k characters: 6.7, 35 and 69 MB for a sum, 5, 25 and 50 MB for a program)."""
    from matdiff.frontend.syntax import parse_raw

    def read(text):
        try:
            parse_raw(text)
        except MatdiffError:
            pass

    small, large = _peak(read, make(3_000)), _peak(read, make(30_000))
    assert large < 15 * max(small, 1e5), (small, large)


def test_statement_breaks_take_linear_time():
    text = "a = x\n" * 16_000 + "a"
    t = time.perf_counter()
    out = syntax.statement_breaks(text)
    assert time.perf_counter() - t < 1
    assert out.count(";") == 16_000 and len(out) == len(text)


@pytest.mark.parametrize("text", ["x + " + "A*" * 3_000 + "B", "tr(" + "+".join(["x"] * 3_000) + ")"])
def test_an_error_about_a_long_sub_expression_quotes_it_shortened(text):
    e = refused(matdiff.diff, text, "x", kind=matdiff.ShapeError, seconds=5)
    assert len(e.message) < 300 and "…" in e.message and e.column == 1
    assert len(e.report()) < 600
    cli_refuses(text, "x", column=1)


@pytest.mark.parametrize("text,column", [("n\nrm2(2X - A)^2", 1), ("|x\n+y|", 1), ("x'x +\n\t1_0", 9)])
def test_an_error_quoting_a_line_break_is_still_one_line(text, column):
    e = refused(matdiff.diff, text, "x")
    assert "\n" not in str(e) and e.column == column
    assert e.context().splitlines()[1].index("^") == column + 1 and "\t" not in e.context()
    cli_refuses(text, "x", column=column)


@pytest.mark.parametrize("text,f", [
    ("(" * 2000 + "x'x" + ")" * 2000, lambda x: x @ x),
    ("-" * 2000 + "x'x", lambda x: x @ x),
    ("x" + "'" * 2001 + "x", lambda x: x @ x),
    ("sum(" * 1000 + "x" + ")" * 1000, lambda x: np.sum(x)),
])
def test_deeply_nested_input_is_read_in_time_linear_in_its_depth(text, f):
    t = time.perf_counter()
    r = matdiff.diff(text, "x")
    assert time.perf_counter() - t < 2
    assert gradient_error(r, f, {"x": RNG.standard_normal(3)}) < 1e-6


# --- API arguments ----------------------------------------------------------

@pytest.mark.parametrize("types", [[("x", "scalar")], ("x", "scalar"), "x", 3, {"x"}, [{"x": "scalar"}]])
@pytest.mark.parametrize("entry", ["diff", "parse", "lambdify"])
def test_types_that_are_not_a_mapping_are_a_usage_error(types, entry):
    fn = {"diff": lambda: matdiff.diff("x'A x", "x", types=types),
          "parse": lambda: matdiff.parse("x'A x", types=types),
          "lambdify": lambda: matdiff.lambdify("x'A x", types=types)}[entry]
    e = refused(fn, kind=UsageError)
    assert "types must be a dict of name → kind" in e.message and type(types).__name__ in e.message


@pytest.mark.parametrize("types", [{"x\n": "scalar"}, {" x": "scalar"}, {1: "scalar"}, {"x": "tensorr"}])
def test_declarations_of_what_is_not_a_name_or_not_a_type_are_a_usage_error(types):
    refused(matdiff.diff, "x'A x", "x", types=types, kind=UsageError)


@pytest.mark.parametrize("order", [np.array([1, 2]), np.array(2), np.True_, True, 1.0, 2.0, 2 + 0j, Fraction(2),
                                   "2", None, 0, -1, np.int64(0), 10 ** 20, np.uint64(2 ** 63)])
def test_an_order_that_is_not_a_positive_integer_in_range_is_a_usage_error(order):
    e = refused(matdiff.diff, "x'A x", "x", order=order, kind=UsageError)
    assert "order" in e.message
    refused(matdiff.diff, "x'A x", ["x", "A"], order=order, kind=UsageError)


@pytest.mark.parametrize("order", [np.array([1, 2]), np.True_, 1.0, 2 + 0j, Fraction(2), 3])
def test_check_of_an_answer_refuses_such_orders_alike(order):
    e = refused(matdiff.check, "x'A x", "x", "A + A'", order=order, kind=UsageError, seconds=5)
    assert "order" in e.message


def test_check_of_an_answer_takes_a_numpy_integer_order_and_checks_arguments():
    """The Hessian of xᵀAx is A + Aᵀ: right, and its transpose-free half A is wrong."""
    assert matdiff.check("x'A x", "x", "A + A'", order=np.int64(2)).ok
    assert not matdiff.check("x'A x", "x", "A", order=np.int64(2)).ok
    refused(matdiff.check, "x'A x", "x\n", "(A + A')*x", kind=UsageError)
    refused(matdiff.check, "x'A x", "x", "(A + A')*x", types=[("x", "vector")], kind=UsageError)


@pytest.mark.parametrize("order", [2, np.int64(2), np.int32(2), np.uint8(2)])
def test_numpy_integer_orders_are_plain_ints_in_the_result(order):
    """H of xᵀAx is A + Aᵀ; ``order`` comes back a plain int, so the result is JSON."""
    r = matdiff.diff("x'A x", "x", order=order)
    assert type(r.order) is int and r.order == 2
    data = json.loads(json.dumps(r.to_dict()))
    assert data["order"] == 2
    A, x = RNG.standard_normal((3, 3)), RNG.standard_normal(3)
    assert second_order_error(lambda x, A: x @ A @ x, {"x": x, "A": A}, "x", r.lambdify()(x=x, A=A)) < 1e-5


def test_a_numpy_integer_third_order_is_json_and_right():
    """∂³/∂x³ of sum(x.^4) is 24 x_a δ_ab δ_bc."""
    r = matdiff.diff("sum(x .^ 4)", "x", order=np.int64(3))
    assert type(r.order) is int and r.order == 3
    json.dumps(r.to_dict())
    x = RNG.standard_normal(3)
    expected = np.zeros((3, 3, 3))
    for a in range(3):
        expected[a, a, a] = 24 * x[a]
    assert np.allclose(r.lambdify()(x=x), expected)
    rs = matdiff.diff("x'A x", ["x", "A"], order=np.int64(1))
    json.dumps(rs["x"].to_dict())


@pytest.mark.parametrize("wrt", ["x\n", "x ", " x", "\tx", "x[a]\n", " x[a]", "x[a] ", "x[a]]", "x[[a]]",
                                 "x[a][b]", "", "1x", "x-y", "x'", "x,y", "x\x00", 3, 2.5, None, b"x", {"x"}])
def test_a_variable_that_is_not_a_name_or_an_indexed_part_is_a_usage_error(wrt):
    e = refused(matdiff.diff, "x'A x + sum_a(x[a])", wrt, kind=UsageError)
    assert "variable" in e.message or "name" in e.message, e.message


@pytest.mark.parametrize("more", ["y\n", " y", 3])
def test_a_second_variable_of_a_mixed_derivative_is_checked_alike(more):
    refused(matdiff.diff, "x'A y", "x", more, kind=UsageError)
    refused(matdiff.diff, "x'A y", [more], kind=UsageError)


def test_diff_sympy_checks_its_order_and_types_alike():
    sp = pytest.importorskip("sympy")
    X = sp.MatrixSymbol("X", 3, 3)
    refused(matdiff.diff_sympy, sp.Trace(X * X), X, order=1.0, kind=UsageError, seconds=5)
    for types in ([(X, "symmetric")], "X", 3):
        refused(matdiff.diff_sympy, sp.Trace(X * X), X, types=types, kind=UsageError, seconds=5)
        refused(matdiff.from_sympy, sp.Trace(X * X), types=types, kind=UsageError, seconds=5)
    r = matdiff.diff_sympy(sp.Trace(X * X), X, order=np.int64(1))
    assert type(r.order) is int
    Xv = RNG.standard_normal((3, 3))
    assert gradient_error(r, lambda X: np.trace(X @ X), {"X": Xv}) < 1e-6


# --- the command line: flags that disagree ----------------------------------

@pytest.mark.parametrize("flags,words", [
    (["--hessian", "--order", "1"], "--hessian is a second derivative"),
    (["--hessian", "--order", "3"], "--hessian is a second derivative"),
    (["--order", "3", "--hessian"], "--hessian is a second derivative"),
    (["--gauss-newton", "--order", "1"], "--gauss-newton is a second derivative"),
    (["--order", "0"], "positive integer"),
    (["--order", "-1"], "positive integer"),
    (["--order", "99999999999999999999"], "too high"),
    (["--order", "1.5"], "invalid int value"),
    (["--order", "2", "--then", "y"], "--order 2, not both"),
    (["--hessian", "--then", "y"], "--hessian, not both"),
])
def test_flags_that_disagree_are_a_usage_error(flags, words):
    line = cli_refuses("x'A x + y'x", "x", *flags)
    assert words in line and "usage error" in line, line


def test_hessian_with_order_two_agrees_with_hessian():
    a = cli("x'A x", "x", "--hessian", "--order", "2")
    b = cli("x'A x", "x", "--hessian")
    assert a == b and a[0] == 0
    assert a[1].strip() == "A + A'"  # the Hessian of xᵀAx, checked in numbers below
    r = matdiff.diff("x'A x", "x", order=2)
    A, x = RNG.standard_normal((3, 3)), RNG.standard_normal(3)
    assert second_order_error(lambda x, A: x @ A @ x, {"x": x, "A": A}, "x", r.lambdify()(x=x, A=A)) < 1e-5


# --- names that start or end with '_' ---------------------------------------

@pytest.mark.parametrize("text,wrt,f,unicode,latex", [
    ("x'_", "x", lambda x, _: x @ _, "_", r"\mathrm{\_}"),
    ("_a'x", "x", lambda _a, x: _a @ x, "_a", r"\mathrm{\_a}"),
    ("x'x_", "x", lambda x, x_: x @ x_, "x_", r"\mathrm{x\_}"),
    ("x'__1", "x", lambda x, __1: x @ __1, "__1", r"\mathrm{\_\_1}"),
    ("_'x_ + x'x", "x_", lambda _, x_, x: _ @ x_ + x @ x, "_", r"\mathrm{\_}"),
])
def test_names_with_leading_or_trailing_underscores_print_in_every_format(text, wrt, f, unicode, latex):
    r = matdiff.diff(text, wrt)
    assert r.unicode() == unicode and r.latex() == latex  # each name kept apart from the others
    inputs = {n: RNG.standard_normal(3) for n in r.symbols}
    assert gradient_error(r, f, inputs) < 1e-6
    for fmt in ("text", "unicode", "latex", "json", "index", "numpy"):
        code, out, err = cli(text, wrt, "--format", fmt)
        assert code == 0 and out.strip() and "error" not in err, (fmt, out, err)
    assert json.loads(cli(text, wrt, "--format", "json")[1])["latex"] == latex


def test_steps_of_a_name_starting_with_underscore_in_latex():
    code, out, err = cli("_a'X x", "x", "--steps", "--format", "latex")
    assert code == 0 and r"\mathrm{\_a}" in err and "error" not in err


# --- a fuzz: nothing but MatdiffError ---------------------------------------

VALID = ["beta*sum(abs(X'X - I))", "tr(A*X*B)", "x'A x", "logdet(X'X)", "sum(log(exp(-y.*(X*w)) + vector(1)))",
         "z = W*x + b; y = sigmoid(z); L = 0.5*norm2(y - t)^2", "beta*sum_i(sum(abs(Phi[:,i,:]'*Phi[:,i,:] - I)))",
         "x.T @ A @ x ** 2", "1e-3*tr(X'X) + 2.5*x'x", "norm2(softmax(W*x) - t)^2"]
PIECES = ["1_", "0x1", ".5", "e5", "1e", "_", "'", "(", ")", "[", "]", ",", ":", "^", "9" * 400, "a" * 300, "\n",
          ";", "=", "sum_i(", "‖", "|", "−", "·", "\x00", "é", "½", "٣", "@", "**", ".^", "⊗", "f'(", " "]


@st.composite
def mutated(draw):
    text = draw(st.sampled_from(VALID))
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(text)))
        if draw(st.booleans()):
            text = text[:at] + draw(st.sampled_from(PIECES)) + text[at:]
        else:
            text = text[:at] + text[at + draw(st.integers(1, 4)):]
    return text


@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(st.one_of(mutated(), st.text(max_size=40), st.binary(max_size=40).map(lambda b: b.decode("latin-1"))),
       st.sampled_from(["x", "X", "W", "x\n", "Phi[:,a,b]"]))
def test_fuzz_reading_gives_an_answer_or_a_clear_error(text, wrt):
    try:
        r = matdiff.diff(text, wrt)
        r.latex(), r.unicode()
    except InternalError as e:
        raise AssertionError(f"internal error on {text!r}: {e}") from e
    except MatdiffError as e:
        e.report()
    code, out, err = cli("--", text, wrt)
    assert code in (0, 2) and "internal error" not in err and "Traceback" not in err, (text, err)


# -- arguments of check, lambdify and the products ----------------------------------------------
@pytest.mark.parametrize("bad", [1.5, 0, -1, True, "3", None, 10**6])
def test_check_refuses_a_number_of_trials_that_is_not_a_whole_positive_number(bad):
    for r in (matdiff.diff("x'A x", "x"), matdiff.diff("x'A x", "x", order=2), matdiff.diff("sum(exp(x))", "x", order=3)):
        with pytest.raises(matdiff.UsageError, match="trials must be a whole number"):
            r.check(trials=bad)
    with pytest.raises(matdiff.UsageError, match="trials must be a whole number"):
        matdiff.check("x'A x", "x", "(A + A')*x", trials=bad)


def test_check_takes_numpy_integers_for_trials_and_seed():
    assert matdiff.diff("x'A x", "x").check(trials=np.int64(2), seed=np.int32(5)).ok


@pytest.mark.parametrize("bad", ["abc", [1, "a"], {"a": 1}])
def test_values_that_are_not_numbers_are_usage_errors(bad):
    r = matdiff.diff("x'A x", "x")
    A = [[1.0, 2.0], [3.0, 4.0]]
    with pytest.raises(matdiff.UsageError, match="must be a number or an array of numbers"):
        r.lambdify()(x=bad, A=A)
    with pytest.raises(matdiff.UsageError, match="must be a number or an array of numbers"):
        r.hvp()(bad, x=[1.0, 2.0], A=A)
    with pytest.raises(matdiff.UsageError, match="must be a number or an array of numbers"):
        matdiff.diff("A*x", "x").jvp()(bad, x=[1.0, 2.0], A=A)
