"""Python source for an expression tree: a readable, self-contained function
for NumPy, JAX or PyTorch.

The tree is first lowered to a small graph of array operations (:class:`Op`,
hash-consed, so equal sub-expressions are one node).  Lowering is where the
costly textbook forms become cheap array code:

* ``inv(A) @ B`` → ``solve(A, B)``, ``inv(A)ᵀ @ B`` → ``solve(Aᵀ, B)`` and
  ``B @ inv(A)`` → ``solve(Aᵀ, Bᵀ)ᵀ`` (unless ``inv(A)`` is needed as a
  matrix anyway, then it is computed once and multiplied);
* ``diag(v) @ M`` → ``v * M`` and ``M @ diag(v)`` → ``M * vᵀ`` (broadcasting);
* ``kron(P, Q) @ w`` → ``vec(Q @ W @ Pᵀ)`` with ``W = unvec(w)``, and a row
  times a Kronecker product likewise: Kronecker products are built only when
  they are the result;
* ``K(m,n) @ vec(Y)`` → ``vec(Yᵀ)``, ``K @ M`` and ``M @ K`` → an index
  permutation of M's rows or columns: commutation matrices are built only
  when they are the result;
* matrix chains of three or more factors → ``multi_dot`` (its order is chosen
  from the array sizes at run time).

Then every non-trivial node used more than once, and every ``where`` part,
becomes a temporary, and a target printer writes the function.  Inside the
function vectors are 2-D columns; the result comes back in the layouts of
SPEC §5 (a float for a scalar, 1-D for a vector or a row, 2-D otherwise), as
``Result.lambdify()`` gives them.  Nothing here evaluates user text.
"""
from __future__ import annotations

import keyword
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable

from ..core import construct as A
from ..core.nodes import (SCALAR, Add, Commutation, DimSize, Expr, Func, Hadamard, Identity, Kron,
                  MatPow, Mul, Num, Ones, Power, Shape, Sym, Transpose, Unvec, Where, Zero)
from ..core.declared import Declared, callable_name
from ..errors import UsageError
from .declared_numeric import code_arguments, code_call

TARGETS = ("numpy", "jax", "torch")


def py_name(name: str) -> str:
    """A Python identifier for a matdiff name (``lambda`` → ``lambda_``)."""
    return name + "_" if keyword.iskeyword(name) else name


# ---------------------------------------------------------------------------------------------
# the operation graph
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Op:
    """One array operation.  ``kind`` is one of ``arg num dim eye zeros ones add prod matmul
    multidot item T pow call``; ``attr`` holds what is not an operand (a name, a number, a
    function name, sizes).  Nodes are hash-consed by :class:`Lowering`, so ``is`` is equality."""

    kind: str
    args: tuple[Op, ...]
    attr: tuple
    shape: Shape

    @property
    def is_scalar(self) -> bool:
        return self.shape == SCALAR

    @property
    def fname(self) -> str | None:
        """The function name of a ``call`` node."""
        return self.attr[0] if self.kind == "call" else None


TRIVIAL = ("arg", "num", "dim", "eye", "zeros", "ones")
"""Kinds never worth a temporary (names, literals, constant constructors)."""


def is_trivial(op: Op) -> bool:
    return op.kind in TRIVIAL or (op.kind == "T" and op.args[0].kind == "arg")


class Lowering:
    """Expression tree → operation graph, with the rewrites of the module docstring."""

    def __init__(self) -> None:
        self.table: dict[tuple, Op] = {}
        self.materialised_inv: set[int] = set()  # ids of A whose inv(A) is computed as a matrix
        self.reset()

    def reset(self) -> None:
        self.memo: dict[Expr, Op] = {}
        self.where_names: dict[int, str] = {}  # id(op) → the name a `where` gave it

    # -- node constructors ------------------------------------------------------------------
    def mk(self, kind: str, args: tuple[Op, ...] = (), attr: tuple = (), shape: Shape = SCALAR) -> Op:
        key = (kind, tuple(id(a) for a in args), attr, shape)
        op = self.table.get(key)
        if op is None:
            op = self.table[key] = Op(kind, tuple(args), attr, shape)
        return op

    def num(self, v: Fraction | int) -> Op:
        return self.mk("num", attr=(Fraction(v),))

    def call(self, fname: str, *args: Op, extra: tuple = (), shape: Shape = SCALAR) -> Op:
        return self.mk("call", args, (fname,) + extra, shape)

    def T(self, x: Op) -> Op:
        """xᵀ, with (xᵀ)ᵀ = x; a symmetric argument is still transposed, so that the code
        computes exactly what the expression says whatever array is passed."""
        if x.is_scalar:
            return x
        if x.kind == "T":
            return x.args[0]
        if x.kind == "eye" or x.fname == "diagflat":
            return x
        if x.kind in ("zeros", "ones"):
            return self.mk(x.kind, shape=(x.shape[1], x.shape[0]))
        if x.fname == "commutation":
            m, n = x.attr[1:]
            return self.call("commutation", extra=(n, m), shape=x.shape)
        return self.mk("T", (x,), (), (x.shape[1], x.shape[0]))

    def prod(self, coef: Fraction, nums: list[Op], dens: list[Op], shape: Shape) -> Op:
        """coef · Π nums / Π dens, element-wise (scalars broadcast)."""
        if coef == 1 and len(nums) == 1 and not dens:
            return nums[0]
        return self.mk("prod", tuple(nums) + tuple(dens), (Fraction(coef), len(nums)), shape)

    def vec(self, x: Op) -> Op:
        if x.shape[1] == 1:
            return x
        if x.fname == "unvec" and x.args[0].shape[1] == 1:
            return x.args[0]
        return self.call("vec", x, shape=(A.dim_mul(*x.shape), 1))

    def unvec(self, x: Op, shape: Shape) -> Op:
        if shape[1] == 1:
            return x
        if x.fname == "vec" and x.args[0].shape == shape:
            return x.args[0]
        return self.call("unvec", x, extra=shape, shape=shape)

    # -- the tree ------------------------------------------------------------------------------
    def lower(self, e: Expr) -> Op:
        op = self.memo.get(e)
        if op is None:
            op = getattr(self, "_" + type(e).__name__)(e)
            self.memo[e] = op
        return op

    def _Sym(self, e: Sym) -> Op:
        return self.mk("arg", attr=(e.name, e.symmetric), shape=e.shape)

    def _Num(self, e: Num) -> Op:
        return self.num(e.value)

    def _Identity(self, e: Identity) -> Op:
        return self.mk("eye", shape=e.shape)

    def _Zero(self, e: Zero) -> Op:
        return self.num(0) if e.is_scalar else self.mk("zeros", shape=e.shape)

    def _Ones(self, e: Ones) -> Op:
        return self.num(1) if e.is_scalar else self.mk("ones", shape=e.shape)

    def _Commutation(self, e: Commutation) -> Op:
        return self.call("commutation", extra=(e.m, e.n), shape=e.shape)

    def _DimSize(self, e: DimSize) -> Op:
        return self.mk("dim", attr=(e.dim,))

    def _Differential(self, e: Expr) -> Op:
        raise UsageError(f"cannot generate code for the differential {e}")

    _D = _Differential

    def _Where(self, e: Where) -> Op:
        value = self.lower(e.value)
        self.memo[e.name] = value
        self.where_names.setdefault(id(value), e.name.name)
        return self.lower(e.body)

    def _Add(self, e: Add) -> Op:
        merged = _merge_diagonals(e)
        if merged is not None:
            return self.lower(merged)
        split = [A.split_coef(t) for t in e.terms]
        has_array = any(not _is_ones_multiple(core) for _, core in split)
        lowered: list[tuple[int, Op]] = []
        for c, core in split:
            if not e.is_scalar and has_array and _is_ones_multiple(core):
                # a scalar added to an array broadcasts: 1 + u, not ones((m, 1)) + u
                scalars = [f for f in core.factors if f.is_scalar] if isinstance(core, Mul) else []
                op = self.lower(A.mul(A.num(abs(c)), *scalars))
            else:
                op = self.lower(A.scale(abs(c), core))
            lowered.append((-1 if c < 0 else 1, op))
        lowered.sort(key=lambda so: so[0] < 0)  # a positive term first: a - b, not -b + a
        return self.mk("add", tuple(op for _, op in lowered), tuple(s for s, _ in lowered), e.shape)

    def _Mul(self, e: Mul) -> Op:
        coef = Fraction(1)
        nums: list[Op] = []
        dens: list[Op] = []
        chain: list[Op] = []
        for f in e.factors:
            if isinstance(f, Num):
                coef *= f.value
            elif f.is_scalar:
                _split_power(self, f, nums, dens)
            else:
                chain.append(self.lower(f))
        if chain:
            c = self.chain(chain)
            nums.append(self.mk("item", (c,)) if e.is_scalar else c)
        if not nums:
            nums.append(self.num(1))
        return self.prod(coef, nums, dens, e.shape)

    def _Hadamard(self, e: Hadamard) -> Op:
        nums: list[Op] = []
        dens: list[Op] = []
        for f in e.factors:
            _split_power(self, f, nums, dens)
        if not nums:
            nums.append(self.num(1))
        return self.prod(Fraction(1), nums, dens, e.shape)

    def _Kron(self, e: Kron) -> Op:
        out = self.lower(e.factors[0])
        for f in e.factors[1:]:
            g = self.lower(f)
            out = self.call("kron", out, g, shape=(A.dim_mul(out.shape[0], g.shape[0]),
                                                    A.dim_mul(out.shape[1], g.shape[1])))
        return out

    def _Transpose(self, e: Transpose) -> Op:
        return self.T(self.lower(e.arg))

    def _Func(self, e: Func) -> Op:
        return self.call("diagflat" if e.name == "diagm" else e.name, self.lower(e.arg), shape=e.shape)

    def _Power(self, e: Power) -> Op:
        nums: list[Op] = []
        dens: list[Op] = []
        _split_power(self, e, nums, dens)
        if not nums:
            nums.append(self.num(1))
        return self.prod(Fraction(1), nums, dens, e.shape)

    def _MatPow(self, e: MatPow) -> Op:
        return self.call("matrix_power", self.lower(e.base), extra=(e.k,), shape=e.shape)

    def _Unvec(self, e: Unvec) -> Op:
        return self.unvec(self.lower(e.arg), e.shape)

    def _Declared(self, e: Declared) -> Op:
        return self.mk("declared", (self.lower(e.arg),), (callable_name(e),), e.shape)

    # -- matrix chains ----------------------------------------------------------------------------
    def inv_of(self, f: Op) -> Op | None:
        """A when f is inv(A) (then inv(A) X = solve(A, X)), Aᵀ when f is inv(A)ᵀ; None otherwise
        or when inv(A) is computed as a matrix anyway."""
        if f.fname == "inv" and id(f.args[0]) not in self.materialised_inv:
            return f.args[0]
        if f.kind == "T" and f.args[0].fname == "inv" and id(f.args[0].args[0]) not in self.materialised_inv:
            return self.T(f.args[0].args[0])
        return None

    def chain(self, fs: list[Op]) -> Op:
        """The product f₁ f₂ … fₖ of matrices, rewritten into cheaper array operations."""
        fs = [f for f in fs if f.kind != "eye"] or fs[:1]
        if len(fs) == 1:
            return fs[0]
        # … u @ vᵀ … → (… u) @ (vᵀ …): a rank-one product splits at the column
        for i in range(len(fs) - 1):
            if fs[i].shape[1] == 1 and len(fs) > 2:
                left, right = self.chain(fs[:i + 1]), self.chain(fs[i + 1:])
                return self.mk("matmul", (left, right), (), (left.shape[0], right.shape[1]))
        # inv(A) @ R → solve(A, R), the rightmost inverse first
        for i in range(len(fs) - 2, -1, -1):
            a = self.inv_of(fs[i])
            if a is not None:
                right = self.chain(fs[i + 1:])
                return self.chain(fs[:i] + [self.call("solve", a, right, shape=(fs[i].shape[0], right.shape[1]))])
        # diag(v) @ M → v * M;  M @ diag(v) → M * vᵀ
        for i, f in enumerate(fs):
            if f.fname == "diagflat":
                v = f.args[0]
                if i + 1 < len(fs):
                    nxt = fs[i + 1]
                    return self.chain(fs[:i] + [self.prod(Fraction(1), [v, nxt], [], nxt.shape)] + fs[i + 2:])
                prev = fs[i - 1]
                return self.chain(fs[:i - 1] + [self.prod(Fraction(1), [prev, self.T(v)], [], prev.shape)])
        # L @ inv(A) → solve(Aᵀ, Lᵀ)ᵀ
        a = self.inv_of(fs[-1])
        if a is not None:
            left = self.chain(fs[:-1])
            return self.T(self.call("solve", self.T(a), self.T(left), shape=(left.shape[1], left.shape[0])))
        # K(m,n) @ vec(Y) → vec(Yᵀ); K @ M → M[perm]; M @ K(m,n) → M[:, perm(n,m)]
        for i, f in enumerate(fs):
            if f.fname == "commutation":
                m, n = f.attr[1:]
                if i + 1 < len(fs):
                    nxt = fs[i + 1]
                    if nxt.fname == "vec" and nxt.args[0].shape == (m, n):
                        new = self.vec(self.T(nxt.args[0]))
                    else:
                        new = self.call("rows_perm", nxt, extra=(m, n), shape=nxt.shape)
                    return self.chain(fs[:i] + [new] + fs[i + 2:])
                prev = fs[i - 1]
                return self.chain(fs[:i - 1] + [self.call("cols_perm", prev, extra=(n, m), shape=prev.shape)])
        # (I + K) @ M → M + K @ M, M @ (I + K) → M + M @ K: permutations, never built
        for i, f in enumerate(fs):
            if f.kind == "add" and all(t.kind == "eye" or t.fname == "commutation" for t in f.args):
                if i + 1 < len(fs):
                    nxt = fs[i + 1]
                    terms = tuple(self.chain([t, nxt]) for t in f.args)
                    new = self.mk("add", terms, f.attr, nxt.shape)
                    return self.chain(fs[:i] + [new] + fs[i + 2:])
                prev = fs[i - 1]
                terms = tuple(self.chain([prev, t]) for t in f.args)
                return self.chain(fs[:i - 1] + [self.mk("add", terms, f.attr, prev.shape)])
        # kron(P, Q) @ w → vec(Q @ unvec(w) @ Pᵀ);  r @ kron(P, Q) → vec(Qᵀ @ unvec(rᵀ) @ P)ᵀ
        for i, f in enumerate(fs):
            if f.fname == "kron":
                P, Q = f.args
                if i + 1 < len(fs) and fs[i + 1].shape[1] == 1:
                    W = self.unvec(fs[i + 1], (Q.shape[1], P.shape[1]))
                    new = self.vec(self.chain([Q, W, self.T(P)]))
                    return self.chain(fs[:i] + [new] + fs[i + 2:])
                if i > 0 and fs[i - 1].shape[0] == 1:
                    R = self.unvec(self.T(fs[i - 1]), (Q.shape[0], P.shape[0]))
                    new = self.T(self.vec(self.chain([self.T(Q), R, P])))
                    return self.chain(fs[:i - 1] + [new] + fs[i + 1:])
        shape = (fs[0].shape[0], fs[-1].shape[1])
        if len(fs) == 2:
            return self.mk("matmul", tuple(fs), (), shape)
        return self.mk("multidot", tuple(fs), (), shape)


def _is_ones_multiple(core: Expr) -> bool:
    """core is 𝟙 or (scalars)·𝟙."""
    if isinstance(core, Ones):
        return True
    if isinstance(core, Mul):
        chain = [f for f in core.factors if not f.is_scalar]
        return len(chain) == 1 and isinstance(chain[0], Ones)
    return False


def _merge_diagonals(e: Add) -> Expr | None:
    """Σ cᵢ diag(vᵢ) = diag(Σ cᵢ vᵢ), so that a chain can broadcast it."""
    vectors = []
    for t in e.terms:
        c, core = A.split_coef(t)
        if not (isinstance(core, Func) and core.name == "diagm"):
            return None
        vectors.append(A.scale(c, core.arg))
    return A.func("diagm", A.add(*vectors))


def _split_power(low: Lowering, f: Expr, nums: list[Op], dens: list[Op]) -> None:
    """f into the numerator, or b^k with k < 0 into the denominator as b^-k."""
    if isinstance(f, Power) and isinstance(f.exp, Num) and f.exp.value < 0:
        base = low.lower(f.base)
        p = -f.exp.value
        dens.append(base if p == 1 else low.mk("pow", (base, low.num(p)), (), f.shape))
    elif isinstance(f, Power):
        nums.append(low.mk("pow", (low.lower(f.base), low.lower(f.exp)), (), f.shape))
    else:
        nums.append(low.lower(f))


def lower(e: Expr) -> Op:
    """The operation graph of e (see the module docstring for its rewrites)."""
    return _lower(e)[0]


def _lower(e: Expr) -> tuple[Op, Lowering]:
    """A first pass finds which inverses are needed as matrices (outside a product); the
    second uses solve only for the others and multiplies by the computed inverse there."""
    low = Lowering()
    root = low.lower(e)
    keep = {id(op.args[0]) for op in _postorder(root) if op.fname == "inv"}
    if keep:
        low.materialised_inv = keep
        low.reset()
        root = low.lower(e)
    return root, low


def _postorder(root: Op) -> list[Op]:
    out: list[Op] = []
    seen: set[int] = set()
    stack: list[tuple[Op, bool]] = [(root, False)]
    while stack:
        op, done = stack.pop()
        if done:
            out.append(op)
            continue
        if id(op) in seen:
            continue
        seen.add(id(op))
        stack.append((op, True))
        stack.extend((a, False) for a in reversed(op.args))
    return out


def _uses(root: Op) -> dict[int, int]:
    """How many parents use each node (each parent counted once per operand)."""
    uses: dict[int, int] = {}
    for op in _postorder(root):
        for a in op.args:
            uses[id(a)] = uses.get(id(a), 0) + 1
    return uses


# ---------------------------------------------------------------------------------------------
# names
# ---------------------------------------------------------------------------------------------
class Namer:
    """Hands out Python identifiers that clash with nothing taken so far."""

    def __init__(self, taken: set[str] | None = None) -> None:
        self.taken: set[str] = set(taken or ())

    def fresh(self, base: str) -> str:
        name = "".join(ch if (ch.isalnum() or ch == "_") else "_" for ch in base) or "t"
        if not name.isidentifier():
            name = "_" + name
        if keyword.iskeyword(name):
            name += "_"
        while name in self.taken or keyword.iskeyword(name):
            name += "_"
        self.taken.add(name)
        return name


# ---------------------------------------------------------------------------------------------
# printing
# ---------------------------------------------------------------------------------------------
ATOM, POW, UNARY, MUL, ADD, LOWEST = 100, 90, 80, 70, 60, 0

ELEMENTWISE_NP = ("abs", "sign", "exp", "log", "sqrt", "sin", "cos", "tan", "arcsin", "arccos", "arctan",
                  "tanh")
TORCH_NAMES = {"arcsin": "asin", "arccos": "acos", "arctan": "atan"}


@dataclass(frozen=True)
class Target:
    """What differs between NumPy, JAX and PyTorch source."""

    name: str
    module: str  # the import line, with {m} for the alias
    alias: str
    asarray: str  # {m}, {x}
    calls: dict[str, str]  # function → template with {m}, {0}, {1}, {h} (a helper's name)
    helpers: dict[str, str]  # helper → source with {m} and {name}, {perm}
    eye: str
    zeros: str
    ones: str
    multidot: str
    scalar_return: str  # {m}, {x}
    vec: str
    unvec: str  # {0}, {r}, {c}
    flat: str  # vec(A) as a 1-D array
    number_arg: str = "{x}"  # how a Python number is passed to a function


_COMMON = {f: "{m}." + f + "({0})" for f in ELEMENTWISE_NP}
_COMMON.update({
    "trace": "{m}.trace({0})", "tr": "{m}.trace({0})", "det": "{m}.linalg.det({0})",
    "logdet": "{m}.linalg.slogdet({0})[1]", "inv": "{m}.linalg.inv({0})", "solve": "{m}.linalg.solve({0}, {1})",
    "diagflat": "{m}.diagflat({0})", "diagv": "{m}.diag({0}).reshape(-1, 1)",
    "kron": "{m}.kron({0}, {1})", "matrix_power": "{m}.linalg.matrix_power({0}, {k})", "sum": "{m}.sum({0})",
    "norm2": "{m}.linalg.norm({0})", "norm1": "{m}.sum({m}.abs({0}))", "relu": "{m}.maximum({0}, 0.0)",
    "sigmoid": "{h}({0})", "softmax": "{h}({0})", "logsumexp": "{h}({0})",
    "commutation": "{h}({r}, {c})", "rows_perm": "{0}[{h}({r}, {c})]", "cols_perm": "{0}[:, {h}({r}, {c})]",
})

_NP_HELPERS = {
    "sigmoid": 'def {name}(x):\n    """1 / (1 + exp(-x)), without overflow."""\n'
               "    return {m}.exp(-{m}.logaddexp(0.0, -x))",
    "softmax": 'def {name}(z):\n    """exp(z) / sum(exp(z)), shifted by max(z) against overflow."""\n'
               "    e = {m}.exp(z - {m}.max(z))\n    return e / {m}.sum(e)",
    "logsumexp": 'def {name}(z):\n    """log(sum(exp(z))), shifted by max(z) against overflow."""\n'
                 "    top = {m}.max(z)\n    return top + {m}.log({m}.sum({m}.exp(z - top)))",
    "commutation_perm": 'def {name}(m, n):\n    """The row order of the commutation matrix K(m, n):\n\n'
                        '    K @ M == M[{name}(m, n)], and K @ vec(A) == vec(A.T) for A m×n.\n    """\n'
                        "    return {m}.arange(m * n).reshape(n, m).T.reshape(-1)",
    "commutation": 'def {name}(m, n):\n    """K(m, n), the (mn)×(mn) commutation matrix, by permuting the '
                   'rows of the identity."""\n    return {m}.eye(m * n)[{perm}(m, n)]',
}

NUMPY = Target(
    "numpy", "import numpy as {m}", "np", "{m}.asarray({x}, dtype={m}.float64)",
    dict(_COMMON, step="({0} > 0).astype({m}.float64)"), _NP_HELPERS,
    "{m}.eye({n})", "{m}.zeros(({r}, {c}))", "{m}.ones(({r}, {c}))", "{m}.linalg.multi_dot([{args}])",
    "float({x})", '{0}.reshape(-1, 1, order="F")', '{0}.reshape(({r}, {c}), order="F")',
    '{0}.reshape(-1, order="F")')

JAX = Target(
    "jax", "import jax.numpy as {m}", "jnp", "{m}.asarray({x}, dtype={m}.result_type(0.0))",
    dict(_COMMON, step="{m}.where({0} > 0, 1.0, 0.0)"), _NP_HELPERS,
    "{m}.eye({n})", "{m}.zeros(({r}, {c}))", "{m}.ones(({r}, {c}))", "{m}.linalg.multi_dot([{args}])",
    "{m}.asarray({x})", "{0}.T.reshape(-1, 1)", "{0}.reshape({c}, {r}).T", "{0}.T.reshape(-1)")

_TORCH_CALLS = dict(_COMMON, **{f: "{m}." + TORCH_NAMES.get(f, f) + "({0})" for f in ELEMENTWISE_NP})
_TORCH_CALLS.update({  # where PyTorch differs from NumPy
    "diagv": "{m}.diagonal({0}).reshape(-1, 1)", "kron": "{h}({0}, {1})", "relu": "{m}.relu({0})",
    "step": "({0} > 0).to({m}.float64)", "sigmoid": "{m}.sigmoid({0})", "softmax": "{m}.softmax({0}, dim=0)",
    "logsumexp": "{m}.logsumexp({0}.reshape(-1), dim=0)",
})

TORCH = Target(
    "torch", "import torch" + "{as_m}", "torch", "{m}.as_tensor({x}, dtype={m}.float64)", _TORCH_CALLS,
    {"kron": 'def {name}(a, b):\n    """torch.kron of contiguous operands (torch.kron rejects some strided '
             'views)."""\n    return {m}.kron(a.contiguous(), b.contiguous())',
     "commutation_perm": _NP_HELPERS["commutation_perm"],
     "commutation": 'def {name}(m, n):\n    """K(m, n), the (mn)×(mn) commutation matrix, by permuting the '
                    'rows of the identity."""\n    return {m}.eye(m * n, dtype={m}.float64)[{perm}(m, n)]'},
    "{m}.eye({n}, dtype={m}.float64)", "{m}.zeros(({r}, {c}), dtype={m}.float64)",
    "{m}.ones(({r}, {c}), dtype={m}.float64)", "{m}.linalg.multi_dot([{args}])",
    "{m}.as_tensor({x}, dtype={m}.float64)", "{0}.T.reshape(-1, 1)", "{0}.reshape({c}, {r}).T", "{0}.T.reshape(-1)",
    number_arg="{m}.tensor({x}, dtype={m}.float64)")

_BY_NAME = {"numpy": NUMPY, "jax": JAX, "torch": TORCH}


def _needs_helper(fname: str, target: Target) -> str | None:
    tpl = target.calls.get(fname, "")
    if "{h}" not in tpl:
        return None
    return "commutation_perm" if fname in ("rows_perm", "cols_perm") else fname


class Printer:
    """Op graph → source text of one target, with temporaries printed as their names."""

    def __init__(self, target: Target, mod: str, temps: dict[int, str], dims: Callable[[object], str],
                 helper: Callable[[str], str]) -> None:
        self.t = target
        self.m = mod
        self.temps = temps
        self.dim = dims
        self.helper = helper

    def text(self, op: Op, prec: int = LOWEST) -> str:
        s, p = self.render(op)
        return f"({s})" if p < prec else s

    def render(self, op: Op, defining: bool = False) -> tuple[str, int]:
        name = self.temps.get(id(op))
        if name is not None and not defining:
            return name, ATOM
        return getattr(self, "_" + op.kind)(op)

    # -- leaves -----------------------------------------------------------------------------------
    def _arg(self, op: Op) -> tuple[str, int]:
        return self.temps[id(op)], ATOM  # arguments are always named

    def _declared(self, op: Op) -> tuple[str, int]:
        a = op.args[0]
        return code_call(op.attr[0], self.text(a, ATOM if a.shape[1] == 1 and a.shape[0] != 1 else LOWEST),
                         a.shape), ATOM

    def _num(self, op: Op) -> tuple[str, int]:
        return _number(op.attr[0])

    def _dim(self, op: Op) -> tuple[str, int]:
        s = self.dim(op.attr[0])
        return s, (MUL if "*" in s else ATOM)

    def _eye(self, op: Op) -> tuple[str, int]:
        return self.t.eye.format(m=self.m, n=self.dim(op.shape[0])), ATOM

    def _zeros(self, op: Op) -> tuple[str, int]:
        return self.t.zeros.format(m=self.m, r=self.dim(op.shape[0]), c=self.dim(op.shape[1])), ATOM

    def _ones(self, op: Op) -> tuple[str, int]:
        return self.t.ones.format(m=self.m, r=self.dim(op.shape[0]), c=self.dim(op.shape[1])), ATOM

    # -- operators --------------------------------------------------------------------------------
    def _add(self, op: Op) -> tuple[str, int]:
        parts: list[str] = []
        for k, (sign, term) in enumerate(zip(op.attr, op.args)):
            if k == 0:
                parts.append(("-" + self.text(term, POW)) if sign < 0 else self.text(term, ADD))
            else:
                parts.append((" - " if sign < 0 else " + ") + self.text(term, ADD + 1))
        return "".join(parts), ADD

    def _factors(self, op: Op) -> list[Op]:
        """The numerators of a product, with nested plain products (not temporaries) spliced in."""
        out: list[Op] = []
        for f in op.args[:op.attr[1]]:
            if (f.kind == "prod" and id(f) not in self.temps and f.attr[0] == 1
                    and f.attr[1] == len(f.args)):
                out.extend(self._factors(f))
            else:
                out.append(f)
        return out

    def _prod(self, op: Op) -> tuple[str, int]:
        coef, k = op.attr
        nums = [f for f in self._factors(op) if not (f.kind == "num" and f.attr[0] == 1)]
        dens = [self.text(d, MUL + 1) for d in op.args[k:]]
        if coef.denominator != 1 and len(repr(float(coef))) > 6:  # (2/3)·x → 2 * x / 3
            dens.insert(0, str(coef.denominator))
            coef = Fraction(coef.numerator)
        if not nums and not dens:
            return _number(coef)
        lead = "-" if coef == -1 and nums else ""
        texts = [] if lead or (coef == 1 and nums) else [_number(coef)[0]]
        for f in nums:  # `a @ b * c` is legal Python but reads badly: parenthesise matrix products
            first = POW if lead else (MUL + 1 if f.kind == "matmul" else MUL)
            texts.append(self.text(f, first if not texts else MUL + 1))
        s = lead + " * ".join(texts) + "".join(" / " + d for d in dens)
        return s, (UNARY if lead and len(texts) == 1 and not dens else MUL)

    def _matmul(self, op: Op) -> tuple[str, int]:
        a, b = op.args
        return f"{self.text(a, MUL + 1 if a.kind == 'prod' else MUL)} @ {self.text(b, MUL + 1)}", MUL

    def _multidot(self, op: Op) -> tuple[str, int]:
        return self.t.multidot.format(m=self.m, args=", ".join(self.text(a) for a in op.args)), ATOM

    def _item(self, op: Op) -> tuple[str, int]:
        return f"{self.text(op.args[0], ATOM)}[0, 0]", ATOM

    def _T(self, op: Op) -> tuple[str, int]:
        return f"{self.text(op.args[0], ATOM)}.T", ATOM

    def _pow(self, op: Op) -> tuple[str, int]:
        base, p = op.args
        if p.kind == "num" and p.attr[0] == Fraction(1, 2):
            return self._call_text("sqrt", [base]), ATOM
        exp = self.text(p, ATOM) if p.kind != "num" else _number(p.attr[0], in_power=True)[0]
        return f"{self.text(base, ATOM)} ** {exp}", POW

    def _call(self, op: Op) -> tuple[str, int]:
        fname = op.attr[0]
        extra = op.attr[1:]
        if fname == "vec":
            return self.t.vec.format(self.text(op.args[0], ATOM)), ATOM
        if fname == "unvec":
            return self.t.unvec.format(self.text(op.args[0], ATOM), r=self.dim(extra[0]), c=self.dim(extra[1])), ATOM
        return self._call_text(fname, list(op.args), extra), ATOM

    def _call_text(self, fname: str, args: list[Op], extra: tuple = ()) -> str:
        tpl = self.t.calls.get(fname)
        if tpl is None:
            raise UsageError(f"no {self.t.name} code for the function '{fname}'")
        texts = []
        for i, a in enumerate(args):
            postfix = tpl.startswith("{%d}." % i) or tpl.startswith("{%d}[" % i) or "({%d} >" % i in tpl
            s = self.text(a, ATOM if postfix else LOWEST)
            if _is_python_number(a) and not postfix:
                s = self.t.number_arg.format(m=self.m, x=s)
            elif _is_python_number(a):
                s = "(" + self.t.number_arg.format(m=self.m, x=s) + ")"
            texts.append(s)
        fmt: dict[str, str] = {"m": self.m}
        helper = _needs_helper(fname, self.t)
        if helper is not None:
            fmt["h"] = self.helper(helper)
        if fname in ("commutation", "rows_perm", "cols_perm"):
            fmt["r"], fmt["c"] = self.dim(extra[0]), self.dim(extra[1])
        if fname == "matrix_power":
            fmt["k"] = str(extra[0])
        return tpl.format(*texts, **fmt)


def _is_python_number(op: Op) -> bool:
    """True when op is a plain Python number at run time (literals and dimension sizes)."""
    if op.kind in ("num", "dim"):
        return True
    return op.kind in ("prod", "add", "pow") and all(_is_python_number(a) for a in op.args)


def _number(v: Fraction, in_power: bool = False) -> tuple[str, int]:
    """A rational as a Python literal: 2, 0.5, or (1 / 3)."""
    if v.denominator == 1:
        s = str(v.numerator)
    elif len(repr(float(v))) <= 6:
        s = repr(float(v))
    else:
        s = f"({v.numerator} / {v.denominator})"
        return s, ATOM
    if v < 0:
        return (s, ATOM) if in_power else (s, UNARY)
    return s, ATOM


# ---------------------------------------------------------------------------------------------
# the function
# ---------------------------------------------------------------------------------------------
def _kind_text(s: Sym) -> str:
    shape = ", ".join(str(d) for d in s.shape)
    if s.is_scalar:
        return "scalar"
    if s.is_vector:
        return f"vector of length {s.shape[0]} (1-D array, or an ({s.shape[0]}, 1) column)"
    return f"{'symmetric matrix' if s.symmetric else 'matrix'} of shape ({shape})"


def _result_text(shape: Shape, target: Target) -> str:
    if shape == SCALAR:
        return {"numpy": "float", "jax": "0-d array", "torch": "0-d tensor"}[target.name]
    if shape[1] == 1 or shape[0] == 1:
        return f"1-D array of length {shape[0] if shape[1] == 1 else shape[1]}"
    return f"array of shape ({shape[0]}, {shape[1]})"


def _docstring(doc: str, symbols: dict[str, Sym], argnames: dict[str, str], shape: Shape,
               target: Target, functions: list[tuple[str, str]] = ()) -> list[str]:
    lines = [doc.strip() or "Generated by matdiff.", "", "Args:"]
    for n, s in symbols.items():
        line = f"    {argnames[n]}: {_kind_text(s)}."
        if argnames[n] != n:
            line += f" The variable `{n}`, renamed: `{n}` is a Python keyword." if keyword.iskeyword(n) \
                else f" The variable `{n}`, renamed to avoid a clash."
        lines.append(line)
    lines += [f"    {n}: {what}." for n, what in functions]
    lines += ["", "Returns:", f"    {_result_text(shape, target)}."]
    text = "\n".join(lines).replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    out = text.split("\n")
    out[0] = '    """' + out[0]
    out = [out[0]] + [("    " + x) if x else "" for x in out[1:]] + ['    """']
    return out


def to_code(e: Expr, symbols: dict[str, Sym], target: str = "numpy", name: str = "f", doc: str = "") -> str:
    """Source of a self-contained function computing e: ``numpy``, ``jax`` or ``torch``.

    The function takes every name of ``symbols`` (a Python keyword gets a trailing ``_``),
    checks ranks and that dimensions agree, and returns the layout of SPEC §5."""
    if target not in _BY_NAME:
        raise UsageError(f"unknown code target {target!r}; the targets are {', '.join(TARGETS)}")
    if not isinstance(name, str) or not name.isidentifier():
        raise UsageError(f"the function name must be a Python identifier, got {name!r}")
    return _Emitter(_BY_NAME[target], symbols, name).function(e, doc)


class _Emitter:
    """Names, argument checks, temporaries and the text of one generated function."""

    def __init__(self, target: Target, symbols: dict[str, Sym], name: str) -> None:
        self.t = target
        self.symbols = symbols
        plain = {n for n in symbols if not keyword.iskeyword(n)}
        # the user's names and the function's first, so that nothing generated can clash with them
        self.name = py_name(name)
        self.float_shadowed = "float" in plain or self.name == "float"
        self.namer = Namer(plain | {"float", self.name})
        self.argnames = {n: (n if n in plain else self.namer.fresh(n)) for n in symbols}
        self.mod = self.namer.fresh(target.alias)
        self.helper_names: dict[str, str] = {}
        self.dim_vars: dict[str, str] = {}
        self.dim_origin: dict[str, str] = {}

    # -- names ----------------------------------------------------------------------------------
    def helper(self, h: str) -> str:
        if h == "commutation":
            self.helper("commutation_perm")
        if h not in self.helper_names:
            self.helper_names[h] = self.namer.fresh(h)
        return self.helper_names[h]

    def dim(self, d: object) -> str:
        """The run-time size of a symbolic dimension, from the variables read off the arrays."""
        if d == 1:
            return "1"
        key = str(d)
        if key in self.dim_vars:
            return self.dim_vars[key]
        parts = key.split("*")
        missing = [p for p in parts if p not in self.dim_vars]
        if missing:
            raise UsageError(f"cannot generate code: dimension {missing[0]} cannot be read off any argument")
        return " * ".join(self.dim_vars[p] for p in parts)

    # -- argument checks ----------------------------------------------------------------------------
    def arguments(self) -> list[str]:
        """Conversion, rank and dimension checks for every argument; defines the dimension variables."""
        tg, mod = self.t, self.mod
        lines: list[str] = []
        products: list[tuple[str, int, str, str]] = []
        for n, s in self.symbols.items():
            a = self.argnames[n]
            lines.append(f"    {a} = {tg.asarray.format(m=mod, x=a)}")
            if s.is_scalar:
                lines += [f"    assert {a}.ndim == 0 or {a}.shape in ((1,), (1, 1)), "
                          f'f"{a} must be a scalar, got shape {{{a}.shape}}"',
                          f"    {a} = {a}.reshape(())"]
                continue
            if s.is_vector:
                lines += [f"    assert {a}.ndim == 1 or ({a}.ndim == 2 and {a}.shape[1] == 1), "
                          f'f"{a} must be a vector of length {s.shape[0]} (a 1-D array), got shape {{{a}.shape}}"',
                          f"    {a} = {a}.reshape(-1, 1)"]
                positions = [(0, s.shape[0], "entries")]
            else:
                lines.append(f'    assert {a}.ndim == 2, f"{a} must be a 2-D array of shape '
                             f'({s.shape[0]}, {s.shape[1]}), got shape {{{a}.shape}}"')
                positions = [(0, s.shape[0], "rows"), (1, s.shape[1], "columns")]
                if s.shape[0] == s.shape[1] and s.shape[0] != 1:
                    lines.append(f"    assert {a}.shape[0] == {a}.shape[1], "
                                 f'f"{a} must be square, got shape {{{a}.shape}}"')
                    positions = positions[:1]
            for i, d, word in positions:
                if d == 1:
                    if word != "entries":
                        lines.append(f"    assert {a}.shape[{i}] == 1, "
                                     f'f"{a} must have one {word[:-1]}, got shape {{{a}.shape}}"')
                    continue
                key = str(d)
                if "*" in key:
                    products.append((a, i, key, word))
                elif key in self.dim_vars:
                    var = self.dim_vars[key]
                    lines.append(f"    assert {a}.shape[{i}] == {var}, f\"{a} has {{{a}.shape[{i}]}} {word}; "
                                 f'expected {{{var}}}, the size of dimension {key} ({self.dim_origin[key]})"')
                else:
                    var = self.dim_vars[key] = self.namer.fresh("dim_" + key)
                    self.dim_origin[key] = f"the {word} of {a}"
                    lines.append(f"    {var} = {a}.shape[{i}]")
        for a, i, key, word in products:  # dimensions like m*n: checked once their factors are known
            if key not in self.dim_vars and any(p not in self.dim_vars for p in key.split("*")):
                var = self.dim_vars[key] = self.namer.fresh("dim_" + key.replace("*", "_"))
                self.dim_origin[key] = f"the {word} of {a}"
                lines.append(f"    {var} = {a}.shape[{i}]")
                continue
            size = self.dim(key)
            lines.append(f"    assert {a}.shape[{i}] == {size}, f\"{a} has {{{a}.shape[{i}]}} {word}; expected "
                         f'{{{size}}}, the size of dimension {key}"')
        return lines

    # -- the whole function -------------------------------------------------------------------------
    def function(self, e: Expr, doc: str) -> str:
        tg, mod = self.t, self.mod
        functions = code_arguments(e)
        self.namer.taken |= {n for n, _ in functions}
        root, low = _lower(e)
        head = self.arguments()
        temps: dict[int, str] = {}
        for op in _postorder(root):
            if op.kind == "arg":
                temps[id(op)] = self.argnames[op.attr[0]]
        uses = _uses(root)
        for op in _postorder(root):  # a transpose is a view: share its operand instead
            if op.kind == "T" and uses.get(id(op), 0) >= 2:
                uses[id(op.args[0])] = uses.get(id(op.args[0]), 0) + 1
        order = [op for op in _postorder(root)
                 if op is not root and not is_trivial(op) and op.kind != "T"
                 and (uses.get(id(op), 0) >= 2 or id(op) in low.where_names)]
        counter = 0
        for op in order:
            base = low.where_names.get(id(op))
            if base is None:
                base = _temp_base(op, self.argnames)
            if base is None:
                counter += 1
                base = f"t{counter}"
                while base in self.namer.taken:
                    counter += 1
                    base = f"t{counter}"
            temps[id(op)] = self.namer.fresh(base)
        pr = Printer(tg, mod, temps, self.dim, self.helper)
        body = [f"    {temps[id(op)]} = {pr.render(op, defining=True)[0]}" for op in order]
        result, prec = pr.render(root)
        if e.shape == SCALAR:
            if tg.name == "numpy" and self.float_shadowed:
                ret = f"{mod}.float64({result}).item()"
            else:
                ret = tg.scalar_return.format(m=mod, x=result)
        elif root.fname == "vec" and id(root) not in temps:  # vec(Y), flat: Y's columns stacked
            ret = tg.flat.format(pr.text(root.args[0], ATOM))
        elif e.shape[0] == 1 or e.shape[1] == 1:
            ret = f"{result if prec >= ATOM else '(' + result + ')'}.reshape(-1)"
        else:
            ret = result
        lines: list[str] = []
        if tg.name == "jax":
            lines.append("# float64 needs jax.config.update(\"jax_enable_x64\", True); jit-compatible")
        imp = tg.module.format(m=mod, as_m="" if mod == "torch" else f" as {mod}")
        lines += [imp, "", ""]
        for h in ("kron", "commutation_perm", "commutation", "sigmoid", "softmax", "logsumexp"):
            if h in self.helper_names:
                src = tg.helpers[h].format(m=mod, name=self.helper_names[h],
                                           perm=self.helper_names.get("commutation_perm", ""))
                lines += [src, "", ""]
        args = ", ".join([self.argnames[n] for n in self.symbols] + [n for n, _ in functions])
        lines.append(f"def {self.name}({args}):")
        lines += _docstring(doc, self.symbols, self.argnames, e.shape, tg, functions)
        lines += head
        lines += body
        lines.append(f"    return {ret}")
        return "\n".join(lines) + "\n"


def _temp_base(op: Op, argnames: dict[str, str]) -> str | None:
    """A readable name for a temporary, like inv_X or exp_x; None for a numbered one."""
    if op.kind == "call" and op.args and op.args[0].kind == "arg":
        return f"{op.attr[0]}_{argnames[op.args[0].attr[0]]}"
    return None


def to_numpy(e: Expr, symbols: dict[str, Sym], name: str = "f", doc: str = "") -> str:
    """The NumPy source of e: ``to_code(e, symbols, "numpy", name, doc)``."""
    return to_code(e, symbols, "numpy", name, doc)


__all__ = ["to_code", "to_numpy", "py_name", "lower", "Op", "TARGETS"]
