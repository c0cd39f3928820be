"""The simplifier: rewrites that need a choice, decided by an explicit cost.

The constructors of :mod:`matdiff.algebra` already keep every tree in
canonical form (transposes pushed in, like terms collected, numbers folded).
Here are the passes that choose between equal forms:

* ``factor``: pull common factors out of sums, A x + Aᵀ x = (A + Aᵀ) x,
  β A + β B = β (A + B), kept only when the cost drops;
* ``name_repeats``: name a repeated sub-expression (``… where u = exp(z)``)
  when that makes the printed answer shorter.

``cost`` is monotonic in the size of the tree: nodes, plus a little for each
transpose, so that of two equal forms the one with fewer operations wins.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace
from fractions import Fraction
from functools import lru_cache, reduce
from math import gcd

from ..core import construct as A
from ..core.nodes import Add, Expr, Func, Hadamard, Identity, MatPow, Mul, Num, Ones, Power, Sym, Transpose, Where  # noqa: F401
from ..core.catalogue import ELEMENTWISE, lookup
from ..core.names import fresh_name
from ..core.rewrites import diag_terms, logistic_pairs
from ..core.rewriting import Fired, rewrite

_TOKEN = re.compile(r"\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|\.\d+|[A-Za-z_\u0370-\u03ff][A-Za-z0-9_\u0370-\u03ff]*"
                    r"|\.\*|\./|\.\^|\S")


def tokens(text: str) -> int:
    """The length of a printed answer: names, numbers, operators, parentheses."""
    return len(_TOKEN.findall(text))


@lru_cache(maxsize=1 << 16)
def cost(e: Expr) -> float:
    """Nodes of the tree (shared ones counted each time), a transpose 0.5 more."""
    return (1.5 if isinstance(e, Transpose) else 1.0) + sum(cost(c) for c in e.children)


# -- factoring ------------------------------------------------------------------
def _parts(t: Expr) -> tuple[Fraction, list[Expr], list[Expr]]:
    """t = c · scalars · chain."""
    c, core = A.split_coef(t)
    fs = list(core.factors) if isinstance(core, Mul) else [core]
    if fs == [A.ONE]:
        fs = []
    return c, [f for f in fs if f.is_scalar], [f for f in fs if not f.is_scalar]


def _collect_like(e: Add) -> Expr:
    """α A + β A = (α + β) A: terms with one array part and different scalar factors."""
    groups: dict[tuple[Expr, ...], list[Expr]] = {}
    for t in e.terms:
        c, scal, chain = _parts(t)
        groups.setdefault(tuple(chain), []).append(A.mul(A.num(c), *scal))
    if len(groups) == len(e.terms) or () in groups and len(groups[()]) == len(e.terms):
        return e
    return A.add(*[A.mul(_pull_common_coefficient(A.add(*coefs)), *chain) if len(coefs) > 1
                   else A.mul(coefs[0], *chain)
                   for chain, coefs in groups.items()])


def _factor_sum(e: Add) -> Expr:
    if not e.is_scalar:
        collected = _collect_like(e)
        if not isinstance(collected, Add):
            return collected
        e = collected
    terms = [_parts(t) for t in e.terms]
    best: tuple[int, str, Expr] | None = None
    counts: Counter = Counter()
    for _, scal, chain in terms:
        keys = dict.fromkeys(("s", s) for s in scal)  # in order, not by hash: ties go the same way every run
        if chain and (not e.is_scalar or len(chain) > 1):
            keys.update(dict.fromkeys((side, f) for side, f in (("r", chain[-1]), ("l", chain[0]))
                                      if not isinstance(f, Identity)))
        counts.update(keys.keys())
    for (side, f), n in counts.most_common():
        if n < 2:
            break
        if best is None or n > best[0] or (n == best[0] and side == "s" and best[1] != "s"):
            best = (n, side, f)
    if best is None:
        return e
    _, side, f = best
    inside: list[Expr] = []
    outside: list[Expr] = []
    for (c, scal, chain), t in zip(terms, e.terms):
        if side == "s" and f in scal:
            rest = list(scal)
            rest.remove(f)
            inside.append(A.mul(A.num(c), *rest, *chain) if rest or chain else A.num(c))
        elif side == "r" and chain and chain[-1] == f and (len(chain) > 1 or not e.is_scalar):
            inside.append(A.mul(A.num(c), *scal, *chain[:-1]) if chain[:-1] else
                          A.mul(A.num(c), *scal, A.identity(f.shape[0])))
        elif side == "l" and chain and chain[0] == f and (len(chain) > 1 or not e.is_scalar):
            inside.append(A.mul(A.num(c), *scal, *chain[1:]) if chain[1:] else
                          A.mul(A.num(c), *scal, A.identity(f.shape[1])))
        else:
            outside.append(t)
    if len(inside) < 2:
        return e
    group = A.add(*inside)
    if group == e:  # nothing was pulled out
        return e
    group = factor(group)
    if side == "s" or side == "l":
        factored = A.mul(f, group)
    else:
        factored = A.mul(group, f)
    candidate = A.add(factored, factor(A.add(*outside))) if outside else factored
    return candidate if cost(candidate) < cost(e) else e


def _is_one(t: Expr) -> bool:
    return isinstance(t, Ones) or (isinstance(t, Num) and t.value == 1)


def _expand_ones_sums(e: Add) -> Expr:
    """(1 − t) ⊙ R = R − t ⊙ R: distribute a Hadamard product over a sum holding a 1."""
    terms: list[Expr] = []
    for t in e.terms:
        c, core = A.split_coef(t)
        if isinstance(core, Hadamard):
            k = next((i for i, f in enumerate(core.factors)
                      if isinstance(f, Add) and any(_is_one(u) for u in f.terms)), None)
            if k is not None:
                rest = core.factors[:k] + core.factors[k + 1:]
                terms.extend(A.scale(c, A.had(u, *rest)) for u in core.factors[k].terms)
                continue
        terms.append(t)
    return A.add(*terms)


@lru_cache(maxsize=1 << 16)
def _has_sigmoid(e: Expr) -> bool:
    """e holds a sigmoid (each distinct node asked once)."""
    return (isinstance(e, Func) and e.name == "sigmoid") or any(_has_sigmoid(c) for c in e.children)


def _logistic_sum(e: Add) -> Expr:
    """Try σ(v) + σ(−v) = 1 after expanding (1 − t) ⊙ …; keep it when cheaper."""
    if not _has_sigmoid(e):
        return e
    expanded = _expand_ones_sums(e)
    candidate = logistic_pairs(expanded) if isinstance(expanded, Add) else None
    return candidate if candidate is not None and cost(candidate) < cost(e) else e


def _diag_terms(e: Add) -> Expr:
    """α diag(a) + β diag(b) = diag(α a + β b) (the rewrite table's "diag is linear"), the new
    argument factored."""
    merged = diag_terms(e, factor)
    return e if merged is None else merged


def _powers(t: Expr) -> tuple[Expr, dict[Expr, Fraction]]:
    """t = s · ⨀ bᵖ: its scalar part s and the Hadamard factors as base → exponent."""
    c, core = A.split_coef(t)
    outer, inner = A.split_scalars(core)
    factors = inner.factors if isinstance(inner, Hadamard) else (inner,)
    out: dict[Expr, Fraction] = {}
    for f in factors:
        if isinstance(f, Power) and isinstance(f.exp, Num) and not f.is_scalar:
            out[f.base] = out.get(f.base, Fraction(0)) + f.exp.value
        else:
            out[f] = out.get(f, Fraction(0)) + 1
    return A.mul(A.num(c), *outer), out


def _factor_hadamard(e: Add) -> Expr:
    """a ⊙ bᵖ ⊙ u + a ⊙ bᵠ ⊙ v = a ⊙ b^min(p,q) ⊙ (…): the element-wise factors every term shares."""
    if e.is_scalar or not any(isinstance(A.split_scalars(A.split_coef(t)[1])[1], Hadamard) for t in e.terms):
        return e
    parts = [_powers(t) for t in e.terms]
    common = {b: min(p[b] for _, p in parts) for b in parts[0][1] if all(b in p for _, p in parts)}
    common = {b: k for b, k in common.items() if k > 0 and b.shape == e.shape}
    if not common:
        return e
    rest = []
    for s, p in parts:
        left = [A.power(b, A.num(k - common.get(b, 0))) for b, k in p.items()]
        rest.append(A.mul(s, A.had(*left)) if left else A.mul(s, A.ones(e.shape)))
    candidate = A.had(*[A.power(b, A.num(k)) for b, k in common.items()], factor(A.add(*rest)))
    return candidate if cost(candidate) < cost(e) else e


_SHARED_MEMO: list[dict[Expr, Expr]] = []
"""While a large expression is factored, the one memo of every nested ``factor`` call."""


def factor(e: Expr) -> Expr:
    """Pull common factors out of every sum, innermost first.

    On a large expression (cost above ``MAX_NAMING_COST``) the sums pulled out are factored
    with the memo of the whole, each factored part taken as final: linear in the DAG, where
    a fresh walk of every part would be quadratic."""
    if _SHARED_MEMO:
        memo = _SHARED_MEMO[-1]
    elif cost(e) > MAX_NAMING_COST:
        _SHARED_MEMO.append({})
        try:
            return factor(e)
        finally:
            _SHARED_MEMO.pop()
    else:
        memo = {}

    def go(x: Expr) -> Expr:
        if x in memo:
            return memo[x]
        kids = x.children
        new = tuple(go(k) for k in kids)
        y = A.rebuild(x, new) if any(a is not b for a, b in zip(new, kids)) else x
        if isinstance(y, Add):
            y = _logistic_sum(y)
        if isinstance(y, Add):
            y = _diag_terms(y)
        if isinstance(y, Add):
            y = _factor_hadamard(y)
        if isinstance(y, Add):
            y = _pull_common_coefficient(_factor_sum(y))
        memo[x] = y
        if _SHARED_MEMO:
            memo.setdefault(y, y)
        return y

    return go(e)


def _pull_common_coefficient(e: Expr) -> Expr:
    """−A − B = −(A + B), A/2 + B/2 = (A + B)/2, 2βa − 2a = 2(βa − a): the largest
    rational coefficient shared by every term (negative when every term is).

    Built as it stands (not through the constructors, which would multiply the
    coefficient back in): a choice of how to write the sum, like the printers make."""
    if not isinstance(e, Add):
        return e
    coefs = [A.split_coef(t)[0] for t in e.terms]
    num = reduce(gcd, (abs(x.numerator) for x in coefs))
    den = reduce(lambda a, b: a * b // gcd(a, b), (x.denominator for x in coefs))
    c = Fraction(num, den) * (-1 if all(x < 0 for x in coefs) else 1)
    if c == 1:
        return e
    inner = Add(tuple(A.scale(x / c, A.split_coef(t)[1]) for x, t in zip(coefs, e.terms)), e.shape)
    return Mul((A.num(c), inner), e.shape)


def simplify(e: Expr, log: list[Fired] | None = None) -> Expr:
    """The textbook form: the rewrite table applied, factored, with the cheapest of the equal
    forms (factoring may uncover a pattern of the table: it is applied again)."""
    return rewrite(factor(rewrite(e, log)), log)


# -- transposes pulled out, for display -------------------------------------------------
def _with_children(x: Expr, kids: tuple[Expr, ...]) -> Expr:
    """x with new children of the same shapes, rebuilt as is (no canonical rewriting)."""
    if all(a is b for a, b in zip(kids, x.children)):
        return x
    values = {}
    rest = list(kids)
    for name in x._child_fields:
        old = getattr(x, name)
        if isinstance(old, tuple):
            values[name], rest = tuple(rest[:len(old)]), rest[len(old):]
        else:
            values[name], rest = rest[0], rest[1:]
    return replace(x, **values)


def pull_transposes(e: Expr, printer) -> Expr:
    """Bᵀ·Aᵀ + Dᵀ·Cᵀ written (A·B + C·D)ᵀ, (xᵀ − μᵀ) written (x − μ)ᵀ, where that is shorter.

    The canonical form pushes transposes inward; this display pass takes them
    back out of a sum or a chain when the printed answer gets shorter."""
    if cost(e) > MAX_NAMING_COST:
        return e
    printer = cached(printer)
    memo: dict[tuple[int, bool], Expr] = {}

    def go(x: Expr, inside: bool) -> Expr:
        """``inside``: x stands in a product, so a sum there is printed in parentheses."""
        if (id(x), inside) in memo:
            return memo[(id(x), inside)]
        wraps = isinstance(x, (Mul, Hadamard, Transpose, Power, MatPow))
        kids = tuple(go(k, wraps) for k in x.children)
        y = _with_children(x, kids) if any(a is not b for a, b in zip(kids, x.children)) else x
        candidate = None
        if not _has_transpose(y):  # transposing it all could only add marks
            pass
        elif isinstance(y, Add) and not y.is_scalar:
            candidate = Transpose(A.add(*[A.T(t) for t in y.terms]), y.shape)
        elif isinstance(y, Func) and y.name in ELEMENTWISE and not y.is_scalar:  # f(x'W') = f(W x)'
            candidate = Transpose(A.func(y.name, A.T(y.arg)), y.shape)
        elif isinstance(y, Mul) and not y.is_scalar:
            scal = [f for f in y.factors if f.is_scalar]
            chain = [f for f in y.factors if not f.is_scalar]
            if len(chain) >= 2:
                candidate = Mul(tuple(scal) + (Transpose(A.T(A.mul(*chain)), y.shape),), y.shape) \
                    if scal else Transpose(A.T(A.mul(*chain)), y.shape)
        if candidate is not None:
            parens = 2 if inside and isinstance(y, Add) else 0
            if tokens(printer(candidate)) < tokens(printer(y)) + parens:
                y = candidate
        memo[(id(x), inside)] = y
        return y

    return go(e, False)


@lru_cache(maxsize=1 << 16)
def _has_transpose(e: Expr) -> bool:
    return isinstance(e, Transpose) or any(_has_transpose(c) for c in e.children)


# -- naming repeated sub-expressions ---------------------------------------------------
MAX_CANDIDATES = 4
MAX_NAMING_COST = 4000  # beyond this, printing every candidate would dominate the derivation


def cached(printer):
    """The printer, printing each node once when it offers that (``to_text.cached``)."""
    make = getattr(printer, "cached", None)
    return make() if make is not None else printer


def name_repeats(e: Expr, taken: set[str], printer) -> Expr:
    """Name a repeated sub-expression when the printed answer gets shorter."""
    if cost(e) > MAX_NAMING_COST:
        return e
    printer = cached(printer)
    counts: Counter = Counter()
    stack = [e]
    while stack:
        x = stack.pop()
        if isinstance(x, (Func, Hadamard, Mul, Add)) and not x.is_scalar or (isinstance(x, Func) and _named_as(x)):
            counts[x] += 1
        stack.extend(x.children)
    repeated = [sub for sub, n in counts.items() if n >= 2]
    if not repeated:  # nothing to name: no need to print the answer
        return e
    best = e
    best_len = tokens(printer(e))
    # the few most promising: large parts repeated often (bounded work on big trees)
    repeated.sort(key=lambda x: -counts[x] * min(cost(x), 50))
    for sub in repeated[:MAX_CANDIDATES]:
        name = _fresh_name(sub, taken)
        sym = Sym(name, sub.shape, A.is_symmetric(sub))
        body = A.substitute(e, {sub: sym})
        cand = Where(body, sym, sub, e.shape)
        length = tokens(printer(cand))
        if length < best_len:
            best, best_len = cand, length
    return best


def _named_as(e: Func) -> tuple[str, ...]:
    """The letters a function's catalogue record proposes for a repeated value of it."""
    rec = lookup(e.name)
    return rec.named_as if rec is not None else ()


def _fresh_name(sub: Expr, taken: set[str]) -> str:
    if isinstance(sub, Func) and _named_as(sub):
        pool: tuple[str, ...] = _named_as(sub)
    elif sub.is_vector:
        pool = ("u", "v", "w", "r", "s")
    else:
        pool = ("M", "N", "P", "Q", "R", "W")
    return fresh_name(taken, pool)


__all__ = ["simplify", "factor", "cost", "tokens", "name_repeats", "pull_transposes"]
