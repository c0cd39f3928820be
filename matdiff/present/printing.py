"""Printers: text in the input syntax (it parses back to the same tree),
unicode (ᵀ ⊙ ⊗ ⁻¹) and LaTeX.  One walker, three small glyph tables."""
from __future__ import annotations

import re
from fractions import Fraction

from ..core.nodes import (Add, Commutation, D, Differential, DimSize, Expr, Func, Hadamard, Identity, Kron,
                          MatPow, Mul, Num, Ones, Power, Sym, Transpose, Unvec, Where, shape_text, PRINTERS, Group)
from ..core.catalogue import INTERNAL, lookup
from ..core.declared import Declared, spelling

# precedence levels, lowest first
SUM, KRON, PRODUCT, UNARY, POWER, POSTFIX, ATOM = range(7)

GREEK = {"alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "varepsilon": "ε",
         "zeta": "ζ", "eta": "η", "theta": "θ", "vartheta": "ϑ", "iota": "ι", "kappa": "κ",
         "lambda": "λ", "mu": "μ", "nu": "ν", "xi": "ξ", "omicron": "ο", "pi": "π", "rho": "ρ",
         "varrho": "ϱ", "sigma": "σ", "tau": "τ", "upsilon": "υ", "phi": "φ", "varphi": "φ",
         "chi": "χ", "psi": "ψ", "omega": "ω", "Gamma": "Γ", "Delta": "Δ", "Theta": "Θ",
         "Lambda": "Λ", "Xi": "Ξ", "Pi": "Π", "Sigma": "Σ", "Phi": "Φ", "Psi": "Ψ", "Omega": "Ω"}
SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def _number(v: Fraction) -> str:
    if v.denominator == 1:
        return str(v.numerator)
    d, twos, fives = v.denominator, 0, 0
    while d % 2 == 0:
        d, twos = d // 2, twos + 1
    while d % 5 == 0:
        d, fives = d // 5, fives + 1
    fraction = f"{v.numerator}/{v.denominator}"
    if d != 1:
        return fraction
    s = repr(float(v))  # a decimal: as the float prints it when that is exact, else m·10⁻ᵏ (3e-400, not 0.0)
    if "inf" not in s and Fraction(s) == v:
        return s
    k = max(twos, fives)
    scientific = f"{(v * 10**k).numerator}e-{k}"
    return scientific if len(scientific) < len(fraction) else fraction


class TextPrinter:
    """The input syntax: ``2*beta*X*sign(X'X - I)``."""

    times = "*"
    minus = "-"
    hadamard = " .* "
    ediv = " ./ "

    def __call__(self, e: Expr) -> str:
        return self.p(e)[0]

    # each method returns (text, precedence)
    def p(self, e: Expr) -> tuple[str, int]:
        method = getattr(self, "_" + type(e).__name__)
        return method(e)

    def wrap(self, e: Expr, level: int, strict: bool = False) -> str:
        s, prec = self.p(e)
        return f"({s})" if prec < level or (strict and prec == level) else s

    # leaves
    def name(self, s: str) -> str:
        return s

    def _Sym(self, e: Sym):
        return self.name(e.name), ATOM

    def _Num(self, e: Num):
        s = _number(e.value)
        if e.value < 0:
            return self.minus + _number(-e.value), UNARY
        return s, (PRODUCT if "/" in s else ATOM)

    def _Identity(self, e):
        return "I", ATOM

    def _Zero(self, e):
        return "0", ATOM

    def _Ones(self, e):
        if e.shape[0] == 1:
            return "vector(1)'", POSTFIX
        return ("vector(1)" if e.shape[1] == 1 else "matrix(1)"), ATOM

    def _Commutation(self, e: Commutation):
        return ("K" if e.m == e.n else f"K({e.m},{e.n})"), ATOM

    def _DimSize(self, e: DimSize):
        return f"{e.dim}", ATOM

    def _Differential(self, e: Differential):
        """dX; d(dx) for a name that starts with d, so that ddx never reads as a name."""
        name = self.name(e.var.name)
        return (f"d({name})" if e.var.name.startswith("d") else "d" + name), ATOM

    def _D(self, e: D):
        return f"d({self(e.arg)})", ATOM

    # operators
    def _Add(self, e: Add):
        terms = list(e.terms)
        from ..core import construct as A

        c = A.constant_scalar(e)
        if c is not None:  # (β + 1)𝟙: no term carries the shape
            return self._constant(c, e.shape)
        if any(isinstance(t, Commutation) for t in terms):  # I + K, as the textbooks write it
            terms.sort(key=lambda t: not isinstance(t, Identity))
        neg = [self._is_negative(t) for t in terms]
        if neg[0] and not all(neg):
            k = neg.index(False)
            terms.insert(0, terms.pop(k))
        out = ""
        for i, t in enumerate(terms):
            if i and self._is_negative(t):
                out += f" {self.minus} " + self._term(self._negate(t), i)
            elif i:
                out += " + " + self._term(t, i)
            else:
                out += self._term(t, i)
        return out, SUM

    def _constant(self, c: Expr, shape) -> tuple[str, int]:
        """The constant array with every entry c: vector(c), vector(c)', matrix(c)."""
        if shape[0] == 1:
            return f"vector({self(c)})'", POSTFIX
        return ("vector" if shape[1] == 1 else "matrix") + f"({self(c)})", ATOM

    def _term(self, t: Expr, i: int) -> str:
        """A term of a sum; c·𝟙 prints as the scalar c (it broadcasts)."""
        from ..core import construct as A

        c = A.constant_scalar(t)
        return self.wrap(t if c is None else c, KRON if c is None else PRODUCT)

    @staticmethod
    def _is_negative(t: Expr) -> bool:
        return (isinstance(t, Mul) and isinstance(t.factors[0], Num) and t.factors[0].value < 0) or (
            isinstance(t, Num) and t.value < 0)

    @staticmethod
    def _negate(t: Expr) -> Expr:
        from ..core import construct as A

        return A.neg(t)

    def _Mul(self, e: Mul):
        factors = list(e.factors)
        coef = Fraction(1)
        if isinstance(factors[0], Num):
            coef = factors.pop(0).value
        num_f: list[Expr] = []
        den_f: list[Expr] = []
        for f in factors:
            if isinstance(f, Power) and f.is_scalar and isinstance(f.exp, Num) and f.exp.value < 0:
                from ..core import construct as A

                den_f.append(A.power(f.base, Num(-f.exp.value)))
            else:
                num_f.append(f)
        sign = self.minus if coef < 0 else ""
        coef = abs(coef)
        cnum, cden = Fraction(coef.numerator), coef.denominator
        parts: list[str] = []
        if cnum != 1 or not num_f:
            parts.append(str(cnum.numerator))
        if len(num_f) == 1 and isinstance(num_f[0], Hadamard) and parts:
            # 2*(A .* X) = 2*A .* X: the coefficient joins the first factor
            had_text, _ = self._Hadamard(num_f[0])
            num_f = []
            body = had_text
        else:
            body = self.chain(num_f, first=not parts)
        text = self.times.join(parts + ([body] if body else []))
        dens: list[str] = ([str(cden)] if cden != 1 else []) + [self.wrap(f, POWER) for f in den_f]
        if dens:
            if len(dens) == 1:
                text += "/" + dens[0]
            else:
                text += "/(" + self.times.join(dens) + ")"
        if sign:
            # a leading minus binds tighter than the product
            return sign + text, UNARY if not dens and len(parts) + len(num_f) <= 1 else PRODUCT
        return text, PRODUCT

    def chain(self, fs: list[Expr], first: bool) -> str:
        """A matrix chain; an element-wise product leading it is parenthesised, ((y - t) .* y)*x',
        which grouping to the left makes optional but a reader should not have to work out."""
        out = ""
        fs = [g for g in _inlined(fs, Mul)] if any(isinstance(f, Group) for f in fs) else fs
        for i, f in enumerate(fs):
            leading_hadamard = i == 0 and len(fs) > 1 and isinstance(f, Hadamard)
            s = self.wrap(f, PRODUCT, strict=not (first and i == 0) or leading_hadamard)
            if i == 0:
                out = s
            elif self._juxtapose(fs[i - 1], f):
                out += s
            else:
                out += self.times + s
        return out

    def _juxtapose(self, a: Expr, b: Expr) -> bool:
        """X'X: a transposed name followed by the same name."""
        return isinstance(a, Transpose) and isinstance(a.arg, Sym) and a.arg == b and "[" not in b.name

    def _Hadamard(self, e: Hadamard):
        factors = _inlined(e.factors, Hadamard)
        num_f = [f for f in factors if not _negative_power(f)]
        den_f = [f for f in factors if _negative_power(f)]
        parts = [self.wrap(f, PRODUCT, strict=i > 0) for i, f in enumerate(num_f)]
        text = self.hadamard.join(parts) if parts else "1"
        for f in den_f:
            from ..core import construct as A

            text += self.ediv + self.wrap(A.power(f.base, Num(-f.exp.value)), PRODUCT, strict=True)
        return text, PRODUCT

    def _Kron(self, e: Kron):
        return "kron(" + ", ".join(self(f) for f in e.factors) + ")", ATOM

    def _Group(self, e: Group):
        return self.p(e.arg)

    def _Transpose(self, e: Transpose):
        a = e.arg
        if isinstance(a, Func) and a.name == "inv":
            return self.inv_transpose(a.arg)
        if isinstance(a, Group) and _symmetric_factors(a):  # (S₁⋯Sₖ)ᵀ = Sₖ⋯S₁
            return self.p(Mul(tuple(reversed(_inlined([a], Mul))), (a.shape[1], a.shape[0])))
        return self.wrap(a, POSTFIX) + self.transpose_mark(), POSTFIX

    def transpose_mark(self) -> str:
        return "'"

    def inv_transpose(self, a: Expr):
        return f"inv({self(a)})'", POSTFIX

    def func_name(self, name: str) -> str:
        return INTERNAL.get(name, name)

    def _Func(self, e: Func):
        return f"{self.func_name(e.name)}({self(e.arg)})", ATOM

    declared_style = "text"

    def _Declared(self, e: Declared):
        """f(u), f'(u), grad_g(u) (SPEC §7)."""
        return f"{spelling(e, self.declared_style)}({self(e.arg)})", ATOM

    def _Power(self, e: Power):
        if not e.is_scalar and e.exp == Num(Fraction(-1)):  # A .^ -1 reads 1 ./ A
            return "1" + self.ediv + self.wrap(e.base, PRODUCT, strict=True), PRODUCT
        base = self.wrap(e.base, POSTFIX)
        ex = self.exponent(e.exp)
        op = "^" if e.is_scalar else " .^ "
        return f"{base}{op}{ex}", POWER

    def exponent(self, p: Expr) -> str:
        if isinstance(p, Num):
            return _number(p.value) if "/" not in _number(p.value) else f"({_number(p.value)})"
        return self.wrap(p, POSTFIX)

    def _MatPow(self, e: MatPow):
        return f"{self.wrap(e.base, POSTFIX)}^{e.k}", POWER

    def _Unvec(self, e: Unvec):
        return f"unvec({self(e.arg)}, {e.shape[0]})", ATOM

    where_word = "  where "
    where_comma = ", "

    def _Where(self, e: Where):
        """``body  where u = …, v = …``: a chain of names, in the order they are computed."""
        defs = []
        while isinstance(e, Where):
            defs.append(f"{self(e.name)} = {self(e.value)}")
            e = e.body
        return f"{self(e)}{self.where_word}{self.where_comma.join(defs)}", SUM


GROUP_TRANSPOSED_IN_LINE = 64
"""Up to this many factors, the transpose of a product of symmetric matrices kept whole (a Group,
built for sharing: the Jacobians of a nest of vector functions) is printed as the product reversed."""


def _symmetric_factors(g: Group) -> bool:
    """Whether the product g, written in line, has at most GROUP_TRANSPOSED_IN_LINE factors, all symmetric."""
    if not isinstance(g.arg, Mul):
        return False
    from ..core.construct import is_symmetric  # the printer sits at the end of the pipeline

    fs = _inlined([g], Mul)
    return len(fs) <= GROUP_TRANSPOSED_IN_LINE and all(not f.is_scalar and is_symmetric(f) for f in fs)


def _inlined(factors, kind) -> list[Expr]:
    """The factors with those of a kept-whole product of the same kind written in line:
    A ⊙ (B ⊙ C) prints A .* B .* C (the grouping is for sharing, not for reading)."""
    out: list[Expr] = []
    stack = list(reversed(factors))
    while stack:
        f = stack.pop()
        if isinstance(f, Group) and isinstance(f.arg, kind) and not any(g.is_scalar for g in f.arg.factors):
            stack.extend(reversed(f.arg.factors))
        else:
            out.append(f)
    return out


def _negative_power(f: Expr) -> bool:
    return isinstance(f, Power) and isinstance(f.exp, Num) and f.exp.value < 0


def _scaled_ones(printer: TextPrinter, c: Expr, shape) -> tuple[str, int]:
    """A constant array in mathematical notation: (β + 1)𝟙."""
    return f"{printer.wrap(c, PRODUCT, strict=True)}{printer.times}{printer(Ones(shape))}", PRODUCT


class UnicodePrinter(TextPrinter):
    """Mathematical notation in plain unicode: ``2 β X sign(XᵀX − I)``."""

    declared_style = "unicode"

    times = " "
    minus = "−"
    hadamard = " ⊙ "
    ediv = " ⊘ "

    def name(self, s: str) -> str:
        if "[" in s:  # a slice, Phi[:,i,:] (SPEC §6)
            base, _, rest = s.partition("[")
            return self.name(base) + "[" + rest
        base = s.partition("_")[0]
        return GREEK.get(base, base) + s[len(base):]  # beta_1 → β_1; x_ and _ keep their '_'

    def _Ones(self, e):
        return ("𝟙ᵀ", POSTFIX) if e.shape[0] == 1 and e.shape[1] != 1 else ("𝟙", ATOM)

    def _constant(self, c: Expr, shape) -> tuple[str, int]:
        return _scaled_ones(self, c, shape)

    def _Num(self, e: Num):
        s, prec = super()._Num(e)
        return s.replace("-", "−"), prec

    def transpose_mark(self) -> str:
        return "ᵀ"

    def inv_transpose(self, a: Expr):
        return self.wrap(a, POSTFIX) + "⁻ᵀ", POSTFIX

    def _Kron(self, e: Kron):
        return " ⊗ ".join(self.wrap(f, PRODUCT) for f in e.factors), KRON

    def _Commutation(self, e: Commutation):
        return f"K₍{e.m},{e.n}₎", ATOM

    def _Func(self, e: Func):
        rec = lookup(e.name)
        if rec is not None and rec.unicode:
            return _spelled(self, rec.unicode, e.arg)
        return super()._Func(e)

    def _Power(self, e: Power):
        base = self.wrap(e.base, POSTFIX)
        if isinstance(e.exp, Num) and e.exp.value.denominator == 1:
            sup = str(e.exp.value.numerator).translate(SUPERSCRIPT)
            return (f"{base}{sup}" if e.is_scalar else f"{base}^∘{e.exp.value.numerator}"), POWER
        op = "^" if e.is_scalar else "^∘"
        return f"{base}{op}{self.exponent(e.exp)}", POWER

    def _MatPow(self, e: MatPow):
        return f"{self.wrap(e.base, POSTFIX)}{str(e.k).translate(SUPERSCRIPT)}", POWER

    where_word = ",  "


_TEMPLATE_SLOT = re.compile(r"\{([0pa])\}")


def _spelled(printer: TextPrinter, template: str, arg: Expr) -> tuple[str, int]:
    """A catalogue spelling: {0} the argument, {p} it as the operand of a postfix mark, {a} it as an atom."""
    parts = {"0": lambda: printer(arg), "p": lambda: printer.wrap(arg, POSTFIX), "a": lambda: printer.wrap(arg, ATOM)}
    text = _TEMPLATE_SLOT.sub(lambda m: parts[m.group(1)](), template)
    return text, (POSTFIX if "{p}" in template else ATOM)


class LatexPrinter(TextPrinter):
    """LaTeX: ``2 \\beta X \\operatorname{sign}(X^{\\top} X - I)``."""

    declared_style = "latex"

    def _Declared(self, e: Declared):
        return rf"{spelling(e, 'latex')}\left({self(e.arg)}\right)", ATOM

    times = " "
    minus = "-"
    hadamard = r" \odot "
    ediv = r" \oslash "

    def name(self, s: str) -> str:
        if "[" in s:  # a slice, Phi[:,i,:] → \Phi_{:,i,:} (SPEC §6)
            base, _, rest = s.partition("[")
            return self.name(base) + "_{" + rest[:-1] + "}"
        base, _, sub = s.partition("_")
        if not base or s.endswith("_") or "__" in s:  # _w, x_, x__1: upright, its underscores escaped
            return r"\mathrm{" + s.replace("_", r"\_") + "}"
        if not sub:
            i = len(base.rstrip("0123456789"))
            base, sub = base[:i], base[i:]
        if base in GREEK:
            b = "\\" + base
        elif len(base) == 1 or "\u0370" <= base[0] <= "\u03ff":
            b = base
        else:
            b = r"\mathrm{" + base + "}"
        return b + (f"_{{{sub}}}" if sub else "")

    def _Ones(self, e):
        if e.shape[0] == 1 and e.shape[1] != 1:
            return r"\mathbf{1}^{\top}", POSTFIX
        return r"\mathbf{1}", ATOM

    def _constant(self, c: Expr, shape) -> tuple[str, int]:
        return _scaled_ones(self, c, shape)

    def _Num(self, e: Num):
        v = e.value
        if v.denominator != 1 and v > 0:
            return rf"\frac{{{v.numerator}}}{{{v.denominator}}}", ATOM
        return super()._Num(e)

    def _Commutation(self, e: Commutation):
        return f"K_{{{e.m}{e.n}}}", ATOM

    def _Differential(self, e: Differential):
        return r"\mathrm{d}" + self.name(e.var.name), ATOM

    def _D(self, e: D):
        return rf"\mathrm{{d}}\left({self(e.arg)}\right)", ATOM

    def _DimSize(self, e: DimSize):
        return str(e.dim).replace("*", ""), ATOM

    def _juxtapose(self, a: Expr, b: Expr) -> bool:
        return False

    def transpose_mark(self) -> str:
        return r"^{\top}"

    def inv_transpose(self, a: Expr):
        return self.wrap(a, POSTFIX) + r"^{-\top}", POSTFIX

    def _Kron(self, e: Kron):
        return r" \otimes ".join(self.wrap(f, PRODUCT) for f in e.factors), KRON

    def wrap(self, e: Expr, level: int, strict: bool = False) -> str:
        s, prec = self.p(e)
        return rf"\left({s}\right)" if prec < level or (strict and prec == level) else s

    def _Func(self, e: Func):
        rec = lookup(e.name)
        if rec is not None and rec.latex:
            return _spelled(self, rec.latex, e.arg)
        return rf"\operatorname{{{self.func_name(e.name)}}}\left({self(e.arg)}\right)", ATOM

    def _Power(self, e: Power):
        base = self.wrap(e.base, POSTFIX, strict=True)  # no double superscripts
        ex = self(e.exp)
        return (f"{base}^{{{ex}}}" if e.is_scalar else rf"{base}^{{\circ {ex}}}"), POWER

    def _MatPow(self, e: MatPow):
        return f"{self.wrap(e.base, POSTFIX, strict=True)}^{{{e.k}}}", POWER

    def _Unvec(self, e: Unvec):
        return rf"\operatorname{{unvec}}\left({self(e.arg)}\right)", ATOM

    where_word = r", \quad "
    where_comma = r",\ "


_TEXT, _UNICODE, _LATEX = TextPrinter(), UnicodePrinter(), LatexPrinter()


def to_text(e: Expr) -> str:
    return _TEXT(e)


def to_unicode(e: Expr) -> str:
    return _UNICODE(e)


def to_latex(e: Expr) -> str:
    return _LATEX(e)


def _cached_text() -> TextPrinter:
    """A text printer that prints each node once (by identity) for as long as it lives: for
    passes that print many candidates sharing their parts."""
    class Cached(TextPrinter):
        def __init__(self) -> None:
            self.memo: dict[int, tuple[Expr, tuple[str, int]]] = {}

        def p(self, e: Expr) -> tuple[str, int]:
            hit = self.memo.get(id(e))
            if hit is None or hit[0] is not e:
                hit = self.memo[id(e)] = (e, super().p(e))
            return hit[1]
    return Cached()


to_text.cached = _cached_text  # type: ignore[attr-defined]

PRINTERS.update(text=to_text, latex=to_latex)

__all__ = ["to_text", "to_unicode", "to_latex", "shape_text"]
