"""Derivatives of programs, and of one function by several variables (SPEC §7).

:class:`ProgramResult` is a :class:`~matdiff.result.Result` written in the
names a program defines (``((y - t) .* y .* (1 - y))*x'``): its function,
code and checks evaluate each definition once, and take only the inputs.

:class:`Results` maps each variable to its result (``rs["W"]``) and has
everything one result has, for all of them at once: text as ``∂f/∂W = …``
lines sharing their ``where`` names, LaTeX, a Jupyter table, one NumPy
function returning every gradient (shared parts computed once), the
numerical check of each, JSON.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable, ClassVar, Iterator, Sequence

import numpy as np

from .backends import evaluate as numeric
from .backends.check import MISMATCH, OK, UNCHECKED, CheckReport, check
from .backends.codegen import to_code
from .backends.codegen.multi import to_code_many
from .calculus.backward import backward_pass
from .calculus.rules import ELEMENTWISE_DERIVATIVE
from .core.nodes import Expr, Func, Sym, Where
from .core import construct as A
from .frontend.program import Program
from .present import multi
from .present.printing import to_text
from .present.steplist import Steps
from .result import Result
from .simplify.passes import simplify
from .simplify.refold import refold


def needed(exprs: Sequence[Expr], defs: Sequence[tuple[Sym, Expr]]) -> list[tuple[Sym, Expr]]:
    """The definitions the expressions use, directly or through other definitions, in order."""
    want: set[str] = set()
    for e in exprs:
        want |= A.free_names(e)
    keep = []
    for s, v in reversed(defs):
        if s.name in want:
            keep.append((s, v))
            want |= A.free_names(v)
    return keep[::-1]


def with_definitions(body: Expr, defs: Sequence[tuple[Sym, Expr]]) -> Expr:
    """``body where`` each needed definition, the first outermost (evaluated first)."""
    for s, v in reversed(needed([body], defs)):
        body = Where(body, s, v, body.shape)
    return body


def named_definitions(program: Program) -> list[tuple[Sym, Expr]]:
    return [(d.name, d.expr) for d in program.definitions]


def fold_into(program: Program, e: Expr) -> Expr:
    """e (of the inputs) written in the program's names."""
    return refold(e, [(d.name, d.inlined) for d in program.definitions])


@dataclass(frozen=True, repr=False)
class ProgramResult(Result):
    """A derivative of a program, printed in its defined names (``display``)."""

    rule_steps: ClassVar[bool] = False  # steps of their own, kept as text

    program: Program | None = None

    @cached_property
    def evaluable(self) -> Expr:
        """The answer in the names, with the definitions it needs as ``where`` parts."""
        assert self.program is not None
        return with_definitions(self.display, named_definitions(self.program))

    def lambdify(self) -> Callable[..., Any]:
        """NumPy function of the inputs alone; each definition is computed once."""
        return numeric.lambdify(self.evaluable, self.symbols)

    def check(self, trials: int = 3, seed: int = 0) -> CheckReport:
        """The answer as printed (in the names) against finite differences of the program."""
        return check(self.function, self.variable, self.evaluable, self.order, self.symbols,
                             trials=trials, seed=seed)

    def to_code(self, target: str = "numpy", name: str = "derivative") -> str:
        return to_code(self.evaluable, self.symbols, target=target, name=name,
                       doc=f"{self.label} of {self.input} with respect to {self.variable.name}.")

    @cached_property
    def steps(self) -> list[str]:
        """The program, then its backward pass (scalar function, first order)."""
        assert self.program is not None
        head = multi.program_lines(self.program)
        if self.order != 1 or not self.function.is_scalar:
            return Steps(head + [""] + Result.steps.func(self))  # type: ignore[attr-defined]
        return Steps(head + backward_steps(self.program, [self.variable], {self.variable.name: self.display},
                                           {self.variable.name: self.kind}))


def backward_steps(program: Program, variables: Sequence[Sym], answers: dict[str, Expr],
                   kinds: dict[str, str]) -> list[str]:
    """The adjoints of the intermediates, last to first, then each variable's gradient."""
    fname = program.function_name
    defs = named_definitions(program)

    def fold(e: Expr) -> Expr:
        return refold(simplify(e), defs)

    adjoints = backward_pass(defs[:len(program.intermediates)], program.function, fname, variables)
    identities = {s.name: ELEMENTWISE_DERIVATIVE[e.name][0] for s, e in defs
                  if isinstance(e, Func) and e.name in ELEMENTWISE_DERIVATIVE}
    out = ["backward pass (adjoints, last to first):"]
    out += multi.backward_lines(fname, adjoints, fold, identities)
    for v, body in answers.items():
        out.append(f"{multi.lhs_text(fname, v, kinds[v])} = {to_text(body)}    [adjoints substituted]")
    return out


class ChecksReport:
    """The numerical check of every derivative of a :class:`Results`."""

    def __init__(self, function_name: str, reports: dict[str, CheckReport]) -> None:
        self.function_name = function_name
        self.reports = reports

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.reports.values())

    @property
    def max_rel_error(self) -> float:
        return max((r.max_rel_error for r in self.reports.values()), default=0.0)

    @property
    def status(self) -> str:
        """``"mismatch"`` if any derivative disagrees, else ``"could not check"`` if any
        check could not be made, else ``"ok"``."""
        found = {r.status for r in self.reports.values()}
        return next((s for s in (MISMATCH, UNCHECKED) if s in found), OK)

    @property
    def exit_code(self) -> int:
        return {OK: 0, MISMATCH: 1, UNCHECKED: 3}[self.status]

    def _repr_html_(self) -> str:
        return "".join(f"<div><code>{v}</code> {r._repr_html_()}</div>" for v, r in self.reports.items())

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        return "\n".join(f"{multi.lhs_text(self.function_name, v)}: {r}" for v, r in self.reports.items())


@dataclass(frozen=True, eq=False)
class Results(Mapping):
    """Derivatives of one function by several variables: a mapping variable → :class:`Result`."""

    input: str
    results: dict[str, Result]
    function_name: str = "f"
    bodies: dict[str, Expr] = field(default_factory=dict)  # each answer as printed
    shared: tuple[tuple[Sym, Expr], ...] = ()  # the names the bodies use, in order of computation
    shared_display: tuple[tuple[Sym, Expr], ...] = ()  # the where list printed under the answers
    program: Program | None = None
    notes: tuple[str, ...] = ()

    # -- the mapping ---------------------------------------------------------------------
    def __getitem__(self, name: str) -> Result:
        return self.results[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    @property
    def kinds(self) -> dict[str, str]:
        return {v: r.kind for v, r in self.results.items()}

    # -- printing ---------------------------------------------------------------------------
    @property
    def text(self) -> str:
        return multi.lines(self.function_name, self.bodies, self.kinds, self.shared_display)

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"<matdiff derivatives of {self.input!r} wrt {', '.join(self)}>\n{self.text}"

    def unicode(self) -> str:
        return multi.unicode_lines(self.function_name, self.bodies, self.kinds, self.shared_display)

    def latex(self) -> str:
        return multi.latex_lines(self.function_name, self.bodies, self.kinds, self.shared_display)

    def _repr_latex_(self) -> str:
        return f"$\\displaystyle {self.latex()}$"

    def _repr_html_(self) -> str:
        return multi.results_html(self)

    @cached_property
    def steps(self) -> list[str]:
        """A program's backward pass; otherwise each derivation in turn."""
        if self.program is not None and all(r.order == 1 for r in self.values()) \
                and self.program.function.is_scalar:
            return Steps(multi.program_lines(self.program) + backward_steps(
                self.program, [r.variable for r in self.values()], self.bodies, self.kinds))
        out: list[str] = []
        for v, r in self.items():
            out += [f"-- {multi.lhs_text(self.function_name, v, r.kind)}"] + r.steps
        return Steps(out)

    # -- numbers ------------------------------------------------------------------------------
    @property
    def symbols(self) -> dict[str, Sym]:
        return next(iter(self.results.values())).symbols

    def lambdify(self) -> Callable[..., dict[str, Any]]:
        """One NumPy function of the inputs returning {variable: derivative}; shared parts once."""
        symbols, shared, bodies = self.symbols, self.shared, self.bodies

        def f(**kwargs):
            values, dims = numeric.bind(symbols, kwargs)
            memo: dict = {}
            with np.errstate(all="ignore"):
                for s, v in shared:
                    values[s.name] = numeric.evaluate(v, values, dims, memo)
                return {n: numeric.to_layout(numeric.evaluate(b, values, dims, memo), b.shape)
                        for n, b in bodies.items()}

        f.__doc__ = f"NumPy derivatives of {self.input} by {', '.join(self)}; arguments: {', '.join(sorted(symbols))}"
        return f

    def check(self, trials: int = 3, seed: int = 0) -> ChecksReport:
        """Each derivative against central finite differences of the function."""
        return ChecksReport(self.function_name, {v: r.check(trials, seed) for v, r in self.items()})

    def to_code(self, target: str = "numpy", name: str = "gradients") -> str:
        """One self-contained function returning a dict of every derivative."""
        return to_code_many(dict(self.bodies), list(self.shared), self.symbols, target=target, name=name,
                            doc=f"Derivatives of {self.input} with respect to {', '.join(self)}.")

    def numpy(self, name: str = "gradients") -> str:
        return self.to_code("numpy", name)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the whole mapping, and each result's own entry."""
        return {"input": self.input, "variables": list(self), "function": self.function_name,
                "text": self.text, "unicode": self.unicode(), "latex": self.latex(),
                "where": [[s.name, to_text(v)] for s, v in self.shared_display],
                "numpy": self.numpy(), "notes": list(self.notes), "steps": self.steps,
                "results": {v: r.to_dict() for v, r in self.items()}}


__all__ = ["Results", "ProgramResult", "ChecksReport", "with_definitions", "fold_into"]
