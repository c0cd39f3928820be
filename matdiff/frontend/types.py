"""Types and symbolic dimensions (SPEC §2), inferred by unification.

A dimension term is a tuple of dimension variables, read as their
product (in the order of the column-major index, slow first): ``()`` is 1, ``(v,)`` one symbolic size, ``(v, w)`` the size v·w of
a Kronecker product or a vec.  Symbolic sizes are never 1, so a scalar, a
vector and a matrix never unify with one another.  After inference every
variable gets a letter (m, n, p, …) and the raw tree becomes a typed tree.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction

from ..core import construct as A
from ..errors import ParseError, ShapeError, UsageError
from ..core.catalogue import lookup
from ..core.declared import FUNCTION_KINDS, SCALAR_KIND, check_declaration, read_call
from ..core.names import NAME, RESERVED_NAMES, is_greek
from .limits import check_name_length, shortened
from .syntax import Raw

DimT = tuple[int, ...]
ShapeT = tuple[DimT, DimT]
ONE: DimT = ()
TYPE_NAMES = ("scalar", "vector", "matrix", "symmetric", "probability", "tensor") + FUNCTION_KINDS
"""The types a name may be declared as (API ``types=``, CLI flags); a tensor is used with subscripts
(SPEC §6); the last two declare functions (SPEC §7)."""
LETTERS = "m n p q r s t u v w k l a b c d e f g h i j".split()


def default_kind(name: str) -> str:
    """The type a name has unless declared (SPEC §2): Greek → scalar,
    upper-case initial → matrix, anything else → vector."""
    if is_greek(name):
        return "scalar"
    if name[0].isupper() or ("\u0391" <= name[0] <= "\u03a9"):
        return "matrix"
    return "vector"


def check_types(types: dict[str, str] | None) -> dict[str, str]:
    """Validate a declaration mapping name → kind."""
    if types is not None and not isinstance(types, Mapping):
        raise UsageError(f"types must be a dict of name → kind, such as {{'x': 'scalar'}}, "
                         f"got {type(types).__name__}")
    out: dict[str, str] = {}
    for name, kind in (types or {}).items():
        k = str(kind).lower()
        if k not in TYPE_NAMES:
            raise UsageError(f"unknown type {shortened(repr(kind), 40)} for {shortened(repr(name), 40)}; "
                             f"the types are {', '.join(TYPE_NAMES)}")
        if not NAME.fullmatch(str(name)):
            raise UsageError(f"{shortened(repr(name), 40)} is not a name")
        check_name_length(str(name))
        try:
            check_declaration(str(name), k)
        except ValueError as e:
            raise UsageError(str(e)) from None
        out[str(name)] = k
    return out


@dataclass
class Dims:
    """Union–find over dimension variables, with product bindings and the equations
    between products that nothing forces factor by factor (l·n = p·q)."""

    parent: list[int] = field(default_factory=list)
    bound: dict[int, DimT] = field(default_factory=dict)
    pending: list[tuple[DimT, DimT]] = field(default_factory=list, init=False)

    def fresh(self) -> DimT:
        self.parent.append(len(self.parent))
        return (len(self.parent) - 1,)

    def find(self, v: int) -> int:
        while self.parent[v] != v:
            self.parent[v] = self.parent[self.parent[v]]
            v = self.parent[v]
        return v

    def resolve(self, t: DimT) -> DimT:
        out: list[int] = []
        for v in t:
            r = self.find(v)
            out.extend(self.resolve(self.bound[r]) if r in self.bound else (r,))
        return tuple(out)

    def cancelled(self, a: DimT, b: DimT) -> tuple[list[int], list[int]]:
        """The factors of a and of b left once their common factors cancel (m·n, m·q → [n], [q])."""
        a, b = self.resolve(a), self.resolve(b)
        ra, rb = list(a), list(b)
        for v in a:
            if v in rb:
                ra.remove(v)
                rb.remove(v)
        return ra, rb

    def unify(self, a: DimT, b: DimT) -> bool:
        """Sizes are products of variables, each at least 2: equal factors cancel
        (m·n = m·q gives n = q), a lone variable is bound to the rest of the other side,
        and m·n = p·q with nothing in common is kept as an equation (m = p is not forced:
        vec of a 5×3 X matches b ⊗ x with b ∈ ℝ⁵, x ∈ ℝ³) until :meth:`settle`."""
        ra, rb = self.cancelled(a, b)
        if not ra and not rb:
            return True
        if not ra or not rb:
            return False  # m·n = m: n would be 1
        if len(ra) == 1 and len(rb) == 1:
            self.parent[ra[0]] = rb[0]
            return True
        if len(ra) == 1 and ra[0] not in rb:
            self.bound[ra[0]] = tuple(rb)
            return True
        if len(rb) == 1 and rb[0] not in ra:
            self.bound[rb[0]] = tuple(ra)
            return True
        if len(ra) == 1 or len(rb) == 1:
            return False
        if len(set(ra)) == 1 and len(set(rb)) == 1 and len(ra) == len(rb):  # n·n = p·p: n = p
            return self.unify(ra[:1], rb[:1])
        self.pending.append((tuple(ra), tuple(rb)))
        return True

    def _join_equal_sides(self) -> bool:
        """l·n = p·q and l·r = p·q give l·n = l·r (so n = r): two open equations with a
        side in common become one.  True when one was joined."""
        eqs = [(tuple(sorted(self.resolve(a))), tuple(sorted(self.resolve(b)))) for a, b in self.pending]
        for i, (a, b) in enumerate(eqs):
            for j in range(i + 1, len(eqs)):
                c, d = eqs[j]
                other = {a: b, b: a}
                if c in other or d in other:
                    first = other.get(c) if c in other else other[d]
                    opened = len(self.pending)
                    if not self.unify(first, d if c in other else c):
                        raise ValueError("a product of sizes would have to be 1")
                    if len(self.pending) > opened:  # no factor cancelled: the pair says nothing new
                        self.pending.pop()
                        continue
                    del self.pending[j]
                    return True
        return False

    def settle(self, unused: set[int] = frozenset(), spans: list[tuple[int, int]] = ()) -> list[tuple[DimT, DimT]]:
        """The product equations still open once everything else is unified: each is
        solved again (a later unification may have made factors cancel); one that holds a
        size no variable has (the I of kron(A, I)), or that has the rows of a matrix on one
        side and its columns on the other (``spans``: a square kron(A, X), tr(A ⊗ X) =
        tr A tr X) is matched factor by factor, in order.  Returns the equations left, each
        as two products of distinct variables."""
        while True:
            pending, self.pending = self.pending, []
            for a, b in pending:
                if not self.unify(a, b):
                    raise ValueError("a product of sizes would have to be 1")
            if self._join_equal_sides():
                continue
            if not self.pending or self.pending == pending:
                break
        left = []
        for a, b in self.pending:
            a, b = self.resolve(a), self.resolve(b)
            ra, rb = {self.find(v) for v in a}, {self.find(v) for v in b}
            across = any((self.find(r) in ra and self.find(c) in rb) or (self.find(r) in rb and self.find(c) in ra)
                         for r, c in spans)
            if ((ra | rb) & unused or across) and len(a) == len(b):
                for x, y in zip(a, b):
                    self.unify((x,), (y,))
            elif sorted(a) != sorted(b):
                left.append((a, b))
        self.pending = []
        return left


class Inference:
    """Infers the shape of every raw node, then builds the typed tree."""

    def __init__(self, text: str, types: dict[str, str]) -> None:
        self.text = text
        self.types = types
        self.dims = Dims()
        self.sym_shapes: dict[str, ShapeT] = {}
        self.shapes: dict[int, ShapeT] = {}  # id(raw) -> shape
        self.constants: list[tuple[Raw, ShapeT]] = []
        self.sized_zeros: set[int] = set()  # '0' literals that stand for a zero vector
        self.letters: dict[int, str] = {}
        self.equations: list[tuple[DimT, DimT]] = []  # products equal as sizes, not factor by factor

    # -- naming ----------------------------------------------------------
    def letter(self, v: int) -> str:
        r = self.dims.find(v)
        if r not in self.letters:
            i = len(self.letters)
            self.letters[r] = LETTERS[i] if i < len(LETTERS) else f"n{i}"
        return self.letters[r]

    def dim_text(self, t: DimT) -> str:
        t = self.dims.resolve(t)
        return "1" if not t else "·".join(self.letter(v) for v in t)

    def shape_text(self, s: ShapeT) -> str:
        return f"{self.dim_text(s[0])}×{self.dim_text(s[1])}"

    def final_dim(self, t: DimT):
        t = self.dims.resolve(t)
        if len(t) == 1:
            return self.final_letter(t[0])
        return A.dim_mul(*[self.final_letter(v) for v in t]) if t else 1

    def final_letter(self, v: int):
        """The letter of v; for a factor of a product that equals another product (p·q = l·n),
        a letter that knows the equation (the side read last is written as the other)."""
        equal = []
        for a, b in self.equations:
            la, lb = tuple(self.letter(x) for x in a), tuple(self.letter(x) for x in b)
            if sorted(la) > sorted(lb):
                a, b, la, lb = b, a, lb, la
            if self.dims.find(v) in [self.dims.find(x) for x in b if x not in a]:
                equal.append((lb, la))
        letter = self.letter(v)
        return A.EqualProduct(letter, tuple(equal)) if equal else letter

    def final_shape(self, s: ShapeT):
        return (self.final_dim(s[0]), self.final_dim(s[1]))

    # -- errors ------------------------------------------------------------
    def src(self, r: Raw) -> str:
        """The text of ``r``, to quote in a message (its middle elided when long)."""
        return shortened(r.source(self.text).strip(), 30)

    def fail(self, r: Raw, message: str) -> ShapeError:
        return ShapeError(message, self.text, r.start, max(1, r.end - r.start))

    def mismatch(self, r: Raw, what: str, a: Raw, b: Raw) -> ShapeError:
        return self.fail(r, f"{what} in '{self.src(r)}': '{self.src(a)}' is "
                            f"{self.shape_text(self.shape(a))} but '{self.src(b)}' is "
                            f"{self.shape_text(self.shape(b))}")

    # -- shapes ------------------------------------------------------------
    def shape(self, r: Raw) -> ShapeT:
        return self.shapes[id(r)]

    def is_scalar(self, s: ShapeT) -> bool:
        return not self.dims.resolve(s[0]) and not self.dims.resolve(s[1])

    def is_vector(self, s: ShapeT) -> bool:
        return bool(self.dims.resolve(s[0])) and not self.dims.resolve(s[1])

    def unify_shapes(self, a: ShapeT, b: ShapeT) -> bool:
        return self.dims.unify(a[0], b[0]) and self.dims.unify(a[1], b[1])

    def symbol_shape(self, name: str) -> ShapeT:
        if name not in self.sym_shapes:
            kind = self.types.get(name) or default_kind(name)
            if kind == "tensor":
                raise UsageError(f"'{name}' is declared a tensor: use it with subscripts, e.g. "
                                 f"'{name}[:,i,:]'")
            if kind == "scalar":
                s: ShapeT = (ONE, ONE)
            elif kind in ("vector", "probability"):
                s = (self.dims.fresh(), ONE)
            elif kind == "symmetric":
                d = self.dims.fresh()
                s = (d, d)
            else:
                s = (self.dims.fresh(), self.dims.fresh())
            self.sym_shapes[name] = s
        return self.sym_shapes[name]

    def infer(self, r: Raw) -> ShapeT:
        """Post-order and iterative, so that deep expressions do not recurse."""
        stack: list[tuple[Raw, bool]] = [(r, False)]
        while stack:
            node, done = stack.pop()
            if done:
                self.shapes[id(node)] = self._infer_one(node)
                continue
            stack.append((node, True))
            for a in reversed(node.args):
                if isinstance(a, Raw):
                    stack.append((a, False))
        return self.shapes[id(r)]

    def _infer_one(self, r: Raw) -> ShapeT:
        op, args = r.op, r.args
        if op == "num":
            return (ONE, ONE)
        if op == "name":
            name = args[0]
            if name in RESERVED_NAMES and name not in self.types:
                d = self.dims.fresh()
                self.constants.append((r, (d, d)))
                return (d, d)
            if self.types.get(name) in FUNCTION_KINDS:
                raise self.fail(r, f"'{name}' is a declared {self.types[name]}: call it as {name}(…)")
            return self.symbol_shape(name)
        if op in ("paren", "neg"):
            return self.shape(args[0])
        if op == "transpose":
            s = self.shape(args[0])
            return (s[1], s[0])
        if op in ("add", "sub", "hadamard", "ediv"):
            a, b = args
            sa, sb = self.shape(a), self.shape(b)
            if self.is_scalar(sa):
                return sb
            if self.is_scalar(sb):
                return sa
            if not self.unify_shapes(sa, sb):
                what = "shape mismatch" if op in ("add", "sub") else "element-wise shape mismatch"
                raise self.mismatch(r, what, a, b)
            return sa
        if op == "mul":
            a, b = args
            sa, sb = self.shape(a), self.shape(b)
            if self.is_scalar(sa):
                return sb
            if self.is_scalar(sb):
                return sa
            if not self.dims.unify(sa[1], sb[0]):
                err = self.mismatch(r, "inner dimensions do not agree", a, b)
                if a.op == "name" and b.op == "paren" and b.start == a.end:
                    err.message += f" ('{a.args[0]}(…)' is read as a product: '{a.args[0]}' is not a function)"
                raise err
            return (sa[0], sb[1])
        if op == "div":
            a, b = args
            if not self.is_scalar(self.shape(b)):
                raise self.fail(r, f"'/' divides by a scalar only, but '{self.src(b)}' is "
                                   f"{self.shape_text(self.shape(b))}; use inv(…) or './'")
            return self.shape(a)
        if op == "kron":
            sa, sb = self.shape(args[0]), self.shape(args[1])
            return (sa[0] + sb[0], sa[1] + sb[1])
        if op in ("pow", "epow"):
            base, ex = args
            se = self.shape(ex)
            if not self.is_scalar(se):
                hint = " (write X' or Xᵀ for a transpose)" if self.src(ex) == "T" else ""
                raise self.fail(r, f"the exponent '{self.src(ex)}' must be a scalar, "
                                   f"but it is {self.shape_text(se)}{hint}")
            sb = self.shape(base)
            if op == "pow" and not self.is_scalar(sb):
                if self.is_vector(sb) or not self.dims.unify(sb[0], sb[1]):
                    raise self.fail(r, f"'^' needs a square matrix or a scalar, but '{self.src(base)}' "
                                       f"is {self.shape_text(sb)}; use '.^' for an element-wise power")
                if integer_exponent(ex) is None:
                    hint = " (write X' or Xᵀ for a transpose)" if self.src(ex) == "T" else ""
                    raise self.fail(ex, f"a matrix power needs an integer exponent, "
                                        f"not '{self.src(ex)}'{hint}")
            return sb
        if op == "call":
            return self._infer_call(r)
        raise AssertionError(op)

    def _infer_call(self, r: Raw) -> ShapeT:
        """The shape of a call, by the shape rule of the function's catalogue record."""
        fn, *args = r.args
        rec = lookup(fn)
        if rec is None:
            return self._infer_declared(r)
        if len(args) != rec.arity:
            raise ParseError(f"{fn}() takes {rec.arity} argument{'s' * (rec.arity > 1)}, got {len(args)}",
                             self.text, r.start, max(1, r.end - r.start))
        rule = rec.shape
        if rule == "kron":
            sa, sb = self.shape(args[0]), self.shape(args[1])
            return (sa[0] + sb[0], sa[1] + sb[1])
        a = args[0]
        s = self.shape(a)
        if rule in ("constant-vector", "constant-matrix"):
            if not self.is_scalar(s):
                raise self.fail(r, f"{fn}(c) takes a scalar c, but '{self.src(a)}' is {self.shape_text(s)}")
            shape = (self.dims.fresh(), ONE) if rule == "constant-vector" else (self.dims.fresh(), self.dims.fresh())
            self.constants.append((r, shape))
            return shape
        if rule == "same":
            return s
        if rule == "scalar":
            return (ONE, ONE)
        if rule == "vec":
            return (s[1] + s[0], ONE)
        if rule in ("square->scalar", "square->same"):
            if self.is_scalar(s):
                return s
            if self.is_vector(s) or not self.dims.unify(s[0], s[1]):
                raise self.fail(r, f"{fn}() needs a square matrix, but '{self.src(a)}' is {self.shape_text(s)}")
            return s if rule == "square->same" else (ONE, ONE)
        if rule == "diag":
            if self.is_scalar(s):
                return s
            if self.is_vector(s):
                return (s[0], s[0])
            if not self.dims.unify(s[0], s[1]):
                raise self.fail(r, f"diag() takes a vector or a square matrix, but '{self.src(a)}' "
                                   f"is {self.shape_text(s)}")
            return (s[0], ONE)
        if rule in ("vector->same", "vector->scalar"):
            spelled = _zero_literal(a)
            if spelled is not None and self.is_scalar(s):  # '0' is the zero of inferred shape (SPEC)
                s = (self.dims.fresh(), ONE)
                for node in spelled:
                    self.shapes[id(node)] = s
                zero = spelled[-1]
                self.constants.append((zero, s))
                self.sized_zeros.add(id(zero))
            if not self.is_vector(s):
                raise self.fail(r, f"{fn}() takes a vector, but '{self.src(a)}' is {self.shape_text(s)}")
            return s if rule == "vector->same" else (ONE, ONE)
        raise AssertionError(rule)

    def _infer_declared(self, r: Raw) -> ShapeT:
        """f(A), f'(A) have A's shape; g(A) is a scalar, grad_g(A) has A's shape (SPEC §7)."""
        fn, *args = r.args
        try:
            call = read_call(fn, self.types)
        except ValueError as e:
            raise ParseError(str(e), self.text, r.start, max(1, r.end - r.start)) from None
        if call is None:
            raise ParseError(f"unknown function '{fn}'", self.text, r.start, len(fn))
        if len(args) != 1:
            raise ParseError(f"{fn}() takes 1 argument, got {len(args)}", self.text, r.start,
                             max(1, r.end - r.start))
        _, kind, order = call
        return (ONE, ONE) if kind == SCALAR_KIND and order == 0 else self.shape(args[0])

    def check_constants(self) -> None:
        """Every I, vector(c), matrix(c) must get its size from a variable."""
        used = {self.dims.find(v) for s in self.sym_shapes.values() for t in s for v in self.dims.resolve(t)}
        everything = {self.dims.find(v) for v in range(len(self.dims.parent))}
        spans = [(r[0], c[0]) for r, c in (tuple(map(self.dims.resolve, s)) for s in self.sym_shapes.values()
                                           if len(s) == 2) if len(r) == 1 and len(c) == 1]
        try:
            self.equations = self.dims.settle(everything - used, spans)
        except ValueError:
            raise ShapeError("the sizes of a Kronecker product and a vec cannot agree", self.text, 0,
                             max(1, len(self.text))) from None
        known: set[int] = set()
        products: list[DimT] = []
        for s in self.sym_shapes.values():
            for t in s:
                r = self.dims.resolve(t)
                if len(r) == 1:
                    known.update(r)
                elif r:
                    products.append(r)
        grew = True
        while grew:  # a product of known sizes fixes its one unknown factor
            grew = False
            for r in products:
                unknown = set(r) - known
                if len(unknown) == 1:
                    known |= unknown
                    grew = True
        for raw, s in self.constants:
            for t in s:
                if not set(self.dims.resolve(t)) <= known:
                    raise self.fail(raw, f"cannot infer the size of '{self.src(raw)}' from the "
                                         f"expression around it")


def _zero_literal(r: Raw) -> list[Raw] | None:
    """The nodes that spell a literal '0' through parentheses and signs ('(0)', '-0'), the
    literal last (all of them take its shape), or None."""
    nodes = [r]
    while nodes[-1].op in ("paren", "neg"):
        nodes.append(nodes[-1].args[0])
    return nodes if nodes[-1].op == "num" and nodes[-1].args[0] == 0 else None


def integer_exponent(r: Raw) -> int | None:
    """The integer an exponent spells (2, -1, (3)), or None."""
    sign = 1
    while r.op in ("neg", "paren"):
        sign = -sign if r.op == "neg" else sign
        r = r.args[0]
    if r.op == "num" and isinstance(r.args[0], Fraction) and r.args[0].denominator == 1:
        return sign * int(r.args[0])
    return None


def concatenation_notes(names: list[str], declared: frozenset[str] | set[str] = frozenset()) -> list[str]:
    """Names that may have been meant as a product (SPEC §1): one that reads as
    a product of other names of the expression, and every undeclared name of two
    or three letters that is not Greek (``Ax``, ``SW``, ``Xb``)."""
    notes = []
    known = set(names)
    for name in names:
        parts = _split_known(name, known)
        if parts is None and name not in declared and _short(name):
            parts = list(name)
        if parts:
            notes.append(f"'{name}' is read as one name; write '{' '.join(parts)}' or "
                         f"'{'*'.join(parts)}' for the product")
    return notes


def _short(name: str) -> bool:
    """Two or three letters, not a Greek name nor a reserved one."""
    return 2 <= len(name) <= 3 and name.isascii() and name.isalpha() and not is_greek(name) \
        and name not in RESERVED_NAMES


MAX_SPLIT = 64
"""The longest name read as a possible product of other names (longer ones are meant as one)."""


def _split_known(s: str, known: set[str]) -> list[str] | None:
    """``s`` as two or more names of ``known``, or None: the split whose first part is
    shortest, each rest read as one name if it is one (remembered by position, so that
    time is polynomial in the length of ``s``, never exponential)."""
    if len(s) > MAX_SPLIT:
        return None
    rest: dict[int, list[str] | None] = {len(s): None}  # s[j:] as one or more names
    for j in range(len(s) - 1, 0, -1):
        rest[j] = [s[j:]] if s[j:] in known else next(
            ([s[j:k]] + rest[k] for k in range(j + 1, len(s)) if rest[k] and s[j:k] in known), None)
    return next(([s[:i]] + rest[i] for i in range(1, len(s)) if rest[i] and s[:i] in known), None)


KIND_PLURALS = {"scalar": "scalars", "vector": "vectors", "matrix": "matrices"}


def assumed_types_note(names: list[str], declared: dict[str, str],
                       inferred: dict[str, str] | None = None) -> list[str]:
    """``assumed A is a matrix, x and y are vectors`` for the names not declared (SPEC §2);
    ``inferred`` names the kind where it is not the default (``Phi`` an order-3 tensor)."""
    groups: dict[str, list[str]] = {}
    for name in names:
        if name not in declared and name not in RESERVED_NAMES:
            groups.setdefault((inferred or {}).get(name) or default_kind(name), []).append(name)
    if not groups:
        return []
    parts = []
    for kind, group in groups.items():
        if len(group) == 1:
            parts.append(f"{group[0]} is {'an' if kind[0] in 'aeiou' else 'a'} {kind}")
        else:
            parts.append(f"{', '.join(group[:-1])} and {group[-1]} are {KIND_PLURALS.get(kind, kind + 's')}")
    return ["assumed " + ", ".join(parts)]
