"""What matdiff returns: a typed expression (:class:`Parsed`) and a derivative
in closed form (:class:`Result`), with everything a user does with one —
print, typeset, evaluate, check, generate code, display in Jupyter."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable, ClassVar

import numpy as np

from .backends import check as numcheck
from .backends import evaluate as numeric
from .backends.codegen import to_code
from .backends.products import hvp, jvp, product_code, vjp
from .calculus.secondorder import gauss_newton_parts
from .core import construct as A
from .core.nodes import Expr, Sym
from .errors import MatdiffError, guarded
from .frontend.program import Program
from .present.jupyter import RESULT_NAMES, result_html, result_markdown
from .present.plotting import plot_structure
from .present.printing import shape_text, to_latex, to_text, to_unicode
from .present.steplist import Steps
from .present.steps import derivation_lines


@dataclass(frozen=True)
class Parsed:
    """A typed expression with the variables it names and the notes on reading it."""

    expr: Expr
    symbols: dict[str, Sym]
    notes: tuple[str, ...] = ()
    text: str = ""
    program: Program | None = None  # the definitions, when the input is a program (SPEC §7)
    origins: dict[Expr, tuple[int, int]] = field(default_factory=dict, compare=False, repr=False)
    """The columns (start, end) of the text each sub-expression was built from."""
    types: dict[str, str] = field(default_factory=dict)  # the declarations it was read with

    def __str__(self) -> str:
        return to_text(self.expr)

    def _repr_latex_(self) -> str:
        return f"$\\displaystyle {to_latex(self.expr)}$"


@dataclass(frozen=True)
class Result:
    """A derivative in closed form: print it, typeset it, evaluate it, check it."""

    rule_steps: ClassVar[bool] = True
    """The steps are the rule-by-rule derivation of :mod:`matdiff.present.steps`, which
    Jupyter and ``--format latex`` typeset; other results keep their steps as text."""
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
    _origins: dict[Expr, tuple[int, int]] = field(default_factory=dict, compare=False, repr=False)

    # -- printing ------------------------------------------------------------
    @property
    def display(self) -> Expr:
        """The value with repeated sub-expressions named (``… where u = exp(z)``)."""
        return self._display if self._display is not None else self.value

    @property
    def text(self) -> str:
        return to_text(self.display)

    @property
    def label(self) -> str:
        """What the result is: gradient, Jacobian, derivative, Hessian."""
        return RESULT_NAMES[self.kind]

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
    def steps(self) -> Steps:
        """The derivation, one rewrite per line, ending in the identification
        (a list of lines; ``print`` shows one per line, Jupyter typesets it)."""
        return Steps(derivation_lines(self), self)

    # -- numbers ------------------------------------------------------------------
    def lambdify(self) -> Callable[..., Any]:
        """NumPy function of every free name and the variable, by keyword (SPEC §5)."""
        return numeric.lambdify(self.value, self.symbols)

    @guarded("checking")
    def check(self, trials: int = 3, seed: int = 0) -> numcheck.CheckReport:
        """Compare with central finite differences of the input at random points."""
        return numcheck.check(self.function, self.variable, self.value, self.order, self.symbols,
                              trials=trials, seed=seed)

    @guarded("generating code")
    def to_code(self, target: str = "numpy", name: str = "derivative", product: str | None = None) -> str:
        """A self-contained function computing the result: ``numpy``, ``jax`` or ``torch``;
        with ``product="jvp"``, ``"vjp"`` or ``"hvp"`` the product with a direction instead,
        the direction its first argument.

        Arguments are passed by keyword (``lambda`` as ``lambda_=…`` or ``**{"lambda": …}``).
        NumPy computes in float64. JAX computes in float32 unless 64-bit mode is on
        (``jax.config.update("jax_enable_x64", True)`` before calling), as JAX does by default.
        PyTorch computes in float64 and returns the inputs' floating dtype (float32 in, float32 out)."""
        if product is not None:
            return product_code(self, product, target, name)
        return to_code(self.display, self.symbols, target=target, name=name,
                       doc=f"{self.label} of {self.input} with respect to {self.variable.name}.")

    @guarded("converting to SymPy")
    def to_sympy(self):
        """The result as a SymPy matrix expression."""
        from .backends.sympy_bridge import to_sympy  # SymPy is imported only when used

        return to_sympy(self.value)

    @property
    def gauss_newton(self) -> "Result":
        """For f = L(N(x)): the positive-semidefinite part J_Nᵀ H_L J_N of the Hessian."""
        return gauss_newton(self)

    @guarded("building the Hessian-vector product")
    def hvp(self) -> Callable[..., Any]:
        """v ↦ H v from the closed form, without forming H: f(v, **values)."""
        return hvp(self)

    def jvp(self) -> Callable[..., Any]:
        """v ↦ J v (dF in the direction v, F's shape) without forming J: f(v, **values)."""
        return jvp(self)

    def vjp(self) -> Callable[..., Any]:
        """u ↦ uᵀ J (the gradient of ⟨u, F⟩, the variable's shape) without forming J: f(u, **values)."""
        return vjp(self)

    def plot(self, **values):
        """The sparsity / block structure of the result at random (or given) inputs."""
        return plot_structure(self, **values)

    # -- Jupyter ------------------------------------------------------------------
    def _repr_latex_(self) -> str:
        return f"$\\displaystyle {self.latex()}$"

    def _repr_html_(self) -> str:
        return result_html(self)

    def _repr_markdown_(self) -> str:
        return result_markdown(self)

    def to_dict(self) -> dict[str, Any]:
        """Everything a tool needs, as JSON-ready values (``--format json``)."""
        return {"input": self.input, "variable": self.variable.name, "kind": self.kind,
                "order": self.order, "shape": [str(d) for d in self.shape], "text": self.text,
                "unicode": self.unicode(), "latex": self.latex(), "numpy": self.numpy(),
                "notes": list(self.notes), "steps": list(self.steps)}


@dataclass(frozen=True, repr=False)
class GaussNewtonResult(Result):
    """The Gauss–Newton matrix J_Nᵀ H_L J_N of f = L(N(x)), a ``Result`` of kind 'hessian'.

    ``inner`` is N, ``outer`` is L(u) with u the symbol ``inner_symbol``,
    ``inner_jacobian`` J_N, ``outer_hessian`` H_L at u = N, and ``curvature``
    the rest of the Hessian, Σₖ (∂L/∂uₖ) ∇²Nₖ, so that H = value + curvature."""

    inner: Expr | None = None
    inner_symbol: Sym | None = None
    outer: Expr | None = None
    inner_jacobian: Expr | None = None
    outer_hessian: Expr | None = None
    curvature: Expr | None = None

    @property
    def label(self) -> str:
        return "Gauss–Newton matrix"

    def hvp(self) -> Callable[..., Any]:
        """v ↦ GN v (the Gauss–Newton matrix evaluated, then applied: it has no cheaper form here)."""
        gn = numeric.lambdify(self.value, self.symbols)
        shape = self.variable.shape

        def f(v, /, **values):
            out = gn(**values) @ np.reshape(np.asarray(v, dtype=float), -1, order="F")
            return out if np.ndim(v) == 1 or shape[1] == 1 else out.reshape(np.shape(v), order="F")

        f.__doc__ = f"Gauss–Newton matrix of {self.input} times a direction"
        return f

    @property
    def hessian(self) -> Expr:
        """GN + curvature: the full Hessian, as a sum."""
        return A.add(self.value, self.curvature)

    def check(self, trials: int = 3, seed: int = 0) -> numcheck.CheckReport:
        """GN + curvature against finite second differences of f: both parts are
        built independently, so an error in either one shows."""
        return numcheck.check(self.function, self.variable, self.hessian, 2, self.symbols,
                              trials=trials, seed=seed)

    def curvature_function(self) -> Callable[..., Any]:
        """NumPy function of the curvature term."""
        return numeric.lambdify(self.curvature, self.symbols)


@guarded("building the Gauss–Newton matrix")
def gauss_newton(result: Result) -> GaussNewtonResult:
    """J_Nᵀ H_L J_N for f = L(N(x)), with the curvature term beside it."""
    try:
        parts = gauss_newton_parts(result)
    except MatdiffError as e:
        raise e.at_node(result.input, result._origins)
    return GaussNewtonResult(result.input, result.variable, 2, "hessian", parts.pop("value"), result.function,
                             result.symbols, parts.pop("notes"), parts.pop("first"), _origins=result._origins,
                             **parts)


def curvature_term(result: Result) -> Expr:
    """H − GN = Σₖ (∂L/∂uₖ ∘ N) ∇²Nₖ, for f = L(N(x)); zero when N is affine."""
    gn = result if isinstance(result, GaussNewtonResult) else gauss_newton(result)
    return gn.curvature
