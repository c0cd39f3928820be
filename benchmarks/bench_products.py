"""Products with a direction (J v, uᵀ J, H v) without forming the matrix.

    python benchmarks/bench_products.py [--quick] [--repeats N] [--out PATH]

Problems (float64):

- inv-jvp:  J v for F = inv(X), X n×n, n = 1000: the closed form -inv(X)*V*inv(X)
- inv-vjp:  uᵀ J for the same F: -inv(X)'*U*inv(X)'
- softmax-vjp: uᵀ J for softmax(A*x), A 4000×1000
- logsumexp-hvp: H v for logsumexp(A*x), A 4000×1000

Each is timed as ``r.jvp()`` / ``r.vjp()`` / ``r.hvp()`` (lambdify) and as the
generated NumPy code (``r.to_code(product=...)``), next to two LU solves with
n right-hand sides, ``solve(X, solve(X.T, V.T).T)`` (the textbook cost of J v
for the inverse) and NumPy written by hand.  The Jacobian of inv(X) at n = 1000 would
be n²×n² = 10¹² entries (8 TB): it is never built.  Each output is compared
with the hand-written one (max relative error).
"""
from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as C
import numpy as np

import matdiff


def _softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def problems(quick: bool):
    rng = np.random.default_rng(0)
    n = 20 if quick else 1000
    m, d = (40, 20) if quick else (4000, 1000)
    X = np.eye(n) * 2 + rng.standard_normal((n, n)) / np.sqrt(n)
    V = rng.standard_normal((n, n))
    A = rng.standard_normal((m, d)) / np.sqrt(d)
    x = rng.standard_normal(d)
    u = rng.standard_normal(m)
    v = rng.standard_normal(d)

    def inv_jvp():
        return np.linalg.solve(X, np.linalg.solve(X.T, V.T).T) * -1.0

    def inv_vjp():
        Xi = np.linalg.inv(X)
        return -Xi.T @ V @ Xi.T

    def softmax_vjp():
        s = _softmax(A @ x)
        return A.T @ (s * u - s * (s @ u))

    def lse_hvp():
        s = _softmax(A @ x)
        Av = A @ v
        return A.T @ (s * Av - s * (s @ Av))

    return [
        ("inv-jvp", "inv(X)", "X", "jvp", f"n = {n}", {"X": X}, V, inv_jvp, "two solves"),
        ("inv-vjp", "inv(X)", "X", "vjp", f"n = {n}", {"X": X}, V, inv_vjp, "inv + two products"),
        ("softmax-vjp", "softmax(A*x)", "x", "vjp", f"A {m}×{d}", {"A": A, "x": x}, u, softmax_vjp,
         "by hand"),
        ("logsumexp-hvp", "logsumexp(A*x)", "x", "hvp", f"A {m}×{d}", {"A": A, "x": x}, v, lse_hvp,
         "by hand"),
    ]


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    C.add_common_args(p)
    p.add_argument("--repeats", type=int, default=None)
    args = p.parse_args(argv)
    C.start(args, ("numpy", "jax", "jaxlib"), "bench_products")
    repeats = args.repeats or (2 if args.quick else 7)
    rows = []
    for pid, expr, wrt, kind, sizes, inputs, d, hand, hand_name in problems(args.quick):
        r = matdiff.diff(expr, wrt)
        fn = getattr(r, kind)()
        ns: dict = {}
        exec(r.to_code("numpy", name="prod", product=kind), ns)
        code = ns["prod"]
        ref = hand()
        impls = [
            ("matdiff " + kind + "()", lambda: fn(d, **inputs)),
            ("matdiff codegen", lambda: code(d, **inputs)),
            ("NumPy: " + hand_name, hand),
        ]
        timed = C.interleaved(dict(impls), repeats)  # one warm-up each, then rounds in turn
        for name, call in impls:
            wall, cpu = timed[name].wall, timed[name].cpu
            out = np.asarray(call())
            err = float(np.max(np.abs(out - ref)) / max(1e-300, float(np.max(np.abs(ref)))))
            rows.append({"problem": pid, "sizes": sizes, "impl": name, "expr": str(fn.expr) if "matdiff" in name
                         else "", "min": min(wall), "median": C.median(wall), "cpu": C.median(cpu), "err": err})
    info = C.machine_info(("numpy",))
    info["blas"] = C.blas_info()
    lines = ["## Products with a direction (`bench_products.py`)", ""]
    lines += C.machine_lines(info)
    lines += [f"- {repeats} interleaved rounds after one warm-up; relative error against the NumPy row.",
              "- J v of inv(X) is dF with dX := V, -inv(X)*V*inv(X); the generated code evaluates it as two "
              "solves. The n²×n² Jacobian (10¹² entries at n = 1000) is never formed.", ""]
    table = [[r["problem"], r["sizes"], r["impl"], C.fmt_ms(r["min"]), C.fmt_ms(r["median"]), C.fmt_ms(r["cpu"]),
              f"{r['err']:.1e}"] for r in rows]
    lines.append(C.table(["problem", "sizes", "implementation", "min ms", "median ms", "CPU median ms",
                          "rel. error"], table))
    text = "\n".join(lines)
    return C.publish({"rows": rows}, text, args.out, "products", not args.no_write)


if __name__ == "__main__":
    main()
