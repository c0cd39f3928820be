"""Errors raised by matdiff: one line of message, plus the input with a caret
under the offending column when the error points into the expression."""
from __future__ import annotations


class MatdiffError(Exception):
    """Base class of every error matdiff raises on bad input or misuse."""

    kind = "error"

    def __init__(self, message: str, text: str | None = None, column: int | None = None,
                 width: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.text = text
        self.column = column  # 1-based, like lark
        self.width = max(1, width)

    def context(self) -> str:
        """The input line with a caret (or a run of carets) under the column."""
        if self.text is None or self.column is None:
            return ""
        line = self.text.replace("\n", " ")
        return f"  {line}\n  {' ' * (self.column - 1)}{'^' * self.width}"

    def __str__(self) -> str:
        where = f" at column {self.column}" if self.column is not None and self.text is not None else ""
        return f"{self.kind}{where}: {self.message}"

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


class UsageError(MatdiffError):
    """A bad argument to the API or the command line (type, order, variable)."""

    kind = "usage error"
