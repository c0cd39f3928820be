"""Index notation and tensors (SPEC §6): every rule of the index stage against
central differences of a NumPy function written by hand, on distinct sizes."""
from __future__ import annotations

import numpy as np
import pytest

import matdiff
from matdiff.indices import ricci as R
from matdiff.core.catalogue import ELEMENTWISE

H = 1e-6


def _draw(dims, rng, scale=0.7):
    return {n: (float(rng.uniform(0.5, 1.5)) if s == () else rng.standard_normal(s) * scale)
            for n, s in dims.items()}


def _part(wrt):
    if "[" not in wrt:
        return wrt, None
    name, rest = wrt.split("[", 1)
    return name, [s.strip() for s in rest[:-1].split(",")]


def fd_error(f, inputs, wrt, idx, out, rng, ndir=4):
    """Relative error of a first derivative by a variable or part against central differences."""
    name, subs = _part(wrt)
    x = np.asarray(inputs[name], dtype=float)
    key = tuple(slice(None) if s == ":" else idx[s] for s in subs) if subs else tuple(slice(None) for _ in x.shape)
    fds, ans = [], []
    for _ in range(ndir):
        e = rng.standard_normal(np.shape(x[key])) if np.ndim(x[key]) else rng.choice([-1.0, 1.0])
        e = e / np.linalg.norm(e)

        def at(t):
            y = x.copy()
            y[key] = y[key] + t * e
            return f(**dict(inputs, **{name: y}))

        fds.append((at(H) - at(-H)) / (2 * H))
        ans.append(float(np.sum(np.asarray(out) * e)))
    fds, ans = np.array(fds), np.array(ans)
    return float(np.linalg.norm(fds - ans) / max(np.linalg.norm(fds), np.linalg.norm(ans), 1e-9))


def run_case(expr, wrt, dims, f, types=None, seed=0, tol=1e-5):
    rng = np.random.default_rng(seed)
    r = matdiff.diff(expr, wrt, types=types)
    name, subs = _part(wrt)
    inputs = _draw(dims, rng)
    idx = {s: int(rng.integers(0, dims[name][p])) for p, s in enumerate(subs or ()) if s != ":"}
    out = r.lambdify()(**inputs, **idx)
    shape = np.shape(np.asarray(inputs[name])[tuple(slice(None) if s == ":" else idx[s] for s in subs)]) \
        if subs else np.shape(inputs[name])
    assert np.shape(out) == shape, (np.shape(out), shape)
    err = fd_error(f, inputs, wrt, idx, out, rng)
    assert err < tol, (str(r), err)
    return r


softmax_cols = lambda Z: np.exp(Z - Z.max(0)) / np.exp(Z - Z.max(0)).sum(0)
lse_axis0 = lambda T: np.log(np.exp(T).sum(0))

# (expression, variable, sizes, the function by hand); sizes distinct so a missing transpose shows
RULES = [
    # contractions recovered as matrix products, traces, sums, Hadamard and outer products
    ("sum_i(x[i]*a[i])", "x", {"x": (4,), "a": (4,)}, lambda x, a: x @ a),
    ("sum_{i,j}(A[i,j]*x[i]*x[j])", "x", {"A": (4, 4), "x": (4,)}, lambda A, x: x @ A @ x),
    ("sum_{i,j}(a[i]*X[i,j]*b[j])", "X", {"a": (3,), "X": (3, 5), "b": (5,)}, lambda a, X, b: a @ X @ b),
    ("sum_{i,j,k}(A[i,j]*X[j,k]*B[k,i])", "X", {"A": (3, 4), "X": (4, 5), "B": (5, 3)},
     lambda A, X, B: np.trace(A @ X @ B)),
    ("sum_{i,j}(A[i,j]*X[j,i])", "X", {"A": (3, 4), "X": (4, 3)}, lambda A, X: np.trace(A @ X)),
    ("sum_i((sum_j(A[i,j]*x[j]) - y[i])^2)", "x", {"A": (5, 3), "x": (3,), "y": (5,)},
     lambda A, x, y: np.sum((A @ x - y) ** 2)),
    ("sum_{i,j}(X[i,j]^2)", "X", {"X": (3, 4)}, lambda X: np.sum(X ** 2)),
    ("sum_{i,j}(A[i,j]*x[j])", "x", {"A": (5, 3), "x": (3,)}, lambda A, x: np.sum(A @ x)),
    ("sum_{i,j}(u[i]*v[j]*A[i,j])", "v", {"u": (3,), "v": (4,), "A": (3, 4)}, lambda u, v, A: u @ A @ v),
    ("sum_i(x[i]*y[i]*z[i])", "y", {"x": (4,), "y": (4,), "z": (4,)}, lambda x, y, z: np.sum(x * y * z)),
    ("sum_{i,j}(x[i]*A[i,j]*B[i,j])", "A", {"x": (3,), "A": (3, 4), "B": (3, 4)},
     lambda x, A, B: np.sum(x[:, None] * A * B)),
    ("sum_{i,j}(x[i]*A[i,j]*y[i]*w[j])", "x", {"x": (3,), "A": (3, 4), "y": (3,), "w": (4,)},
     lambda x, A, y, w: np.einsum("i,ij,i,j->", x, A, y, w)),
    ("sum_i(A[i,i]*x[i])", "A", {"A": (4, 4), "x": (4,)}, lambda A, x: np.diag(A) @ x),
    ("sum_{i,j}(delta(i,j)*X[i,j])", "X", {"X": (4, 4)}, lambda X: np.trace(X)),
    ("sum_{i,j}(I[i,j]*X[i,j]*X[j,i])", "X", {"X": (4, 4)}, lambda X: np.sum(np.diag(X) ** 2)),
    ("sum_{i,j}((A*B)[i,j]*X[i,j])", "X", {"A": (3, 4), "B": (4, 5), "X": (3, 5)},
     lambda A, B, X: np.sum((A @ B) * X)),
    ("sum_{i,j}((X')[i,j]*A[i,j])", "X", {"X": (4, 3), "A": (3, 4)}, lambda X, A: np.sum(X.T * A)),
    ("sum_j(norm2(X[:,j])^2)", "X", {"X": (3, 5)}, lambda X: np.sum(X ** 2)),
    ("sum_i(x[i] ./ y[i])", "y", {"x": (4,), "y": (4,)}, lambda x, y: np.sum(x / y)),
    ("sum_i(x[i] .^ 3)", "x", {"x": (4,)}, lambda x: np.sum(x ** 3)),
    ("beta*sum_i(x[i])^2", "x", {"beta": (), "x": (4,)}, lambda beta, x: beta * np.sum(x) ** 2),
    ("sum_i(sum_j(A[i,j]*x[j])*sum_k(B[i,k]*y[k]))", "A", {"A": (3, 4), "x": (4,), "B": (3, 5), "y": (5,)},
     lambda A, x, B, y: (A @ x) @ (B @ y)),
    # slices bound by sums: tensors slice by slice, matrices column by column
    ("beta*sum_i(sum(abs(Phi[:,i,:]'*Phi[:,i,:] - I)))", "Phi", {"beta": (), "Phi": (5, 3, 4)},
     lambda beta, Phi: beta * np.abs(np.einsum("kij,kil->ijl", Phi, Phi) - np.eye(4)).sum()),
    ("beta*sum_{i,j,l}(abs(sum_k(Phi[k,i,j]*Phi[k,i,l]) - delta(j,l)))", "Phi", {"beta": (), "Phi": (5, 3, 4)},
     lambda beta, Phi: beta * np.abs(np.einsum("kij,kil->ijl", Phi, Phi) - np.eye(4)).sum()),
    ("sum_i(tr(Phi[:,i,:]*A))", "Phi", {"Phi": (3, 5, 4), "A": (4, 3)},
     lambda Phi, A: np.einsum("aib,ba->", Phi, A)),
    ("sum_i(x'*Phi[:,i,:]*y)^2", "Phi", {"x": (3,), "Phi": (3, 5, 4), "y": (4,)},
     lambda x, Phi, y: np.einsum("a,aib,b->", x, Phi, y) ** 2),
    ("sum_i(logdet(Phi[:,i,:]'*Phi[:,i,:] + I))", "Phi", {"Phi": (5, 3, 4)},
     lambda Phi: sum(np.linalg.slogdet(Phi[:, i, :].T @ Phi[:, i, :] + np.eye(4))[1] for i in range(3))),
    ("-sum_{i,j}(Y[i,j]*log(softmax(Z[:,j])[i]))", "Z", {"Y": (4, 5), "Z": (4, 5)},
     lambda Y, Z: -np.sum(Y * np.log(softmax_cols(Z)))),
    ("sum_j(logsumexp(Z[:,j]))", "Z", {"Z": (4, 5)}, lambda Z: np.sum(lse_axis0(Z))),
    ("sum_{i,j,k}(T[i,j,k]*x[i]*y[j]*z[k])", "x", {"T": (3, 4, 5), "x": (3,), "y": (4,), "z": (5,)},
     lambda T, x, y, z: np.einsum("ijk,i,j,k->", T, x, y, z)),
    ("sum_{i,j,k}(T[i,j,k]*x[i]*y[j]*z[k])", "T", {"T": (3, 4, 5), "x": (3,), "y": (4,), "z": (5,)},
     lambda T, x, y, z: np.einsum("ijk,i,j,k->", T, x, y, z)),
    ("sum_{i,j}(W[:,i,j]'*W[:,i,j])", "W", {"W": (3, 4, 5)},
     lambda W: np.sum(W ** 2)),
    ("sum_{i,j}(norm2(Q[:,i,:,j]*x)^2)", "Q", {"Q": (3, 4, 5, 2), "x": (5,)},
     lambda Q, x: np.sum(np.einsum("aibj,b->aij", Q, x) ** 2)),
    # a function of the sum itself: the sum named in the answer (… where s = sum_i(…))
    ("(sum_i(x'*Phi[:,i,:]*y))^2", "Phi", {"x": (3,), "Phi": (3, 4, 5), "y": (5,)},
     lambda x, Phi, y: np.einsum("a,aib,b->", x, Phi, y) ** 2),
    ("log(sum_i(sum(exp(Phi[:,i,:]))))", "Phi", {"Phi": (3, 4, 5)}, lambda Phi: np.log(np.exp(Phi).sum())),
        # a variable used whole beside slices of a batch: a sum of matrix forms
    ("sum_i(norm2(Phi[:,:,i]*x - y)^2)", "x", {"Phi": (3, 4, 5), "x": (4,), "y": (3,)},
     lambda Phi, x, y: np.sum((np.einsum("abi,b->ai", Phi, x) - y[:, None]) ** 2)),
    ("sum_j(logsumexp(W*X[:,j]) - Y[:,j]'*W*X[:,j])", "W", {"W": (3, 4), "X": (4, 5), "Y": (3, 5)},
     lambda W, X, Y: np.sum(lse_axis0(W @ X)) - np.sum(Y * (W @ X))),
    ("sum_j(log(sigmoid(w'*X[:,j])))", "w", {"w": (4,), "X": (4, 5)},
     lambda w, X: np.sum(np.log(1 / (1 + np.exp(-(w @ X)))))),
    ("sum_j(norm2(W*X[:,j] - Y[:,j])^2)", "W", {"W": (3, 4), "X": (4, 5), "Y": (3, 5)},
     lambda W, X, Y: np.sum((W @ X - Y) ** 2)),
    # no matrix form: derivatives in indices, δ contracted
    ("sum_{i,j,k}(T[i,j,k]*T[j,k,i])", "T", {"T": (4, 4, 4)}, lambda T: np.einsum("ijk,jki->", T, T)),
    ("sum_{i,j,k}(T[i,j,k]*softmax(T[:,k,j])[i])", "T", {"T": (4, 3, 3)},
     lambda T: np.einsum("ijk,ikj->", T, np.exp(T) / np.exp(T).sum(0))),
    ("sum_{i,j,k}(logsumexp(T[:,j,k])*T[i,k,j])", "T", {"T": (4, 3, 3)},
     lambda T: np.einsum("jk,ikj->", lse_axis0(T), T)),
    ("sum_{i,j,k}(inv(T[:,k,:])[i,j]*T[k,j,i])", "T", {"T": (3, 3, 3)},
     lambda T: np.einsum("kij,kji->", np.linalg.inv(np.transpose(T, (1, 0, 2))), T)),
    ("sum_k(logdet(T[:,k,:])*T[k,k,k])", "T", {"T": (3, 3, 3)},
     lambda T: np.sum(np.linalg.slogdet(np.transpose(T, (1, 0, 2)))[1] * np.einsum("kkk->k", T))),
    ("sum_k(det(T[:,k,:])*T[k,k,k])", "T", {"T": (3, 3, 3)},
     lambda T: np.sum(np.linalg.det(np.transpose(T, (1, 0, 2))) * np.einsum("kkk->k", T))),
    ("sum_i(tr(inv(Phi[:,i,:]'*Phi[:,i,:] + I)))", "Phi", {"Phi": (5, 3, 4)},
     lambda Phi: np.trace(np.linalg.inv(np.einsum("kij,kil->ijl", Phi, Phi) + np.eye(4)), axis1=1, axis2=2).sum()),
]


@pytest.mark.parametrize("expr,wrt,dims,f", RULES, ids=[f"{e} by {w}" for e, w, _, _ in RULES])
def test_rule_against_finite_differences(expr, wrt, dims, f):
    r = run_case(expr, wrt, dims, f)
    assert r.check().ok


FUNCTIONS = {  # name -> (inner argument, NumPy)
    "abs": ("u", np.abs), "exp": ("0.3*u", lambda u: np.exp(0.3 * u)), "log": ("u^2 + 1", lambda u: np.log(u ** 2 + 1)),
    "sqrt": ("u^2 + 1", lambda u: np.sqrt(u ** 2 + 1)), "sin": ("u", np.sin), "cos": ("u", np.cos),
    "tan": ("0.3*u", lambda u: np.tan(0.3 * u)), "arcsin": ("0.3*tanh(u)", lambda u: np.arcsin(0.3 * np.tanh(u))),
    "arccos": ("0.3*tanh(u)", lambda u: np.arccos(0.3 * np.tanh(u))), "arctan": ("u", np.arctan),
    "tanh": ("u", np.tanh), "sigmoid": ("u", lambda u: 1 / (1 + np.exp(-u))), "relu": ("u", lambda u: np.maximum(u, 0)),
    "sign": ("u", np.sign), "step": ("u", lambda u: (u > 0).astype(float)),
}


@pytest.mark.parametrize("fn", sorted(FUNCTIONS))
def test_elementwise_rule_in_indices(fn):
    """f(T[i,j,k]*T[j,k,i]) has no matrix form: f′ from the catalogue, written in indices."""
    inner, npf = FUNCTIONS[fn]
    expr = "sum_{i,j,k}(" + fn + "(" + inner.replace("u", "(T[i,j,k]*T[j,k,i])") + "))"
    f = lambda T: np.sum(npf(np.einsum("ijk,jki->ijk", T, T)))
    r = run_case(expr, "T", {"T": (3, 3, 3)}, f)
    assert r.index_only and "T[" in r.text


def test_every_elementwise_function_is_tested_in_indices():
    assert set(ELEMENTWISE) == set(FUNCTIONS)


# -- parts of a variable ----------------------------------------------------------------
SEED = "beta*sum_i(sum(abs(Phi[:,i,:]'*Phi[:,i,:] - I)))"
SEED_F = lambda beta, Phi: beta * np.abs(np.einsum("kij,kil->ijl", Phi, Phi) - np.eye(Phi.shape[2])).sum()

PARTS = [
    (SEED, "Phi[:,a,b]", {"beta": (), "Phi": (5, 3, 4)}, SEED_F),
    (SEED, "Phi[:,a,:]", {"beta": (), "Phi": (5, 3, 4)}, SEED_F),
    (SEED, "Phi[c,a,b]", {"beta": (), "Phi": (5, 3, 4)}, SEED_F),
    (SEED, "Phi[c,:,b]", {"beta": (), "Phi": (5, 3, 4)}, SEED_F),
    ("sum_{i,j,k}(A[i,j]*X[j,k]*B[k,i])", "X[a,b]", {"A": (3, 4), "X": (4, 5), "B": (5, 3)},
     lambda A, X, B: np.trace(A @ X @ B)),
    ("sum_{i,j,k}(A[i,j]*X[j,k]*B[k,i])", "X[:,b]", {"A": (3, 4), "X": (4, 5), "B": (5, 3)},
     lambda A, X, B: np.trace(A @ X @ B)),
    ("sum_{i,j}(A[i,j]*x[i]*x[j])", "x[a]", {"A": (4, 4), "x": (4,)}, lambda A, x: x @ A @ x),
    ("sum_{i,j,k}(T[i,j,k]*T[j,k,i])", "T[a,:,c]", {"T": (4, 4, 4)}, lambda T: np.einsum("ijk,jki->", T, T)),
]


@pytest.mark.parametrize("expr,wrt,dims,f", PARTS, ids=[f"{e} by {w}" for e, w, _, _ in PARTS])
def test_derivative_by_a_part(expr, wrt, dims, f):
    r = run_case(expr, wrt, dims, f)
    assert r.check().ok


def test_seed_forms():
    r = matdiff.diff(SEED, "Phi")
    assert str(r) == "∂L/∂Phi[:,i,:] = 2*beta*Phi[:,i,:]*sign(Phi[:,i,:]'*Phi[:,i,:] - I)"
    assert r.index() == ("∂L/∂Phi[a,b,c] = 2*beta*sum_j(Phi[a,b,j]*sign(sum_k(Phi[k,b,j]*Phi[k,b,c])"
                         " - delta(j,c)))")
    fibre = matdiff.diff(SEED, "Phi[:,a,b]")
    assert str(fibre) == "2*beta*Phi[:,a,:]*sign(Phi[:,a,:]'*Phi[:,a,:] - I)[:,b]"
    assert "Σ" in r.index("unicode") and "\\sum" in r.index("latex")
    assert "\\Phi_{:,i,:}" in r.latex()
    rng = np.random.default_rng(3)
    Phi, beta = rng.standard_normal((5, 3, 4)), 0.7
    G = r.lambdify()(beta=beta, Phi=Phi)
    for i in range(3):  # the textbook answer, slice by slice
        S = Phi[:, i, :]
        assert np.allclose(G[:, i, :], 2 * beta * S @ np.sign(S.T @ S - np.eye(4)))
    assert np.allclose(fibre.lambdify()(beta=beta, Phi=Phi, a=2, b=1), G[:, 2, 1])


def test_index_and_all_index_spellings_agree():
    a = matdiff.diff(SEED, "Phi")
    b = matdiff.diff("beta*sum_{i,j,l}(abs(sum_k(Phi[k,i,j]*Phi[k,i,l]) - delta(j,l)))", "Phi")
    assert str(a) == str(b)


# -- Matrix Cookbook identities in index and matrix spelling ------------------------------
COOKBOOK = [
    ("x'*a", "sum_i(x[i]*a[i])", "x"),
    ("a'*X*b", "sum_{i,j}(a[i]*X[i,j]*b[j])", "X"),
    ("tr(A*X)", "sum_{i,j}(A[i,j]*X[j,i])", "X"),
    ("tr(A*X*B)", "sum_{i,j,k}(A[i,j]*X[j,k]*B[k,i])", "X"),
    ("x'*A*x", "sum_{i,j}(A[i,j]*x[i]*x[j])", "x"),
    ("norm2(A*x - b)^2", "sum_i((sum_j(A[i,j]*x[j]) - b[i])^2)", "x"),
    ("tr(X*A*X')", "sum_{i,j,k}(X[i,j]*A[j,k]*X[i,k])", "X"),
    ("a'*X'*X*b", "sum_{i,j,k}(a[i]*X[j,i]*X[j,k]*b[k])", "X"),
    ("sum(exp(X))", "sum_{i,j}(exp(X[i,j]))", "X"),
]


@pytest.mark.parametrize("matrix,index,wrt", COOKBOOK, ids=[c[0] for c in COOKBOOK])
def test_cookbook_index_and_matrix_spellings(matrix, index, wrt):
    rm, ri = matdiff.diff(matrix, wrt), matdiff.diff(index, wrt)
    assert str(rm) == str(ri)  # the same canonical form
    rng = np.random.default_rng(1)
    syms = rm.symbols
    values = {n: rng.standard_normal(tuple({"m": 3, "n": 4, "p": 5, "q": 2}.get(str(d), 1) for d in s.shape
                                          if d != 1)) for n, s in syms.items()}
    assert np.allclose(rm.lambdify()(**values), ri.lambdify()(**values))
    assert ri.check().ok


def test_hessian_of_index_expression():
    r = matdiff.diff("sum_i((sum_j(A[i,j]*x[j]) - y[i])^2)", "x", order=2)
    assert str(r) == "2*A'A"
    rng = np.random.default_rng(0)
    A = rng.standard_normal((5, 3))
    assert np.allclose(r.lambdify()(A=A, x=np.zeros(3), y=np.zeros(5)), 2 * A.T @ A)
    assert r.check().ok


def test_jacobian_of_index_expression():
    r = matdiff.diff("sum_j(A[:,j]*x[j])", "x")  # A x
    assert r.kind == "jacobian"
    rng = np.random.default_rng(0)
    A = rng.standard_normal((5, 3))
    assert np.allclose(r.lambdify()(A=A, x=rng.standard_normal(3)), A)


def test_tensor_type_declared():
    r = matdiff.diff("sum_{i,j}(P[i,j,j])", "P", types={"P": "tensor"})
    assert r.lambdify()(P=np.ones((2, 3, 3))).shape == (2, 3, 3)


def test_lambdify_takes_free_indices_as_ints():
    f = matdiff.diff(SEED, "Phi[:,a,b]").lambdify()
    Phi = np.random.default_rng(0).standard_normal((5, 3, 4))
    with pytest.raises(matdiff.MatdiffError, match="index 'a' must be an int in 0…2"):
        f(beta=1.0, Phi=Phi, a=3, b=0)
    with pytest.raises(matdiff.MatdiffError, match="missing the index 'b'"):
        f(beta=1.0, Phi=Phi, a=0)


def test_evaluation_uses_no_python_loop_over_an_index():
    """A 64×512×32 seed gradient evaluates in well under a second (einsum, not loops)."""
    import time
    f = matdiff.diff(SEED, "Phi").lambdify()
    Phi = np.random.default_rng(0).standard_normal((64, 512, 32))
    t = time.perf_counter()
    G = f(beta=0.5, Phi=Phi)
    assert G.shape == Phi.shape and time.perf_counter() - t < 5.0


def test_ricci_rename_and_free():
    e = R.isum(["k"], R.prod(R.Entry("A", ("i", "k")), R.Entry("x", ("k",))))
    assert e.free == {"i"}
    assert R.rename(e, {"i": "a"}).free == {"a"}


# -- generated code ------------------------------------------------------------------------
def _generated(r, target):
    ns: dict = {}
    exec(compile(r.to_code(target), "<generated>", "exec"), ns)  # noqa: S102 - matdiff's own output
    return ns["derivative"]


@pytest.mark.parametrize("expr,wrt,dims,f", RULES + PARTS, ids=[f"{e} by {w}" for e, w, _, _ in RULES + PARTS])
def test_numpy_code_matches_lambdify(expr, wrt, dims, f):
    r = matdiff.diff(expr, wrt)
    rng = np.random.default_rng(5)
    values = _draw(dims, rng)
    name, subs = _part(wrt)
    idx = {s: int(rng.integers(0, dims[name][p])) for p, s in enumerate(subs or ()) if s != ":"}
    got = _generated(r, "numpy")(**values, **idx)
    assert np.allclose(got, r.lambdify()(**values, **idx))
    assert "for " not in r.to_code("numpy").split('"""')[-1]  # no Python loop


@pytest.mark.parametrize("target", ["jax", "torch"])
def test_jax_and_torch_code(target):
    lib = pytest.importorskip(target)
    if target == "jax":
        lib.config.update("jax_enable_x64", True)
    r = matdiff.diff(SEED, "Phi")
    Phi = np.random.default_rng(0).standard_normal((5, 3, 4))
    got = _generated(r, target)(beta=0.5, Phi=Phi)
    assert np.allclose(np.asarray(got), r.lambdify()(beta=0.5, Phi=Phi))
    fibre = matdiff.diff(SEED, "Phi[:,a,b]")
    got = _generated(fibre, target)(beta=0.5, Phi=Phi, a=1, b=2)
    assert np.allclose(np.asarray(got), fibre.lambdify()(beta=0.5, Phi=Phi, a=1, b=2))


def test_tensor_benchmark_quick(tmp_path):
    import importlib.util
    import sys
    from pathlib import Path
    bench = Path(__file__).resolve().parent.parent / "benchmarks"
    sys.path.insert(0, str(bench))
    spec = importlib.util.spec_from_file_location("matdiff_bench_tensor", bench / "bench_tensor.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    res = mod.main(["--quick", "--repeats", "1", "--no-frameworks", "--out", str(tmp_path / "README.md")])
    assert all(r["err"] < 1e-12 for r in res["rows"])
    assert "## The seed's gradient by a tensor" in (tmp_path / "README.md").read_text()


# -- Jacobians and Hessians in indices, on vec (column-major, first subscript fastest) --------
from fdutil import first_order_error, second_order_error

SECOND = [
    ("sum_j(logsumexp(Z[:,j]))", "Z", {"Z": (4, 3)}, lambda Z: float(np.sum(lse_axis0(Z)))),
    ("sum_{i,j,k}(T[i,j,k]*T[j,k,i])", "T", {"T": (3, 3, 3)}, lambda T: float(np.einsum("ijk,jki->", T, T))),
    ("sum_{i,j,k}(sin(T[i,j,k])*x[i])", "T", {"T": (2, 3, 4), "x": (2,)},
     lambda T, x: float(np.einsum("ijk,i->", np.sin(T), x))),
    ("sum_{i,j,k}(T[i,j,k]*x[i]*x[j]*x[k])", "x", {"T": (3, 3, 3), "x": (3,)},
     lambda T, x: float(np.einsum("ijk,i,j,k->", T, x, x, x))),
]


@pytest.mark.parametrize("expr,wrt,dims,f", SECOND, ids=[e for e, *_ in SECOND])
def test_hessian_in_indices_on_vec(expr, wrt, dims, f):
    r = matdiff.diff(expr, wrt, order=2)
    rng = np.random.default_rng(2)
    values = _draw(dims, rng)
    H = r.lambdify()(**values)
    n = int(np.prod(dims[wrt]))
    assert H.shape == (n, n) and np.allclose(H, H.T)
    assert second_order_error(f, values, wrt, H, rng=rng) < 1e-4
    assert r.check().ok


JACOBIANS = [
    ("sum_i(Phi[:,i,:]*x)", "Phi", {"Phi": (3, 4, 5), "x": (5,)}, lambda Phi, x: np.einsum("aib,b->a", Phi, x)),
    ("sum_j(tanh(T[:,j,:])*y)", "y", {"T": (3, 4, 5), "y": (5,)}, lambda T, y: np.einsum("ajb,b->a", np.tanh(T), y)),
    ("sum_k(A[:,k]*x[k]^2)", "x", {"A": (4, 3), "x": (3,)}, lambda A, x: A @ x ** 2),
]


@pytest.mark.parametrize("expr,wrt,dims,f", JACOBIANS, ids=[e for e, *_ in JACOBIANS])
def test_jacobian_in_indices_on_vec(expr, wrt, dims, f):
    r = matdiff.diff(expr, wrt)
    assert r.kind == "jacobian"
    rng = np.random.default_rng(4)
    values = _draw(dims, rng)
    J = r.lambdify()(**values)
    assert J.shape == (np.size(f(**values)), int(np.prod(dims[wrt])))
    assert first_order_error(f, values, wrt, J, rng=rng) < 1e-6
    assert r.check().ok


@pytest.mark.parametrize("expr,wrt,dims,f,order", [c + (2,) for c in SECOND] + [c + (1,) for c in JACOBIANS],
                         ids=[c[0] for c in SECOND + JACOBIANS])
def test_code_of_jacobians_and_hessians(expr, wrt, dims, f, order):
    r = matdiff.diff(expr, wrt, order=order)
    values = _draw(dims, np.random.default_rng(6))
    assert np.allclose(_generated(r, "numpy")(**values), r.lambdify()(**values))


def test_part_across_slices_prints_in_indices():
    r = matdiff.diff(SEED, "Phi[c,:,b]")
    assert str(r).startswith("∂L/∂Phi[c,a,b] = 2*beta*sum_j(")
    assert r.check().ok


def test_same_output_on_every_call():
    """Fresh internal indices never show: a second derivation prints the same."""
    for expr, wrt in [(SEED, "Phi"), (SEED, "Phi[:,a,b]"), ("sum_{i,j,k}(T[i,j,k]*T[j,k,i])", "T"),
                      ("sum_j(logsumexp(Z[:,j]))", "Z")]:
        a, b = matdiff.diff(expr, wrt), matdiff.diff(expr, wrt)
        assert (str(a), a.index(), a.steps) == (str(b), b.index(), b.steps)


def test_index_results_say_what_they_cannot_do():
    r = matdiff.diff("sum_{i,j,k}(T[i,j,k]*T[j,k,i])", "T")
    for method in ("hvp", "to_sympy"):
        with pytest.raises(matdiff.UnsupportedError, match="this result is in indices"):
            getattr(r, method)()


def test_derivative_in_indices_is_bounded(monkeypatch):
    from matdiff.indices import derivative
    monkeypatch.setattr(derivative, "MAX_NODES", 10)
    with pytest.raises(matdiff.UnsupportedError, match="more than 10 terms and factors"):
        matdiff.diff("sum_{i,j,k}(tanh(T[i,j,k]*T[j,k,i])*sin(T[k,i,j]))", "T")


def test_batch_forms():
    assert str(matdiff.diff("sum_j(logsumexp(W*X[:,j]) - Y[:,j]'*W*X[:,j])", "W")) == \
        "sum_j((softmax(W*X[:,j]) - Y[:,j])*X[:,j]')"
    assert str(matdiff.diff("sum_j(norm2(W*X[:,j] - Y[:,j])^2)", "W")) == "2*(W*X - Y)*X'"


def test_a_sum_named_in_the_answer():
    r = matdiff.diff("(sum_i(x'*Phi[:,i,:]*y))^2", "Phi")
    assert str(r) == "∂L/∂Phi[:,i,:] = 2*s*x*y' where s = sum_i(x'*Phi[:,i,:]*y)"
    run_case("log(sum_i(sum(exp(Phi[:,i,:]))))", "Phi[:,a,b]", {"Phi": (3, 4, 5)},
             lambda Phi: np.log(np.exp(Phi).sum()))


# -- the command line ----------------------------------------------------------------------
def _cli(*argv):
    import io

    from matdiff.cli import run
    out, err = io.StringIO(), io.StringIO()
    code = run(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def test_cli_seed_three_ways_with_check():
    for wrt, fmt, first in [("Phi", "text", "∂L/∂Phi[:,i,:] = 2*beta*Phi[:,i,:]*sign("),
                            ("Phi", "index", "∂L/∂Phi[a,b,c] = 2*beta*sum_j(Phi[a,b,j]*sign("),
                            ("Phi[:,a,b]", "text", "2*beta*Phi[:,a,:]*sign(")]:
        code, out, err = _cli(SEED, wrt, "--format", fmt, "--check")
        assert code == 0, err
        assert out.splitlines()[0].startswith(first)
        assert "check ok" in out + err


def test_cli_tensor_flag_and_index_format_of_a_matrix_expression():
    code, out, _ = _cli("sum_{i,j}(P[i,j,j])", "P", "--tensor", "P", "--format", "index")
    assert code == 0 and out.splitlines()[0] == "∂L/∂P[a,b,c] = delta(b,c)"
    code, out, _ = _cli("tr(A*X)", "X", "--format", "index")
    assert code == 0 and out.splitlines()[0] == "∂L/∂X[a,b] = A[b,a]"


def test_cli_numpy_code_of_a_tensor_gradient_runs():
    code, out, _ = _cli(SEED, "Phi", "--format", "numpy")
    assert code == 0
    ns: dict = {}
    exec(compile(out.split("\n# note")[0], "<cli>", "exec"), ns)  # noqa: S102 - matdiff's own output
    Phi = np.random.default_rng(0).standard_normal((5, 3, 4))
    assert np.allclose(ns["derivative"](beta=0.5, Phi=Phi), matdiff.diff(SEED, "Phi").lambdify()(beta=0.5, Phi=Phi))
