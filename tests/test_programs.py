"""Several variables and programs with named intermediates (SPEC §7).

Every answer is checked against central finite differences of a NumPy
function written here by hand, on inputs with distinct dimensions; the
printed forms are checked by parsing them back, never by their text alone.
"""
from __future__ import annotations

import io
import json

import numpy as np
import pytest

import matdiff
from matdiff.cli import run
from matdiff.errors import ParseError, UsageError

from fdutil import first_order_error, second_order_error


def sigmoid(u):
    return 1.0 / (1.0 + np.exp(-u))


def cli(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = run(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def exec_function(src: str, name: str):
    namespace: dict = {}
    exec(compile(src, "<matdiff generated>", "exec"), namespace)  # noqa: S102 - the code under test
    return namespace[name]


RNG = np.random.default_rng(7)

SIGLS = "z = W*x + b; y = sigmoid(z); L = 0.5*norm2(y - t)^2 + lambda/2*norm2(W)^2"


def sigls(W, x, b, t, **kw):
    y = sigmoid(W @ x + b)
    return float(0.5 * np.sum((y - t) ** 2) + kw["lambda"] / 2 * np.sum(W ** 2))


SIGLS_IN = {"W": RNG.standard_normal((3, 4)), "x": RNG.standard_normal(4), "b": RNG.standard_normal(3),
            "t": RNG.standard_normal(3), "lambda": 0.3}

GROSSE = "z = w*x + b; y = sigmoid(z); L = 0.5*(y - t)^2; R = 0.5*w^2; Lreg = L + lambda*R"
GROSSE_TYPES = {"w": "scalar", "x": "scalar", "b": "scalar", "t": "scalar"}


def grosse(w, x, b, t, **kw):
    y = sigmoid(w * x + b)
    return float(0.5 * (y - t) ** 2 + kw["lambda"] * 0.5 * w ** 2)


GROSSE_IN = {"w": 0.7, "x": -1.3, "b": 0.4, "t": 0.9, "lambda": 0.2}

TWO_LAYER = "norm2(W2*tanh(W1*x + b1) + b2 - y)^2"


def two_layer(W1, b1, W2, b2, x, y):
    return float(np.sum((W2 @ np.tanh(W1 @ x + b1) + b2 - y) ** 2))


TWO_LAYER_IN = {"W1": 0.5 * RNG.standard_normal((5, 4)), "b1": RNG.standard_normal(5),
                "W2": RNG.standard_normal((3, 5)), "b2": RNG.standard_normal(3),
                "x": RNG.standard_normal(4), "y": RNG.standard_normal(3)}

PROGRAM_NET = "h = tanh(W1*x + b1); o = W2*h + b2; L = norm2(o - y)^2"

SOFTMAX_XENT = "s = softmax(W*x); L = -y'*log(s)"


def softmax_xent(W, x, y):
    z = W @ x
    s = np.exp(z - z.max())
    s /= s.sum()
    return float(-y @ np.log(s))


SOFTMAX_IN = {"W": RNG.standard_normal((3, 4)), "x": RNG.standard_normal(4), "y": RNG.uniform(0.1, 1, 3)}

LOGREG = "-sum(log(sigmoid(y .* (X*w + b))))"


def logreg(y, X, w, b):
    return float(np.sum(np.logaddexp(0.0, -y * (X @ w + b))))


LOGREG_IN = {"y": np.sign(RNG.standard_normal(6)), "X": RNG.standard_normal((6, 4)),
             "w": RNG.standard_normal(4), "b": 0.3}

SPEC_PROGRAM = "z = W*x + b; y = sigmoid(z); L = 0.5*norm2(y - t)^2"


def spec_program(W, x, b, t):
    return float(0.5 * np.sum((sigmoid(W @ x + b) - t) ** 2))


SPEC_IN = {k: SIGLS_IN[k] for k in ("W", "x", "b", "t")}

# (expression, variables, types, hand-written f, inputs, source)
CASES = [
    (SPEC_PROGRAM, ["W"], None, spec_program, SPEC_IN, "SPEC §7: the definitions example"),
    (SPEC_PROGRAM, ["W", "b"], None, spec_program, SPEC_IN, "SPEC §7: the definitions example, W and b"),
    (SIGLS, ["W", "b"], None, sigls, SIGLS_IN, "SPEC §7: sigmoid least squares, as a program"),
    (SIGLS, ["W", "b", "x", "t", "lambda"], None, sigls, SIGLS_IN, "every input of the program at once"),
    (GROSSE, ["w", "b"], GROSSE_TYPES, grosse, GROSSE_IN, "seed 001: a scalar network with a regularizer"),
    (TWO_LAYER, ["W1", "b1", "W2", "b2"], None, two_layer, TWO_LAYER_IN, "seed 001: a two-layer network"),
    (PROGRAM_NET, ["W1", "b1", "W2", "b2", "x"], None, two_layer, TWO_LAYER_IN, "the network as a program"),
    (SOFTMAX_XENT, ["W", "x"], None, softmax_xent, SOFTMAX_IN, "softmax cross-entropy as a program"),
    (LOGREG, ["w", "b"], {"b": "scalar"}, logreg, LOGREG_IN, "logistic regression, weights and bias"),
]


@pytest.mark.parametrize("expr,wrt,types,f,inputs,source", CASES, ids=[c[5] for c in CASES])
def test_several_variables_against_numpy(expr, wrt, types, f, inputs, source):
    rs = matdiff.diff(expr, wrt, types=types)
    assert list(rs) == wrt and len(rs) == len(wrt)
    together = rs.lambdify()(**inputs)
    code = exec_function(rs.to_code(), "gradients")(**{("lambda_" if k == "lambda" else k): v
                                                      for k, v in inputs.items()})
    for v in wrt:
        one = rs[v].lambdify()(**inputs)
        assert np.shape(one) == np.shape(inputs[v])
        assert first_order_error(f, inputs, v, one) < 1e-6, (v, str(rs[v]))
        np.testing.assert_allclose(together[v], one, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(code[v], one, rtol=1e-10, atol=1e-12)
        assert rs[v].check().ok
        # the answer printed in the mapping parses back, in the program's names when there are some
        assert f"∂{rs.function_name}/∂{v} = " in str(rs)
    assert rs.check().ok


def test_sigmoid_program_answers_in_the_defined_names():
    r = matdiff.diff(SIGLS, "W")
    assert first_order_error(sigls, SIGLS_IN, "W", r.lambdify()(**SIGLS_IN)) < 1e-6
    names = {n for n in matdiff.parse(SIGLS).program.names}
    # printed with y (the sigmoid) and its complement 1 - y, not with sigmoid(W*x + b)
    text = str(r)
    assert "sigmoid" not in text and "y" in text
    prog = "z = W*x + b; y = sigmoid(z); " + text  # the answer is an expression of the program
    back = matdiff.parse(prog, {"lambda": "scalar"})
    assert back.program is not None and {"z", "y"} <= names
    G = matdiff.lambdify(prog)(**SIGLS_IN)
    np.testing.assert_allclose(G, r.lambdify()(**SIGLS_IN), rtol=1e-10)


def test_program_result_takes_only_the_inputs():
    r = matdiff.diff(SIGLS, "W")
    assert set(r.symbols) == {"W", "x", "b", "t", "lambda"}
    with pytest.raises(UsageError):
        r.lambdify()(W=SIGLS_IN["W"], x=SIGLS_IN["x"], b=SIGLS_IN["b"])  # t is missing


def test_generated_code_computes_each_intermediate_once():
    src = matdiff.diff(SIGLS, ["W", "b"]).to_code()
    body = src[src.index("    W = np.asarray"):]  # after the docstring
    assert body.count("sigmoid(") == 1 and "    y = sigmoid(z)" in body and "    z = " in body
    f = exec_function(src, "gradients")
    out = f(**{("lambda_" if k == "lambda" else k): v for k, v in SIGLS_IN.items()})
    assert first_order_error(sigls, SIGLS_IN, "b", out["b"]) < 1e-6


def test_two_layer_gradients_share_their_where_names():
    rs = matdiff.diff(TWO_LAYER, ["W1", "b1", "W2", "b2"])
    lines = str(rs).splitlines()
    assert [ln.split(" = ")[0] for ln in lines[:4]] == ["∂f/∂W1", "∂f/∂b1", "∂f/∂W2", "∂f/∂b2"]
    assert lines[4].startswith("  where ") and "tanh(W1*x + b1)" in lines[4]
    assert str(rs).count("tanh") == 1  # named once, used by every gradient
    # the where names, put back, give the same function: parse the text as a program
    where = lines[4].strip()[len("where "):].split(", ")
    for v, line in zip(rs, lines[:4]):
        prog = "; ".join(where) + "; " + line.split(" = ", 1)[1]
        got = matdiff.lambdify(prog)(**{k: TWO_LAYER_IN[k] for k in matdiff.parse(prog).symbols})
        assert first_order_error(two_layer, TWO_LAYER_IN, v, np.reshape(got, np.shape(TWO_LAYER_IN[v]))) < 1e-6


def test_scalar_program_with_regularizer():
    rs = matdiff.diff(GROSSE, ["w", "b"], types=GROSSE_TYPES)
    assert rs.function_name == "Lreg"
    for v in ("w", "b"):
        assert first_order_error(grosse, GROSSE_IN, v, rs[v].lambdify()(**GROSSE_IN)) < 1e-7
        assert "sigmoid" not in str(rs[v])


def test_program_hessian_is_in_the_names():
    prog = "z = A*x; q = z'*z; e = exp(-q/8); e"
    r = matdiff.diff(prog, "x", order=2)
    A_, x_ = RNG.standard_normal((3, 4)), RNG.standard_normal(4)

    def f(A, x):
        return float(np.exp(-np.sum((A @ x) ** 2) / 8))

    H = r.lambdify()(A=A_, x=x_)
    assert second_order_error(f, {"A": A_, "x": x_}, "x", H) < 1e-5
    assert r.check().ok


def test_program_jacobian():
    r = matdiff.diff("z = W*x; y = tanh(z)", "W")
    W_, x_ = RNG.standard_normal((3, 4)), RNG.standard_normal(4)
    J = r.lambdify()(W=W_, x=x_)
    assert J.shape == (3, 12)
    assert first_order_error(lambda W, x: np.tanh(W @ x), {"W": W_, "x": x_}, "W", J) < 1e-6


def test_new_lines_separate_statements():
    prog = "z = W*x + b\ny = sigmoid(z)\nL = 0.5*norm2(y - t)^2 +\n    lambda/2*norm2(W)^2"
    a = matdiff.diff(prog, "W")
    b = matdiff.diff(SIGLS, "W")
    assert str(a) == str(b)
    np.testing.assert_allclose(a.lambdify()(**SIGLS_IN), b.lambdify()(**SIGLS_IN))


def test_a_defined_name_takes_the_shape_of_its_definition():
    # Z (upper case) is a vector, s (lower case) a scalar, by their definitions
    p = matdiff.parse("Z = W*x; s = Z'*Z; s")
    d = {x.name.name: x.name for x in p.program.definitions}
    assert d["Z"].is_vector and d["s"].is_scalar
    r = matdiff.diff("Z = W*x; s = Z'*Z; s", "W")
    W_, x_ = RNG.standard_normal((3, 4)), RNG.standard_normal(4)
    assert first_order_error(lambda W, x: float(np.sum((W @ x) ** 2)), {"W": W_, "x": x_}, "W",
                             r.lambdify()(W=W_, x=x_)) < 1e-6


def test_backward_pass_steps():
    r = matdiff.diff(SIGLS, "W")
    steps = r.steps
    assert steps[:3] == ["z = W*x + b", "y = sigmoid(z)", "L = 0.5*norm2(y - t)^2 + lambda/2*norm2(W)^2"]
    adj = [s for s in steps if s.startswith("∂L/∂")]
    assert [s.split(" = ")[0] for s in adj] == ["∂L/∂y", "∂L/∂z", "∂L/∂W", "∂L/∂W"]
    assert adj[0].startswith("∂L/∂y = y - t    [dL = ")
    assert adj[1].startswith("∂L/∂z = ∂L/∂y .* y .* (1 - y)    [dy = ")
    assert "∂L/∂z*x'" in adj[2] and "lambda*W" in adj[2]
    assert adj[3].startswith(f"∂L/∂W = {r.text}")


def test_backward_pass_is_the_chain_rule():
    """The adjoints of the steps, substituted last to first, evaluate to the answer."""
    rs = matdiff.diff(PROGRAM_NET, ["W1", "b2"])
    from matdiff.calculus.backward import backward_pass
    from matdiff.results import named_definitions

    prog = rs.program
    defs = named_definitions(prog)
    adj = backward_pass(defs[:len(prog.intermediates)], prog.function, "L",
                        [rs[v].variable for v in rs])
    by_name = {a.name.name: a.value for a in adj}
    env = dict(TWO_LAYER_IN)
    env["h"] = np.tanh(env["W1"] @ env["x"] + env["b1"])
    env["o"] = env["W2"] @ env["h"] + env["b2"]
    from matdiff.backends.evaluate import bind, evaluate

    syms = dict(rs.symbols)
    syms["h"], syms["o"] = prog.definition("h").name, prog.definition("o").name
    values, dims = bind(syms, {k: env[k] for k in syms})
    for name in ("o", "h", "W1", "b2"):  # last to first: each adjoint uses the later ones
        values[f"∂L/∂{name}"] = evaluate(by_name[name], values, dims)
    for v in ("W1", "b2"):
        got = np.reshape(values[f"∂L/∂{v}"], np.shape(TWO_LAYER_IN[v]))
        assert first_order_error(two_layer, TWO_LAYER_IN, v, got) < 1e-6


def test_json_of_several_variables_is_one_object():
    code, out, _ = cli(SIGLS, "W,b", "--format", "json")
    assert code == 0
    d = json.loads(out)
    assert d["variables"] == ["W", "b"] and set(d["results"]) == {"W", "b"}
    assert d["results"]["W"]["text"] == str(matdiff.diff(SIGLS, "W"))


def test_cli_done_when():
    code, out, err = cli(SIGLS, "W,b", "--steps", "--check")
    assert code == 0, err
    text = out + err
    assert "∂L/∂W = ((y - t) .* y .* (1 - y))*x' + lambda*W" in text
    assert "∂L/∂b = (y - t) .* y .* (1 - y)" in text
    assert "∂L/∂z = ∂L/∂y .* y .* (1 - y)" in text
    assert text.count("check ok") == 2


def test_cli_numpy_for_several_variables_runs():
    code, out, _ = cli(TWO_LAYER, "W1,b1,W2,b2", "--format", "numpy")
    assert code == 0
    g = exec_function(out, "gradients")(**TWO_LAYER_IN)
    for v in ("W1", "b1", "W2", "b2"):
        assert first_order_error(two_layer, TWO_LAYER_IN, v, g[v]) < 1e-6


def test_mapping_renders_as_one_table():
    rs = matdiff.diff(TWO_LAYER, ["W1", "b1", "W2", "b2"])
    page = rs._repr_html_()
    assert page.count("<tr>") == 5 and "<table>" in page
    assert rs.latex().startswith(r"\begin{aligned}") and rs.unicode().count("∂f/∂") == 4


def test_joint_derivation_equals_one_variable_at_a_time():
    rs = matdiff.diff(TWO_LAYER, ["W1", "b1", "W2", "b2"])
    for v in rs:
        one = matdiff.diff(TWO_LAYER, v)
        np.testing.assert_allclose(rs[v].lambdify()(**TWO_LAYER_IN), one.lambdify()(**TWO_LAYER_IN),
                                   rtol=1e-10, atol=1e-12)


# -- errors, each with a caret at the right column ----------------------------------------------
ERRORS = [
    ("z = W*x; z = 2*x; sum(z)", 10, "defined twice"),
    ("y = sigmoid(z); z = W*x; sum(y)", 13, "used before its definition"),
    ("a = b + x; b = a; sum(b)", 5, "cycle"),
    ("a = a + x; sum(a)", 5, "cycle"),
    ("I = W*x; sum(I)", 1, "reserved"),
    ("eye = W*x; sum(eye)", 1, "reserved"),
    ("exp = W*x; sum(exp)", 1, "function name"),
    ("z = W*x\nz = 2*x\nsum(z)", 9, "defined twice"),
    ("x + y = 3", 7, "'='"),
    ("z = ; sum(z)", 5, "missing operand"),
    ("x'*x; z = x", 5, "only the last statement"),
    ("z = W*x; z'*z; q = 2", 16, "only the last statement"),
]


@pytest.mark.parametrize("text,column,words", ERRORS)
def test_program_errors_point_at_the_column(text, column, words):
    with pytest.raises(ParseError) as e:
        matdiff.diff(text, "x")
    assert e.value.column == column and words in e.value.message
    code, out, err = cli(text, "x")
    assert code == 2 and out == "" and "Traceback" not in err
    caret_line = err.splitlines()[-1]
    assert caret_line.index("^") - 2 == column - 1


def test_variable_defined_by_the_program_is_refused():
    with pytest.raises(UsageError, match="defined by the program"):
        matdiff.diff(SIGLS, "y")
    with pytest.raises(UsageError, match="defined by the program"):
        matdiff.diff(SIGLS, "W", types={"z": "vector"})


def test_several_variables_misuse():
    with pytest.raises(UsageError, match="twice"):
        matdiff.diff("x'*x", ["x", "x"])
    with pytest.raises(UsageError, match="empty"):
        matdiff.diff("x'*x", [])
    with pytest.raises(UsageError, match="order=1"):
        matdiff.diff("x'*A*x", ["x", "A"], order=2)
    code, _, err = cli("x'*A*x", "x,sum")
    assert code == 2 and "function" in err


def test_unused_definition_is_noted():
    r = matdiff.diff("u = A*x; v = B*x; w = x'*x; u'*v", "x")
    assert any("'w' is defined but the function does not use it" in n for n in r.notes)
    A_, B_, x_ = RNG.standard_normal((3, 4)), RNG.standard_normal((3, 4)), RNG.standard_normal(4)
    assert first_order_error(lambda A, B, x: float((A @ x) @ (B @ x)), {"A": A_, "B": B_, "x": x_}, "x",
                             r.lambdify()(A=A_, B=B_, x=x_)) < 1e-6
    assert not any("∂f/∂w" in s for s in r.steps)  # the unused definition has no adjoint


def test_single_expressions_are_unchanged_by_the_program_grammar():
    assert matdiff.parse("x'*x").program is None
    assert str(matdiff.diff("beta*sum(abs(X'X - I))", "X")) == "2*beta*X*sign(X'X - I)"
    # a new line inside a single expression is still white space
    assert str(matdiff.diff("x'*A\n*x", "x")) == str(matdiff.diff("x'*A*x", "x"))


def test_a_program_that_explodes_when_written_out_is_refused_quickly():
    import time

    from matdiff.errors import UnsupportedError

    stmts = ["a0 = x"] + [f"a{i + 1} = tanh(a{i}) .* a{i} + a{i}" for i in range(40)] + ["L = sum(a40)"]
    t = time.perf_counter()
    with pytest.raises(UnsupportedError, match="too large") as e:
        matdiff.diff("; ".join(stmts), "x")
    assert time.perf_counter() - t < 5 and e.value.column is not None


def test_same_output_under_any_hash_seed():
    import os
    import subprocess
    import sys

    code = ("import matdiff; print(matdiff.diff('norm2(W2*tanh(W1*x + b1) + b2 - y)^2', ['W1', 'b1', 'W2', 'b2']));"
            f"print(matdiff.diff({SIGLS!r}, ['W', 'b', 'x']).steps)")
    outs = set()
    for seed in ("0", "1", "12345"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        outs.add(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                                check=True).stdout)
    assert len(outs) == 1


def test_spec_answer_form():
    """SPEC §7 prints ∂L/∂W = ((y - t) .* y .* (1 - y))*x': the same function as matdiff's answer."""
    r = matdiff.diff(SPEC_PROGRAM, "W")
    spec = matdiff.lambdify("z = W*x + b; y = sigmoid(z); ((y - t) .* y .* (1 - y))*x'")(**SPEC_IN)
    np.testing.assert_allclose(r.lambdify()(**SPEC_IN), spec, rtol=1e-12)
    assert first_order_error(spec_program, SPEC_IN, "W", spec) < 1e-6
    assert str(r) == "((y - t) .* y .* (1 - y))*x'"  # as SPEC §7 prints it


def test_one_definition_program_and_trailing_separator():
    r = matdiff.diff("L = x'*A*x;", "x")
    assert r.program.function_name == "L"
    A_, x_ = RNG.standard_normal((4, 4)), RNG.standard_normal(4)
    assert first_order_error(lambda A, x: float(x @ A @ x), {"A": A_, "x": x_}, "x",
                             r.lambdify()(A=A_, x=x_)) < 1e-6


def test_cli_program_on_several_lines():
    code, out, err = cli("z = W*x + b\ny = sigmoid(z)\nL = 0.5*norm2(y - t)^2", "W,b", "--check")
    assert code == 0, err
    assert out.splitlines()[0] == "∂L/∂W = ((y - t) .* y .* (1 - y))*x'"
    code, out, err = cli("z = W*x\nz = 2*x\nsum(z)", "x")
    assert code == 2 and "defined twice" in err and "Traceback" not in err


FOLDS = [
    # (program, variable, hand-written f, inputs, a defined name the answer uses, text it replaces)
    ("z = A*x; L = z'*B*z", "x", lambda A, B, x: float((A @ x) @ B @ (A @ x)),
     {"A": RNG.standard_normal((3, 4)), "B": RNG.standard_normal((3, 3)), "x": RNG.standard_normal(4)}, "z", "A*x"),
    ("z = A*x; L = z'*B*z", "A", lambda A, B, x: float((A @ x) @ B @ (A @ x)),
     {"A": RNG.standard_normal((3, 4)), "B": RNG.standard_normal((3, 3)), "x": RNG.standard_normal(4)}, "z", "A*x"),
    ("h = W1*x; o = W2*h; L = norm2(o - y)^2", "W2",
     lambda W1, W2, x, y: float(np.sum((W2 @ W1 @ x - y) ** 2)),
     {"W1": RNG.standard_normal((5, 4)), "W2": RNG.standard_normal((3, 5)), "x": RNG.standard_normal(4),
      "y": RNG.standard_normal(3)}, "h", "W1"),
    ("Z = X*W; L = tr(Z'*C*Z)", "W", lambda X, W, C: float(np.trace((X @ W).T @ C @ (X @ W))),
     {"X": RNG.standard_normal((3, 4)), "W": RNG.standard_normal((4, 5)), "C": RNG.standard_normal((3, 3))},
     "Z", "X*W"),
    ("r = A*x - b; L = r'*r", "x", lambda A, x, b: float(np.sum((A @ x - b) ** 2)),
     {"A": RNG.standard_normal((3, 4)), "x": RNG.standard_normal(4), "b": RNG.standard_normal(3)}, "r", "A*x"),
    ("h = relu(W1*x); o = W2*h; L = norm2(o - y)^2", "W2",
     lambda W1, W2, x, y: float(np.sum((W2 @ np.maximum(W1 @ x, 0) - y) ** 2)),
     {"W1": RNG.standard_normal((5, 4)), "W2": RNG.standard_normal((3, 5)), "x": RNG.standard_normal(4),
      "y": RNG.standard_normal(3)}, "h", "relu"),
    ("m = A*x; s = m'*m; L = sqrt(s)", "x", lambda A, x: float(np.linalg.norm(A @ x)),
     {"A": RNG.standard_normal((3, 4)), "x": RNG.standard_normal(4)}, "L", "0.5"),
]


@pytest.mark.parametrize("prog,var,f,inputs,name,replaced", FOLDS, ids=[f"{c[0]} by {c[1]}" for c in FOLDS])
def test_answers_fold_definitions_inside_products_sums_and_transposes(prog, var, f, inputs, name, replaced):
    r = matdiff.diff(prog, var)
    text = str(r)
    assert name in text and replaced not in text, text
    assert first_order_error(f, inputs, var, r.lambdify()(**inputs)) < 1e-6


def test_folding_a_sum_of_two_folded_products_keeps_them_apart():
    """Regression: the folding memo once confused a folded product with a freed one of the same id,
    and H1*G2' + c*H1'*W came out as 2*H1*G2'."""
    prog = "H1 = U*(c .* b); G2 = W'*c; Q3 = H1'*(W*G2); L = beta + Q3 + sum(tanh(H1)) + sum(tanh(G2))"

    def f(W, U, b, c, beta):
        H1 = U @ (c * b)
        G2 = W.T @ c
        return beta + H1 @ (W @ G2) + np.sum(np.tanh(H1)) + np.sum(np.tanh(G2))

    inputs = {"W": RNG.standard_normal((3, 4)), "U": RNG.standard_normal((3, 3)), "b": RNG.standard_normal(3),
              "c": RNG.standard_normal(3), "beta": 0.5}
    rs = matdiff.diff(prog, ["W", "c"])
    for v in ("W", "c"):
        assert first_order_error(f, inputs, v, rs[v].lambdify()(**inputs)) < 1e-6, str(rs[v])
