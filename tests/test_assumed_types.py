"""Every result states the types it assumed for the names not declared (SPEC §2):
single, higher-order, mixed, several-variable, program and index-notation results alike."""
from __future__ import annotations

import subprocess
import sys

import pytest

import matdiff

CASES = [  # (expression, variable, options, the assumed-types note)
    ("x'*A*x", "x", {}, "assumed x is a vector, A is a matrix"),
    ("x'*A*x", "x", {"order": 3}, "assumed x is a vector, A is a matrix"),
    ("x'*A*y", "x,y", {}, "assumed x and y are vectors, A is a matrix"),
    ("h = W*x + b; sum(sigmoid(h))", "W,b", {}, "assumed W is a matrix, x and b are vectors"),
    ("sum_{i,j}(A[i,j]*x[i]*x[j])", "x", {}, "assumed A is a matrix, x is a vector"),
    ("sum_{i,j}(A[i,j]*x[i]*x[j])", "x", {"order": 2}, "assumed A is a matrix, x is a vector"),
    ("sum_i(x[i]^4)", "x", {"order": 3}, "assumed x is a vector"),
    ("sum_i(logsumexp(z[:,i]))", "z", {}, "assumed z is a matrix"),
    ("beta*sum_i(sum(abs(Phi[:,i,:]'*Phi[:,i,:] - I)))", "Phi", {},
     "assumed beta is a scalar, Phi is an order-3 tensor"),
    ("sum_{i,j}(a[i,j]*x[j])", "x", {}, "assumed a is a matrix, x is a vector"),  # kind from 2 subscripts
]


def _notes(r) -> tuple[str, ...]:
    return tuple(r.notes) if hasattr(r, "notes") else tuple(n for part in r for n in part.notes)


@pytest.mark.parametrize("expr, wrt, opts, note", CASES)
def test_the_result_states_the_types_it_assumed(expr, wrt, opts, note):
    r = matdiff.diff(expr, wrt.split(",") if "," in wrt else wrt, **opts)
    assert note in _notes(r)


@pytest.mark.parametrize("expr, wrt, opts, note", [c for c in CASES if "[" in c[0]][:2] + [CASES[-2]])
def test_the_cli_prints_the_note_on_stderr(expr, wrt, opts, note):
    args = [sys.executable, "-m", "matdiff", expr, wrt] + [a for k, v in opts.items() for a in (f"--{k}", str(v))]
    out = subprocess.run(args, capture_output=True, text=True, check=True)
    assert f"note: {note}" in out.stderr.splitlines()
    assert "assumed" not in out.stdout


def test_a_declared_name_is_not_said_assumed():
    r = matdiff.diff("sum_{i,j}(A[i,j]*x[i]*x[j])", "x", types={"x": "vector"})
    assert "assumed A is a matrix" in r.notes
    assert not any("x is" in n for n in r.notes if n.startswith("assumed"))


def test_the_mixed_derivative_states_the_types_it_assumed():
    r = matdiff.diff("sum_{i,j}(A[i,j]*x[i]*x[j])", "x", "A")
    assert "assumed A is a matrix, x is a vector" in _notes(r)
