"""One generated function for several derivatives of one function (SPEC §7).

All the answers are lowered into one operation graph (hash-consed, so a part
two gradients share is one node), the names they share (``where`` parts, or a
program's definitions) become temporaries named as printed, and every node
used more than once is computed once.  The function returns a dict
{variable: derivative}, each in the layout of SPEC §5."""
from __future__ import annotations

from typing import Sequence

from ...core.nodes import SCALAR, Expr, Sym, Where
from ..declared_numeric import code_arguments
from .emit import emitter
from .lowering import Op, lower_many


def to_code_many(bodies: dict[str, Expr], shared: Sequence[tuple[Sym, Expr]], symbols: dict[str, Sym],
                 target: str = "numpy", name: str = "gradients", doc: str = "") -> str:
    """Source of one function of ``symbols`` returning {variable: derivative} (``bodies`` in the
    names of ``shared``, each (name, value) computed once, in order)."""
    em = emitter(target, symbols, name)
    exprs = []
    for b in bodies.values():
        for s, v in reversed(list(shared)):
            b = Where(b, s, v, b.shape)
        exprs.append(b)
    functions = list(dict(f for e in exprs for f in code_arguments(e)).items())  # each callable once
    em.namer.taken |= {n for n, _ in functions}
    roots, low = lower_many(exprs)
    head = em.arguments()
    body, pr = em.temporaries(Op("tuple", tuple(roots), (), SCALAR), low)
    dtype = em.input_dtype()  # PyTorch: each result in the inputs' floating dtype
    items = [f"        {var!r}: {em.returned(e, root, pr, dtype)},"
             for (var, e), root in zip(bodies.items(), roots)]
    if dtype:
        head = [dtype[0]] + head
    lines = em.preamble()
    lines.append(f"def {em.name}({em.signature([n for n, _ in functions])}):")
    doc_lines = em.docstring(doc, SCALAR, functions)
    k = doc_lines.index("    Returns:")
    doc_lines[k + 1] = "        dict: " + ", ".join(f"{v!r}" for v in bodies) + " -> each derivative."
    lines += doc_lines + em.keyword_arguments() + head + body + ["    return {"] + items + ["    }"]
    return "\n".join(lines) + "\n"


__all__ = ["to_code_many"]
