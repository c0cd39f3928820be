"""The differential identities: one rule per operator and function.

A rule maps a node to its differential, written with ``d(child)`` for the
children; the driver in :mod:`matdiff.differential` either expands those at
once (the fast path) or one rule at a time (for ``--steps``).  The rules of
the functions are read from their records in :mod:`matdiff.core.catalogue`
(f′ of an element-wise function, d f of the others).  Every rule is
checked against finite differences by ``tests/test_rules.py``, which walks
this table.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..core import construct as A
from ..core.catalogue import CATALOGUE, Function
from ..core.nodes import Add, Expr, Func, Group, Hadamard, Kron, MatPow, Mul, Power, Transpose, Unvec
from ..core.declared import Declared
from ..errors import UnsupportedError
from . import declared as declared_functions

Dfn = Callable[[Expr], Expr]
"""d: the differential of a child (Zero when it does not depend on the variable)."""

@dataclass(frozen=True)
class Rule:
    """A named differential identity: ``identity`` is what a textbook writes."""

    name: str
    identity: str
    apply: Callable[[Expr, Dfn], Expr]
    example: str  # an expression that exercises the rule, for the rule tests
    wrt: str = "X"


SHARED_PRODUCT_MIN = 8
"""From this many factors that depend on the variable, the terms of the product rule share
their prefixes and suffixes (:class:`~matdiff.core.nodes.Group`): linear, not quadratic, in k."""


def _sum_over(parts: tuple[Expr, ...], d: Dfn, build: Callable[..., Expr]) -> Expr:
    """Σᵢ build(p₁, …, dpᵢ, …, pₖ): the product rule for any product."""
    dps = [d(p) for p in parts]
    hits = [i for i, dp in enumerate(dps) if not A.is_zero(dp)]
    if not hits:
        return A.zero(build(*parts).shape)
    if len(hits) >= SHARED_PRODUCT_MIN and build in (A.mul, A.had):
        return _sum_over_shared(parts, dps, hits, build)
    return A.add(*[build(*parts[:i], dps[i], *parts[i + 1:]) for i in hits])


def _grouped(build: Callable[..., Expr], factors: list[Expr]) -> Expr | None:
    """The product of ``factors`` kept whole (None when there are none)."""
    if not factors:
        return None
    if len(factors) == 1:
        return factors[0]
    p = build(*factors)
    return Group(p, p.shape) if isinstance(p, (Mul, Hadamard)) else p


def _sum_over_shared(parts: tuple[Expr, ...], dps: list[Expr], hits: list[int],
                     build: Callable[..., Expr]) -> Expr:
    """d(F₁⋯F_k) = Σᵢ Pᵢ₋₁ dFᵢ Sᵢ₊₁ with Pᵢ = Pᵢ₋₁ ⋯ Fᵢ and Sᵢ = Fᵢ ⋯ Sᵢ₊₁ each built once."""
    prefix: dict[int, Expr | None] = {}
    acc: Expr | None = None
    last = 0
    for i in hits:
        acc = _grouped(build, ([acc] if acc is not None else []) + list(parts[last:i]))
        prefix[i], last = acc, i
    suffix: dict[int, Expr | None] = {}
    acc, last = None, len(parts)
    for i in reversed(hits):
        acc = _grouped(build, list(parts[i + 1:last]) + ([acc] if acc is not None else []))
        suffix[i], last = acc, i + 1
    return A.add(*[build(*[x for x in (prefix[i], dps[i], suffix[i]) if x is not None]) for i in hits])


MAX_EXPANDED_POWER = 64
"""The largest k for which d(Xᵏ) is written out as its k terms (as the index stage writes
Xᵏ as k factors); tr(Xᵏ) is differentiated in closed form for every k."""


def _d_matpow(e: MatPow, d: Dfn) -> Expr:
    """d(Xᵏ) = Σᵢ Xⁱ dX Xᵏ⁻¹⁻ⁱ."""
    if e.k > MAX_EXPANDED_POWER:
        k = str(e.k) if e.k < 10**12 else f"about 10^{int(e.k.bit_length() * 0.30103)}"
        raise UnsupportedError(f"the differential of a matrix power with exponent {k} has {k} terms "
                               f"Xⁱ dX Xᵏ⁻¹⁻ⁱ; matdiff writes it out for exponents up to {MAX_EXPANDED_POWER} "
                               "(the trace of a power, tr(Xᵏ), has a closed form for every k)", node=e)
    dX = d(e.base)
    return A.add(*[A.mul(A.matpow(e.base, i), dX, A.matpow(e.base, e.k - 1 - i)) for i in range(e.k)])


def _big_power(e: Expr) -> bool:
    return isinstance(e, MatPow) and e.k > MAX_EXPANDED_POWER


def _trace_of_big_power(e: Expr) -> bool:
    """tr(Bᵏ), or the trace of a sum with such a term (c Bᵏ + …), for k above MAX_EXPANDED_POWER."""
    if not (isinstance(e, Func) and e.name == "tr"):
        return False
    terms = e.arg.terms if isinstance(e.arg, Add) else (e.arg,)
    return any(_big_power(A.split_scalars(t)[1]) for t in terms)


def _d_trace_power(e: Func, d: Dfn) -> Expr:
    """d tr(Bᵏ) = Σᵢ tr(Bⁱ dB Bᵏ⁻¹⁻ⁱ) = k tr(Bᵏ⁻¹ dB), by cyclicity of the trace; the trace of a sum
    term by term (tr(A + B) = tr A + tr B), so that each power meets this rule."""
    p = e.arg
    if isinstance(p, Add):
        return A.add(*[d(A.func("tr", t)) for t in p.terms])
    return A.mul(A.num(p.k), A.func("tr", A.mul(A.matpow(p.base, p.k - 1), d(p.base))))


def _d_power(e: Power, d: Dfn) -> Expr:
    """d(A.^p) = p A.^(p−1) ⊙ dA + (log A ⊙ A.^p) dp."""
    a, p = e.base, e.exp
    da, dp = d(a), d(p)
    out = A.had(A.mul(p, A.power(a, A.add(p, A.MINUS_ONE))), da) if not A.is_zero(da) else A.zero(e.shape)
    if not A.is_zero(dp):
        out = A.add(out, A.mul(A.had(A.func("log", a), e), dp))
    return out


# -- functions: the catalogue's records --------------------------------------------
ELEMENTWISE_DERIVATIVE: dict[str, tuple[str, Callable[[Expr], Expr]]] = {
    f.name: (f.derivative, lambda a, f=f: f.fprime(A, a)) for f in CATALOGUE if f.fprime is not None}
"""f′ as an expression of the argument, for each element-wise function: d f(A) = f′(A) ⊙ dA."""


def _d_func(e: Func, d: Dfn) -> Expr:
    a = e.arg
    if e.name in ELEMENTWISE_DERIVATIVE:
        return _chained(ELEMENTWISE_DERIVATIVE[e.name][1](a), d(a))
    return FUNCTION_RULES[e.name].apply(e, d)


def _prefix_kept_whole(da: Expr) -> Expr:
    """da = J₁⋯Jₖ dx with the Jacobians of a nest of vector functions in front: once that prefix
    is long it is kept whole (a Group), so that the next level's J₀ (J₁⋯Jₖ) dx extends it
    instead of writing the whole chain out again at every level."""
    if not isinstance(da, Mul):
        return da
    fs = da.factors
    n = next((i for i, f in enumerate(fs) if A.has_differential(f)), len(fs))
    if n == len(fs) or not (n + 1 >= SHARED_PRODUCT_MIN or (n and isinstance(fs[n - 1], Group))):
        return da
    head = [f for f in fs[:n] if not f.is_scalar]
    if len(head) < 2 and not any(isinstance(f, Group) for f in head):
        return da
    return A.mul(*[f for f in fs[:n] if f.is_scalar], _grouped(A.mul, head), *fs[n:])


def _chained(fprime: Expr, da: Expr) -> Expr:
    """f′(a) ⊙ da.  Through a nest tₖ = f(tₖ₋₁) the factors multiply up, dtₖ = Dₖ ⊙ dx with
    Dₖ = f′(tₖ₋₁) ⊙ Dₖ₋₁: once Dₖ is long it is kept whole (a Group), so that each Dₖ is built
    once from the one before, not written out again at every level."""
    if isinstance(da, Hadamard):
        consts = [f for f in da.factors if not A.has_differential(f)]
        if consts and (len(consts) + 1 >= SHARED_PRODUCT_MIN or any(isinstance(f, Group) for f in consts)):
            rest = [f for f in da.factors if A.has_differential(f)]
            return A.had(_grouped(A.had, [fprime] + consts), *rest)
    return A.had(fprime, da)


def _through(f: Function) -> Callable[[Expr, Dfn], Expr]:
    """The catalogue's differential of f, its argument's differential with a long prefix kept whole."""
    def apply(e: Expr, d: Dfn) -> Expr:
        a = e.arg
        da = _prefix_kept_whole(d(a))
        return f.differential(A, e, lambda x: da if x is a else d(x))
    return apply


FUNCTION_RULES: dict[str, Rule] = {
    f.name: Rule(f.name, f.derivative, _through(f), f.example, f.wrt)
    for f in CATALOGUE if f.differential is not None}
"""The differential of every other function, as its catalogue record writes it."""


OPERATOR_RULES: dict[type, Rule] = {
    Add: Rule("sum rule", "d(A + B) = dA + dB", lambda e, d: A.add(*[d(t) for t in e.terms]), "tr(X + A)"),
    Mul: Rule("product rule", "d(AB) = dA B + A dB", lambda e, d: _sum_over(e.factors, d, A.mul),
              "tr(A*X*B*X')"),
    Hadamard: Rule("Hadamard product rule", "d(A ⊙ B) = dA ⊙ B + A ⊙ dB",
                   lambda e, d: _sum_over(e.factors, d, A.had), "sum(X .* X .* A)"),
    Kron: Rule("Kronecker product rule", "d(A ⊗ B) = dA ⊗ B + A ⊗ dB",
               lambda e, d: _sum_over(e.factors, d, A.kron), "tr(kron(A, X))"),
    Transpose: Rule("transpose", "d(Aᵀ) = (dA)ᵀ", lambda e, d: A.T(d(e.arg)), "a'*X'*b"),
    Power: Rule("power rule", "d(A.^p) = p A.^(p−1) ⊙ dA + log(A) ⊙ A.^p dp", _d_power, "sum(X .^ 3)"),
    MatPow: Rule("matrix power", "d(Xᵏ) = Σᵢ Xⁱ dX Xᵏ⁻¹⁻ⁱ", _d_matpow, "tr(X^3)"),
    Func: Rule("chain rule", "d f(A) = f′(A) ⊙ dA", _d_func, "sum(exp(X))"),
    Unvec: Rule("unvec", "d unvec(a) = unvec(da)", lambda e, d: A.unvec(d(e.arg), e.shape), "x"),
    Group: Rule("shared product", "d(F₁⋯Fᵢ) = Σⱼ F₁⋯dFⱼ⋯Fᵢ, a prefix or suffix kept whole",
                lambda e, d: d(e.arg), "sum(exp(X) .* sin(X) .* cos(X) .* tanh(X) .* sigmoid(X) .* X .* arctan(X) .* tan(X) .* A)"),
}


TRACE_POWER_RULE = Rule("trace of a power", "d tr(Xᵏ) = k tr(Xᵏ⁻¹ dX)", _d_trace_power, "tr(X^65)")
"""tr(Xᵏ) for k above MAX_EXPANDED_POWER: the k terms of d(Xᵏ) collapse under the trace
(below it the expansion gives the same k (Xᵏ⁻¹)ᵀ after identification)."""


DECLARED_RULE = Rule("declared function", declared_functions.IDENTITY, declared_functions.d_declared,
                     "sum(f(A*X))")
"""Functions the user declares (SPEC §7); tested with their own declarations, not by the table walk."""


def rule_for(e: Expr) -> Rule:
    """The rule that differentiates node e."""
    if isinstance(e, Declared):
        return DECLARED_RULE
    rule = OPERATOR_RULES.get(type(e))
    if rule is None:
        raise UnsupportedError(f"no differential rule for {type(e).__name__}", node=e)
    if _trace_of_big_power(e):
        return TRACE_POWER_RULE
    if isinstance(e, Func) and e.name in FUNCTION_RULES:
        return FUNCTION_RULES[e.name]
    return rule


def rule_label(e: Expr) -> str:
    """The identity a step applies, as printed by --steps."""
    if isinstance(e, Func) and e.name in ELEMENTWISE_DERIVATIVE:
        return f"chain rule: d f(A) = f′(A) ⊙ dA, {ELEMENTWISE_DERIVATIVE[e.name][0]}"
    return rule_for(e).identity


def all_rules() -> list[tuple[str, str, str, str]]:
    """(name, identity, example, variable) for every rule: what the rule tests walk."""
    out = [(r.name, r.identity, r.example, r.wrt) for r in OPERATOR_RULES.values() if r.name != "chain rule"]
    out += [(r.name, r.identity, r.example, r.wrt) for r in FUNCTION_RULES.values()]
    out.append((TRACE_POWER_RULE.name, TRACE_POWER_RULE.identity, TRACE_POWER_RULE.example, TRACE_POWER_RULE.wrt))
    for name, (identity, _) in ELEMENTWISE_DERIVATIVE.items():
        out.append((name, identity, f"sum(A .* {name}(X))", "X"))
    return out
