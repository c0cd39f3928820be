"""Higher derivatives printed entry by entry, in index notation (SPEC §6, §7).

The K-th derivative is given as a multilinear form E(V₁, …, V_K) (see
:mod:`matdiff.calculus.higher`); with each direction V_k a unit array,
V_k[i] = δ(i, b_k), its entries are read off by distributing over sums and
products:

    (A B)[i,j] = Σ_k A[i,k] B[k,j]     (A ⊙ B)[i,j] = A[i,j] B[i,j]
    (Aᵀ)[i,j] = A[j,i]                 diag(v)[i,j] = v[i] δ(i,j)
    tr(A) = Σ_k A[k,k]                 sum(A) = Σ_{k,l} A[k,l]

then contracting Σ_k … δ(k,b) … ↦ … b …, so that sum(x .^ 4) gives
``∂³f/∂x[a]∂x[b]∂x[c] = 24*x[a]*delta(a,b)*delta(b,c)``.  A sub-expression
free of directions stays whole, indexed (``exp(A*x)[a]``, ``(A*B)[a,b]``).

This is one of two index printers: :mod:`matdiff.indices.printing` prints the
index stage's trees (:mod:`matdiff.indices.ricci`).  They are kept apart because
the entries here are of whole expressions (``(A*B)[a,b]``), not of named arrays,
and directions are contracted to given letters; both write ``sum_j(…)``,
``delta(i,j)`` and ``X[i,j]`` alike, and tests compare the printed forms of both.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from itertools import count

from ..core import construct as A
from ..core.declared import SCALAR_KIND, Declared, spelling
from ..core.catalogue import ELEMENTWISE
from ..core.nodes import Add, Expr, Func, Hadamard, Identity, Mul, Num, Ones, Power, Sym, Transpose, Zero
from ..errors import UnsupportedError
from .printing import SUPERSCRIPT, _number, to_latex, to_text

Idx = str | None
"""An index name, or None for an axis of size 1."""


@dataclass(frozen=True)
class Atom:
    """An entry of a direction-free expression: e[i, j]."""

    expr: Expr
    idx: tuple[Idx, Idx]


@dataclass(frozen=True)
class Delta:
    """Kronecker's δ(i, j)."""

    i: str
    j: str


@dataclass(frozen=True)
class Mono:
    """coef · Π factors, summed over the indices in ``bound``."""

    coef: Fraction
    factors: tuple[Atom | Delta, ...] = ()
    bound: tuple[str, ...] = ()


def _times(*groups: list[Mono]) -> list[Mono]:
    out = [Mono(Fraction(1))]
    for g in groups:
        out = [Mono(a.coef * b.coef, a.factors + b.factors, a.bound + b.bound) for a in out for b in g]
    return out


class _Entries:
    """Entries of an expression multilinear in unit directions."""

    def __init__(self, directions: dict[str, tuple[str, ...]], bound: Iterator[str]) -> None:
        self.directions = directions  # name of V_k -> its free indices
        self.bound = bound

    def fresh(self, d) -> Idx:
        return None if d == 1 else next(self.bound)

    def has_direction(self, e: Expr) -> bool:
        return any(A.depends(e, v) for v in self.directions)

    def entry(self, e: Expr, r: Idx, c: Idx) -> list[Mono]:
        """e[r, c] as a sum of monomials (r or c None on an axis of size 1)."""
        if isinstance(e, Zero):
            return []
        if isinstance(e, Num):
            return [Mono(e.value)]
        if isinstance(e, Ones):
            return [Mono(Fraction(1))]
        if isinstance(e, Identity):
            return [Mono(Fraction(1), (Delta(r, c),))] if r is not None else [Mono(Fraction(1))]
        if isinstance(e, Sym) and e.name in self.directions:
            return [Mono(Fraction(1), tuple(Delta(i, j) for i, j in zip((r, c), self._idx(e))))]
        if isinstance(e, Transpose):
            return self.entry(e.arg, c, r)
        if isinstance(e, Mul) and isinstance(e.factors[0], Num):
            coef, rest = A.split_coef(e)
            return [Mono(m.coef * coef, m.factors, m.bound) for m in self.entry(rest, r, c)]
        if not self.has_direction(e):
            return [Mono(Fraction(1), (Atom(e, (r, c)),))]
        if isinstance(e, Add):
            return [m for t in e.terms for m in self.entry(t, r, c)]
        if isinstance(e, Hadamard):
            return _times(*[self.entry(f, r, c) for f in e.factors])
        if isinstance(e, Mul):
            return self._product(e, r, c)
        if isinstance(e, Func):
            return self._func(e, r, c)
        raise UnsupportedError(f"no index form for {type(e).__name__}")

    def _idx(self, V: Sym) -> tuple[str, ...]:
        return self.directions[V.name]

    def _product(self, e: Mul, r: Idx, c: Idx) -> list[Mono]:
        scalars = [self.entry(f, None, None) for f in e.factors if f.is_scalar]
        chain = [f for f in e.factors if not f.is_scalar]
        if not chain:
            return _times(*scalars)
        rows = [r] + [self.fresh(f.shape[1]) for f in chain[:-1]] + [c]
        parts = [self.entry(f, rows[k], rows[k + 1]) for k, f in enumerate(chain)]
        inner = tuple(i for i in rows[1:-1] if i is not None)
        out = _times(*scalars, *parts)
        return [Mono(m.coef, m.factors, m.bound + inner) for m in out]

    def _func(self, e: Func, r: Idx, c: Idx) -> list[Mono]:
        a = e.arg
        if e.name in ("sum", "tr"):
            i = self.fresh(a.shape[0])
            j = i if e.name == "tr" else self.fresh(a.shape[1])
            new = tuple(dict.fromkeys(x for x in (i, j) if x is not None))
            return [Mono(m.coef, m.factors, m.bound + new) for m in self.entry(a, i, j)]
        if e.name == "diagm":
            return _times(self.entry(a, r, None), [Mono(Fraction(1), (Delta(r, c),))])
        if e.name == "diagv":
            return self.entry(a, r, r)
        if e.name == "vec" and (a.is_vector or a.is_scalar):
            return self.entry(a, r, c)
        raise UnsupportedError(f"no index form for {e.name}")


# -- simplification: contract deltas against sums, collect like terms ------------------
def _rename(m: Mono, old: str, new: str) -> Mono:
    def re(i: Idx) -> Idx:
        return new if i == old else i

    factors = tuple(Delta(re(f.i), re(f.j)) if isinstance(f, Delta) else Atom(f.expr, (re(f.idx[0]), re(f.idx[1])))
                    for f in m.factors)
    return Mono(m.coef, factors, tuple(b for b in m.bound if b != old))


def _contract(m: Mono) -> Mono:
    """Σ_k … δ(k, b) … = … b …; δ(a, a) = 1."""
    while True:
        for f in m.factors:
            if isinstance(f, Delta) and f.i == f.j and f.i not in m.bound:
                m = Mono(m.coef, tuple(g for g in m.factors if g is not f), m.bound)
                break
            if isinstance(f, Delta) and f.i != f.j and (f.i in m.bound or f.j in m.bound):
                old, new = (f.i, f.j) if f.i in m.bound else (f.j, f.i)
                rest = Mono(m.coef, tuple(g for g in m.factors if g is not f), m.bound)
                m = _rename(rest, old, new)
                break
        else:
            return m


def _matrix_products(m: Mono) -> Mono:
    """Σ_i P[p,i] Q[i,q] = (P Q)[p,q] where i occurs in those two entries alone."""
    while True:
        for i in m.bound:
            hits = [k for k, f in enumerate(m.factors) if isinstance(f, Atom) and i in f.idx]
            if len(hits) != 2 or any(isinstance(f, Delta) and i in (f.i, f.j) for f in m.factors):
                continue
            a, b = (m.factors[k] for k in hits)
            if a.idx.count(i) != 1 or b.idx.count(i) != 1:
                continue
            ea, ia = (a.expr, a.idx) if a.idx[1] == i else (A.T(a.expr), (a.idx[1], a.idx[0]))
            eb, ib = (b.expr, b.idx) if b.idx[0] == i else (A.T(b.expr), (b.idx[1], b.idx[0]))
            merged = Atom(A.mul(ea, eb), (ia[0], ib[1]))
            if merged.expr.is_row:  # (x'A)[a] reads (A'x)[a]
                merged = Atom(A.T(merged.expr), (merged.idx[1], merged.idx[0]))
            rest = tuple(f for k, f in enumerate(m.factors) if k not in hits)
            m = Mono(m.coef, (merged,) + rest, tuple(x for x in m.bound if x != i))
            break
        else:
            return m


def _canonical(m: Mono, order: list[str]) -> Mono:
    """Free indices joined by deltas become one class: atoms take its first index,
    and the deltas a chain δ(a,b) δ(b,c) in the order of the label."""
    rank = {x: k for k, x in enumerate(order)}
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.get(x, x) != x:
            x = parent[x]
        return x

    deltas = [f for f in m.factors if isinstance(f, Delta)]
    for d in deltas:
        a, b = find(d.i), find(d.j)
        if a != b:
            lo, hi = sorted((a, b), key=lambda x: rank.get(x, len(rank)))
            parent[hi] = lo
    classes: dict[str, list[str]] = {}
    for x in dict.fromkeys(i for d in deltas for i in (d.i, d.j)):  # in order read, not by hash
        classes.setdefault(find(x), []).append(x)
    atoms = []
    for f in m.factors:
        if isinstance(f, Atom):
            atoms.append(Atom(f.expr, tuple(find(i) if i is not None else None for i in f.idx)))  # type: ignore[arg-type]
    atoms = _in_label_order(atoms, rank)
    chain = []
    for members in sorted(classes.values(), key=lambda ms: min(rank.get(x, len(rank)) for x in ms)):
        ms = sorted(members, key=lambda x: rank.get(x, len(rank)))
        chain += [Delta(a, b) for a, b in zip(ms, ms[1:])]
    out = Mono(m.coef, tuple(atoms) + tuple(chain), m.bound)
    names = _bound_names(set(order))
    for b in _appearance(out):
        out = _rename_bound(out, b, "#" + next(names))
    for b in list(out.bound):
        out = _rename_bound(out, b, b[1:])
    return out


def _in_label_order(atoms: list[Atom], rank: dict[str, int]) -> list[Atom]:
    """Entries of one array sorted by their free indices (A[i,a] A[i,b], not A[i,b] A[i,a]),
    each array keeping the places its entries had."""
    def key(a: Atom) -> tuple:
        return tuple(rank.get(i, len(rank)) for i in a.idx if i is not None)

    out = list(atoms)
    for e in dict.fromkeys(a.expr for a in atoms):
        places = [k for k, a in enumerate(atoms) if a.expr == e]
        for k, a in zip(places, sorted((atoms[k] for k in places), key=key)):
            out[k] = a
    return out


def _appearance(m: Mono) -> list[str]:
    """The bound indices of m in the order they are first read."""
    seen: list[str] = []
    for f in m.factors:
        for i in ((f.i, f.j) if isinstance(f, Delta) else f.idx):
            if i in m.bound and i not in seen:
                seen.append(i)
    return seen + [b for b in m.bound if b not in seen]


def _rename_bound(m: Mono, old: str, new: str) -> Mono:
    renamed = _rename(m, old, new)
    return Mono(renamed.coef, renamed.factors, tuple(new if b == old else b for b in m.bound))


def _power_of(e: Expr) -> tuple[Expr, Fraction] | None:
    """(u, p) with e = u .^ p for a numeric p, or None."""
    if isinstance(e, Power) and isinstance(e.exp, Num):
        return e.base, Fraction(e.exp.value)
    return None if isinstance(e, Num) else (e, Fraction(1))


def _untransposed(f: Atom) -> Atom:
    """(uᵀ)[i,j] = u[j,i] and (uᵀ .^ p)[i,j] = (u .^ p)[j,i]: entries read off u itself."""
    e = f.expr
    if isinstance(e, Transpose):
        return Atom(e.arg, (f.idx[1], f.idx[0]))
    if isinstance(e, Power) and isinstance(e.base, Transpose) and isinstance(e.exp, Num):
        return Atom(A.power(e.base.arg, e.exp), (f.idx[1], f.idx[0]))
    return f


def _merge_powers(m: Mono) -> Mono:
    """u[i]^p · u[i]^q = u[i]^(p+q) for entries at the same subscripts (u[a] · (u .^ -3)[a] = u[a]^(-2))."""
    m = Mono(m.coef, tuple(_untransposed(f) if isinstance(f, Atom) else f for f in m.factors), m.bound)
    groups: dict[tuple, Fraction] = {}
    for f in m.factors:
        if isinstance(f, Atom) and (pw := _power_of(f.expr)) is not None:
            key = (pw[0], f.idx)
            groups[key] = groups.get(key, Fraction(0)) + pw[1]
    if len(groups) == sum(1 for f in m.factors if isinstance(f, Atom) and _power_of(f.expr) is not None):
        return m  # nothing to merge
    factors: list[Atom | Delta] = []
    done: set[tuple] = set()
    for f in m.factors:
        pw = _power_of(f.expr) if isinstance(f, Atom) else None
        if pw is None:
            factors.append(f)
            continue
        key = (pw[0], f.idx)  # type: ignore[union-attr]
        if key in done:
            continue
        done.add(key)
        p = groups[key]
        if p != 0:
            factors.append(Atom(pw[0] if p == 1 else A.power(pw[0], A.num(p)), f.idx))  # type: ignore[union-attr]
    return Mono(m.coef, tuple(factors), m.bound)


def _collect(monos: list[Mono], order: list[str]) -> list[Mono]:
    out: dict[tuple, Fraction] = {}
    shapes: dict[tuple, Mono] = {}
    for m in monos:
        m = _merge_powers(_canonical(_matrix_products(_contract(m)), order))
        key = (tuple(sorted(map(_key, m.factors))), m.bound)
        out[key] = out.get(key, Fraction(0)) + m.coef
        shapes.setdefault(key, m)
    return [Mono(c, shapes[k].factors, shapes[k].bound) for k, c in out.items() if c != 0]


def _key(f: Atom | Delta) -> str:
    return f"δ{f.i},{f.j}" if isinstance(f, Delta) else f"{to_text(f.expr)}{f.idx}"


# -- printing -----------------------------------------------------------------------------
POINTWISE_PAREN = (Add,)


def _subscripts(idx: tuple[Idx, Idx]) -> list[str]:
    return [i for i in idx if i is not None]


def atom_text(e: Expr, idx: tuple[Idx, Idx], latex: bool = False) -> str:
    """e[i, j] for a direction-free e: the index is pushed through element-wise operations."""
    subs = _subscripts(idx)
    if not subs:
        s = to_latex(e) if latex else to_text(e)
        return f"({s})" if isinstance(e, Add) or s.startswith("-") else s
    if isinstance(e, Sym):
        return f"{e.name}_{{{''.join(subs)}}}" if latex else f"{e.name}[{','.join(subs)}]"
    if isinstance(e, Ones):  # every entry of the all-ones array is 1
        return "1"
    if isinstance(e, Mul) and any(isinstance(f, Ones) for f in e.factors) and all(
            f.is_scalar or isinstance(f, Ones) for f in e.factors):  # c*ones: every entry is c
        return atom_text(A.mul(*[f for f in e.factors if f.is_scalar]), (None, None), latex)
    if isinstance(e, Transpose):
        return atom_text(e.arg, (idx[1], idx[0]), latex)
    if isinstance(e, Func) and e.name in ELEMENTWISE:
        inner = atom_text(e.arg, idx, latex)
        return f"\\operatorname{{{e.name}}}({inner})" if latex else f"{e.name}({inner})"
    if isinstance(e, Declared) and e.kind != SCALAR_KIND:
        inner = atom_text(e.arg, idx, latex)
        return f"{spelling(e, 'latex' if latex else 'text')}({inner})"
    if isinstance(e, Power) and e.exp.is_scalar and isinstance(e.exp, Num):
        base = atom_text(e.base, idx, latex)
        base = base if isinstance(e.base, (Sym, Func)) else f"({base})"
        p = _number(e.exp.value)
        return f"{base}^{{{p}}}" if latex else f"{base}^{p if e.exp.value >= 0 else '(' + p + ')'}"
    if isinstance(e, Hadamard):
        parts = [atom_text(f, idx, latex) for f in e.factors]
        parts = [f"({p})" if isinstance(f, Add) else p for f, p in zip(e.factors, parts)]
        return (" " if latex else "*").join(parts)
    if isinstance(e, Mul) and sum(1 for f in e.factors if not f.is_scalar) == 1:
        parts = [atom_text(f, idx if not f.is_scalar else (None, None), latex) for f in e.factors]
        parts = [f"({p})" if isinstance(f, (Add, Hadamard)) else p for f, p in zip(e.factors, parts)]
        if isinstance(e.factors[0], Num) and e.factors[0].value == -1:
            return "-" + (" " if latex else "*").join(parts[1:])
        return (" " if latex else "*").join(parts)
    if isinstance(e, Add):
        out = ""
        for k, t in enumerate(e.terms):
            c, core = A.split_coef(t)
            body = atom_text(A.scale(abs(c), core), idx, latex)
            out += ("-" if c < 0 else "") + body if k == 0 else (" - " if c < 0 else " + ") + body
        return out
    s = to_latex(e) if latex else to_text(e)
    if latex:
        return f"\\left({s}\\right)_{{{''.join(subs)}}}"
    simple = isinstance(e, Func)
    return f"{s if simple else '(' + s + ')'}[{','.join(subs)}]"


def _mono_text(m: Mono, latex: bool, uni: bool = False) -> tuple[str, bool]:
    """(text of |m|, negative?); ``uni``: δ and Σ for delta and sum_."""
    parts = []
    for f in m.factors:
        if isinstance(f, Delta):
            parts.append(f"\\delta_{{{f.i}{f.j}}}" if latex else f"{'δ' if uni else 'delta'}({f.i},{f.j})")
        else:
            t = atom_text(f.expr, f.idx, latex)
            parts.append(f"({t})" if " + " in t or " - " in t else t)
    c = abs(m.coef)
    if c != 1 or not parts:
        parts.insert(0, _number(c) if not latex or c.denominator == 1 else
                     f"\\frac{{{c.numerator}}}{{{c.denominator}}}")
    body = (" " if latex else "*").join(parts)
    if m.bound:
        if latex:
            body = f"\\sum_{{{','.join(m.bound)}}} {body}"
        else:
            b = m.bound[0] if len(m.bound) == 1 else "{" + ",".join(m.bound) + "}"
            body = f"{'Σ' if uni else 'sum'}_{b}({body})"
    return body, m.coef < 0


def _sum_text(monos: list[Mono], latex: bool, uni: bool = False) -> str:
    if not monos:
        return "0"
    out = ""
    for k, m in enumerate(monos):
        t, neg = _mono_text(m, latex, uni)
        if k == 0:
            out = ("-" if neg else "") + t
        else:
            out += (" - " if neg else " + ") + t
    return out


def free_indices(count_needed: int) -> list[str]:
    """a, b, c, …, h, then a1, b1, …"""
    base = "abcdefgh"
    return [base[k % len(base)] + (str(k // len(base)) if k >= len(base) else "") for k in range(count_needed)]


def _bound_names(taken: set[str]) -> Iterator[str]:
    for name in "ijklpqrstuvw":
        if name not in taken:
            yield name
    for k in count(1):
        yield f"k{k}"


@dataclass(frozen=True)
class IndexForm:
    """The entries of a K-th derivative: ``lhs = rhs`` in text, unicode and LaTeX."""

    lhs_text: str
    lhs_latex: str
    terms: tuple[Mono, ...]

    @property
    def text(self) -> str:
        return f"{self.lhs_text} = {_sum_text(list(self.terms), False)}"

    def unicode(self) -> str:
        return f"{self.lhs_text} = {_sum_text(list(self.terms), False, True)}"

    def latex(self) -> str:
        return f"{self.lhs_latex} = {_sum_text(list(self.terms), True)}"


def index_form(E: Expr, fname: str, variables: tuple[Sym, ...], directions: tuple[Sym, ...]) -> IndexForm:
    """The entries of E(V₁, …, V_K) (the K-th derivative of f as a multilinear form)."""
    nf = sum(1 for d in E.shape if d != 1)
    nv = [sum(1 for d in v.shape if d != 1) for v in variables]
    names = free_indices(nf + sum(nv))
    f_idx, pos, var_idx = names[:nf], nf, []
    for k in nv:
        var_idx.append(tuple(names[pos:pos + k]))
        pos += k
    dirs = {V.name: idx for V, idx in zip(directions, var_idx)}
    ent = _Entries(dirs, _bound_names(set(names)))
    it = iter(f_idx)
    r = next(it) if E.shape[0] != 1 else None
    c = next(it) if E.shape[1] != 1 else None
    monos = _collect(ent.entry(E, r, c), names)
    K = len(variables)
    sup = str(K).translate(SUPERSCRIPT) if K > 1 else ""
    fsub = f"[{','.join(f_idx)}]" if f_idx else ""
    lhs = f"∂{sup}{fname}{fsub}/" + "".join(
        f"∂{v.name}" + (f"[{','.join(i)}]" if i else "") for v, i in zip(variables, var_idx))
    lsub = f"_{{{''.join(f_idx)}}}" if f_idx else ""
    lhs_latex = (f"\\frac{{\\partial^{{{K}}} {fname}{lsub}}}{{" if K > 1 else f"\\frac{{\\partial {fname}{lsub}}}{{") + \
        " ".join(f"\\partial {v.name}" + (f"_{{{''.join(i)}}}" if i else "") for v, i in zip(variables, var_idx)) + "}"
    return IndexForm(lhs, lhs_latex, tuple(monos))


__all__ = ["IndexForm", "atom_text", "index_form"]
