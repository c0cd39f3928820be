"""Length of matdiff's printed answers against the textbook answers.

    python benchmarks/bench_length.py [--quick] [--case ID] [--out PATH | --no-write]

Cases with a textbook answer written in matdiff syntax come from four places,
read from the files themselves (never copied here):

- ``../shared/examples/cases.py``: ``CASES`` (expr, wrt, types, order, reference);
- ``tests/test_cookbook.py``: ``CASES`` (expr, wrt, answer, source, types), first order;
- ``tests/test_jacobians.py``: ``CASES`` (expr, wrt, textbook, types), first order;
- ``tests/test_hessians.py``: ``CASES``, second order.

Jacobian and Hessian cases whose textbook answer is given only as NumPy values
(a callable) are skipped. A case that appears with the same expression,
variable, types, order and textbook answer in more than one place is counted once.

For each case ``r = matdiff.diff(expr, wrt, types=, order=)`` and the ratio
``tokens(str(r)) / tokens(answer)``, where ``tokens`` is the function of
``../shared/examples/run.py`` (names, numbers, operators, parentheses).

Targets: ratio ≤ 1.0 for at least 90% of the cases, and no ratio above 1.5.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as C

import matdiff

TARGET_SHARE = 0.90
TARGET_MAX = 1.5
TESTS = C.ROOT / "tests"
QUICK_PER_SOURCE = 3


@dataclass
class Case:
    id: str
    source: str  # shared | cookbook | jacobians | hessians
    expr: str
    wrt: str
    answer: str
    types: dict | None = None
    order: int = 1

    @property
    def key(self) -> tuple:
        return (self.expr, self.wrt, tuple(sorted((self.types or {}).items())), self.order, self.answer)


# -- the token count ----------------------------------------------------------------------
def examples_dir() -> Path:
    env = os.environ.get("MATDIFF_CASES")
    return Path(env).parent if env else C.ROOT.parent / "shared" / "examples"


# the same expression as ../shared/examples/run.py, used only when run.py is not beside the checkout
_TOK = re.compile(
    r"\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?"
    r"|[A-Za-z_\u0370-\u03ff][A-Za-z0-9_\u0370-\u03ff]*"
    r"|\.\*|\./|\.\^|\*\*|\S"
)


def _fallback_tokens(text: str) -> int:
    return len(_TOK.findall(text or ""))


def _load_module(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up while the class is built
    spec.loader.exec_module(mod)
    return mod


def load_run():
    """../shared/examples/run.py as a module (it loads cases.py itself), or None."""
    path = examples_dir() / "run.py"
    if not path.exists():
        return None
    if "matdiff_shared_run" in sys.modules:
        return sys.modules["matdiff_shared_run"]
    return _load_module("matdiff_shared_run", path)


def tokens_fn():
    run = load_run()
    return (run.tokens, "`tokens()` of ../shared/examples/run.py") if run else (
        _fallback_tokens, "a copy of `tokens()` of ../shared/examples/run.py (run.py not found)")


# -- the cases ----------------------------------------------------------------------------
def _test_module(name: str):
    if str(TESTS) not in sys.path:
        sys.path.insert(0, str(TESTS))
    import importlib

    return importlib.import_module(name)


def shared_cases() -> list[Case]:
    run = load_run()
    if run is None:
        return []
    return [Case(c.id, "shared", c.expr, c.wrt, c.reference, dict(c.types) if c.types else None, c.order)
            for c in run.CASES]


def cookbook_cases() -> list[Case]:
    mod = _test_module("test_cookbook")
    out = []
    for c in mod.CASES:
        cid = f"cookbook {c.source}" + (f" {c.id}" if c.id else "")
        out.append(Case(cid, "cookbook", c.expr, c.wrt, c.answer, dict(c.types) if c.types else None, 1))
    return out


def _jh_cases(module: str, label: str, order: int) -> list[Case]:
    mod = _test_module(module)
    out = []
    for i, c in enumerate(mod.CASES, 1):
        if not isinstance(c.textbook, str):
            continue
        out.append(Case(f"{label} #{i}", label, c.expr, c.wrt, c.textbook, dict(c.types) if c.types else None,
                        order))
    return out


def load_cases() -> tuple[list[Case], dict]:
    """Every case once, and counts per source (found, skipped as callables, already counted)."""
    stats: dict[str, dict[str, int]] = {}
    groups = [("shared", shared_cases)]
    groups += [("cookbook", cookbook_cases),
               ("jacobians", lambda: _jh_cases("test_jacobians", "jacobians", 1)),
               ("hessians", lambda: _jh_cases("test_hessians", "hessians", 2))]
    seen: set = set()
    out: list[Case] = []
    for name, fn in groups:
        cases = fn()
        st = {"cases": len(cases), "already counted": 0}
        if name in ("jacobians", "hessians"):
            mod = _test_module(f"test_{name}")
            st["callable answers skipped"] = len(mod.CASES) - len(cases)
        for c in cases:
            if c.key in seen:
                st["already counted"] += 1
                continue
            seen.add(c.key)
            out.append(c)
        stats[name] = st
    return out, stats


# -- the measurement ------------------------------------------------------------------------
def measure_case(case: Case, tokens) -> dict:
    row = {"id": case.id, "source": case.source, "expr": case.expr, "wrt": case.wrt, "order": case.order,
           "types": case.types or {}, "answer": case.answer, "ref_tokens": tokens(case.answer)}
    try:
        r = matdiff.diff(case.expr, case.wrt, types=case.types or None, order=case.order)
        text = str(r)
    except Exception as e:  # noqa: BLE001 - a failing case is reported, not fatal
        row["error"] = f"{type(e).__name__}: {' '.join(str(e).split())[:160]}"
        return row
    row["output"] = text
    row["out_tokens"] = tokens(text)
    row["ratio"] = row["out_tokens"] / max(row["ref_tokens"], 1)
    return row


def run(quick: bool = False, only: list[str] | None = None) -> dict:
    tokens, tokens_source = tokens_fn()
    cases, stats = load_cases()
    if only:
        cases = [c for c in cases if c.id in set(only)]
    elif quick:
        picked, per = [], {}
        for c in cases:
            if per.get(c.source, 0) < QUICK_PER_SOURCE:
                per[c.source] = per.get(c.source, 0) + 1
                picked.append(c)
        cases = picked
    rows = [measure_case(c, tokens) for c in cases]
    rows.sort(key=lambda r: (-(r.get("ratio") if "ratio" in r else float("inf")), r["source"], r["id"]))
    ok = [r for r in rows if "ratio" in r]
    share = sum(r["ratio"] <= 1.0 for r in ok) / len(ok) if ok else 0.0
    worst = max((r["ratio"] for r in ok), default=0.0)
    errors = [r for r in rows if "error" in r]
    targets = {
        f"answer no longer than the textbook's for ≥ {TARGET_SHARE:.0%} of cases": bool(ok) and share >= TARGET_SHARE
        and not errors,
        f"never more than {TARGET_MAX:g}× longer": bool(ok) and worst <= TARGET_MAX and not errors,
    }
    return {"rows": rows, "share": share, "max": worst, "errors": errors, "targets": targets,
            "stats": stats, "quick": quick, "tokens_source": tokens_source,
            "n": len(rows), "n_ok": len(ok)}


# -- the report -------------------------------------------------------------------------------
def _code(s: str) -> str:
    s = " ".join(str(s).split()).replace("|", "\\|")
    return f"`{s}`" if "`" not in s else s


def section(res: dict, info: dict) -> str:
    rows = res["rows"]
    stats = res["stats"]
    src = "; ".join(
        f"{name}: {st['cases']}" + "".join(f", {v} {k}" for k, v in st.items() if k != "cases" and v)
        for name, st in stats.items())
    lines = ["## Answer length (`bench_length.py`)", ""]
    lines += C.machine_lines(info)
    lines += [
        f"- cases: {res['n']} with a textbook answer in matdiff syntax"
        + (" (quick run: the first few of each source)" if res["quick"] else "")
        + f"; per source: {src} (a case with the same expression, variable, types, order and answer "
          "as one of an earlier source is counted once)",
        (f"- length: {res['tokens_source']} (names, numbers, operators, parentheses); "
         "ratio = tokens(str(r)) / tokens(textbook answer). A `where` clause counts, as printed."),
        "- sorted by ratio, longest answers first.",
        "",
    ]
    table_rows = []
    for r in rows:
        order = " (order 2)" if r["order"] == 2 else ""
        types = ", ".join(f"{k}: {v}" for k, v in r["types"].items())
        if "error" in r:
            table_rows.append(["error", f"-/{r['ref_tokens']}", r["id"], _code(r["expr"]) + order,
                               r["wrt"] + (f" [{types}]" if types else ""), r["error"], _code(r["answer"])])
            continue
        table_rows.append([f"{r['ratio']:.2f}", f"{r['out_tokens']}/{r['ref_tokens']}", r["id"],
                           _code(r["expr"]) + order, r["wrt"] + (f" [{types}]" if types else ""),
                           _code(r["output"]), _code(r["answer"])])
    lines.append(C.table(["ratio", "tokens", "case", "expression", "wrt", "matdiff", "textbook"], table_rows))
    longer = sum(r["ratio"] > 1.0 for r in rows if "ratio" in r)
    lines += ["",
              f"Answer no longer than the textbook's: **{res['share']:.1%}** of {res['n_ok']} cases "
              f"({longer} longer); max ratio **{res['max']:.2f}**"
              + (f"; {len(res['errors'])} case(s) raised" if res["errors"] else "") + ".",
              ""]
    for name, ok in res["targets"].items():
        lines.append(f"- {name}: {'holds' if ok else 'MISSED'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    C.add_common_args(ap)
    ap.add_argument("--case", action="append", default=None, help="run only this case id (repeatable)")
    args = ap.parse_args(argv)
    C.start(args, ("numpy", "sympy"), "bench_length")
    res = run(args.quick, args.case)
    info = C.machine_info(("numpy",))
    text = section(res, info)
    return C.publish(res, text, args.out, "length", not args.no_write)


if __name__ == "__main__":
    main()
