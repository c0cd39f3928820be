"""Lowering of an expression tree to a graph of array operations, for code generation.

The tree is lowered to a small graph of array operations (:class:`Op`,
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
* ``det(A) inv(A)`` → ``adjugate(A)`` (by the SVD: finite where A is singular);
* matrix chains of three or more factors → ``multi_dot`` (its order is chosen
  from the array sizes at run time), except a chain ending in a column: matrix–vector
  products from the right, so that a suffix the expression uses elsewhere (A v in
  sᵀ A v and s ⊙ A v) is computed once.

The graph is printed by :mod:`.emit` in the spelling of a :mod:`.targets` entry.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from ...core import construct as A
from ...core.rewrites import diag_terms
from ...core.nodes import (SCALAR, Add, Commutation, DimSize, Expr, Func, Hadamard, Identity, Kron,
                  MatPow, Mul, Num, Ones, Power, Shape, Sym, Transpose, Unvec, Where, Zero, Group)
from ...core.declared import Declared, callable_name
from ...errors import UsageError
from ..evaluate import adjugate_pair

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

    def _Group(self, e: Group) -> Op:
        return self.lower(e.arg)

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
        pair = adjugate_pair(e)  # det(M)·M⁻¹ = adj(M), finite where M is singular
        for i, f in enumerate(e.factors):
            if pair is not None and i == pair[0]:
                continue
            if pair is not None and i == pair[1]:
                adj = self.call("adjugate", self.lower(e.factors[pair[0]].arg), shape=f.shape)
                chain.append(self.T(adj) if pair[2] else adj)
            elif isinstance(f, Num):
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
        if fs[-1].shape[1] == 1:  # … @ v: matrix–vector products from the right, a recurring suffix shared
            w = fs[-1]
            for f in reversed(fs[:-1]):
                w = self.mk("matmul", (f, w), (), (f.shape[0], 1))
            return w
        if len(fs) > LONG_CHAIN:  # multi_dot's ordering is cubic in the length: halves instead
            h = len(fs) // 2
            left, right = self.chain(fs[:h]), self.chain(fs[h:])
            return self.mk("matmul", (left, right), (), shape)
        return self.mk("multidot", tuple(fs), (), shape)


LONG_CHAIN = 8
"""Chains longer than this are multiplied as a balanced tree of multi_dot calls."""


def _is_ones_multiple(core: Expr) -> bool:
    """core is 𝟙 or (scalars)·𝟙."""
    if isinstance(core, Ones):
        return True
    if isinstance(core, Mul):
        chain = [f for f in core.factors if not f.is_scalar]
        return len(chain) == 1 and isinstance(chain[0], Ones)
    return False


def _merge_diagonals(e: Add) -> Expr | None:
    """Σ cᵢ diag(vᵢ) = diag(Σ cᵢ vᵢ) when every term is diagonal (the rewrite table's
    "diag is linear"), so that a chain can broadcast it."""
    merged = diag_terms(e)
    return merged if isinstance(merged, Func) and merged.name == "diagm" else None


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
    roots, low = lower_many([e])
    return roots[0], low


def lower_many(exprs: list[Expr]) -> tuple[list[Op], Lowering]:
    """The graphs of several expressions in one lowering (a part they share is one node).
    A first pass finds which inverses are needed as matrices (outside a product); the
    second uses solve only for the others and multiplies by the computed inverse there."""
    low = Lowering()
    roots = [low.lower(e) for e in exprs]
    keep = {id(op.args[0]) for root in roots for op in postorder(root) if op.fname == "inv"}
    if keep:
        low.materialised_inv = keep
        low.reset()
        roots = [low.lower(e) for e in exprs]
    return roots, low


def postorder(root: Op) -> list[Op]:
    """Every node of the graph once, operands before the nodes that use them."""
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


def use_counts(root: Op) -> dict[int, int]:
    """How many parents use each node (each parent counted once per operand)."""
    uses: dict[int, int] = {}
    for op in postorder(root):
        for a in op.args:
            uses[id(a)] = uses.get(id(a), 0) + 1
    return uses


__all__ = ["Op", "lower", "lower_many", "postorder", "use_counts", "is_trivial", "TRIVIAL"]
