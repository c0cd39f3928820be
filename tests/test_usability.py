"""What a new user meets first: notes that say how the input was read, standard
output that holds the result alone, NumPy spellings and hints, SymPy objects,
``lambda``, and answers that do not depend on the hash seed.

Every numerical claim is checked against a hand-written NumPy function by
central finite differences, on distinct dimensions."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import matdiff
from fdutil import first_order_error, second_order_error
from matdiff.cli import run

RNG = np.random.default_rng(11)
MATDIFF = [sys.executable, "-m", "matdiff"]


def cli(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = run(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


# -- silent misreads: short names, assumed types, what a result is ---------------------------------
@pytest.mark.parametrize("expr,wrt,name,note", [
    ("x'Ax", "x", "Ax", "'Ax' is read as one name; write 'A x' or 'A*x' for the product"),
    ("tr(W'SW)", "W", "SW", "'SW' is read as one name; write 'S W' or 'S*W' for the product"),
    ("a'Xb", "X", "Xb", "'Xb' is read as one name; write 'X b' or 'X*b' for the product"),
    ("lam*x'x", "x", "lam", "'lam' is read as one name; write 'l a m' or 'l*a*m' for the product"),
])
def test_short_names_always_get_the_one_name_note(expr, wrt, name, note):
    """Whether or not the letters occur elsewhere as names (SPEC §1)."""
    r = matdiff.diff(expr, wrt)
    assert note in r.notes
    code, out, err = cli(expr, wrt)
    assert code == 0 and f"note: {note}" in err.splitlines() and "note" not in out


@pytest.mark.parametrize("expr,types", [
    ("x'*mu + beta*x'x", None),  # Greek names are not misread
    ("x'*Ax", {"Ax": "matrix"}),  # a declared name is meant
    ("x'*Wide*x", None),  # four letters
])
def test_no_one_name_note(expr, types):
    assert not any("read as one name" in n for n in matdiff.diff(expr, "x", types=types).notes)


def test_a_name_that_splits_into_names_keeps_its_split():
    notes = matdiff.parse("x'*A*x + x'Ax").notes
    assert "'Ax' is read as one name; write 'A x' or 'A*x' for the product" in notes


@pytest.mark.parametrize("expr,wrt,types,note", [
    ("x'*A*x", "x", None, "assumed x is a vector, A is a matrix"),
    ("beta*sum(abs(X'X - I))", "X", None, "assumed beta is a scalar, X is a matrix"),
    ("tr(A*X*B)", "X", None, "assumed A, X and B are matrices"),
    ("x'*A*x + c*y'x", "x", {"c": "scalar"}, "assumed x and y are vectors, A is a matrix"),
])
def test_assumed_types_are_stated(expr, wrt, types, note):
    r = matdiff.diff(expr, wrt, types=types)
    assert r.notes[0] == note
    assert note in r._repr_html_()
    code, _, err = cli(expr, wrt, *[a for n, k in (types or {}).items() for a in (f"--{k}", n)])
    assert f"note: {note}" in err.splitlines()


def test_nothing_assumed_when_everything_is_declared():
    r = matdiff.diff("x'*A*x", "x", types={"x": "vector", "A": "matrix"})
    assert not any(n.startswith("assumed") for n in r.notes)


def test_a_vector_valued_loss_says_it_is_a_jacobian():
    """-n/2*logdet(S) with n a vector by default: a Jacobian, not a gradient, and the note says so."""
    r = matdiff.diff("-n/2*logdet(S)", "S")
    assert "assumed n is a vector, S is a matrix" in r.notes
    assert "Jacobian, m×(n·n): the function is vector-valued" in r.notes
    n, S = RNG.standard_normal(3), np.eye(4) + 0.1 * RNG.standard_normal((4, 4))
    J = r.lambdify()(n=n, S=S)
    assert J.shape == (3, 16)
    f = lambda n, S: -n / 2 * np.log(abs(np.linalg.det(S)))  # noqa: E731
    assert first_order_error(f, {"n": n, "S": S}, "S", J) < 1e-6
    assert not any("Jacobian" in x for x in matdiff.diff("-n/2*logdet(S)", "S", types={"n": "scalar"}).notes)


def test_the_kind_note_states_the_shape_on_vec():
    r = matdiff.diff("exp(X)", "X")
    assert "Jacobian, (m·n)×(m·n): the function is matrix-valued" in r.notes
    X = RNG.standard_normal((3, 4))
    J = r.lambdify()(X=X)
    assert J.shape == (12, 12)
    assert first_order_error(lambda X: np.exp(X), {"X": X}, "X", J) < 1e-6
    assert "Hessian, m×m" in matdiff.diff("x'*A*x", "x", order=2).notes
    assert not any(n.startswith(("Jacobian", "Hessian")) for n in matdiff.diff("x'*A*x", "x").notes)


def test_a_greek_mean_is_a_scalar_and_the_result_says_jacobian():
    r = matdiff.diff("mu'*x", "x")
    assert r.notes[:2] == ("assumed mu is a scalar, x is a vector", "Jacobian, m×m: the function is vector-valued")


# -- standard output holds the result alone (SPEC §4) --------------------------------------------------
SEED = "beta*sum(abs(X'X - I))"
FLAGS = [["--check"], ["--steps"], ["--check", "--steps"]]


def _body(fmt):
    r = matdiff.diff(SEED, "X")
    return r.to_code(fmt) if fmt in ("numpy", "jax", "torch") else \
        {"text": r.text, "unicode": r.unicode(), "latex": r.latex()}[fmt]


@pytest.mark.parametrize("flags", FLAGS, ids=" ".join)
@pytest.mark.parametrize("fmt", ["text", "unicode", "latex", "numpy", "jax", "torch"])
def test_stdout_is_the_result_alone(fmt, flags):
    code, out, err = cli(SEED, "X", "--format", fmt, *flags)
    assert code == 0
    assert out == _body(fmt) + "\n"
    lines = err.splitlines()
    assert "note: assumed beta is a scalar, X is a matrix" in lines
    assert any(ln.startswith("check ok") for ln in lines) == ("--check" in flags)
    assert any(ln.startswith(("df = ", r"\mathrm{d}f = ")) for ln in lines) == ("--steps" in flags)
    if fmt in ("numpy", "jax", "torch"):
        compile(out, f"<matdiff {fmt}>", "exec")


@pytest.mark.parametrize("flags", FLAGS, ids=" ".join)
def test_json_holds_notes_steps_and_check(flags):
    code, out, err = cli(SEED, "X", "--format", "json", *flags)
    assert code == 0 and err == ""
    data = json.loads(out)
    assert data["text"] == "2*beta*X*sign(X'X - I)"
    assert data["notes"][0] == "assumed beta is a scalar, X is a matrix"
    assert data["steps"][0] == "f = " + SEED
    if "--check" in flags:
        assert data["check"]["ok"] is True and data["check"]["trials"] == 3
        assert data["check"]["max_rel_error"] < 1e-6 and data["check"]["report"].startswith("check ok")
    else:
        assert "check" not in data


def test_numpy_with_check_redirected_is_a_python_module(tmp_path):
    """``--format numpy --check > grad.py``: the file runs and computes the seed gradient."""
    path = tmp_path / "grad.py"
    with open(path, "w") as fh:
        p = subprocess.run(MATDIFF + [SEED, "X", "--format", "numpy", "--check"], stdout=fh,
                           stderr=subprocess.PIPE, text=True, timeout=120)
    assert p.returncode == 0 and "check ok" in p.stderr
    namespace: dict = {}
    exec(compile(path.read_text(), str(path), "exec"), namespace)  # matdiff's own output, not user text
    X, beta = RNG.standard_normal((5, 3)), 0.7
    G = namespace["derivative"](X=X, beta=beta)
    f = lambda X, beta: beta * np.sum(np.abs(X.T @ X - np.eye(3)))  # noqa: E731
    assert first_order_error(f, {"X": X, "beta": beta}, "X", G) < 1e-6


def test_json_with_check_pipes_into_json_tool():
    p1 = subprocess.Popen(MATDIFF + ["x'*A*x", "x", "--format", "json", "--check", "--steps"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p2 = subprocess.run([sys.executable, "-m", "json.tool"], stdin=p1.stdout, capture_output=True, text=True,
                        timeout=120)
    p1.stdout.close()
    assert p1.wait(timeout=120) == 0 and p2.returncode == 0
    assert json.loads(p2.stdout)["check"]["ok"] is True


def test_a_closed_pipe_ends_quietly():
    """``matdiff … | head -c1``: the reader is gone before matdiff writes; no traceback, no
    BrokenPipeError, the exit status of a Unix tool killed by SIGPIPE."""
    p = subprocess.Popen(MATDIFF + [SEED, "X", "--format", "numpy", "--steps"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.close()  # the reader closes early
    err = p.stderr.read().decode()
    code = p.wait(timeout=120)
    assert "Error" not in err and "Traceback" not in err and "internal" not in err
    assert code in (-13, 141) if hasattr(__import__("signal"), "SIGPIPE") else code in (0, 141)


def test_head_reads_one_byte_and_matdiff_is_quiet():
    p1 = subprocess.Popen(MATDIFF + [SEED, "X", "--format", "json", "--steps", "--check"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    head = subprocess.run(["head", "-c1"], stdin=p1.stdout, capture_output=True, timeout=120)
    p1.stdout.close()
    err = p1.stderr.read().decode()
    code = p1.wait(timeout=120)
    assert head.stdout == b"{"
    assert "Error" not in err and "Traceback" not in err and code in (0, -13, 141)


def test_version():
    p = subprocess.run(MATDIFF + ["--version"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and p.stdout == f"matdiff {matdiff.__version__}\n" and p.stderr == ""


def test_steps_follow_the_format():
    _, _, err = cli(SEED, "X", "--steps", "--format", "latex")
    assert r"\mathrm{d}f = \beta \operatorname{sum}" in err
    assert any(ln.startswith(r"\frac{\partial f}{\partial X} = 2 \beta X") for ln in err.splitlines())
    _, _, err = cli(SEED, "X", "--steps", "--format", "unicode")
    assert "∂f/∂X = 2 β X sign(XᵀX − I)" in err.splitlines()


def test_a_declaration_the_expression_lacks_is_noted():
    code, out, err = cli("tr(S*A)", "S", "--symmetric", "Q", "--scalar", "c")
    assert code == 0 and out.strip() == "A'"
    assert "note: 'Q' is declared symmetric but does not occur in the expression" in err.splitlines()
    assert "note: 'c' is declared scalar but does not occur in the expression" in err.splitlines()


def test_a_check_that_cannot_be_made_exits_3():
    code, out, err = cli("sum(log(-exp(x)))", "x", "--check")
    assert code == 3 and "MISMATCH" not in err and "check could not be made" in err


# -- NumPy spellings and hints (SPEC §1) ----------------------------------------------------------------
@pytest.mark.parametrize("numpy_style,matdiff_style", [
    ("A @ B", "A*B"), ("X.T", "X'"), ("X.T @ X", "X'*X"), ("x ** 2", "x .^ 2"), ("-x ** 2", "-(x .^ 2)"),
    ("(A @ B).T", "(A*B)'"), ("x ** -1", "x .^ -1"), ("X.T.T", "X"), ("X.T X", "X'X"), ("2 ** 3", "8"),
])
def test_numpy_spellings_mean_what_numpy_means(numpy_style, matdiff_style):
    assert matdiff.parse(numpy_style).expr == matdiff.parse(matdiff_style).expr


def test_a_numpy_least_squares_loss_pastes_in():
    r = matdiff.diff("sum((A @ x - b) ** 2) + x.T @ x", "x")
    A, x, b = RNG.standard_normal((5, 3)), RNG.standard_normal(3), RNG.standard_normal(5)
    f = lambda A, x, b: np.sum((A @ x - b) ** 2) + x @ x  # noqa: E731
    assert first_order_error(f, {"A": A, "x": x, "b": b}, "x", r.lambdify()(A=A, x=x, b=b)) < 1e-6


@pytest.mark.parametrize("expr,message,caret", [
    ("dot(x, y)", "unknown name at column 1: unknown function 'dot'; write x'*y for the inner product",
     "  ^^^"),
    ("dot(A*x, b) + 1", "unknown name at column 1: unknown function 'dot'; write (A*x)'*b for the inner product",
     "  ^^^"),
    ("1 + mean(x)", "unknown name at column 5: unknown function 'mean'; write sum(x)/n for the mean, declaring n "
     "(the number of entries) a scalar: --scalar n, or types={'n': 'scalar'}", "      ^^^^"),
    ("transpose(X)*X", "unknown name at column 1: unknown function 'transpose'; write X' (or X.T) for the "
     "transpose", "  ^^^^^^^^^"),
    ("norm(x)", "unknown name at column 1: unknown function 'norm'; write norm2(x) for the Euclidean "
     "(Frobenius) norm, norm1(x) for the L1 norm", "  ^^^^"),
    ("‖x‖^2", "syntax error at column 1: '‖x‖' is not matdiff syntax; write norm2(x) for the Euclidean "
     "(Frobenius) norm", "  ^^^"),
    ("2*||A*x - b||", "syntax error at column 3: '||A*x - b||' is not matdiff syntax; write norm2(A*x - b) for "
     "the Euclidean (Frobenius) norm", "    ^^^^^^^^^^^"),
    ("sum(|x|)", "syntax error at column 5: '|x|' is not matdiff syntax; write abs(x) for the entry-wise "
     "absolute value, norm2(x) for the norm", "      ^^^"),
    ("X.Tb", "syntax error at column 2: unexpected character '.'", "   ^"),
    ("sum(np.exp(x))", "syntax error at column 5: 'np.exp' is not matdiff syntax; write exp(…) without the "
     "'np.' prefix", "      ^^^"),
    ("np.dot(x, y)", "unknown name at column 4: unknown function 'dot'; write x'*y for the inner product", "     ^^^"),
])
def test_hints_name_the_matdiff_spelling(expr, message, caret):
    code, out, err = cli(expr, "x")
    assert code == 2 and out == ""
    assert err.splitlines() == [f"matdiff: {message}", f"  {expr}", caret]
    with pytest.raises(matdiff.MatdiffError) as info:
        matdiff.diff(expr, "x")
    assert info.value.report().splitlines()[0] == message


def test_the_hinted_spellings_are_right():
    """What the hints say to write computes what the other systems' spellings compute."""
    x, y = RNG.standard_normal(4), RNG.standard_normal(4)
    assert np.isclose(matdiff.lambdify("x'*y")(x=x, y=y), np.dot(x, y))
    assert np.isclose(matdiff.lambdify("sum(x)/n", {"n": "scalar"})(x=x, n=4.0), np.mean(x))
    assert np.isclose(matdiff.lambdify("norm2(x)")(x=x), np.linalg.norm(x))


def test_a_function_followed_by_a_space_is_still_a_product():
    """``mean (x)`` is the vector mean times x, as before: a shape error, not a hint."""
    with pytest.raises(matdiff.ShapeError):
        matdiff.diff("mean (x)", "x")


# -- SymPy objects (SPEC §5) ----------------------------------------------------------------------------
def test_diff_takes_from_sympy_and_a_matrix_symbol():
    sp = pytest.importorskip("sympy")
    m, n = sp.symbols("m n")
    X, A = sp.MatrixSymbol("X", m, n), sp.MatrixSymbol("A", m, m)
    r = matdiff.diff(matdiff.from_sympy(sp.Trace(X.T * A * X)), X)
    assert r.variable.name == "X" and not any(x.startswith("assumed") for x in r.notes)
    Xv, Av = RNG.standard_normal((4, 3)), RNG.standard_normal((4, 4))
    G = r.lambdify()(X=Xv, A=Av)
    assert first_order_error(lambda X, A: np.trace(X.T @ A @ X), {"X": Xv, "A": Av}, "X", G) < 1e-6


def test_diff_takes_a_vector_symbol_and_a_scalar_symbol():
    sp = pytest.importorskip("sympy")
    n = sp.Symbol("n")
    x, A = sp.MatrixSymbol("x", n, 1), sp.MatrixSymbol("A", n, n)
    H = matdiff.diff(matdiff.from_sympy(x.T * A * x), x, order=2)
    Av = RNG.standard_normal((3, 3))
    xv = RNG.standard_normal(3)
    assert second_order_error(lambda x, A: x @ A @ x, {"x": xv, "A": Av}, "x", H.lambdify()(x=xv, A=Av)) < 1e-5
    t = sp.Symbol("t")
    r = matdiff.diff("t*x'*A*x", t)  # a Symbol declares a scalar
    assert r.variable.is_scalar
    assert np.isclose(r.lambdify()(t=0.3, x=xv, A=Av), xv @ Av @ xv)


def test_diff_of_a_parsed_expression_keeps_its_declarations():
    p = matdiff.parse("tr(S*A)", {"S": "symmetric"})
    r = matdiff.diff(p, "S")
    assert r.variable.symmetric and str(r) == "(A + A')/2"
    assert matdiff.diff(matdiff.parse("x'Ax"), "x").notes == matdiff.diff("x'Ax", "x").notes


# -- lambda: lambda_= and **{"lambda": …} everywhere (SPEC §5) ------------------------------------------
RIDGE = "norm2(A*x - b)^2 + lambda*x'*x"


def _ridge(A, x, b, lam):
    return np.sum((A @ x - b) ** 2) + lam * x @ x


def test_lambda_in_lambdify_and_the_result():
    A, x, b = RNG.standard_normal((5, 3)), RNG.standard_normal(3), RNG.standard_normal(5)
    r = matdiff.diff(RIDGE, "x")
    g1 = r.lambdify()(A=A, x=x, b=b, lambda_=0.3)
    g2 = r.lambdify()(A=A, x=x, b=b, **{"lambda": 0.3})
    np.testing.assert_array_equal(g1, g2)
    assert first_order_error(lambda x: _ridge(A, x, b, 0.3), {"x": x}, "x", g1) < 1e-6
    f = matdiff.lambdify(RIDGE)
    assert np.isclose(f(A=A, x=x, b=b, lambda_=0.3), _ridge(A, x, b, 0.3))
    assert np.isclose(f(A=A, x=x, b=b, **{"lambda": 0.3}), _ridge(A, x, b, 0.3))
    with pytest.raises(matdiff.UsageError, match="given twice"):
        f(A=A, x=x, b=b, lambda_=0.3, **{"lambda": 0.3})


def test_lambda_in_hvp_and_generated_code():
    A, x, b, v = RNG.standard_normal((5, 3)), RNG.standard_normal(3), RNG.standard_normal(5), RNG.standard_normal(3)
    h = matdiff.diff(RIDGE, "x", order=2)
    H = 2 * A.T @ A + 0.6 * np.eye(3)  # by hand
    np.testing.assert_allclose(h.hvp()(v, A=A, x=x, b=b, lambda_=0.3), H @ v)
    np.testing.assert_allclose(h.hvp()(v, A=A, x=x, b=b, **{"lambda": 0.3}), H @ v)
    namespace: dict = {}
    exec(matdiff.diff(RIDGE, "x").to_code("numpy"), namespace)  # matdiff's own output, not user text
    g = namespace["derivative"]
    want = 2 * A.T @ (A @ x - b) + 0.6 * x
    np.testing.assert_allclose(g(A=A, x=x, b=b, lambda_=0.3), want)
    np.testing.assert_allclose(g(A=A, x=x, b=b, **{"lambda": 0.3}), want)


# -- sum(softmax(z)) = 1 ------------------------------------------------------------------------------------
def test_sum_of_softmax_is_one():
    r = matdiff.diff("sum(softmax(z))", "z")
    assert str(r) == "0"
    assert "the expression simplifies to 1, without 'z': the derivative is zero" in r.notes
    r = matdiff.diff("sum(softmax(A*x)) + x'*x", "x")
    A, x = RNG.standard_normal((4, 3)), RNG.standard_normal(3)
    f = lambda A, x: np.sum(softmax(A @ x)) + x @ x  # noqa: E731
    assert str(r) == "2*x"
    assert first_order_error(f, {"A": A, "x": x}, "x", r.lambdify()(A=A, x=x)) < 1e-6


# -- r.steps --------------------------------------------------------------------------------------------------
def test_steps_print_one_per_line_and_stay_a_list():
    r = matdiff.diff("x'*A*x", "x")
    steps = r.steps
    assert isinstance(steps, list) and steps == list(steps) and steps[0] == "f = x'*A*x"
    assert str(steps) == "\n".join(steps)
    html = steps._repr_html_()
    assert html.startswith("<ol") and html.count("<li>") == len(steps) and r"\mathrm{d}f" in html
    assert json.loads(json.dumps(r.to_dict()))["steps"] == list(steps)


# -- the same answer under any hash seed -----------------------------------------------------------------------
DETERMINISM = """
import matdiff
for expr, wrt, types in [
    ("0.5*logdet(S) + 0.5*(x - mu)'*inv(S)*(x - mu)", "S", {"S": "symmetric", "mu": "vector"}),
    ("x'*A*x + b'*x", "x", None), ("softmax(X*w)", "X", None), ("tr(A*X*B*X')", "X", None),
]:
    r = matdiff.diff(expr, wrt, types=types)
    print(r, r.notes)
"""


def test_the_answer_does_not_depend_on_the_hash_seed():
    outs = {subprocess.run([sys.executable, "-c", DETERMINISM], capture_output=True, text=True, timeout=120,
                           env=dict(os.environ, PYTHONHASHSEED=str(seed))).stdout for seed in range(4)}
    assert len(outs) == 1 and "(I - inv(S)*u*u')*inv(S)/2" in outs.pop()


# -- PyTorch keeps float32 ------------------------------------------------------------------------------------
def test_torch_code_keeps_float32():
    torch = pytest.importorskip("torch")
    r = matdiff.diff(SEED, "X")
    namespace: dict = {}
    exec(r.to_code("torch"), namespace)  # matdiff's own output, not user text
    g = namespace["derivative"]
    X = RNG.standard_normal((5, 3))
    out32 = g(X=torch.tensor(X, dtype=torch.float32), beta=0.7)
    out64 = g(X=torch.tensor(X), beta=0.7)
    assert out32.dtype == torch.float32 and out64.dtype == torch.float64
    f = lambda X, beta: beta * np.sum(np.abs(X.T @ X - np.eye(3)))  # noqa: E731
    assert first_order_error(f, {"X": X, "beta": 0.7}, "X", out64.numpy()) < 1e-6
    np.testing.assert_allclose(out32.numpy(), out64.numpy(), rtol=1e-5)
    grads = matdiff.diff("norm2(W*x - y)^2", ["W", "x"])  # several variables too
    namespace = {}
    exec(grads.to_code("torch"), namespace)  # matdiff's own output, not user text
    res = namespace["gradients"](W=torch.ones((2, 3), dtype=torch.float32), x=torch.ones(3, dtype=torch.float32),
                                 y=torch.zeros(2, dtype=torch.float32))
    assert {v.dtype for v in res.values()} == {torch.float32}
