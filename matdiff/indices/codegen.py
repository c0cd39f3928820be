"""NumPy / JAX / PyTorch source for an index result: one ``einsum`` per sum of
products (NumPy with ``optimize=True``), batched ``linalg`` for inv / det, never
a Python loop over an index.  Tensors are arrays with their axes in subscript
order; free indices of a part are ints."""
from __future__ import annotations

import keyword
import string

from ..core.catalogue import lookup
from ..errors import UsageError
from . import ricci as R
from .evaluate import _batch_first

LETTERS = string.ascii_letters
TARGETS = {
    "numpy": dict(head="import numpy as np", xp="np", einsum="np.einsum({spec!r}, {args}, optimize=True)",
                  asarray="np.asarray({x}, dtype=np.float64)",
                  fns={"abs": "np.abs", "sign": "np.sign", "exp": "np.exp", "log": "np.log", "sqrt": "np.sqrt",
                       "sin": "np.sin", "cos": "np.cos", "tan": "np.tan", "arcsin": "np.arcsin",
                       "arccos": "np.arccos", "arctan": "np.arctan", "tanh": "np.tanh",
                       "sigmoid": "(lambda u: 1.0 / (1.0 + np.exp(-u)))", "relu": "(lambda u: np.maximum(u, 0.0))",
                       "step": "(lambda u: (u > 0) * 1.0)"},
                  inv="np.linalg.inv", det="np.linalg.det", logdet="(lambda m: np.linalg.slogdet(m)[1])",
                  amax="np.max({x}, axis=-1, keepdims=True)", eye="np.eye({n})",
                  bcast="np.broadcast_to({x}, ({shape}))"),
    "jax": dict(head="import jax\nimport jax.numpy as jnp", xp="jnp", einsum="jnp.einsum({spec!r}, {args})",
                asarray="jnp.asarray({x}, dtype=jnp.float32 if not jax.config.jax_enable_x64 else jnp.float64)",
                fns={"abs": "jnp.abs", "sign": "jnp.sign", "exp": "jnp.exp", "log": "jnp.log", "sqrt": "jnp.sqrt",
                     "sin": "jnp.sin", "cos": "jnp.cos", "tan": "jnp.tan", "arcsin": "jnp.arcsin",
                     "arccos": "jnp.arccos", "arctan": "jnp.arctan", "tanh": "jnp.tanh",
                     "sigmoid": "jax.nn.sigmoid", "relu": "jax.nn.relu", "step": "(lambda u: (u > 0) * 1.0)"},
                inv="jnp.linalg.inv", det="jnp.linalg.det", logdet="(lambda m: jnp.linalg.slogdet(m)[1])",
                amax="jnp.max({x}, axis=-1, keepdims=True)", eye="jnp.eye({n})",
                bcast="jnp.broadcast_to({x}, ({shape}))"),
    "torch": dict(head="import torch", xp="torch", einsum="torch.einsum({spec!r}, {args})",
                  asarray="torch.as_tensor({x}, dtype=torch.float64)",
                  fns={"abs": "torch.abs", "sign": "torch.sign", "exp": "torch.exp", "log": "torch.log",
                       "sqrt": "torch.sqrt", "sin": "torch.sin", "cos": "torch.cos", "tan": "torch.tan",
                       "arcsin": "torch.asin", "arccos": "torch.acos", "arctan": "torch.atan", "tanh": "torch.tanh",
                       "sigmoid": "torch.sigmoid", "relu": "torch.relu", "step": "(lambda u: (u > 0) * 1.0)"},
                  inv="torch.linalg.inv", det="torch.linalg.det", logdet="(lambda m: torch.linalg.slogdet(m)[1])",
                  amax="torch.amax({x}, dim=-1, keepdim=True)", eye="torch.eye({n}, dtype=torch.float64)",
                  bcast="torch.broadcast_to({x}, ({shape}))"),
}


def py(name: str) -> str:
    return name + "_" if keyword.iskeyword(name) else name


class Emitter:
    def __init__(self, target: str, arrays, fixed: dict[str, str]) -> None:
        if target not in TARGETS:
            raise UsageError(f"unknown code target {target!r}; the targets are {', '.join(TARGETS)}")
        self.t = TARGETS[target]
        self.arrays = arrays
        self.fixed = fixed  # index -> the int argument
        self.lines: list[str] = []
        self.memo: dict = {}
        self.count = 0

    def size(self, key: str) -> str:
        d = self.arrays.dims[key]
        return "1" if d == 1 else " * ".join(f"dim_{p}" for p in str(d).split("*"))

    def tmp(self, code: str) -> str:
        self.count += 1
        name = f"t{self.count}"
        self.lines.append(f"    {name} = {code}")
        return name

    def einsum(self, parts, keep) -> tuple[str, tuple]:
        arrays = [(v, ls) for v, ls in parts if ls]
        scal = " * ".join(v for v, ls in parts if not ls)
        if not arrays:
            return (self.tmp(scal) if scal else "1.0"), ()
        labels = list(dict.fromkeys(k for _, ls in arrays for k in ls))
        let = {k: LETTERS[n] for n, k in enumerate(labels)}
        keep = _batch_first(tuple(labels) if keep is None else tuple(keep), [ls for _, ls in arrays])
        spec = ",".join("".join(let[k] for k in ls) for _, ls in arrays) + "->" + "".join(let[k] for k in keep)
        if len(arrays) == 1 and spec.split("->")[0] == spec.split("->")[1]:
            code = arrays[0][0]
        else:
            code = self.t["einsum"].format(spec=spec, args=", ".join(v for v, _ in arrays))
        return self.tmp(f"{scal} * {code}" if scal else code), keep

    def ev(self, e: R.Ricci) -> tuple[str, tuple]:
        if e not in self.memo:
            self.memo[e] = self._ev(e)
        return self.memo[e]

    def _ev(self, e):
        t = self.t
        if isinstance(e, R.Const):
            return repr(float(e.value)), ()
        if isinstance(e, (R.Entry, R.Delta)):
            if isinstance(e, R.Delta):
                base, idx = t["eye"].format(n=self.size(e.i)), (e.i, e.j)
            else:
                base, idx = py(e.name), e.idx
            if not idx:
                return base, ()
            if any(k in self.fixed for k in idx):
                base = f"{base}[{', '.join(self.fixed.get(k, ':') for k in idx)}]"
            labels = tuple(k for k in idx if k not in self.fixed)
            if len(set(labels)) < len(labels) or isinstance(e, R.Delta):
                return self.einsum([(base, labels)], tuple(dict.fromkeys(labels)))
            return base, labels
        if isinstance(e, R.Add):
            parts = [self.ev(x) for x in e.terms]
            labels = tuple(dict.fromkeys(k for _, ls in parts for k in ls))
            terms = []
            for v, ls in parts:
                if ls and tuple(k for k in labels if k in ls) != ls:
                    v, ls = self.einsum([(v, ls)], tuple(k for k in labels if k in ls))
                if ls and len(ls) < len(labels):
                    v = f"{v}[{', '.join(':' if k in ls else 'None' for k in labels)}]"
                terms.append(v)
            return self.tmp(" + ".join(terms)), labels
        if isinstance(e, R.Prod):
            return self.einsum([self.ev(f) for f in e.factors], None)
        if isinstance(e, R.Sum):
            factors = e.body.factors if isinstance(e.body, R.Prod) else (e.body,)
            parts = [self.ev(f) for f in factors]
            inside = {k for _, ls in parts for k in ls}
            keep = tuple(k for k in dict.fromkeys(k for _, ls in parts for k in ls) if k not in e.idx)
            extra = [(f"({self.size(k)})", ()) for k in e.idx if k not in inside and k not in self.fixed]
            return self.einsum(parts + extra, keep)
        if isinstance(e, R.Pow):
            b, ls = self.ev(e.base)
            p, _ = self.ev(e.exp)
            return self.tmp(f"{b} ** {p}"), ls
        if isinstance(e, R.Fn):
            a, ls = self.ev(e.arg)
            return self.tmp(f"{t['fns'][e.name]}({t['asarray'].format(x=a) if not ls else a})"), ls
        if isinstance(e, R.VecFn):
            a, ls = self.ev(e.arg)
            rest = tuple(k for k in ls if k != e.axis)
            a, _ = self.einsum([(a, ls)], rest + (e.axis,))
            m = self.tmp(t["amax"].format(x=a))
            ex = self.tmp(f"{t['fns']['exp']}({a} - {m})")
            tot = self.tmp(f"{ex}.sum(-1)")
            if not lookup(e.name).keeps_shape:  # a scalar f(v): log Σ exp
                return self.tmp(f"{m}[..., 0] + {t['fns']['log']}({tot})"), rest
            s = self.tmp(f"{ex} / {tot}[..., None]")
            if e.at in self.fixed:
                return self.tmp(f"{s}[..., {self.fixed[e.at]}]"), rest
            if e.at in rest:
                return self.einsum([(s, rest + (e.at,))], rest)
            return s, rest + (e.at,)
        if isinstance(e, R.MatFn):
            a, ls = self.ev(e.arg)
            rest = tuple(k for k in ls if k not in e.axes)
            a, _ = self.einsum([(a, ls)], rest + e.axes)
            if e.name != "inv":
                return self.tmp(f"{t[e.name]}({a})"), rest
            m = self.tmp(f"{t['inv']}({a})")
            return self.ev_entry(m, rest + e.at)
        raise TypeError(type(e).__name__)

    def ev_entry(self, base, idx):
        if any(k in self.fixed for k in idx):
            base = self.tmp(f"{base}[{', '.join(self.fixed.get(k, ':') for k in idx)}]")
        labels = tuple(k for k in idx if k not in self.fixed)
        if len(set(labels)) < len(labels):
            return self.einsum([(base, labels)], tuple(dict.fromkeys(labels)))
        return base, labels


def index_code(r, target: str = "numpy", name: str = "derivative") -> str:
    """Self-contained source of a function computing the result ``r``."""
    if not isinstance(name, str) or not name.isidentifier():
        raise UsageError(f"the function name must be a Python identifier, got {name!r}")
    arrays, part = r.arrays, r.part
    fixed = {k: py(s) for k, s in zip(r.vkeys, part.subs or ()) if s != ":"}
    for k1, k2 in zip(r.vkeys, r.second_keys):
        if k1 in fixed:
            fixed[k2] = fixed[k1]
    em = Emitter(target, arrays, fixed)
    inputs = r._inputs()
    t = em.t
    rows = tuple(r.out_keys) if r.out_keys else tuple(k for k in r.vkeys if k not in fixed)
    cols = tuple(k for k in (r.second_keys or r.vkeys) if k not in fixed) if (r.out_keys or r.second_keys) else ()
    out = rows + cols
    head = [f"def {name}({', '.join([py(n) for n in inputs] + [py(s) for s in part.free])}):",
            f'    """{r.label} of {r.input} with respect to {part}.',
            "",
            "    Arrays with their axes in subscript order"
            + (f"; {', '.join(part.free)}: 0-based ints" if part.free else "") + ".",
            f"    {r.text}",
            '    """']
    dims: dict[str, str] = {}
    for n in inputs:
        axes = arrays.axes[n]
        if axes:
            em.lines.append(f"    {py(n)} = {t['asarray'].format(x=py(n))}")
        for p, d in enumerate(axes):
            if d != 1 and "*" not in str(d) and str(d) not in dims:
                dims[str(d)] = f"{py(n)}.shape[{p}]"
                em.lines.append(f"    dim_{d} = {py(n)}.shape[{p}]")
    for k, v in fixed.items():
        em.lines.append(f"    {v} = int({v})")
    v, ls = em.ev(r.gradient)
    if not out:
        em.lines.append(f"    return float({v})")
    else:
        if tuple(k for k in out if k in ls) != ls:
            v, ls = em.einsum([(v, ls)], tuple(k for k in out if k in ls))
        if len(ls) < len(out):
            v = f"{v}[{', '.join(':' if k in ls else 'None' for k in out)}]" if ls else v
            v = t["bcast"].format(x=v, shape=", ".join(em.size(k) for k in out) + ",")
        if cols:  # on vec, column-major (SPEC §3)
            if target == "torch":  # torch reshapes row-major: reverse the axes first
                v = em.tmp(f"{v}.permute(*reversed(range({v}.dim())))")
                v = f"{v}.reshape({' * '.join(em.size(k) for k in cols) or '1'}, " \
                    f"{' * '.join(em.size(k) for k in rows) or '1'}).T"
            else:
                v = f"{em.t['xp']}.reshape({v}, ({' * '.join(em.size(k) for k in rows) or '1'}, -1), order='F')"
        em.lines.append(f"    return {v}")
    return t["head"] + "\n\n\n" + "\n".join(head + em.lines) + "\n"
