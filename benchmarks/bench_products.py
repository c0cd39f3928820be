"""Products with a direction (H v, J v, uᵀ J) without forming the matrix.

    python benchmarks/bench_products.py [--quick] [--repeats N] [--no-jax] [--threads N] [--out PATH]

Problems (float64):

- xAx-hvp:       H v for x'*A*x, n = 4096: A*v + A'*v (the Hessian A + A' is never built)
- trXAX-hvp:     H V for tr(X'*A*X), A 2048×2048, X 2048×64: A*V + A'*V
- logistic-hvp:  H v for sum(log(1 + exp(-y .* (A*w)))), A 4096×1024
- logsumexp-hvp: H v for logsumexp(A*x), A 4000×1000
- mlp-hvp:       H V for sum((W2*tanh(W1*X) - Y).^2) with respect to W1 (W1 256×128, X 128×512, W2 10×256)
- inv-jvp:       J v for F = inv(X), n = 1000: -inv(X)*V*inv(X), two solves in the generated code
- inv-vjp:       uᵀ J for the same F: -inv(X)'*U*inv(X)'
- softmax-jvp / softmax-vjp: J v and uᵀ J for softmax(A*x), A 4000×1000

Each is timed as ``r.hvp()`` / ``r.jvp()`` / ``r.vjp()`` (the scheduled tree evaluator) and as
the generated NumPy code (``r.to_code(product=...)``), next to NumPy written by hand
and, when JAX is installed, JAX's own product under ``jax.jit`` (jvp of grad for H v) and
matdiff's generated JAX code under ``jax.jit`` (the like-for-like comparison with JAX), measured
twice: in the rounds of all five implementations, and then the two JAX rows by themselves, head to
head (so that no NumPy work between them moves the comparison of two compiled computations).
BLAS and XLA run on one thread (``--threads``) and the process on one CPU; the rounds are
interleaved (every implementation once per round, in balanced orders), so a change in the
machine's load touches all of them alike.  Each output is compared with the hand-written one
(max relative error).
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as C  # noqa: E402 - sets the BLAS / XLA thread variables before NumPy or JAX loads
import numpy as np  # noqa: E402

import matdiff  # noqa: E402


def _softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


# -- the problems: (id, expression, variable, product, sizes, inputs, direction, by hand, jax) ------------
def problems(quick: bool) -> list[dict]:
    rng = np.random.default_rng(0)
    out: list[dict] = []

    def add(pid, expr, wrt, kind, sizes, inputs, d, hand, jax_fn):
        out.append(dict(pid=pid, expr=expr, wrt=wrt, kind=kind, sizes=sizes, inputs=inputs, d=d, hand=hand,
                        jax=jax_fn))

    # x'Ax
    n = 40 if quick else 4096
    A1 = rng.standard_normal((n, n))
    x1, v1 = rng.standard_normal(n), rng.standard_normal(n)
    add("xAx-hvp", "x'*A*x", "x", "hvp", f"n = {n}", {"A": A1, "x": x1}, v1,
        lambda: A1 @ v1 + A1.T @ v1,
        lambda jnp: (lambda x, A: x @ A @ x, ("x", "A")))

    # tr(X'AX)
    m, k = (30, 4) if quick else (2048, 64)
    A2 = rng.standard_normal((m, m))
    X2, V2 = rng.standard_normal((m, k)), rng.standard_normal((m, k))
    add("trXAX-hvp", "tr(X'*A*X)", "X", "hvp", f"A {m}×{m}, X {m}×{k}", {"A": A2, "X": X2}, V2,
        lambda: A2 @ V2 + A2.T @ V2,
        lambda jnp: (lambda X, A: jnp.trace(X.T @ A @ X), ("X", "A")))

    # logistic loss
    p, q = (40, 20) if quick else (4096, 1024)
    A3 = rng.standard_normal((p, q)) / np.sqrt(q)
    y3 = np.where(rng.standard_normal(p) > 0, 1.0, -1.0)
    w3, v3 = rng.standard_normal(q), rng.standard_normal(q)

    def logistic_hvp():
        s = _sigmoid(y3 * (A3 @ w3))
        return A3.T @ (y3 * y3 * s * (1 - s) * (A3 @ v3))

    add("logistic-hvp", "sum(log(1 + exp(-y .* (A*w))))", "w", "hvp", f"A {p}×{q}",
        {"A": A3, "y": y3, "w": w3}, v3, logistic_hvp,
        lambda jnp: (lambda w, A, y: jnp.sum(jnp.logaddexp(0.0, -y * (A @ w))), ("w", "A", "y")))

    # logsumexp
    p, q = (40, 20) if quick else (4000, 1000)
    A4 = rng.standard_normal((p, q)) / np.sqrt(q)
    x4, v4, u4 = rng.standard_normal(q), rng.standard_normal(q), rng.standard_normal(p)

    def lse_hvp():
        s = _softmax(A4 @ x4)
        Av = A4 @ v4
        return A4.T @ (s * Av - s * (s @ Av))

    add("logsumexp-hvp", "logsumexp(A*x)", "x", "hvp", f"A {p}×{q}", {"A": A4, "x": x4}, v4, lse_hvp,
        lambda jnp: (lambda x, A: _jax().nn.logsumexp(A @ x), ("x", "A")))

    # a two-layer net, the Hessian in the first layer's weights
    h, d, N, o = (6, 5, 7, 3) if quick else (256, 128, 512, 10)
    W1 = rng.standard_normal((h, d)) / np.sqrt(d)
    W2 = rng.standard_normal((o, h)) / np.sqrt(h)
    X5, Y5 = rng.standard_normal((d, N)), rng.standard_normal((o, N))
    V5 = rng.standard_normal((h, d))

    def mlp_hvp():
        H = np.tanh(W1 @ X5)
        D = 1 - H * H
        R = W2 @ H - Y5
        dH = D * (V5 @ X5)
        return 2 * (((W2.T @ (W2 @ dH)) * D - 2 * (W2.T @ R) * H * dH) @ X5.T)

    add("mlp-hvp", "sum((W2*tanh(W1*X) - Y).^2)", "W1", "hvp", f"W1 {h}×{d}, X {d}×{N}, W2 {o}×{h}",
        {"W1": W1, "W2": W2, "X": X5, "Y": Y5}, V5, mlp_hvp,
        lambda jnp: (lambda W1, W2, X, Y: jnp.sum((W2 @ jnp.tanh(W1 @ X) - Y) ** 2), ("W1", "W2", "X", "Y")))

    # inv(X): J v and uᵀ J
    n = 20 if quick else 1000
    X6 = np.eye(n) * 2 + rng.standard_normal((n, n)) / np.sqrt(n)
    V6 = rng.standard_normal((n, n))
    add("inv-jvp", "inv(X)", "X", "jvp", f"n = {n}", {"X": X6}, V6,
        lambda: -np.linalg.solve(X6, np.linalg.solve(X6.T, V6.T).T),
        lambda jnp: (lambda X: jnp.linalg.inv(X), ("X",)))
    add("inv-vjp", "inv(X)", "X", "vjp", f"n = {n}", {"X": X6}, V6,
        lambda: (lambda Xi: -Xi.T @ V6 @ Xi.T)(np.linalg.inv(X6)),
        lambda jnp: (lambda X: jnp.linalg.inv(X), ("X",)))

    # softmax(A x): J v and uᵀ J
    def softmax_jvp():
        s = _softmax(A4 @ x4)
        Av = A4 @ v4
        return s * Av - s * (s @ Av)

    def softmax_vjp():
        s = _softmax(A4 @ x4)
        return A4.T @ (s * u4 - s * (s @ u4))

    sm = lambda jnp: (lambda x, A: _jax().nn.softmax(A @ x), ("x", "A"))  # noqa: E731
    add("softmax-jvp", "softmax(A*x)", "x", "jvp", f"A {A4.shape[0]}×{A4.shape[1]}", {"A": A4, "x": x4}, v4,
        softmax_jvp, sm)
    add("softmax-vjp", "softmax(A*x)", "x", "vjp", f"A {A4.shape[0]}×{A4.shape[1]}", {"A": A4, "x": x4}, u4,
        softmax_vjp, sm)
    return out


# -- JAX ------------------------------------------------------------------------------------------
def _jax():
    import jax

    return jax


def jax_available() -> bool:
    return importlib.util.find_spec("jax") is not None


def jax_inputs(prob: dict) -> tuple[dict, object]:
    """The problem's inputs and direction as JAX arrays, made once and shared by both JAX rows, so
    that both read the very same memory."""
    jax = _jax()
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    return {k: jnp.asarray(v) for k, v in prob["inputs"].items()}, jnp.asarray(prob["d"])


def jax_product(prob: dict, inputs: tuple[dict, object]):
    """A jitted JAX function of no arguments computing the problem's product (jvp of grad for H v)."""
    jax = _jax()
    import jax.numpy as jnp

    f, names = prob["jax"](jnp)
    args = [inputs[0][a] for a in names]
    d = inputs[1]
    kind = prob["kind"]
    if kind == "hvp":
        def prod(d, *args):
            return jax.jvp(lambda x: jax.grad(f)(x, *args[1:]), (args[0],), (d,))[1]
    elif kind == "jvp":
        def prod(d, *args):
            return jax.jvp(lambda x: f(x, *args[1:]), (args[0],), (d,))[1]
    else:
        def prod(d, *args):
            return jax.vjp(lambda x: f(x, *args[1:]), args[0])[1](d)[0]
    jitted = jax.jit(prod)
    return lambda: jitted(d, *args).block_until_ready()


def jax_codegen(r, prob: dict, inputs: tuple[dict, object]):
    """matdiff's own generated JAX code of the product (``r.to_code("jax", product=...)``) under
    ``jax.jit``, as a function of no arguments: matdiff's closed form on XLA, JAX's compiler."""
    jax = _jax()
    ns: dict = {}
    exec(r.to_code("jax", name="prod", product=prob["kind"]), ns)  # generated code, not user text
    jitted = jax.jit(ns["prod"])
    args, d = inputs
    return lambda: jitted(d, **args).block_until_ready()


# -- timing --------------------------------------------------------------------------------------
HAND, CODE, JAX_CODE, JAX_AD = "NumPy by hand", "matdiff codegen", "matdiff codegen (JAX, jit)", "JAX autodiff (jit)"


def rel_err(out, ref) -> float:
    out, ref = np.asarray(out, dtype=float), np.asarray(ref, dtype=float)
    return float(np.max(np.abs(out.reshape(ref.shape) - ref)) / max(1e-300, float(np.max(np.abs(ref)))))


BUDGET, MAX_ROUNDS = 1.5, 100
"""A problem gets more rounds than asked for when they fit in about BUDGET seconds, up to MAX_ROUNDS:
the medians of the fast ones then move less between runs."""


def run(quick: bool, rounds: int, use_jax: bool) -> list[dict]:
    rows = []
    for prob in problems(quick):
        r = matdiff.diff(prob["expr"], prob["wrt"])
        kind, inputs, d = prob["kind"], prob["inputs"], prob["d"]
        fn = getattr(r, kind)()
        ns: dict = {}
        exec(r.to_code("numpy", name="prod", product=kind), ns)  # generated code, not user text
        code = ns["prod"]
        calls = {
            f"matdiff {kind}()": lambda fn=fn: fn(d, **inputs),
            CODE: lambda code=code: code(d, **inputs),
            HAND: prob["hand"],
        }
        if use_jax:
            shared = jax_inputs(prob)
            calls[JAX_CODE] = jax_codegen(r, prob, shared)
            calls[JAX_AD] = jax_product(prob, shared)
        t0 = time.perf_counter()
        ref = np.asarray(prob["hand"]())
        n = rounds if quick else max(rounds, min(MAX_ROUNDS, int(BUDGET / (len(calls) * (time.perf_counter() - t0)))))
        errs = {name: rel_err(call(), ref) for name, call in calls.items()}  # also JAX's compilation
        cpu: dict[str, list[float]] = {name: [] for name in calls}
        times = C.interleaved({name: with_process_cpu(call, cpu[name]) for name, call in calls.items()}, n)
        cpu = {name: C.median(ts[-n:]) for name, ts in cpu.items()}  # the timed rounds, not the warm-up
        hand, hand_cpu = times[HAND].median, cpu[HAND]
        jax_t = times.get(JAX_AD)
        pair = None
        if JAX_CODE in calls:  # the two JAX rows again, by themselves: one compiler, nothing else in between
            pcpu: dict[str, list[float]] = {JAX_CODE: [], JAX_AD: []}
            C.interleaved({name: with_process_cpu(calls[name], pcpu[name]) for name in pcpu}, n)
            pair = C.median(pcpu[JAX_CODE][-n:]) / C.median(pcpu[JAX_AD][-n:])
        for name, t in times.items():
            q1, q3 = t.iqr
            rows.append({"problem": prob["pid"], "sizes": prob["sizes"], "impl": name, "rounds": n,
                         "expr": str(fn.expr) if name.startswith("matdiff") else "",
                         "median": t.median, "q1": q1, "q3": q3, "min": t.min, "max": t.max,
                         "cpu": cpu[name], "vs_hand": t.median / hand, "cpu_vs_hand": cpu[name] / hand_cpu,
                         "vs_jax": t.median / jax_t.median if jax_t else None,
                         "cpu_vs_jax": cpu[name] / cpu[JAX_AD] if jax_t else None, "err": errs[name],
                         "pair_vs_jax": pair if name == JAX_CODE else None})
    return rows


def with_process_cpu(fn, sink: list[float]):
    """fn, recording the process's CPU seconds of each call in sink (all threads: XLA may run the
    work on a thread of its own, which the calling thread's CPU time would miss)."""
    def timed():
        c0 = time.process_time()
        out = fn()
        sink.append(time.process_time() - c0)
        return out

    return timed


TOLERANCE = 0.05
"""'No slower' allows this much, the few per cent by which the medians of one computation move between
runs here. (For xAx-hvp matdiff's JAX code and JAX's autodiff compile to the same two matrix-vector
products, in the other order; XLA has run A v then vᵀA up to 10 % slower than vᵀA then A v here.)"""


def _rows(rows: list[dict], impl: str) -> list[dict]:
    if impl == "product":  # r.hvp() / r.jvp() / r.vjp()
        return [r for r in rows if r["impl"].startswith("matdiff ") and r["impl"].endswith("()")]
    return [r for r in rows if r["impl"] == impl]


def _worst(mine: list[dict], key: str) -> dict:
    return max(mine, key=lambda r: r[key])


def _against_jax(mine: list[dict], key: str, how: str) -> str:
    """'at most r× … (worst problem){how}; no slower on n of N problems (slower on …).' for the ratio ``key``."""
    w = _worst(mine, key)
    slower = [f"{r['problem']} {r[key]:.2f}×" for r in mine if r[key] > 1.0 + TOLERANCE]
    return (f"at most {w[key]:.2f}× the CPU time of JAX's autodiff under `jax.jit` ({w['problem']}){how}; no slower "
            f"(within {TOLERANCE:.0%}) on {len(mine) - len(slower)} of {len(mine)} problems"
            + (f" (slower on {', '.join(slower)})" if slower else "") + ".")


def summary(rows: list[dict]) -> list[str]:
    """This run's figures, each a sentence: every matdiff implementation against hand-written NumPy,
    matdiff's generated JAX against JAX's autodiff, and NumPy against XLA as information."""
    out = []
    for impl, label in ((CODE, "generated NumPy"), ("product", "`r.hvp()` / `jvp()` / `vjp()`")):
        mine = _rows(rows, impl)
        if mine:
            w = _worst(mine, "cpu_vs_hand")
            out.append(f"{label}: at most {w['cpu_vs_hand']:.2f}× the CPU time of hand-written NumPy "
                       f"({w['problem']}).")
    mine = [r for r in _rows(rows, JAX_CODE) if r["cpu_vs_jax"] is not None]
    if mine:
        out.append("matdiff's generated JAX under `jax.jit`: " + _against_jax(mine, "cpu_vs_jax", ", the same compiler "
                                                                             "and kernels, in the rounds of all five"))
        paired = [r for r in mine if r.get("pair_vs_jax") is not None]
        if paired:
            out.append("the two JAX rows again by themselves, head to head: matdiff's generated JAX "
                       + _against_jax(paired, "pair_vs_jax", ""))
    code = [r for r in _rows(rows, CODE) if r["cpu_vs_jax"] is not None]
    hand = {r["problem"]: r for r in _rows(rows, HAND) if r["cpu_vs_jax"] is not None}
    if code:
        slower = [f"{r['problem']} {hand[r['problem']]['cpu_vs_jax']:.2f}×" for r in code
                  if r["problem"] in hand and hand[r["problem"]]["cpu_vs_jax"] > 1.0 + TOLERANCE]
        core = os.environ.get("OPENBLAS_CORETYPE")
        out.append("NumPy against XLA (information): generated NumPy takes "
                   f"{min(r['cpu_vs_jax'] for r in code):.2f}–{max(r['cpu_vs_jax'] for r in code):.2f}× "
                   f"the CPU time of JAX's autodiff; hand-written NumPy is slower than JAX by more than "
                   f"{TOLERANCE:.0%} " + (f"on {', '.join(slower)}" if slower else "on none of the problems")
                   + ". XLA fuses the element-wise work of a function into few passes over memory where NumPy "
                   "makes one pass and one array per operation, and multiplies matrices with its own kernels"
                   + (f", while OpenBLAS runs the kernels that OPENBLAS_CORETYPE={core} selects" if core else "")
                   + ".")
    return out


def targets(rows: list[dict]) -> dict[str, bool]:
    """Whether matdiff meets its targets in this run, on CPU time (which the machine's other load
    inflates far less than the wall clock)."""
    out = {"products: generated NumPy within 1.3× of hand-written NumPy (CPU time)":
           all(r["cpu_vs_hand"] <= 1.3 for r in _rows(rows, CODE)),
           "products: r.hvp() / jvp() / vjp() within 1.3× of hand-written NumPy (CPU time)":
           all(r["cpu_vs_hand"] <= 1.3 for r in _rows(rows, "product"))}
    mine = [r for r in _rows(rows, JAX_CODE) if r["cpu_vs_jax"] is not None]
    if mine:
        out[f"products: matdiff's generated JAX (jit) no slower than JAX's autodiff (jit), within "
            f"{TOLERANCE:.0%} (CPU time, in the rounds of all five)"] = \
            all(r["cpu_vs_jax"] <= 1.0 + TOLERANCE for r in mine)
        paired = [r for r in mine if r.get("pair_vs_jax") is not None]
        if paired:
            out[f"products: matdiff's generated JAX (jit) no slower than JAX's autodiff (jit), within "
                f"{TOLERANCE:.0%} (CPU time, the two head to head)"] = \
                all(r["pair_vs_jax"] <= 1.0 + TOLERANCE for r in paired)
    return out


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    C.add_common_args(p)
    p.add_argument("--repeats", type=int, default=None, help="interleaved rounds (default 20, 2 with --quick)")
    p.add_argument("--no-jax", action="store_true", help="leave out the JAX rows even when JAX is installed")
    args = p.parse_args(argv)
    rounds = args.repeats or (2 if args.quick else 20)
    use_jax = not args.no_jax and jax_available()
    C.start(args, name="bench_products", one_cpu=not args.quick)
    rows = run(args.quick, rounds, use_jax)
    info = C.machine_info(("numpy", "jax") if use_jax else ("numpy",))
    info["blas"] = C.thread_text()
    lines = ["## Products with a direction (`bench_products.py`)", ""]
    lines += C.machine_lines(info)
    lines += [f"- at least {rounds} interleaved rounds after one warm-up, more for the faster problems (as many as "
              f"fit in about {BUDGET:g} s, up to {MAX_ROUNDS}; the *rounds* column), each implementation once per "
              "round, the orders "
              "those of a balanced Latin square, so that each runs right after every other equally often); "
              "wall-clock median, interquartile range [q1–q3] and min–max; CPU: the median "
              "CPU time of the process (all threads), which other load on the machine inflates far less "
              "than the wall clock; ÷ hand and ÷ JAX compare medians (wall clock, then CPU) with NumPy by "
              "hand and with JAX's autodiff; relative error against the hand-written NumPy.",
              "- H v is the differential of the gradient in the direction v, products distributed over "
              "sums and chains ending in a vector applied from the right: for x'Ax it is A*v + A'*v, "
              "and the n×n Hessian A + A' is never formed.",
              "- NumPy's arrays of 1 MB and more come from glibc's malloc, which maps each one afresh from the "
              "system (its pages faulting in on first use) until a larger array has been freed; here building "
              "the inputs has freed such arrays, as in a program that has run for a while, so NumPy's "
              "temporaries reuse the heap (a process that has freed none pays for the page faults in every "
              "NumPy implementation alike).",
              "- JAX: " + ("JAX autodiff (jit): `jax.jit` of `jax.jvp(jax.grad(f))` for H v, of `jax.jvp` / "
                           "`jax.vjp` for J v / uᵀ J; matdiff codegen (JAX, jit): `jax.jit` of matdiff's "
                           "generated JAX code of the same product (`r.to_code(\"jax\", product=...)`), so that "
                           "matdiff's closed form and JAX's autodiff are compared on one compiler with the same "
                           "kernels; float64." if use_jax else
                           "not installed or left out (`--no-jax`): no JAX rows."),
              ""]

    def ratio(x):
        return f"{x:.2f}×" if x is not None else "n/a"

    table = [[r["problem"], r["sizes"], r["rounds"], r["impl"], C.fmt_ms(r["median"]),
              f"{C.fmt_ms(r['q1'])}–{C.fmt_ms(r['q3'])}", f"{C.fmt_ms(r['min'])}–{C.fmt_ms(r['max'])}",
              C.fmt_ms(r["cpu"]), ratio(r["vs_hand"]), ratio(r["cpu_vs_hand"]), ratio(r["vs_jax"]),
              ratio(r["cpu_vs_jax"]), f"{r['err']:.1e}"] for r in rows]
    lines.append(C.table(["problem", "sizes", "rounds", "implementation", "median ms", "IQR ms", "min–max ms",
                          "CPU ms", "÷ hand", "÷ hand (CPU)", "÷ JAX", "÷ JAX (CPU)", "rel. error"], table))
    found = targets(rows)
    lines += ["", *[f"- {line}" for line in summary(rows)],
              *[f"- target {t}: {'holds' if ok else 'MISSED'}" for t, ok in found.items()]]
    text = "\n".join(lines)
    return C.publish({"rows": rows, "targets": found, "summary": summary(rows)}, text, args.out, "products",
                     not args.no_write)


if __name__ == "__main__":
    main()
