"""Property tests: random index expressions (random subscripts, sums, slices,
tensors of order 3–4, distinct sizes), each with the NumPy function the
generator writes beside it (einsum); matdiff's derivative by a random array or
part of one must agree with central differences of that function."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest
from test_indices import fd_error

import matdiff

LETTERS = "ijklmnpqrs"
INNER = {  # element-wise functions of an entry: text, NumPy
    "": ("{}", lambda u: u),
    "sin": ("sin({})", np.sin),
    "tanh": ("tanh({})", np.tanh),
    "exp": ("exp(0.3*{})", lambda u: np.exp(0.3 * u)),
    "sq": ("{}^2", lambda u: u ** 2),
}
OUTER = {"": ("{}", lambda s: s), "sin": ("sin({})", np.sin), "sq": ("({})^2", lambda s: s ** 2)}


@dataclass
class Gen:
    rng: np.random.Generator
    sizes: dict = field(default_factory=dict)  # letter -> size

    def letter(self, size: int, taken: str) -> str:
        same = [c for c, s in self.sizes.items() if s == size and c not in taken]
        if same and self.rng.random() < 0.6:
            return str(self.rng.choice(same))
        fresh = [c for c in LETTERS if c not in self.sizes]
        c = fresh[0]
        self.sizes[c] = size
        return c


def draw_case(seed: int):
    rng = np.random.default_rng(seed)
    arrays = {"T": tuple(int(s) for s in rng.permutation([2, 3, 4, 5])[: rng.integers(3, 5)])}
    for name, order in (("A", 2), ("x", 1)):
        if rng.random() < 0.7:
            arrays[name] = tuple(int(s) for s in rng.choice([2, 3, 4, 5], order, replace=False))
    terms_text, terms_f = [], []
    for _ in range(int(rng.integers(1, 3))):
        g = Gen(rng)
        factors_text, factors = [], []
        names = list(arrays)
        for n in range(int(rng.integers(1, 4))):
            name = "T" if n == 0 else str(rng.choice(names))
            subs = ""
            for s in arrays[name]:
                subs += g.letter(s, subs)
            fn = str(rng.choice(list(INNER)))
            text, npf = INNER[fn]
            factors_text.append(text.format(f"{name}[{','.join(subs)}]"))
            factors.append((name, subs, npf))
        same = [(a, b) for a in g.sizes for b in g.sizes if a < b and g.sizes[a] == g.sizes[b]]
        if same and rng.random() < 0.3:
            a, b = same[int(rng.integers(len(same)))]
            factors_text.append(f"delta({a},{b})")
            factors.append(("#eye", a + b, lambda u: u))
        letters = "".join(sorted(g.sizes))
        c = float(rng.choice([1, 2, -1, 0.5]))
        oname = str(rng.choice(list(OUTER)))
        otext, onp = OUTER[oname]
        body = "*".join(factors_text)
        terms_text.append(f"{c}*" + otext.format(f"sum_{{{','.join(letters)}}}({body})"))

        def term(values, factors=factors, c=c, onp=onp, sizes=dict(g.sizes)):
            ops, specs = [], []
            for name, subs, npf in factors:
                a = np.eye(sizes[subs[0]]) if name == "#eye" else values[name]
                ops.append(npf(a))
                specs.append(subs)
            return c * onp(np.einsum(",".join(specs) + "->", *ops))

        terms_f.append(term)
    expr = " + ".join(terms_text)
    used = [n for n in arrays if any(f"{n}[" in t for t in terms_text)]
    var = str(rng.choice(used))
    wrt = var
    if rng.random() < 0.35:
        subs = [":" if rng.random() < 0.5 else "abcd"[p] for p in range(len(arrays[var]))]
        wrt = f"{var}[{','.join(subs)}]"
    dims = {n: s for n, s in arrays.items() if n in used}

    def f(**values):
        return float(sum(t(values) for t in terms_f))

    return expr, wrt, dims, f


@pytest.mark.parametrize("seed", range(60))
def test_random_index_expression(seed):
    expr, wrt, dims, f = draw_case(seed)
    rng = np.random.default_rng(1000 + seed)
    r = matdiff.diff(expr, wrt)
    values = {n: rng.standard_normal(s) * 0.6 for n, s in dims.items()}
    name = wrt.split("[")[0]
    subs = wrt[len(name) + 1:-1].split(",") if "[" in wrt else []
    idx = {s: int(rng.integers(0, dims[name][p])) for p, s in enumerate(subs) if s != ":"}
    out = r.lambdify()(**values, **idx)
    err = fd_error(f, values, wrt, idx, out, rng)
    assert err < 1e-5, (expr, wrt, str(r), err)
    if "[" not in wrt:
        assert np.shape(out) == dims[name]
