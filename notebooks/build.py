"""Build the matdiff example notebooks and (with --execute) run them to store their outputs.

    python notebooks/build.py             # write the .ipynb files (no outputs)
    python notebooks/build.py --execute   # write them and execute them top to bottom

Each notebook is a list of cells: ("md", markdown) or ("py", code).
Executing needs nbclient, nbformat, ipykernel and matplotlib (the ``notebooks`` extra).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from cells_tensors import TENSORS  # noqa: E402

SETUP = r"""%matplotlib inline
import numpy as np
import matplotlib.pyplot as plt
from IPython.display import Markdown, Math, display

import matdiff

np.set_printoptions(precision=4, suppress=True, linewidth=110)
print("matdiff", matdiff.__version__)"""

# ----------------------------------------------------------------------------------------------
TOUR = [
    ("md", r"""# A tour of matdiff: the orthogonality penalty

**The question.** A tensor $\Phi \in \mathbb{R}^{l\times m\times n}$ holds $l$ matrices
(*slices*) that we would like to have orthonormal columns. A common soft constraint is the
entry-wise $L_1$ penalty

$$
L(\Phi) \;=\; \beta \sum_{i=1}^{l} \sum_{j,k} \bigl|\,\Phi_i^\top \Phi_i - I\,\bigr|_{jk}.
$$

What is $\partial L / \partial \Phi$?

**Convention used throughout.** $\Phi$ is stored as a NumPy array of shape `(l, m, n)`; slice
$\Phi_i$ = `Phi[i]` is an $m\times n$ matrix ($m \ge n$), so $\Phi_i^\top\Phi_i$ and $I$ are
$n\times n$. The slices do not interact in $L$, so $\partial L/\partial\Phi_i$ is the gradient of
the one-slice term $\beta\,\mathrm{sum}(|X^\top X - I|)$ at $X = \Phi_i$, and $\partial L/\partial\Phi$
stacks these $l$ gradients. matdiff works with matrices, so we ask it about one slice $X$."""),
    ("py", SETUP),
    ("md", r"""## The derivative

`matdiff.diff(expression, variable)` returns a `Result`. By the default typing rules `beta`
(a Greek name) is a scalar and `X` (upper case) a matrix; `I` is the identity whose size is
inferred from `X'X`. In Jupyter a result displays itself: kind, shapes, the closed form, the
notes and a collapsible derivation."""),
    ("py", r"""r = matdiff.diff("beta*sum(abs(X'X - I))", "X")
r"""),
    ("md", r"""As plain text (this string parses back as a matdiff expression), with its shape and notes.
The first note says which types matdiff assumed for the names it was not told about; `abs` has
a kink at 0, so the result is a subgradient there, and matdiff says so:"""),
    ("py", r"""print(r)
print("shape of the gradient:", r.shape_text)
for note in r.notes:
    print("note:", note)"""),
    ("md", r"""## The derivation

`r.steps` is the derivation, one rule per line, as in a textbook: take the differential,
push it inward rule by rule, then read the gradient off $df = \langle G, dX\rangle = \mathrm{tr}(G^\top dX)$.
It is a list of lines; `print` shows one per line, and as a cell's value it is typeset."""),
    ("py", r"""print(r.steps)"""),
    ("py", r"""r.steps"""),
    ("md", r"""The identification step is where the factor 2 comes from. With $S = \mathrm{sign}(X^\top X - I)$,
which is **symmetric** because $X^\top X - I$ is,

$$
df = \beta\,\langle S,\; dX^\top X + X^\top dX\rangle
   = \beta\,\langle X S^\top, dX\rangle + \beta\,\langle X S, dX\rangle
   = \langle 2\beta X S,\; dX\rangle .
$$

## LaTeX

`r.latex()` gives the LaTeX source; `Math` typesets it."""),
    ("py", r"""print(r.latex())
Math(r"\frac{\partial f}{\partial X} = " + r.latex())"""),
    ("md", r"""## matdiff checks itself

`r.check()` compares the closed form with central finite differences of the input
expression at random points (away from the kinks of `abs`), with distinct sizes for distinct
dimensions so that a missing transpose would show."""),
    ("py", r"""report = r.check()
print(report)
assert report.ok"""),
    ("md", r"""## An independent check on a random tensor

Now the real thing: a random $\Phi$ of shape $(l, m, n) = (3, 5, 3)$, the loss written directly in
NumPy (no matdiff), and every one of the $l\,m\,n = 45$ partial derivatives by central differences.
`r.lambdify()` turns the closed form into a NumPy function of `X` and `beta`; we apply it slice by slice."""),
    ("py", r"""rng = np.random.default_rng(0)
l, m, n = 3, 5, 3
beta = 0.7
Phi = rng.standard_normal((l, m, n)) / np.sqrt(m)
I = np.eye(n)


def loss(Phi, beta=beta):
    # beta * sum_i sum_jk |Phi_i' Phi_i - I|_jk, in plain NumPy
    return beta * np.abs(np.swapaxes(Phi, 1, 2) @ Phi - I).sum()


grad_slice = r.lambdify()  # f(X=..., beta=...) -> m×n array


def grad(Phi, beta=beta):
    return np.stack([grad_slice(X=P, beta=beta) for P in Phi])


G = grad(Phi)
print("loss:", loss(Phi), "  gradient shape:", G.shape)
print("smallest |entry| of Phi_i'Phi_i - I (distance to a kink):",
      np.abs(np.swapaxes(Phi, 1, 2) @ Phi - I).min().round(4))"""),
    ("py", r"""h = 1e-6
G_fd = np.zeros_like(Phi)
for idx in np.ndindex(*Phi.shape):
    E = np.zeros_like(Phi)
    E[idx] = h
    G_fd[idx] = (loss(Phi + E) - loss(Phi - E)) / (2 * h)

err = np.abs(G - G_fd).max() / np.abs(G_fd).max()
print(f"largest deviation from finite differences, relative to the largest entry: {err:.1e}")
assert err < 1e-6
print("slice 0, matdiff:\n", G[0], "\nslice 0, finite differences:\n", G_fd[0])"""),
    ("md", r"""The closed form is also easy to batch by hand: `2 β Φ sign(ΦᵀΦ − I)` with NumPy's batched
matrix product over the first axis."""),
    ("py", r"""G_batched = 2 * beta * Phi @ np.sign(np.swapaxes(Phi, 1, 2) @ Phi - I)
print("max |batched - per-slice|:", np.abs(G_batched - G).max())"""),
    ("md", r"""## Gradient descent towards orthonormal slices

$L$ is neither convex nor smooth, so we take subgradient steps with a diminishing step size
$\eta_k = \eta_0/\sqrt{k+1}$. In 200 steps the loss falls by a factor of about 50 and the distance of
every slice from orthonormality by almost two orders of magnitude; near the optimum the iterates
zigzag, as subgradient methods on $L_1$ penalties do."""),
    ("py", r"""rng = np.random.default_rng(1)
Phi = rng.standard_normal((l, m, n)) / np.sqrt(m)
beta, eta0, steps = 1.0, 0.05, 200

losses = [loss(Phi, beta)]
dist = [np.linalg.norm(np.swapaxes(Phi, 1, 2) @ Phi - I, axis=(1, 2)).max()]
for k in range(steps):
    Phi = Phi - eta0 / np.sqrt(k + 1) * grad(Phi, beta)
    losses.append(loss(Phi, beta))
    dist.append(np.linalg.norm(np.swapaxes(Phi, 1, 2) @ Phi - I, axis=(1, 2)).max())

print(f"loss: {losses[0]:.3f} -> {losses[-1]:.4f}")
fig, ax = plt.subplots(figsize=(7, 3.5))
ax.semilogy(losses, label=r"$L(\Phi)$")
ax.semilogy(dist, label=r"$\max_i \|\Phi_i^\top\Phi_i - I\|_F$")
ax.set_xlabel("iteration")
ax.set_title("subgradient descent on the orthogonality penalty")
ax.legend()
plt.show()
assert losses[-1] < 0.05 * losses[0]"""),
    ("md", r"""The columns of every slice are now orthonormal to about two decimals:"""),
    ("py", r"""for i in range(l):
    print(f"Phi_{i}' Phi_{i} =\n{np.swapaxes(Phi, 1, 2)[i] @ Phi[i]}")"""),
    ("md", r"""## Taking the result away

`r.to_code("numpy")` writes a self-contained NumPy function of the result, ready to paste into a
training loop (no matdiff needed at run time)."""),
    ("py", r"""code = r.to_code("numpy")
print(code)
namespace = {}
exec(code, namespace)
print("generated code agrees:", np.allclose(namespace["derivative"](X=Phi[0], beta=beta),
                                            grad_slice(X=Phi[0], beta=beta)))"""),
]

# ----------------------------------------------------------------------------------------------
DIFFERENTIALS = [
    ("md", r"""# The rules of differential calculus, derived by matdiff

matdiff computes derivatives the way Magnus & Neudecker teach it: take the **differential**
$dF$, push $d$ inward with one rule per operation, then **identify** the derivative:

| function → variable | identified from | derivative |
|---|---|---|
| scalar $f$, matrix $X$ | $df = \langle G, dX\rangle = \mathrm{tr}(G^\top dX)$ | gradient $G$, shape of $X$ |
| matrix $F$, matrix $X$ | $d\,\mathrm{vec}F = J\, d\,\mathrm{vec}X$ | Jacobian $J$ on column-major vec |
| scalar $f$, second order | $d^2 f = (d\,\mathrm{vec}X)^\top H\,(d\,\mathrm{vec}X)$ | Hessian $H$ |

Below, each classical rule is derived with matdiff (the derivation printed), typeset, and verified
numerically with `r.check()`."""),
    ("py", SETUP),
    ("py", r"""def derive(expr, wrt, **kw):
    # derive, print the steps, typeset the result, verify it numerically
    r = matdiff.diff(expr, wrt, **kw)
    display(Markdown(f"**{r.kind}** of `{expr}` with respect to `{wrt}` — shape {r.shape_text}"))
    print("\n".join(r.steps))
    display(Math(r.latex()))
    report = r.check()
    print(report)
    assert report.ok
    return r


summary = []  # (rule, expression, variable, result, relative error)


def record(rule, r):
    summary.append((rule, r.input, r.variable.name, r.text, r.check().max_rel_error))"""),
    ("md", r"""## 1. Linear maps: $d(AXB) = A\,dX\,B$

Identification uses $\mathrm{vec}(A\,dX\,B) = (B^\top\otimes A)\,\mathrm{vec}\,dX$, so the Jacobian is a
Kronecker product."""),
    ("py", r"""r_axb = derive("A*X*B", "X")
record("d(AXB) = A dX B", r_axb)"""),
    ("md", r"""The same identity checked by hand with NumPy: `vec` is column-major (`order="F"`)."""),
    ("py", r"""rng = np.random.default_rng(0)
A, X, B, E = (rng.standard_normal(s) for s in [(2, 3), (3, 4), (4, 5), (3, 4)])
J = r_axb.lambdify()(A=A, X=X, B=B)
vec = lambda M: M.reshape(-1, order="F")
print("J shape:", J.shape, "  J vec(E) == vec(A E B):", np.allclose(J @ vec(E), vec(A @ E @ B)))"""),
    ("md", r"""With a scalar function the same rule gives a gradient: $d\,\mathrm{tr}(AXB) = \mathrm{tr}(BA\,dX)$, so $G = A^\top B^\top$."""),
    ("py", r"""record("d tr(AXB) = tr(BA dX)", derive("tr(A*X*B)", "X"))"""),
    ("md", r"""## 2. Transposition: $d(X^\top) = (dX)^\top$

On vec, transposition is a permutation: the **commutation matrix** $K_{mn}$ with
$K_{mn}\,\mathrm{vec}\,E = \mathrm{vec}\,E^\top$."""),
    ("py", r"""r_t = derive("X'", "X")
record("d(X') = dX'", r_t)
K = r_t.lambdify()(X=np.zeros((2, 3)))
E = np.arange(6.0).reshape(2, 3)
print("K(2,3) =\n", K)
print("K vec(E) == vec(E'):", np.allclose(K @ vec(E), vec(E.T)))"""),
    ("md", r"""## 3. Products: $d(XY) = dX\,Y + X\,dY$"""),
    ("py", r"""record("d(XY) = dX Y + X dY  (wrt X)", derive("X*Y", "X"))
record("d(XY) = dX Y + X dY  (wrt Y)", derive("X*Y", "Y"))"""),
    ("md", r"""Both terms at once, in a scalar function where $X$ appears twice:"""),
    ("py", r"""record("d(X'X) = dX' X + X' dX", derive("tr(X'*A*X)", "X"))"""),
    ("md", r"""## 4. Trace: $d\,\mathrm{tr}X = \mathrm{tr}\,dX$"""),
    ("py", r"""record("d tr X = tr dX", derive("tr(X)", "X"))
record("d tr(AX) = tr(A dX)", derive("tr(A*X)", "X"))"""),
    ("md", r"""## 5. Determinant: $d\det X = \det X\,\mathrm{tr}(X^{-1}dX)$ (Jacobi's formula)

and its logarithm, $d\log|\det X| = \mathrm{tr}(X^{-1}dX)$."""),
    ("py", r"""record("d det X = det X tr(X^-1 dX)", derive("det(X)", "X"))
record("d logdet X = tr(X^-1 dX)", derive("logdet(X)", "X"))"""),
    ("md", r"""## 6. Inverse: $d(X^{-1}) = -X^{-1}\,dX\,X^{-1}$

(from differentiating $X X^{-1} = I$). As a Jacobian on vec: $-(X^{-\top}\otimes X^{-1})$."""),
    ("py", r"""record("d X^-1 = -X^-1 dX X^-1", derive("inv(X)", "X"))
record("d tr(A X^-1)", derive("tr(A*inv(X))", "X"))"""),
    ("md", r"""## Summary"""),
    ("py", r"""rows = ["| rule | expression | wrt | matdiff | check: rel. error |", "|---|---|---|---|---|"]
rows += [f"| {rule} | `{e}` | `{w}` | `{t}` | {err:.1e} |" for rule, e, w, t, err in summary]
display(Markdown("\n".join(rows)))
assert all(err < 1e-5 for *_, err in summary)"""),
    ("md", r"""## Gradient vs Jacobian vs Hessian, side by side

One function, $f(x) = \mathrm{logsumexp}(Ax)$ with $A$ an $m\times n$ matrix and $x \in\mathbb{R}^n$:

* the **gradient** of the scalar $f$ is a vector shaped like $x$ (the Jacobian of $f$ is its transpose, a $1\times n$ row);
* the **Jacobian** of a vector function — here the gradient itself, $A^\top\mathrm{softmax}(Ax)$ — is $n\times n$;
* the **Hessian** of $f$ is the Jacobian of its gradient, symmetric $n\times n$."""),
    ("py", r"""f = "logsumexp(A*x)"
r_grad = matdiff.diff(f, "x")
r_jac = matdiff.diff("A'*softmax(A*x)", "x")      # the Jacobian of the gradient
r_hess = matdiff.diff(f, "x", order=2)
r_inner = matdiff.diff("softmax(A*x)", "x")       # Jacobian of the inner vector function

rows = ["| | derivative | matdiff | shape |", "|---|---|---|---|"]
for label, r in [("gradient of f", r_grad), ("Jacobian of A'softmax(Ax)", r_jac),
                 ("Hessian of f", r_hess), ("Jacobian of softmax(Ax)", r_inner)]:
    rows.append(f"| {label} | {r.kind} | ${r.latex()}$ | {r.shape_text} |")
display(Markdown("\n".join(rows)))
for r in (r_grad, r_jac, r_hess, r_inner):
    assert r.check().ok"""),
    ("md", r"""Numbers at a random point: the Hessian equals the Jacobian of the gradient, and by the chain rule
also $A^\top J_{\mathrm{softmax}}$."""),
    ("py", r"""rng = np.random.default_rng(1)
A, x = rng.standard_normal((4, 3)), rng.standard_normal(3)
g = r_grad.lambdify()(A=A, x=x)
Jg = r_jac.lambdify()(A=A, x=x)
H = r_hess.lambdify()(A=A, x=x)
Js = r_inner.lambdify()(A=A, x=x)
print("gradient", g.shape, g)
print("Hessian", H.shape, "symmetric:", np.allclose(H, H.T),
      " eigenvalues:", np.linalg.eigvalsh(H).round(4))
print("Hessian == Jacobian of the gradient:", np.allclose(H, Jg))
print("Hessian == A' J_softmax:", np.allclose(H, A.T @ Js), "  J_softmax shape:", Js.shape)"""),
    ("md", r"""## Hessian-vector products

Second-order methods (Newton–CG, trust regions, Lanczos for the spectrum) only need $v \mapsto Hv$.
`r.hvp()` builds that map from the closed form without forming $H$. For a matrix variable the
Hessian acts on vec, $H$ is $(mn)\times(mn)$, which is exactly what one avoids forming for large
problems. Here $f(X) = \mathrm{sum}((W X x - y)^{\circ 2}) - \log|\det X|$ with $X$ of size $3\times 3$."""),
    ("py", r"""HVP_CELL"""),
    ("md", r"""## Structure at a glance

`r.plot()` draws the sparsity / block structure of a result at random (or given) inputs: the
magnitude of every entry on a log scale, exact zeros blank, with lines between the vec blocks. Here
the Jacobian $B^\top\otimes A$ of $AXB$ (a grid of scaled copies of $A$), the commutation matrix
(a permutation), and the Hessian $I\otimes(A + A^\top)$ of $\mathrm{tr}(X^\top A X)$ (block diagonal: the
columns of $X$ do not interact)."""),
    ("py", r"""PLOT_CELL"""),
    ("md", r"""## Handing a result to SymPy

`r.to_sympy()` converts a result into a SymPy matrix expression, for further symbolic work
(here SymPy's own printer typesets it)."""),
    ("py", r"""import sympy

e = matdiff.diff("tr(X'*A*X)", "X").to_sympy()
print(type(e).__name__, ":", e)
display(Math(sympy.latex(e)))
print(repr(r_axb.to_sympy()))"""),
]

HVP_CELL = r"""f = "sum((W*X*x - y).^2) - logdet(X)"
r_g = matdiff.diff(f, "X")
r_H = matdiff.diff(f, "X", order=2)
print("gradient:", r_g)
print("Hessian: ", r_H)

rng = np.random.default_rng(2)
vals = dict(W=rng.standard_normal((2, 3)), X=np.eye(3) + 0.3 * rng.standard_normal((3, 3)),
            x=rng.standard_normal(3), y=rng.standard_normal(2))
V = rng.standard_normal((3, 3))                  # a direction, shaped like X

hvp = r_g.hvp()
print(hvp.__doc__)                               # the closed form of H V, linear in the direction V
Hv = hvp(V, **vals)
H = r_H.lambdify()(**vals)                       # 9×9, on column-major vec
Hv_explicit = (H @ V.reshape(-1, order="F"))
print("H shape:", H.shape, "  Hv shape:", np.shape(Hv))
err = np.abs(np.reshape(Hv, -1, order="F") - Hv_explicit).max()
print(f"max |hvp(V) - H vec(V)| = {err:.1e}")
assert err < 1e-8

# and against finite differences of the gradient: Hv ≈ (G(X + tV) - G(X - tV)) / 2t
G = r_g.lambdify()
t = 1e-5
fd = (G(**{**vals, "X": vals["X"] + t * V}) - G(**{**vals, "X": vals["X"] - t * V})) / (2 * t)
print(f"max |hvp(V) - finite difference of the gradient| = {np.abs(np.reshape(Hv, V.shape, order='F') - fd).max():.1e}")"""

PLOT_CELL = r"""fig, axes = plt.subplots(1, 3, figsize=(13, 4.4))
r_axb.plot(ax=axes[0])                                   # kron(B', A): a grid of scaled copies of A
r_t.plot(ax=axes[1])                                     # K(m,n): a permutation
matdiff.diff("tr(X'*A*X)", "X", order=2).plot(ax=axes[2])  # I ⊗ (A + A'): block diagonal
fig.tight_layout()
plt.show()"""

# ----------------------------------------------------------------------------------------------
ML = [
    ("md", r"""# matdiff for machine learning

Three derivations that every ML course does by hand — softmax with cross-entropy, logistic
regression (gradient *and* Hessian, for Newton's method), and the curvature of a small network —
done by matdiff, verified, and used."""),
    ("py", SETUP),
    ("md", r"""## 1. Softmax and cross-entropy

For logits $z$ and a target $y$ (a vector of non-negative weights, usually one-hot),
$\ell(z) = -y^\top \log\mathrm{softmax}(z)$. matdiff finds the classic result in full generality:
$\nabla\ell = \mathrm{sum}(y)\,\mathrm{softmax}(z) - y$, i.e. $\mathrm{softmax}(z) - y$ when $y$ sums to 1."""),
    ("py", r"""r_ce = matdiff.diff("-y'*log(softmax(z))", "z")
r_ce"""),
    ("py", r"""print("\n".join(r_ce.steps))
print(r_ce.check())
assert r_ce.check().ok
for note in r_ce.notes:
    print("note:", note)"""),
    ("md", r"""As the note says, declaring `y` a probability vector (entries summing to 1) gives the familiar form:"""),
    ("py", r"""r_p = matdiff.diff("-y'*log(softmax(z))", "z", types={"y": "probability"})
print(r_p, "   ", r_p.check())
assert r_p.check().ok"""),
    ("md", r"""The steps go through the Jacobian of softmax, which matdiff also gives on its own:"""),
    ("py", r"""r_sm = matdiff.diff("softmax(z)", "z")
print(r_sm, "   ", r_sm.check())
Math(r"\frac{\partial\, \mathrm{softmax}(z)}{\partial z^\top} = " + r_sm.latex())"""),
    ("md", r"""With numbers: a one-hot $y$ over 5 classes."""),
    ("py", r"""rng = np.random.default_rng(0)
z = rng.standard_normal(5)
y = np.eye(5)[2]
g = r_ce.lambdify()(z=z, y=y)
p = np.exp(z - z.max()); p /= p.sum()
print("matdiff gradient:", g)
print("softmax(z) - y:  ", p - y)
assert np.allclose(g, p - y) and np.allclose(r_p.lambdify()(z=z, y=y), p - y)"""),
    ("md", r"""## 2. Logistic regression with Newton's method

Labels $y_i\in\{-1,+1\}$, features in the rows of $X$ ($N\times d$), a small ridge term:

$$\ell(w) = \sum_i \log\bigl(1 + e^{-y_i x_i^\top w}\bigr) + \tfrac{\alpha}{2}\,w^\top w .$$

`vector(1)` is the all-ones vector whose length matdiff infers; `alpha` is a scalar (Greek name)."""),
    ("py", r"""loss = "sum(log(vector(1) + exp(-y .* (X*w)))) + alpha/2*w'*w"
r_g = matdiff.diff(loss, "w")
r_H = matdiff.diff(loss, "w", order=2)
display(Math(r"\nabla \ell = " + r_g.latex()))
display(Math(r"\nabla^2 \ell = " + r_H.latex()))
print(r_g.check())
print(r_H.check())
assert r_g.check().ok and r_H.check().ok"""),
    ("md", r"""With $y_i^2 = 1$ the Hessian is the familiar $X^\top \mathrm{diag}\bigl(\sigma_i(1-\sigma_i)\bigr) X + \alpha I$;
matdiff keeps $y$ general, so the factor $y^{\circ 2}$ stays, and $\sigma(-u) = 1 - \sigma(u)$. Synthetic data, with features on
different scales so that the problem is somewhat ill-conditioned:"""),
    ("py", r"""rng = np.random.default_rng(0)
N, d = 300, 4
X = rng.standard_normal((N, d)) * np.array([1.0, 4.0, 0.5, 2.0])
w_true = np.array([1.5, -0.2, 2.0, 0.4])
y = np.where(rng.random(N) < 1 / (1 + np.exp(-X @ w_true)), 1.0, -1.0)
alpha = 0.1

F = matdiff.lambdify(loss)                       # the loss itself, as a NumPy function
grad, hess = r_g.lambdify(), r_H.lambdify()
data = dict(X=X, y=y, alpha=alpha)
print("condition number of the Hessian at 0:", f"{np.linalg.cond(hess(w=np.zeros(d), **data)):.0f}")"""),
    ("py", r"""def newton(w, iters):
    hist = [F(w=w, **data)]
    for _ in range(iters):
        w = w - np.linalg.solve(hess(w=w, **data), grad(w=w, **data))
        hist.append(F(w=w, **data))
    return w, np.array(hist)


def gradient_descent(w, iters):
    # fixed step 1/L with L = ||X||²/4 + alpha, a global bound on the curvature
    step = 1 / (np.linalg.norm(X, 2) ** 2 / 4 + alpha)
    hist = [F(w=w, **data)]
    for _ in range(iters):
        w = w - step * grad(w=w, **data)
        hist.append(F(w=w, **data))
    return w, np.array(hist)


w_newton, h_newton = newton(np.zeros(d), 10)
w_gd, h_gd = gradient_descent(np.zeros(d), 1000)
f_star = h_newton[-1]
print("Newton solution:   ", w_newton, "  |grad| =", f"{np.linalg.norm(grad(w=w_newton, **data)):.1e}")
print("GD, 1000 steps:    ", w_gd, "  |grad| =", f"{np.linalg.norm(grad(w=w_gd, **data)):.1e}")

fig, ax = plt.subplots(figsize=(7, 3.5))
it_newton, it_gd = np.arange(1, len(h_newton) + 1), np.arange(1, len(h_gd) + 1)
ax.loglog(it_newton, np.maximum(h_newton - f_star, 1e-16), "o-", label="Newton (matdiff Hessian)")
ax.loglog(it_gd, np.maximum(h_gd - f_star, 1e-16), label="gradient descent, step 1/L")
ax.set_xlabel("iteration + 1")
ax.set_ylabel(r"$\ell(w_k) - \ell^\ast$")
ax.set_title("logistic regression: Newton vs gradient descent")
ax.legend()
plt.show()
assert np.linalg.norm(grad(w=w_newton, **data)) < 1e-8"""),
    ("md", r"""Newton converges quadratically in a handful of steps; gradient descent with the safe step $1/L$
(a global bound on the curvature) converges only linearly, and after 1000 steps is still far from
Newton's accuracy.

## 3. Curvature of a small network: Hessian and Gauss–Newton

A one-hidden-layer network with squared error on one example,
$f(W_1) = \mathrm{sum}\bigl((W_2\tanh(W_1x) - y)^{\circ 2}\bigr)$. Its Hessian with respect to $W_1$
(on vec) has two parts: $J^\top H_L J$ — the **Gauss–Newton** matrix, positive semidefinite — and a
term weighted by the residual $W_2\tanh(W_1 x) - y$, which may be indefinite."""),
    ("py", r"""net = "sum((W2*tanh(W1*x) - y).^2)"
r_W1 = matdiff.diff(net, "W1")
r_HW1 = matdiff.diff(net, "W1", order=2)
display(Math(r"\frac{\partial f}{\partial W_1} = " + r_W1.latex()))
display(Math(r"H = " + r_HW1.latex()))
print(r_W1.check())
print(r_HW1.check())"""),
    ("py", r"""GN_CELL"""),
    ("md", r"""## 4. Generated NumPy code

`r.to_code("numpy")` writes a self-contained function (shared sub-expressions computed once) that
can be pasted into a project without matdiff. Here the gradient and the Gauss–Newton matrix of the
network; we execute both and compare with `lambdify`."""),
    ("py", r"""code = r_W1.to_code("numpy", name="grad_W1") + "\n\n" + r_GN.to_code("numpy", name="gauss_newton_W1")
print(code)
ns = {}
exec(code, ns)
print("generated gradient == lambdify:", np.allclose(ns["grad_W1"](**vals), r_W1.lambdify()(**vals)))
print("generated Gauss–Newton == lambdify:", np.allclose(ns["gauss_newton_W1"](**vals), GN))"""),
]

GN_CELL = r"""r_GN = r_HW1.gauss_newton
print("Gauss–Newton:", r_GN)
for note in r_GN.notes:
    print("note:", note)
display(Math(r"G_{GN} = " + r_GN.latex()))

rng = np.random.default_rng(3)
vals = dict(W1=rng.standard_normal((4, 3)), W2=rng.standard_normal((2, 4)),
            x=rng.standard_normal(3), y=rng.standard_normal(2))
H = r_HW1.lambdify()(**vals)
GN = r_GN.lambdify()(**vals)
print("shapes:", H.shape, GN.shape)
print("eigenvalues of the Hessian:     ", np.linalg.eigvalsh(H).round(3))
print("eigenvalues of the Gauss–Newton:", np.linalg.eigvalsh(GN).round(3))
assert np.linalg.eigvalsh(GN).min() > -1e-10

# the rest of the Hessian is the residual-weighted curvature term: H = GN + curvature
C = r_GN.curvature_function()(**vals)
print("H == Gauss–Newton + curvature term:", np.allclose(H, GN + C))
print(r_GN.check())

# at a point where the network fits y exactly, the residual term vanishes and H == GN
vals_fit = dict(vals, y=vals["W2"] @ np.tanh(vals["W1"] @ vals["x"]))
print("zero residual: H == Gauss–Newton:",
      np.allclose(r_HW1.lambdify()(**vals_fit), r_GN.lambdify()(**vals_fit)))"""

# ----------------------------------------------------------------------------------------------
SYMMETRIC = [
    ("md", r"""# Symmetric matrices and the Gaussian likelihood

Covariances, precision matrices and Hessians are symmetric. When a variable $S$ is declared
symmetric, matdiff gives the gradient **within the space of symmetric matrices**: the symmetric $G$ with

$$ df = \langle G, dS\rangle \quad\text{for every symmetric } dS, \qquad G = \mathrm{sym}(G_0) = \tfrac12 (G_0 + G_0^\top),$$

where $G_0$ is the gradient that ignores symmetry. Some references instead give
$2G_0 - \mathrm{diag}(G_0)$ (for symmetric $G_0$). This notebook shows, with numbers, which one is the
gradient and what the other one is."""),
    ("py", SETUP),
    ("md", r"""## 1. Declaring a symmetric variable

`types={"S": "symmetric"}`. For $f(S) = \mathrm{tr}(AS)$ with a non-symmetric $A$, the unconstrained
gradient is $A^\top$; on symmetric matrices it is $(A + A^\top)/2$ — the part of $A^\top$ that
symmetric directions can see."""),
    ("py", r"""r_free = matdiff.diff("tr(A*S)", "S")
r_sym = matdiff.diff("tr(A*S)", "S", types={"S": "symmetric"})
print("S unconstrained:", r_free)
print("S symmetric:    ", r_sym)
print("\n".join(r_sym.steps))
print(r_sym.check())"""),
    ("md", r"""## 2. Which formula is the gradient? Symmetric perturbations decide

Take $f(S) = \log\det S$. matdiff gives $S^{-1}$ for symmetric $S$. The alternative formula would be
$2S^{-1} - \mathrm{diag}(S^{-1})$. A gradient must predict the change of $f$ along **any** symmetric
direction $E$: $f(S + hE) - f(S - hE) \approx 2h\,\langle G, E\rangle$."""),
    ("py", r"""r_ld = matdiff.diff("logdet(S)", "S", types={"S": "symmetric"})
print("matdiff:", r_ld, "  ", r_ld.check())

rng = np.random.default_rng(0)
n = 3
M = rng.standard_normal((n, n))
S = M @ M.T + n * np.eye(n)                      # symmetric positive definite
f = lambda S: np.linalg.slogdet(S)[1]

G_sym = r_ld.lambdify()(S=S)                     # sym(G0) = inv(S)
G_alt = 2 * G_sym - np.diag(np.diag(G_sym))      # 2G - diag(G)

h = 1e-6
rows = ["| direction E (symmetric) | finite difference | ⟨sym G, E⟩ | ⟨2G − diag G, E⟩ |", "|---|---|---|---|"]
for k in range(4):
    E = rng.standard_normal((n, n))
    E = (E + E.T) / 2
    fd = (f(S + h * E) - f(S - h * E)) / (2 * h)
    rows.append(f"| random #{k + 1} | {fd:.6f} | {np.sum(G_sym * E):.6f} | {np.sum(G_alt * E):.6f} |")
    assert abs(fd - np.sum(G_sym * E)) < 1e-6
display(Markdown("\n".join(rows)))"""),
    ("md", r"""Only $\mathrm{sym}(G)$ predicts the change. The alternative over-counts the off-diagonal
entries by a factor 2 — visible already with the simplest directions:"""),
    ("py", r"""def fd_along(E):
    return (f(S + h * E) - f(S - h * E)) / (2 * h)


E_diag = np.zeros((n, n)); E_diag[0, 0] = 1              # move S_00
E_off = np.zeros((n, n)); E_off[0, 1] = E_off[1, 0] = 1  # move S_01 and S_10 together
for name, E in [("E = e0 e0'", E_diag), ("E = e0 e1' + e1 e0'", E_off)]:
    print(f"{name:22s} finite difference {fd_along(E):+.6f}   <sym G, E> {np.sum(G_sym * E):+.6f}"
          f"   <2G - diag G, E> {np.sum(G_alt * E):+.6f}")"""),
    ("md", r"""**So what is $2G - \mathrm{diag}\,G$?** It is the vector of *partial derivatives with respect to
the $n(n+1)/2$ free entries* $S_{ij}$, $i \le j$, where moving the free entry $S_{01}$ moves both
$S_{01}$ and $S_{10}$. Those are coordinates, not a gradient in the matrix inner product: pairing them
with $dS$ through $\langle\cdot,\cdot\rangle$ counts each off-diagonal change twice. (It is the gradient
if the parameters are the free entries — e.g. a vector `vech(S)` — and the step is applied to those.)"""),
    ("py", r"""partials = np.zeros((n, n))
for i in range(n):
    for j in range(i, n):
        E = np.zeros((n, n)); E[i, j] = E[j, i] = 1
        partials[i, j] = partials[j, i] = fd_along(E)
print("partial derivatives w.r.t. the free entries:\n", partials)
print("2G - diag G:\n", G_alt)
assert np.allclose(partials, G_alt, atol=1e-6)"""),
    ("md", r"""## 3. The Gaussian negative log-likelihood

For one observation $x$ of $\mathcal N(\mu, S)$, up to a constant,

$$\ell(\mu, S) = \tfrac12\log\det S + \tfrac12 (x-\mu)^\top S^{-1}(x-\mu).$$

By default `mu`, a Greek name, would be a scalar: we declare it a vector, and `S` symmetric."""),
    ("py", r"""nll = "0.5*logdet(S) + 0.5*(x - mu)'*inv(S)*(x - mu)"
types = {"mu": "vector", "S": "symmetric"}
r_mu = matdiff.diff(nll, "mu", types=types)
r_S = matdiff.diff(nll, "S", types=types)
r_mu"""),
    ("py", r"""r_S"""),
    ("py", r"""print("\n".join(r_S.steps))
print()
print("d/dmu:", r_mu.check())
print("d/dS: ", r_S.check())
assert r_mu.check().ok and r_S.check().ok"""),
    ("md", r"""The two gradients read $-S^{-1}(x-\mu)$ and $\tfrac12\bigl(S^{-1} - S^{-1}(x-\mu)(x-\mu)^\top S^{-1}\bigr)$.
An independent check against the NLL written in NumPy, along symmetric directions for $S$:"""),
    ("py", r"""rng = np.random.default_rng(1)
d = 3
x, mu = rng.standard_normal(d), rng.standard_normal(d)
M = rng.standard_normal((d, d))
S = M @ M.T / d + np.eye(d)


def nll_np(mu, S):
    r = x - mu
    return 0.5 * np.linalg.slogdet(S)[1] + 0.5 * r @ np.linalg.solve(S, r)


g_mu = r_mu.lambdify()(x=x, mu=mu, S=S)
g_S = r_S.lambdify()(x=x, mu=mu, S=S)
h = 1e-6
for k in range(3):
    v = rng.standard_normal(d)
    E = rng.standard_normal((d, d)); E = (E + E.T) / 2
    fd_mu = (nll_np(mu + h * v, S) - nll_np(mu - h * v, S)) / (2 * h)
    fd_S = (nll_np(mu, S + h * E) - nll_np(mu, S - h * E)) / (2 * h)
    print(f"mu: fd {fd_mu:+.7f}  matdiff {g_mu @ v:+.7f}    S: fd {fd_S:+.7f}  matdiff {np.sum(g_S * E):+.7f}")
    assert abs(fd_mu - g_mu @ v) < 1e-6 and abs(fd_S - np.sum(g_S * E)) < 1e-6
print("g_S symmetric:", np.allclose(g_S, g_S.T))"""),
    ("md", r"""## 4. The maximum-likelihood estimate is where both gradients vanish

Summing the per-observation gradients over a sample $x_1,\dots,x_N$: at $\hat\mu$ = sample mean and
$\hat S$ = the (biased, $1/N$) sample covariance, both sums are zero — the textbook MLE, recovered from
matdiff's gradients."""),
    ("py", r"""N = 500
C_true = np.array([[2.0, 0.6, 0.0], [0.6, 1.0, -0.3], [0.0, -0.3, 0.5]])
xs = rng.multivariate_normal([1.0, -2.0, 0.5], C_true, size=N)
mu_hat = xs.mean(axis=0)
S_hat = (xs - mu_hat).T @ (xs - mu_hat) / N

grad_mu, grad_S = r_mu.lambdify(), r_S.lambdify()
sum_mu = sum(grad_mu(x=xi, mu=mu_hat, S=S_hat) for xi in xs)
sum_S = sum(grad_S(x=xi, mu=mu_hat, S=S_hat) for xi in xs)
print(f"largest entry of the summed d/dmu at the MLE: {np.abs(sum_mu).max():.1e}")
print(f"largest entry of the summed d/dS  at the MLE: {np.abs(sum_S).max():.1e}")
assert np.abs(sum_mu).max() < 1e-9 and np.abs(sum_S).max() < 1e-9
print("S_hat =\n", S_hat)"""),
]

# ----------------------------------------------------------------------------------------------
BACKPROP = [
    ("md", r"""# Backpropagation, derived: a two-layer network

A network is usually written as its **forward pass**, a few named steps. matdiff takes that
program as it is written — definitions `name = expression`, separated by `;` or new lines, the
last one the loss — and differentiates it by every parameter at once:

$$
h = \tanh(W_1 x + b_1), \qquad o = W_2 h + b_2, \qquad L = \tfrac12 \lVert o - y\rVert^2 .
$$

The answers come back in the names of the forward pass, as backpropagation writes them, and the
derivation is the backward pass: the adjoint $\partial L/\partial v$ of each intermediate, last
to first."""),
    ("py", SETUP),
    ("py", r"""net = "h = tanh(W1*x + b1); o = W2*h + b2; L = 0.5*norm2(o - y)^2"
grads = matdiff.diff(net, ["W1", "b1", "W2", "b2"])
grads"""),
    ("md", r"""As text, one line per parameter; `grads["W1"]` is a full result of its own (LaTeX, code,
check). A defined name takes the shape of its definition: `h` and `o` are vectors."""),
    ("py", r"""print(grads)
print()
print(grads["W1"].latex())"""),
    ("md", r"""## The backward pass

`steps` shows the forward pass, then each adjoint with the differential it came through:
$\mathrm{d}o = W_2\,\mathrm{d}h$ gives $\partial L/\partial h = W_2^\top\,\partial L/\partial o$, and
$\mathrm{d}h = (1 - h^2) \odot \mathrm{d}(W_1 x)$ gives the familiar
$\partial L/\partial W_1 = \bigl(\partial L/\partial h \odot (1 - h^2)\bigr)\,x^\top$."""),
    ("py", r"""print("\n".join(grads.steps))"""),
    ("md", r"""## Checked against finite differences of NumPy written by hand

The forward pass in NumPy, written independently of matdiff, and central differences along
random directions. The layer sizes are all different (4 inputs, 5 hidden units, 3 outputs), so
a missing transpose could not hide."""),
    ("py", r"""def loss(W1, b1, W2, b2, x, y):
    h = np.tanh(W1 @ x + b1)
    return 0.5 * np.sum((W2 @ h + b2 - y) ** 2)

rng = np.random.default_rng(0)
params = {"W1": 0.5 * rng.standard_normal((5, 4)), "b1": 0.1 * rng.standard_normal(5),
          "W2": 0.5 * rng.standard_normal((3, 5)), "b2": 0.1 * rng.standard_normal(3)}
sample = {"x": rng.standard_normal(4), "y": rng.standard_normal(3)}

g = grads.lambdify()(**params, **sample)          # one call: every gradient, shared parts once
for name, G in g.items():
    E = rng.standard_normal(params[name].shape)
    h = 1e-6
    plus = dict(params, **{name: params[name] + h * E})
    minus = dict(params, **{name: params[name] - h * E})
    fd = (loss(**plus, **sample) - loss(**minus, **sample)) / (2 * h)
    rel = abs(fd - np.sum(G * E)) / abs(fd)
    print(f"dL/d{name:<3} shape {str(G.shape):<7} directional derivative {fd:+.6f}, relative error {rel:.1e}")
    assert rel < 1e-6
print(grads.check())"""),
    ("md", r"""## … and against automatic differentiation, where it is installed

JAX and PyTorch are not dependencies of matdiff; this cell compares with whichever is importable
and says so when neither is."""),
    ("py", r"""try:
    import jax
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    def jloss(p, x, y):
        h = jnp.tanh(p["W1"] @ x + p["b1"])
        return 0.5 * jnp.sum((p["W2"] @ h + p["b2"] - y) ** 2)

    auto = jax.grad(jloss)({k: jnp.asarray(v) for k, v in params.items()}, sample["x"], sample["y"])
    for name in g:
        assert np.allclose(np.asarray(auto[name]), g[name], rtol=1e-9, atol=1e-12)
    print("JAX's grad agrees on every parameter")
except ImportError:
    try:
        import torch

        tp = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
        tx, ty = torch.tensor(sample["x"]), torch.tensor(sample["y"])
        h = torch.tanh(tp["W1"] @ tx + tp["b1"])
        (0.5 * torch.sum((tp["W2"] @ h + tp["b2"] - ty) ** 2)).backward()
        for name in g:
            assert np.allclose(tp[name].grad.numpy(), g[name], rtol=1e-9, atol=1e-12)
        print("PyTorch's autograd agrees on every parameter")
    except ImportError:
        print("neither JAX nor PyTorch is installed: the autodiff comparison is skipped")"""),
    ("md", r"""## Training with the generated code

`to_code()` writes one self-contained NumPy function returning every gradient; the forward
values `h` and `o` are computed once and shared by all four. We fit a small regression problem
with plain gradient descent."""),
    ("py", r"""src = grads.to_code("numpy", name="gradients")
print(src[src.index("    h = "):])
namespace = {}
exec(src, namespace)
gradients = namespace["gradients"]"""),
    ("py", r"""X = rng.uniform(-2, 2, (64, 4))
A_true = rng.standard_normal((3, 4))
Y = np.sin(X @ A_true.T)

p = {k: v.copy() for k, v in params.items()}
losses = []
for step in range(150):
    total = {k: np.zeros_like(v) for k, v in p.items()}
    losses.append(np.mean([loss(**p, x=xi, y=yi) for xi, yi in zip(X, Y)]))
    for xi, yi in zip(X, Y):
        for k, G in gradients(**p, x=xi, y=yi).items():
            total[k] += G
    for k in p:
        p[k] -= 0.05 * total[k] / len(X)
print(f"mean loss {losses[0]:.3f} -> {losses[-1]:.3f}")
assert losses[-1] < 0.5 * losses[0]"""),
    ("py", r"""fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(losses)
ax.set_xlabel("gradient step")
ax.set_ylabel("mean loss")
ax.set_title("two-layer network trained with matdiff's gradients")
ax.set_yscale("log")
plt.show()"""),
]

NOTEBOOKS = {
    "01_tour.ipynb": TOUR,
    "02_differentials.ipynb": DIFFERENTIALS,
    "03_machine_learning.ipynb": ML,
    "04_symmetric_and_gaussian.ipynb": SYMMETRIC,
    "05_backprop.ipynb": BACKPROP,
    "06_tensors.ipynb": TENSORS,
}
CELL_SUBSTITUTIONS = {"HVP_CELL": HVP_CELL, "PLOT_CELL": PLOT_CELL, "GN_CELL": GN_CELL}


def build(cells) -> nbformat.NotebookNode:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for kind, src in cells:
        src = CELL_SUBSTITUTIONS.get(src, src)
        nb.cells.append(new_markdown_cell(src) if kind == "md" else new_code_cell(src))
    return nb


def execute(nb: nbformat.NotebookNode) -> None:
    from nbclient import NotebookClient

    NotebookClient(nb, timeout=120, kernel_name="python3", record_timing=False,
                   resources={"metadata": {"path": str(HERE)}}).execute()


def main(argv: list[str]) -> int:
    run = "--execute" in argv
    only = [a for a in argv if not a.startswith("--")]
    for name, cells in NOTEBOOKS.items():
        if only and not any(o in name for o in only):
            continue
        nb = build(cells)
        t = time.time()
        if run:
            execute(nb)
        nbformat.validate(nb)
        nbformat.write(nb, HERE / name)
        print(f"{name}: {len(nb.cells)} cells" + (f", executed in {time.time() - t:.1f} s" if run else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
