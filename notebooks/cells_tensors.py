"""Cells of 06_tensors.ipynb: the seed question as it was asked, with Φ a tensor."""
from __future__ import annotations

SETUP = r"""import numpy as np
from IPython.display import Markdown, Math, display

import matdiff

np.set_printoptions(precision=4, suppress=True, linewidth=110)
print("matdiff", matdiff.__version__)"""

TENSORS = [
    ("md", r"""# The seed question, as asked: a tensor and index notation

$\Phi$ is an $l\times m\times n$ **tensor**, $\Phi_i = \Phi_{:,i,:}$ its $l\times n$ slice, and

$$
L \;=\; \beta \sum_{i} \sum_{j,k} \bigl|\,\Phi_i^\top \Phi_i - I\,\bigr|_{jk}.
$$

The question asks for $\partial L/\partial\Phi$ and for the $l$-vector $\partial L/\partial\Phi_{ab}$ (the fibre
$\Phi_{:,a,b}$); the accepted answer is written in index notation,
$\partial L/\partial\Phi_{abc} = 2\beta\sum_j \Phi_{abj}\,\mathrm{sign}\bigl(\sum_k \Phi_{kbj}\Phi_{kbc} - \delta_{jc}\bigr)$.

matdiff takes the question as typed: subscripts and `:` slices (`Phi[:,i,:]`), index sums (`sum_i(…)`),
Kronecker's `delta(j,c)`. A name with three subscripts is a tensor; NumPy arrays keep their axes in
subscript order, so `Phi` is an array of shape `(l, m, n)` and `Phi[:, i, :]` its slice."""),
    ("py", SETUP),
    ("md", r"""## ∂L/∂Φ, from matdiff directly

The answer comes slice by slice in matrix notation — for every $i$, the gradient by the slice
$\Phi_{:,i,:}$ — and entry by entry in indices (`r.index()`, or `--format index` on the command line)."""),
    ("py", r"""L = "beta*sum_i(sum(abs(Phi[:,i,:]'*Phi[:,i,:] - I)))"
r = matdiff.diff(L, "Phi")
r"""),
    ("py", r"""print(r)            # slice form
print(r.index())    # index form
for note in r.notes:
    print("note:", note)"""),
    ("md", r"""The two forms side by side, typeset:"""),
    ("py", r"""display(Markdown("**slice form**"), Math(r.latex()))
display(Markdown("**index form**"), Math(r.index("latex")))"""),
    ("md", r"""The same loss written all in indices gives the same answer:"""),
    ("py", r"""r2 = matdiff.diff("beta*sum_{i,j,l}(abs(sum_k(Phi[k,i,j]*Phi[k,i,l]) - delta(j,l)))", "Phi")
print(r2)
assert str(r2) == str(r)"""),
    ("md", r"""## ∂L/∂Φ_ab: the derivative by a fibre

The variable may be an indexed part: `"Phi[:,a,b]"` is the $l$-vector $\Phi_{:,a,b}$. Its free indices
`a`, `b` are passed to the evaluated function as 0-based ints."""),
    ("py", r"""rb = matdiff.diff(L, "Phi[:,a,b]")
print(rb)
print(rb.index())"""),
    ("md", r"""## The derivation

`r.steps`: the slices, the matrix derivation of one slice's term, the identification, and the index form."""),
    ("py", r"""print("\n".join(r.steps))"""),
    ("md", r"""## Checked against finite differences and autodiff

The loss written by hand in NumPy (slice by slice), central differences along random directions,
and — if JAX is installed — `jax.grad` of the same loss."""),
    ("py", r"""rng = np.random.default_rng(0)
l, m, n = 6, 3, 4
Phi = rng.standard_normal((l, m, n)) * 0.5
beta = 0.7

def loss(Phi):
    return beta * sum(np.abs(Phi[:, i, :].T @ Phi[:, i, :] - np.eye(n)).sum() for i in range(Phi.shape[1]))

G = r.lambdify()(beta=beta, Phi=Phi)
print("gradient shape", G.shape)

h = 1e-6
errs = []
for _ in range(5):
    E = rng.standard_normal(Phi.shape)
    E /= np.linalg.norm(E)
    fd = (loss(Phi + h * E) - loss(Phi - h * E)) / (2 * h)
    errs.append(abs(fd - np.sum(G * E)) / abs(fd))
print("largest relative error against central differences:", max(errs))
assert max(errs) < 1e-6"""),
    ("py", r"""a, b = 2, 1
g_ab = rb.lambdify()(beta=beta, Phi=Phi, a=a, b=b)
print(g_ab)
assert np.allclose(g_ab, G[:, a, b])
S = Phi[:, a, :]
assert np.allclose(g_ab, 2 * beta * S @ np.sign(S.T @ S - np.eye(n))[:, b])   # the textbook answer"""),
    ("py", r"""try:
    import jax
    import jax.numpy as jnp
    jax.config.update("jax_enable_x64", True)
    def jloss(P):
        M = jnp.einsum("kij,kil->ijl", P, P) - jnp.eye(n)
        return beta * jnp.sum(jnp.abs(M))
    GJ = np.asarray(jax.grad(jloss)(jnp.asarray(Phi)))
    print("max |matdiff - jax.grad|:", np.max(np.abs(G - GJ)))
    assert np.allclose(G, GJ)
except ImportError:
    print("JAX is not installed (pip install jax): autodiff comparison skipped")"""),
    ("py", r"""print(r.check())
print(rb.check())"""),
    ("md", r"""## Code

`r.to_code("numpy")` (also `"jax"`, `"torch"`) computes the gradient with `einsum` — batched over the
slices, never a Python loop over an index; the fibre's code touches one slice only."""),
    ("py", r"""print(rb.to_code("numpy"))"""),
]
