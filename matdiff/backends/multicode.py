"""One generated function for several derivatives of one function (SPEC §7).

All the answers are lowered into one operation graph (hash-consed, so a part
two gradients share is one node), the names they share (``where`` parts, or a
program's definitions) become temporaries named as printed, and every node
used more than once is computed once.  The function returns a dict
{variable: derivative}, each in the layout of SPEC §5."""
from __future__ import annotations

from typing import Sequence

from ..core.nodes import SCALAR, Expr, Sym, Where
from ..errors import UsageError
from .declared_numeric import code_arguments
from .codegen.emit import ATOM, HELPER_ORDER, Printer, _docstring, _Emitter, _temp_base
from .codegen.lowering import Lowering, Op, _postorder, _uses, is_trivial
from .codegen.targets import _BY_NAME, TARGETS


def _lower_all(exprs: list[Expr]) -> tuple[list[Op], Lowering]:
    """As codegen's lowering, for several roots: inverses needed as matrices are kept once."""
    low = Lowering()
    roots = [low.lower(e) for e in exprs]
    keep = {id(op.args[0]) for r in roots for op in _postorder(r) if op.fname == "inv"}
    if keep:
        low.materialised_inv = keep
        low.reset()
        roots = [low.lower(e) for e in exprs]
    return roots, low


class _ManyEmitter(_Emitter):
    def functions(self, bodies: dict[str, Expr], shared: Sequence[tuple[Sym, Expr]], doc: str) -> str:
        tg, mod = self.t, self.mod
        exprs = []
        for b in bodies.values():
            for s, v in reversed(list(shared)):
                b = Where(b, s, v, b.shape)
            exprs.append(b)
        functions = [f for e in exprs for f in code_arguments(e)]
        functions = list(dict(functions).items())  # each declared callable once
        self.namer.taken |= {n for n, _ in functions}
        roots, low = _lower_all(exprs)
        top = Op("tuple", tuple(roots), (), SCALAR)
        head = self.arguments()
        temps: dict[int, str] = {}
        post = _postorder(top)
        for op in post:
            if op.kind == "arg":
                temps[id(op)] = self.argnames[op.attr[0]]
        uses = _uses(top)
        for op in post:
            if op.kind == "T" and uses.get(id(op), 0) >= 2:
                uses[id(op.args[0])] = uses.get(id(op.args[0]), 0) + 1
        order = [op for op in post if op is not top and not is_trivial(op) and op.kind != "T"
                 and (uses.get(id(op), 0) >= 2 or id(op) in low.where_names)]
        counter = 0
        for op in order:
            base = low.where_names.get(id(op)) or _temp_base(op, self.argnames)
            if base is None:
                counter += 1
                base = f"t{counter}"
                while base in self.namer.taken:
                    counter += 1
                    base = f"t{counter}"
            temps[id(op)] = self.namer.fresh(base)
        pr = Printer(tg, mod, temps, self.dim, self.helper)
        body = [f"    {temps[id(op)]} = {pr.render(op, defining=True)[0]}" for op in order]
        items = []
        dtype = self.input_dtype()  # PyTorch: each result in the inputs' floating dtype
        for (var, e), root in zip(bodies.items(), roots):
            result, prec = pr.render(root)
            if e.shape == SCALAR:
                value = (f"{mod}.float64({result}).item()" if tg.name == "numpy" and self.float_shadowed
                         else tg.scalar_return.format(m=mod, x=result))
            elif root.fname == "vec" and id(root) not in temps:
                value = tg.flat.format(pr.text(root.args[0], ATOM))
            elif e.shape[0] == 1 or e.shape[1] == 1:
                value = f"{result if prec >= ATOM else '(' + result + ')'}.reshape(-1)"
            else:
                value = result
            items.append(f"        {var!r}: {f'({value}).to({dtype[1]})' if dtype else value},")
        if dtype:
            head = [dtype[0]] + head
        lines: list[str] = []
        if tg.name == "jax":
            lines.append("# float64 needs jax.config.update(\"jax_enable_x64\", True); jit-compatible")
        lines += [tg.module.format(m=mod, as_m="" if mod == "torch" else f" as {mod}"), "", ""]
        for h in HELPER_ORDER:
            if h in self.helper_names:
                lines += [tg.helpers[h].format(m=mod, name=self.helper_names[h],
                                               perm=self.helper_names.get("commutation_perm", "")), "", ""]
        lines.append(f"def {self.name}({self.signature([n for n, _ in functions])}):")
        doc_lines = _docstring(doc, self.symbols, self.argnames, SCALAR, tg, functions)
        k = doc_lines.index("    Returns:")
        doc_lines[k + 1] = "        dict: " + ", ".join(f"{v!r}" for v in bodies) + " -> each derivative."
        lines += doc_lines + self.keyword_arguments() + head + body + ["    return {"] + items + ["    }"]
        return "\n".join(lines) + "\n"


def to_code_many(bodies: dict[str, Expr], shared: Sequence[tuple[Sym, Expr]], symbols: dict[str, Sym],
                 target: str = "numpy", name: str = "gradients", doc: str = "") -> str:
    """Source of one function of ``symbols`` returning {variable: derivative} (``bodies`` in the
    names of ``shared``, each (name, value) computed once, in order)."""
    if target not in _BY_NAME:
        raise UsageError(f"unknown code target {target!r}; the targets are {', '.join(TARGETS)}")
    if not isinstance(name, str) or not name.isidentifier():
        raise UsageError(f"the function name must be a Python identifier, got {name!r}")
    return _ManyEmitter(_BY_NAME[target], symbols, name).functions(bodies, shared, doc)


__all__ = ["to_code_many"]
