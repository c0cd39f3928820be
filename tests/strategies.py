"""Hypothesis strategies: random well-typed matdiff expressions, as text.

Expressions are built with a small shape algebra over three distinct
dimensions l, m, n (sizes 2, 3, 4 when evaluated), so that every generated
text is well typed by construction and a missing transpose shows in the
numbers.  Each generated :class:`Node` also records what a numerical test
needs to stay inside the domain of the expression: the sub-expressions that
must stay away from 0 (arguments of abs, sign, relu, norm1) and the matrices
that must be well conditioned (arguments of inv, det, logdet, negative
powers).  Values stay in the domain by construction where it is cheap: log,
sqrt, ./, / and non-integer powers only see positive things (exp(.),
sigmoid(.), u.*u + 1, ...), arcsin/arccos only see tanh(.)/2, tan only tanh(.),
inv/det/logdet only M'M + I.

Next to its text, every generated :class:`Node` carries ``fn``, a NumPy
function of it written here from the same random choices (plain NumPy on 2-D
arrays, never matdiff's evaluator): the oracle the properties differentiate
by finite differences (:func:`oracle`).

Variables and their shapes (declared through ``TYPES``):

======  ===========  ======  ===========
name    shape        name    shape
======  ===========  ======  ===========
beta    scalar       A       m×n
gamma   scalar       B       n×l
x, y    n            C       l×m
a       m            X       m×n
b       l            P       n×n
                     S       n×n symmetric
                     W       m×m
======  ===========  ======  ===========
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np
from hypothesis import strategies as st

# precedence levels of the language (SPEC §1), lowest first
SUM, PRODUCT, UNARY, POWER, POSTFIX, ATOM = range(6)

DIMS = ("l", "m", "n")
SIZES = {"l": 2, "m": 3, "n": 4}
ONE = 1

Shape = tuple  # (rows, cols), each 1 or a letter of DIMS

VARIABLES: dict[str, Shape] = {
    "beta": (1, 1), "gamma": (1, 1),
    "x": ("n", 1), "y": ("n", 1), "a": ("m", 1), "b": ("l", 1),
    "A": ("m", "n"), "B": ("n", "l"), "C": ("l", "m"), "X": ("m", "n"),
    "P": ("n", "n"), "S": ("n", "n"), "W": ("m", "m"),
}
TYPES: dict[str, str] = {name: ("scalar" if s == (1, 1) else "vector" if s[1] == 1 else "matrix")
                         for name, s in VARIABLES.items()}
TYPES["S"] = "symmetric"
VARIABLE_SIZES: dict[str, tuple[int, int]] = {
    name: tuple(1 if d == 1 else SIZES[d] for d in s) for name, s in VARIABLES.items()}
SYMMETRIC = frozenset({"S"})

NUMBERS = ("2", "3", "0.5", "1.5", "0.25")


Value = Callable[[dict], np.ndarray]
"""A NumPy function of the variables (2-D arrays, scalars 1×1) returning a 2-D array."""


@dataclass(frozen=True)
class Node:
    """A generated expression: its text, precedence, shape and domain facts, and its NumPy function."""

    text: str
    prec: int
    shape: Shape
    names: frozenset = frozenset()
    positive: bool = False  # every entry > 0 wherever the expression is defined
    bounded: bool = False  # every entry in [-2, 2]
    kinks: tuple = ()  # (kind, node): sub-expressions whose "entries" or "norm" must stay away from 0
    conds: tuple = ()  # nodes of square matrices that must stay well conditioned
    size: int = 1
    fn: Value | None = field(default=None, compare=False, repr=False)

    @property
    def is_scalar(self) -> bool:
        return self.shape == (1, 1)


# -- the NumPy meaning of each construction, written by hand ---------------------
def _scalar(v) -> np.ndarray:
    return np.array([[float(v)]])


def _diag(v: np.ndarray) -> np.ndarray:
    """diag of a vector: the diagonal matrix; of a square matrix: the column of its diagonal."""
    if v.shape == (1, 1):
        return v
    if v.shape[1] == 1:
        return np.diagflat(v)
    return np.array([[v[i, i]] for i in range(v.shape[0])])


def _size(d) -> int:
    return 1 if d == 1 else SIZES[d]


BY_HAND: dict[str, Callable] = {
    "abs": np.abs, "sign": np.sign, "exp": np.exp, "log": np.log, "sqrt": np.sqrt, "sin": np.sin,
    "cos": np.cos, "tan": np.tan, "arcsin": np.arcsin, "arccos": np.arccos, "arctan": np.arctan,
    "tanh": np.tanh, "sigmoid": lambda u: 1.0 / (1.0 + np.exp(-u)), "relu": lambda u: np.where(u > 0, u, 0.0), "step": lambda u: np.where(u > 0, 1.0, 0.0),
    "softmax": lambda z: np.exp(z - z.max()) / np.exp(z - z.max()).sum(),
    "logsumexp": lambda z: _scalar(np.log(np.exp(z).sum())),
    "tr": lambda m: _scalar(sum(m[i, i] for i in range(m.shape[0]))), "det": lambda m: _scalar(np.linalg.det(m)),
    "logdet": lambda m: _scalar(np.log(abs(np.linalg.det(m)))), "inv": np.linalg.inv, "diag": _diag,
    "vec": lambda m: m.T.reshape(-1, 1), "sum": lambda m: _scalar(m.sum()),
    "norm2": lambda m: _scalar(np.sqrt((m * m).sum())), "norm1": lambda m: _scalar(np.abs(m).sum()),
    "kron": np.kron,
}
"""What each function of the language computes, on 2-D arrays (independently of matdiff)."""


def _product(a: Node, b: Node) -> Value:
    """A * B: a matrix product, or scalar times anything (SPEC §1)."""
    fa, fb = a.fn, b.fn
    if a.is_scalar or b.is_scalar:
        return lambda env: fa(env) * fb(env)
    return lambda env: fa(env) @ fb(env)


_BINARY: dict[str, Callable] = {"+": np.add, "-": np.subtract, "/": np.divide, ".*": np.multiply,
                                 "./": np.divide}


def oracle(node: Node) -> Callable[..., object]:
    """f(**inputs) of a generated expression, by its own NumPy function, in the layouts of
    SPEC §5 (a float for a scalar, 1-D for a vector or a row, 2-D for a matrix)."""
    fn, shape = node.fn, node.shape

    def f(**inputs):
        env = {n: (_scalar(v) if np.ndim(v) == 0 else np.asarray(v, dtype=float).reshape(VARIABLE_SIZES[n]))
               for n, v in inputs.items()}
        with np.errstate(all="ignore"):
            v = np.asarray(fn(env), dtype=float)
        if shape == (1, 1):
            return float(v.reshape(-1)[0])
        return v.reshape(-1, order="F") if 1 in shape else v

    return f


# -- text assembly, with the fewest parentheses the grammar allows -------------
def wrap(n: Node, level: int) -> str:
    return f"({n.text})" if n.prec < level else n.text


def _merge(*parts: Node, names=frozenset(), kinks=(), conds=(), **kw) -> dict:
    """The facts of a node made of ``parts``, plus the given extra ones."""
    return dict(names=frozenset(names).union(*(p.names for p in parts)),
                kinks=sum((p.kinks for p in parts), tuple(kinks)), conds=sum((p.conds for p in parts), tuple(conds)),
                size=1 + sum(p.size for p in parts), **kw)


def binary(a: Node, op: str, b: Node, shape: Shape, **kw) -> Node:
    """a op b for the operators of the sum and product rows (left-associative)."""
    if op in ("*", "juxt"):
        kw["fn"] = _product(a, b)
    else:
        fa, fb, ufunc = a.fn, b.fn, _BINARY[op]
        kw["fn"] = lambda env: ufunc(fa(env), fb(env))
    if op in ("+", "-"):
        text, prec = f"{wrap(a, SUM)} {op} {wrap(b, PRODUCT)}", SUM
    elif op == "juxt":
        left, right = wrap(a, PRODUCT), wrap(b, POWER)
        glue = "" if (left[-1] in "'0123456789" and right[0].isalpha()) else " "
        text, prec = left + glue + right, PRODUCT
    else:
        text, prec = f"{wrap(a, PRODUCT)} {op} {wrap(b, UNARY)}", PRODUCT
    return Node(text, prec, shape, **_merge(a, b, **kw))


def call(fn: str, *args: Node, shape: Shape, **kw) -> Node:
    fns = [a.fn for a in args]
    if fn in ("vector", "matrix"):  # every entry the scalar argument, sized where it stands
        size = (_size(shape[0]), _size(shape[1]))
        kw["fn"] = lambda env: fns[0](env) * np.ones(size)
    else:
        f = BY_HAND[fn]
        kw["fn"] = lambda env: f(*[g(env) for g in fns])
    return Node(f"{fn}({', '.join(a.text for a in args)})", ATOM, shape, **_merge(*args, **kw))


def kron_infix(a: Node, b: Node) -> Node:
    """a ⊗ b."""
    fa, fb = a.fn, b.fn
    return Node(f"{wrap(a, PRODUCT)} ⊗ {wrap(b, UNARY)}", PRODUCT, ("kk", "kk"),
                **_merge(a, b, fn=lambda env: np.kron(fa(env), fb(env))))


def neg(a: Node) -> Node:
    fa = a.fn
    return Node(f"-{wrap(a, UNARY)}", UNARY, a.shape, **_merge(a, bounded=a.bounded, fn=lambda env: -fa(env)))


def transpose(a: Node) -> Node:
    fa = a.fn
    return Node(f"{wrap(a, POSTFIX)}'", POSTFIX, (a.shape[1], a.shape[0]),
                **_merge(a, positive=a.positive, bounded=a.bounded, fn=lambda env: fa(env).T))


def _exponent(text: str) -> Value:
    """The value of an exponent written as a number or with beta and gamma."""
    inner = text.strip("()")
    if inner == "beta*gamma":
        return lambda env: env["beta"] * env["gamma"]
    if inner in VARIABLES:
        return lambda env: env[inner]
    value = float(inner)
    return lambda env: value


def power(a: Node, op: str, exponent: str, exp_fn: Value | None = None, **kw) -> Node:
    """a ^ p (a scalar power, or an integer power of a square matrix) or a .^ p (entry-wise)."""
    fa, fp = a.fn, exp_fn or _exponent(exponent)
    if op == "^" and not a.is_scalar:
        k = int(exponent)

        def value(env):
            m = fa(env)
            return np.linalg.matrix_power(np.linalg.inv(m) if k < 0 else m, abs(k))
    else:
        def value(env):
            return fa(env) ** fp(env)
    return Node(f"{wrap(a, POSTFIX)}{op}{exponent}", POWER, a.shape, **_merge(a, fn=value, **kw))


def paren(a: Node) -> Node:
    return replace(a, text=f"({a.text})", prec=ATOM)


def number(text: str) -> Node:
    v = _scalar(float(text))
    return Node(text, ATOM, (1, 1), positive=True, bounded=float(text) <= 2, fn=lambda env: v)


def variable(name: str) -> Node:
    return Node(name, ATOM, VARIABLES[name], frozenset({name}), fn=lambda env: env[name])


def identity(d: str, text: str = "I") -> Node:
    """I (or eye), d×d."""
    eye = np.eye(SIZES[d])
    return Node(text, ATOM, (d, d), fn=lambda env: eye)


def variables_of(shape: Shape) -> list[str]:
    return [n for n, s in VARIABLES.items() if s == shape]


# -- the generator -------------------------------------------------------------
def all_shapes() -> list[Shape]:
    return [(1, 1)] + [(d, 1) for d in DIMS] + [(1, d) for d in DIMS] + [(r, c) for r in DIMS for c in DIMS]


class Gen:
    """Draws a Node of a requested shape; ``depth`` bounds the nesting, ``force``
    the number of top levels that may not be a leaf."""

    def __init__(self, draw, max_size: int = 40, kron_norm: bool = False, bare_trace: bool = True) -> None:
        self.draw = draw
        self.bare_trace = bare_trace  # False: every tr(M) is written tr(M + I)
        self.max_size = max_size
        self.kron_norm = kron_norm  # norm2 of a Kronecker product: matdiff cannot differentiate it yet

    def pick(self, options):
        return self.draw(st.sampled_from(options))

    def dim(self) -> str:
        return self.pick(DIMS)

    # leaves ---------------------------------------------------------------
    def leaf(self, shape: Shape) -> Node:
        names = variables_of(shape)
        if shape == (1, 1):
            if self.draw(st.booleans()):
                return number(self.pick(NUMBERS))
            return variable(self.pick(names))
        if shape[0] == 1:  # a row: the transpose of a vector
            return transpose(self.leaf((shape[1], 1)))
        if names:
            return variable(self.pick(names))
        # a matrix shape no variable has: an outer product or a product of two
        r, c = shape
        if r == c:
            return binary(self.leaf((r, "n" if r != "n" else "m")), "*",
                          self.leaf(("n" if r != "n" else "m", c)), shape)
        return binary(self.leaf((r, 1)), self.pick(["*", "juxt"]), transpose(self.leaf((c, 1))), shape)

    # domains --------------------------------------------------------------
    def positive(self, depth: int, shape: Shape) -> Node:
        """Something strictly positive of the shape, away from 0 and not huge."""
        u = self.expr(shape, depth)
        if u.positive and u.bounded:
            return u
        kind = self.pick(["exp", "sigmoid", "square", "softmax"] if shape[1] == 1 and shape[0] != 1
                         else ["exp", "sigmoid", "square"])
        if kind == "exp":
            return call("exp", self.bounded(u), shape=shape, positive=True)
        if kind == "sigmoid":
            return call("sigmoid", u, shape=shape, positive=True, bounded=True)
        if kind == "softmax":
            return call("softmax", u, shape=shape, positive=True, bounded=True)
        one = number("1") if shape == (1, 1) else self.ones_like(shape)
        sq = binary(u, ".*", u, shape) if not u.is_scalar or self.draw(st.booleans()) else \
            power(u, "^", "2")
        return binary(sq, "+", one, shape, positive=True)

    def bounded(self, u: Node) -> Node:
        """u itself if it is known to be small, else tanh, sin, cos, arctan or sigmoid of it."""
        if u.bounded:
            return u
        fn = self.pick(["tanh", "sin", "cos", "arctan", "sigmoid"])
        return call(fn, u, shape=u.shape, bounded=True, positive=fn == "sigmoid")

    def ones_like(self, shape: Shape) -> Node:
        """1 (broadcast), vector(1) or matrix(1): a scalar broadcasts in sums (SPEC §1)."""
        if shape[1] == 1 and shape[0] != 1 and self.draw(st.booleans()):
            return call("vector", number("1"), shape=shape, positive=True, bounded=True)
        if shape[0] != 1 and shape[1] != 1 and self.draw(st.booleans()):
            return call("matrix", number("1"), shape=shape, positive=True, bounded=True)
        return number("1")

    def wellconditioned(self, depth: int, d: str) -> Node:
        """M'M + I (or M M' + I) for some M: symmetric positive definite, d×d."""
        k = self.dim()
        if self.draw(st.booleans()):
            m = self.expr((k, d), depth)
            prod = binary(transpose(m), self.pick(["*", "juxt"]), m, (d, d))
        else:
            m = self.expr((d, k), depth)
            prod = binary(m, self.pick(["*", "juxt"]), transpose(m), (d, d))
        eye = identity(d) if self.draw(st.booleans()) else identity(d, "eye")
        out = binary(prod, "+", eye, (d, d)) if self.draw(st.booleans()) else binary(eye, "+", prod, (d, d))
        return replace(out, conds=out.conds + (out,))

    # the recursion ----------------------------------------------------------
    def expr(self, shape: Shape, depth: int, force: int = 0) -> Node:
        if depth <= 0 or (force <= 0 and self.draw(st.integers(0, 3)) == 0):
            return self.leaf(shape)
        d = depth - 1
        f = force - 1
        r, c = shape
        if shape == (1, 1):
            return self.scalar(d, f)
        if c == 1:
            return self.vector(r, d, f)
        if r == 1:
            return self.row(c, d, f)
        return self.matrix(r, c, d, f)

    def common(self, shape: Shape, d: int, f: int) -> list:
        """Constructions that work at every shape."""
        s = shape
        return [
            lambda: binary(self.expr(s, d, f), self.pick(["+", "-"]), self.expr(s, d, f), s),
            lambda: binary(self.expr((1, 1), d, f), self.pick(["*", "juxt"]), self.expr(s, d, f), s),
            lambda: binary(self.expr(s, d, f), "*", self.expr((1, 1), d, f), s),
            lambda: binary(self.expr(s, d, f), "/", self.positive(d, (1, 1)), s),
            lambda: binary(self.expr(s, d, f), ".*", self.expr(s, d, f), s),
            lambda: binary(self.expr(s, d, f), "./", self.positive(d, s), s),
            lambda: neg(self.expr(s, d, f)),
            lambda: paren(self.expr(s, d, f)),
            lambda: self.elementwise(s, d, f),
            lambda: self.epower(s, d, f),
            lambda: binary(self.expr(s, d, f), self.pick(["+", "-", ".*"]), self.ones_like(s), s),
            lambda: self.same_argument(s, d, f),
        ]

    def same_argument(self, s: Shape, d: int, f: int) -> Node:
        """f(u) .* g(u) or f(u) .* g(-u): two functions of one argument, side by side
        (abs(u) .* sign(u), relu(u) .* step(u), sigmoid(u) .* sigmoid(-u), ...)."""
        u = self.expr(s, d, f)
        fns = ["abs", "sign", "relu", "step", "sigmoid", "tanh"]
        f1, f2 = self.pick(fns), self.pick(fns)
        v = neg(u) if self.draw(st.booleans()) else u
        kinked = {"abs", "sign", "relu", "step"} & {f1, f2}
        out = binary(call(f1, u, shape=s), ".*", call(f2, v, shape=s), s)
        return replace(out, kinks=out.kinks + ((("entries", u),) if kinked else ()))

    def elementwise(self, s: Shape, d: int, f: int) -> Node:
        fn = self.pick(["abs", "sign", "exp", "log", "sqrt", "sin", "cos", "tan", "arcsin", "arccos",
                        "arctan", "tanh", "sigmoid", "relu"])
        if fn in ("log", "sqrt"):
            return call(fn, self.positive(d, s), shape=s)
        if fn == "exp":
            return call(fn, self.bounded(self.expr(s, d, f)), shape=s, positive=True)
        if fn == "tan":
            return call(fn, call("tanh", self.expr(s, d, f), shape=s), shape=s)
        if fn in ("arcsin", "arccos"):
            half = binary(call("tanh", self.expr(s, d, f), shape=s), "/", number("2"), s)
            return call(fn, half, shape=s, bounded=True, positive=fn == "arccos")
        u = self.expr(s, d, f)
        kinks = (("entries", u),) if fn in ("abs", "sign", "relu") else ()
        out = call(fn, u, shape=s, bounded=fn in ("sign", "sin", "cos", "tanh", "sigmoid", "arctan"),
                   positive=fn == "sigmoid")
        return replace(out, kinks=out.kinks + kinks)

    def epower(self, s: Shape, d: int, f: int) -> Node:
        if self.draw(st.booleans()):
            return power(self.expr(s, d, f), ".^", self.pick(["2", "3"]))
        base = self.positive(d, s)
        ex = self.pick(["0.5", "1.5", "-1", "(-0.5)", "beta", "gamma", "(beta*gamma)"])
        return power(base, ".^", ex, names=frozenset({n for n in ("beta", "gamma") if n in ex}))

    def scalar(self, d: int, f: int) -> Node:
        s = (1, 1)
        options = self.common(s, d, f) + [
            lambda: self.scalar_power(d, f),
            lambda: self.reduction(d, f),
            lambda: self.reduction(d, f),
            lambda: self.inner(d, f),
            lambda: self.trace(d, f),
            lambda: self.determinant(d),
            lambda: call("logsumexp", self.expr((self.dim(), 1), d, f), shape=s),
            lambda: self.kron_scalar(d, f),
        ]
        return self.draw(st.sampled_from(options))()

    def scalar_power(self, d: int, f: int) -> Node:
        if self.draw(st.booleans()):
            return power(self.expr((1, 1), d, f), "^", self.pick(["2", "3"]))
        base = self.positive(d, (1, 1))
        ex = self.bounded(self.expr((1, 1), d, f))
        return power(base, "^", wrap(ex, POSTFIX), exp_fn=ex.fn, names=ex.names, kinks=ex.kinks, conds=ex.conds)

    def reduction(self, d: int, f: int) -> Node:
        fn = self.pick(["sum", "norm2", "norm1"])
        u = self.expr(self.pick(all_shapes()[1:]), d, f)
        out = call(fn, u, shape=(1, 1), positive=fn != "sum")
        kink = {"norm1": ("entries", u), "norm2": ("norm", u)}.get(fn)
        return replace(out, kinks=out.kinks + ((kink,) if kink else ()))

    def inner(self, d: int, f: int) -> Node:
        k = self.dim()
        return binary(self.expr((1, k), d, f), self.pick(["*", "juxt"]), self.expr((k, 1), d, f), (1, 1))

    def trace(self, d: int, f: int) -> Node:
        k = self.dim()
        m = self.expr((k, k), d, f)
        if not self.bare_trace:
            m = binary(m, "+", identity(k), (k, k))
        return call("tr", m, shape=(1, 1))

    def determinant(self, d: int) -> Node:
        fn = self.pick(["det", "logdet"])
        return call(fn, self.wellconditioned(max(d - 1, 0), self.dim()), shape=(1, 1), positive=fn == "det")

    def kron_scalar(self, d: int, f: int) -> Node:
        """A Kronecker product or a vec, reduced to a scalar (compound sizes stay inside)."""
        kind = self.pick(["sum", "tr", "vecdot", "op", "op"])
        if kind == "tr":  # "+ I" makes each factor square for matdiff's inference too
            p, q = self.dim(), self.dim()
            left = binary(self.expr((p, p), max(d - 1, 0)), "+", identity(p), (p, p))
            right = binary(identity(q), "-", self.expr((q, q), max(d - 1, 0)), (q, q))
            return call("tr", call("kron", left, right, shape=("kk", "kk")), shape=(1, 1))
        if kind == "vecdot":  # vec(M)'vec(M) with the same M: the squared Frobenius norm
            m = self.expr((self.dim(), self.dim()), max(d - 1, 0))
            v = call("vec", m, shape=("vv", 1))
            return binary(transpose(v), self.pick(["*", "juxt"]), v, (1, 1), positive=True)
        s1, s2 = self.pick(all_shapes()[1:]), self.pick(all_shapes()[1:])
        a, b = self.expr(s1, max(d - 1, 0)), self.expr(s2, max(d - 1, 0))
        k = kron_infix(a, b) if kind == "op" else call("kron", a, b, shape=("kk", "kk"))
        fn = self.pick(["sum", "norm2"] if self.kron_norm else ["sum"])
        return call(fn, k, shape=(1, 1), kinks=(("norm", k),) if fn == "norm2" else ())

    def vector(self, r: str, d: int, f: int) -> Node:
        s = (r, 1)
        options = self.common(s, d, f) + [
            lambda: self.product(s, d, f),
            lambda: self.product(s, d, f),
            lambda: transpose(self.expr((1, r), d, f)),
            lambda: call("softmax", self.expr(s, d, f), shape=s, positive=True, bounded=True),
            lambda: call("diag", self.expr((r, r), d, f), shape=s),
            lambda: binary(call("diag", self.expr(s, d, f), shape=(r, r)), self.pick(["*", "juxt"]),
                           self.expr(s, d, f), s),
            lambda: binary(self.expr(s, d, f), self.pick(["+", "-"]),
                           call("vector", self.expr((1, 1), d, f), shape=s), s),
        ]
        return self.draw(st.sampled_from(options))()

    def row(self, c: str, d: int, f: int) -> Node:
        s = (1, c)
        options = [
            lambda: transpose(self.expr((c, 1), d, f)),
            lambda: self.product(s, d, f),
            lambda: binary(self.expr(s, d, f), self.pick(["+", "-", ".*"]), self.expr(s, d, f), s),
            lambda: binary(self.expr((1, 1), d, f), "*", self.expr(s, d, f), s),
            lambda: binary(self.expr(s, d, f), "*", call("diag", self.expr((c, 1), d, f), shape=(c, c)), s),
        ]
        return self.draw(st.sampled_from(options))()

    def product(self, s: Shape, d: int, f: int) -> Node:
        """A matrix product with a random inner dimension."""
        k = self.dim()
        return binary(self.expr((s[0], k), d, f), self.pick(["*", "juxt"]), self.expr((k, s[1]), d, f), s)

    def matrix(self, r: str, c: str, d: int, f: int) -> Node:
        s = (r, c)
        options = self.common(s, d, f) + [
            lambda: self.product(s, d, f),
            lambda: self.product(s, d, f),
            lambda: transpose(self.expr((c, r), d, f)),
            lambda: binary(self.expr((r, 1), d, f), self.pick(["*", "juxt"]), self.expr((1, c), d, f), s),
            lambda: binary(self.expr(s, d, f), self.pick(["+", "-", ".*"]),
                           call("matrix", self.expr((1, 1), d, f), shape=s), s),
        ]
        if r == c:
            options += [
                lambda: binary(self.expr(s, d, f), self.pick(["+", "-"]), identity(r), s),
                lambda: binary(identity(r), "*", self.expr(s, d, f), s),
                lambda: call("diag", self.expr((r, 1), d, f), shape=s),
                lambda: power(self.expr(s, d, f), "^", self.pick(["2", "3", "1"])),
                lambda: self.inverse(r, d),
            ]
        return self.draw(st.sampled_from(options))()

    def inverse(self, r: str, d: int) -> Node:
        m = self.wellconditioned(max(d - 1, 0), r)
        kind = self.pick(["inv", "^-1", "^-2"])
        if kind == "inv":
            return call("inv", m, shape=(r, r))
        return power(m, "^", kind[1:])

    def top(self, shape: Shape, depth: int, force: int) -> Node:
        for _ in range(8):
            node = self.expr(shape, depth, force)
            if node.size <= self.max_size and node.names:
                return node
        return node


@st.composite
def expressions(draw, shape: Shape | None = None, depth: int = 4, force: int = 2, max_size: int = 40,
                kron_norm: bool = False, bare_trace: bool = True) -> Node:
    """A random well-typed expression of ``shape`` (any shape if None)."""
    shape = shape if shape is not None else draw(st.sampled_from(all_shapes()))
    return Gen(draw, max_size, kron_norm, bare_trace).top(shape, depth, force)


def scalar_expressions(**kw):
    return expressions(shape=(1, 1), **kw)


def array_expressions(**kw):
    """Vector- or matrix-valued expressions (no scalars, no rows)."""
    shapes = [(d, 1) for d in DIMS] + [(r, c) for r in DIMS for c in DIMS]
    return st.sampled_from(shapes).flatmap(lambda s: expressions(shape=s, **kw))


# -- values ---------------------------------------------------------------------
def random_inputs(rng: np.random.Generator, names=None) -> dict:
    """Values for every variable at the sizes l=2, m=3, n=4 (S symmetric)."""
    out: dict = {}
    for name, shape in VARIABLES.items():
        if names is not None and name not in names:
            continue
        if shape == (1, 1):
            out[name] = float(rng.choice([-1.0, 1.0]) * rng.uniform(0.5, 1.5))
            continue
        dims = tuple(SIZES[d] if d != 1 else 1 for d in shape)
        v = rng.standard_normal(dims) * 0.6
        if name in SYMMETRIC:
            v = (v + v.T) / 2
        out[name] = v.reshape(-1) if shape[1] == 1 else v
    return out
