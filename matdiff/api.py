"""The Python API (SPEC §5): ``parse``, ``diff`` and the ``Result`` they give."""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property
from typing import Any, Callable

from . import algebra as A
from . import numeric
from .ast import Differential, DimSize, Expr, Func, Sym
from .differential import derivation, differential
from .errors import UnsupportedError, UsageError
from .functions import FUNCTIONS, KINKED, NAME
from .identify import gradient, jacobian, symmetric_projection
from .parser import parse_raw
from .printing import shape_text, to_latex, to_text, to_unicode
from .shapes import Inference, check_types, concatenation_notes, default_kind
from .simplify import cost, name_repeats, pull_transposes, simplify


@dataclass(frozen=True)
class Parsed:
    """A typed expression with the variables it names and the notes on reading it."""

    expr: Expr
    symbols: dict[str, Sym]
    notes: tuple[str, ...] = ()
    text: str = ""

    def __str__(self) -> str:
        return to_text(self.expr)

    def _repr_latex_(self) -> str:
        return f"$\\displaystyle {to_latex(self.expr)}$"


def parse(text: str, types: dict[str, str] | None = None, extra: tuple[str, ...] = ()) -> Parsed:
    """Parse and type ``text``; ``extra`` names variables that must exist even if absent."""
    types = check_types(types)
    raw = parse_raw(text)
    inf = Inference(text, types)
    inf.infer(raw)
    for name in extra:
        inf.symbol_shape(name)
    inf.check_constants()
    for shape in inf.sym_shapes.values():  # letters in order of first appearance
        for t in shape:
            for v in inf.dims.resolve(t):
                inf.letter(v)
    expr = inf.build(raw)
    symbols: dict[str, Sym] = {}
    for name, shape in inf.sym_shapes.items():
        kind = types.get(name) or default_kind(name)
        symbols[name] = Sym(name, inf.final_shape(shape), kind == "symmetric", kind == "probability")
    notes = tuple(concatenation_notes(list(symbols)))
    return Parsed(expr, symbols, notes, text)


KINDS = {"gradient": "gradient", "jacobian": "Jacobian", "derivative": "derivative", "hessian": "Hessian"}


@dataclass(frozen=True)
class Result:
    """A derivative in closed form: print it, typeset it, evaluate it, check it."""

    input: str
    variable: Sym
    order: int
    kind: str
    value: Expr  # the derivative, simplified
    function: Expr  # the typed input expression
    symbols: dict[str, Sym]
    notes: tuple[str, ...] = ()
    first: Expr | None = None  # the gradient, for a Hessian
    _display: Expr | None = field(default=None, compare=False)

    # -- printing ------------------------------------------------------------
    @property
    def display(self) -> Expr:
        """The value with repeated sub-expressions named (``… where s = softmax(z)``)."""
        return self._display if self._display is not None else self.value

    @property
    def text(self) -> str:
        return to_text(self.display)

    @property
    def label(self) -> str:
        """What the result is: gradient, Jacobian, derivative, Hessian."""
        return KINDS[self.kind]

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"<matdiff {self.label} of {self.input!r} wrt {self.variable.name}: {self.text}>"

    def unicode(self) -> str:
        return to_unicode(self.display)

    def latex(self) -> str:
        return to_latex(self.display)

    def numpy(self, name: str = "derivative") -> str:
        """Self-contained NumPy source of the result (``to_code("numpy")``)."""
        return self.to_code("numpy", name)

    @property
    def shape(self) -> tuple:
        """The symbolic shape of the result (rows, cols)."""
        return self.value.shape

    @property
    def shape_text(self) -> str:
        return shape_text(self.value.shape)

    # -- the derivation ------------------------------------------------------------
    @cached_property
    def steps(self) -> list[str]:
        """The derivation, one rewrite per line, ending in the identification."""
        return derivation_lines(self)

    # -- numbers ------------------------------------------------------------------
    def lambdify(self) -> Callable[..., Any]:
        """NumPy function of every free name and the variable, by keyword (SPEC §5)."""
        return numeric.lambdify(self.value, self.symbols)

    def check(self, trials: int = 3, seed: int = 0) -> numeric.CheckReport:
        """Compare with central finite differences of the input at random points."""
        return numeric.check(self.function, self.variable, self.value, self.order, self.symbols,
                             trials=trials, seed=seed)

    def to_code(self, target: str = "numpy", name: str = "derivative") -> str:
        """A self-contained function computing the result: ``numpy``, ``jax`` or ``torch``."""
        from .codegen import to_code

        return to_code(self.display, self.symbols, target=target, name=name,
                       doc=f"{self.label} of {self.input} with respect to {self.variable.name}.")

    def to_sympy(self):
        """The result as a SymPy matrix expression."""
        from .sympy_interop import to_sympy

        return to_sympy(self.value)

    @property
    def gauss_newton(self) -> "Result":
        """For f = L(N(x)): the positive-semidefinite part J_Nᵀ H_L J_N of the Hessian."""
        from .secondorder import gauss_newton

        return gauss_newton(self)

    def hvp(self) -> Callable[..., Any]:
        """v ↦ H v from the closed form, without forming H: f(v, **values)."""
        from .secondorder import hvp

        return hvp(self)

    def plot(self, **values):
        """The sparsity / block structure of the result at random (or given) inputs."""
        from .plotting import plot_structure

        return plot_structure(self, **values)

    # -- Jupyter ------------------------------------------------------------------
    def _repr_latex_(self) -> str:
        return f"$\\displaystyle {self.latex()}$"

    def _repr_html_(self) -> str:
        from .display import result_html

        return result_html(self)

    def to_dict(self) -> dict[str, Any]:
        """Everything a tool needs, as JSON-ready values (``--format json``)."""
        return {"input": self.input, "variable": self.variable.name, "kind": self.kind,
                "order": self.order, "shape": [str(d) for d in self.shape], "text": self.text,
                "unicode": self.unicode(), "latex": self.latex(), "numpy": self.numpy(),
                "notes": list(self.notes), "steps": self.steps}


def derivation_lines(r: Result) -> list[str]:
    f, var = r.function, r.variable
    dname = "d" + var.name
    lines = [f"{'f' if f.is_scalar else 'F'} = {to_text(f)}"]
    for label, step in derivation(f, var):
        lines.append(f"d{'f' if f.is_scalar else 'F'} = {to_text(step)}" + (f"    [{label}]" if label else ""))
    G = r.first if r.order == 2 else r.value
    if r.order == 1 or r.first is not None:
        if var.is_scalar:
            lines.append(f"d{'f' if f.is_scalar else 'F'} = ({to_text(G)}) {dname}    [read off the factor of {dname}]")
        elif f.is_scalar:
            lines.append(f"df = <{to_text(G)}, {dname}>    [identification: trace cyclicity, "
                         f"transposition, Hadamard adjoint]")
        else:
            lines.append(f"d vec F = ({to_text(r.value)}) d vec {var.name}    [vec(A dX B) = (B' ⊗ A) vec dX]")
    if r.order == 2:
        dG = differential(G, var)
        lines.append(f"d²f = <d({to_text(G)}), {dname}> = <{to_text(dG)}, {dname}>")
        lines.append(f"d²f = (d vec {var.name})' H (d vec {var.name})    [H from d vec G = H d vec {var.name}]")
    if var.symmetric and not f.is_scalar or (var.symmetric and r.order == 2):
        lines.append("restricted to symmetric directions: J P, P = (I + K)/2")
    elif var.symmetric:
        lines.append("symmetric variable: G = (G₀ + G₀')/2")
    label = {"gradient": f"∂f/∂{var.name}", "jacobian": f"∂vec F/∂vec({var.name})'",
             "derivative": f"dF/d{var.name}", "hessian": "H"}[r.kind]
    lines.append(f"{label} = {r.text}")
    return lines


def sym(G: Expr) -> Expr:
    """(G + Gᵀ)/2, the gradient on symmetric matrices."""
    if A.is_symmetric(G):
        return G
    Gt = A.T(G)
    first, second = (Gt, G) if cost(Gt) < cost(G) else (G, Gt)
    half = Fraction(1, 2)
    return A.add(A.scale(half, first), A.scale(half, second))


def _kink_notes(f: Expr, var: Sym) -> list[str]:
    found = []
    for x in f.walk():
        if isinstance(x, Func) and x.name in KINKED and A.depends(x, var.name) and x.name not in found:
            found.append(x.name)
    if not found:
        return []
    rules = "; ".join(KINKED[n] for n in found)
    return [f"{', '.join(found)} not differentiable at 0: the result is a subgradient there ({rules})"]


def derive(f: Expr, var: Sym, order: int) -> tuple[str, Expr, Expr | None]:
    """(kind, derivative, gradient for a Hessian) of f with respect to var."""
    dX = Differential(var, var.shape)
    df = differential(f, var)
    if order == 1:
        if var.is_scalar:
            return ("gradient" if f.is_scalar else "derivative"), A.substitute(df, {dX: A.ONE}), None
        if f.is_scalar:
            G = gradient(df, var)
            return "gradient", (sym(G) if var.symmetric else G), None
        J = jacobian(df, var)
        if var.symmetric:
            J = A.mul(J, symmetric_projection(var.shape[0]))
        return "jacobian", J, None
    if not f.is_scalar:
        raise UsageError("a Hessian needs a scalar function; this one is "
                         f"{shape_text(f.shape)}: differentiate its Jacobian instead")
    G = A.substitute(df, {dX: A.ONE}) if var.is_scalar else gradient(df, var)
    G = simplify(G)
    dG = differential(G, var)
    if var.is_scalar:
        return "hessian", A.substitute(dG, {dX: A.ONE}), G
    H = jacobian(dG, var)
    if var.symmetric:
        P = symmetric_projection(var.shape[0])
        H = A.mul(P, H, P)
    return "hessian", H, (sym(G) if var.symmetric else G)


def diff(expr: str, wrt: str, *, types: dict[str, str] | None = None, order: int = 1) -> Result:
    """The derivative of ``expr`` with respect to ``wrt``, simplified (SPEC §3, §5)."""
    try:
        return _diff(expr, wrt, types, order)
    except RecursionError:
        raise UnsupportedError("the expression is nested too deeply for this Python's recursion limit",
                               expr if isinstance(expr, str) else None, 1) from None


def _dimension_notes(value: Expr, symbols: dict[str, Sym]) -> list[str]:
    """Say what a dimension letter in the answer (m*p*softmax(b)) stands for."""
    letters = sorted({d for e in value.walk() if isinstance(e, DimSize) for d in str(e.dim).split("*")})
    if not letters:
        return []
    shapes = [f"{name} is {'×'.join(map(str, s.shape))}" for name, s in symbols.items()
              if set(map(str, s.shape)) & set(letters)]
    return [f"{', '.join(letters)} {'is a dimension' if len(letters) == 1 else 'are dimensions'}: "
            + ", ".join(shapes)]


def _diff(expr: str, wrt: str, types: dict[str, str] | None, order: int) -> Result:
    if not isinstance(wrt, str) or not NAME.match(wrt):
        raise UsageError(f"the variable must be a name, got {wrt!r}")
    if wrt in FUNCTIONS:
        raise UsageError(f"'{wrt}' is a function, not a variable")
    if wrt in ("I", "eye") and wrt not in (types or {}):
        raise UsageError(f"'{wrt}' is the identity matrix, not a variable")
    if isinstance(order, bool) or order not in (1, 2):
        raise UsageError(f"order must be 1 (gradient or Jacobian) or 2 (Hessian), got {order!r}")
    unconstrained = []
    if str((types or {}).get(wrt, "")).lower() == "probability":  # d with respect to p: sum(p) = 1 not used
        types = dict(types or {}, **{wrt: "vector"})
        unconstrained.append(f"'{wrt}' is differentiated as an unconstrained vector: sum({wrt}) = 1 is not used")
    parsed = parse(expr, types, extra=(wrt,))
    var = parsed.symbols[wrt]
    kind, value, first = derive(parsed.expr, var, order)
    value = simplify(value)
    notes = list(parsed.notes) + unconstrained + _kink_notes(parsed.expr, var)
    sums = sorted({x.arg.name for x in value.walk() if isinstance(x, Func) and x.name == "sum"
                   and isinstance(x.arg, Sym) and x.arg.is_vector})
    for name in sums:
        notes.append(f"if {name} sums to 1 (a probability vector), sum({name}) = 1: declare it with "
                     f"types={{'{name}': 'probability'}} or --probability {name}")
    notes += _dimension_notes(value, parsed.symbols)
    if wrt not in A.free_names(parsed.expr):
        notes.append(f"'{wrt}' does not occur in the expression: the derivative is zero")
    display = name_repeats(pull_transposes(value, to_text), set(parsed.symbols), to_text)
    return Result(expr, var, order, kind, value, parsed.expr, parsed.symbols, tuple(notes), first,
                  display if display is not value else None)


def lambdify(expr: str, types: dict[str, str] | None = None) -> Callable[..., Any]:
    """A NumPy function of the expression itself (not of a derivative)."""
    p = parse(expr, types)
    return numeric.lambdify(p.expr, p.symbols)
