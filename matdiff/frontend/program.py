"""Programs (SPEC §7): definitions ``name = expr``, then the function.

    z = W*x + b; y = sigmoid(z); L = 0.5*norm2(y - t)^2

Each statement may use the names defined before it.  A defined name takes the
type and shape of its definition, whatever its initial; the inputs are the
names never defined.  The function is the last statement (``L`` above, or
``f`` when the last statement is a bare expression).  The program means the
expression with every definition inlined, f(inputs); its definitions are
kept so that answers can be written in their names.

Errors, each at the column of the offending name: a name defined twice, used
before its definition, defined in terms of itself (a cycle), or shadowing a
reserved name (``I``, ``eye``) or a function.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..core import construct as A
from ..core.catalogue import FUNCTIONS
from ..core.names import RESERVED_NAMES
from ..core.nodes import Expr, Sym
from ..errors import MatdiffError, ParseError, UnsupportedError, UsageError
from .lowering import Lowering
from .syntax import Raw
from .types import Inference, ShapeT


MAX_INLINED = 10_000
"""Nodes of the inlined function (shared parts counted at each use) beyond which a program is
refused: a definition used twice by each next one doubles the size at every statement."""


def tree_size(e: Expr) -> int:
    """The number of nodes of e written out as a tree (shared nodes counted at each use)."""
    sizes: dict[int, int] = {}
    stack: list[tuple[Expr, bool]] = [(e, False)]
    while stack:  # post-order: children before parents
        x, ready = stack.pop()
        if id(x) in sizes:
            continue
        if ready:
            sizes[id(x)] = 1 + sum(sizes[id(c)] for c in x.children)
        else:
            stack.append((x, True))
            stack.extend((c, False) for c in x.children if id(c) not in sizes)
    return sizes[id(e)]


@dataclass(frozen=True)
class Definition:
    """``name = expr``: ``expr`` in the names defined before it, ``inlined`` in the inputs alone."""

    name: Sym
    expr: Expr
    inlined: Expr
    source: str = ""  # the definition as written


@dataclass(frozen=True)
class Program:
    """The definitions in order and the function (the last statement)."""

    definitions: tuple[Definition, ...]
    function_name: str  # the last statement's name, or 'f' for a bare expression
    function: Expr  # the last statement, in the defined names
    inlined: Expr  # the function of the inputs alone
    source: str = ""  # the last statement as written, when it is a bare expression

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {d.name.name: d for d in self.definitions})

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(d.name.name for d in self.definitions)

    def definition(self, name: str) -> Definition | None:
        return self._by_name.get(name)  # type: ignore[attr-defined]

    @property
    def intermediates(self) -> tuple[Definition, ...]:
        """The definitions other than the function's own."""
        if self.definitions and self.definitions[-1].name.name == self.function_name:
            return self.definitions[:-1]
        return self.definitions


@dataclass(frozen=True)
class Statement:
    name: str | None  # None for a bare last expression
    expr: Raw
    name_raw: Raw | None


def statements(raw: Raw) -> list[Statement]:
    """The statements of a program node, in order."""
    out = []
    for s in raw.args:
        if s.op == "define":
            out.append(Statement(s.args[0], s.args[1], s.args[2]))
        else:
            out.append(Statement(None, s, None))
    return out


def _uses(r: Raw) -> list[Raw]:
    """The name nodes of a raw tree, in reading order."""
    out: list[Raw] = []
    stack = [r]
    while stack:
        x = stack.pop()
        if x.op == "name":
            out.append(x)
        stack.extend(a for a in reversed(x.args) if isinstance(a, Raw))
    return sorted(out, key=lambda x: x.start)


def check_statements(stmts: list[Statement], text: str) -> None:
    """Reserved names, names defined twice, uses before the definition, cycles."""
    where: dict[str, int] = {}
    for k, s in enumerate(stmts):
        if s.name is None:
            continue
        nr = s.name_raw
        width = max(1, nr.end - nr.start)
        if s.name in RESERVED_NAMES:
            raise ParseError(f"'{s.name}' is the identity matrix, a reserved name: it cannot be defined",
                             text, nr.start, width)
        if s.name in FUNCTIONS:
            raise ParseError(f"'{s.name}' is a function name: a definition cannot shadow it", text, nr.start, width)
        if s.name in where:
            first = stmts[where[s.name]].name_raw
            raise ParseError(f"'{s.name}' is defined twice (first at column {first.start})", text, nr.start, width)
        where[s.name] = k
    uses = [[u for u in _uses(s.expr)] for s in stmts]
    for k, s in enumerate(stmts):
        for u in uses[k]:
            name = u.args[0]
            j = where.get(name)
            if j is None or j < k:
                continue
            width = max(1, u.end - u.start)
            if j == k:
                raise ParseError(f"'{name}' is used in its own definition (a cycle)", text, u.start, width)
            if s.name is not None and _reaches(j, s.name, stmts, uses, where):
                raise ParseError(f"'{name}' and '{s.name}' are defined in terms of each other (a cycle)",
                                 text, u.start, width)
            raise ParseError(f"'{name}' is used before its definition (at column "
                             f"{stmts[j].name_raw.start})", text, u.start, width)


def _reaches(j: int, target: str, stmts, uses, where) -> bool:
    """Whether statement j uses ``target``, directly or through the names it uses."""
    seen: set[int] = set()
    stack = [j]
    while stack:
        i = stack.pop()
        if i in seen:
            continue
        seen.add(i)
        for u in uses[i]:
            n = u.args[0]
            if n == target:
                return True
            if n in where:
                stack.append(where[n])
    return False


class ProgramInference(Inference):
    """Inference where a defined name has the shape of its definition."""

    def __init__(self, text: str, types: dict[str, str]) -> None:
        super().__init__(text, types)
        self.defined: dict[str, ShapeT] = {}

    def symbol_shape(self, name: str) -> ShapeT:
        if name in self.defined:
            return self.defined[name]
        return super().symbol_shape(name)


class ProgramLowering(Lowering):
    """Lowering where a defined name is the symbol of its definition."""

    def __init__(self, inf: Inference, defined: dict[str, Sym]) -> None:
        super().__init__(inf)
        self.defined = defined

    def _build_one(self, r: Raw, built: dict[int, Expr]) -> Expr:
        if r.op == "name" and r.args[0] in self.defined:
            return self.defined[r.args[0]]
        return super()._build_one(r, built)


def infer_program(raw: Raw, text: str, types: dict[str, str], extra: tuple[str, ...]) -> tuple[
        ProgramInference, list[Statement]]:
    """Check the statements and infer every shape, definitions in order."""
    stmts = statements(raw)
    check_statements(stmts, text)
    defined = {s.name for s in stmts if s.name is not None}
    for name in types:
        if name in defined:
            raise UsageError(f"'{name}' is defined by the program: its type is that of its definition, "
                             f"it cannot be declared")
    for name in extra:
        if name in defined:
            raise UsageError(f"'{name}' is defined by the program; differentiate by an input "
                             f"(a name that is never defined)")
    inf = ProgramInference(text, types)
    for s in stmts:
        shape = inf.infer(s.expr)
        if s.name is not None:
            inf.defined[s.name] = shape
    return inf, stmts


def lower_program(inf: ProgramInference, stmts: list[Statement]) -> Program:
    """The definitions as expression trees, in their names and inlined."""
    syms: dict[str, Sym] = {}
    defs: list[Definition] = []
    inlined_of: dict[Expr, Expr] = {}
    last: Expr | None = None
    for s in stmts:
        expr = ProgramLowering(inf, syms).build(s.expr)
        try:  # a definition written out can leave an expression without value: det(M) with M = x y'
            inlined = A.substitute(expr, inlined_of) if inlined_of else expr
        except MatdiffError as e:
            raise e.at(inf.text, s.expr.start, max(1, s.expr.end - s.expr.start)) from None
        size = tree_size(inlined)
        if size > MAX_INLINED:
            raise UnsupportedError(f"the program is too large with its definitions written out ({size} nodes at "
                                   f"'{s.name or 'the last statement'}', the limit is {MAX_INLINED}): a name "
                                   f"used several times by each next definition multiplies the size",
                                   inf.text, s.expr.start, max(1, s.expr.end - s.expr.start))
        last = expr
        if s.name is None:
            defs_inlined = inlined
            break
        sym = Sym(s.name, expr.shape, A.is_symmetric(inlined))
        syms[s.name] = sym
        inlined_of[sym] = inlined
        defs.append(Definition(sym, expr, inlined, s.expr.source(inf.text).strip()))
        defs_inlined = inlined
    assert last is not None
    name = stmts[-1].name or "f"
    if stmts[-1].name is None and defs and stmts[-1].expr.op == "name" \
            and stmts[-1].expr.args[0] == defs[-1].name.name:  # 'c = …; c': the function is c
        name, last = defs[-1].name.name, defs[-1].expr
    source = "" if stmts[-1].name else stmts[-1].expr.source(inf.text).strip()
    return Program(tuple(defs), name, last, defs_inlined, source)


def program_notes(program: Program) -> list[str]:
    """Definitions that the function does not use."""
    used: set[str] = set(A.free_names(program.function))
    for d in program.definitions:
        used |= A.free_names(d.expr)
    unused = [d.name.name for d in program.definitions[:-1] if d.name.name not in used]
    if program.function_name == "f" and program.definitions and program.definitions[-1].name.name not in used:
        unused.append(program.definitions[-1].name.name)
    return [f"'{n}' is defined but the function does not use it" for n in unused]
