"""Errors raised by matdiff: one line of message, plus the input with a caret
under the offending column when the error points into the expression."""
from __future__ import annotations

import functools
import gc
import inspect
from collections.abc import Mapping
from typing import Any, Callable, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


CONTEXT_WIDTH = 100
"""Characters of the input shown under an error (the rest of a longer line is elided)."""


class MatdiffError(Exception):
    """Base class of every error matdiff raises on bad input or misuse."""

    kind = "error"

    def __init__(self, message: str, text: str | None = None, column: int | None = None,
                 width: int = 1, node: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.text = text
        self.column = column  # 1-based, like lark
        self.width = max(1, width)
        self.node = node  # the sub-expression the error is about, when known

    def at(self, text: str, column: int, width: int = 1) -> "MatdiffError":
        """This error, pointing at ``column`` of ``text`` unless it already points somewhere."""
        if self.column is None:
            self.text, self.column, self.width = text, column, max(1, width)
        return self

    def at_node(self, text: str, origins: Mapping[Any, tuple[int, int]]) -> "MatdiffError":
        """This error, pointing at the columns its sub-expression came from (``origins``), if known."""
        span = origins.get(self.node) if self.node is not None else None
        return self.at(text, span[0], span[1] - span[0]) if span else self

    def context(self) -> str:
        """The input line with a caret (or a run of carets) under the column; of a line
        longer than :data:`CONTEXT_WIDTH`, the part around the column, elided with '…'."""
        if self.text is None or self.column is None:
            return ""
        line = "".join(" " if ch.isspace() else ch for ch in self.text)  # a tab or a line break as one column
        at, width = self.column - 1, self.width
        if len(line) > CONTEXT_WIDTH:
            start = max(0, min(at - CONTEXT_WIDTH // 3, len(line) - CONTEXT_WIDTH))
            end = start + CONTEXT_WIDTH
            width = max(1, min(width, end - at))
            line = ("…" if start else "") + line[start:end] + ("…" if end < len(line) else "")
            at = at - start + (1 if start else 0)
        return f"  {line}\n  {' ' * at}{'^' * width}"

    def __str__(self) -> str:
        """One line: the kind, the column and the message (a line break quoted from the input as a space)."""
        where = f" at column {self.column}" if self.column is not None and self.text is not None else ""
        message = " ".join(str(self.message).splitlines())
        return f"{self.kind}{where}: {message}"

    def report(self) -> str:
        """The full report: one line of message, then the caret context."""
        ctx = self.context()
        return f"{self}\n{ctx}" if ctx else str(self)


class ParseError(MatdiffError):
    """The text is not an expression of the language (SPEC §1)."""

    kind = "syntax error"


class UnknownNameError(ParseError):
    """A function or name that matdiff does not know."""

    kind = "unknown name"


class ShapeError(MatdiffError):
    """Shapes that cannot agree (SPEC §2)."""

    kind = "shape error"


class UnsupportedError(MatdiffError):
    """A well-formed request that matdiff cannot (yet) answer."""

    kind = "unsupported"


class UndefinedError(MatdiffError):
    """An expression with no value at any point: a division by zero, the inverse of a matrix
    that is singular by construction, the logarithm of a determinant that is identically 0."""

    kind = "undefined"


class UsageError(MatdiffError):
    """A bad argument to the API or the command line (type, order, variable)."""

    kind = "usage error"


class InternalError(MatdiffError):
    """A fault inside matdiff: reported with what was being done, never as a bare
    ``KeyError``, ``AssertionError`` or ``TypeError``."""

    kind = "internal error"


INTERNAL_FAULTS = (KeyError, AssertionError, TypeError, ValueError, IndexError, AttributeError, ZeroDivisionError,
                   ArithmeticError, LookupError, NotImplementedError)
"""The exceptions that, raised inside matdiff on valid input, are bugs of matdiff."""


def internal_error(exc: BaseException, doing: str) -> InternalError:
    """An :class:`InternalError` for ``exc``, raised while ``doing`` (e.g. "differentiating")."""
    return InternalError(f"{type(exc).__name__} while {doing}: {exc} (a bug in matdiff; please report "
                         "this expression)")


def guarded(doing: str) -> Callable[[F], F]:
    """Decorate an entry point so that a fault inside matdiff surfaces as an :class:`InternalError`."""
    def wrap(fn: F) -> F:
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def entry(*args: Any, **kwargs: Any) -> Any:
            try:  # a call with wrong arguments is the caller's TypeError, not a fault inside matdiff
                signature.bind(*args, **kwargs)
            except TypeError as e:
                raise TypeError(f"{fn.__qualname__}() {e}") from None
            collecting = gc.isenabled()
            gc.disable()  # a derivation builds acyclic trees: collections meanwhile only make time superlinear
            try:
                return fn(*args, **kwargs)
            except INTERNAL_FAULTS as e:
                raise internal_error(e, doing) from e
            finally:
                if collecting:
                    gc.enable()
        return entry  # type: ignore[return-value]
    return wrap
