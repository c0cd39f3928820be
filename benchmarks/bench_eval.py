"""Evaluation speed of matdiff's derivatives on the CPU, against hand-written NumPy, JAX and PyTorch.

    python benchmarks/bench_eval.py [--quick] [--repeats N] [--out PATH]

Problems (float64 everywhere; JAX runs with ``jax_enable_x64``):

- quad-hess:    Hessian of x'*A*x, n = 2048
- logreg-grad:  gradient of -sum(log(sigmoid(y .* (X w)))), (n, d) = (2048, 256)
- logreg-hess:  its Hessian
- seed-grad:    gradient of beta*sum(abs(X'X - I)) wrt X, (l, n) = (512, 256)

Implementations, all in this process, each timed after one untimed warm-up call
(which also compiles JAX's jit; the *first call* column), then in interleaved
rounds (each implementation once per round, in turn), median, interquartile
range and min over the rounds, with BLAS, XLA and torch pinned to one thread
(``--threads N`` for N):

- matdiff codegen: ``exec`` of ``r.to_code("numpy")``
- matdiff lambdify: ``r.lambdify()``
- NumPy by hand: the textbook closed form
- JAX: ``jax.jit(jax.grad(f))`` / ``jax.jit(jax.hessian(f))``
- PyTorch: ``torch.func.grad(f)`` / ``torch.func.hessian(f)`` (eager)

Each output is compared with the hand-written one (max relative error).
JAX and PyTorch rows are skipped when the package is not installed.
"""
from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field
from typing import Any, Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as C  # noqa: E402

import numpy as np  # noqa: E402

import matdiff  # noqa: E402


@dataclass
class Problem:
    id: str
    expr: str
    wrt: str
    order: int
    sizes: str
    inputs: dict[str, Any]  # NumPy arrays / floats, by matdiff name
    hand: Callable[..., np.ndarray]
    f_np: str  # which loss the JAX / torch versions differentiate (key of LOSSES)
    extra: dict = field(default_factory=dict)


def _sigmoid(u):
    return np.exp(-np.logaddexp(0.0, -u))


def make_problems(quick: bool) -> list[Problem]:
    rng = np.random.default_rng(0)
    n_q = 16 if quick else 2048
    n_l, d_l = (32, 8) if quick else (2048, 256)
    l_s, n_s = (12, 6) if quick else (512, 256)

    A = rng.standard_normal((n_q, n_q))
    x = rng.standard_normal(n_q)
    X = rng.standard_normal((n_l, d_l)) / np.sqrt(d_l)
    y = np.where(rng.standard_normal(n_l) > 0, 1.0, -1.0)
    w = rng.standard_normal(d_l)
    Xs = rng.standard_normal((l_s, n_s)) / np.sqrt(l_s)

    def hess_logreg(y, X, w):
        s = _sigmoid(y * (X @ w))
        return X.T @ ((s * (1 - s))[:, None] * X)

    logreg = "-sum(log(sigmoid(y .* (X w))))"
    return [
        Problem("quad-hess", "x'*A*x", "x", 2, f"n={n_q}", {"x": x, "A": A},
                lambda x, A: A + A.T, "quad"),
        Problem("logreg-grad", logreg, "w", 1, f"n={n_l}, d={d_l}", {"y": y, "X": X, "w": w},
                lambda y, X, w: -X.T @ (y * _sigmoid(-y * (X @ w))), "logreg"),
        Problem("logreg-hess", logreg, "w", 2, f"n={n_l}, d={d_l}", {"y": y, "X": X, "w": w},
                hess_logreg, "logreg"),
        Problem("seed-grad", "beta*sum(abs(X'X - I))", "X", 1, f"l={l_s}, n={n_s}",
                {"beta": 0.7, "X": Xs},
                lambda beta, X: 2 * beta * X @ np.sign(X.T @ X - np.eye(X.shape[1])), "seed"),
    ]


# -- the same losses for the autodiff frameworks: (variable, other inputs in order) --------
ORDER = {"quad": ("x", ["A"]), "logreg": ("w", ["y", "X"]), "seed": ("X", ["beta"])}


def jax_impl(p: Problem):
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    def quad(x, A):
        return x @ A @ x

    def logreg(w, y, X):
        return -jnp.sum(jax.nn.log_sigmoid(y * (X @ w)))

    def seed(X, beta):
        return beta * jnp.sum(jnp.abs(X.T @ X - jnp.eye(X.shape[1])))

    f = {"quad": quad, "logreg": logreg, "seed": seed}[p.f_np]
    g = jax.jit(jax.hessian(f) if p.order == 2 else jax.grad(f))
    var, rest = ORDER[p.f_np]
    args = [jnp.asarray(p.inputs[var])] + [jnp.asarray(p.inputs[k]) for k in rest]

    def call():
        return g(*args).block_until_ready()

    return call, lambda out: np.asarray(out)


def torch_impl(p: Problem):
    import torch
    from torch.func import grad, hessian

    def quad(x, A):
        return x @ A @ x

    def logreg(w, y, X):
        return -torch.nn.functional.logsigmoid(y * (X @ w)).sum()

    def seed(X, beta):
        return beta * torch.abs(X.T @ X - torch.eye(X.shape[1], dtype=X.dtype)).sum()

    f = {"quad": quad, "logreg": logreg, "seed": seed}[p.f_np]
    g = hessian(f) if p.order == 2 else grad(f)
    var, rest = ORDER[p.f_np]

    def t(v):
        return torch.tensor(v, dtype=torch.float64)

    args = [t(p.inputs[var])] + [t(p.inputs[k]) for k in rest]

    def call():
        with torch.no_grad():
            return g(*args)

    return call, lambda out: out.detach().numpy()


def matdiff_impls(p: Problem) -> list[tuple[str, Callable[[], Any], Callable[[Any], np.ndarray]]]:
    r = matdiff.diff(p.expr, p.wrt, order=p.order)
    out = []
    src = r.to_code("numpy")
    ns: dict[str, Any] = {}
    exec(compile(src, f"<matdiff {p.id}>", "exec"), ns)  # the generated module, as a user would import it
    gen = ns["derivative"]
    kw = dict(p.inputs)
    kw_code = {(k + "_" if k in ("lambda",) else k): v for k, v in kw.items()}
    out.append(("matdiff codegen", lambda: gen(**kw_code), np.asarray))
    lam = r.lambdify()
    out.append(("matdiff lambdify", lambda: lam(**kw), np.asarray))
    return out


def rel_err(a: np.ndarray, ref: np.ndarray) -> float:
    a = np.asarray(a, dtype=float).reshape(ref.shape)
    return float(np.max(np.abs(a - ref)) / max(np.max(np.abs(ref)), 1e-300))


def run(quick: bool = False, repeats: int | None = None, frameworks: bool = True) -> dict:
    repeats = repeats or (2 if quick else 9)
    problems = make_problems(quick)
    rows: list[dict] = []
    available = {"jax": C._version("jax") != "not installed", "torch": C._version("torch") != "not installed"}
    for p in problems:
        ref = p.hand(**p.inputs)
        impls = matdiff_impls(p)
        impls.append(("NumPy by hand", lambda p=p: p.hand(**p.inputs), np.asarray))
        for fw, maker in (("JAX jit", jax_impl), ("PyTorch torch.func", torch_impl)):
            key = "jax" if fw.startswith("JAX") else "torch"
            if not frameworks or not available[key]:
                rows.append({"problem": p.id, "sizes": p.sizes, "impl": fw, "skip": "not installed"
                             if frameworks else "not run"})
                continue
            try:
                call, conv = maker(p)
            except Exception as e:  # noqa: BLE001 - report, do not abort the other rows
                rows.append({"problem": p.id, "sizes": p.sizes, "impl": fw, "skip": f"{type(e).__name__}: {e}"})
                continue
            impls.append((fw, call, conv))
        calls, first, errs = {}, {}, {}
        for name, call, conv in impls:
            try:
                first_w, _ = C.measure_both(call, 1)  # warm-up (JAX compiles here)
                errs[name] = rel_err(conv(call()), ref)
            except Exception as e:  # noqa: BLE001
                rows.append({"problem": p.id, "sizes": p.sizes, "impl": name, "skip": f"{type(e).__name__}: {e}"})
                continue
            calls[name], first[name] = call, first_w[0]
        timed = C.interleaved(calls, repeats, warmup=0)
        for name, t in timed.items():
            rows.append({"problem": p.id, "sizes": p.sizes, "impl": name, "min": t.min, "median": t.median,
                         "iqr": t.iqr, "cpu": t.cpu_median, "first": first[name], "err": errs[name]})
    return {"rows": rows, "repeats": repeats, "problems": [p.id for p in problems]}


HEADERS = ["problem", "sizes", "implementation", "min ms", "median ms", "IQR ms", "thread CPU / wall", "first call ms",
           "rel. error vs hand", "vs hand (median)"]


def render(res: dict) -> str:
    hand = {r["problem"]: r["median"] for r in res["rows"] if r["impl"] == "NumPy by hand" and "median" in r}
    rows = []
    for r in res["rows"]:
        if "skip" in r:
            rows.append([r["problem"], r["sizes"], r["impl"], "skipped: " + r["skip"], "", "", "", "", "", ""])
            continue
        h = hand.get(r["problem"])
        rows.append([r["problem"], r["sizes"], r["impl"], C.fmt_ms(r["min"], 3), C.fmt_ms(r["median"], 3),
                     f"{C.fmt_ms(r['iqr'][0], 3)}–{C.fmt_ms(r['iqr'][1], 3)}",
                     f"{r['cpu'] / r['median']:.2f}" if r["median"] > 0 else "",
                     C.fmt_ms(r["first"], 1), f"{r['err']:.1e}", f"{r['median'] / h:.2f}×" if h else ""])
    return C.table(HEADERS, rows)


def section(res: dict, info: dict, threads: int = 1) -> str:
    title = "## Evaluation speed (`bench_eval.py`)"
    if threads != 1:
        title = f"## Evaluation speed, {threads} threads (`bench_eval.py --threads {threads}`)"
    head = [title, "", *C.machine_lines(info),
            f"- {res['repeats']} interleaved rounds after one warm-up call (the *first call* column, which includes "
            "JAX's compilation); float64 throughout; *thread CPU / wall* is the thread's CPU time over wall "
            "time (below 1: the call waited, for other threads or other load; BLAS threads' work is not "
            "counted in it).", ""]
    return "\n".join(head) + "\n" + render(res) + "\n"


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    C.add_common_args(ap)
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--no-frameworks", action="store_true", help="skip JAX and PyTorch")
    args = ap.parse_args(argv)
    threads = C.THREADS if args.threads is None else args.threads
    if not args.no_frameworks and C._version("torch") != "not installed":
        C.pin_torch(threads)  # before its first parallel work
    C.start(args, ("numpy", "jax", "jaxlib", "torch"), "bench_eval", one_cpu=not args.quick)
    res = run(args.quick, args.repeats, not args.no_frameworks)
    info = C.machine_info(("numpy", "sympy", "jax", "torch"))
    text = section(res, info, threads)
    name = "eval" if threads == 1 else f"eval-threads{threads}"
    return C.publish(res, text, args.out, name, not args.no_write)


if __name__ == "__main__":
    main()
