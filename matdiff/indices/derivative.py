"""The derivative in indices, for what has no matrix form.

∂/∂V[a,b,…] of an index expression by the rules of :func:`d` (element-wise f′ from the
function catalogue), then
Kronecker's δ contracted against the sums: Σₖ δₖₐ eₖ = eₐ.  The result is the
identification dL = Σ G[a,b,…] dV[a,b,…] read off entry by entry."""
from __future__ import annotations


from ..core import construct as A
from ..core.catalogue import lookup
from ..core.nodes import Sym
from ..errors import UnsupportedError
from . import ricci as R
from .expand import Expansion
from .lower import Arrays
from .printing import index_text
from .result import IndexResult
from .typing import Part


def fprime(name: str, a: R.Ricci) -> R.Ricci:
    """f′(a) of an element-wise function, read from its catalogue record and written in indices."""
    record = lookup(name)
    if record is None or record.fprime is None:
        raise UnsupportedError(f"no derivative of {name}() in indices")
    u = Sym("#u", (1, 1))
    return Expansion(Arrays(), subst={"#u": a})(record.fprime(A, u), [])


def d(e: R.Ricci, name: str, vkeys: tuple[str, ...]) -> R.Ricci:
    """∂e/∂name[vkeys]."""
    if isinstance(e, (R.Const, R.Delta)):
        return R.ZERO
    if isinstance(e, R.Entry):
        if e.name != name:
            return R.ZERO
        return R.prod(*[R.delta(i, v) for i, v in zip(e.idx, vkeys)])
    if isinstance(e, R.Add):
        return R.add(*[d(t, name, vkeys) for t in e.terms])
    if isinstance(e, R.Prod):
        fs = e.factors
        return R.add(*[R.prod(*fs[:n], d(f, name, vkeys), *fs[n + 1:]) for n, f in enumerate(fs)])
    if isinstance(e, R.Sum):
        return R.isum(e.idx, d(e.body, name, vkeys))
    if isinstance(e, R.Pow):
        if name in R.names(e.exp):  # b^p = exp(p log b)
            return R.prod(e, d(R.prod(e.exp, R.Fn("log", e.base)), name, vkeys))
        return R.prod(e.exp, R.power(e.base, R.add(e.exp, R.const(-1))), d(e.base, name, vkeys))
    if isinstance(e, R.Fn):  # d f(a) = f′(a) da
        da = d(e.arg, name, vkeys)
        return R.ZERO if da == R.ZERO else R.prod(fprime(e.name, e.arg), da)
    if isinstance(e, R.VecFn):
        k = R.fresh()
        da = d(e.arg, name, vkeys)
        if da == R.ZERO:
            return R.ZERO
        s_k = R.VecFn("softmax", e.arg, e.axis, k)
        dv_k = R.rename(da, {e.axis: k})
        if e.name == "logsumexp":  # d lse(v) = Σₖ softmax(v)ₖ dvₖ
            return R.isum([k], R.prod(s_k, dv_k))
        # d softmax(v)ᵢ = softmax(v)ᵢ (dvᵢ − Σₖ softmax(v)ₖ dvₖ)
        return R.prod(e, R.add(R.rename(da, {e.axis: e.at}), R.neg(R.isum([k], R.prod(s_k, dv_k)))))
    if isinstance(e, R.MatFn):
        da = d(e.arg, name, vkeys)
        if da == R.ZERO:
            return R.ZERO
        k, l = R.fresh(), R.fresh()
        dX = R.rename(da, dict(zip(e.axes, (k, l))))
        if e.name == "inv":  # d inv(X)ᵢⱼ = −Σₖₗ inv(X)ᵢₖ dXₖₗ inv(X)ₗⱼ
            i, j = e.at
            return R.neg(R.isum([k, l], R.prod(R.MatFn("inv", e.arg, e.axes, (i, k)), dX,
                                               R.MatFn("inv", e.arg, e.axes, (l, j)))))
        trace = R.isum([k, l], R.prod(R.MatFn("inv", e.arg, e.axes, (l, k)), dX))  # tr(inv(X) dX)
        return trace if e.name == "logdet" else R.prod(e, trace)  # d det X = det X tr(inv(X) dX)
    raise TypeError(type(e).__name__)


def _has_delta(e: R.Ricci) -> bool:
    return any(isinstance(x, R.Delta) for x in R.walk(e))


def normal(e: R.Ricci) -> R.Ricci:
    """Distribute products and sums over the terms that hold a δ, then contract the δ's."""
    if isinstance(e, R.Add):
        return R.add(*[normal(t) for t in e.terms])
    if isinstance(e, R.Prod):
        fs = [normal(f) for f in e.factors]
        for n, f in enumerate(fs):
            if isinstance(f, R.Add) and _has_delta(f):
                return R.add(*[normal(R.prod(*fs[:n], t, *fs[n + 1:])) for t in f.terms])
        return R.prod(*fs)
    if isinstance(e, R.Sum):
        b = normal(e.body)
        if isinstance(b, R.Add):
            return R.add(*[contract(R.isum(e.idx, t)) for t in b.terms])
        return contract(R.isum(e.idx, b))
    return e


def contract(e: R.Ricci) -> R.Ricci:
    """Σₖ δₖⱼ eₖ = eⱼ, for every summed k that meets a δ."""
    if not isinstance(e, R.Sum):
        return e
    idx, body = list(e.idx), e.body
    changed = True
    while changed:
        changed = False
        factors = list(body.factors) if isinstance(body, R.Prod) else [body]
        for k in idx:
            dl = next((f for f in factors if isinstance(f, R.Delta) and k in (f.i, f.j)), None)
            if dl is None:
                continue
            other = dl.j if dl.i == k else dl.i
            rest = list(factors)
            rest.remove(dl)
            body = R.rename(R.prod(*rest), {k: other})
            idx.remove(k)
            changed = True
            break
    return R.isum(idx, body) if idx else body


MAX_NODES = 20000
"""The largest derivative in indices matdiff writes out."""


def bounded(e: R.Ricci) -> R.Ricci:
    n = 0
    for _ in R.walk(e):
        n += 1
        if n > MAX_NODES:
            raise UnsupportedError(f"the derivative in indices has more than {MAX_NODES} terms and factors; "
                                   "write the expression with fewer nested products")
    return e


def index_gradient(expr: str, f: R.Ricci, part: Part, arrays, vkeys, notes) -> IndexResult:
    raw = bounded(d(f, part.name, vkeys))
    G = bounded(normal(raw))
    names = {k: s for k, s in zip(vkeys, part.subs or ())} if part.subs else {}
    letters = iter(x for x in "abcdefgh" if x not in names.values())
    for k in vkeys:
        if names.get(k, ":") == ":":
            names[k] = next(letters)
    lhs = f"∂L/∂{part.name}[{','.join(names[k] for k in vkeys)}]"
    steps = [f"L = {index_text(f, {}, arrays.shown)}",
             f"{lhs} = {index_text(raw, names, arrays.shown)}",
             f"{lhs} = {index_text(G, names, arrays.shown)}   (Σₖ δₖⱼ eₖ = eⱼ)"]
    dummy = Sym(f"∂L/∂{part}", (1, 1))
    return IndexResult(expr, Sym(part.name, (1, 1)), 1, "gradient", dummy, dummy, {}, tuple(notes), None, None,
                       arrays=arrays, part=part, ricci_function=f, gradient=G, vkeys=tuple(vkeys),
                       matrix_numbers=False, index_only=True, derivation=tuple(steps))


def index_derivative(expr: str, f: R.Ricci, out: tuple[str, ...], part: Part, arrays, vkeys, order: int,
                     notes) -> IndexResult:
    """The Jacobian ∂F[out]/∂V[vkeys] of an array-valued F, or the Hessian
    ∂²L/∂V[vkeys]∂V[vkeys2] of a scalar L, in indices; evaluated on vec (column-major)."""
    if order == 2 and out:
        raise UnsupportedError("a Hessian needs a scalar function; differentiate its Jacobian instead")
    first = bounded(normal(bounded(d(f, part.name, vkeys))))
    second = ()
    if order == 2:
        second = tuple(R.fresh() for _ in vkeys)
        for k, k2 in zip(vkeys, second):
            arrays.dims[k2] = arrays.dims[k]
        value = bounded(normal(bounded(d(first, part.name, second))))
    else:
        value = first
    names = {}
    free = iter(x for x in "abcdefghpqrstuvw" if x not in set(part.free))
    for k in out:
        names[k] = next(free)
    for keys in (vkeys, second):
        for k, s in zip(keys, part.subs or (":",) * len(keys)):
            names[k] = s if s != ":" and keys is vkeys else next(free)
    var = part.name
    at = lambda keys: "[" + ",".join(names[k] for k in keys) + "]" if keys else ""
    if order == 2:
        lhs = f"∂²L/∂{var}{at(vkeys)}∂{var}{at(second)}"
    else:
        lhs = f"∂F{at(out)}/∂{var}{at(vkeys)}"
    text = f"{lhs} = {index_text(value, names, arrays.shown)}"
    steps = [f"{'L' if not out else 'F' + at(out)} = {index_text(f, names, arrays.shown)}",
             f"∂/∂{var}{at(vkeys)}: {index_text(first, names, arrays.shown)}", text]
    dummy = Sym(lhs, (1, 1))
    kind = "hessian" if order == 2 else "jacobian"
    return IndexResult(expr, Sym(part.name, (1, 1)), order, kind, dummy, dummy, {}, tuple(notes), None, None,
                       arrays=arrays, part=part, ricci_function=f, gradient=value, vkeys=tuple(vkeys),
                       matrix_numbers=False, index_only=True, derivation=tuple(steps),
                       out_keys=tuple(out), second_keys=second, index_lhs=lhs, index_names=names)
