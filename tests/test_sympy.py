"""SymPy interoperability, checked by numbers.

* ``to_sympy``: for many results (gradients, Jacobians with ⊗ and K,
  Hessians) the SymPy expression, evaluated by SymPy at random inputs, equals
  ``Result.lambdify()`` there.
* ``from_sympy`` / ``diff_sympy``: expressions built with SymPy's matrix
  classes are differentiated by matdiff and compared with finite differences
  and, where SymPy can differentiate them, with ``expr.diff(X)``.
"""
from __future__ import annotations

import numpy as np
import pytest

sp = pytest.importorskip("sympy")

import matdiff  # noqa: E402
from matdiff.backends import evaluate as numeric  # noqa: E402
from matdiff.backends import check as numcheck  # noqa: E402
from matdiff.api import diff_sympy, from_sympy  # noqa: E402
from matdiff.backends.sympy_bridge import (CommutationMatrix, Unvec, Vec, evaluate_sympy,  # noqa: E402
                                   sympy_assumptions, sympy_dim, sympy_to_text,
                                   to_sympy)

from sympy import (Determinant, HadamardProduct, Identity, KroneckerProduct, MatrixSymbol,  # noqa: E402
                   Symbol, Trace)


def _point(r: matdiff.Result, seed: int = 0):
    """Random inputs (distinct sizes 2–4) where r and its input are finite, in SPEC §5 layouts."""
    dims = numcheck.dimension_sizes(r.symbols)
    vals = numcheck.random_point(r.function, r.value, r.symbols, np.random.default_rng(seed), dims)
    assert vals is not None
    return {k: (v.reshape(-1) if r.symbols[k].is_vector else v) for k, v in vals.items()}, dims


def _same(a, b) -> bool:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.size != b.size:
        return False
    return np.allclose(a.reshape(-1), b.reshape(-1), rtol=1e-8, atol=1e-10)


# -- matdiff → SymPy ---------------------------------------------------------------
RESULTS = [
    ("beta*sum(abs(X'X - I))", "X", 1, None),
    ("tr(A*X*B)", "X", 1, None),
    ("x'*A*x", "x", 1, None),
    ("x'*A*x", "x", 2, None),
    ("tr(X'*A*X)", "X", 2, None),           # I ⊗ (A + A')
    ("X'X", "X", 1, None),                  # K appears
    ("A*X*B", "X", 1, None),                # B' ⊗ A
    ("kron(X, A)", "X", 1, None),
    ("inv(X)", "X", 1, None),
    ("det(X)", "X", 2, None),
    ("logdet(X)", "X", 1, None),
    ("softmax(z)", "z", 1, None),
    ("logsumexp(z)", "z", 2, None),
    ("norm2(A*x - b)", "x", 1, None),
    ("norm2(X)", "X", 2, None),
    ("norm1(x)", "x", 1, None),
    ("sum(log(exp(-y.*(X*w)) + vector(1)))", "w", 2, None),
    ("sigmoid(X)*a", "X", 1, None),
    ("relu(W*x)", "x", 1, None),
    ("X .^ 3", "X", 1, None),
    ("diag(X)", "X", 1, None),
    ("diag(x)*A", "x", 1, None),
    ("vec(X'X)", "X", 1, None),
    ("tr(S*A)", "S", 1, {"S": "symmetric"}),
    ("x'*inv(S)*x", "S", 1, {"S": "symmetric"}),
    ("x'*S*x", "S", 2, {"S": "symmetric"}),
    ("exp(alpha*x)", "alpha", 1, None),
    ("tr(X^3)", "X", 1, None),
    ("sqrt(x'x) + tanh(x)'*sin(x)", "x", 1, None),
    ("A*X ./ (B + X)", "X", 1, None),
]


@pytest.mark.parametrize("expr,wrt,order,types", RESULTS)
def test_to_sympy_evaluates_like_lambdify(expr, wrt, order, types):
    r = matdiff.diff(expr, wrt, order=order, types=types)
    s = r.to_sympy()
    vals, dims = _point(r)
    assert _same(evaluate_sympy(s, vals, dims), r.lambdify()(**vals))


def _msym(r, name: str):
    """The SymPy MatrixSymbol of a matdiff variable."""
    return MatrixSymbol(name, *[sympy_dim(d) for d in r.symbols[name].shape])


def test_to_sympy_classes():
    r = matdiff.diff("tr(X'*A*X)", "X", order=2)
    H = r.to_sympy()
    assert H.has(KroneckerProduct) and H.has(_msym(r, "A"))
    assert matdiff.diff("X'X", "X").to_sympy().has(CommutationMatrix)
    r = matdiff.diff("tr(A*X)", "X")
    assert r.to_sympy() == sp.Transpose(_msym(r, "A"))
    r = matdiff.diff("beta*x'x", "x")
    g = r.to_sympy()
    assert g.has(Symbol("beta")) and g.shape == _msym(r, "x").shape


def test_scalar_chain_is_a_sympy_scalar():
    s = to_sympy(matdiff.parse("exp(x'*A*x)*y").expr)
    assert s.shape[1] == 1
    assert s.has(Trace)  # x'Ax, a 1×1 product, enters as its trace


@pytest.mark.parametrize("m,n", [(2, 3), (3, 2), (2, 4)])
def test_commutation_matrix_entries(m, n):
    K = CommutationMatrix(m, n).as_explicit()
    assert np.array_equal(np.array(K.tolist(), dtype=float), numeric.commutation_matrix(m, n))
    assert CommutationMatrix(m, n).T == CommutationMatrix(n, m)


def test_vec_and_unvec_entries():
    a = np.arange(6.0).reshape(2, 3)
    M = sp.ImmutableMatrix(a.tolist())
    v = np.array(Vec(M).as_explicit().tolist(), dtype=float)
    assert np.array_equal(v.reshape(-1), a.reshape(-1, order="F"))
    back = np.array(Unvec(sp.ImmutableMatrix(v.tolist()), 2, 3).as_explicit().tolist(), dtype=float)
    assert np.array_equal(back, a)


def test_symmetric_assumptions():
    p = matdiff.parse("x'*S*x", {"S": "symmetric"})
    n = sp.Symbol(p.symbols["S"].shape[0], integer=True, positive=True)
    S = MatrixSymbol("S", n, n)
    assert sp.ask(sp.Q.symmetric(S), sympy_assumptions(p.expr))
    assert sympy_assumptions(matdiff.parse("x'*A*x").expr) is sp.true


def test_unexpanded_differential_is_unsupported():
    from matdiff.core.nodes import D

    e = matdiff.parse("X'X").expr
    with pytest.raises(matdiff.UnsupportedError):
        to_sympy(D(e, e.shape))


# -- SymPy → matdiff ---------------------------------------------------------------
n, m = sp.symbols("n m", integer=True, positive=True)
X = MatrixSymbol("X", m, n)
Y = MatrixSymbol("Y", m, n)
A = MatrixSymbol("A", n, n)
B = MatrixSymbol("B", m, m)
C = MatrixSymbol("C", n, m)
S = MatrixSymbol("S", n, n)
x = MatrixSymbol("x", n, 1)
b = MatrixSymbol("b", m, 1)
beta, c = Symbol("beta"), Symbol("c")

# (SymPy expression, variable, matdiff text it reads as, SymPy's own diff is right here).
# SymPy 1.14's ``diff`` is wrong or fails on several of these, while matdiff
# agrees with finite differences: d(β tr(XᵀX) + c²)/dX and d log det(A)/dA
# come out 0, d exp(tr A) tr(AᵀA)/dA misses the term exp(tr A) tr(AᵀA) I,
# d det(A)/dA stays unevaluated, d √tr(XᵀX)/dX raises, and bᵀXx gives an
# array expression.
FROM = [
    (Trace(X * A * X.T * B), X, "tr(X*A*X'*B)", True),
    ((x.T * A * x), x, "x'*A*x", True),
    (Trace(X.T * X), X, "tr(X'X)", True),
    (beta * Trace(X.T * X) + c ** 2, X, "c^2 + beta*tr(X'X)", False),
    (Determinant(A), A, "det(A)", False),
    (sp.log(Determinant(A)), A, "log(det(A))", False),
    (Trace(A.I * C * B * C.T), A, "tr(inv(A)*C*B*C')", True),
    (Trace(A ** 3), A, "tr(A^3)", True),
    ((b.T * X * x), X, "b'*X*x", False),
    (Trace(HadamardProduct(X, Y).T * X), X, "tr((X .* Y)'*X)", False),
    (sp.exp(Trace(A)) * Trace(A.T * A), A, "tr(A'A)*exp(tr(A))", False),
    (Trace(X.applyfunc(sp.exp) * C), X, "tr(exp(X)*C)", False),
    (Trace(X.applyfunc(lambda t: 1 / (1 + sp.exp(-t))) * C), X, None, False),
    (sp.sqrt(Trace(X.T * X)), X, "sqrt(tr(X'X))", False),
    (Trace(sp.HadamardPower(X, 3) * C), X, "tr(X .^ 3*C)", False),
    ((x.T * (2 * A - Identity(n)) * x), x, "x'*(2*A - I)*x", True),
    (Trace((X.T * X).I * A), X, "tr(inv(X'X)*A)", False),
]


@pytest.mark.parametrize("expr,var,text,_", FROM, ids=[str(i) for i in range(len(FROM))])
def test_from_sympy_reads_as(expr, var, text, _):
    p = from_sympy(expr)
    if text is not None:
        assert p.expr == matdiff.parse(text, {k: v for k, v in sympy_to_text(expr)[1].items()}).expr


@pytest.mark.parametrize("expr,var,text,_", FROM, ids=[str(i) for i in range(len(FROM))])
def test_diff_sympy_matches_finite_differences(expr, var, text, _):
    r = diff_sympy(expr, var)
    assert r.variable.name == var.name
    assert r.check().ok


def _sympy_dims(expr, vals) -> dict[str, int]:
    """The size of each SymPy dimension symbol, read off the arrays of the expression's matrices."""
    dims: dict[str, int] = {}
    for ms in expr.atoms(MatrixSymbol):
        shape = np.shape(vals[ms.name]) if np.ndim(vals[ms.name]) == 2 else (np.size(vals[ms.name]), 1)
        for d, k in zip(ms.shape, shape):
            if isinstance(d, sp.Symbol):
                dims[d.name] = k
    return dims


@pytest.mark.parametrize("expr,var", [(e, v) for e, v, _t, ok in FROM if ok])
def test_diff_sympy_matches_sympy_diff(expr, var):
    r = diff_sympy(expr, var)
    vals, dims = _point(r, seed=3)
    ours = r.lambdify()(**vals)
    theirs = evaluate_sympy(expr.diff(var), vals, _sympy_dims(expr, vals))
    assert _same(ours, theirs)


def test_diff_sympy_hessian_and_symmetric():
    r = diff_sympy(x.T * S * x, x, order=2, types={S: "symmetric"})
    assert r.kind == "hessian" and str(r) == "2*S"
    g = diff_sympy(Trace(S * A), S, types={"S": "symmetric"})
    assert g.variable.symmetric and g.check().ok


def test_from_sympy_scalar_variable():
    r = diff_sympy(sp.exp(beta * Trace(A)), beta)
    assert r.kind == "gradient" and r.check().ok


@pytest.mark.parametrize("text", ["tr(A*X*B)", "x'*A*x + beta*sum(x)", "det(X'X)", "kron(A, B) + C",
                                  "exp(X) .* Y", "sigmoid(X)'*relu(Y)", "diag(diag(A))*x", "inv(A)^2",
                                  "step(x) - sign(x)", "alpha*sum(x) + sum(X)"])
def test_round_trip_through_sympy(text):
    """matdiff → SymPy → matdiff gives back the same tree."""
    p = matdiff.parse(text)
    assert from_sympy(to_sympy(p.expr)).expr == p.expr


@pytest.mark.parametrize("text", ["norm1(x)", "norm2(X)", "softmax(z)", "logsumexp(z)"])
def test_round_trip_through_sympy_by_value(text):
    """Functions SymPy has no class for come back rewritten (norm1 = sum ∘ abs, …), equal in value."""
    p = matdiff.parse(text)
    back = from_sympy(to_sympy(p.expr))
    r = matdiff.diff(text, next(iter(p.symbols)))
    vals, _ = _point(r)
    assert _same(matdiff.lambdify(text)(**vals), numeric.lambdify(back.expr, back.symbols)(**vals))


def test_row_of_ones_prints_parseable_text():
    p = matdiff.parse("vector(1)'*X*vector(1)")
    assert matdiff.parse(str(p)).expr == p.expr


def test_from_sympy_trace_of_kron():
    """tr(A ⊗ B) needs m·n = p·q of matdiff's shape inference."""
    r = diff_sympy(Trace(KroneckerProduct(A, B)), A)
    assert r.check().ok


@pytest.mark.parametrize("bad", [X[0, 0], MatrixSymbol("x{1}", n, 1).T * x, sp.ImmutableMatrix([[1, 2]]),
                                 sp.Symbol("z") * sp.I])
def test_from_sympy_unsupported(bad):
    with pytest.raises(matdiff.UnsupportedError):
        from_sympy(bad)
