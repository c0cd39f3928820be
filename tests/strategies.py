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

from dataclasses import dataclass, replace

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
SYMMETRIC = frozenset({"S"})

NUMBERS = ("2", "3", "0.5", "1.5", "0.25")


@dataclass(frozen=True)
class Node:
    """A generated expression: its text, precedence, shape and domain facts."""

    text: str
    prec: int
    shape: Shape
    names: frozenset = frozenset()
    positive: bool = False  # every entry > 0 wherever the expression is defined
    bounded: bool = False  # every entry in [-2, 2]
    kinks: tuple = ()  # (kind, text): sub-expressions whose "entries" or "norm" must stay away from 0
    conds: tuple = ()  # texts of square matrices that must stay well conditioned
    size: int = 1

    @property
    def is_scalar(self) -> bool:
        return self.shape == (1, 1)


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
    return Node(f"{fn}({', '.join(a.text for a in args)})", ATOM, shape, **_merge(*args, **kw))


def neg(a: Node) -> Node:
    return Node(f"-{wrap(a, UNARY)}", UNARY, a.shape, **_merge(a, bounded=a.bounded))


def transpose(a: Node) -> Node:
    return Node(f"{wrap(a, POSTFIX)}'", POSTFIX, (a.shape[1], a.shape[0]),
                **_merge(a, positive=a.positive, bounded=a.bounded))


def power(a: Node, op: str, exponent: str, **kw) -> Node:
    return Node(f"{wrap(a, POSTFIX)}{op}{exponent}", POWER, a.shape, **_merge(a, **kw))


def paren(a: Node) -> Node:
    return replace(a, text=f"({a.text})", prec=ATOM)


def number(text: str) -> Node:
    return Node(text, ATOM, (1, 1), positive=True, bounded=float(text) <= 2)


def variable(name: str) -> Node:
    return Node(name, ATOM, VARIABLES[name], frozenset({name}))


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
        eye = Node("I", ATOM, (d, d)) if self.draw(st.booleans()) else Node("eye", ATOM, (d, d))
        out = binary(prod, "+", eye, (d, d)) if self.draw(st.booleans()) else binary(eye, "+", prod, (d, d))
        return replace(out, conds=out.conds + (out.text,))

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
        ]

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
        kinks = (("entries", u.text),) if fn in ("abs", "sign", "relu") else ()
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
        return power(base, "^", wrap(ex, POSTFIX), names=ex.names, kinks=ex.kinks, conds=ex.conds)

    def reduction(self, d: int, f: int) -> Node:
        fn = self.pick(["sum", "norm2", "norm1"])
        u = self.expr(self.pick(all_shapes()[1:]), d, f)
        out = call(fn, u, shape=(1, 1), positive=fn != "sum")
        kink = {"norm1": ("entries", u.text), "norm2": ("norm", u.text)}.get(fn)
        return replace(out, kinks=out.kinks + ((kink,) if kink else ()))

    def inner(self, d: int, f: int) -> Node:
        k = self.dim()
        return binary(self.expr((1, k), d, f), self.pick(["*", "juxt"]), self.expr((k, 1), d, f), (1, 1))

    def trace(self, d: int, f: int) -> Node:
        k = self.dim()
        m = self.expr((k, k), d, f)
        if not self.bare_trace:
            m = binary(m, "+", Node("I", ATOM, (k, k)), (k, k))
        return call("tr", m, shape=(1, 1))

    def determinant(self, d: int) -> Node:
        fn = self.pick(["det", "logdet"])
        return call(fn, self.wellconditioned(max(d - 1, 0), self.dim()), shape=(1, 1), positive=fn == "det")

    def kron_scalar(self, d: int, f: int) -> Node:
        """A Kronecker product or a vec, reduced to a scalar (compound sizes stay inside)."""
        kind = self.pick(["sum", "tr", "vecdot", "op", "op"])
        if kind == "tr":  # "+ I" makes each factor square for matdiff's inference too
            p, q = self.dim(), self.dim()
            left = binary(self.expr((p, p), max(d - 1, 0)), "+", Node("I", ATOM, (p, p)), (p, p))
            right = binary(Node("I", ATOM, (q, q)), "-", self.expr((q, q), max(d - 1, 0)), (q, q))
            return call("tr", call("kron", left, right, shape=("kk", "kk")), shape=(1, 1))
        if kind == "vecdot":  # vec(M)'vec(M) with the same M: the squared Frobenius norm
            m = self.expr((self.dim(), self.dim()), max(d - 1, 0))
            v = call("vec", m, shape=("vv", 1))
            return binary(transpose(v), self.pick(["*", "juxt"]), v, (1, 1), positive=True)
        s1, s2 = self.pick(all_shapes()[1:]), self.pick(all_shapes()[1:])
        a, b = self.expr(s1, max(d - 1, 0)), self.expr(s2, max(d - 1, 0))
        k = Node(f"{wrap(a, PRODUCT)} ⊗ {wrap(b, UNARY)}", PRODUCT, ("kk", "kk"), **_merge(a, b)) \
            if kind == "op" else call("kron", a, b, shape=("kk", "kk"))
        fn = self.pick(["sum", "norm2"] if self.kron_norm else ["sum"])
        return call(fn, k, shape=(1, 1), kinks=(("norm", k.text),) if fn == "norm2" else ())

    def vector(self, r: str, d: int, f: int) -> Node:
        s = (r, 1)
        options = self.common(s, d, f) + [
            lambda: self.product(s, d, f),
            lambda: self.product(s, d, f),
            lambda: transpose(self.expr((1, r), d, f)),
            lambda: call("softmax", self.expr(s, d, f), shape=s, positive=True, bounded=True),
            lambda: call("diag", self.expr((r, r), d, f), shape=s),
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
                lambda: binary(self.expr(s, d, f), self.pick(["+", "-"]), Node("I", ATOM, s), s),
                lambda: binary(Node("I", ATOM, s), "*", self.expr(s, d, f), s),
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
