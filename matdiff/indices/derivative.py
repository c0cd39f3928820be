"""The derivative in indices, for what has no matrix form (filled in below)."""
from __future__ import annotations

from ..errors import UnsupportedError


def index_gradient(expr, f, part, arrays, vkeys, notes):
    raise UnsupportedError(f"no matrix form of the derivative by {part} was found")
