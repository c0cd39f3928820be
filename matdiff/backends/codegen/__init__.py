"""Python source for an expression tree: a readable, self-contained function
for NumPy, JAX or PyTorch, in three steps:

* :mod:`.lowering` — the tree → a graph of array operations, where costly
  textbook forms become cheap array code (solve for inv, broadcasting for
  diag, no Kronecker or commutation matrix built against a vector);
* :mod:`.targets` — what differs between NumPy, JAX and PyTorch;
* :mod:`.emit` — temporaries, argument checks and the text of the function;
* :mod:`.multi` — one function returning several derivatives that share parts.
"""
from .emit import py_name, to_code, to_numpy
from .lowering import Op, lower
from .multi import to_code_many
from .targets import TARGETS

__all__ = ["to_code", "to_code_many", "to_numpy", "py_name", "lower", "Op", "TARGETS"]
