"""Textbook derivatives: The Matrix Cookbook, chapter 2, and machine-learning losses.

Each case is checked three ways:

(a) matdiff's result, evaluated by ``r.lambdify()``, against central finite
    differences of a hand-written NumPy function (independent of matdiff);
(b) matdiff's result against the textbook answer, parsed by matdiff and evaluated
    at the same random point;
(c) for the cases marked ``structural``, the result's tree equals the parsed
    textbook answer exactly (``r.value == parsed.expr``), never by printed string.

Equation numbers are those of The Matrix Cookbook (Petersen & Pedersen, version of
November 15, 2012).  For a symmetric variable matdiff follows SPEC §3, G = (G₀ + G₀ᵀ)/2,
where the Cookbook (§2.8.2) writes G₀ + G₀ᵀ − G₀ ∘ I: the answers here are in
SPEC's convention.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pytest

import matdiff
from matdiff.simplify.passes import simplify
from matdiff.backends.evaluate import lambdify as lambdify_tree

from fdutil import draw_array, first_order_error

inv, det, tr = np.linalg.inv, np.linalg.det, np.trace
SIZES = (3, 4, 5, 2, 6, 7)


def logdet(a):
    return np.linalg.slogdet(a)[1]


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


@dataclass
class Case:
    expr: str
    wrt: str
    answer: str  # the textbook answer, in matdiff syntax
    source: str
    f: Callable  # the original expression, by hand in NumPy
    types: dict | None = None
    dom: str | dict = "normal"  # input style for every name, or per name
    structural: bool = False  # matdiff's tree equals the parsed answer
    sizes: tuple = SIZES  # sizes of the dimension letters, in order of appearance
    prepare: Callable | None = None  # adjusts the drawn inputs (e.g. normalise a distribution)
    xfail: str | None = None
    id: str = field(default="")


def C(expr, wrt, answer, source, f, **kw) -> Case:
    return Case(expr, wrt, answer, source, f, **kw)


def probability(inputs, name="y"):
    """A probability vector for `name` (the softmax cross-entropy answers need Σy = 1)."""
    y = np.abs(inputs[name]) + 0.1
    inputs[name] = y / y.sum()


def labels(inputs, name="y"):
    inputs[name] = np.where(inputs[name] >= 0, 1.0, -1.0)


def zero_one(inputs, name="t"):
    inputs[name] = (inputs[name] >= 0).astype(float)


SYM = {"S": "symmetric"}

CASES = [
    # -- 2.5.1 traces, first order ---------------------------------------------------
    C("tr(X)", "X", "I", "Cookbook (99)", lambda X: tr(X), structural=True),
    C("tr(X*A)", "X", "A'", "Cookbook (100)", lambda X, A: tr(X @ A), structural=True),
    C("tr(A*X*B)", "X", "A'*B'", "Cookbook (101)", lambda A, X, B: tr(A @ X @ B), structural=True),
    C("tr(A*X'*B)", "X", "B*A", "Cookbook (102)", lambda A, X, B: tr(A @ X.T @ B), structural=True),
    C("tr(X'*A)", "X", "A", "Cookbook (103)", lambda X, A: tr(X.T @ A), structural=True),
    C("tr(A*X')", "X", "A", "Cookbook (104)", lambda A, X: tr(A @ X.T), structural=True),
    C("tr(kron(A, X))", "X", "tr(A)*I", "Cookbook (105)", lambda A, X: tr(np.kron(A, X))),
    # -- 2.5.2 traces, second order --------------------------------------------------
    C("tr(X^2)", "X", "2*X'", "Cookbook (106)", lambda X: tr(X @ X), structural=True),
    C("tr(X^2*B)", "X", "(X*B + B*X)'", "Cookbook (107)", lambda X, B: tr(X @ X @ B), structural=True),
    C("tr(X'*B*X)", "X", "B*X + B'*X", "Cookbook (108)", lambda X, B: tr(X.T @ B @ X)),
    C("tr(B*X*X')", "X", "B*X + B'*X", "Cookbook (109)", lambda B, X: tr(B @ X @ X.T)),
    C("tr(X*X'*B)", "X", "B*X + B'*X", "Cookbook (110)", lambda X, B: tr(X @ X.T @ B)),
    C("tr(X*B*X')", "X", "X*B' + X*B", "Cookbook (111)", lambda X, B: tr(X @ B @ X.T)),
    C("tr(B*X'*X)", "X", "X*B' + X*B", "Cookbook (112)", lambda B, X: tr(B @ X.T @ X)),
    C("tr(X'*X*B)", "X", "X*B' + X*B", "Cookbook (113)", lambda X, B: tr(X.T @ X @ B)),
    C("tr(A*X*B*X)", "X", "A'*X'*B' + B'*X'*A'", "Cookbook (114)", lambda A, X, B: tr(A @ X @ B @ X),
      structural=True),
    C("tr(X'*X)", "X", "2*X", "Cookbook (115)", lambda X: tr(X.T @ X), structural=True),
    C("tr(X*X')", "X", "2*X", "Cookbook (115)", lambda X: tr(X @ X.T), structural=True),
    C("tr(B'*X'*C*X*B)", "X", "C'*X*B*B' + C*X*B*B'", "Cookbook (116)",
      lambda B, X, C: tr(B.T @ X.T @ C @ X @ B)),
    C("tr(X'*B*X*C)", "X", "B*X*C + B'*X*C'", "Cookbook (117)", lambda X, B, C: tr(X.T @ B @ X @ C),
      structural=True),
    C("tr(A*X*B*X'*C)", "X", "A'*C'*X*B' + C*A*X*B", "Cookbook (118)",
      lambda A, X, B, C: tr(A @ X @ B @ X.T @ C), structural=True),
    C("tr((A*X*B + C)*(A*X*B + C)')", "X", "2*A'*(A*X*B + C)*B'", "Cookbook (119)",
      lambda A, X, B, C: tr((A @ X @ B + C) @ (A @ X @ B + C).T), structural=True),
    C("tr(kron(X, X))", "X", "2*tr(X)*I", "Cookbook (120)", lambda X: tr(np.kron(X, X))),
    # -- 2.5.3 higher order, 2.5.4 other ------------------------------------------
    C("tr(X^3)", "X", "3*(X^2)'", "Cookbook (121), k = 3", lambda X: tr(X @ X @ X), structural=True),
    C("tr(X^4)", "X", "4*(X^3)'", "Cookbook (121), k = 4", lambda X: tr(np.linalg.matrix_power(X, 4)), structural=True),
    C("tr(A*X^3)", "X", "(A*X^2 + X*A*X + X^2*A)'", "Cookbook (122), k = 3",
      lambda A, X: tr(A @ X @ X @ X), structural=True),
    C("tr(A*inv(X)*B)", "X", "-(inv(X)*B*A*inv(X))'", "Cookbook (124)",
      lambda A, X, B: tr(A @ inv(X) @ B), dom={"X": "conditioned"}, structural=True),
    C("tr(inv(X'*C*X)*A)", "X", "-(C*X*inv(X'*C*X))*(A + A')*inv(X'*C*X)", "Cookbook (125), C symmetric",
      lambda X, C, A: tr(inv(X.T @ C @ X) @ A), types={"C": "symmetric"}, dom={"C": "spd"}, sizes=(5, 3),
      structural=True),
    # -- 2.1 determinants ------------------------------------------------------------
    C("det(X)", "X", "det(X)*inv(X)'", "Cookbook (49)", lambda X: det(X), dom="conditioned", structural=True),
    C("det(A*X*B)", "X", "det(A*X*B)*inv(X)'", "Cookbook (51)", lambda A, X, B: det(A @ X @ B),
      dom="conditioned", sizes=(3, 3, 3)),
    C("det(X'*A*X)", "X", "2*det(X'*A*X)*inv(X)'", "Cookbook (52), X square",
      lambda X, A: det(X.T @ A @ X), dom="conditioned", sizes=(3, 3)),
    C("det(X'*C*X)", "X", "2*det(X'*C*X)*C*X*inv(X'*C*X)", "Cookbook (53), X tall, C symmetric",
      lambda X, C: det(X.T @ C @ X), types={"C": "symmetric"}, dom={"C": "spd"}, sizes=(5, 3), structural=True),
    C("det(X'*A*X)", "X", "det(X'*A*X)*(A*X*inv(X'*A*X) + A'*X*inv(X'*A'*X))", "Cookbook (54), X tall",
      lambda X, A: det(X.T @ A @ X), dom={"A": "conditioned"}, sizes=(5, 3), id="(54)"),
    C("logdet(X'*X)", "X", "2*X*inv(X'*X)", "Cookbook (55): 2 (X⁺)ᵀ", lambda X: logdet(X.T @ X),
      sizes=(5, 3), structural=True),
    C("logdet(X)", "X", "inv(X)'", "Cookbook (57)", lambda X: logdet(X), dom="conditioned", structural=True),
    C("det(X^3)", "X", "3*det(X^3)*inv(X)'", "Cookbook (58), k = 3",
      lambda X: det(X @ X @ X), dom="conditioned"),
    # -- 2.2 inverses ------------------------------------------------------------------
    C("a'*inv(X)*b", "X", "-inv(X)'*a*b'*inv(X)'", "Cookbook (61)", lambda a, X, b: a @ inv(X) @ b,
      dom={"X": "conditioned"}, structural=True),
    C("det(inv(X))", "X", "-det(inv(X))*inv(X)'", "Cookbook (62)", lambda X: det(inv(X)),
      dom="conditioned", structural=True),
    C("tr(A*inv(X)*B)", "X", "-inv(X)'*A'*B'*inv(X)'", "Cookbook (63)",
      lambda A, X, B: tr(A @ inv(X) @ B), dom={"X": "conditioned"}, id="(63)", structural=True),
    C("tr(inv(X + A))", "X", "-(inv(X + A)*inv(X + A))'", "Cookbook (64)",
      lambda X, A: tr(inv(X + A)), dom="conditioned", structural=True),
    C("tr(inv(X))", "X", "-(inv(X)^2)'", "Cookbook (64), A = 0", lambda X: tr(inv(X)),
      dom="conditioned", structural=True),
    # -- 2.4 vectors and scalar forms --------------------------------------------------
    C("x'*a", "x", "a", "Cookbook (69)", lambda x, a: x @ a, structural=True),
    C("a'*x", "x", "a", "Cookbook (69)", lambda a, x: a @ x, structural=True),
    C("a'*X*b", "X", "a*b'", "Cookbook (70)", lambda a, X, b: a @ X @ b, structural=True),
    C("a'*X'*b", "X", "b*a'", "Cookbook (71)", lambda a, X, b: a @ X.T @ b, structural=True),
    C("a'*X*a", "X", "a*a'", "Cookbook (72)", lambda a, X: a @ X @ a, structural=True),
    C("a'*X'*a", "X", "a*a'", "Cookbook (72)", lambda a, X: a @ X.T @ a, structural=True),
    C("b'*X'*X*c", "X", "X*(b*c' + c*b')", "Cookbook (77)", lambda b, X, c: b @ X.T @ X @ c),
    C("(B*x + b)'*C*(D*x + d)", "x", "B'*C*(D*x + d) + D'*C'*(B*x + b)", "Cookbook (78)",
      lambda B, x, b, C, D, d: (B @ x + b) @ C @ (D @ x + d), structural=True),
    C("x'*B*x", "x", "(B + B')*x", "Cookbook (81)", lambda x, B: x @ B @ x, structural=True),
    C("b'*X'*D*X*c", "X", "D'*X*b*c' + D*X*c*b'", "Cookbook (82)", lambda b, X, D, c: b @ X.T @ D @ X @ c,
      structural=True),
    C("(X*b + c)'*D*(X*b + c)", "X", "(D + D')*(X*b + c)*b'", "Cookbook (83)",
      lambda X, b, c, D: (X @ b + c) @ D @ (X @ b + c), structural=True),
    C("(x - A*s)'*W*(x - A*s)", "s", "-2*A'*W*(x - A*s)", "Cookbook (84), W symmetric",
      lambda x, A, s, W: (x - A @ s) @ W @ (x - A @ s), types={"W": "symmetric"}, structural=True),
    C("(x - s)'*W*(x - s)", "x", "2*W*(x - s)", "Cookbook (85), W symmetric",
      lambda x, s, W: (x - s) @ W @ (x - s), types={"W": "symmetric"}, structural=True),
    C("(x - A*s)'*W*(x - A*s)", "A", "-2*W*(x - A*s)*s'", "Cookbook (88), W symmetric",
      lambda x, A, s, W: (x - A @ s) @ W @ (x - A @ s), types={"W": "symmetric"}, structural=True),
    C("a'*X^3*b", "X", "(X^2)'*a*b' + X'*a*b'*X' + a*b'*(X^2)'", "Cookbook (89), n = 3",
      lambda a, X, b: a @ X @ X @ X @ b, structural=True),
    C("x'*A*x + b'*x", "x", "(A + A')*x + b", "Cookbook (96)", lambda x, A, b: x @ A @ x + b @ x, structural=True),
    # -- 2.6, 2.7 norms ------------------------------------------------------------------
    C("norm2(x - a)", "x", "(x - a)/norm2(x - a)", "Cookbook (129)", lambda x, a: np.linalg.norm(x - a),
      structural=True),
    C("norm2(x)^2", "x", "2*x", "Cookbook (131)", lambda x: x @ x, structural=True),
    C("x'*x", "x", "2*x", "Cookbook (131)", lambda x: x @ x, structural=True),
    C("norm2(X)^2", "X", "2*X", "Cookbook (132)", lambda X: np.sum(X * X), structural=True),
    C("norm2(A*X - B)^2", "X", "2*A'*(A*X - B)", "Cookbook (132) with (119)",
      lambda A, X, B: np.sum((A @ X - B) ** 2), structural=True),
    C("(a'*x)^2", "x", "2*a*a'*x", "Cookbook (81) with B = a a'", lambda a, x: (a @ x) ** 2),
    C("log(x'*x)", "x", "2*x/norm2(x)^2", "Cookbook (131), chain rule", lambda x: np.log(x @ x)),
    C("norm2(X)", "X", "X/norm2(X)", "Cookbook (132), chain rule", lambda X: np.linalg.norm(X), structural=True),
    # -- element-wise ------------------------------------------------------------------
    C("sum(exp(X))", "X", "exp(X)", "element-wise: exp′ = exp", lambda X: np.exp(X).sum(), structural=True),
    C("sum(log(X))", "X", "X .^ -1", "element-wise: log′ = 1/x", lambda X: np.log(X).sum(),
      dom="positive", structural=True),
    C("sum(X .^ 3)", "X", "3*X .^ 2", "element-wise power rule", lambda X: (X ** 3).sum(), structural=True),
    C("sum(sqrt(X))", "X", "0.5*X .^ -0.5", "element-wise: sqrt′ = 1/(2 sqrt)",
      lambda X: np.sqrt(X).sum(), dom="positive"),
    C("sum(A .* X .* X)", "X", "2*A .* X", "Hadamard product rule", lambda A, X: (A * X * X).sum(),
      structural=True),
    C("a'*tanh(X)*b", "X", "(a*b') .* (1 - tanh(X) .^ 2)", "element-wise: tanh′ = 1 − tanh²",
      lambda a, X, b: a @ np.tanh(X) @ b, structural=True),
    C("tr(sin(X))", "X", "I .* cos(X)", "element-wise sin (not the matrix sine of Cookbook (128))",
      lambda X: np.sin(np.diag(X)).sum(), structural=True),
    # -- symmetric variables (SPEC §3: G = (G₀ + G₀ᵀ)/2; Cookbook §2.8.2 uses G₀ + G₀ᵀ − G₀∘I) --
    C("tr(A*S)", "S", "(A + A')/2", "Cookbook §2.8.2, tr(AX), symmetric", lambda A, S: tr(A @ S),
      types=SYM, dom={"S": "spd"}, structural=True),
    C("logdet(S)", "S", "inv(S)", "Cookbook §2.8.2, ln det X, symmetric", lambda S: logdet(S),
      types=SYM, dom="spd", structural=True),
    C("det(S)", "S", "det(S)*inv(S)", "Cookbook §2.8.2, det X, symmetric", lambda S: det(S),
      types=SYM, dom="spd", structural=True),
    C("x'*S*x", "S", "x*x'", "Cookbook (72), symmetric", lambda x, S: x @ S @ x, types=SYM,
      dom={"S": "spd"}, structural=True),
    C("a'*S*b", "S", "(a*b' + b*a')/2", "Cookbook (70), symmetric", lambda a, S, b: a @ S @ b,
      types=SYM, dom={"S": "spd"}, structural=True),
    C("tr(S^2)", "S", "2*S", "Cookbook (106), symmetric", lambda S: tr(S @ S), types=SYM, dom="spd", structural=True),
    C("tr(A*inv(S))", "S", "-inv(S)*(A + A')*inv(S)/2", "Cookbook (124), symmetric",
      lambda A, S: tr(A @ inv(S)), types=SYM, dom={"S": "spd"}, structural=True),
    C("norm2(S - B)^2", "S", "2*S - B - B'", "Cookbook (132), symmetric",
      lambda S, B: np.sum((S - B) ** 2), types=SYM, dom={"S": "spd"}),
    # -- machine-learning losses ------------------------------------------------------
    C("norm2(A*x - b)^2", "x", "2*A'*(A*x - b)", "least squares (normal equations)",
      lambda A, x, b: np.sum((A @ x - b) ** 2), structural=True),
    C("norm2(X*W - Y)^2", "W", "2*X'*(X*W - Y)", "multi-output least squares",
      lambda X, W, Y: np.sum((X @ W - Y) ** 2), structural=True),
    C("norm2(A*x - b)^2 + lambda*norm2(x)^2", "x", "2*A'*(A*x - b) + 2*lambda*x", "ridge regression",
      lambda **k: np.sum((k["A"] @ k["x"] - k["b"]) ** 2) + k["lambda"] * k["x"] @ k["x"], structural=True),
    C("norm2(A*x - b)^2 + lambda*norm1(x)", "x", "2*A'*(A*x - b) + lambda*sign(x)",
      "lasso (subgradient, x off 0)",
      lambda **k: np.sum((k["A"] @ k["x"] - k["b"]) ** 2) + k["lambda"] * np.abs(k["x"]).sum(),
      dom={"x": "away"}, structural=True),
    C("sum(log(1 + exp(-y .* (X*w))))", "w", "-X'*(y .* sigmoid(-y .* (X*w)))",
      "logistic regression, labels ±1", lambda y, X, w: np.log1p(np.exp(-y * (X @ w))).sum(),
      prepare=labels),
    C("sum(log(exp(-y .* (X*w)) + vector(1)))", "w", "-X'*(y .* sigmoid(-y .* (X*w)))",
      "logistic regression as written on MatrixCalculus.org",
      lambda y, X, w: np.log1p(np.exp(-y * (X @ w))).sum(), prepare=labels),
    C("-sum(t .* log(sigmoid(X*w)) + (1 - t) .* log(1 - sigmoid(X*w)))", "w", "X'*(sigmoid(X*w) - t)",
      "logistic regression, cross-entropy with labels 0/1",
      lambda t, X, w: -np.sum(t * np.log(sigmoid(X @ w)) + (1 - t) * np.log(1 - sigmoid(X @ w))),
      prepare=zero_one),
    C("-y'*log(softmax(z))", "z", "softmax(z) - y", "softmax cross-entropy (Σy = 1)",
      lambda y, z: -y @ np.log(softmax(z)), prepare=probability),
    C("logsumexp(z) - y'*z", "z", "softmax(z) - y", "softmax cross-entropy, log-sum-exp form",
      lambda z, y: np.log(np.exp(z).sum()) - y @ z, structural=True),
    C("-y'*log(softmax(W*x))", "W", "(softmax(W*x) - y)*x'", "multinomial logistic regression (Σy = 1)",
      lambda y, W, x: -y @ np.log(softmax(W @ x)), prepare=probability),
    C("(x - mu)'*inv(Sigma)*(x - mu)/2", "mu", "-inv(Sigma)*(x - mu)", "Gaussian NLL wrt the mean",
      lambda x, mu, Sigma: (x - mu) @ inv(Sigma) @ (x - mu) / 2, types={"Sigma": "symmetric", "mu": "vector"},
      dom={"Sigma": "spd"}, structural=True),
    C("logdet(Sigma)/2 + (x - mu)'*inv(Sigma)*(x - mu)/2", "Sigma",
      "(inv(Sigma) - inv(Sigma)*(x - mu)*(x - mu)'*inv(Sigma))/2", "Gaussian NLL wrt the covariance",
      lambda x, mu, Sigma: logdet(Sigma) / 2 + (x - mu) @ inv(Sigma) @ (x - mu) / 2,
      types={"Sigma": "symmetric", "mu": "vector"}, dom={"Sigma": "spd"}),
    C("norm2(sigmoid(W*x) - y)^2", "W", "2*((sigmoid(W*x) - y) .* sigmoid(W*x) .* (1 - sigmoid(W*x)))*x'",
      "one sigmoid layer, squared error", lambda W, x, y: np.sum((sigmoid(W @ x) - y) ** 2)),
    C("x'*S*x/(x'*x)", "x", "2*(S*x - (x'*S*x)/norm2(x)^2*x)/norm2(x)^2", "Rayleigh quotient, S symmetric",
      lambda x, S: x @ S @ x / (x @ x), types=SYM),
    C("x'*S*x/norm2(x)^2", "x", "2*(S*x - (x'*S*x)/norm2(x)^2*x)/norm2(x)^2", "Rayleigh quotient, S symmetric",
      lambda x, S: x @ S @ x / (x @ x), types=SYM),
]


def draw(sym, sizes, rng, style):
    shape = tuple(1 if d == 1 else sizes[str(d)] for d in sym.shape)
    a = draw_array(shape, rng, style, 0.6, sym.symmetric)
    if shape == (1, 1):
        return float(abs(a[0, 0]) + 0.3)  # scalars here are weights: keep them positive
    return a[:, 0] if shape[1] == 1 else a


def inputs_for(case: Case, seed: int):
    parsed = matdiff.parse(case.expr, case.types)
    order: list[str] = []
    for sym in parsed.symbols.values():
        for d in sym.shape:
            if d != 1 and str(d) not in order:
                order.append(str(d))
    assert all("*" not in d for d in order), order
    sizes = dict(zip(order, case.sizes + tuple(s for s in SIZES if s not in case.sizes)))
    assert len(sizes) == len(order)
    rng = np.random.default_rng(seed)
    out = {}
    for name, sym in parsed.symbols.items():
        style = case.dom.get(name, "normal") if isinstance(case.dom, dict) else case.dom
        out[name] = draw(sym, sizes, rng, style)
    if case.prepare:
        case.prepare(out)
    return out


def parsed_answer(case: Case):
    """The textbook answer, typed in the context of the expression so that its dimension
    letters are the expression's: ``0*(f)*X + answer`` reads as the answer alone."""
    p = matdiff.parse(f"0*({case.expr})*{case.wrt} + ({case.answer})", case.types)
    return p


def params():
    out = []
    for c in CASES:
        marks = [pytest.mark.xfail(strict=True, reason=c.xfail)] if c.xfail else []
        out.append(pytest.param(c, id=f"{c.source} d/d{c.wrt} {c.expr} {c.id}".strip(), marks=marks))
    return out


def test_enough_cases():
    cookbook = {c.source.split(")")[0] for c in CASES if c.source.startswith("Cookbook (")}
    assert len(cookbook) >= 45, sorted(cookbook)
    assert sum(not c.source.startswith("Cookbook") and "element-wise" not in c.source
               and "Hadamard" not in c.source for c in CASES) >= 10


@pytest.mark.parametrize("case", params())
def test_cookbook(case: Case):
    r = matdiff.diff(case.expr, case.wrt, types=case.types)
    assert r.kind == "gradient"
    symmetric = bool(case.types and case.types.get(case.wrt) == "symmetric")
    G = r.lambdify()
    ans = parsed_answer(case)
    A = lambdify_tree(ans.expr, ans.symbols)
    for seed in (0, 1):
        inputs = inputs_for(case, seed)
        g = G(**inputs)
        assert np.shape(g) == np.shape(inputs[case.wrt])
        # (a) finite differences of the hand-written function
        err = first_order_error(case.f, inputs, case.wrt, g, rng=np.random.default_rng(seed),
                                symmetric=symmetric)
        assert err < 1e-6, f"{case.source}: {r} is off the finite differences by {err:.2e}"
        # (b) the textbook answer, at the same point
        a = A(**inputs)
        assert np.shape(a) == np.shape(g)
        np.testing.assert_allclose(g, a, rtol=1e-8, atol=1e-9,
                                   err_msg=f"{case.source}: matdiff {r} vs textbook {case.answer}")
    # (c) the same canonical tree, where the forms coincide
    if case.structural:
        canonical = simplify(ans.expr)
        assert r.value == canonical, f"{case.source}: {r} is not structurally {canonical}"


def test_structural_comparison_can_fail():
    """A wrong answer is told apart both structurally and numerically."""
    r = matdiff.diff("tr(A*X*B)", "X")
    right = matdiff.parse("0*(tr(A*X*B))*X + A'*B'").expr
    assert r.value == right
    assert r.value != matdiff.parse("0*(tr(A*X*B))*X + 2*A'*B'").expr
