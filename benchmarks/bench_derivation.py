"""Derivation time of matdiff on the shared example cases, cold and warm, side by side with SymPy.

    python benchmarks/bench_derivation.py [--quick] [--repeats N] [--cold-rounds N] [--out PATH]

The cases are the shared example cases (``../shared/examples/cases.py`` and
``v2/cases_v2.py``, or ``$MATDIFF_CASES``), each called as the example runners
call it: ``matdiff.diff(expr, wrt, types=, order=)`` (a list of variables, or
two for a mixed derivative, as the case says).

*Cold* is what a command-line call, or the first ``diff`` of a notebook, pays:
a fresh interpreter per sample (a subprocess with the same environment), timed
from inside it, so the interpreter's own start-up is not counted: *import* is
``import matdiff``, *first call* the first ``matdiff.diff(...)`` after it.
*Warm* is the same call repeated in one process, with matdiff's memo caches
(the ``lru_cache``s of ``matdiff.core.construct`` and friends) emptied before
each run so that a repeat derives the answer again instead of looking it up;
column *memo* keeps the caches. Cold samples and warm runs are interleaved
with SymPy's, case by case and round by round.

SymPy gets the same case written by hand with ``MatrixSymbol`` (symbolic
dimensions, like matdiff's; ``_sympy_cases.py``), and ``expr.diff(X)`` (twice
for a Hessian), measured the same way: cold in a fresh interpreter (``import
sympy``, then building the expression and differentiating it), warm after
``sympy.core.cache.clear_cache()`` with the expression rebuilt untimed. A SymPy
case is "n/a" when SymPy raises, has no such function (softmax), leaves an
unevaluated ``Derivative``, answers 0 where the derivative is not 0, or the
case has no SymPy form (index notation, programs, several variables).

Targets: cold first call median ≤ 2 ms; warm median over cases ≤ 5 ms, max
≤ 100 ms; matdiff ≥ 10× faster than SymPy (median of the per-case warm ratios).
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as C  # noqa: E402
from _sympy_cases import SYMPY_NOTES, sympy_builders, sympy_verdict  # noqa: E402

import matdiff  # noqa: E402

TARGET_COLD_MS = 2.0
TARGET_MEDIAN_MS = 5.0
TARGET_MAX_MS = 100.0
TARGET_RATIO = 10.0


@dataclass
class Case:
    id: str
    expr: str
    wrt: str | list | tuple
    types: dict | None = None
    order: int = 1
    source: str = "cases.py"
    args: list = field(default_factory=list)  # positional arguments of matdiff.diff
    kw: dict = field(default_factory=dict)  # its keyword arguments

    def __post_init__(self) -> None:
        if not self.args:
            self.args, self.kw = diff_call(self)

    def call(self):
        return matdiff.diff(*self.args, **self.kw)


def diff_call(case) -> tuple[list, dict]:
    """The matdiff.diff call the example runners make: (positional, keyword) arguments."""
    kw: dict = {}
    if case.types:
        kw["types"] = dict(case.types)
    if isinstance(case.wrt, list):  # several variables: one gradient each
        return [case.expr, list(case.wrt)], kw
    if isinstance(case.wrt, tuple):  # a mixed derivative
        return [case.expr, *case.wrt], kw
    if case.order != 1:
        kw["order"] = case.order
    return [case.expr, case.wrt], kw


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


def _module(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses need the module registered
    sys.path.insert(0, str(path.parent))  # the case files import their neighbours (fdcheck)
    try:
        spec.loader.exec_module(mod)
    finally:
        sys.path.remove(str(path.parent))
    return mod


def load_cases() -> tuple[list[Case], str]:
    """The shared example cases (cases.py, then v2/cases_v2.py beside it when present)."""
    path = cases_path()
    if not path.exists():
        return list(FALLBACK_CASES), "built-in fallback list (shared cases not found)"
    out = [Case(c.id, c.expr, c.wrt, c.types, c.order) for c in _module(path, "matdiff_shared_cases").CASES]
    names = [f"{path.name} ({len(out)} cases)"]
    v2 = path.parent / "v2" / "cases_v2.py"
    if v2.exists():
        more = [Case(c.id, c.expr, c.wrt, c.types, c.order, source=v2.name)
                for c in _module(v2, "matdiff_shared_cases_v2").CASES]
        out += more
        names.append(f"{v2.name} ({len(more)} cases)")
    return out, " and ".join(names)


clear_matdiff_caches = C.clear_matdiff_caches



# -- cold: a fresh interpreter per sample ------------------------------------------------------
COLD_MATDIFF = """
import json, sys, time
a = json.loads(sys.argv[1])
c0, t0 = time.thread_time(), time.perf_counter()
import matdiff
c1, t1 = time.thread_time(), time.perf_counter()
matdiff.diff(*a["args"], **a["kw"])
c2, t2 = time.thread_time(), time.perf_counter()
print(json.dumps([t1 - t0, t2 - t1, c1 - c0, c2 - c1]))
"""

COLD_SYMPY = """
import json, sys, time
a = json.loads(sys.argv[1])
sys.path.insert(0, a["bench"])
c0, t0 = time.thread_time(), time.perf_counter()
import sympy
c1, t1 = time.thread_time(), time.perf_counter()
from _sympy_cases import sympy_run, sympy_builders
sympy_run(sympy_builders()[a["id"]], a["order"])
c2, t2 = time.thread_time(), time.perf_counter()
print(json.dumps([t1 - t0, t2 - t1, c1 - c0, c2 - c1]))
"""

START_UP = "pass"


def child(code: str, payload: dict) -> list[float] | None:
    """[import, first call] wall-clock then thread-CPU seconds, measured inside a fresh interpreter;
    None if it failed."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(C.ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    p = subprocess.run([sys.executable, "-c", code, json.dumps(payload)], capture_output=True, text=True, env=env,
                       timeout=300)
    if p.returncode != 0:
        return None
    return json.loads(p.stdout.strip().splitlines()[-1])


def start_up_seconds(samples: int) -> list[float]:
    """Wall-clock seconds of ``python -c pass``: the interpreter's own start-up, which cold times exclude."""
    import time

    out = []
    for _ in range(samples):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", START_UP], check=True)
        out.append(time.perf_counter() - t0)
    return out


def run_cold(cases: list[Case], rounds: int, sympy_ids: dict[str, int]) -> dict[str, dict]:
    """Per case: matdiff's and (where it derives the case) SymPy's cold samples, interleaved."""
    keys = ("import", "first", "import_cpu", "first_cpu")
    out = {c.id: {k: [] for k in keys + tuple("sympy_" + k for k in keys)} for c in cases}
    bench = str(Path(__file__).resolve().parent)
    for _ in range(rounds):
        for c in cases:
            got = child(COLD_MATDIFF, {"args": c.args, "kw": c.kw})
            for k, v in zip(keys, got or ()):
                out[c.id][k].append(v)
            if c.id in sympy_ids:
                got = child(COLD_SYMPY, {"bench": bench, "id": c.id, "order": sympy_ids[c.id]})
                for k, v in zip(keys, got or ()):
                    out[c.id]["sympy_" + k].append(v)
    return out


# -- the benchmark -------------------------------------------------------------------
def run(quick: bool = False, repeats: int | None = None, sympy_repeats: int | None = None,
        case_ids: list[str] | None = None, with_sympy: bool = True, cold_rounds: int | None = None) -> dict:
    repeats = repeats or (3 if quick else 15)
    sympy_repeats = sympy_repeats or (1 if quick else 3)
    cold_rounds = cold_rounds if cold_rounds is not None else (1 if quick else 3)  # a median of 3 per case
    cases, source = load_cases()
    if case_ids:
        cases = [c for c in cases if c.id in case_ids]
    builders = sympy_builders() if with_sympy else {}
    if with_sympy:
        from sympy.core.cache import clear_cache as sympy_clear

    matdiff.diff("x'*A*x", "x")  # import every module the warm runs use
    rows = []
    derivable: dict[str, int] = {}
    for c in cases:
        try:
            r = c.call()
        except matdiff.MatdiffError as e:
            rows.append({"id": c.id, "source": c.source, "error": str(e).splitlines()[0]})
            continue
        impls = {"matdiff": (clear_matdiff_caches, c.call)}
        row = {"id": c.id, "source": c.source, "order": c.order, "sympy": None,
               "why": SYMPY_NOTES.get(c.id, ""), "result": str(r)}
        build = builders.get(c.id)
        if build is None:
            row["why"] = row["why"] or ("no SymPy form" if with_sympy else "SymPy not run")
        else:
            zero = str(r).strip() == "0"
            why = sympy_verdict(build, c.order, zero)
            if why is not None:
                row["why"] = why
            else:
                derivable[c.id] = c.order
                held = [build()]

                def fresh(held=held, b=build):
                    sympy_clear()
                    held[0] = b()

                def sy(held=held, order=c.order):
                    expr, var = held[0]
                    out = expr.diff(var)
                    return out.diff(var) if order == 2 else out

                impls["sympy"] = (fresh, sy)
        # matdiff gets `repeats` runs, SymPy `sympy_repeats`: interleave the common rounds, then top matdiff up
        both = C.interleaved(impls, min(repeats, sympy_repeats) if "sympy" in impls else repeats)
        t = both["matdiff"]
        if len(t.wall) < repeats:
            more = C.interleaved({"matdiff": impls["matdiff"]}, repeats - len(t.wall), warmup=0)["matdiff"]
            t.wall += more.wall
            t.cpu += more.cpu
        memo = C.interleaved({"memo": c.call}, max(3, repeats // 3), warmup=0)["memo"]
        row.update(warm=t.wall, cpu=t.cpu, memo=memo.median, median=t.median, max=t.max)
        if "sympy" in both:
            row["sympy"] = both["sympy"].median
            row["sympy_warm"] = both["sympy"].wall
        rows.append(row)
    ok_cases = [c for c in cases if any(r["id"] == c.id and "error" not in r for r in rows)]
    if quick and not case_ids:
        ok_cases = ok_cases[:4]
    cold = run_cold(ok_cases, cold_rounds, derivable) if cold_rounds > 0 else {}
    for row in rows:
        if row["id"] in cold:
            row.update(cold[row["id"]])
    start_up = start_up_seconds(max(3, cold_rounds * 3)) if cold_rounds > 0 else []
    return summarize(rows, source, repeats, sympy_repeats, cold_rounds, start_up)


def _med(xs):
    return C.median(xs) if xs else float("nan")


def summarize(rows: list[dict], source: str, repeats: int, sympy_repeats: int, cold_rounds: int,
              start_up: list[float]) -> dict:
    ok = [r for r in rows if "error" not in r]
    medians = [r["median"] for r in ok]
    ratios = [r["sympy"] / r["median"] for r in ok if r["sympy"] is not None]
    first = [_med(r["first"]) for r in ok if r.get("first")]
    first_cpu = [_med(r["first_cpu"]) for r in ok if r.get("first_cpu")]
    import_cpu = [x for r in ok for x in r.get("import_cpu", [])]
    imports = [x for r in ok for x in r.get("import", [])]
    cold_total = [_med([i + f for i, f in zip(r["import"], r["first"])]) for r in ok if r.get("first")]
    sy = [r for r in ok if r.get("sympy_first") and r.get("first")]
    cold_ratios = [_med(r["sympy_first"]) / _med(r["first"]) for r in sy]
    cold_total_ratios = [_med([i + f for i, f in zip(r["sympy_import"], r["sympy_first"])])
                         / _med([i + f for i, f in zip(r["import"], r["first"])]) for r in sy]
    sympy_imports = [x for r in sy for x in r["sympy_import"]]
    med = _med(medians)
    mx = max((r["max"] for r in ok), default=float("nan"))
    ratio = _med(ratios)
    cold_med = _med(first)
    res = {
        "rows": rows, "source": source, "repeats": repeats, "sympy_repeats": sympy_repeats,
        "cold_rounds": cold_rounds, "n_cases": len(rows), "n_ok": len(ok),
        "median_ms": med * 1e3, "cpu_median_ms": _med([r["cpu"] and _med(r["cpu"]) for r in ok]) * 1e3,
        "max_ms": mx * 1e3, "median_ratio": ratio, "n_sympy": len(ratios),
        "cold_first_ms": cold_med * 1e3, "cold_first_spread": C.fmt_spread(first) if first else "n/a",
        "import_ms": _med(imports) * 1e3, "import_spread": C.fmt_spread(imports, 0) if imports else "n/a",
        "cold_total_ms": _med(cold_total) * 1e3,
        "cold_first_cpu_ms": _med(first_cpu) * 1e3, "import_cpu_ms": _med(import_cpu) * 1e3,
        "start_up_ms": _med(start_up) * 1e3, "start_up_spread": C.fmt_spread(start_up, 0) if start_up else "n/a",
        "warm_spread": C.fmt_spread(medians) if medians else "n/a",
        "cold_ratio": _med(cold_ratios), "cold_total_ratio": _med(cold_total_ratios), "n_sympy_cold": len(sy),
        "sympy_import_ms": _med(sympy_imports) * 1e3,
    }
    targets = {
        f"median ≤ {TARGET_MEDIAN_MS:g} ms": med * 1e3 <= TARGET_MEDIAN_MS,
        f"max ≤ {TARGET_MAX_MS:g} ms": mx * 1e3 <= TARGET_MAX_MS,
        f"≥ {TARGET_RATIO:g}× faster than SymPy (median ratio)": ratio >= TARGET_RATIO,
    }
    cpu_med = res["cpu_median_ms"]
    targets[f"median ≤ {TARGET_MEDIAN_MS:g} ms, in thread-CPU time"] = cpu_med <= TARGET_MEDIAN_MS
    if first:
        targets[f"cold first call median ≤ {TARGET_COLD_MS:g} ms"] = cold_med * 1e3 <= TARGET_COLD_MS
        targets[f"cold first call median ≤ {TARGET_COLD_MS:g} ms, in thread-CPU time"] = \
            res["cold_first_cpu_ms"] <= TARGET_COLD_MS
    res["targets"] = targets
    res["by_source"] = {}
    for src in dict.fromkeys(r["source"] for r in ok):
        mine = [r for r in ok if r["source"] == src]
        res["by_source"][src] = {
            "n": len(mine),
            "cold_ms": _med([_med(r["first"]) for r in mine if r.get("first")]) * 1e3,
            "cold_cpu_ms": _med([_med(r["first_cpu"]) for r in mine if r.get("first_cpu")]) * 1e3,
            "warm_ms": _med([r["median"] for r in mine]) * 1e3,
            "warm_cpu_ms": _med([_med(r["cpu"]) for r in mine]) * 1e3}
    return res


HEADERS = ["case", "order", "cold first call ms", "cold CPU ms", "warm ms [IQR]", "warm max ms", "warm CPU ms", "memo ms",
           "SymPy cold first ms", "SymPy warm ms", "SymPy / matdiff warm"]


def render(res: dict) -> str:
    rows = []
    for r in res["rows"]:
        if "error" in r:
            rows.append([r["id"], "", "error: " + r["error"]] + [""] * (len(HEADERS) - 3))
            continue
        sy = "n/a" if r["sympy"] is None else C.fmt_ms(r["sympy"])
        if r["why"]:
            sy += f" ({r['why']})"
        ratio = "n/a" if r["sympy"] is None else f"{r['sympy'] / r['median']:.1f}×"
        cold = C.fmt_ms(_med(r["first"])) if r.get("first") else "n/a"
        cold_cpu = C.fmt_ms(_med(r["first_cpu"])) if r.get("first_cpu") else "n/a"
        sycold = C.fmt_ms(_med(r["sympy_first"])) if r.get("sympy_first") else "n/a"
        rows.append([r["id"], r["order"], cold, cold_cpu, C.fmt_spread(r["warm"]), C.fmt_ms(r["max"]), C.fmt_ms(_med(r["cpu"])),
                     C.fmt_ms(r["memo"]), sycold, sy, ratio])
    lines = [C.table(HEADERS, rows), "",
             f"**Cold** (fresh interpreter, {res['cold_rounds']} samples per case): `import matdiff` "
             f"median **{res['import_ms']:.0f} ms** ({res['import_spread']} over all samples); first call, "
             f"median over cases **{res['cold_first_ms']:.2f} ms** (IQR over cases {res['cold_first_spread']}); "
             f"import + first call {res['cold_total_ms']:.0f} ms. In thread-CPU time, which other load does not "
             f"inflate: import {res['import_cpu_ms']:.0f} ms, first call {res['cold_first_cpu_ms']:.2f} ms. "
             f"The interpreter's own start-up "
             f"(`python -c pass`, not counted above) takes {res['start_up_ms']:.0f} ms ({res['start_up_spread']}).",
             "",
             f"**Warm** (one process, memo caches emptied before each run): median over cases of the per-case "
             f"median **{res['median_ms']:.2f} ms** (IQR over cases {res['warm_spread']}); max over cases and runs "
             f"**{res['max_ms']:.2f} ms**; median of the per-case CPU medians {res['cpu_median_ms']:.2f} ms.",
             "",
             "By file of cases (median over its cases, ms): "
             + "; ".join(f"{src} ({b['n']}): cold first call {b['cold_ms']:.2f} (CPU {b['cold_cpu_ms']:.2f}), "
                         f"warm {b['warm_ms']:.2f} (CPU {b['warm_cpu_ms']:.2f})"
                         for src, b in res["by_source"].items()) + ".",
             "",
             f"**SymPy** derives {res['n_sympy']} of the {res['n_ok']} cases. Median SymPy / matdiff ratio, warm: "
             f"**{res['median_ratio']:.1f}×**; cold first call: **{res['cold_ratio']:.1f}×**; cold with the import "
             f"(`import sympy`, {res['sympy_import_ms']:.0f} ms, against `import matdiff`): "
             f"{res['cold_total_ratio']:.1f}× (over the {res['n_sympy_cold']} cases).", ""]
    for name, ok in res["targets"].items():
        lines.append(f"- {name}: {'holds' if ok else 'MISSED'}")
    return "\n".join(lines)


def section(res: dict, info: dict) -> str:
    head = ["## Derivation time (`bench_derivation.py`)", "",
            *C.machine_lines(info),
            f"- cases: {res['source']}, called as the example runners call them; warm: matdiff "
            f"{res['repeats']} timed runs per case with its memo caches emptied before each (column *memo*: caches "
            f"kept; *CPU*: the thread's CPU time, which other load on the machine does not inflate), SymPy "
            f"{res['sympy_repeats']} runs after `clear_cache()`, interleaved with matdiff's; SymPy's expression "
            f"building is not timed warm, matdiff's parsing is. Cold: {res['cold_rounds']} fresh interpreters per "
            f"case and library, interleaved, timed from inside (start-up excluded). Times in ms; "
            f"[q1–q3] is the interquartile range. Targets are judged on wall-clock, and for the "
            f"single-threaded derivation also on thread-CPU time, which other load on the machine does not inflate.",
            "- SymPy n/a: it raises, has no such function, leaves an unevaluated `Derivative`, "
            "answers 0 where the derivative is not 0, or the case has no SymPy form.", ""]
    return "\n".join(head) + "\n" + render(res) + "\n"


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    C.add_common_args(ap)
    ap.add_argument("--repeats", type=int, default=None, help="warm timed runs per case for matdiff")
    ap.add_argument("--sympy-repeats", type=int, default=None)
    ap.add_argument("--cold-rounds", type=int, default=None,
                    help="fresh interpreters per case and library (default 3, 1 with --quick; 0: no cold columns)")
    ap.add_argument("--case", action="append", default=None, help="run only this case id (repeatable)")
    ap.add_argument("--no-sympy", action="store_true")
    args = ap.parse_args(argv)
    C.start(args, ("numpy", "sympy", "lark"), "bench_derivation")
    res = run(args.quick, args.repeats, args.sympy_repeats, args.case, not args.no_sympy, args.cold_rounds)
    info = C.machine_info(("numpy", "sympy", "lark"))
    text = section(res, info)
    return C.publish(res, text, args.out, "derivation", not args.no_write)


if __name__ == "__main__":
    main()
