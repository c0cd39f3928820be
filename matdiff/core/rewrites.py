"""The rewrite table: every identity matdiff uses to shorten an expression.

Each entry is one identity, as egg's ``rw!`` lines and Herbie's rules keep
them: a name, the pattern and the result a textbook writes, the guard under
which it holds, and a function that returns the result for a node matching
the pattern (``None`` when the pattern or the guard fails).  The entries are
grouped: transpose, product, Hadamard, Kronecker, diag/vec, element-wise,
reductions, constants.  The engine in :mod:`matdiff.core.rewriting` applies
them; ``tests/test_rewrites.py`` checks every entry numerically on its
example, so an entry is tested the moment it is added.

The constructors of :mod:`matdiff.core.construct` keep only the structural
canonical form (flattening, ordering, numbers folded, identities and zeros
removed, transposes pushed inward, like terms collected); every other
identity is here.

Two kinds of entries: a *node* entry looks at one node (``apply(node)``); a
*chain* entry looks at a matrix product left to right (``apply(factors, i)``
sees the factor ``i`` and those before it and returns ``(j, replacement)``,
meaning the factors ``j … i`` become the replacement), so that a product is
read the way it is written.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Callable

from . import construct as A
from .nodes import (SCALAR, Add, Commutation, Expr, Func, Hadamard, Identity, Kron, MatPow, Mul, Ones,
                    Power, Sym, Transpose)

GROUPS = ("transpose", "product", "Hadamard", "Kronecker", "diag/vec", "element-wise", "reductions",
          "constants")

NodeFn = Callable[[Expr], "Expr | None"]
ChainFn = Callable[[list[Expr], int], "tuple[int, list[Expr]] | None"]


@dataclass(frozen=True, eq=False)
class Rewrite:
    """One identity ``pattern = result``, applied left to right where ``guard`` holds."""

    name: str
    group: str
    pattern: str
    result: str
    guard: str
    node: type  # the node type the pattern is rooted at
    apply: NodeFn | ChainFn = field(repr=False)
    example: str | Callable[[], Expr]  # an expression the entry rewrites, for the table test
    types: dict[str, str] = field(default_factory=dict)  # declarations the example needs
    chain: bool = False  # apply(factors, i) on a matrix product, else apply(node)
    expands: str = ""  # why the result may cost more than the pattern (the engine allows it)

    @property
    def label(self) -> str:
        """What ``--steps`` prints: the name and the identity."""
        identity = f"{self.pattern} = {self.result}"
        return identity if self.name == identity else f"{self.name}: {identity}"


# -- helpers -----------------------------------------------------------------------
def heads(*names: str):
    """Mark a node entry rooted at a function call: it looks only at calls of these names
    (the engine tries it on nothing else)."""
    def mark(fn):
        fn.heads = names
        return fn
    return mark


def _is_func(e: Expr, name: str) -> bool:
    return isinstance(e, Func) and e.name == name


def _is_i_plus_k(e: Expr) -> bool:
    """I + K(n,n): twice the projection onto vec of symmetric matrices."""
    return isinstance(e, Add) and len(e.terms) == 2 and \
        {type(t) for t in e.terms} == {Identity, Commutation} and \
        all(not isinstance(t, Commutation) or t.m == t.n for t in e.terms)


def _is_vec(e: Expr) -> bool:
    """vec(X) of an X free of differentials (identification reads a differential's Kronecker form)."""
    return _is_func(e, "vec") and A.is_diff_free(e.arg)


def _is_one(e: Expr) -> bool:
    return isinstance(e, Ones) or A.is_one(e)


def outer_product(e: Expr) -> tuple[list[Expr], list[Expr], list[Expr]] | None:
    """e = s · L · R with L a column and R a row (a rank-one product): (scalars, L, R), or None."""
    if not isinstance(e, Mul):
        return None
    chain = [f for f in e.factors if not f.is_scalar]
    i = next((i for i, f in enumerate(chain[:-1]) if f.shape[1] == 1), None)
    if i is None:
        return None
    return [f for f in e.factors if f.is_scalar], chain[:i + 1], chain[i + 1:]


# -- transpose ------------------------------------------------------------------------
def _f_of_transpose(name: str) -> NodeFn:
    @heads(name)
    def apply(e: Expr) -> Expr | None:
        if _is_func(e, name) and isinstance(e.arg, Transpose):
            return A.func(name, e.arg.arg)
        return None
    return apply


# -- product ----------------------------------------------------------------------------
@heads("inv")
def _inv_inv(e: Expr) -> Expr | None:
    return e.arg.arg if _is_func(e, "inv") and _is_func(e.arg, "inv") else None


@heads("inv")
def _inv_of_power(e: Expr) -> Expr | None:
    if _is_func(e, "inv") and isinstance(e.arg, MatPow):
        return A.matpow(A.func("inv", e.arg.base), e.arg.k)
    return None


def _rank_one_power(e: Expr) -> Expr | None:
    if not isinstance(e, MatPow):
        return None
    split = outer_product(e.base)
    if split is None:
        return None
    outer, left, right = split
    k = e.k
    return A.mul(*[A.power(f, A.num(k)) for f in outer], A.power(A.mul(*right, *left), A.num(k - 1)),
                 *left, *right)


def _softmax_quotient(e: Expr) -> Expr | None:
    """exp(v) · sum(exp(v))⁻¹ with nothing else in the product but numbers and scalars."""
    if not isinstance(e, Mul) or e.is_scalar:
        return None
    chain = [f for f in e.factors if not f.is_scalar]
    if len(chain) != 1 or not _is_func(chain[0], "exp") or not chain[0].arg.is_vector:
        return None
    norm = A.power(A.func("sum", chain[0]), A.MINUS_ONE)
    scalars = [f for f in e.factors if f.is_scalar]
    if norm not in scalars:
        return None
    scalars.remove(norm)
    return A.mul(*scalars, A.func("softmax", chain[0].arg))


# -- chain entries (matrix products, read left to right) -----------------------------------
def _pair(test: Callable[[Expr, Expr], "list[Expr] | None"]) -> ChainFn:
    """A chain entry for two neighbouring factors prev · f."""
    def apply(fs: list[Expr], i: int) -> tuple[int, list[Expr]] | None:
        if i == 0:
            return None
        out = test(fs[i - 1], fs[i])
        return None if out is None else (i - 1, out)
    return apply


def _roth(prev: Expr, f: Expr) -> list[Expr] | None:
    if isinstance(prev, Kron) and len(prev.factors) == 2 and _is_vec(f):
        (a, b), x = prev.factors, f.arg
        if b.shape[1] == x.shape[0] and a.shape[1] == x.shape[1]:
            return [A.func("vec", A.mul(b, x, A.T(a)))]
    return None


def _roth_row(prev: Expr, f: Expr) -> list[Expr] | None:
    if isinstance(f, Kron) and len(f.factors) == 2 and isinstance(prev, Transpose) and _is_vec(prev.arg):
        (a, b), x = f.factors, prev.arg.arg
        if b.shape[0] == x.shape[0] and a.shape[0] == x.shape[1]:
            return [A.T(A.func("vec", A.mul(A.T(b), x, a)))]
    return None


def _kron_commutation(prev: Expr, f: Expr) -> list[Expr] | None:
    if isinstance(f, Commutation) and isinstance(prev, Kron) and len(prev.factors) == 2 \
            and (f.m, f.n) == (prev.factors[0].shape[1], prev.factors[1].shape[1]):
        a, b = prev.factors
        return [A.commutation(a.shape[0], b.shape[0]), A.kron(b, a)]
    return None


def _i_plus_k_absorbs(prev: Expr, f: Expr) -> list[Expr] | None:
    if isinstance(f, Commutation) and _is_i_plus_k(prev):
        return [prev]
    if _is_i_plus_k(f) and isinstance(prev, Commutation) and prev.m == prev.n:
        return [f]
    return None


def _i_plus_k_around_kron(fs: list[Expr], i: int) -> tuple[int, list[Expr]] | None:
    if i >= 2 and _is_i_plus_k(fs[i]) and _is_i_plus_k(fs[i - 2]) and isinstance(fs[i - 1], Kron):
        b = fs[i - 1]
        if len(b.factors) == 2 and b.factors[0] == b.factors[1] and b.factors[0].is_square:
            return i - 2, [A.num(2), b, fs[i]]
    return None


def _ones_commutation(prev: Expr, f: Expr) -> list[Expr] | None:
    if isinstance(f, Commutation) and isinstance(prev, Ones) and prev.shape[0] == 1:
        return [prev]
    return None


def _ones_i_plus_k(prev: Expr, f: Expr) -> list[Expr] | None:
    if _is_i_plus_k(f) and isinstance(prev, Ones) and prev.shape[0] == 1:
        return [A.num(2), prev]
    return None


def _commutation_ones(prev: Expr, f: Expr) -> list[Expr] | None:
    if isinstance(prev, Commutation) and isinstance(f, Ones) and f.shape[1] == 1:
        return [f]
    return None


def _row_diag(prev: Expr, f: Expr) -> list[Expr] | None:
    if _is_func(f, "diagm") and prev.shape[0] == 1 and not _is_func(prev, "diagm"):
        return [A.T(A.had(f.arg, A.T(prev)))]
    return None


def _diag_column(prev: Expr, f: Expr) -> list[Expr] | None:
    if _is_func(prev, "diagm") and f.shape[1] == 1:
        return [A.had(prev.arg, f)]
    return None


def _diag_diag(prev: Expr, f: Expr) -> list[Expr] | None:
    if _is_func(prev, "diagm") and _is_func(f, "diagm"):
        return [A.func("diagm", A.had(prev.arg, f.arg))]
    return None


def _i_plus_k_power(e: Expr) -> Expr | None:
    if isinstance(e, MatPow) and _is_i_plus_k(e.base) and e.k > 1:
        return A.mul(A.num(2 ** (e.k - 1)), e.base)
    return None


# -- Hadamard -------------------------------------------------------------------------
def _one_plus_exp(b: Expr) -> Expr | None:
    """v when b = 1 + exp(v) (the 1 broadcast), else None."""
    if isinstance(b, Add) and len(b.terms) == 2:
        one, other = (b.terms if _is_one(b.terms[0]) else b.terms[::-1])
        if _is_one(one) and _is_func(other, "exp"):
            return other.arg
    return None


def _logistic_reciprocal(e: Expr) -> Expr | None:
    if isinstance(e, Power) and not e.is_scalar and e.exp == A.MINUS_ONE:
        v = _one_plus_exp(e.base)
        if v is not None:
            return A.func("sigmoid", A.neg(v))
    return None


def _exp_times_logistic(e: Expr) -> Expr | None:
    if not isinstance(e, Hadamard):
        return None
    fs = list(e.factors)
    for s in fs:
        if _is_func(s, "sigmoid"):
            x = A.func("exp", A.neg(s.arg))
            if x in fs and fs.count(x) == 1 and fs.count(s) == 1:
                fs.remove(x)
                fs.remove(s)
                return A.had(*fs, A.func("sigmoid", x.arg))
    return None


def _kinked_pair(keep: str, drop: str) -> NodeFn:
    def apply(e: Expr) -> Expr | None:
        if not isinstance(e, Hadamard):
            return None
        fs = list(e.factors)
        for b in fs:
            if _is_func(b, keep) and fs.count(b) == 1:
                partner = A.func(drop, b.arg)
                if fs.count(partner) == 1:
                    fs.remove(partner)
                    if keep == "abs":
                        fs[fs.index(b)] = b.arg
                    return A.had(*fs)
        return None
    return apply


# -- Kronecker ------------------------------------------------------------------------
def _multiplicative_on_kron(name: str) -> NodeFn:
    @heads(name)
    def apply(e: Expr) -> Expr | None:
        if _is_func(e, name) and isinstance(e.arg, Kron) and (
                name != "tr" or all(f.is_square for f in e.arg.factors)):
            return A.mul(*[A.func(name, f) for f in e.arg.factors])
        return None
    return apply


# -- diag/vec -------------------------------------------------------------------------
@heads("diagv")
def _diag_of_outer(e: Expr) -> Expr | None:
    if _is_func(e, "diagv"):
        split = outer_product(e.arg)
        if split is not None:
            outer, left, right = split
            return A.mul(*outer, A.had(A.mul(*left), A.T(A.mul(*right))))
    return None


@heads("diagv")
def _diag_of_diag(e: Expr) -> Expr | None:
    return e.arg.arg if _is_func(e, "diagv") and _is_func(e.arg, "diagm") else None


@heads("sum")
def _sum_of_vec(e: Expr) -> Expr | None:
    return A.func("sum", e.arg.arg) if _is_func(e, "sum") and _is_func(e.arg, "vec") else None


def diag_terms(e: Expr, inner: Callable[[Expr], Expr] = lambda x: x) -> Expr | None:
    """α diag(a) + β diag(b) + R = diag(α a + β b) + R, or None with fewer than two diagonals;
    ``inner`` rewrites the new argument α a + β b (the simplifier factors it)."""
    if not isinstance(e, Add):
        return None
    inside, outside = [], []
    for t in e.terms:
        c, core = A.split_coef(t)
        outer, rest = A.split_scalars(core)
        if _is_func(rest, "diagm"):
            inside.append(A.mul(A.num(c), *outer, rest.arg))
        else:
            outside.append(t)
    if len(inside) < 2:
        return None
    return A.add(A.func("diagm", inner(A.add(*inside))), *outside)


# -- element-wise ---------------------------------------------------------------------
def _one_minus_logistic(e: Expr) -> Expr | None:
    if not isinstance(e, Add):
        return None
    out = list(e.terms)
    one = next((i for i, t in enumerate(out) if _is_one(t)), None)
    if one is None:
        return None
    for i, t in enumerate(out):
        c, core = A.split_coef(t)
        if c == -1 and _is_func(core, "sigmoid"):
            out[one] = A.func("sigmoid", A.neg(core.arg))
            del out[i]
            return A.add(*out)
    return None


def logistic_pairs(e: Expr) -> Expr | None:
    """c R ⊙ σ(v) + c R ⊙ σ(−v) = c R, since σ(v) + σ(−v) = 1; None when no pair is found."""
    if not isinstance(e, Add):
        return None
    index: dict[tuple[Fraction, Expr, Expr], int] = {}
    out: list[Expr | None] = list(e.terms)
    for i, t in enumerate(e.terms):
        c, core = A.split_coef(t)
        factors = core.factors if isinstance(core, Hadamard) else (core,)
        for f in factors:
            if _is_func(f, "sigmoid"):
                rest = [g for g in factors if g is not f]
                key_rest = A.had(*rest) if rest else A.ones(core.shape)
                partner = index.get((c, key_rest, A.neg(f.arg)))
                if partner is not None and out[partner] is not None:
                    out[partner] = None
                    out[i] = A.scale(c, key_rest)
                    break
                index[(c, key_rest, f.arg)] = i
    if all(o is not None for o in out):
        return None
    return A.add(*[o for o in out if o is not None])


@heads("sign")
def _sign_sign(e: Expr) -> Expr | None:
    return e.arg if _is_func(e, "sign") and _is_func(e.arg, "sign") else None


@heads("log")
def _log_exp(e: Expr) -> Expr | None:
    return e.arg.arg if _is_func(e, "log") and _is_func(e.arg, "exp") else None


@heads("log")
def _log_softmax(e: Expr) -> Expr | None:
    """Also log(softmax(z)ᵀ) = (z − logsumexp(z) 𝟙)ᵀ: the transpose of log ∘ softmax is pushed inside."""
    if not _is_func(e, "log"):
        return None
    a = e.arg.arg if isinstance(e.arg, Transpose) else e.arg
    if _is_func(a, "softmax"):
        z = a.arg
        out = A.sub(z, A.func("logsumexp", z))
        return A.T(out) if isinstance(e.arg, Transpose) else out
    return None


@heads("log")
def _log_sum_exp(e: Expr) -> Expr | None:
    if _is_func(e, "log") and e.is_scalar and _is_func(e.arg, "sum") and _is_func(e.arg.arg, "exp") \
            and e.arg.arg.arg.is_vector:
        return A.func("logsumexp", e.arg.arg.arg)
    return None


# -- reductions -----------------------------------------------------------------------
@heads("tr")
def _trace_of_rank_one(e: Expr) -> Expr | None:
    if _is_func(e, "tr") and isinstance(e.arg, Mul) and not e.arg.is_scalar:
        chain = list(e.arg.factors)
        if any(f.is_scalar for f in chain):
            return None
        for i, f in enumerate(chain):
            if f.shape[1] == 1:  # tr(L u R) = R L u
                return A.mul(*chain[i + 1:], *chain[:i + 1])
            if f.shape[0] == 1:  # tr(L vᵀ R) = vᵀ R L
                return A.mul(*chain[i:], *chain[:i])
    return None


@heads("norm1", "norm2")
def _norm_of_multiple(e: Expr) -> Expr | None:
    if isinstance(e, Func) and e.name in ("norm1", "norm2"):
        outer, inner = A.split_scalars(e.arg)
        if outer:
            return A.mul(*[A.func("abs", f) for f in outer], A.func(e.name, inner))
    return None


def _ones_reduce(row: bool) -> NodeFn:
    """𝟙ₘₓₖ R = sum(R) 𝟙ₘ for a product that is a column; R 𝟙ₖₓₙ = sum(R) 𝟙ᵀₙ for one that is a row."""
    def apply(e: Expr) -> Expr | None:
        if not isinstance(e, Mul):
            return None
        scalars = [f for f in e.factors if f.is_scalar]
        chain = [f for f in e.factors if not f.is_scalar]
        if e.is_scalar and not scalars:
            scalars, chain = [], list(e.factors)
        if len(chain) < 2:
            return None
        ones = [Ones(e.shape)] if e.shape != SCALAR else []
        if not row and e.shape[1] == 1 and isinstance(chain[0], Ones):
            return A.mul(*scalars, A.func("sum", A.mul(*chain[1:])), *ones)
        if row and e.shape[0] == 1 and isinstance(chain[-1], Ones):
            return A.mul(*scalars, A.func("sum", A.mul(*chain[:-1])), *ones)
        return None
    return apply


# -- constants ------------------------------------------------------------------------
def _func_of(name: str, leaf: type, value: Callable[[Expr], Expr]) -> NodeFn:
    @heads(name)
    def apply(e: Expr) -> Expr | None:
        return value(e.arg) if _is_func(e, name) and isinstance(e.arg, leaf) else None
    return apply


@heads("sum")
def _sum_of_probability(e: Expr) -> Expr | None:
    if _is_func(e, "sum") and isinstance(e.arg, Sym) and e.arg.probability:
        return A.ONE
    return None


def _sum_of_softmax(e: Expr) -> Expr | None:
    return A.ONE if _is_func(e, "sum") and _is_func(e.arg, "softmax") else None


# -- the builders of examples that have no syntax (the commutation matrix K) ------------------
def _sym(name: str, rows, cols) -> Sym:
    return Sym(name, (rows, cols))


def _k_example(build: Callable[[], list[Expr]]) -> Callable[[], Expr]:
    """A product written with K, which the language cannot spell."""
    return lambda: A.mul(*build())


def _ipk(n: str) -> Expr:
    return A.add(Identity((A.dim_mul(n, n), A.dim_mul(n, n))), A.commutation(n, n))


_SUMS = "one sum of k numbers instead of a product with a matrix of ones"


# -- the table ----------------------------------------------------------------------------
R = Rewrite
TABLE: tuple[Rewrite, ...] = (
    # transpose
    R("trace of a transpose", "transpose", "tr(Aᵀ)", "tr(A)", "A square", Func,
      _f_of_transpose("tr"), "tr(X')"),
    R("determinant of a transpose", "transpose", "det(Aᵀ)", "det(A)", "A square", Func,
      _f_of_transpose("det"), "det(X')"),
    R("log-determinant of a transpose", "transpose", "log|det(Aᵀ)|", "log|det(A)|", "A square", Func,
      _f_of_transpose("logdet"), "logdet(X')"),
    R("diagonal of a transpose", "transpose", "diag(Aᵀ)", "diag(A)", "A square", Func,
      _f_of_transpose("diagv"), "diag(X')"),
    R("sum of a transpose", "transpose", "sum(Aᵀ)", "sum(A)", "", Func, _f_of_transpose("sum"), "sum(X')"),
    R("norm of a transpose", "transpose", "‖Aᵀ‖", "‖A‖", "Frobenius or entry-wise", Func,
      _f_of_transpose("norm2"), "norm2(X')"),
    R("entry-wise norm of a transpose", "transpose", "‖Aᵀ‖₁", "‖A‖₁", "", Func,
      _f_of_transpose("norm1"), "norm1(X')"),
    # product
    R("inverse of the inverse", "product", "inv(inv(A))", "A", "A invertible", Func, _inv_inv,
      "inv(inv(X))"),
    R("inverse of a power", "product", "inv(Xᵏ)", "inv(X)ᵏ", "X invertible", Func, _inv_of_power,
      "inv(X^3)"),
    R("power of a rank-one matrix", "product", "(s u vᵀ)ᵏ", "sᵏ (vᵀu)ᵏ⁻¹ u vᵀ", "u a column, vᵀ a row",
      MatPow, _rank_one_power, "(x*y')^3", expands="a power of a rank-one matrix is one inner product"),
    R("softmax", "product", "exp(v) / sum(exp(v))", "softmax(v)", "v a vector", Mul, _softmax_quotient,
      "exp(x)/sum(exp(x))"),
    # Hadamard
    R("logistic function", "Hadamard", "1 ./ (1 + exp(v))", "σ(−v)", "v an array", Power,
      _logistic_reciprocal, "1 ./ (1 + exp(X))"),
    R("logistic function", "Hadamard", "exp(v) ⊙ σ(−v)", "σ(v)", "", Hadamard, _exp_times_logistic,
      "exp(X) .* sigmoid(-X)"),
    R("relu ⊙ step", "Hadamard", "relu(u) ⊙ step(u)", "relu(u)", "also at 0 (step(0) = 0)", Hadamard,
      _kinked_pair("relu", "step"), lambda: A.had(A.func("relu", _sym("X", "m", "n")),
                                                   A.func("step", _sym("X", "m", "n")))),
    R("abs ⊙ sign", "Hadamard", "abs(u) ⊙ sign(u)", "u", "also at 0", Hadamard,
      _kinked_pair("abs", "sign"), "abs(X) .* sign(X)"),
    # Kronecker
    R("Roth's column lemma", "Kronecker", "(A ⊗ B) vec X", "vec(B X Aᵀ)", "X conforms; not on a differential",
      Mul, _pair(_roth), lambda: A.mul(A.kron(_sym("A", "m", "n"), _sym("B", "p", "q")),
                                       A.func("vec", _sym("X", "q", "n"))), chain=True),
    R("Roth's column lemma, rows", "Kronecker", "vec(X)ᵀ (A ⊗ B)", "vec(Bᵀ X A)ᵀ",
      "X conforms; not on a differential", Mul, _pair(_roth_row),
      lambda: A.mul(A.T(A.func("vec", _sym("X", "p", "m"))), A.kron(_sym("A", "m", "n"), _sym("B", "p", "q"))),
      chain=True),
    R("commutation through a Kronecker product", "Kronecker", "(A ⊗ B) K(n,q)", "K(m,p) (B ⊗ A)",
      "A m×n, B p×q", Mul, _pair(_kron_commutation),
      _k_example(lambda: [A.kron(_sym("A", "m", "n"), _sym("B", "p", "q")), A.commutation("n", "q")]),
      chain=True),
    R("symmetrizer absorbs K", "Kronecker", "(I + K) K", "I + K", "K = K(n,n), so K² = I", Mul,
      _pair(_i_plus_k_absorbs), _k_example(lambda: [_ipk("n"), A.commutation("n", "n"), _sym("A", "n*n", "m")]),
      chain=True),
    R("symmetrizer around B ⊗ B", "Kronecker", "(I + K)(B ⊗ B)(I + K)", "2 (B ⊗ B)(I + K)",
      "B square: K commutes with B ⊗ B", Mul, _i_plus_k_around_kron,
      _k_example(lambda: [_ipk("n"), A.kron(_sym("B", "n", "n"), _sym("B", "n", "n")), _ipk("n")]),
      chain=True),
    R("power of the symmetrizer", "Kronecker", "(I + K)ᵏ", "2ᵏ⁻¹ (I + K)", "K = K(n,n), so K² = I", MatPow,
      _i_plus_k_power, _k_example(lambda: [A.matpow(_ipk("n"), 2), _sym("x", "n*n", 1)])),
    R("K permutes", "Kronecker", "𝟙ᵀ K", "𝟙ᵀ", "", Mul, _pair(_ones_commutation),
      _k_example(lambda: [A.T(Ones(("m*n", 1))), A.commutation("m", "n"), _sym("x", "m*n", 1)]), chain=True),
    R("K permutes", "Kronecker", "𝟙ᵀ (I + K)", "2 𝟙ᵀ", "", Mul, _pair(_ones_i_plus_k),
      _k_example(lambda: [A.T(Ones(("n*n", 1))), _ipk("n"), _sym("x", "n*n", 1)]), chain=True),
    R("K permutes", "Kronecker", "K 𝟙", "𝟙", "", Mul, _pair(_commutation_ones),
      _k_example(lambda: [_sym("A", "p", "m*n"), A.commutation("m", "n"), Ones(("m*n", 1))]), chain=True),
    R("trace of a Kronecker product", "Kronecker", "tr(A ⊗ B)", "tr(A) tr(B)", "A, B square", Func,
      _multiplicative_on_kron("tr"), "tr(kron(X, Y))"),
    R("sum of a Kronecker product", "Kronecker", "sum(A ⊗ B)", "sum(A) sum(B)", "", Func,
      _multiplicative_on_kron("sum"), "sum(kron(X, Y))"),
    R("norm of a Kronecker product", "Kronecker", "‖A ⊗ B‖", "‖A‖ ‖B‖", "", Func,
      _multiplicative_on_kron("norm2"), "norm2(kron(X, Y))"),
    R("entry-wise norm of a Kronecker product", "Kronecker", "‖A ⊗ B‖₁", "‖A‖₁ ‖B‖₁", "", Func,
      _multiplicative_on_kron("norm1"), "norm1(kron(X, Y))"),
    # diag/vec
    R("a row times a diagonal", "diag/vec", "wᵀ diag(a)", "(a ⊙ w)ᵀ", "w a row", Mul, _pair(_row_diag),
      "y'*diag(x)", chain=True),
    R("diagonal times a column", "diag/vec", "diag(a) w", "a ⊙ w", "w a column", Mul, _pair(_diag_column),
      "diag(x)*y", chain=True),
    R("product of diagonals", "diag/vec", "diag(a) diag(b)", "diag(a ⊙ b)", "", Mul, _pair(_diag_diag),
      "diag(x)*diag(y)*A", chain=True),
    R("diagonal of a diagonal matrix", "diag/vec", "diag(diag(a))", "a", "a a vector", Func, _diag_of_diag,
      "diag(diag(x))"),
    R("diagonal of an outer product", "diag/vec", "diag(s u vᵀ)", "s u ⊙ v", "u, v columns", Func,
      _diag_of_outer, "diag(x*y')"),
    R("sum of a vec", "diag/vec", "sum(vec(A))", "sum(A)", "", Func, _sum_of_vec, "sum(vec(X))"),
    R("diag is linear", "diag/vec", "α diag(a) + β diag(b)", "diag(α a + β b)", "", Add, diag_terms,
      "2*diag(x) - diag(y) + A"),
    # element-wise
    R("logistic function", "element-wise", "1 − σ(v)", "σ(−v)", "", Add, _one_minus_logistic,
      "1 - sigmoid(X)"),
    R("logistic function", "element-wise", "R ⊙ σ(v) + R ⊙ σ(−v)", "R", "", Add, logistic_pairs,
      "X .* sigmoid(Y) + X .* sigmoid(-Y)"),
    R("sign of a sign", "element-wise", "sign(sign(u))", "sign(u)", "", Func, _sign_sign, "sign(sign(X))"),
    R("log of exp", "element-wise", "log(exp(u))", "u", "", Func, _log_exp, "log(exp(X))"),
    R("log of softmax", "element-wise", "log(softmax(z))", "z − logsumexp(z) 𝟙", "z a vector", Func,
      _log_softmax, "log(softmax(x))", expands="its derivative is shorter than that of log ∘ softmax"),
    R("logsumexp", "element-wise", "log(sum(exp(v)))", "logsumexp(v)", "v a vector", Func, _log_sum_exp,
      "log(sum(exp(x)))"),
    # reductions
    R("trace of a rank-one product", "reductions", "tr(L u R)", "R L u", "u a column (or a row)", Func,
      _trace_of_rank_one, "tr(A*x*y'*B)"),
    R("sum by ones", "reductions", "𝟙ₘₓₖ v", "sum(v) 𝟙ₘ", "the product a column", Mul,
      _ones_reduce(False), "matrix(1)*A*x + y", expands=_SUMS),
    R("sum by ones", "reductions", "vᵀ 𝟙ₖₓₙ", "sum(vᵀ) 𝟙ᵀₙ", "the product a row", Mul,
      _ones_reduce(True), "x'*A*matrix(1) + y'", expands=_SUMS),
    R("homogeneity of norms", "reductions", "‖c A‖", "|c| ‖A‖", "c a scalar", Func, _norm_of_multiple,
      "norm2(alpha*X)",
      expands="the scalar stands outside, as a textbook writes it"),
    # constants
    R("trace of the identity", "constants", "tr(Iₙ)", "n", "", Func,
      _func_of("tr", Identity, lambda a: A.DimSize(a.shape[0])), "tr(I + 0*X)"),
    R("determinant of the identity", "constants", "det(I)", "1", "", Func,
      _func_of("det", Identity, lambda a: A.ONE), "det(I + 0*X)"),
    R("log-determinant of the identity", "constants", "log|det(I)|", "0", "", Func,
      _func_of("logdet", Identity, lambda a: A.num(0)), "logdet(I + 0*X) + tr(X)"),
    R("sum of ones", "constants", "sum(𝟙ₘₓₙ)", "m n", "", Func,
      _func_of("sum", Ones, lambda a: A.DimSize(A.dim_mul(*a.shape))), "sum(matrix(1) + 0*X)*X"),
    R("sum of a probability vector", "constants", "sum(p)", "1", "p declared a probability vector", Func,
      _sum_of_probability, "sum(p)*x", types={"p": "probability"}),
    R("sum of softmax", "constants", "sum(softmax(z))", "1", "z a vector", Func, _sum_of_softmax,
      "sum(softmax(x))*y"),
    R("diagonal of ones", "constants", "diag(𝟙)", "I", "", Func,
      _func_of("diagm", Ones, lambda a: Identity((a.shape[0], a.shape[0]))), "diag(vector(1))*A"),
    R("diagonal of the identity", "constants", "diag(I)", "𝟙", "", Func,
      _func_of("diagv", Identity, lambda a: Ones((a.shape[0], 1))), "diag(I + 0*X)"),
)


def by_name(name: str) -> list[Rewrite]:
    """The entries called ``name`` (several identities may share a name)."""
    return [r for r in TABLE if r.name == name]


__all__ = ["Rewrite", "TABLE", "GROUPS", "by_name", "diag_terms", "logistic_pairs", "outer_product"]
