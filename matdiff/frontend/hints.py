"""Spellings from NumPy, MATLAB and textbooks that matdiff writes otherwise:
each gets an error naming the matdiff spelling, written with the user's own
arguments (``dot(x, y)`` → ``x'*y``, ``‖x‖`` → ``norm2(x)``)."""
from __future__ import annotations

import re
from typing import Callable

from ..errors import ParseError, UnknownNameError

_SIMPLE = re.compile(r"^([A-Za-z_\u0370-\u03ff][A-Za-z0-9_\u0370-\u03ff]*|\d+(\.\d+)?)$")


def _operand(arg: str) -> str:
    """An argument as an operand: parenthesized unless it is a name or a number."""
    return arg if _SIMPLE.match(arg) else f"({arg})"


def _one(args: list[str]) -> str:
    return args[0] if len(args) == 1 else "x"


def _two(args: list[str]) -> tuple[str, str]:
    return (_operand(args[0]), _operand(args[1])) if len(args) == 2 else ("x", "y")


FUNCTION_HINTS: dict[str, Callable[[list[str]], str]] = {
    "transpose": lambda a: f"write {_operand(_one(a))}' (or {_operand(_one(a))}.T) for the transpose",
    "dot": lambda a: "write {}'*{} for the inner product".format(*_two(a)),
    "inner": lambda a: "write {}'*{} for the inner product".format(*_two(a)),
    "vdot": lambda a: "write {}'*{} for the inner product".format(*_two(a)),
    "outer": lambda a: "write {}*{}' for the outer product".format(*_two(a)),
    "matmul": lambda a: "write {}*{} (or {} @ {}) for the matrix product".format(*_two(a), *_two(a)),
    "mean": lambda a: f"write sum({_one(a)})/n for the mean, declaring n (the number of entries) a scalar: "
                      f"--scalar n, or types={{'n': 'scalar'}}",
    "norm": lambda a: f"write norm2({_one(a)}) for the Euclidean (Frobenius) norm, norm1({_one(a)}) for the L1 norm",
}
"""Function names of other systems, and how matdiff writes the call."""

_CALL = re.compile(r"(?<![A-Za-z0-9_\u0370-\u03ff])(%s)\(" % "|".join(FUNCTION_HINTS))


def _arguments(text: str, open_at: int) -> list[str] | None:
    """The comma-separated arguments of the call whose '(' is at ``open_at``."""
    depth, start, args = 0, open_at + 1, []
    for i in range(open_at, len(text)):
        ch = text[i]
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                args.append(text[start:i].strip())
                return args if all(args) else None
        elif ch == "," and depth == 1:
            args.append(text[start:i].strip())
            start = i + 1
    return None


def check_spellings(text: str, is_function: Callable[[str], bool]) -> None:
    """Raise the first hint that applies to ``text``; a call is one only when
    ``(`` follows the name directly (``mean (x)`` is a product)."""
    for m in _CALL.finditer(text):
        name = m.group(1)
        if is_function(name):
            continue
        hint = FUNCTION_HINTS[name](_arguments(text, m.end() - 1) or [])
        raise UnknownNameError(f"unknown function '{name}'; {hint}", text, m.start() + 1, len(name))
    check_prefixes(text, is_function)


_PREFIX = re.compile(r"(?<![A-Za-z0-9_\u0370-\u03ff.])(np|numpy|jnp|torch|math|sympy)\.(?!T(?!\w))([A-Za-z_]\w*)")
"""A module prefix; ``np.T`` is the transpose of a vector named np."""


def check_prefixes(text: str, is_function: Callable[[str], bool]) -> None:
    """``np.exp(x)``: matdiff's functions are written without a module prefix."""
    m = _PREFIX.search(text)
    if m:
        fix = (f"write {m.group(2)}(…) without the '{m.group(1)}.' prefix" if is_function(m.group(2))
               else "matdiff's functions take no module prefix")
        raise ParseError(f"'{m.group(0)}' is not matdiff syntax; {fix}", text, m.start() + 1, len(m.group(1)) + 1)


_BARS = re.compile(r"‖([^‖]*)‖|\|\|([^|]*)\|\||\|([^|]*)\|")


def bars_hint(text: str, column: int) -> ParseError | None:
    """``‖x‖``, ``||x||`` and ``|x|`` at ``column``: the norm or the absolute value."""
    for m in _BARS.finditer(text):
        if m.start() + 1 == column:
            inner = next(g for g in m.groups() if g is not None).strip() or "x"
            written = m.group(0)
            if written.startswith("|") and not written.startswith("||"):
                hint = f"write abs({inner}) for the entry-wise absolute value, norm2({inner}) for the norm"
            else:
                hint = f"write norm2({inner}) for the Euclidean (Frobenius) norm"
            return ParseError(f"'{written}' is not matdiff syntax; {hint}", text, column, len(written))
    if column <= len(text) and text[column - 1] in "‖|":
        return ParseError(f"unexpected character '{text[column - 1]}'; write norm2(x) for the norm, abs(x) "
                          f"for the absolute value", text, column)
    return None
