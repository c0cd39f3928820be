"""Index ranges and array orders, by unification (SPEC §2, §6).

A name with k subscripts is an array of order k (a tensor when k ≥ 3); every
index gets the dimension of the axes it meets; a bound index is made unique
(``i``, ``i#2``) so that two sums over ``i`` may run over different ranges."""
from __future__ import annotations

from dataclasses import dataclass

from ..core.names import RESERVED_NAMES
from ..errors import ShapeError, UnsupportedError, UsageError
from ..frontend.syntax import Raw
from ..frontend.types import ONE, DimT, Inference, ShapeT, default_kind

INDEX_OPS = ("subscript", "index_sum", "delta")


def has_indices(r: Raw) -> bool:
    """Whether a raw tree uses index notation."""
    stack = [r]
    while stack:
        x = stack.pop()
        if x.op in INDEX_OPS:
            return True
        stack.extend(a for a in x.args if isinstance(a, Raw))
    return False


def refuse_in_program(r: Raw, text: str) -> None:
    """Definitions (name = …; …) and index notation do not mix yet: say so at the first subscript or sum."""
    if r.op != "program":
        return
    found = [x for x in raw_nodes(r) if x.op in INDEX_OPS]
    if found:
        first = min(found, key=lambda x: x.start)
        raise UnsupportedError("index notation (subscripts, sum_i, delta) inside a program of definitions: "
                               "write the function as one expression", text, first.start, first.end - first.start)


def raw_nodes(r: Raw):
    stack = [r]
    while stack:
        x = stack.pop()
        yield x
        stack.extend(a for a in reversed(x.args) if isinstance(a, Raw))


@dataclass(frozen=True)
class Part:
    """The variable: a name, or an indexed part of one (``Phi[:,a,b]``)."""

    name: str
    subs: tuple[str, ...] | None = None

    @property
    def free(self) -> tuple[str, ...]:
        return tuple(s for s in (self.subs or ()) if s != ":")

    def __str__(self) -> str:
        return self.name if self.subs is None else f"{self.name}[{','.join(self.subs)}]"


class IndexInference(Inference):
    """Shapes of a raw tree with subscripts, index sums and δ."""

    def __init__(self, text: str, types: dict[str, str], part: Part | None = None) -> None:
        super().__init__(text, dict(types))
        self.part = part
        self.orders: dict[str, int] = {}  # name -> number of subscripts
        self.tensor_axes: dict[str, list[DimT]] = {}
        self.index_dim: dict[str, DimT] = {}  # unique index -> dimension
        self.keys: dict[tuple[int, int], str] = {}  # (id(raw), position) -> unique index
        self.shown: dict[str, str] = {}  # unique index -> the name typed
        self.bases: set[int] = set()  # name nodes that are subscripted
        self.where: dict[str, str] = {}  # unique index -> where first met, for messages
        self.cols: dict[str, int] = {}  # unique index -> column where first met

    # -- before shapes: orders and scopes ------------------------------------------
    def prepare(self, r: Raw) -> None:
        first: dict[str, tuple[int, Raw]] = {}
        for x in raw_nodes(r):
            if x.op != "subscript" or x.args[0].op != "name":
                continue
            name, k = x.args[0].args[0], len(x.args[1])
            self.bases.add(id(x.args[0]))
            if name in first and first[name][0] != k:
                k0, x0 = first[name]
                raise ShapeError(f"'{name}' is used with {k0} subscript{'s' * (k0 > 1)} at column "
                                 f"{x0.start} and with {k} at column {x.start}",
                                 self.text, x.start, x.end - x.start)
            first.setdefault(name, (k, x))
        for name, (k, x) in first.items():
            if name in RESERVED_NAMES and name not in self.types:
                if k != 2:
                    raise ShapeError(f"'{name}[…]' is Kronecker's delta and takes 2 subscripts, got {k}",
                                     self.text, x.start, x.end - x.start)
                continue
            declared = self.types.get(name)
            kind = declared or default_kind(name)
            want = {1: ("vector", "probability"), 2: ("matrix", "symmetric")}.get(k, ("tensor",))
            if kind == "tensor" or k >= 3:
                if declared and declared != "tensor":
                    raise ShapeError(f"'{name}' is declared {declared} but has {k} subscripts",
                                     self.text, x.start, x.end - x.start)
                self.types[name] = "tensor" if k >= 3 else want[0]
            elif kind not in want:
                if declared:
                    raise ShapeError(f"'{name}' is declared {declared} but has {k} subscript"
                                     f"{'s' * (k > 1)}", self.text, x.start, x.end - x.start)
                self.types[name] = want[0]
            self.orders[name] = k
        for x in raw_nodes(r):
            if x.op == "name" and id(x) not in self.bases and self.types.get(x.args[0]) == "tensor":
                raise ShapeError(f"'{x.args[0]}' is a tensor: use it with subscripts, e.g. "
                                 f"'{x.args[0]}[:,i,:]'", self.text, x.start, x.end - x.start)
        self._scope(r)

    def _scope(self, r: Raw) -> None:
        """Give every index occurrence its unique index; unbound indices are errors."""
        count: dict[str, int] = {}
        free = set(self.part.free) if self.part else set()
        stack: list[tuple[Raw, dict[str, str]]] = [(r, {})]
        while stack:
            x, scope = stack.pop()
            uses: list[tuple[int, str, int]] = []
            if x.op == "index_sum":
                scope = dict(scope)
                for pos, (name, col) in enumerate(x.args[0]):
                    count[name] = count.get(name, 0) + 1
                    key = name if count[name] == 1 and name not in free else f"{name}#{count[name]}"
                    scope[name] = key
                    self.keys[(id(x), pos)] = key
                    self.shown[key] = name
            elif x.op == "subscript":
                uses = [(p, n, c) for p, (n, c) in enumerate(x.args[1]) if n != ":"]
            elif x.op == "delta":
                uses = [(p, n, c) for p, (n, c) in enumerate(x.args)]
            for pos, name, col in uses:
                if name in scope:
                    key = scope[name]
                elif name in free:
                    raise ShapeError(f"index '{name}' of the variable {self.part} stands in the expression "
                                     f"outside a sum; the expression must be a scalar (bind it: "
                                     f"sum_{name}(…))", self.text, col, len(name))
                else:
                    raise ShapeError(f"index '{name}' is free: no sum binds it (write sum_{name}(…) "
                                     f"around it)", self.text, col, len(name))
                self.keys[(id(x), pos)] = key
            for a in reversed(x.args):
                if isinstance(a, Raw):
                    stack.append((a, scope))

    # -- shapes --------------------------------------------------------------------
    def index(self, key: str, dim: DimT, r: Raw, col: int, what: str) -> None:
        if key not in self.index_dim:
            self.index_dim[key] = dim
            self.where[key] = what
            self.cols[key] = col
            return
        if not self.dims.unify(self.index_dim[key], dim):
            name = self.shown.get(key, key)
            raise ShapeError(f"index '{name}' runs over axes of different sizes: "
                             f"{self.where[key]} has {self.dim_text(self.index_dim[key])} and {what} "
                             f"has {self.dim_text(dim)}", self.text, col, len(name))

    def axes_of(self, name: str) -> list[DimT]:
        """The axes of a named array (a tensor's are made on first use)."""
        if self.types.get(name) == "tensor":
            if name not in self.tensor_axes:
                self.tensor_axes[name] = [self.dims.fresh() for _ in range(self.orders[name])]
            return self.tensor_axes[name]
        return axes_of_shape(self, self.symbol_shape(name))

    def check_constants(self) -> None:
        """I, vector(c), matrix(c) may take their sizes from a tensor's axes too."""
        saved = dict(self.sym_shapes)
        for name, axes in self.tensor_axes.items():
            self.sym_shapes["#" + name] = tuple(axes)
        try:
            super().check_constants()
        finally:
            self.sym_shapes = saved
        self._check_ranges()

    def _check_ranges(self) -> None:
        """Every index runs over some array's axis: one met only in δ(i, j) has no range."""
        axes = {v for shape in list(self.sym_shapes.values()) + list(self.tensor_axes.values())
                for t in shape for v in self.dims.resolve(t)}
        for key, dim in self.index_dim.items():
            if any(v not in axes for v in self.dims.resolve(dim)):
                name = self.shown.get(key, key)
                raise ShapeError(f"index '{name}' meets no array's axis, only delta: its range is unknown "
                                 f"(subscript an array with it, or write its range as a scalar)",
                                 self.text, self.cols[key], len(name))

    def _infer_one(self, r: Raw) -> ShapeT:
        op = r.op
        if op == "name" and id(r) in self.bases:
            return (ONE, ONE)  # the subscript node gives it its meaning
        if op == "index_sum":
            shape = self.shape(r.args[1])
            for pos, (name, col) in enumerate(r.args[0]):  # the range comes from the body's subscripts
                if self.keys[(id(r), pos)] not in self.index_dim:
                    raise ShapeError(f"index '{name}' of '{self.src(r)}' stands in no subscript of the sum: "
                                     f"its range is unknown (drop it from the sum, or multiply by its range "
                                     f"as a scalar)", self.text, col, len(name))
            return shape
        if op == "delta":
            (i, ci), (j, cj) = r.args
            ki, kj = self.keys[(id(r), 0)], self.keys[(id(r), 1)]
            if ki in self.index_dim:
                self.index(kj, self.index_dim[ki], r, cj, f"'{i}' in '{self.src(r)}'")
            elif kj in self.index_dim:
                self.index(ki, self.index_dim[kj], r, ci, f"'{j}' in '{self.src(r)}'")
            else:
                d = self.dims.fresh()
                self.index(ki, d, r, ci, f"'{self.src(r)}'")
                self.index(kj, d, r, cj, f"'{self.src(r)}'")
            return (ONE, ONE)
        if op == "subscript":
            return self._subscript(r)
        return super()._infer_one(r)

    def _subscript(self, r: Raw) -> ShapeT:
        base, subs = r.args
        if base.op == "name" and id(base) in self.bases:
            name = base.args[0]
            if name in RESERVED_NAMES and name not in self.types:
                d = self.dims.fresh()
                axes = [d, d]
            else:
                axes = self.axes_of(name)
        else:
            axes = axes_of_shape(self, self.shape(base))
        if len(subs) != len(axes):
            what = {0: "a scalar", 1: "a vector", 2: "a matrix"}.get(len(axes), f"an order-{len(axes)} array")
            raise ShapeError(f"'{self.src(base)}' is {what} and takes {len(axes)} subscript"
                             f"{'s' * (len(axes) != 1)}, got {len(subs)}",
                             self.text, r.start, r.end - r.start)
        kept = []
        for pos, ((name, col), ax) in enumerate(zip(subs, axes)):
            if name == ":":
                kept.append(ax)
            else:
                self.index(self.keys[(id(r), pos)], ax, r, col,
                           f"axis {pos + 1} of '{self.src(base)}' in '{self.src(r)}'")
        if len(kept) > 2:
            raise ShapeError(f"'{self.src(r)}' keeps {len(kept)} axes: a slice may keep at most two "
                             "(a matrix)", self.text, r.start, r.end - r.start)
        if not kept:
            return (ONE, ONE)
        return (kept[0], ONE) if len(kept) == 1 else (kept[0], kept[1])


def axes_of_shape(inf: Inference, s: ShapeT) -> list[DimT]:
    """The non-singleton axes of a (rows, cols) shape."""
    return [t for t in s if inf.dims.resolve(t)]


def parse_part(wrt: str) -> Part:
    """'Phi[:,a,b]' → Part('Phi', (':', 'a', 'b')); 'X' → Part('X')."""
    import re
    m = re.fullmatch(r"\s*([A-Za-z_\u0370-\u03ff][A-Za-z0-9_\u0370-\u03ff]*)\s*(?:\[(.*)\])?\s*", wrt)
    if not m:
        raise UsageError(f"the variable must be a name or an indexed part like 'Phi[:,a,b]', got {wrt!r}")
    if m.group(2) is None:
        return Part(m.group(1))
    subs = tuple(s.strip() for s in m.group(2).split(","))
    for s in subs:
        if s != ":" and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", s):
            raise UsageError(f"a subscript of the variable is an index name or ':', got {s!r} in {wrt!r}")
    free = [s for s in subs if s != ":"]
    if len(set(free)) != len(free):
        raise UsageError(f"an index is repeated in the variable {wrt!r}")
    return Part(m.group(1), subs)
