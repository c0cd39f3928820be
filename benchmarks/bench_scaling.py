"""How matdiff's derivation time grows with the size of the input.

    python benchmarks/bench_scaling.py [--quick] [--out PATH] [--plot PATH] [--profile]

Families of expressions of size k (k = 10, 30, 100, 300, 1000):

- sum:      tr(A1*X) + tr(A2*X) + … + tr(Ak*X)          wrt X   (k terms)
- chain:    a'*A1*A2*…*Ak*x                             wrt x   (product chain of length k)
- exp-nest: sum(exp(exp(…exp(x)…)))                     wrt x   (nesting depth k)
- add-nest: sum(a1 + (a2 + (… + (ak + x))))             wrt x   (nested sums, depth k)
- tr-nest:  tr(A1*(A2*(…*(Ak*X))))                      wrt X   (tr of nested products, depth k)

For each family the table gives the median wall-clock and CPU time of
``matdiff.diff`` (matdiff's memo caches emptied before every run, so that each
size is timed alike) and the log–log slope of time against k (least squares over
all k, and between the two largest k). Target: slope ≤ 1.15, and depth 1000
without a RecursionError. ``--profile`` prints cProfile's top functions for
the largest k of each family.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import math
import os
import pstats
import sys
from pathlib import Path
from typing import Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as C  # noqa: E402

import matdiff  # noqa: E402

SIZES = (10, 30, 100, 300, 1000)
QUICK_SIZES = (2, 4, 8)
TARGET_SLOPE = 1.15
GIVE_UP_SECONDS = 120.0  # a size slower than this skips the larger sizes of its family


def fam_sum(k: int) -> tuple[str, str]:
    return " + ".join(f"tr(A{i}*X)" for i in range(1, k + 1)), "X"


def fam_chain(k: int) -> tuple[str, str]:
    return "a'*" + "*".join(f"A{i}" for i in range(1, k + 1)) + "*x", "x"


def fam_exp_nest(k: int) -> tuple[str, str]:
    return "sum(" + "exp(" * k + "x" + ")" * k + ")", "x"


def fam_add_nest(k: int) -> tuple[str, str]:
    s = "x"
    for i in range(k, 0, -1):
        s = f"(a{i} + {s})"
    return f"sum{s}", "x"


def fam_tr_nest(k: int) -> tuple[str, str]:
    s = "X"
    for i in range(k, 0, -1):
        s = f"(A{i}*{s})"
    return f"tr{s}", "X"


def fam_tanh_nest(k: int) -> tuple[str, str]:
    return "sum(" + "tanh(" * k + "x" + ")" * k + ")", "x"


def fam_tanh_nest_hess(k: int) -> tuple[str, str, int]:
    return (*fam_tanh_nest(k), 2)


def fam_exp_nest_hess(k: int) -> tuple[str, str, int]:
    return (*fam_exp_nest(k), 2)


def fam_tanh_net_hess(k: int) -> tuple[str, str, int]:
    s = "x"
    for i in range(1, k + 1):
        s = f"tanh(W{i}*{s})"
    return f"sum({s})", "x", 2


def fam_repeat_chain(k: int) -> tuple[str, str]:
    return "tr(" + "*".join(f"A{i}*X" for i in range(1, k + 1)) + ")", "X"


def fam_repeat_chain_hess(k: int) -> tuple[str, str, int]:
    return (*fam_repeat_chain(k), 2)


def fam_softmax_nest(k: int) -> tuple[str, str]:
    return "sum(a .* " + "softmax(" * k + "x" + ")" * k + ")", "x"


FAMILIES: dict[str, Callable[[int], tuple]] = {
    "sum": fam_sum,
    "chain": fam_chain,
    "exp-nest": fam_exp_nest,
    "add-nest": fam_add_nest,
    "tr-nest": fam_tr_nest,
    "tanh-nest": fam_tanh_nest,
    "tanh-nest H": fam_tanh_nest_hess,
    "exp-nest H": fam_exp_nest_hess,
    "tanh-net H": fam_tanh_net_hess,
    "repeat-chain": fam_repeat_chain,
    "repeat-chain H": fam_repeat_chain_hess,
    "softmax-nest": fam_softmax_nest,
}
"""Each family's expression of size k, the variable, and the order (1 when not given)."""

GROWTH = ("tanh-nest", "tanh-nest H", "exp-nest H", "tanh-net H", "repeat-chain", "repeat-chain H",
          "softmax-nest")
"""The families whose answers used to grow faster than the input (nests, products in which the
variable repeats, their Hessians): also their printed size and generated code are measured."""
GROWTH_SIZES = (25, 50, 100, 200, 400)


def slope(ks: list[int], ts: list[float]) -> float:
    """Least-squares slope of log t against log k."""
    if len(ks) < 2:
        return float("nan")
    xs = [math.log(k) for k in ks]
    ys = [math.log(max(t, 1e-9)) for t in ts]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx


def repeats_for(seconds: float, quick: bool) -> int:
    if quick:
        return 1
    if seconds < 0.05:
        return 7
    if seconds < 2.0:
        return 3
    return 1


def problem(name: str, k: int) -> tuple[str, str, int]:
    """(expression, variable, order) of a family at size k."""
    made = FAMILIES[name](k)
    return (made[0], made[1], made[2] if len(made) > 2 else 1)


def profile_top(expr: str, wrt: str, order: int = 1, n: int = 8) -> str:
    pr = cProfile.Profile()
    pr.enable()
    matdiff.diff(expr, wrt, order=order)
    pr.disable()
    buf = io.StringIO()
    pstats.Stats(pr, stream=buf).sort_stats("tottime").print_stats(n)
    return buf.getvalue()


def run(quick: bool = False, sizes: tuple[int, ...] | None = None, families: list[str] | None = None,
        profile: bool = False) -> dict:
    sized = sizes is not None
    sizes = tuple(sizes or (QUICK_SIZES if quick else SIZES))
    names = families or list(FAMILIES)
    matdiff.diff("x'*A*x", "x")  # load the grammar, import every module
    results: dict[str, list[dict]] = {}
    profiles: dict[str, str] = {}
    for name in names:
        rows: list[dict] = []
        skip_reason = None
        family_sizes = GROWTH_SIZES if name in GROWTH and not quick and not sized else sizes
        for k in family_sizes:
            expr, wrt, order = problem(name, k)
            if skip_reason:
                rows.append({"k": k, "error": skip_reason})
                continue
            try:
                C.collect()
                derive = lambda: matdiff.diff(expr, wrt, order=order)
                # every run starts with matdiff's memo caches empty, so that every size is timed alike
                first_w, first_c = C.measure_both(derive, 1, setup=C.clear_matdiff_caches)
                reps = repeats_for(first_w[0], quick)
                if reps > 1:
                    w, c = C.measure_both(derive, reps, setup=C.clear_matdiff_caches)
                else:
                    w, c = first_w, first_c
                r = matdiff.diff(expr, wrt, order=order) if k <= 100 or w[0] < 10 else None
                size = len(str(r)) if r is not None else None
                code = len(r.numpy()) if r is not None and name in GROWTH else None
            except RecursionError:
                rows.append({"k": k, "error": f"RecursionError (limit {sys.getrecursionlimit()})"})
                skip_reason = "skipped after RecursionError"
                continue
            except matdiff.MatdiffError as e:
                rows.append({"k": k, "error": f"{type(e).__name__}: {str(e).splitlines()[0]}"})
                continue
            rows.append({"k": k, "wall": C.median(w), "cpu": C.median(c), "repeats": len(w), "chars": size,
                         "code": code})
            if C.median(w) > GIVE_UP_SECONDS:
                skip_reason = f"skipped: k={k} took {C.median(w):.0f} s"
        results[name] = rows
        if profile:
            ok = [r for r in rows if "wall" in r]
            if ok:
                profiles[name] = profile_top(*problem(name, ok[-1]["k"]))
    summary = {}
    for name, rows in results.items():
        ok = [r for r in rows if "wall" in r]
        ks, ts = [r["k"] for r in ok], [r["cpu"] for r in ok]
        tw = [r["wall"] for r in ok]
        failed = [r for r in rows if "error" in r]
        s_all = slope(ks, ts)
        s_last = slope(ks[-2:], ts[-2:]) if len(ks) >= 2 else float("nan")
        sized = [r for r in ok if r.get("chars")]
        coded = [r for r in ok if r.get("code")]
        summary[name] = {"slope": s_all, "slope_wall": slope(ks, tw), "slope_last": s_last,
                         "slope_chars": slope([r["k"] for r in sized], [r["chars"] for r in sized]),
                         "slope_code": slope([r["k"] for r in coded], [r["code"] for r in coded]),
                         "ok": not failed and s_all <= TARGET_SLOPE, "failed": bool(failed)}
    def within(key: str) -> bool:
        return all(not (v[key] > TARGET_SLOPE) for v in summary.values())  # nan (not measured) passes

    targets = {f"every family's time slope (CPU) ≤ {TARGET_SLOPE:g}":
               all(v["ok"] for v in summary.values()),
               f"every family's printed size slope ≤ {TARGET_SLOPE:g}": within("slope_chars"),
               f"every family's generated code slope ≤ {TARGET_SLOPE:g}": within("slope_code")}
    return {"sizes": sizes, "results": results, "summary": summary, "profiles": profiles,
            "recursionlimit": sys.getrecursionlimit(), "targets": targets}


def _example(name: str) -> str:
    expr, wrt, order = problem(name, 3)
    return f"`{expr}`" + (" (Hessian)" if order == 2 else "")


def render(res: dict) -> str:
    groups: dict[tuple[int, ...], list[str]] = {}
    for name, rs in res["results"].items():
        groups.setdefault(tuple(r["k"] for r in rs), []).append(name)
    out: list[str] = []
    for ks, names in groups.items():
        headers = ["family", "example (k=3)"] + [f"k={k} ms" for k in ks] + ["slope (CPU)", "slope (wall)",
                                                                         "last slope", f"≤ {TARGET_SLOPE:g}"]
        rows = []
        for name in names:
            by_k = {r["k"]: r for r in res["results"][name]}
            cells = [name, _example(name)]
            for k in ks:
                r = by_k[k]
                cells.append(r["error"] if "error" in r else f"{r['wall'] * 1e3:.1f} (CPU {r['cpu'] * 1e3:.1f})")
            s = res["summary"][name]
            cells += [f"{s['slope']:.2f}", f"{s['slope_wall']:.2f}", f"{s['slope_last']:.2f}",
                      "holds" if s["ok"] else "MISSED"]
            rows.append(cells)
        out += [C.table(headers, rows), ""]
        size_rows = []
        for name in names:
            s = res["summary"][name]
            cells = [name] + [str(r.get("chars") or "") for r in res["results"][name]]
            cells += [f"{s['slope_chars']:.2f}", f"{s['slope_code']:.2f}" if s["slope_code"] == s["slope_code"] else ""]
            size_rows.append(cells)
        out += ["Length of the printed result (characters), and the log–log slopes of that length and of "
                "the generated NumPy code's length against k:", "",
                C.table(["family"] + [f"k={k}" for k in ks] + ["text slope", "code slope"], size_rows), ""]
    out.append(f"Slopes are least-squares fits of log CPU time (and log wall time) against log k over all k; "
               f"*last slope* is between the two largest k. Python's recursion limit during the run: "
               f"{res['recursionlimit']} (as set after importing matdiff).")
    return "\n".join(out)


def write_plot(res: dict, path: Path) -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, rs in res["results"].items():
        ok = [r for r in rs if "wall" in r]
        if ok:
            ax.loglog([r["k"] for r in ok], [r["cpu"] for r in ok], "o-",
                      label=f"{name} (slope {res['summary'][name]['slope']:.2f})")
    ks = sorted({r["k"] for rs in res["results"].values() for r in rs})
    if ks:
        k0 = ks[0]
        ref = [1e-3 * (k / k0) for k in ks]
        ax.loglog(ks, ref, "k--", lw=0.8, label="slope 1")
        ax.loglog(ks, [1e-3 * (k / k0) ** 2 for k in ks], "k:", lw=0.8, label="slope 2")
    ax.set_xlabel("k (terms / chain length / nesting depth)")
    ax.set_ylabel("matdiff.diff CPU time (s)")
    ax.set_title("matdiff derivation cost vs input size")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def section(res: dict, info: dict, plot: Path | None, out: Path) -> str:
    head = ["## Scaling (`bench_scaling.py`)", "", *C.machine_lines(info), ""]
    if plot is not None:
        try:
            rel = os.path.relpath(plot, out.parent)
        except ValueError:
            rel = str(plot)
        head += [f"![derivation time vs k]({rel})", ""]
    else:
        head += ["(matplotlib not installed: no plot)", ""]
    return "\n".join(head) + "\n" + render(res) + "\n"


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    C.add_common_args(ap)
    ap.add_argument("--plot", default=None, help="PNG path (default: scaling.png beside --out)")
    ap.add_argument("--sizes", default=None, help="comma-separated k values")
    ap.add_argument("--family", action="append", default=None, choices=list(FAMILIES))
    ap.add_argument("--profile", action="store_true", help="print cProfile's top functions at the largest k")
    args = ap.parse_args(argv)
    C.start(args, ("numpy", "matplotlib"), "bench_scaling")
    sizes = tuple(int(s) for s in args.sizes.split(",")) if args.sizes else None
    res = run(args.quick, sizes, args.family, args.profile)
    out = Path(args.out)
    plot = None
    if not args.no_write:
        plot = write_plot(res, Path(args.plot) if args.plot else out.parent / "scaling.png")
    info = C.machine_info(("numpy", "matplotlib"))
    text = section(res, info, plot, out)
    print(text)
    for name, prof in res["profiles"].items():
        print(f"--- cProfile, {name}, k={res['results'][name][-1]['k']} ---\n{prof}")
    if not args.no_write:
        C.update_section(out, "scaling", text)
    res["markdown"] = text
    res["plot"] = plot
    return res


if __name__ == "__main__":
    main()
