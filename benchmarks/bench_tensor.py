"""The seed's gradient by a tensor, matdiff's einsum code against JAX.

    python benchmarks/bench_tensor.py [--quick] [--repeats N] [--out PATH]

L = beta*sum_i(sum(abs(Phi[:,i,:]'*Phi[:,i,:] - I))) with Phi of size
64×512×32 (l×m×n; float64, JAX with ``jax_enable_x64``), by:

- matdiff codegen: ``exec`` of ``matdiff.diff(L, "Phi").to_code("numpy")`` (einsum, optimize=True)
- matdiff lambdify: ``r.lambdify()``
- NumPy by hand: the slice-by-slice answer 2 beta Phi_i sign(Phi_iᵀ Phi_i − I), batched with einsum
- JAX: ``jax.jit(jax.grad(L))`` of the same loss written with ``jnp.einsum``

and the fibre ∂L/∂Phi[:,a,b] (an l-vector) by matdiff's code, which touches
one slice only.  Each timed after one untimed warm-up call (which compiles
JAX's jit); min and median over the repeats; every output compared with the
hand-written one.
"""
from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as C
import numpy as np

import matdiff

SEED = "beta*sum_i(sum(abs(Phi[:,i,:]'*Phi[:,i,:] - I)))"


def hand(beta, Phi):
    """2 beta Phi_i sign(Phi_iᵀ Phi_i − I) for every slice i, batched."""
    M = np.einsum("kij,kil->ijl", Phi, Phi, optimize=True) - np.eye(Phi.shape[2])
    return 2 * beta * np.einsum("kij,ijl->kil", Phi, np.sign(M), optimize=True)


def _code(r):
    ns: dict = {}
    exec(compile(r.to_code("numpy"), "<matdiff>", "exec"), ns)  # noqa: S102 - matdiff's own output
    return ns["derivative"]


def run(quick: bool, repeats: int | None, frameworks: bool) -> dict:
    shape = (8, 16, 4) if quick else (64, 512, 32)
    repeats = repeats or (2 if quick else 15)
    rng = np.random.default_rng(0)
    Phi = rng.standard_normal(shape) * 0.5
    beta = 0.3
    ref = hand(beta, Phi)
    r = matdiff.diff(SEED, "Phi")
    fibre = matdiff.diff(SEED, "Phi[:,a,b]")
    impls = {"matdiff codegen": (lambda f=_code(r): f(beta=beta, Phi=Phi)),
             "matdiff lambdify": (lambda f=r.lambdify(): f(beta=beta, Phi=Phi)),
             "NumPy by hand": (lambda: hand(beta, Phi))}
    if frameworks and C._version("jax") != "not installed":
        import jax
        import jax.numpy as jnp

        jax.config.update("jax_enable_x64", True)

        def loss(P):
            M = jnp.einsum("kij,kil->ijl", P, P) - jnp.eye(P.shape[2])
            return beta * jnp.sum(jnp.abs(M))

        g = jax.jit(jax.grad(loss))
        P = jnp.asarray(Phi)
        impls["JAX jit(grad)"] = lambda: g(P).block_until_ready()
    rows = []
    errs = {}
    for name, fn in impls.items():
        out = np.asarray(fn())  # warm-up (and JAX's compile)
        errs[name] = float(np.max(np.abs(out - ref)) / np.max(np.abs(ref)))
    a, b = 1, 2
    ff = _code(fibre)
    out = ff(beta=beta, Phi=Phi, a=a, b=b)
    fibre_err = float(np.max(np.abs(out - ref[:, a, b])) / np.max(np.abs(ref)))
    timed = C.interleaved({**impls, "fibre": lambda: ff(beta=beta, Phi=Phi, a=a, b=b)}, repeats, warmup=0)
    for name, t in timed.items():
        fib = name == "fibre"
        rows.append({"impl": "matdiff codegen" if fib else name, "what": "∂L/∂Phi[:,a,b]" if fib else "∂L/∂Phi",
                     "min": t.min, "median": t.median, "iqr": t.iqr, "cpu": t.cpu_median,
                     "err": fibre_err if fib else errs[name]})
    med = {x["impl"]: x["median"] for x in rows if x["what"] == "∂L/∂Phi"}
    target = med.get("JAX jit(grad)")
    return {"shape": shape, "repeats": repeats, "rows": rows, "text": str(r),
            "targets": {"matdiff codegen not slower than JAX": None if target is None
                        else med["matdiff codegen"] <= target * 1.1}}


def section(res: dict, info: dict) -> str:
    lines = ["## The seed's gradient by a tensor (`bench_tensor.py`)", ""]
    lines += C.machine_lines(info)
    l_, m, n = res["shape"]
    lines += [f"- Phi {l_}×{m}×{n}, float64; {res['repeats']} interleaved rounds after a warm-up; "
              f"matdiff's answer: `{res['text']}`", ""]
    rows = [[x["impl"], x["what"], C.fmt_ms(x["min"]), C.fmt_ms(x["median"]),
             f"{C.fmt_ms(x['iqr'][0])}–{C.fmt_ms(x['iqr'][1])}", C.fmt_ms(x["cpu"]),
             f"{x['err']:.1e}"] for x in res["rows"]]
    lines.append(C.table(["implementation", "derivative", "min ms", "median ms", "IQR ms", "CPU median ms",
                          "max rel. error"], rows))
    for k, v in res["targets"].items():
        lines.append("")
        lines.append(f"- target *{k}*: {'n/a (JAX not installed)' if v is None else ('met' if v else 'NOT met')}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    C.add_common_args(ap)
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--no-frameworks", action="store_true", help="skip JAX")
    args = ap.parse_args(argv)
    C.start(args, ("numpy", "jax", "jaxlib"), "bench_tensor", one_cpu=not args.quick)
    res = run(args.quick, args.repeats, not args.no_frameworks)
    info = C.machine_info(("numpy", "jax"))
    return C.publish(res, section(res, info), args.out, "tensor", not args.no_write)


if __name__ == "__main__":
    main()
