"""Malformed index notation (SPEC §6): the exact one-line message, the caret under
the offending column, and exit status 2 — never a traceback."""
from __future__ import annotations

import io

import pytest

import matdiff
from matdiff.cli import run

CASES = [
    (['sum_i(tr(A[:,:]))', 'A'],
     "matdiff: shape error at column 5: index 'i' of 'sum_i(tr(A[:,:]))' stands in no subscript of the sum: its "
     "range is unknown (drop it from the sum, or multiply by its range as a scalar)\n  sum_i(tr(A[:,:]))\n      ^\n"),
    (['sum_i(x[i])*0 + sum_i(1)', 'x'],
     "matdiff: shape error at column 21: index 'i' of 'sum_i(1)' stands in no subscript of the sum: its "
     "range is unknown (drop it from the sum, or multiply by its range as a scalar)\n"
     "  sum_i(x[i])*0 + sum_i(1)\n                      ^\n"),
    (['sum_i(delta(i,i))*sum(x)', 'x'],
     "matdiff: shape error at column 13: index 'i' meets no array's axis, only delta: its range is unknown "
     "(subscript an array with it, or write its range as a scalar)\n  sum_i(delta(i,i))*sum(x)\n              ^\n"),
    (['sum_i(x[i]*y[j])', 'x'],
     "matdiff: shape error at column 14: index 'j' is free: no sum binds it (write sum_j(…) around it)\n  sum_i(x[i]*y[j])\n               ^\n"),
    (['sum_i(A[i,j])', 'A'],
     "matdiff: shape error at column 11: index 'j' is free: no sum binds it (write sum_j(…) around it)\n  sum_i(A[i,j])\n            ^\n"),
    (['x[i]', 'x'],
     "matdiff: shape error at column 3: index 'i' is free: no sum binds it (write sum_i(…) around it)\n  x[i]\n    ^\n"),
    (['sum_i(delta(i,j))', 'x'],
     "matdiff: shape error at column 15: index 'j' is free: no sum binds it (write sum_j(…) around it)\n  sum_i(delta(i,j))\n                ^\n"),
    (['sum_{i,j}(A[i,j]*B[i,j,k])', 'A'],
     "matdiff: shape error at column 24: index 'k' is free: no sum binds it (write sum_k(…) around it)\n  sum_{i,j}(A[i,j]*B[i,j,k])\n                         ^\n"),
    (['sum_i(X[i,:][j])', 'X'],
     "matdiff: shape error at column 14: index 'j' is free: no sum binds it (write sum_j(…) around it)\n  sum_i(X[i,:][j])\n               ^\n"),
    (['sum_{i,j}(A[i,j]) + sum_i(A[i])', 'A'],
     "matdiff: shape error at column 27: 'A' is used with 2 subscripts at column 11 and with 1 at column 27\n  sum_{i,j}(A[i,j]) + sum_i(A[i])\n                            ^^^^\n"),
    (['sum_i(Phi[i,:,:]) + sum_{i,j}(Phi[i,j])', 'Phi'],
     "matdiff: shape error at column 31: 'Phi' is used with 3 subscripts at column 7 and with 2 at column 31\n  sum_i(Phi[i,:,:]) + sum_{i,j}(Phi[i,j])\n                                ^^^^^^^^\n"),
    (['sum_i(a[i]*kron(a,b)[i])', 'a'],
     "matdiff: shape error at column 22: index 'i' runs over axes of different sizes: axis 1 of 'a' in 'a[i]' has m and axis 1 of 'kron(a,b)' in 'kron(a,b)[i]' has m·n\n  sum_i(a[i]*kron(a,b)[i])\n                       ^\n"),
    (['sum_i(X[1,i])', 'X'],
     "matdiff: syntax error at column 9: a subscript is an index name or ':', not the number '1' (indices are names; their values are passed to the function)\n  sum_i(X[1,i])\n          ^\n"),
    (['sum_i(x[i]', 'x'],
     "matdiff: syntax error at column 6: unclosed parenthesis: '(' is never closed\n  sum_i(x[i]\n       ^\n"),
    (['x[i', 'x'],
     "matdiff: syntax error at column 2: unclosed bracket: '[' is never closed\n  x[i\n   ^\n"),
    (['sum_{}(x)', 'x'],
     "matdiff: syntax error at column 5: 'sum_{}' must list index names separated by commas\n  sum_{}(x)\n      ^\n"),
    (['sum_{i,i}(x[i])', 'x'],
     "matdiff: syntax error at column 8: index 'i' is listed twice in 'sum_{i,i}'\n  sum_{i,i}(x[i])\n         ^\n"),
    (['sum_{i,2}(x[i])', 'x'],
     "matdiff: syntax error at column 8: 'sum_{i,2}' must list index names separated by commas\n  sum_{i,2}(x[i])\n         ^\n"),
    (['sum_i(x[])', 'x'],
     "matdiff: syntax error at column 9: missing subscript before ']': write an index name or ':'\n  sum_i(x[])\n          ^\n"),
    (['sum_i(x[i,])', 'x'],
     "matdiff: syntax error at column 11: missing subscript before ']': write an index name or ':'\n  sum_i(x[i,])\n            ^\n"),
    (['sum_i(x[i]])', 'x'],
     "matdiff: syntax error at column 11: unmatched ']'\n  sum_i(x[i]])\n            ^\n"),
    (['Phi + 1', 'Phi', '--tensor', 'Phi'],
     "matdiff: usage error: 'Phi' is declared a tensor: use it with subscripts, e.g. 'Phi[:,i,:]'\n"),
    (['sum_i(Phi[i,:,:,:]*1)', 'Phi'],
     "matdiff: shape error at column 7: 'Phi[i,:,:,:]' keeps 3 axes: a slice may keep at most two (a matrix)\n  sum_i(Phi[i,:,:,:]*1)\n        ^^^^^^^^^^^^\n"),
    (['sum_{i,j}(I[i])', 'x'],
     "matdiff: shape error at column 11: 'I[…]' is Kronecker's delta and takes 2 subscripts, got 1\n  sum_{i,j}(I[i])\n            ^^^^\n"),
    (["sum_i(x[i]*y[i]) + x'*A*y", 'x', '--scalar', 'x'],
     "matdiff: shape error at column 7: 'x' is declared scalar but has 1 subscript\n  sum_i(x[i]*y[i]) + x'*A*y\n        ^^^^\n"),
    (['sum_i(X[i,i,i])', 'X', '--matrix', 'X'],
     "matdiff: shape error at column 7: 'X' is declared matrix but has 3 subscripts\n  sum_i(X[i,i,i])\n        ^^^^^^^^\n"),
    (['sum_i(Phi[:,i,:]*Phi)', 'Phi'],
     "matdiff: shape error at column 18: 'Phi' is a tensor: use it with subscripts, e.g. 'Phi[:,i,:]'\n  sum_i(Phi[:,i,:]*Phi)\n                   ^^^\n"),
    (['sum_i(x[i])', 'x[:,a]'],
     "matdiff: usage error: the variable x[:,a] has 2 subscripts but 'x' has 1 axis\n"),
    (['sum_i(x[i])', 'x[a'],
     "matdiff: usage error: the variable must be a name or an indexed part like 'Phi[:,a,b]', got 'x[a'\n"),
    (['sum_i(x[i])', 'y[a]'],
     "matdiff: usage error: 'y' does not occur in the expression\n"),
    (['sum_i(x[i])', 'x[1]'],
     "matdiff: usage error: a subscript of the variable is an index name or ':', got '1' in 'x[1]'\n"),
    (['sum_i(x[i])', 'x[a,a]'],
     "matdiff: usage error: an index is repeated in the variable 'x[a,a]'\n"),
    (['sum_i(vec(X)[i])', 'X'],
     "matdiff: unsupported at column 7: vec() has no index form yet: write 'vec(X)' outside subscripts and index sums\n  sum_i(vec(X)[i])\n        ^^^^^^\n"),
    (['sum_{i,j}(X[i,j])*sum_i(x[i])', 'x[:,a]'],
     "matdiff: usage error: the variable x[:,a] has 2 subscripts but 'x' has 1 axis\n"),
    (['sum_i(x[a]*x[i])', 'x[b]'],
     "matdiff: shape error at column 9: index 'a' is free: no sum binds it (write sum_a(…) around it)\n  sum_i(x[a]*x[i])\n          ^\n"),
    (['sum_i(x[a]*x[i])', 'x[a]'],
     "matdiff: shape error at column 9: index 'a' of the variable x[a] stands in the expression outside a sum; the expression must be a scalar (bind it: sum_a(…))\n  sum_i(x[a]*x[i])\n          ^\n"),
    (['sum_{i,j,k}((A*B)[i,j,k])', 'A'],
     "matdiff: shape error at column 13: '(A*B)' is a matrix and takes 2 subscripts, got 3\n  sum_{i,j,k}((A*B)[i,j,k])\n              ^^^^^^^^^^^^\n"),
]


@pytest.mark.parametrize("argv,expected", CASES, ids=[" ".join(a) for a, _ in CASES])
def test_cli_message_caret_and_status(argv, expected):
    out, err = io.StringIO(), io.StringIO()
    assert run(argv, out, err) == 2
    assert err.getvalue() == expected
    assert out.getvalue() == ""
    assert "Traceback" not in expected


def test_at_least_twenty_cases():
    assert len(CASES) >= 20


@pytest.mark.parametrize("argv,expected", CASES[:12], ids=[" ".join(a) for a, _ in CASES[:12]])
def test_api_raises_the_same_message(argv, expected):
    expr, wrt = argv[0], argv[1]
    with pytest.raises(matdiff.MatdiffError) as info:
        matdiff.diff(expr, wrt)
    assert "matdiff: " + info.value.report() + "\n" == expected
