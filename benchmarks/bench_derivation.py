"""Derivation time of matdiff on the shared example cases, side by side with SymPy.

    python benchmarks/bench_derivation.py [--quick] [--repeats N] [--out PATH]

For every case: ``matdiff.diff(expr, wrt, types=, order=)`` timed warm (the
grammar loaded and the code paths run once before timing), median and max over
the repeats. Before each timed run matdiff's memo caches (the ``lru_cache``s
of ``matdiff.core.construct`` and friends) are emptied, so a repeat derives the
answer again instead of looking it up; the column ``memo`` is the same call
with the caches kept, for reference.

SymPy gets the same case written by hand with ``MatrixSymbol`` (symbolic
dimensions, like matdiff's), and ``expr.diff(X)`` (twice for a Hessian) is
timed after ``sympy.core.cache.clear_cache()``. Building the SymPy expression
is not timed, while matdiff's time includes parsing and typing the text: the
comparison leans towards SymPy. A SymPy case is "n/a" when SymPy raises, has no
such function (softmax), leaves an unevaluated ``Derivative``, or answers 0 where
the derivative is not 0.

Targets: median over cases ≤ 5 ms, max ≤ 100 ms, matdiff ≥ 10× faster than
SymPy (median of the per-case ratios).
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as C  # noqa: E402

import matdiff  # noqa: E402

TARGET_MEDIAN_MS = 5.0
TARGET_MAX_MS = 100.0
TARGET_RATIO = 10.0


@dataclass
class Case:
    id: str
    expr: str
    wrt: str
    types: dict | None = None
    order: int = 1


# used when ../shared/examples/cases.py is not beside the checkout
FALLBACK_CASES = [
    Case("seed-abs-gram", "beta*sum(abs(X'X - I))", "X"),
    Case("seed-quad-hess", "x'*A*x", "x", order=2),
    Case("cb101-trAXB", "tr(A*X*B)", "X"),
    Case("cb125-tr-inv-XtCX-A", "tr(inv(X'*C*X)*A)", "X", types={"C": "symmetric"}),
    Case("ml-logreg-grad", "-sum(log(sigmoid(y .* (X w))))", "w"),
    Case("mn-jac-AXB", "A*X*B", "X"),
]


def cases_path() -> Path:
    env = os.environ.get("MATDIFF_CASES")
    return Path(env) if env else C.ROOT.parent / "shared" / "examples" / "cases.py"


def load_cases() -> tuple[list[Case], str]:
    path = cases_path()
    if not path.exists():
        return list(FALLBACK_CASES), "built-in fallback list (shared cases not found)"
    spec = importlib.util.spec_from_file_location("matdiff_shared_cases", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses need the module registered
    spec.loader.exec_module(mod)
    out = [Case(c.id, c.expr, c.wrt, c.types, c.order) for c in mod.CASES]
    return out, f"{path.name} ({len(out)} cases)"


# -- SymPy, case by case -------------------------------------------------------------
def sympy_builders() -> dict[str, Callable[[], tuple]]:
    """case id -> () -> (SymPy expression, variable); absent ids have no SymPy form."""
    import sympy as sp
    from sympy import HadamardProduct, Identity, Inverse, MatrixSymbol, OneMatrix, Trace

    l, m, n, p, q = sp.symbols("l m n p q", integer=True, positive=True)
    beta = sp.Symbol("beta")

    def mat(name, r, c):
        return MatrixSymbol(name, r, c)

    def vec(name, r):
        return MatrixSymbol(name, r, 1)

    def total(E):  # sum of all entries
        return OneMatrix(1, E.shape[0]) * E * OneMatrix(E.shape[1], 1)

    def ew(E, f):
        return E.applyfunc(f)

    X_ln = mat("X", l, n)
    Xsq = mat("X", n, n)
    x, a, b = vec("x", n), vec("a", n), vec("b", n)
    An = mat("A", n, n)
    gram = X_ln.T * X_ln - Identity(n)

    def quad():
        return x.T * An * x, x

    def mlp():
        W1, W2, xx, y = mat("W1", p, n), mat("W2", m, p), vec("x", n), vec("y", m)
        r = W2 * ew(W1 * xx, sp.tanh) - y
        return total(ew(r, lambda t: t ** 2)), W1

    def logreg():
        X, w, y = mat("X", l, n), vec("w", n), vec("y", l)
        return -total(ew(HadamardProduct(y, X * w), lambda t: sp.log(1 / (1 + sp.exp(-t))))), w

    def gauss():
        S, xx, mu = mat("S", n, n), vec("x", n), vec("mu", n)
        return sp.log(sp.Determinant(S)) / 2 + (xx - mu).T * Inverse(S) * (xx - mu) / 2, mu

    def mf():
        A, U, V = mat("A", l, n), mat("U", l, p), mat("V", n, p)
        R = A - U * V.T
        return Trace(R.T * R), U

    def ls():
        X, w, y = mat("X", l, n), vec("w", n), vec("y", l)
        r = X * w - y
        return r.T * r, w

    return {
        "seed-abs-gram": lambda: (beta * total(ew(gram, sp.Abs)), X_ln),
        "seed-tr-abs-gram": lambda: (Trace(ew(gram, sp.Abs)), X_ln),
        "seed-quad-grad": quad,
        "seed-quad-hess": quad,
        "cb51-det-AXB-rect": lambda: (sp.Determinant(mat("A", p, l) * mat("X", l, n) * mat("B", n, p)),
                                      mat("X", l, n)),
        "cb61-a-invX-b": lambda: (a.T * Inverse(Xsq) * b, Xsq),
        "cb70-aXb": lambda: (vec("a", l).T * X_ln * vec("b", n), X_ln),
        "cb78-affine-bilinear": lambda: ((mat("B", l, n) * x + vec("b", l)).T * mat("C", l, m)
                                         * (mat("D", m, n) * x + vec("d", m)), x),
        "cb100-trXA": lambda: (Trace(X_ln * mat("A", n, l)), X_ln),
        "cb101-trAXB": lambda: (Trace(mat("A", p, l) * X_ln * mat("B", n, p)), X_ln),
        "cb108-trXtBX": lambda: (Trace(X_ln.T * mat("B", l, l) * X_ln), X_ln),
        "cb115-trXtX": lambda: (Trace(X_ln.T * X_ln), X_ln),
        "cb121-trX3": lambda: (Trace(Xsq ** 3), Xsq),
        "cb125-tr-inv-XtCX-A": lambda: (Trace(Inverse(X_ln.T * mat("C", l, l) * X_ln) * An), X_ln),
        "cb129-norm2-xa": lambda: (sp.sqrt((x - a).T * (x - a)), x),
        "cb138-sym-trAS": lambda: (Trace(An * mat("S", n, n)), mat("S", n, n)),
        "cb-ew-sum-exp": lambda: (total(ew(X_ln, sp.exp)), X_ln),
        "ml-ls-grad": ls,
        "ml-ls-hess": ls,
        "ml-logreg-grad": logreg,
        "ml-mlp-tanh-W1": mlp,
        "ml-gauss-nll-mu": gauss,
        "ml-pca": lambda: (Trace(mat("W", n, p).T * mat("C", n, n) * mat("W", n, p)), mat("W", n, p)),
        "ml-mf-U": mf,
        "mn-jac-Ax": lambda: (mat("A", m, n) * x, x),
        "mn-jac-AXB": lambda: (mat("A", p, l) * X_ln * mat("B", n, q), X_ln),
        "mn-jac-XtX": lambda: (X_ln.T * X_ln, X_ln),
        "mn-hess-trXtAX": lambda: (Trace(X_ln.T * mat("A", l, l) * X_ln), X_ln),
        "edge-wrt-scalar-beta": lambda: (beta * total(ew(gram, sp.Abs)), beta),
        "edge-nested-transpose": lambda: (vec("a", l).T * X_ln.T.T * vec("b", n), X_ln),
        "edge-absent-variable": lambda: (a.T * x, vec("y", m)),
        "edge-unicode-hadamard": lambda: (total(HadamardProduct(mat("A", l, n), X_ln)), X_ln),
        "edge-juxt-number": lambda: (Trace((2 * X_ln - mat("A", l, n)).T * (2 * X_ln - mat("A", l, n))), X_ln),
        "edge-sign-subgradient": lambda: (total(HadamardProduct(ew(x, sp.sign), x)), x),
    }


SYMPY_NOTES = {
    "seed-softmax-jac": "no softmax",
    "seed-xent-softmax": "no softmax",
    "ml-softmax-reg-W": "no softmax",
    "cb138-sym-trAS": "no symmetric MatrixSymbol: unprojected gradient",
    "cb125-tr-inv-XtCX-A": "C not symmetric in SymPy",
    "ml-pca": "C not symmetric in SymPy",
}


def sympy_run(build: Callable[[], tuple], order: int):
    expr, var = build()
    out = expr.diff(var)
    if order == 2:
        out = out.diff(var)
    return out


def sympy_verdict(build: Callable[[], tuple], order: int, matdiff_zero: bool) -> str | None:
    """None when SymPy derives the case, else why it is n/a."""
    import sympy as sp

    try:
        out = sympy_run(build, order)
    except Exception as e:  # noqa: BLE001 - any SymPy failure makes the case n/a
        return f"raises {type(e).__name__}"
    if out.has(sp.Derivative) or "Derivative" in str(out):
        return "unevaluated Derivative"
    if not matdiff_zero and (out == 0 or getattr(out, "is_ZeroMatrix", False) or getattr(out, "is_zero", False) is True):
        return "answers 0 (wrong)"
    return None


def clear_matdiff_caches() -> None:
    """Empty matdiff's memo caches (not the parser, which is loaded once per process)."""
    for name, mod in list(sys.modules.items()):
        if not name.startswith("matdiff.") or name == "matdiff.frontend.syntax":
            continue
        for obj in list(vars(mod).values()):
            clear = getattr(obj, "cache_clear", None)
            if callable(clear) and getattr(obj, "__module__", None) == name:
                clear()


# -- the benchmark -------------------------------------------------------------------
def run(quick: bool = False, repeats: int | None = None, sympy_repeats: int | None = None,
        case_ids: list[str] | None = None, with_sympy: bool = True) -> dict:
    repeats = repeats or (3 if quick else 30)
    sympy_repeats = sympy_repeats or (1 if quick else 7)
    cases, source = load_cases()
    if case_ids:
        cases = [c for c in cases if c.id in case_ids]
    builders = sympy_builders() if with_sympy else {}
    if with_sympy:
        from sympy.core.cache import clear_cache as sympy_clear

    matdiff.diff("x'*A*x", "x")  # load the grammar, import every module
    rows = []
    for c in cases:
        def call(c=c):
            return matdiff.diff(c.expr, c.wrt, types=c.types, order=c.order)

        try:
            r = call()
        except matdiff.MatdiffError as e:
            rows.append({"id": c.id, "error": str(e).splitlines()[0]})
            continue
        C.collect()
        t, cpu = C.measure_both(call, repeats, setup=clear_matdiff_caches)
        memo = C.measure(call, max(3, repeats // 3))
        row = {"id": c.id, "order": c.order, "median": C.median(t), "max": max(t), "cpu": C.median(cpu), "memo": C.median(memo),
               "sympy": None, "why": SYMPY_NOTES.get(c.id, ""), "result": str(r)}
        build = builders.get(c.id)
        if build is None:
            row["why"] = row["why"] or ("no SymPy form" if with_sympy else "SymPy not run")
        else:
            zero = str(r).strip() == "0"
            why = sympy_verdict(build, c.order, zero)
            if why is not None:
                row["why"] = why
            else:
                expr_var = [build()]

                def sy(ev=expr_var, order=c.order):
                    expr, var = ev[0]
                    out = expr.diff(var)
                    return out.diff(var) if order == 2 else out

                def fresh(ev=expr_var, b=build):
                    sympy_clear()
                    ev[0] = b()

                row["sympy"] = C.median(C.measure(sy, sympy_repeats, setup=fresh))
        rows.append(row)
    return summarize(rows, source, repeats, sympy_repeats)


def summarize(rows: list[dict], source: str, repeats: int, sympy_repeats: int) -> dict:
    ok = [r for r in rows if "error" not in r]
    medians = [r["median"] for r in ok]
    maxes = [r["max"] for r in ok]
    ratios = [r["sympy"] / r["median"] for r in ok if r["sympy"] is not None]
    cpu_med = C.median([r["cpu"] for r in ok]) if ok else float("nan")
    med = C.median(medians) if medians else float("nan")
    mx = max(maxes) if maxes else float("nan")
    ratio = C.median(ratios) if ratios else float("nan")
    return {
        "rows": rows, "source": source, "repeats": repeats, "sympy_repeats": sympy_repeats,
        "median_ms": med * 1e3, "cpu_median_ms": cpu_med * 1e3, "max_ms": mx * 1e3, "median_ratio": ratio, "n_sympy": len(ratios),
        "targets": {
            f"median ≤ {TARGET_MEDIAN_MS:g} ms": med * 1e3 <= TARGET_MEDIAN_MS,
            f"max ≤ {TARGET_MAX_MS:g} ms": mx * 1e3 <= TARGET_MAX_MS,
            f"≥ {TARGET_RATIO:g}× faster than SymPy (median ratio)": ratio >= TARGET_RATIO,
        },
    }


HEADERS = ["case", "order", "matdiff median ms", "matdiff max ms", "CPU median ms", "memo ms", "SymPy ms", "SymPy / matdiff"]


def render(res: dict) -> str:
    rows = []
    for r in res["rows"]:
        if "error" in r:
            rows.append([r["id"], "", "error: " + r["error"], "", "", "", "", ""])
            continue
        sy = "n/a" if r["sympy"] is None else C.fmt_ms(r["sympy"])
        if r["why"]:
            sy += f" ({r['why']})"
        ratio = "n/a" if r["sympy"] is None else f"{r['sympy'] / r['median']:.1f}×"
        rows.append([r["id"], r["order"], C.fmt_ms(r["median"]), C.fmt_ms(r["max"]), C.fmt_ms(r["cpu"]),
                     C.fmt_ms(r["memo"]), sy, ratio])
    lines = [C.table(HEADERS, rows), "",
             f"Median over cases of the per-case median: **{res['median_ms']:.2f} ms**; "
             f"max over cases and repeats: **{res['max_ms']:.2f} ms**; "
             f"median of the per-case CPU medians: {res['cpu_median_ms']:.2f} ms; "
             f"median SymPy / matdiff ratio over the {res['n_sympy']} cases SymPy derives: "
             f"**{res['median_ratio']:.1f}×**.", ""]
    for name, ok in res["targets"].items():
        lines.append(f"- {name}: {'holds' if ok else 'MISSED'}")
    return "\n".join(lines)


def section(res: dict, info: dict) -> str:
    head = ["## Derivation time (`bench_derivation.py`)", "",
            *C.machine_lines(info),
            f"- cases: {res['source']}; matdiff {res['repeats']} timed runs per case with its memo caches "
            f"emptied before each (column *memo*: caches kept; *CPU*: the thread's CPU time, which other load on the machine does not inflate), SymPy {res['sympy_repeats']} runs after "
            f"`clear_cache()`; SymPy's expression building is not timed, matdiff's parsing is. Targets are judged on wall-clock.",
            "- SymPy n/a: it raises, has no such function, leaves an unevaluated `Derivative`, "
            "or answers 0 where the derivative is not 0.", ""]
    return "\n".join(head) + "\n" + render(res) + "\n"


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    C.add_common_args(ap)
    ap.add_argument("--repeats", type=int, default=None, help="timed runs per case for matdiff")
    ap.add_argument("--sympy-repeats", type=int, default=None)
    ap.add_argument("--case", action="append", default=None, help="run only this case id (repeatable)")
    ap.add_argument("--no-sympy", action="store_true")
    args = ap.parse_args(argv)
    res = run(args.quick, args.repeats, args.sympy_repeats, args.case, not args.no_sympy)
    info = C.machine_info(("numpy", "sympy"))
    text = section(res, info)
    return C.publish(res, text, args.out, "derivation", not args.no_write)


if __name__ == "__main__":
    main()
