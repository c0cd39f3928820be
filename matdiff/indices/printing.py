"""Index expressions as text (``sum_j(Phi[a,b,j]*delta(j,c))``), unicode
(``Σⱼ Φ[a,b,j]·δ(j,c)``) and LaTeX (``\\sum_{j} \\Phi_{abj} \\delta_{jc}``).
Bound indices get free letters, in order of appearance.

This is one of two index printers: :mod:`matdiff.present.index_form` prints
higher derivatives (order 3 and more) entry by entry from its own sums of
monomials, whose entries are of whole expressions (``exp(A*x)[a]``).  Both
write ``sum_j(…)``, ``delta(i,j)`` and ``X[i,j]`` alike; a change of spelling
here belongs there too (tests compare the printed forms of both)."""
from __future__ import annotations

from fractions import Fraction

from ..core.nodes import Sym
from ..present.printing import to_latex, to_unicode
from . import ricci as R

POOL = ["j", "k", "l", "m", "n", "p", "q", "r", "s", "t", "u", "v", "w", "i"]
SUBSCRIPTS = dict(zip("aehijklmnoprstuvx", "ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ"))


class Namer:
    """Display names of indices: given ones first, then typed names, then the pool."""

    def __init__(self, given: dict[str, str], shown: dict[str, str]) -> None:
        self.names = dict(given)
        self.shown = shown
        self.used = set(given.values())

    def __call__(self, key: str) -> str:
        if key not in self.names:
            typed = self.shown.get(key)
            if typed and typed not in self.used:
                name = typed
            else:
                name = next((p for p in POOL if p not in self.used), None) or f"i{len(self.used)}"
            self.names[key] = name
            self.used.add(name)
        return self.names[key]

    def visit(self, e: R.Ricci) -> None:
        """Name the bound indices in order of appearance (outer sums first)."""
        stack = [e]
        while stack:
            x = stack.pop()
            if isinstance(x, R.Sum):
                for k in x.idx:
                    self(k)
            if isinstance(x, R.VecFn):
                self(x.axis)
            if isinstance(x, R.MatFn):
                self(x.axes[0])
                self(x.axes[1])
            stack.extend(reversed(R.children(x)))


def _num(v: Fraction) -> str:
    return str(v.numerator) if v.denominator == 1 else f"{v.numerator}/{v.denominator}"


class IndexPrinter:
    """One walker; the style picks the glyphs."""

    def __init__(self, namer: Namer, style: str = "text") -> None:
        self.n = namer
        self.style = style

    # glyphs ---------------------------------------------------------------------
    def name(self, s: str) -> str:
        if self.style == "text":
            return s
        sym = Sym(s, (1, 1))
        return to_unicode(sym) if self.style == "unicode" else to_latex(sym)

    def subs(self, keys) -> str:
        names = [self.n(k) for k in keys]
        if self.style == "latex":
            return "_{" + "".join(names) + "}" if all(len(x) == 1 for x in names) else "_{" + ",".join(names) + "}"
        if self.style == "unicode" and all(x in SUBSCRIPTS for x in names):
            return "".join(SUBSCRIPTS[x] for x in names)
        return "[" + ",".join(names) + "]"

    def times(self) -> str:
        return {"text": "*", "unicode": "·", "latex": " "}[self.style]

    def paren(self, s: str) -> str:
        return f"\\left({s}\\right)" if self.style == "latex" else f"({s})"

    def fn(self, name: str, arg: str) -> str:
        if self.style == "latex":
            return f"\\operatorname{{{name}}}\\left({arg}\\right)"
        return f"{name}({arg})"

    def sigma(self, keys) -> str:
        names = [self.n(k) for k in keys]
        if self.style == "text":
            return "sum_" + (names[0] if len(names) == 1 else "{" + ",".join(names) + "}")
        if self.style == "unicode":
            if all(x in SUBSCRIPTS for x in names):
                return "Σ" + "".join(SUBSCRIPTS[x] for x in names)
            return "Σ_" + (names[0] if len(names) == 1 else "{" + ",".join(names) + "}")
        return "\\sum_{" + ",".join(names) + "}"

    # the walk ---------------------------------------------------------------------
    def __call__(self, e: R.Ricci) -> str:
        return self.p(e)[0]

    def p(self, e: R.Ricci) -> tuple[str, int]:
        """(text, precedence): 1 sum, 2 product, 3 power, 4 atom."""
        if isinstance(e, R.Const):
            v = e.value
            if self.style == "latex" and v.denominator != 1:
                return f"\\frac{{{v.numerator}}}{{{v.denominator}}}", 4 if v > 0 else 2
            return _num(v), 4 if v >= 0 and v.denominator == 1 else 2
        if isinstance(e, R.Entry):
            return self.name(e.name) + (self.subs(e.idx) if e.idx else ""), 4
        if isinstance(e, R.Delta):
            if self.style == "text":
                return f"delta({self.n(e.i)},{self.n(e.j)})", 4
            return ("δ" if self.style == "unicode" else "\\delta") + self.subs((e.i, e.j)), 4
        if isinstance(e, R.Add):
            out = ""
            for n, t in enumerate(e.terms):
                neg, body = _negated(t)
                s, prec = self.p(body)
                s = self.paren(s) if prec < 2 else s
                minus = "−" if self.style == "unicode" else "-"
                if n == 0:
                    out = (minus if neg else "") + s
                else:
                    out += (f" {minus} " if neg else " + ") + s
            return out, 1
        if isinstance(e, R.Prod):
            neg, body = _negated(e)
            factors = body.factors if isinstance(body, R.Prod) else (body,)
            num = [f for f in factors if not _reciprocal(f)]
            den = [f.base for f in factors if _reciprocal(f)]
            parts = []
            for f in num:
                s, prec = self.p(f)
                parts.append(self.paren(s) if prec < 2 else s)
            top = self.times().join(parts) if parts else "1"
            if den:
                ds = [self.p(d) for d in den]
                if self.style == "latex":
                    bottom = self.times().join(s for s, _ in ds)
                    top = f"\\frac{{{top}}}{{{bottom}}}"
                else:
                    bottom = self.times().join(self.paren(s) if pr < 3 else s for s, pr in ds)
                    bottom = self.paren(bottom) if len(ds) > 1 else bottom
                    top = f"{top}/{bottom}"
            return ("-" if neg else "") + top, 2
        if isinstance(e, R.Pow):
            if e.exp == R.Const(Fraction(1, 2)):
                return self.fn("sqrt", self.p(e.base)[0]), 4
            b, prec = self.p(e.base)
            x, xp = self.p(e.exp)
            b = self.paren(b) if prec < 4 else b
            if self.style == "latex":
                return f"{b}^{{{x}}}", 3
            return f"{b}^{x if xp == 4 else self.paren(x)}", 3
        if isinstance(e, R.Fn):
            return self.fn(e.name, self.p(e.arg)[0]), 4
        if isinstance(e, R.VecFn):
            arg = e.arg
            if isinstance(arg, R.Entry) and arg.idx.count(e.axis) == 1:
                inner = self.name(arg.name) + "[" + ",".join(":" if k == e.axis else self.n(k) for k in arg.idx) + "]"
                head = self.fn(e.name, inner)
            else:
                head = self.fn(e.name + "_" + self.n(e.axis), self.p(arg)[0])
            return head + (self.subs((e.at,)) if e.at else ""), 4
        if isinstance(e, R.MatFn):
            arg = e.arg
            r, c = e.axes
            if isinstance(arg, R.Entry) and arg.idx.count(r) == 1 and arg.idx.count(c) == 1 \
                    and arg.idx.index(r) < arg.idx.index(c):
                inner = self.name(arg.name) + "[" + ",".join(":" if k in e.axes else self.n(k) for k in arg.idx) + "]"
                head = self.fn(e.name, inner)
            else:
                head = self.fn(e.name + "_{" + self.n(r) + "," + self.n(c) + "}", self.p(arg)[0])
            return head + (self.subs(e.at) if e.at else ""), 4
        if isinstance(e, R.Sum):
            body, _ = self.p(e.body)
            if self.style == "latex":
                return f"{self.sigma(e.idx)} {self.paren(body) if isinstance(e.body, R.Add) else body}", 2
            return f"{self.sigma(e.idx)}{self.paren(body)}", 4
        raise TypeError(type(e).__name__)


def _negated(e: R.Ricci) -> tuple[bool, R.Ricci]:
    if isinstance(e, R.Prod) and isinstance(e.factors[0], R.Const) and e.factors[0].value < 0:
        c = -e.factors[0].value
        return True, R.prod(R.Const(c), *e.factors[1:])
    if isinstance(e, R.Const) and e.value < 0:
        return True, R.Const(-e.value)
    return False, e


def _reciprocal(f: R.Ricci) -> bool:
    return isinstance(f, R.Pow) and f.exp == R.Const(Fraction(-1))


def index_text(e: R.Ricci, given: dict[str, str], shown: dict[str, str], style: str = "text") -> str:
    namer = Namer(given, shown)
    namer.visit(e)
    return IndexPrinter(namer, style)(e)
