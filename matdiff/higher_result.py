"""Mixed and higher derivatives as results (SPEC §7): ``diff(f, "x", "y")`` and
``diff(f, "x", order=K)`` for K ≥ 3.

A mixed second derivative ∂²f/∂x∂yᵀ is a matrix and prints as one; a
derivative of order three or more is a tensor, printed entry by entry in
index notation (:mod:`matdiff.present.index_form`) and evaluated as an
array of shape (x₁.size, …, x_K.size) (:mod:`matdiff.backends.higher_numeric`)."""
from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar

from .backends import higher_numeric
from .backends.codegen import to_code
from .calculus.directional import apply_right
from .calculus.higher import check_order, derivative_chain, multilinear_form
from .core import construct as A
from .core.nodes import Sym
from .errors import UnsupportedError, UsageError
from .pipeline import dimension_notes, parse
from .present.index_form import IndexForm, index_form
from .present.printing import SUPERSCRIPT, to_latex, to_text
from .result import Result
from .simplify.passes import name_repeats, pull_transposes


@dataclass(frozen=True, repr=False)
class HigherResult(Result):
    """∂ᴷf/∂x₁⋯∂x_K: ``value`` is D_K on vec (see :mod:`matdiff.calculus.higher`)."""

    rule_steps: ClassVar[bool] = False  # steps of their own, kept as text

    variables: tuple[Sym, ...] = ()
    index: IndexForm | None = None

    @property
    def label(self) -> str:
        if self.order == 2:
            return "mixed second derivative"
        return f"derivative of order {self.order}"

    @property
    def lhs(self) -> str:
        """∂²f/∂x∂y' for a mixed derivative (∂vec(X) for a matrix): what the steps' last line names."""
        f = "f" if self.function.is_scalar else "vec F"
        names = "".join(f"∂{v.name}" if v.shape[1] == 1 else f"∂vec({v.name})" for v in self.variables)
        return f"∂{str(self.order).translate(SUPERSCRIPT)}{f}/{names}'"

    @property
    def text(self) -> str:
        return self.index.text if self.index is not None else to_text(self.display)

    def unicode(self) -> str:
        return self.index.unicode() if self.index is not None else super().unicode()

    def latex(self) -> str:
        return self.index.latex() if self.index is not None else to_latex(self.display)

    def __repr__(self) -> str:
        names = ", ".join(v.name for v in self.variables)
        return f"<matdiff {self.label} of {self.input!r} wrt {names}: {self.text}>"

    @cached_property
    def steps(self) -> list[str]:
        """Each step: the derivative of vec of the one before (SPEC §7)."""
        lines = [f"{'f' if self.function.is_scalar else 'F'} = {to_text(self.function)}"]
        for k, v in enumerate(self.variables, 1):
            what = f"∂/∂{v.name}" if k == 1 else f"∂ vec(D{k - 1})/∂(vec {v.name})'"
            lines.append(f"D{k} = {what}    [d vec D{k - 1} = D{k} d vec {v.name}]" if k > 1 else f"D1 = {what}")
        lines.append(f"{self.lhs if self.index is None else 'D' + str(self.order)} = {to_text(self.display)}")
        if self.index is not None:
            lines.append(self.index.text)
        return lines

    def lambdify(self) -> Callable[..., Any]:
        """NumPy function of every name by keyword: the derivative as an array (SPEC §7)."""
        return higher_numeric.lambdify_higher(self.value, self.function, self.variables, self.symbols)

    def check(self, trials: int = 3, seed: int = 0):
        """Compare with central K-point differences of the input at random points."""
        return higher_numeric.check_higher(self.function, self.variables, self.value, self.symbols,
                                           trials=trials, seed=seed)

    def to_code(self, target: str = "numpy", name: str = "derivative") -> str:
        """A function returning the derivative as an array; for order ≥ 3 D_K is reshaped
        column-major to (x₁.size, …, x_K.size)."""
        doc = f"{self.label} of {self.input} with respect to {', '.join(v.name for v in self.variables)}."
        src = to_code(self.display, self.symbols, target=target, name=name, doc=doc)
        if self.order == 2:
            return src
        return _reshape_return(src, target, self.function, self.variables)

    def hvp(self) -> Callable[..., Any]:
        raise UsageError("a Hessian-vector product needs a gradient or Hessian result, not a "
                         f"{self.label}")

    def _repr_html_(self) -> str:
        body = html.escape(self.latex())
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        return (f"<div class='matdiff-result'><p>$$ {body} $$</p>"
                f"<p>{html.escape(self.label)}</p>{'<ul>' + notes + '</ul>' if notes else ''}</div>")

    def _repr_markdown_(self) -> str:
        names = ", ".join(f"`{v.name}`" for v in self.variables)
        notes = "".join(f"\n- {n}" for n in self.notes)
        return f"**{self.label}** of `{self.input}` by {names}\n\n$$ {self.latex()} $$\n{notes}"

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["variables"] = [v.name for v in self.variables]
        return out


def _reshape_return(src: str, target: str, f, variables: tuple[Sym, ...]) -> str:
    """Replace the final ``return X`` by X reshaped column-major to the tensor's shape."""
    lines = src.rstrip("\n").split("\n")
    last = lines[-1]
    if not last.startswith("    return "):
        raise UnsupportedError("cannot reshape the generated code of a higher derivative")
    expr = last[len("    return "):]
    mod = {"numpy": "np", "jax": "jnp", "torch": "torch"}[target]
    size = {"torch": "{}.numel()"}.get(target, "{}.size")
    sizes = [size.format(v.name) if not v.is_scalar else "1" for v in variables]
    if not f.is_scalar:
        sizes = [f"({expr}).shape[0] // ({' * '.join(sizes[:-1])})"] + sizes
    rev = ", ".join(reversed(sizes))
    axes = ", ".join(str(k) for k in reversed(range(len(sizes))))
    perm = "permute" if target == "torch" else "transpose"
    lines[-1] = f"    out = {mod}.asarray({expr})" if target != "torch" else f"    out = torch.as_tensor({expr})"
    lines.append(f"    return out.T.reshape({rev}).{perm}({axes})  # column-major: axis k is vec of variable k")
    return "\n".join(lines) + "\n"


def run_higher(expr: str, names: tuple[str, ...], types: dict[str, str], notes: list[str]) -> HigherResult:
    """∂ᴷf/∂x₁⋯∂x_K (names may repeat), each step of vec of the one before."""
    check_order(len(names))
    parsed = parse(expr, types, extra=names)
    variables = tuple(parsed.symbols[n] for n in names)
    for v in variables:
        if v.probability:
            raise UsageError(f"'{v.name}' is a probability vector: declare it a vector to differentiate by it")
    value = derivative_chain(parsed.expr, variables)
    index = None
    if len(variables) >= 3:
        index = _index_form(parsed.expr, variables)
    notes = list(parsed.notes) + notes + dimension_notes(value, parsed.symbols)
    for v in dict.fromkeys(variables):
        if v.name not in A.free_names(parsed.expr):
            notes.append(f"'{v.name}' does not occur in the expression: the derivative is zero")
    display = name_repeats(pull_transposes(value, to_text), set(parsed.symbols), to_text)
    kind = "mixed" if len(variables) == 2 else "higher"
    return HigherResult(expr, variables[0], len(variables), kind, value, parsed.expr, parsed.symbols,
                        tuple(notes), None, display if display is not value else None,
                        variables=variables, index=index)


def _index_form(f, variables: tuple[Sym, ...]) -> IndexForm | None:
    """The entries of the K-th derivative, or None where index form has no rule (then D_K prints on vec)."""
    if any(v.symmetric for v in variables):
        return None
    directions = tuple(Sym(f"_dir{k}", v.shape) for k, v in enumerate(variables))
    try:
        E = apply_right(multilinear_form(f, variables, directions))
        return index_form(E, "f" if f.is_scalar else "F", variables, directions)
    except UnsupportedError:
        return None


__all__ = ["HigherResult", "run_higher"]
