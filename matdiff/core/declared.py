"""Declared functions (SPEC §7): unspecified smooth functions named by the user.

* ``types={"f": "function"}`` — f acts element-wise; ``f'(u)``, ``f''(u)`` are its
  derivatives, entry by entry;
* ``types={"g": "scalar function"}`` — g takes one array to a scalar;
  ``grad_g(u)`` is its gradient, of u's shape.

A call is the node :class:`Declared`; its derivatives come from
:mod:`matdiff.calculus.declared`, its values from the Python callables the
user passes to ``lambdify`` and generated code, named by :func:`callable_name`:
``f``, ``f_prime``, ``f_prime2``, … and ``g``, ``grad_g``.
"""
from __future__ import annotations

import re
from typing import ClassVar

from .catalogue import FUNCTIONS
from .names import RESERVED_NAMES
from .nodes import SCALAR, Expr, Shape, node

ELEMENTWISE_KIND = "function"
SCALAR_KIND = "scalar function"
FUNCTION_KINDS = (ELEMENTWISE_KIND, SCALAR_KIND)
MAX_PRIMES = 4
"""f'''' at most: each derivative needs its own callable."""


@node
class Declared(Expr):
    """A declared function applied to one array.

    ``kind`` is ``"function"`` (element-wise; ``order`` primes: f, f′, f″, …) or
    ``"scalar function"`` (``order`` 0: g(A), a scalar; 1: ∇g(A), A's shape)."""

    name: str
    arg: Expr
    shape: Shape
    kind: str
    order: int = 0
    _child_fields: ClassVar = ("arg",)


def declared(name: str, kind: str, order: int, arg: Expr) -> Declared:
    """The call node, with its shape: A's for f⁽ᵏ⁾ and ∇g, a scalar for g."""
    shape = SCALAR if kind == SCALAR_KIND and order == 0 else arg.shape
    return Declared(name, arg, shape, kind, order)


def rebuilt(e: Declared, arg: Expr) -> Declared:
    return declared(e.name, e.kind, e.order, arg)


def spelling(e: Declared, style: str = "text") -> str:
    """The function's name as printed: f, f', f'' (text), f′, f″ (unicode), f^{\\prime} (LaTeX), grad_g, ∇g."""
    if e.kind == SCALAR_KIND:
        if e.order == 0:
            return e.name if style != "latex" else rf"\operatorname{{{e.name}}}" if len(e.name) > 1 else e.name
        return {"text": f"grad_{e.name}", "unicode": f"∇{e.name}",
                "latex": rf"\nabla {e.name}"}[style]
    if style == "text":
        return e.name + "'" * e.order
    if style == "unicode":
        return e.name + ({1: "′", 2: "″", 3: "‴"}.get(e.order, "′" * e.order) if e.order else "")
    base = rf"\operatorname{{{e.name}}}" if len(e.name) > 1 else e.name
    return base + (("^{" + r"\prime" * e.order + "}") if e.order else "")


def callable_name(e: Declared) -> str:
    """The keyword argument that supplies this function's values: f, f_prime, f_prime2, g, grad_g."""
    if e.kind == SCALAR_KIND:
        return e.name if e.order == 0 else f"grad_{e.name}"
    return e.name if e.order == 0 else f"{e.name}_prime" + (str(e.order) if e.order > 1 else "")


def calls(e: Expr) -> list[Declared]:
    """Every declared-function call in e, each callable once, in reading order."""
    seen: dict[str, Declared] = {}
    for x in e.walk():
        if isinstance(x, Declared):
            seen.setdefault(callable_name(x), x)
    return list(seen.values())


def check_declaration(name: str, kind: str) -> None:
    """A declared function may not reuse a built-in function or a reserved name (raises ValueError)."""
    if kind not in FUNCTION_KINDS:
        return
    if name in FUNCTIONS or name in RESERVED_NAMES:
        raise ValueError(f"'{name}' is a built-in name and cannot be declared a {kind}")
    if name.startswith("grad_"):
        raise ValueError(f"'{name}' cannot be declared a {kind}: grad_NAME is the gradient of a scalar function NAME")


_CALL = re.compile(r"^(?P<name>[^'′]+?)(?P<primes>['′]*)$")


def read_call(spelled: str, types: dict[str, str]) -> tuple[str, str, int] | None:
    """(name, kind, order) of a call as written — ``f``, ``f'``, ``f''``, ``g``, ``grad_g`` —
    or None when it is not a declared function.  Raises ValueError with the reason for
    a misuse (a prime on a scalar function, too many primes)."""
    m = _CALL.match(spelled)
    if m is None:
        return None
    name, primes = m.group("name"), len(m.group("primes"))
    if name.startswith("grad_") and types.get(name[5:]) == SCALAR_KIND and not primes:
        return name[5:], SCALAR_KIND, 1
    kind = types.get(name)
    if kind == ELEMENTWISE_KIND:
        if primes > MAX_PRIMES:
            raise ValueError(f"{spelled}(…): at most {MAX_PRIMES} primes")
        return name, kind, primes
    if kind == SCALAR_KIND:
        if primes:
            raise ValueError(f"'{name}' is a scalar function: its derivative is grad_{name}(…), not {spelled}(…)")
        return name, kind, 0
    if primes:
        raise ValueError(f"{spelled}(…): only a declared function takes a prime "
                         f"(declare it with types={{'{name}': 'function'}} or --function {name})")
    return None


def callable_names(types: dict[str, str]) -> frozenset[str]:
    """The names that are called like functions because of the declarations: f, g, grad_g."""
    out = set()
    for name, kind in types.items():
        if kind == ELEMENTWISE_KIND:
            out.add(name)
        elif kind == SCALAR_KIND:
            out |= {name, f"grad_{name}"}
    return frozenset(out)


__all__ = [
    "ELEMENTWISE_KIND",
    "FUNCTION_KINDS",
    "SCALAR_KIND",
    "Declared",
    "callable_name",
    "callable_names",
    "calls",
    "check_declaration",
    "declared",
    "read_call",
    "rebuilt",
    "spelling",
]
