"""NumPy source code for an expression tree: a readable, self-contained function.

Vectors are handled as 2-D columns inside the function and returned in the
layouts of SPEC §5 (a float for a scalar, 1-D for a vector)."""
from __future__ import annotations

import keyword

from .ast import Expr, Sym, Where

NP_FUNCS = {"abs": "np.abs", "sign": "np.sign", "exp": "np.exp", "log": "np.log", "sqrt": "np.sqrt",
            "sin": "np.sin", "cos": "np.cos", "tan": "np.tan", "arcsin": "np.arcsin",
            "arccos": "np.arccos", "arctan": "np.arctan", "tanh": "np.tanh", "tr": "np.trace",
            "det": "np.linalg.det", "inv": "np.linalg.inv", "sum": "np.sum", "norm2": "np.linalg.norm"}

HELPERS = {
    "sigmoid": "def sigmoid(x):\n    return np.exp(-np.logaddexp(0.0, -x))",
    "softmax": "def softmax(z):\n    e = np.exp(z - np.max(z))\n    return e / e.sum()",
    "logsumexp": "def logsumexp(z):\n    m = np.max(z)\n    return m + np.log(np.sum(np.exp(z - m)))",
    "commutation": ("def commutation(m, n):\n    \"\"\"K(m,n): K @ vec(A) == vec(A.T) for A m×n.\"\"\"\n"
                    "    perm = np.arange(m * n).reshape(m, n, order=\"F\").T.reshape(-1, order=\"F\")\n"
                    "    return np.eye(m * n)[perm]"),
}


def py_name(name: str) -> str:
    """A Python identifier for a matdiff name (``lambda`` → ``lambda_``)."""
    return name + "_" if keyword.iskeyword(name) else name


def _dim(d) -> str:
    if d == 1:
        return "1"
    return " * ".join("dim_" + part for part in str(d).split("*"))


class NumpyPrinter:
    """Expression → NumPy source; records the helpers it needs."""

    def __init__(self) -> None:
        self.helpers: set[str] = set()

    def __call__(self, e: Expr) -> str:
        return getattr(self, "_" + type(e).__name__)(e)

    def _Sym(self, e):
        return py_name(e.name)

    def _Num(self, e):
        v = e.value
        return str(v.numerator) if v.denominator == 1 else repr(float(v))

    def _Identity(self, e):
        return f"np.eye({_dim(e.shape[0])})"

    def _Zero(self, e):
        return f"np.zeros(({_dim(e.shape[0])}, {_dim(e.shape[1])}))"

    def _Ones(self, e):
        return f"np.ones(({_dim(e.shape[0])}, {_dim(e.shape[1])}))"

    def _Commutation(self, e):
        self.helpers.add("commutation")
        return f"commutation({_dim(e.m)}, {_dim(e.n)})"

    def _DimSize(self, e):
        return f"({_dim(e.dim)})"

    def _Differential(self, e):
        return "d" + py_name(e.var.name)

    def _D(self, e):
        raise ValueError("unexpanded differential")

    def _Add(self, e):
        return "(" + " + ".join(self(t) for t in e.terms) + ")"

    def _Mul(self, e):
        scal = [self(f) for f in e.factors if f.is_scalar]
        chain = [self(f) for f in e.factors if not f.is_scalar]
        mat = " @ ".join(chain)
        if e.is_scalar and chain:
            mat = f"({mat}).item()"
        return "(" + " * ".join(scal + ([mat] if mat else [])) + ")"

    def _Hadamard(self, e):
        return "(" + " * ".join(self(f) for f in e.factors) + ")"

    def _Kron(self, e):
        out = self(e.factors[0])
        for f in e.factors[1:]:
            out = f"np.kron({out}, {self(f)})"
        return out

    def _Transpose(self, e):
        return f"{self(e.arg)}.T"

    def _Func(self, e):
        a = self(e.arg)
        n = e.name
        if n in NP_FUNCS:
            return f"{NP_FUNCS[n]}({a})"
        if n in HELPERS:
            self.helpers.add(n)
            return f"{n}({a})"
        return {
            "logdet": f"np.linalg.slogdet({a})[1]",
            "diagm": f"np.diagflat({a})",
            "diagv": f"np.diag({a}).reshape(-1, 1)",
            "vec": f"{a}.reshape(-1, 1, order=\"F\")",
            "norm1": f"np.abs({a}).sum()",
            "relu": f"np.maximum({a}, 0.0)",
            "step": f"({a} > 0).astype(float)",
        }[n]

    def _Power(self, e):
        return f"({self(e.base)} ** {self(e.exp)})"

    def _MatPow(self, e):
        return f"np.linalg.matrix_power({self(e.base)}, {e.k})"

    def _Unvec(self, e):
        return f"{self(e.arg)}.reshape(({_dim(e.shape[0])}, {_dim(e.shape[1])}), order=\"F\")"

    def _Where(self, e):
        raise ValueError("Where is unfolded by to_numpy")


def to_numpy(e: Expr, symbols: dict[str, Sym], name: str = "f", doc: str = "") -> str:
    """A complete NumPy function computing e from keyword arguments."""
    pr = NumpyPrinter()
    body: list[str] = []
    while isinstance(e, Where):
        body.append(f"    {py_name(e.name.name)} = {pr(e.value)}")
        e = e.body
    result = pr(e)
    args = ", ".join(py_name(n) for n in symbols)
    head: list[str] = []
    seen: set[str] = set()
    for n, s in symbols.items():
        if s.is_vector:
            head.append(f"    {py_name(n)} = np.asarray({py_name(n)}, dtype=float).reshape(-1, 1)")
        elif not s.is_scalar:
            head.append(f"    {py_name(n)} = np.asarray({py_name(n)}, dtype=float)")
        for i, d in enumerate(s.shape):
            if d != 1 and str(d) not in seen:
                seen.add(str(d))
                head.append(f"    {_dim(d)} = {py_name(n)}.shape[{i}]")
    if e.is_scalar:
        ret = f"    return float(np.asarray({result}).reshape(-1)[0])"
    elif e.shape[0] == 1 or e.shape[1] == 1:
        ret = f"    return np.asarray({result}, dtype=float).reshape(-1)"
    else:
        ret = f"    return {result}"
    lines = ["import numpy as np", ""]
    for h in sorted(pr.helpers):
        lines += [HELPERS[h], ""]
    lines.append(f"def {name}({args}):")
    if doc:
        lines.append(f'    """{doc}"""')
    lines += head + body + [ret, ""]
    return "\n".join(lines)


__all__ = ["to_numpy", "py_name"]


def to_code(e: Expr, symbols: dict[str, Sym], target: str = "numpy", name: str = "f", doc: str = "") -> str:
    """Source of a function computing e for ``numpy`` (``jax`` and ``torch`` to come)."""
    if target != "numpy":
        from .errors import UsageError

        raise UsageError(f"unknown code target {target!r}; the targets are numpy, jax, torch")
    return to_numpy(e, symbols, name, doc)
