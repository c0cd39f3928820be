"""The shared example cases written by hand as SymPy matrix expressions, for
``bench_derivation.py``: ``sympy_builders()[case id]() -> (expression, variable)``.

A module of its own, importing SymPy only when called, so that a fresh
interpreter can time ``import sympy`` and SymPy's first derivative the way it
times ``import matdiff`` and matdiff's first call."""
from __future__ import annotations

from typing import Callable


def sympy_builders() -> dict[str, Callable[[], tuple]]:
    """case id -> () -> (SymPy expression, variable); absent ids have no SymPy form."""
    import sympy as sp
    from sympy import HadamardProduct, Identity, Inverse, MatrixSymbol, OneMatrix, Trace

    l, m, n, p, q = sp.symbols("l m n p q", integer=True, positive=True)
    beta = sp.Symbol("beta")

    def mat(name, r, c):
        return MatrixSymbol(name, r, c)

    def vec(name, r):
        return MatrixSymbol(name, r, 1)

    def total(E):  # sum of all entries
        return OneMatrix(1, E.shape[0]) * E * OneMatrix(E.shape[1], 1)

    def ew(E, f):
        return E.applyfunc(f)

    X_ln = mat("X", l, n)
    Xsq = mat("X", n, n)
    x, a, b = vec("x", n), vec("a", n), vec("b", n)
    An = mat("A", n, n)
    gram = X_ln.T * X_ln - Identity(n)

    def quad():
        return x.T * An * x, x

    def mlp():
        W1, W2, xx, y = mat("W1", p, n), mat("W2", m, p), vec("x", n), vec("y", m)
        r = W2 * ew(W1 * xx, sp.tanh) - y
        return total(ew(r, lambda t: t ** 2)), W1

    def logreg():
        X, w, y = mat("X", l, n), vec("w", n), vec("y", l)
        return -total(ew(HadamardProduct(y, X * w), lambda t: sp.log(1 / (1 + sp.exp(-t))))), w

    def gauss():
        S, xx, mu = mat("S", n, n), vec("x", n), vec("mu", n)
        return sp.log(sp.Determinant(S)) / 2 + (xx - mu).T * Inverse(S) * (xx - mu) / 2, mu

    def mf():
        A, U, V = mat("A", l, n), mat("U", l, p), mat("V", n, p)
        R = A - U * V.T
        return Trace(R.T * R), U

    def ls():
        X, w, y = mat("X", l, n), vec("w", n), vec("y", l)
        r = X * w - y
        return r.T * r, w

    return {
        "seed-abs-gram": lambda: (beta * total(ew(gram, sp.Abs)), X_ln),
        "seed-tr-abs-gram": lambda: (Trace(ew(gram, sp.Abs)), X_ln),
        "seed-quad-grad": quad,
        "seed-quad-hess": quad,
        "cb51-det-AXB-rect": lambda: (sp.Determinant(mat("A", p, l) * mat("X", l, n) * mat("B", n, p)),
                                      mat("X", l, n)),
        "cb61-a-invX-b": lambda: (a.T * Inverse(Xsq) * b, Xsq),
        "cb70-aXb": lambda: (vec("a", l).T * X_ln * vec("b", n), X_ln),
        "cb78-affine-bilinear": lambda: ((mat("B", l, n) * x + vec("b", l)).T * mat("C", l, m)
                                         * (mat("D", m, n) * x + vec("d", m)), x),
        "cb100-trXA": lambda: (Trace(X_ln * mat("A", n, l)), X_ln),
        "cb101-trAXB": lambda: (Trace(mat("A", p, l) * X_ln * mat("B", n, p)), X_ln),
        "cb108-trXtBX": lambda: (Trace(X_ln.T * mat("B", l, l) * X_ln), X_ln),
        "cb115-trXtX": lambda: (Trace(X_ln.T * X_ln), X_ln),
        "cb121-trX3": lambda: (Trace(Xsq ** 3), Xsq),
        "cb125-tr-inv-XtCX-A": lambda: (Trace(Inverse(X_ln.T * mat("C", l, l) * X_ln) * An), X_ln),
        "cb129-norm2-xa": lambda: (sp.sqrt((x - a).T * (x - a)), x),
        "cb138-sym-trAS": lambda: (Trace(An * mat("S", n, n)), mat("S", n, n)),
        "cb-ew-sum-exp": lambda: (total(ew(X_ln, sp.exp)), X_ln),
        "ml-ls-grad": ls,
        "ml-ls-hess": ls,
        "ml-logreg-grad": logreg,
        "ml-mlp-tanh-W1": mlp,
        "ml-gauss-nll-mu": gauss,
        "ml-pca": lambda: (Trace(mat("W", n, p).T * mat("C", n, n) * mat("W", n, p)), mat("W", n, p)),
        "ml-mf-U": mf,
        "mn-jac-Ax": lambda: (mat("A", m, n) * x, x),
        "mn-jac-AXB": lambda: (mat("A", p, l) * X_ln * mat("B", n, q), X_ln),
        "mn-jac-XtX": lambda: (X_ln.T * X_ln, X_ln),
        "mn-hess-trXtAX": lambda: (Trace(X_ln.T * mat("A", l, l) * X_ln), X_ln),
        "edge-wrt-scalar-beta": lambda: (beta * total(ew(gram, sp.Abs)), beta),
        "edge-nested-transpose": lambda: (vec("a", l).T * X_ln.T.T * vec("b", n), X_ln),
        "edge-absent-variable": lambda: (a.T * x, vec("y", m)),
        "edge-unicode-hadamard": lambda: (total(HadamardProduct(mat("A", l, n), X_ln)), X_ln),
        "edge-juxt-number": lambda: (Trace((2 * X_ln - mat("A", l, n)).T * (2 * X_ln - mat("A", l, n))), X_ln),
        "edge-sign-subgradient": lambda: (total(HadamardProduct(ew(x, sp.sign), x)), x),
    }


SYMPY_NOTES = {
    "seed-softmax-jac": "no softmax",
    "seed-xent-softmax": "no softmax",
    "ml-softmax-reg-W": "no softmax",
    "cb138-sym-trAS": "no symmetric MatrixSymbol: unprojected gradient",
    "cb125-tr-inv-XtCX-A": "C not symmetric in SymPy",
    "ml-pca": "C not symmetric in SymPy",
}


def sympy_run(build: Callable[[], tuple], order: int):
    expr, var = build()
    out = expr.diff(var)
    if order == 2:
        out = out.diff(var)
    return out


def sympy_verdict(build: Callable[[], tuple], order: int, matdiff_zero: bool) -> str | None:
    """None when SymPy derives the case, else why it is n/a."""
    import sympy as sp

    try:
        out = sympy_run(build, order)
    except Exception as e:  # noqa: BLE001 - any SymPy failure makes the case n/a
        return f"raises {type(e).__name__}"
    if out.has(sp.Derivative) or "Derivative" in str(out):
        return "unevaluated Derivative"
    if not matdiff_zero and (out == 0 or getattr(out, "is_ZeroMatrix", False) or getattr(out, "is_zero", False) is True):
        return "answers 0 (wrong)"
    return None
