"""Emitting: the text of one generated function from an operation graph.

Every non-trivial node used more than once, and every ``where`` part,
becomes a temporary, and a target printer writes the function.  Inside the
function vectors are 2-D columns; the result comes back in the layouts of
SPEC §5 (a float for a scalar, 1-D for a vector or a row, 2-D otherwise), as
``Result.lambdify()`` gives them.  Nothing here evaluates user text.
"""
from __future__ import annotations

import keyword
from fractions import Fraction
from typing import Callable

from ...core.catalogue import WITH_HELPER
from ...core.nodes import SCALAR, Expr, Shape, Sym
from ...errors import UsageError
from ..declared_numeric import code_arguments, code_call
from .lowering import Lowering, Op, _lower, is_trivial, postorder, use_counts
from .targets import Target, _needs_helper
from .targets import target as target_named

HELPER_ORDER = ("kron", "commutation_perm", "commutation", "adjugate", "multi_dot") + WITH_HELPER + ("float_dtype",)
"""The helpers a generated function may define, in the order they are written."""


def py_name(name: str) -> str:
    """A Python identifier for a matdiff name (``lambda`` → ``lambda_``)."""
    return name + "_" if keyword.iskeyword(name) else name


# ---------------------------------------------------------------------------------------------
# names
# ---------------------------------------------------------------------------------------------
class Namer:
    """Hands out Python identifiers that clash with nothing taken so far."""

    def __init__(self, taken: set[str] | None = None) -> None:
        self.taken: set[str] = set(taken or ())

    def fresh(self, base: str) -> str:
        name = "".join(ch if (ch.isalnum() or ch == "_") else "_" for ch in base) or "t"
        if not name.isidentifier():
            name = "_" + name
        if keyword.iskeyword(name):
            name += "_"
        while name in self.taken or keyword.iskeyword(name):
            name += "_"
        self.taken.add(name)
        return name


# ---------------------------------------------------------------------------------------------
# printing
# ---------------------------------------------------------------------------------------------
ATOM, POW, UNARY, MUL, ADD, LOWEST = 100, 90, 80, 70, 60, 0
class Printer:
    """Op graph → source text of one target, with temporaries printed as their names."""

    def __init__(self, target: Target, mod: str, temps: dict[int, str], dims: Callable[[object], str],
                 helper: Callable[[str], str]) -> None:
        self.t = target
        self.m = mod
        self.temps = temps
        self.dim = dims
        self.helper = helper

    def text(self, op: Op, prec: int = LOWEST) -> str:
        s, p = self.render(op)
        return f"({s})" if p < prec else s

    def render(self, op: Op, defining: bool = False) -> tuple[str, int]:
        name = self.temps.get(id(op))
        if name is not None and not defining:
            return name, ATOM
        return getattr(self, "_" + op.kind)(op)

    # -- leaves -----------------------------------------------------------------------------------
    def _arg(self, op: Op) -> tuple[str, int]:
        return self.temps[id(op)], ATOM  # arguments are always named

    def _declared(self, op: Op) -> tuple[str, int]:
        a = op.args[0]
        return code_call(op.attr[0], self.text(a, ATOM if a.shape[1] == 1 and a.shape[0] != 1 else LOWEST),
                         a.shape), ATOM

    def _num(self, op: Op) -> tuple[str, int]:
        return _number(op.attr[0])

    def _dim(self, op: Op) -> tuple[str, int]:
        s = self.dim(op.attr[0])
        return s, (MUL if "*" in s else ATOM)

    def _eye(self, op: Op) -> tuple[str, int]:
        return self.t.eye.format(m=self.m, n=self.dim(op.shape[0])), ATOM

    def _zeros(self, op: Op) -> tuple[str, int]:
        return self.t.zeros.format(m=self.m, r=self.dim(op.shape[0]), c=self.dim(op.shape[1])), ATOM

    def _ones(self, op: Op) -> tuple[str, int]:
        return self.t.ones.format(m=self.m, r=self.dim(op.shape[0]), c=self.dim(op.shape[1])), ATOM

    # -- operators --------------------------------------------------------------------------------
    def _add(self, op: Op) -> tuple[str, int]:
        parts: list[str] = []
        for k, (sign, term) in enumerate(zip(op.attr, op.args)):
            if k == 0:
                parts.append(("-" + self.text(term, POW)) if sign < 0 else self.text(term, ADD))
            else:
                parts.append((" - " if sign < 0 else " + ") + self.text(term, ADD + 1))
        return "".join(parts), ADD

    def _factors(self, op: Op) -> list[Op]:
        """The numerators of a product, with nested plain products (not temporaries) spliced in."""
        out: list[Op] = []
        for f in op.args[:op.attr[1]]:
            if (f.kind == "prod" and id(f) not in self.temps and f.attr[0] == 1
                    and f.attr[1] == len(f.args)):
                out.extend(self._factors(f))
            else:
                out.append(f)
        return out

    def _prod(self, op: Op) -> tuple[str, int]:
        coef, k = op.attr
        nums = [f for f in self._factors(op) if not (f.kind == "num" and f.attr[0] == 1)]
        dens = [self.text(d, MUL + 1) for d in op.args[k:]]
        if coef.denominator != 1 and len(_decimal(coef)) > 6:  # (2/3)·x → 2 * x / 3
            dens.insert(0, str(coef.denominator))
            coef = Fraction(coef.numerator)
        if not nums and not dens:
            return _number(coef)
        lead = "-" if coef == -1 and nums else ""
        texts = [] if lead or (coef == 1 and nums) else [_number(coef)[0]]
        for f in nums:  # `a @ b * c` is legal Python but reads badly: parenthesise matrix products
            first = POW if lead else (MUL + 1 if f.kind == "matmul" else MUL)
            texts.append(self.text(f, first if not texts else MUL + 1))
        s = lead + " * ".join(texts) + "".join(" / " + d for d in dens)
        return s, (UNARY if lead and len(texts) == 1 and not dens else MUL)

    def _matmul(self, op: Op) -> tuple[str, int]:
        a, b = op.args
        if self.t.name == "jax" and a.kind == "T" and b.shape[1] == 1 and op.shape[0] != 1:
            # Mᵀ v as (vᵀ M)ᵀ: XLA on a CPU copies M to transpose it for a matrix-vector product
            return f"({self.text(b, ATOM)}.T @ {self.text(a.args[0], MUL + 1)}).T", ATOM
        return f"{self.text(a, MUL + 1 if a.kind == 'prod' else MUL)} @ {self.text(b, MUL + 1)}", MUL

    def _multidot(self, op: Op) -> tuple[str, int]:
        helper = self.helper("multi_dot") if "{h}" in self.t.multidot else ""
        return self.t.multidot.format(m=self.m, h=helper, args=", ".join(self.text(a) for a in op.args)), ATOM

    def _item(self, op: Op) -> tuple[str, int]:
        return f"{self.text(op.args[0], ATOM)}[0, 0]", ATOM

    def _T(self, op: Op) -> tuple[str, int]:
        return f"{self.text(op.args[0], ATOM)}.T", ATOM

    def _pow(self, op: Op) -> tuple[str, int]:
        base, p = op.args
        if p.kind == "num" and p.attr[0] == Fraction(1, 2):
            return self._call_text("sqrt", [base]), ATOM
        k = multiplied_power(op, self.t)
        if k and _named(base, self.temps):  # t ** 3 as t * t * t: NumPy's ** calls pow for each entry
            return " * ".join([self.text(base, ATOM)] * k), MUL
        exp = self.text(p, ATOM) if p.kind != "num" else _number(p.attr[0], in_power=True)[0]
        return f"{self.text(base, ATOM)} ** {exp}", POW

    def _call(self, op: Op) -> tuple[str, int]:
        fname = op.attr[0]
        extra = op.attr[1:]
        if fname == "vec":
            return self.t.vec.format(self.text(op.args[0], ATOM)), ATOM
        if fname == "unvec":
            return self.t.unvec.format(self.text(op.args[0], ATOM), r=self.dim(extra[0]), c=self.dim(extra[1])), ATOM
        return self._call_text(fname, list(op.args), extra), ATOM

    def _call_text(self, fname: str, args: list[Op], extra: tuple = ()) -> str:
        tpl = self.t.calls.get(fname)
        if tpl is None:
            raise UsageError(f"no {self.t.name} code for the function '{fname}'")
        texts = []
        for i, a in enumerate(args):
            postfix = tpl.startswith("{%d}." % i) or tpl.startswith("{%d}[" % i) or "({%d} >" % i in tpl
            s = self.text(a, ATOM if postfix else LOWEST)
            if _is_python_number(a) and not postfix:
                s = self.t.number_arg.format(m=self.m, x=s)
            elif _is_python_number(a):
                s = "(" + self.t.number_arg.format(m=self.m, x=s) + ")"
            texts.append(s)
        fmt: dict[str, str] = {"m": self.m}
        helper = _needs_helper(fname, self.t)
        if helper is not None:
            fmt["h"] = self.helper(helper)
        if fname in ("commutation", "rows_perm", "cols_perm"):
            fmt["r"], fmt["c"] = self.dim(extra[0]), self.dim(extra[1])
        if fname == "matrix_power":
            fmt["k"] = str(extra[0])
        return tpl.format(*texts, **fmt)


MULTIPLIED_POWERS = (3, 4)
"""Whole exponents that generated NumPy writes as products (t * t * t): NumPy's ``**`` is fast for
the exponents 2 and ½ only, and ``t ** 3`` calls ``pow`` for every entry, about a hundred times
slower; JAX's and PyTorch's powers of whole exponents are multiplications already."""


def multiplied_power(op: Op, target: Target) -> int:
    """k when op is an array to the power k that the target's code writes as k factors, else 0."""
    if target.name != "numpy" or op.kind != "pow" or op.is_scalar:
        return 0
    p = op.args[1]
    return int(p.attr[0]) if p.kind == "num" and p.attr[0] in MULTIPLIED_POWERS else 0


def _named(op: Op, temps: dict[int, str]) -> bool:
    """op prints as a name (an argument, a temporary, or the transpose of one)."""
    if op.kind == "T":
        op = op.args[0]
    return id(op) in temps or is_trivial(op)


def _is_python_number(op: Op) -> bool:
    """True when op is a plain Python number at run time (literals and dimension sizes)."""
    if op.kind in ("num", "dim"):
        return True
    return op.kind in ("prod", "add", "pow") and all(_is_python_number(a) for a in op.args)


def _decimal(v: Fraction) -> str:
    """repr(float(v)); empty beyond the float range (a ratio of huge integers)."""
    try:
        return repr(float(v))
    except OverflowError:
        return ""


def _number(v: Fraction, in_power: bool = False) -> tuple[str, int]:
    """A rational as a Python literal: 2, 0.5, or (1 / 3)."""
    if not _decimal(v):  # beyond the float range: ±inf, as evaluation gives
        s = "float('inf')" if v > 0 else "-float('inf')"
    elif v.denominator == 1:
        s = str(v.numerator)
    elif len(_decimal(v)) <= 6:
        s = _decimal(v)
    else:
        s = f"({v.numerator} / {v.denominator})"
        return s, ATOM
    if v < 0:
        return (s, ATOM) if in_power else (s, UNARY)
    return s, ATOM


# ---------------------------------------------------------------------------------------------
# the function
# ---------------------------------------------------------------------------------------------
def _kind_text(s: Sym) -> str:
    shape = ", ".join(str(d) for d in s.shape)
    if s.is_scalar:
        return "scalar"
    if s.is_vector:
        return f"vector of length {s.shape[0]} (1-D array, or an ({s.shape[0]}, 1) column)"
    return f"{'symmetric matrix' if s.symmetric else 'matrix'} of shape ({shape})"


def _result_text(shape: Shape, target: Target) -> str:
    if shape == SCALAR:
        return {"numpy": "float", "jax": "0-d array", "torch": "0-d tensor"}[target.name]
    if shape[1] == 1 or shape[0] == 1:
        return f"1-D array of length {shape[0] if shape[1] == 1 else shape[1]}"
    return f"array of shape ({shape[0]}, {shape[1]})"


def _docstring(doc: str, symbols: dict[str, Sym], argnames: dict[str, str], shape: Shape,
               target: Target, functions: list[tuple[str, str]] = ()) -> list[str]:
    lines = [doc.strip() or "Generated by matdiff.", "", "Args:"]
    for n, s in symbols.items():
        line = f"    {argnames[n]}: {_kind_text(s)}."
        if argnames[n] != n:
            line += f" The variable `{n}`, renamed: `{n}` is a Python keyword (also `**{{'{n}': …}}`)." \
                if keyword.iskeyword(n) \
                else f" The variable `{n}`, renamed to avoid a clash."
        lines.append(line)
    lines += [f"    {n}: {what}." for n, what in functions]
    lines += ["", "Returns:", f"    {_result_text(shape, target)}."]
    text = "\n".join(lines).replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    out = text.split("\n")
    out[0] = '    """' + out[0]
    out = [out[0]] + [("    " + x) if x else "" for x in out[1:]] + ['    """']
    return out


def to_code(e: Expr, symbols: dict[str, Sym], target: str = "numpy", name: str = "f", doc: str = "") -> str:
    """Source of a self-contained function computing e: ``numpy``, ``jax`` or ``torch``.

    The function takes every name of ``symbols`` (a Python keyword gets a trailing ``_``,
    or is passed as ``**{"lambda": …}``), checks ranks and that dimensions agree, and returns
    the layout of SPEC §5.  JAX code computes in float32 unless ``jax_enable_x64`` is on;
    PyTorch code returns the inputs' floating dtype."""
    return emitter(target, symbols, name).function(e, doc)


def emitter(target: str, symbols: dict[str, Sym], name: str) -> Emitter:
    """The emitter of one generated function called ``name`` of ``symbols``, for a target."""
    tg = target_named(target)
    if not isinstance(name, str) or not name.isidentifier():
        raise UsageError(f"the function name must be a Python identifier, got {name!r}")
    return Emitter(tg, symbols, name)


class Emitter:
    """Names, argument checks, temporaries and the text of one generated function
    (:mod:`.multi` writes one function of several results with the same parts)."""

    def __init__(self, target: Target, symbols: dict[str, Sym], name: str) -> None:
        self.t = target
        self.symbols = symbols
        plain = {n for n in symbols if not keyword.iskeyword(n)}
        # the user's names and the function's first, so that nothing generated can clash with them
        self.name = py_name(name)
        self.float_shadowed = "float" in plain or self.name == "float"
        self.namer = Namer(plain | {"float", self.name})
        self.argnames = {n: (n if n in plain else self.namer.fresh(n)) for n in symbols}
        self.mod = self.namer.fresh(target.alias)
        self.helper_names: dict[str, str] = {}
        self.dim_vars: dict[str, str] = {}
        self.dim_origin: dict[str, str] = {}

    # -- names ----------------------------------------------------------------------------------
    def helper(self, h: str) -> str:
        if h == "commutation":
            self.helper("commutation_perm")
        if h not in self.helper_names:
            self.helper_names[h] = self.namer.fresh(h)
        return self.helper_names[h]

    def dim(self, d: object) -> str:
        """The run-time size of a symbolic dimension, from the variables read off the arrays."""
        if d == 1:
            return "1"
        key = str(d)
        if key in self.dim_vars:
            return self.dim_vars[key]
        parts = key.split("*")
        missing = [p for p in parts if p not in self.dim_vars]
        if missing:
            raise UsageError(f"cannot generate code: dimension {missing[0]} cannot be read off any argument")
        return " * ".join(self.dim_vars[p] for p in parts)

    # -- names that are Python keywords: lambda_=… or **{"lambda": …} (SPEC §5) ----------------------
    def signature(self, callables: list[str] = ()) -> str:
        """The parameters in order, then the callables of declared functions; from the first
        keyword name on they default to None, and ``**keywords`` takes the keyword spelled as itself."""
        names = list(self.symbols)
        first = next((i for i, n in enumerate(names) if keyword.iskeyword(n)), None)
        if first is None:
            return ", ".join([self.argnames[n] for n in names] + list(callables))
        self.rest = self.namer.fresh("keywords")
        return ", ".join([self.argnames[n] for n in names[:first]]
                         + [f"{self.argnames[n]}=None" for n in names[first:]]
                         + [f"{c}=None" for c in callables] + [f"**{self.rest}"])

    def keyword_arguments(self) -> list[str]:
        """Take ``lambda`` from ``**keywords``; an unknown or a missing argument is a TypeError."""
        rest = getattr(self, "rest", None)
        if rest is None:
            return []
        names = list(self.symbols)
        first = next(i for i, n in enumerate(names) if keyword.iskeyword(n))
        lines = []
        for n in names:
            if keyword.iskeyword(n):
                a = self.argnames[n]
                lines += [f"    if {a} is None:", f"        {a} = {rest}.pop({n!r}, None)"]
        lines += [f"    if {rest}:",
                  f'        raise TypeError(f"{self.name}() got unexpected arguments {{sorted({rest})}}")']
        for n in names[first:]:
            a = self.argnames[n]
            lines += [f"    if {a} is None:",
                      f'        raise TypeError("{self.name}() is missing the argument {a}'
                      + (f' (or {n})' if keyword.iskeyword(n) else '') + '")']
        return lines

    def input_dtype(self) -> tuple[str, str] | None:
        """PyTorch: (the line reading the inputs' floating dtype, its variable), so that the
        result comes back in it (float32 in, float32 out); None for the other targets."""
        if self.t.name != "torch":
            return None
        dtype = self.namer.fresh("dtype")
        args = ", ".join(self.argnames[n] for n in self.symbols)
        return f"    {dtype} = {self.helper('float_dtype')}({args})", dtype

    # -- argument checks ----------------------------------------------------------------------------
    def arguments(self) -> list[str]:
        """Conversion, rank and dimension checks for every argument; defines the dimension variables."""
        tg, mod = self.t, self.mod
        lines: list[str] = []
        products: list[tuple[str, int, str, str]] = []
        for n, s in self.symbols.items():
            a = self.argnames[n]
            lines.append(f"    {a} = {tg.asarray.format(m=mod, x=a)}")
            if s.is_scalar:
                lines += [f"    assert {a}.ndim == 0 or {a}.shape in ((1,), (1, 1)), "
                          f'f"{a} must be a scalar, got shape {{{a}.shape}}"',
                          f"    {a} = {a}.reshape(())"]
                continue
            if s.is_vector:
                lines += [f"    assert {a}.ndim == 1 or ({a}.ndim == 2 and {a}.shape[1] == 1), "
                          f'f"{a} must be a vector of length {s.shape[0]} (a 1-D array), got shape {{{a}.shape}}"',
                          f"    {a} = {a}.reshape(-1, 1)"]
                positions = [(0, s.shape[0], "entries")]
            else:
                lines.append(f'    assert {a}.ndim == 2, f"{a} must be a 2-D array of shape '
                             f'({s.shape[0]}, {s.shape[1]}), got shape {{{a}.shape}}"')
                positions = [(0, s.shape[0], "rows"), (1, s.shape[1], "columns")]
                if s.shape[0] == s.shape[1] and s.shape[0] != 1:
                    lines.append(f"    assert {a}.shape[0] == {a}.shape[1], "
                                 f'f"{a} must be square, got shape {{{a}.shape}}"')
                    positions = positions[:1]
            for i, d, word in positions:
                if d == 1:
                    if word != "entries":
                        lines.append(f"    assert {a}.shape[{i}] == 1, "
                                     f'f"{a} must have one {word[:-1]}, got shape {{{a}.shape}}"')
                    continue
                key = str(d)
                if "*" in key:
                    products.append((a, i, key, word))
                elif key in self.dim_vars:
                    var = self.dim_vars[key]
                    lines.append(f"    assert {a}.shape[{i}] == {var}, f\"{a} has {{{a}.shape[{i}]}} {word}; "
                                 f'expected {{{var}}}, the size of dimension {key} ({self.dim_origin[key]})"')
                else:
                    var = self.dim_vars[key] = self.namer.fresh("dim_" + key)
                    self.dim_origin[key] = f"the {word} of {a}"
                    lines.append(f"    {var} = {a}.shape[{i}]")
        for a, i, key, word in products:  # dimensions like m*n: checked once their factors are known
            if key not in self.dim_vars and any(p not in self.dim_vars for p in key.split("*")):
                var = self.dim_vars[key] = self.namer.fresh("dim_" + key.replace("*", "_"))
                self.dim_origin[key] = f"the {word} of {a}"
                lines.append(f"    {var} = {a}.shape[{i}]")
                continue
            size = self.dim(key)
            lines.append(f"    assert {a}.shape[{i}] == {size}, f\"{a} has {{{a}.shape[{i}]}} {word}; expected "
                         f'{{{size}}}, the size of dimension {key}"')
        return lines

    # -- the parts of a function ------------------------------------------------------------------
    def temporaries(self, root: Op, low: Lowering) -> tuple[list[str], Printer]:
        """Every non-trivial node used twice, and every ``where`` part, as a temporary (named as
        printed, or like inv_X, or t1, …): the lines that define them, and the printer using them."""
        temps: dict[int, str] = {}
        post = postorder(root)
        for op in post:
            if op.kind == "arg":
                temps[id(op)] = self.argnames[op.attr[0]]
        uses = use_counts(root)
        for op in post:  # a power written as a product names its base
            if multiplied_power(op, self.t):
                base = op.args[0]
                uses[id(base)] = uses.get(id(base), 0) + 1
        for op in post:  # a transpose is a view: share its operand instead
            if op.kind == "T" and uses.get(id(op), 0) >= 2:
                uses[id(op.args[0])] = uses.get(id(op.args[0]), 0) + 1
        order = [op for op in post
                 if op is not root and not is_trivial(op) and op.kind != "T"
                 and (uses.get(id(op), 0) >= 2 or id(op) in low.where_names)]
        counter = 0
        for op in order:
            base = low.where_names.get(id(op))
            if base is None:
                base = _temp_base(op, self.argnames)
            if base is None:
                counter += 1
                base = f"t{counter}"
                while base in self.namer.taken:
                    counter += 1
                    base = f"t{counter}"
            temps[id(op)] = self.namer.fresh(base)
        pr = Printer(self.t, self.mod, temps, self.dim, self.helper)
        return [f"    {temps[id(op)]} = {pr.render(op, defining=True)[0]}" for op in order], pr

    def returned(self, e: Expr, root: Op, pr: Printer, dtype: tuple[str, str] | None) -> str:
        """The value returned for e, in the layouts of SPEC §5 (a float for a scalar, 1-D for a
        vector or a row, 2-D otherwise) and, for PyTorch, in the inputs' dtype."""
        tg, mod = self.t, self.mod
        result, prec = pr.render(root)
        if e.shape == SCALAR:
            if tg.name == "numpy" and self.float_shadowed:
                ret = f"{mod}.float64({result}).item()"
            else:
                ret = tg.scalar_return.format(m=mod, x=result)
        elif root.fname == "vec" and id(root) not in pr.temps:  # vec(Y), flat: Y's columns stacked
            ret = tg.flat.format(pr.text(root.args[0], ATOM))
        elif e.shape[0] == 1 or e.shape[1] == 1:
            ret = f"{result if prec >= ATOM else '(' + result + ')'}.reshape(-1)"
        else:
            ret = result
        return f"({ret}).to({dtype[1]})" if dtype else ret

    def preamble(self) -> list[str]:
        """The lines before the function: JAX's float64 remark, the import, the helpers it calls."""
        tg, mod = self.t, self.mod
        lines: list[str] = []
        if tg.name == "jax":
            lines.append("# float64 needs jax.config.update(\"jax_enable_x64\", True); jit-compatible")
        lines += [tg.module.format(m=mod, as_m="" if mod == "torch" else f" as {mod}"), "", ""]
        for h in HELPER_ORDER:
            if h in self.helper_names:
                lines += [tg.helpers[h].format(m=mod, name=self.helper_names[h],
                                               perm=self.helper_names.get("commutation_perm", "")), "", ""]
        return lines

    def docstring(self, doc: str, shape: Shape, functions: list[tuple[str, str]]) -> list[str]:
        """The function's docstring: its arguments, the declared callables, what it returns."""
        return _docstring(doc, self.symbols, self.argnames, shape, self.t, functions)

    # -- the whole function -------------------------------------------------------------------------
    def function(self, e: Expr, doc: str) -> str:
        functions = code_arguments(e)
        self.namer.taken |= {n for n, _ in functions}
        root, low = _lower(e)
        head = self.arguments()
        body, pr = self.temporaries(root, low)
        ret = self.returned(e, root, pr, None)
        dtype = self.input_dtype()
        if dtype:
            head = [dtype[0]] + head
            ret = f"({ret}).to({dtype[1]})"
        lines = self.preamble()
        lines.append(f"def {self.name}({self.signature([n for n, _ in functions])}):")
        lines += self.docstring(doc, e.shape, functions)
        lines += self.keyword_arguments()
        lines += head
        lines += body
        lines.append(f"    return {ret}")
        return "\n".join(lines) + "\n"


def _temp_base(op: Op, argnames: dict[str, str]) -> str | None:
    """A readable name for a temporary, like inv_X or exp_x; None for a numbered one."""
    if op.kind == "call" and op.args and op.args[0].kind == "arg":
        return f"{op.attr[0]}_{argnames[op.args[0].attr[0]]}"
    return None


def to_numpy(e: Expr, symbols: dict[str, Sym], name: str = "f", doc: str = "") -> str:
    """The NumPy source of e: ``to_code(e, symbols, "numpy", name, doc)``."""
    return to_code(e, symbols, "numpy", name, doc)


__all__ = ["to_code", "to_numpy", "py_name"]
