"""The catalogue of functions (SPEC §1): one record per function, read by every stage.

A record says what a function is (name, arity, group, shape rule), how it is
differentiated (f′ for an element-wise function, d f otherwise, and the
identity a textbook writes), where it is not differentiable (its kink note),
how it is computed (a NumPy implementation) and how it is spelled in NumPy,
JAX and PyTorch code, in unicode, LaTeX and SymPy.  The grammar's function
names (``FUNC`` in ``grammar/matdiff.lark``) are exactly the callable names
here (a test checks it); the type checker, the differential rules, the
evaluator, the code generator, the printers and the SymPy bridge look
functions up here and nowhere else.

**Adding a function** is one record below and its tests: give the element-wise
derivative ``fprime`` (or the differential ``differential`` with an
``example`` for the rule tests, which walk this catalogue), the NumPy
implementation, the spellings that differ from the defaults, and add the name
to the grammar's ``FUNC`` alternatives.

The derivative builders take the constructors module as their first argument
(``A``, :mod:`matdiff.core.construct`), so that this module, which the
constructors read, imports none of them.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable

import numpy as np

ELEMENTWISE_GROUP, MATRIX_GROUP, REDUCTION_GROUP, VECTOR_GROUP, CONSTRUCTOR_GROUP, BINARY_GROUP = (
    "element-wise", "matrix", "reduction", "vector", "constructor", "binary")

SHAPE_RULES = {
    "same": "the shape of the argument (entry by entry)",
    "scalar": "a scalar, from any array",
    "vec": "an (m·n)-vector from an m×n matrix",
    "square->scalar": "a scalar, from a square matrix (a scalar passes)",
    "square->same": "the shape of a square matrix argument (a scalar passes)",
    "diag": "an n×n diagonal matrix from an n-vector, the n-vector of the diagonal of an n×n matrix",
    "vector->same": "the shape of a vector argument",
    "vector->scalar": "a scalar, from a vector",
    "constant-vector": "a vector with every entry the scalar argument, sized where it stands",
    "constant-matrix": "a matrix with every entry the scalar argument, sized where it stands",
    "kron": "(m·p)×(n·q) from m×n and p×q",
}
"""The shape rules a record may name (the type checker implements each one)."""


@dataclass(frozen=True)
class Function:
    """One function of the language: its facts for every stage of the pipeline."""

    name: str  # the name in expression trees (diagm, diagv are internal: both print as diag)
    group: str
    shape: str  # a key of SHAPE_RULES
    derivative: str = ""  # the identity a textbook writes (the --steps label)
    fprime: Callable[[Any, Any], Any] | None = None  # element-wise: (A, a) ↦ f′(a)
    differential: Callable[[Any, Any, Callable], Any] | None = None  # (A, e, d) ↦ d e
    numpy: Callable[[Any], Any] | None = None  # on floats and 2-D arrays (vectors n×1); vector group: axis=
    arity: int = 1
    spelled: str = ""  # the language's name when it differs from ``name``
    callable: bool = True  # may be written name(…) in the language
    kink: str = ""  # where not differentiable: the subgradient used
    code: str = ""  # NumPy and JAX call: {m} the module, {0} the argument, {h} the helper
    jax: str = ""  # JAX call where it differs from ``code``
    torch: str = ""  # PyTorch call where it differs from ``code``
    helper: str = ""  # NumPy/JAX source of the helper {h}: {m} the module, {name} its name
    unicode: str = ""  # {0} the argument, {p} the argument as an operand of a postfix mark
    latex: str = ""  # {0}, {p} as in unicode, {a} the argument as an atom
    sympy: Any = ""  # element-wise: SymPy's name or (sp, t) ↦ f(t); else (S, a, e) ↦ SymPy form
    example: str = ""  # an expression that exercises the differential (rule tests)
    wrt: str = "X"
    loss_side: bool = False  # Gauss–Newton keeps it in the loss L: it mixes no entries by a product
    named_as: tuple[str, ...] = ()  # letters for a repeated value of it (… where s = f(z))
    exact: Callable[[Fraction], Fraction | None] | None = None  # f(v) at a rational v, when rational

    @property
    def keeps_shape(self) -> bool:
        """A vector function whose value is a vector (f(v)ᵢ), not a scalar f(v)."""
        return self.shape == "vector->same"


def _sigmoid(x):
    return np.exp(-np.logaddexp(0.0, -x))


def _softmax(z, axis=None):
    """exp(z) / sum(exp(z)) over all of z, or along ``axis`` for a batch of vectors."""
    e = np.exp(z - np.max(z, axis=axis, keepdims=axis is not None))
    return e / e.sum(axis=axis, keepdims=axis is not None)


def _logsumexp(z, axis=None):
    """log(sum(exp(z))): a float over all of z, or an array along ``axis`` (batch of vectors)."""
    if axis is None:
        m = np.max(z)
        return float(m + np.log(np.exp(z - m).sum()))
    m = np.max(z, axis=axis, keepdims=True)
    return np.squeeze(m + np.log(np.exp(z - m).sum(axis=axis, keepdims=True)), axis=axis)


def _at(point: int, value: Fraction | int) -> Callable[[Fraction], Fraction | None]:
    """The exact value of a function at one rational point (exp(0) = 1), unknown elsewhere."""
    return lambda v: Fraction(value) if v == point else None


def _elementwise(name: str, derivative: str, fprime, numpy, sympy: Any = None, **more) -> Function:
    """An element-wise function: f(A) entry by entry, d f(A) = f′(A) ⊙ dA."""
    return Function(name, ELEMENTWISE_GROUP, "same", derivative, fprime=fprime, numpy=numpy,
                    code=more.pop("code", "{m}." + name + "({0})"), sympy=name if sympy is None else sympy,
                    loss_side=True, **more)


H = Fraction(1, 2)


CATALOGUE: tuple[Function, ...] = (
    # -- element-wise: f′ as an expression of the argument --------------------------------
    _elementwise("abs", "abs′ = sign (a subgradient at 0)", lambda A, a: A.func("sign", a), np.abs, "Abs",
                 kink="abs′ = sign", exact=abs, unicode="|{0}|", latex=r"\left|{0}\right|"),
    _elementwise("sign", "sign′ = 0 (a subgradient at 0)", lambda A, a: A.zero(a.shape), np.sign,
                 kink="sign′ = 0", exact=lambda v: Fraction((v > 0) - (v < 0))),
    _elementwise("exp", "exp′ = exp", lambda A, a: A.func("exp", a), np.exp, latex=r"\exp\left({0}\right)",
                 exact=_at(0, 1)),
    _elementwise("log", "log′ = 1/x", lambda A, a: A.power(a, A.MINUS_ONE), np.log,
                 latex=r"\log\left({0}\right)", exact=_at(1, 0)),
    _elementwise("sqrt", "sqrt′(x) = x^(−1/2)/2", lambda A, a: A.scale(H, A.power(a, A.num(-H))),
                 np.sqrt, latex=r"\sqrt{{0}}", exact=_at(0, 0)),
    _elementwise("sin", "sin′ = cos", lambda A, a: A.func("cos", a), np.sin, latex=r"\sin\left({0}\right)",
                 exact=_at(0, 0)),
    _elementwise("cos", "cos′ = −sin", lambda A, a: A.neg(A.func("sin", a)), np.cos,
                 latex=r"\cos\left({0}\right)", exact=_at(0, 1)),
    _elementwise("tan", "tan′ = 1 + tan²", lambda A, a: A.add(A.ONE, A.power(A.func("tan", a), A.num(2))),
                 np.tan, latex=r"\tan\left({0}\right)", exact=_at(0, 0)),
    _elementwise("arcsin", "arcsin′ = (1 − x²)^(−1/2)",
                 lambda A, a: A.power(A.sub(A.ONE, A.power(a, A.num(2))), A.num(-H)), np.arcsin, "asin",
                 torch="{m}.asin({0})", latex=r"\arcsin\left({0}\right)", exact=_at(0, 0)),
    _elementwise("arccos", "arccos′ = −(1 − x²)^(−1/2)",
                 lambda A, a: A.neg(A.power(A.sub(A.ONE, A.power(a, A.num(2))), A.num(-H))), np.arccos,
                 "acos", torch="{m}.acos({0})", latex=r"\arccos\left({0}\right)"),
    _elementwise("arctan", "arctan′ = 1/(1 + x²)",
                 lambda A, a: A.power(A.add(A.ONE, A.power(a, A.num(2))), A.MINUS_ONE), np.arctan, "atan",
                 torch="{m}.atan({0})", latex=r"\arctan\left({0}\right)", exact=_at(0, 0)),
    _elementwise("tanh", "tanh′ = 1 − tanh²", lambda A, a: A.sub(A.ONE, A.power(A.func("tanh", a), A.num(2))),
                 np.tanh, latex=r"\tanh\left({0}\right)", exact=_at(0, 0)),
    _elementwise("sigmoid", "σ′(x) = σ(x) σ(−x)",
                 lambda A, a: A.had(A.func("sigmoid", a), A.func("sigmoid", A.neg(a))), _sigmoid,
                 lambda sp, t: 1 / (1 + sp.exp(-t)),
                 code="{h}({0})", torch="{m}.sigmoid({0})",
                 helper='def {name}(x):\n    """1 / (1 + exp(-x)), without overflow."""\n'
                        "    return {m}.exp(-{m}.logaddexp(0.0, -x))",
                 unicode="σ({0})", latex=r"\sigma\left({0}\right)", exact=_at(0, H)),
    _elementwise("relu", "relu′ = step, step(0) = 0", lambda A, a: A.func("step", a),
                 lambda x: np.maximum(x, 0.0), lambda sp, t: sp.Max(t, 0),
                 kink="relu′ = step (step(0) = 0)", exact=lambda v: max(v, Fraction(0)), code="{m}.maximum({0}, 0.0)",
                 torch="{m}.relu({0})"),
    _elementwise("step", "step′ = 0 (a subgradient at 0)", lambda A, a: A.zero(a.shape),
                 lambda x: np.greater(x, 0.0).astype(float), lambda sp, t: sp.Heaviside(t, 0),
                 kink="step′ = 0", exact=lambda v: Fraction(int(v > 0)), code="({0} > 0).astype({m}.float64)", jax="{m}.where({0} > 0, 1.0, 0.0)",
                 torch="({0} > 0).to({m}.float64)"),
    # -- matrix functions ----------------------------------------------------------------
    Function("tr", MATRIX_GROUP, "square->scalar", "d tr(A) = tr(dA)",
             differential=lambda A, e, d: A.func("tr", d(e.arg)), example="tr(A*X*B)",
             numpy=lambda a: float(np.trace(a)), code="{m}.trace({0})",
             sympy=lambda S, a, e: S.sp.Trace(a)),
    Function("det", MATRIX_GROUP, "square->scalar", "d det(A) = det(A) tr(A⁻¹ dA)",
             differential=lambda A, e, d: A.mul(e, A.func("tr", A.mul(A.func("inv", e.arg), d(e.arg)))),
             example="det(X)", numpy=lambda a: float(np.linalg.det(a)), code="{m}.linalg.det({0})",
             latex=r"\det\left({0}\right)", sympy=lambda S, a, e: S.sp.Determinant(a)),
    Function("logdet", MATRIX_GROUP, "square->scalar", "d log|det A| = tr(A⁻¹ dA)",
             differential=lambda A, e, d: A.func("tr", A.mul(A.func("inv", e.arg), d(e.arg))),
             example="logdet(X)", numpy=lambda a: float(np.linalg.slogdet(a)[1]),
             code="{m}.linalg.slogdet({0})[1]", latex=r"\log\left|\det {a}\right|",
             sympy=lambda S, a, e: S.sp.log(S.sp.Abs(S.sp.Determinant(a)))),
    Function("inv", MATRIX_GROUP, "square->same", "d A⁻¹ = −A⁻¹ dA A⁻¹",
             differential=lambda A, e, d: A.neg(A.mul(e, d(e.arg), e)), example="tr(A*inv(X))",
             numpy=np.linalg.inv, code="{m}.linalg.inv({0})", unicode="{p}⁻¹", latex="{p}^{-1}",
             sympy=lambda S, a, e: S.sp.Inverse(a)),
    Function("diag", MATRIX_GROUP, "diag"),
    Function("diagm", MATRIX_GROUP, "diag", "d diag(v) = diag(dv)", spelled="diag", callable=False,
             differential=lambda A, e, d: A.func("diagm", d(e.arg)), example="tr(A*diag(x))", wrt="x",
             numpy=np.diagflat, sympy=lambda S, a, e: S.DiagMatrix(a)),
    Function("diagv", MATRIX_GROUP, "diag", "d diag(A) = diag(dA)", spelled="diag", callable=False,
             differential=lambda A, e, d: A.func("diagv", d(e.arg)), example="a'*diag(X*B)",
             numpy=lambda a: np.diag(a).reshape(-1, 1).copy(), code="{m}.diag({0}).reshape(-1, 1)",
             torch="{m}.diagonal({0}).reshape(-1, 1)", sympy=lambda S, a, e: S.DiagonalOf(a)),
    Function("vec", MATRIX_GROUP, "vec", "d vec(A) = vec(dA)",
             differential=lambda A, e, d: A.func("vec", d(e.arg)), example="a'*vec(A*X*B)",
             numpy=lambda a: a.reshape(-1, 1, order="F"), sympy=lambda S, a, e: S.Vec(a), loss_side=True),
    # -- reductions ----------------------------------------------------------------------
    Function("sum", REDUCTION_GROUP, "scalar", "d sum(A) = sum(dA)",
             differential=lambda A, e, d: A.func("sum", d(e.arg)), example="sum(A*X)",
             numpy=lambda a: float(np.sum(a)), code="{m}.sum({0})", sympy=lambda S, a, e: S.sum(a)),
    Function("norm2", REDUCTION_GROUP, "scalar", "d ‖A‖ = ⟨A, dA⟩ / ‖A‖",
             differential=lambda A, e, d: A.div(A.inner(e.arg, d(e.arg)), e), example="norm2(X)",
             numpy=lambda a: float(np.linalg.norm(a)), code="{m}.linalg.norm({0})",
             unicode="‖{0}‖", latex=r"\left\lVert {0} \right\rVert", sympy=lambda S, a, e: S.sp.sqrt(S.scalar(S.sp.MatMul(S.sp.Transpose(a), a)) if e.arg.shape[0] != 1
                                            else S.scalar(S.sp.MatMul(a, S.sp.Transpose(a))))),
    Function("norm1", REDUCTION_GROUP, "scalar", "d ‖A‖₁ = ⟨sign(A), dA⟩ (a subgradient at 0)",
             differential=lambda A, e, d: A.inner(A.func("sign", e.arg), d(e.arg)), example="norm1(A*X)",
             kink="norm1′ = sign", numpy=lambda a: float(np.abs(a).sum()), code="{m}.sum({m}.abs({0}))",
             unicode="‖{0}‖₁", latex=r"\left\lVert {0} \right\rVert_1",
             sympy=lambda S, a, e: S.sum(S.apply("abs", a, False))),
    # -- vector functions ----------------------------------------------------------------
    Function("softmax", VECTOR_GROUP, "vector->same", "d softmax(z) = (diag(s) − s sᵀ) dz, s = softmax(z)",
             differential=lambda A, e, d: A.mul(A.sub(A.func("diagm", e), A.mul(e, A.T(e))), d(e.arg)),
             example="a'*softmax(x)", wrt="x", numpy=_softmax, code="{h}({0})", torch="{m}.softmax({0}, dim=0)",
             helper='def {name}(z):\n    """exp(z) / sum(exp(z)), shifted by max(z) against overflow."""\n'
                    "    e = {m}.exp(z - {m}.max(z))\n    return e / {m}.sum(e)",
             sympy=lambda S, a, e: S.sp.MatMul(1 / S.sum(S.apply("exp", a, False)), S.apply("exp", a, False)),
             loss_side=True, named_as=("s", "p", "q")),
    Function("logsumexp", VECTOR_GROUP, "vector->scalar", "d logsumexp(z) = softmax(z)ᵀ dz",
             differential=lambda A, e, d: A.mul(A.T(A.func("softmax", e.arg)), d(e.arg)),
             example="logsumexp(A*x)", wrt="x", numpy=_logsumexp, code="{h}({0})",
             torch="{m}.logsumexp({0}.reshape(-1), dim=0)",
             helper='def {name}(z):\n    """log(sum(exp(z))), shifted by max(z) against overflow."""\n'
                    "    top = {m}.max(z)\n    return top + {m}.log({m}.sum({m}.exp(z - top)))",
             sympy=lambda S, a, e: S.sp.log(S.sum(S.apply("exp", a, False)))),
    # -- constructors and the binary product ------------------------------------------------
    Function("vector", CONSTRUCTOR_GROUP, "constant-vector"),
    Function("matrix", CONSTRUCTOR_GROUP, "constant-matrix"),
    Function("kron", BINARY_GROUP, "kron", arity=2),
)

BY_NAME: dict[str, Function] = {f.name: f for f in CATALOGUE}
"""Every record by its tree name."""


def lookup(name: str) -> Function | None:
    """The record of a function, or None for a name that is not one."""
    return BY_NAME.get(name)


def _names(group: str) -> tuple[str, ...]:
    return tuple(f.name for f in CATALOGUE if f.group == group and f.callable)


ELEMENTWISE = _names(ELEMENTWISE_GROUP)
"""f(A) applied entry by entry; ``step`` (Heaviside, step(0) = 0) is relu′."""
MATRIX = _names(MATRIX_GROUP)
REDUCTIONS = _names(REDUCTION_GROUP)
VECTOR = _names(VECTOR_GROUP)
CONSTRUCTORS = _names(CONSTRUCTOR_GROUP)
BINARY = _names(BINARY_GROUP)

FUNCTIONS = tuple(f.name for f in CATALOGUE if f.callable)
"""Every name that may be called: ``name(arg)``."""

INTERNAL = {f.name: f.spelled for f in CATALOGUE if f.spelled}
"""Internal names printed as a language name: diag of a vector (a diagonal
matrix) and diag of a matrix (the vector of its diagonal)."""

KINKED = {f.name: f.kink for f in CATALOGUE if f.kink}
"""Functions not differentiable at 0: derivatives there are subgradients."""

WITH_HELPER = tuple(f.name for f in CATALOGUE if f.helper)
"""Functions whose NumPy/JAX code calls a helper written out in the generated source."""

ALIASES = {"trace": "tr", "transpose": "'", "determinant": "det", "inverse": "inv",
           "norm": "norm2", "frobenius": "norm2", "max": "relu", "logistic": "sigmoid",
           "expit": "sigmoid", "lse": "logsumexp", "ln": "log", "heaviside": "step"}
"""Common names from other systems, mapped to the nearest function here."""


def nearest_function(name: str) -> str | None:
    """The known function nearest to ``name`` (edit distance ≤ 2, or an alias)."""
    if name.lower() in ALIASES:
        return ALIASES[name.lower()]
    best, best_d = None, 3
    for f in FUNCTIONS:
        d = _edit_distance(name.lower(), f)
        if d < best_d:
            best, best_d = f, d
    return best if best_d <= (1 if len(name) <= 3 else 2) else None


def _edit_distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


__all__ = ["Function", "CATALOGUE", "BY_NAME", "lookup", "SHAPE_RULES", "ELEMENTWISE", "MATRIX", "REDUCTIONS",
           "VECTOR", "CONSTRUCTORS", "BINARY", "FUNCTIONS", "INTERNAL", "KINKED", "WITH_HELPER", "ALIASES",
           "nearest_function"]
