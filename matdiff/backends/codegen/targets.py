"""The code targets, NumPy, JAX and PyTorch: what differs between them.

Each function's call is read from its record in :mod:`matdiff.core.catalogue`
(``code``, ``jax``, ``torch``, ``helper``); the array operations that are not
functions of the language (solve, multi_dot, commutation permutations) are here.
"""
from __future__ import annotations

from dataclasses import dataclass

from ...core.catalogue import CATALOGUE
from ...errors import UsageError

TARGETS = ("numpy", "jax", "torch")


@dataclass(frozen=True)
class Target:
    """What differs between NumPy, JAX and PyTorch source."""

    name: str
    module: str  # the import line, with {m} for the alias
    alias: str
    asarray: str  # {m}, {x}
    calls: dict[str, str]  # function → template with {m}, {0}, {1}, {h} (a helper's name)
    helpers: dict[str, str]  # helper → source with {m} and {name}, {perm}
    eye: str
    zeros: str
    ones: str
    multidot: str
    scalar_return: str  # {m}, {x}
    vec: str
    unvec: str  # {0}, {r}, {c}
    flat: str  # vec(A) as a 1-D array
    number_arg: str = "{x}"  # how a Python number is passed to a function


_COMMON = {f.name: f.code for f in CATALOGUE if f.code}  # each function's NumPy/JAX call
_COMMON.update({
    "trace": "{m}.trace({0})", "solve": "{m}.linalg.solve({0}, {1})", "diagflat": "{m}.diagflat({0})",
    "kron": "{m}.kron({0}, {1})", "matrix_power": "{m}.linalg.matrix_power({0}, {k})",
    "adjugate": "{h}({0})", "commutation": "{h}({r}, {c})", "rows_perm": "{0}[{h}({r}, {c})]", "cols_perm": "{0}[:, {h}({r}, {c})]",
})

_NP_HELPERS = {f.name: f.helper for f in CATALOGUE if f.helper}
_ADJUGATE = ('def {name}(a):\n    """adj(A) = det(A) inv(A), by the SVD A = U diag(s) V\': det(U) det(V) V '
             'diag(prod of the other s) U\',\n    finite where A is singular."""\n'
             "    u, s, vt = {m}.linalg.svd(a)\n    one = {m}.ones(1, dtype=s.dtype)\n"
             "    before = {m}.concatenate([one, {m}.cumprod(s[:-1])])\n"
             "    after = {m}.concatenate([{m}.cumprod({flip}[:-1])[::-1], one])\n"
             "    return {m}.linalg.det(u) * {m}.linalg.det(vt) * ((vt.T * (before * after)) @ u.T)")

_NP_HELPERS.update({
    "adjugate": _ADJUGATE.replace("{flip}", "s[::-1]"),
    "commutation_perm": 'def {name}(m, n):\n    """The row order of the commutation matrix K(m, n):\n\n'
                        '    K @ M == M[{name}(m, n)], and K @ vec(A) == vec(A.T) for A m×n.\n    """\n'
                        "    return {m}.arange(m * n).reshape(n, m).T.reshape(-1)",
    "commutation": 'def {name}(m, n):\n    """K(m, n), the (mn)×(mn) commutation matrix, by permuting the '
                   'rows of the identity."""\n    return {m}.eye(m * n)[{perm}(m, n)]',
})

NUMPY = Target(
    "numpy", "import numpy as {m}", "np", "{m}.asarray({x}, dtype={m}.float64)",
    _COMMON, _NP_HELPERS,
    "{m}.eye({n})", "{m}.zeros(({r}, {c}))", "{m}.ones(({r}, {c}))", "{m}.linalg.multi_dot([{args}])",
    "float({x})", '{0}.reshape(-1, 1, order="F")', '{0}.reshape(({r}, {c}), order="F")',
    '{0}.reshape(-1, order="F")')

_MULTI_DOT = (
    'def {name}(arrays):\n    """The product of a chain of matrices as nested matmuls, in the order of the fewest\n'
    '    multiplications for their shapes (XLA runs jnp.linalg.multi_dot\'s einsum more slowly)."""\n'
    "    n = len(arrays)\n"
    "    dims = [a.shape[0] for a in arrays] + [arrays[-1].shape[1]]\n"
    "    cost = {{(i, i): 0 for i in range(n)}}\n"
    "    split = {{}}\n"
    "    for length in range(1, n):\n"
    "        for i in range(n - length):\n"
    "            j = i + length\n"
    "            cost[i, j], split[i, j] = min((cost[i, k] + cost[k + 1, j] + dims[i] * dims[k + 1] * dims[j + 1], k)\n"
    "                                          for k in range(i, j))\n\n"
    "    def product(i, j):\n"
    "        return arrays[i] if i == j else product(i, split[i, j]) @ product(split[i, j] + 1, j)\n\n"
    "    return product(0, n - 1)")

JAX = Target(
    "jax", "import jax.numpy as {m}", "jnp", "{m}.asarray({x}, dtype={m}.result_type(0.0))",
    dict(_COMMON, **{f.name: f.jax for f in CATALOGUE if f.jax}), dict(_NP_HELPERS, multi_dot=_MULTI_DOT),
    "{m}.eye({n})", "{m}.zeros(({r}, {c}))", "{m}.ones(({r}, {c}))", "{h}([{args}])",
    "{m}.asarray({x})", "{0}.T.reshape(-1, 1)", "{0}.reshape({c}, {r}).T", "{0}.T.reshape(-1)")

_TORCH_CALLS = dict(_COMMON, **{f.name: f.torch for f in CATALOGUE if f.torch})
_TORCH_CALLS["kron"] = "{h}({0}, {1})"  # torch.kron rejects some strided views

TORCH = Target(
    "torch", "import torch" + "{as_m}", "torch", "{m}.as_tensor({x}, dtype={m}.float64)", _TORCH_CALLS,
    {"adjugate": _ADJUGATE.replace("{m}.concatenate", "{m}.cat").replace("{m}.cumprod({flip}[:-1])[::-1]",
                                                                         "{m}.flip({m}.cumprod({m}.flip(s, [0])[:-1], 0), [0])")
                          .replace("{m}.cumprod(s[:-1])", "{m}.cumprod(s[:-1], 0)"),
     "kron": 'def {name}(a, b):\n    """torch.kron of contiguous operands (torch.kron rejects some strided '
             'views)."""\n    return {m}.kron(a.contiguous(), b.contiguous())',
     "commutation_perm": _NP_HELPERS["commutation_perm"],
     "float_dtype": 'def {name}(*args):\n    """The floating dtype of the array arguments, promoted (float32 stays '
                    'float32); float64 when none has one."""\n'
                    "    dtypes = [{m}.as_tensor(a).dtype for a in args if hasattr(a, \"dtype\")]\n"
                    "    dtypes = [d for d in dtypes if d.is_floating_point] or [{m}.float64]\n"
                    "    out = dtypes[0]\n    for d in dtypes[1:]:\n        out = {m}.promote_types(out, d)\n"
                    "    return out",
     "commutation": 'def {name}(m, n):\n    """K(m, n), the (mn)×(mn) commutation matrix, by permuting the '
                    'rows of the identity."""\n    return {m}.eye(m * n, dtype={m}.float64)[{perm}(m, n)]'},
    "{m}.eye({n}, dtype={m}.float64)", "{m}.zeros(({r}, {c}), dtype={m}.float64)",
    "{m}.ones(({r}, {c}), dtype={m}.float64)", "{m}.linalg.multi_dot([{args}])",
    "{m}.as_tensor({x}, dtype={m}.float64)", "{0}.T.reshape(-1, 1)", "{0}.reshape({c}, {r}).T", "{0}.T.reshape(-1)",
    number_arg="{m}.tensor({x}, dtype={m}.float64)")

_BY_NAME = {"numpy": NUMPY, "jax": JAX, "torch": TORCH}


def target(name: str) -> Target:
    """The target called ``name`` (numpy, jax, torch)."""
    if name not in _BY_NAME:
        raise UsageError(f"unknown code target {name!r}; the targets are {', '.join(TARGETS)}")
    return _BY_NAME[name]


def _needs_helper(fname: str, target: Target) -> str | None:
    tpl = target.calls.get(fname, "")
    if "{h}" not in tpl:
        return None
    return "commutation_perm" if fname in ("rows_perm", "cols_perm") else fname


__all__ = ["TARGETS", "Target", "NUMPY", "JAX", "TORCH", "target"]
