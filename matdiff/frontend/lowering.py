"""Lowering: the typed raw tree becomes the expression tree of :mod:`matdiff.core`.

Every raw node already has its shape (:mod:`matdiff.frontend.types`); each
becomes one constructor call of :mod:`matdiff.core.construct`."""
from __future__ import annotations


from ..core import construct as A
from ..core.catalogue import CONSTRUCTORS, FUNCTIONS
from ..core.declared import declared, read_call
from ..core.names import RESERVED_NAMES
from ..core.nodes import Expr, Ones, Sym, Zero
from ..errors import INTERNAL_FAULTS, MatdiffError, UndefinedError, UnsupportedError, internal_error
from .syntax import Raw
from .types import Inference, default_kind, integer_exponent


class Lowering:
    """Builds the expression tree of a raw tree whose shapes ``inf`` has inferred."""

    def __init__(self, inf: Inference) -> None:
        self.inf = inf

    def build(self, r: Raw) -> Expr:
        """Post-order, iterative; a chain a + b − c or a·b·c is built in one call
        (building it pairwise would re-canonicalize the growing chain k times)."""
        built: dict[int, Expr] = {}
        self.origins: dict[Expr, tuple[int, int]] = {}
        self._chains: dict[int, list[tuple[Raw, int]]] = {}
        stack: list[tuple[Raw, bool]] = [(r, False)]
        while stack:
            node, done = stack.pop()
            if done:
                built[id(node)] = e = self._located(node, built)
                self.origins.setdefault(e, (node.start, node.end))
                continue
            stack.append((node, True))
            if node.op in ("add", "sub", "mul"):
                leaves = self._chain(node)
                self._chains[id(node)] = leaves
                kids = [leaf for leaf, _ in leaves]
            else:
                kids = [a for a in node.args if isinstance(a, Raw)]
            for a in reversed(kids):
                stack.append((a, False))
        return built[id(r)]

    def _located(self, r: Raw, built: dict[int, Expr]) -> Expr:
        """One node built; an error while building it points at its columns."""
        text = self.inf.text
        try:
            return self._build_one(r, built)
        except UndefinedError as e:  # the caret under the argument that has no value
            raise e.at_node(text, self.origins).at(text, r.start, r.end - r.start)
        except MatdiffError as e:
            raise e.at(text, r.start, r.end - r.start)
        except INTERNAL_FAULTS as e:
            raise internal_error(e, f"building '{r.source(text)}'").at(text, r.start, r.end - r.start) from e

    def _chain(self, r: Raw) -> list[tuple[Raw, int]]:
        """The operands of a maximal chain of + and − (with signs) or of products,
        through parentheses (a product in parentheses only when it is not a scalar:
        A (xᵀy) is a scalar multiple, not a longer chain)."""
        ops = ("add", "sub") if r.op in ("add", "sub") else ("mul",)
        out: list[tuple[Raw, int]] = []
        stack = [(r, 1)]
        while stack:
            node, sign = stack.pop()
            if node.op == "paren" and node.args[0].op in ops and (
                    ops[0] == "add" or not self.inf.is_scalar(self.inf.shape(node))):
                stack.append((node.args[0], sign))
            elif node.op in ops:
                a, b = node.args
                stack.append((b, -sign if node.op == "sub" else sign))
                stack.append((a, sign))
            else:
                out.append((node, sign))
        return out

    def _build_one(self, r: Raw, built: dict[int, Expr]) -> Expr:
        op = r.op
        if op in ("add", "sub"):
            return A.add(*[built[id(x)] if s > 0 else A.neg(built[id(x)]) for x, s in self._chains[id(r)]])
        if op == "mul":
            return A.mul(*[built[id(x)] for x, _ in self._chains[id(r)]])
        sub = [built[id(a)] for a in r.args if isinstance(a, Raw)]
        shape = self.inf.final_shape(self.inf.shape(r))
        if op == "num":
            return Zero(shape) if id(r) in self.inf.sized_zeros else A.num(r.args[0])
        if op == "name":
            name = r.args[0]
            if name in RESERVED_NAMES and name not in self.inf.types:
                return A.identity(shape[0])
            kind = self.inf.types.get(name) or default_kind(name)
            return Sym(name, shape, kind == "symmetric", kind == "probability")
        if op == "paren":
            return sub[0]
        if op == "neg":
            return A.neg(sub[0])
        if op == "transpose":
            return A.T(sub[0])
        if op in ("div", "ediv") and A.is_zero(sub[1]):
            divisor = r.args[-1]
            raise UndefinedError("division by zero").at(self.inf.text, divisor.start, divisor.end - divisor.start)
        if op == "div":
            return A.div(*sub)
        if op == "hadamard":
            return A.had(*sub)
        if op == "ediv":
            a, b = sub
            return A.had(a if not a.is_scalar or b.is_scalar else A.mul(a, Ones(b.shape)),
                         A.power(b, A.MINUS_ONE))
        if op == "kron":
            return A.kron(*sub)
        if op == "pow":
            base, ex = sub
            if base.is_scalar:
                return A.power(base, ex)
            k = integer_exponent(r.args[1])
            if k is None:
                raise UnsupportedError("a matrix power needs an integer exponent", self.inf.text, r.start)
            return A.matpow(base, k)
        if op == "epow":
            return A.power(*sub)
        if op == "call":
            fn = r.args[0]
            if fn == "kron":
                return A.kron(*sub)
            if fn in CONSTRUCTORS:
                return A.mul(sub[0], Ones(shape))
            call = read_call(fn, self.inf.types) if fn not in FUNCTIONS else None
            if call is not None:  # a declared function (SPEC §7)
                return declared(call[0], call[1], call[2], sub[0])
            return A.func(fn, sub[0])
        raise AssertionError(op)
