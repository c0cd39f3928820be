"""The stages in order, from text to a derivative in closed form:

1. front end — syntax (:mod:`.frontend.syntax`), types and dimensions by
   unification (:mod:`.frontend.types`), lowering to the expression tree
   (:mod:`.frontend.lowering`);
2. rewriting — the identities of the rewrite table (:mod:`.core.rewrites`),
   applied by :mod:`.core.rewriting`: the typed expression is kept as typed,
   the rewritten one is differentiated;
3. calculus — the differential by the rule table (rewritten again),
   identification, second order (:mod:`.calculus`);
4. simplification (:mod:`.simplify`: the rewrite table and factoring), then
   naming of repeated parts for display;
5. the :class:`~matdiff.result.Result`, which presents and evaluates it.
"""
from __future__ import annotations

import re

from .calculus.backward import derive_many
from .calculus.derive import derivative, kink_notes
from .core import construct as A
from .core.declared import callable_names
from .core.nodes import DimSize, Expr, Func, Sym
from .core.rewriting import rewrite
from .errors import INTERNAL_FAULTS, MatdiffError, internal_error
from .frontend.lowering import Lowering
from .frontend.program import infer_program, lower_program, program_notes
from .indices import stage as index_stage
from .indices.typing import has_indices
from .frontend.syntax import parse_raw
from .frontend.types import Inference, assumed_types_note, check_types, concatenation_notes, default_kind
from .present.printing import to_text
from .result import Parsed, Result
from .results import ProgramResult, Results, fold_into, needed
from .simplify.dag_names import display_names
from .simplify.passes import pull_transposes, simplify
from .simplify.shared_names import name_shared


def parse(text: str, types: dict[str, str] | None = None, extra: tuple[str, ...] = ()) -> Parsed:
    """Parse and type ``text``; ``extra`` names variables that must exist even if absent."""
    types = check_types(types)
    raw = parse_raw(text, callable_names(types))
    if raw.op != "program" and has_indices(raw):  # index notation: its matrix form (SPEC §6)
        return index_stage.as_parsed(text, types, parse, extra)
    if raw.op == "program":
        index_stage.refuse_in_program(raw, text)
        inf, stmts = infer_program(raw, text, types, extra)
    else:
        inf = Inference(text, types)
        inf.infer(raw)
    for name in extra:
        inf.symbol_shape(name)
    inf.check_constants()
    for shape in inf.sym_shapes.values():  # letters in order of first appearance
        for t in shape:
            for v in inf.dims.resolve(t):
                inf.letter(v)
    program = lower_program(inf, stmts) if raw.op == "program" else None
    lowering = None if program else Lowering(inf)
    expr = program.inlined if program else lowering.build(raw)
    symbols: dict[str, Sym] = {}
    for name, shape in inf.sym_shapes.items():
        kind = types.get(name) or default_kind(name)
        symbols[name] = Sym(name, inf.final_shape(shape), kind == "symmetric", kind == "probability")
    notes = tuple(concatenation_notes(list(symbols), set(types)) + assumed_types_note(list(symbols), types)
                  + (program_notes(program) if program else []))
    return Parsed(expr, symbols, notes, text, program, lowering.origins if lowering else {}, types)


def dimension_notes(value: Expr, symbols: dict[str, Sym]) -> list[str]:
    """Say what a dimension letter in the answer (m*p*sigmoid(b)) stands for."""
    letters = sorted({d for e in value.walk() if isinstance(e, DimSize) for d in str(e.dim).split("*")})
    if not letters:
        return []
    shapes = [f"{name} is {'×'.join(map(str, s.shape))}" for name, s in symbols.items()
              if set(map(str, s.shape)) & set(letters)]
    return [f"{', '.join(letters)} {'is a dimension' if len(letters) == 1 else 'are dimensions'}: "
            + ", ".join(shapes)]


def kind_note(kind: str, value: Expr, function: Expr) -> list[str]:
    """What a result that is not a gradient is, and its shape (SPEC §2):
    ``Jacobian, (m·n)×(m·n): the function is matrix-valued``."""
    if kind == "gradient":
        return []
    if kind == "hessian" and value.is_scalar:
        return ["second derivative, a scalar"]
    shape = "×".join(f"({d})" if "·" in d else d for d in (str(x).replace("*", "·") for x in value.shape))
    what = {"jacobian": "Jacobian", "derivative": "derivative", "hessian": "Hessian"}[kind]
    valued = "" if kind == "hessian" else \
        f": the function is {_valued(function)}-valued"
    return [f"{what}, {shape}{valued}"]


def _valued(e: Expr) -> str:
    return "vector" if e.is_vector else "row-vector" if e.shape[0] == 1 else "matrix"


def run(expr: str, wrt: str, types: dict[str, str], order: int, notes: list[str]) -> Result:
    """Every stage for one variable; ``notes`` are the caller's, said first.
    Index notation (subscripts, index sums, δ) goes through the index stage."""
    if index_stage.applies(expr, wrt):
        return index_stage.run(expr, wrt, types, order, notes, run)
    parsed = parse(expr, types, extra=(wrt,))
    var = parsed.symbols[wrt]
    try:
        f = rewrite(parsed.expr)  # the identities of the rewrite table (recorded again for --steps)
        kind, value, first = derivative(f, var, order)
    except MatdiffError as e:  # point at the sub-expression it concerns, when it is part of the input
        raise e.at_node(expr, parsed.origins)
    except INTERNAL_FAULTS as e:
        raise internal_error(e, "differentiating") from e
    return finish(expr, parsed, f, var, order, kind, value, first, notes)


def finish(expr: str, parsed: Parsed, f: Expr, var: Sym, order: int, kind: str, value: Expr,
           first: Expr | None, notes: list[str]) -> Result:
    """The result of a simplified derivative of f (the parsed expression rewritten): its notes
    and display form."""
    wrt = var.name
    notes = list(parsed.notes) + kind_note(kind, value, f) + notes + kink_notes(f, var)
    sums = sorted({x.arg.name for x in value.walk() if isinstance(x, Func) and x.name == "sum"
                   and isinstance(x.arg, Sym) and x.arg.is_vector})
    for name in sums:
        notes.append(f"if {name} sums to 1 (a probability vector), sum({name}) = 1: declare it with "
                     f"types={{'{name}': 'probability'}} or --probability {name}")
    notes += dimension_notes(value, parsed.symbols)
    if wrt not in A.free_names(f):
        written = re.search(rf"(?<!\w){re.escape(wrt)}(?!\w)", expr) is not None
        notes.append(f"the expression simplifies to {to_text(f)}, without '{wrt}': the derivative is zero"
                     if written else f"'{wrt}' does not occur in the expression: the derivative is zero")
    if parsed.program is not None:  # written in the program's names (SPEC §7)
        named = pull_transposes(fold_into(parsed.program, value), to_text)
        return ProgramResult(expr, var, order, kind, value, parsed.expr, parsed.symbols, tuple(notes), first,
                             named, program=parsed.program)
    display = display_names(value, set(parsed.symbols), to_text)
    return Result(expr, var, order, kind, value, parsed.expr, parsed.symbols, tuple(notes), first,
                  display if display is not value else None, parsed.origins)


def run_many(expr: str, wrts: list[str], types: dict[str, str], notes: list[str]) -> Results:
    """First derivatives by several variables: one differential, each read off it (SPEC §7)."""
    parsed = parse(expr, types, extra=tuple(wrts))
    variables = [parsed.symbols[w] for w in wrts]
    try:
        f = rewrite(parsed.expr)
        derived = derive_many(f, variables)
    except MatdiffError as e:
        raise e.at_node(expr, parsed.origins)
    except INTERNAL_FAULTS as e:
        raise internal_error(e, "differentiating") from e
    results = {v.name: finish(expr, parsed, f, v, 1, derived[v.name][0], simplify(derived[v.name][1]), None, notes)
               for v in variables}
    all_notes = tuple(dict.fromkeys(n for r in results.values() for n in r.notes))
    program = parsed.program
    if program is not None:
        bodies = {w: r.display for w, r in results.items()}
        shared = tuple(needed(list(bodies.values()), [(d.name, d.expr) for d in program.definitions]))
        return Results(expr, results, program.function_name, bodies, shared, (), program, all_notes)
    plain = [pull_transposes(r.value, to_text) for r in results.values()]
    named, defs = name_shared(plain, set(parsed.symbols), to_text)
    bodies = dict(zip(results, named))
    return Results(expr, results, "f", bodies, tuple(defs), tuple(defs), None, all_notes)
