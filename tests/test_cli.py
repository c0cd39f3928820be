"""The command line (SPEC §4): output of each format and option, exit status."""
from __future__ import annotations

import io
import json
from dataclasses import replace
from fractions import Fraction
import shutil
import subprocess

import numpy as np
import pytest

import matdiff
from matdiff.cli import run

SEED = "beta*sum(abs(X'X - I))"


def cli(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = run(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def same_tree(text: str, expected: str, types=None) -> bool:
    return matdiff.parse(text, types).expr == matdiff.parse(expected, types).expr


def test_seed_prints_the_textbook_gradient():
    code, out, err = cli(SEED, "X")
    assert code == 0 and out.count("\n") == 1
    lines = out.splitlines()
    assert lines[0] == "2*beta*X*sign(X'X - I)"
    assert same_tree(lines[0], "2*beta*X*sign(X'X - I)")


def test_notes_go_to_stderr():
    code, out, err = cli(SEED, "X")
    assert out.splitlines() == ["2*beta*X*sign(X'X - I)"]
    assert err.splitlines() == ["note: assumed beta is a scalar, X is a matrix",
                                "note: abs not differentiable at 0: the result is a subgradient there (abs′ = sign)"]


@pytest.mark.parametrize("expr,fn", [("sum(relu(A*x))", "relu"), ("norm1(x)", "norm1"), ("sum(sign(x) .* x)", "sign")])
def test_subgradient_notes(expr, fn):
    code, _, err = cli(expr, "x")
    assert code == 0
    notes = [line for line in err.splitlines() if "subgradient" in line]
    assert len(notes) == 1 and fn in notes[0]


def test_no_note_when_smooth():
    code, out, err = cli("x'*A*x", "x", "--matrix", "A", "--vector", "x")
    assert code == 0 and "note:" not in out + err
    assert same_tree(out.strip(), "(A + A')*x")


def test_steps():
    code, out, err = cli(SEED, "X", "--steps")
    assert code == 0 and out == "2*beta*X*sign(X'X - I)\n"
    lines = err.splitlines()
    assert lines[0] == "f = beta*sum(abs(X'X - I))"
    assert lines[1].startswith("df = ")
    steps = [line for line in lines if not line.startswith("note: ")]
    assert all(line.startswith(("f =", "df =", "∂f/∂X =")) for line in steps)
    assert steps[-1] == "∂f/∂X = 2*beta*X*sign(X'X - I)"
    assert lines[-1].startswith("note: ")


def test_check_passes():
    code, out, err = cli(SEED, "X", "--check")
    assert code == 0 and out == "2*beta*X*sign(X'X - I)\n"
    assert err.splitlines()[-1].startswith("check ok: largest relative error ")


def test_check_of_a_hessian():
    code, out, err = cli("x'*A*x + sum(exp(x))", "x", "--order", "2", "--check")
    assert code == 0 and "check ok" in err


@pytest.mark.parametrize("flag", [["--order", "2"], ["--hessian"]])
def test_hessian(flag):
    code, out, _ = cli("x'*A*x", "x", *flag)
    assert code == 0
    assert same_tree(out.strip(), "A + A'")


def test_hessian_numbers_from_json():
    code, out, _ = cli("sum(exp(x))", "x", "--hessian", "--format", "json")
    data = json.loads(out)
    assert data["kind"] == "hessian"
    assert same_tree(data["text"], "diag(exp(x))")


def test_symmetric_declaration():
    code, out, _ = cli("tr(S*A)", "S", "--symmetric", "S")
    assert code == 0
    assert same_tree(out.strip(), "(A + A')/2", {"S": "symmetric"})
    code, out, _ = cli("tr(S*A)", "S")  # undeclared: an ordinary matrix
    assert same_tree(out.strip(), "A'")


def test_scalar_declaration():
    code, out, _ = cli("c*x'x", "c", "--scalar", "c")
    assert code == 0
    assert same_tree(out.strip(), "x'x", {"c": "scalar"})
    code, out, _ = cli("c*x'x", "x", "--scalar", "c,d")
    assert same_tree(out.strip(), "2*c*x", {"c": "scalar"})


def test_declarations_repeat_and_combine():
    code, out, _ = cli("tr(S*M)*c", "S", "--symmetric", "S", "--scalar", "c", "--matrix", "M")
    assert code == 0
    assert same_tree(out.strip(), "c*(M + M')/2", {"S": "symmetric", "c": "scalar"}) or \
        matdiff.diff("tr(S*M)*c", "S", types={"S": "symmetric", "c": "scalar"}).check().ok


def test_format_unicode():
    code, out, _ = cli("tr(S*A)", "S", "--symmetric", "S", "--format", "unicode")
    assert out.strip() == "(A + Aᵀ)/2"


def test_format_latex():
    code, out, _ = cli("c*x'x", "x", "--scalar", "c", "--format", "latex")
    assert code == 0
    assert out.strip() == "2 c x"


def test_format_numpy_is_runnable():
    code, out, _ = cli(SEED, "X", "--format", "numpy")
    assert code == 0
    code_lines = [line for line in out.splitlines() if not line.startswith("note: ")]
    namespace: dict = {}
    exec(compile("\n".join(code_lines), "<matdiff numpy>", "exec"), namespace)  # the CLI's own output, not user input
    fn = next(v for k, v in namespace.items() if callable(v) and not k.startswith("_") and k != "np")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((5, 3))
    want = matdiff.diff(SEED, "X").lambdify()(X=X, beta=0.7)
    np.testing.assert_allclose(fn(X=X, beta=0.7), want)


def test_format_numpy_output_is_valid_python_with_notes():
    code, out, _ = cli(SEED, "X", "--format", "numpy")
    compile(out, "<matdiff numpy>", "exec")


def test_format_json():
    code, out, _ = cli(SEED, "X", "--format", "json")
    assert code == 0
    data = json.loads(out)
    for key in ("input", "variable", "kind", "shape", "text", "unicode", "latex", "numpy", "notes", "steps"):
        assert key in data, key
    assert data["input"] == SEED and data["variable"] == "X" and data["kind"] == "gradient"
    assert data["shape"] == ["m", "n"]
    assert same_tree(data["text"], "2*beta*X*sign(X'X - I)")
    assert data["notes"] and "subgradient" in data["notes"][-1] and "assumed" in data["notes"][0]
    assert data["steps"][0] == "f = " + SEED and data["steps"][-1].endswith(data["text"])


def test_jacobian_from_the_cli():
    code, out, _ = cli("A*x", "x")
    assert code == 0 and out.strip() == "A"


def test_check_mismatch_exits_1(monkeypatch):
    """--check exits 1 when the numbers disagree (a deliberately wrong result)."""
    import matdiff.cli as cli_module

    real = cli_module.diff

    def wrong(*a, **k):
        r = real(*a, **k)
        return replace(r, value=matdiff.core.construct.scale(Fraction(2), r.value))

    monkeypatch.setattr(cli_module, "diff", wrong)
    code, out, err = cli("x'x", "x", "--check")
    assert code == 1
    assert "check MISMATCH" in err and "check" not in out


def test_console_script():
    exe = shutil.which("matdiff")
    assert exe, "the matdiff console script is not installed"
    p = subprocess.run([exe, SEED, "X"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines()[0] == "2*beta*X*sign(X'X - I)"
    p = subprocess.run([exe, "x +", "x"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 2
    assert p.stderr.splitlines() == ["matdiff: syntax error at column 4: missing operand at the end of the expression",
                                     "  x +", "     ^"]
