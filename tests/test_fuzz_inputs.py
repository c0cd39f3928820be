"""Fuzzing the front door: random bytes, random text and mutated valid expressions through
``matdiff.diff`` and the command line.

Whatever the input, matdiff answers or raises a :class:`matdiff.MatdiffError` other than an
internal error, within a bounded time; the command line exits 0 or 2 and its standard error
holds no traceback and no "internal error".  The default run is derandomized and small;
``MATDIFF_EXPLORE=k`` runs k times the examples from fresh random seeds (for long local runs:
``MATDIFF_EXPLORE=200 nice python -m pytest tests/test_fuzz_inputs.py``).
"""
from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
from contextlib import contextmanager

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import matdiff
from matdiff.cli import run
from matdiff.errors import InternalError
from strategies import expressions

EXPLORE = float(os.environ.get("MATDIFF_EXPLORE", "0"))
SETTINGS = dict(deadline=None, derandomize=not EXPLORE, database=None,
                suppress_health_check=list(HealthCheck))
LIMIT = 20.0  # seconds for one input (the machine may be busy; an answer takes well under one)


def examples(n: int) -> int:
    return int(n * EXPLORE) if EXPLORE else n


VALID = [
    "tr(A*X*B)", "x'*A*x", "sum(exp(X) .* log(X .* X + 1))", "norm2(A*x - b)^2", "logdet(S) + tr(S*S)",
    "inv(X'X + I)", "det(X'*X) * tr(inv(X'*X))", "beta*sum(abs(X'X - I))", "softmax(A*x + b)",
    "logsumexp(A*x) + logsumexp(x)", "kron(x, y)'*kron(x, y)", "(b ⊗ x)' vec(X)", "sum(kron(A, X))",
    "vec(X)' * kron(A'A, I) * vec(X)", "z = W*x + b; y = sigmoid(z); L = 0.5*norm2(y - t)^2",
    "u = A*x; v = exp(u) + u .* u; L = sum(v .* u)", "sum_{i,j}(A[i,j]*x[i]*x[j]) + sum_i(x[i]*y[i])",
    "sum_i(sum_j(Phi[i,j,:] .* x[j]) .* y[i])", "Σ_i(x[i]*delta(i,j))", "sigmoid(gamma .* gamma)^arctan(3)",
    "exp(beta + gamma) * sin(gamma + beta)", "Xᵀ ⊙ Y ∘ Z", "A @ x ** 2", "X.T @ X", "f'(A*x)", "sum(f(W*x))",
    "tr(X^3) + tr(X^-2)", "diag(x)*A*diag(y)", "sum(relu(A*x - b) .* step(x))", "norm1(x) + tan(beta)",
    "vector(1)'*x + matrix(2)*y", "-(x a') (a a') * (X .* matrix(beta / 0.25) * (logsumexp(y)))",
    "exp(((0.1u) .^ 2 .* (x beta))ᵀ*((beta + X) (beta + X)' + I)^-1*((0.1u) .^ 2 .* (x beta)))",
    "sum(kron(diag(X), y'Y)) + (sum(y) - 0.25 + (-(y'Y y)))", "arcsin(tanh(x)/2)'*arccos(tanh(y)/2)",
    "sqrt(x .* x + 1) ./ (exp(x) + 1)", "(a + b + c + beta)^2 * (c + b + a)", "1.5e-3*x'x", "2X'X",
]
TOKENS = [
    "(", ")", "'", "ᵀ", "′", ".T", "*", "@", ".*", "∘", "⊙", "./", "/", "⊗", "^", ".^", "**", "+", "-", ",",
    ";", "=", "\n", "[", "]", ":", "{", "}", "_", " ", "sum_i", "sum_{i,j}", "Σ_k", "delta(i,j)", "I", "0",
    "1", "2", "-1", "0.5", "1e3", ".5", "x", "y", "X", "A", "beta", "Phi", "f", "g", "grad_g", "tr(", "det(",
    "logdet(", "inv(", "diag(", "vec(", "kron(", "sum(", "norm2(", "norm1(", "abs(", "exp(", "log(",
    "softmax(", "logsumexp(", "vector(", "matrix(", "sigmoid(", "relu(", "step(", "f'(", "f(", "g(",
]
NAMES = re.compile(r"[A-Za-z_\u0370-\u03ff][A-Za-z0-9_\u0370-\u03ff]*")


class Runaway(BaseException):
    """An input took longer than LIMIT (a BaseException: no ``except Exception`` inside matdiff catches it)."""


@contextmanager
def time_limit(seconds: float):
    def alarm(signum, frame):
        raise Runaway(f"more than {seconds} s")
    old = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@st.composite
def mutated(draw) -> str:
    """A valid expression (chosen or generated) with a few characters or tokens inserted,
    deleted or replaced, or spliced with another."""
    def valid() -> str:
        return draw(st.one_of(st.sampled_from(VALID), expressions().map(lambda n: n.text)))

    text = valid()
    for _ in range(draw(st.integers(1, 3))):
        how = draw(st.sampled_from(["insert", "delete", "replace", "token", "splice", "repeat"]))
        i = draw(st.integers(0, len(text)))
        j = draw(st.integers(i, min(len(text), i + 6)))
        if how == "insert":
            text = text[:i] + draw(st.characters()) + text[i:]
        elif how == "delete":
            text = text[:i] + text[j:]
        elif how == "replace":
            text = text[:i] + draw(st.text(max_size=3)) + text[j:]
        elif how == "token":
            text = text[:i] + draw(st.sampled_from(TOKENS)) + text[j:]
        elif how == "splice":
            other = valid()
            text = text[:i] + other[draw(st.integers(0, len(other))):]
        else:  # a piece written again: deeper nesting, longer chains
            text = text[:j] + text[i:j] * draw(st.integers(1, 4)) + text[j:]
    return text


def raw_text() -> st.SearchStrategy[str]:
    """Random bytes read as UTF-8 (with replacement characters), random text, mutations."""
    return st.one_of(st.binary(max_size=40).map(lambda b: b.decode("utf-8", "replace")),
                     st.text(max_size=40), st.text(alphabet="".join(set("".join(TOKENS))), max_size=30),
                     mutated(), mutated())


@st.composite
def problems(draw) -> tuple[str, str, int]:
    """An input text, a variable (mostly a name of the text) and an order 1 or 2."""
    text = draw(raw_text())
    names = sorted(set(NAMES.findall(text)))
    wrt = draw(st.sampled_from(names)) if names and draw(st.integers(0, 5)) else draw(st.text(max_size=4))
    return text, wrt, draw(st.integers(1, 2))


def derive(text: str, wrt: str, order: int) -> None:
    """matdiff.diff and the printed answer: an answer, or a MatdiffError that is not internal."""
    with time_limit(LIMIT):
        try:
            r = matdiff.diff(text, wrt, order=order)
            str(r.text)
        except InternalError as e:
            raise AssertionError(f"internal error for {text!r} by {wrt!r}, order {order}: {e}") from e
        except matdiff.MatdiffError:
            pass


def command(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with time_limit(LIMIT):
        code = run(argv, out, err)
    return code, out.getvalue(), err.getvalue()


def _clean(code: int, err: str, argv: list[str]) -> None:
    assert code in (0, 2), (argv, code, err)
    assert "Traceback" not in err and "internal error" not in err, (argv, err)
    if code == 2:
        assert err.startswith("matdiff: "), (argv, err)


@settings(max_examples=examples(150), **SETTINGS)
@given(problems())
def test_any_input_gets_an_answer_or_a_clear_error(problem):
    derive(*problem)


@settings(max_examples=examples(40), **SETTINGS)
@given(problems(), st.sampled_from([[], ["--steps"], ["--format", "numpy"], ["--format", "latex"],
                                     ["--format", "json"], ["--format", "index"]]))
def test_command_line_answers_or_exits_2_without_a_traceback(problem, flags):
    text, wrt, order = problem
    argv = [text, wrt] + (["--hessian"] if order == 2 else []) + flags
    code, _, err = command(argv)
    _clean(code, err, argv)


HOSTILE = ["", " ", "\x00", "((((", "x'''''", "tr(X", "sum_i(", "x = ; y", "ᵀ⊗∘", "x\ny", "\udcff",
           "A[i,j,k,l,m]", "f''''(x)", "1e999999*x'x", "x" * 300, "(" * 200 + "x" + ")" * 200]


def test_hostile_inputs_in_a_subprocess_exit_2_or_0_without_a_traceback():
    """The console script itself (its own stdout/stderr encoding and exit status), a few inputs."""
    code = ("import sys, io\nfrom matdiff.cli import run\n"
            "for text in sys.argv[1:]:\n"
            "    out, err = io.StringIO(), io.StringIO()\n"
            "    c = run([text, 'x'], out, err)\n"
            "    print(repr((c, err.getvalue())))\n")
    safe = [h for h in HOSTILE if "\x00" not in h and "\udcff" not in h]
    got = subprocess.run([sys.executable, "-c", code, *safe], capture_output=True, text=True, timeout=120)
    assert got.returncode == 0 and "Traceback" not in got.stderr, got.stderr[-2000:]
    lines = got.stdout.splitlines()
    assert len(lines) == len(safe)
    for text, line in zip(safe, lines):
        status, err = eval(line)  # noqa: S307 - our own repr of (int, str), not user input
        _clean(status, err, [text, "x"])
    proc = subprocess.run([sys.executable, "-m", "matdiff.cli", "tr(X", "X"], capture_output=True, text=True,
                          timeout=60)
    _clean(proc.returncode, proc.stderr, ["tr(X"])
    assert proc.returncode == 2 and "^" in proc.stderr


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_inputs_through_the_api(text):
    for order in (1, 2):
        derive(text, "x", order)
