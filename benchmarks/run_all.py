"""Run every benchmark, one fresh interpreter each, into one Markdown file, and summarise the run.

    python benchmarks/run_all.py [--quick] [--out PATH] [--only NAME ...]

Each ``bench_NAME.py`` writes its own section of ``--out`` (benchmarks/README.md
by default); this script then writes the *Summary of this run* section: the
figures the project's README quotes, computed from the results of the run,
and the wall-clock time of every script. The results are kept in
``last_run.json`` beside ``--out``; ``--only NAME`` re-runs some scripts and
summarises them with the others' kept results.  Threads are pinned as
``_common`` pins them (one, or ``$MATDIFF_BENCH_THREADS``)."""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as C  # noqa: E402

ORDER = ("derivation", "scaling", "eval", "products", "tensor", "length", "web")

CHILD = """
import json, runpy, sys
mod = runpy.run_path(sys.argv[1], run_name="bench")
res = mod["main"](json.loads(sys.argv[2]))
res.pop("markdown", None)
with open(sys.argv[3], "w") as f:
    json.dump(res, f, default=str)
"""


def run_one(name: str, out: Path, quick: bool) -> tuple[dict | None, float, str]:
    script = C.HERE / f"bench_{name}.py"
    argv = ["--out", str(out)] + (["--quick"] if quick else [])
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        dump = f.name
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", CHILD, str(script), json.dumps(argv), dump], cwd=C.ROOT)
    took = time.perf_counter() - t0
    try:
        res = json.loads(Path(dump).read_text()) if p.returncode == 0 else None
    except (OSError, ValueError):
        res = None
    finally:
        Path(dump).unlink(missing_ok=True)
    return res, took, "ok" if p.returncode == 0 else f"exit {p.returncode}"


def _x(a: float, b: float) -> str:
    return f"{a / b:.2f}×" if b and not math.isnan(a) and not math.isnan(b) else "n/a"


def summary_lines(results: dict[str, dict]) -> list[str]:
    """The figures quoted in the project's README, from this run."""
    lines = []
    d = results.get("derivation")
    if d:
        lines.append(f"- derivation, shared example cases ({d['n_ok']}): warm median {d['median_ms']:.2f} ms, "
                     f"slowest {d['max_ms']:.1f} ms; cold first call median {d['cold_first_ms']:.2f} ms "
                     f"(thread CPU {d['cold_first_cpu_ms']:.2f} ms), `import matdiff` {d['import_ms']:.0f} ms "
                     f"(CPU {d['import_cpu_ms']:.0f} ms); interpreter start-up {d['start_up_ms']:.0f} ms")
        for src, b in d.get("by_source", {}).items():
            lines.append(f"- derivation, {src} ({b['n']} cases): cold first call median {b['cold_ms']:.2f} ms "
                         f"(CPU {b['cold_cpu_ms']:.2f}), warm {b['warm_ms']:.2f} ms (CPU {b['warm_cpu_ms']:.2f})")
        lines.append(f"- SymPy derives {d['n_sympy']} of the {d['n_ok']} cases; median SymPy / matdiff: warm "
                     f"{d['median_ratio']:.1f}×, cold first call {d['cold_ratio']:.1f}×, with the imports "
                     f"{d['cold_total_ratio']:.1f}×")
    s = results.get("scaling")
    if s:
        def num(v):
            return isinstance(v, (int, float)) and v == v

        parts = []
        for fam, v in s.get("summary", {}).items():
            bits = [f"time {v['slope']:.2f}" if num(v.get("slope")) else "time n/a"]
            if num(v.get("slope_chars")):
                bits.append(f"printed size {v['slope_chars']:.2f}")
            if num(v.get("slope_code")):
                bits.append(f"code {v['slope_code']:.2f}")
            parts.append(f"{fam} ({', '.join(bits)})")
        if parts:
            lines.append("- scaling, log–log slopes against k (time: CPU): " + "; ".join(parts))
    e = results.get("eval")
    if e:
        med = {(r["problem"], r["impl"]): r["median"] for r in e["rows"] if "median" in r}
        low = {(r["problem"], r["impl"]): r["min"] for r in e["rows"] if "min" in r}
        for p in e.get("problems", []):
            hand, code = (p, "NumPy by hand"), (p, "matdiff codegen")
            if code not in med:
                continue
            parts = [f"{med[code] * 1e3:.3f} ms"]
            if hand in med:
                parts.append(f"{_x(med[code], med[hand])} hand-written NumPy (min {_x(low[code], low[hand])})")
            for other, label in (((p, "JAX jit"), "JAX"), ((p, "PyTorch torch.func"), "PyTorch")):
                if other in med:
                    parts.append(f"{label} / matdiff {_x(med[other], med[code])} (min {_x(low[other], low[code])})")
            lines.append(f"- eval {p}: matdiff codegen " + ", ".join(parts))
    pr = results.get("products")
    if pr and pr.get("summary"):  # the script's own sentences (it tells its rows apart)
        lines += [f"- products: {line}" for line in pr["summary"]]
    elif pr:
        rows = [r for r in pr["rows"] if r.get("cpu_vs_hand") is not None]
        for impl, label in (("matdiff codegen", "generated NumPy"), ("matdiff", "r.hvp() / jvp() / vjp()")):
            mine = [r for r in rows if r["impl"].startswith(impl) and (impl != "matdiff" or r["impl"].endswith("()"))]
            if not mine:
                continue
            worst = max(mine, key=lambda r: r["cpu_vs_hand"])
            vs_jax = [r for r in mine if r.get("cpu_vs_jax") is not None]
            slower = [r["problem"] for r in vs_jax if r["cpu_vs_jax"] > 1.0]
            lines.append(f"- products, {label}: at most {worst['cpu_vs_hand']:.2f}× the CPU time of hand-written "
                         f"NumPy ({worst['problem']}); CPU time no more than JAX's on {len(vs_jax) - len(slower)} "
                         f"of {len(vs_jax)} problems" + (f" (more on {', '.join(slower)})" if slower else ""))
    t = results.get("tensor")
    if t:
        med = {(r["impl"], r["what"]): r["median"] for r in t["rows"]}
        code, jax = med.get(("matdiff codegen", "∂L/∂Phi")), med.get(("JAX jit(grad)", "∂L/∂Phi"))
        if code:
            lines.append(f"- tensor seed gradient: matdiff codegen {code * 1e3:.2f} ms"
                         + (f", JAX / matdiff {_x(jax, code)}" if jax else ""))
    ln = results.get("length")
    if ln:
        lines.append(f"- answer length: no longer than the textbook's for {ln['share']:.1%} of the cases, "
                     f"max ratio {ln['max']:.2f}")
    w = results.get("web")
    if w and "page_median_ms" in w:
        lines.append(f"- web round trip: median {w['page_median_ms']:.1f} ms per request, worst {w['worst_ms']:.0f} ms"
                     + (f"; in the page median {w['shown_median_ms']:.0f} ms, worst {w['shown_worst_ms']:.0f} ms"
                        if "shown_median_ms" in w else ""))
    for name, res in results.items():
        for target, ok in (res or {}).get("targets", {}).items():
            if isinstance(ok, bool):
                lines.append(f"- target ({name}) {target}: {'holds' if ok else 'MISSED'}")
    return lines


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=str(C.README))
    ap.add_argument("--only", action="append", choices=ORDER, default=None)
    args = ap.parse_args(argv)
    out = Path(args.out)
    record = out.parent / "last_run.json"  # every script's result, so that --only can re-run a few
    info = C.start(None, C.HEADER_LIBS, "run_all")
    saved = {}
    if args.only and record.exists():
        try:
            saved = json.loads(record.read_text())
        except ValueError:
            saved = {}
    results = dict(saved.get("results", {}))
    times = [row for row in saved.get("times", []) if row[0] not in {f"bench_{n}.py" for n in args.only or ORDER}]
    t0 = time.perf_counter()
    for name in args.only or ORDER:
        res, took, status = run_one(name, out, args.quick)
        results[name] = res
        times.append([f"bench_{name}.py", f"{took:.0f}", status])
        print(f"# bench_{name}.py: {status} in {took:.0f} s", file=sys.stderr)
    total = time.perf_counter() - t0
    times.sort(key=lambda row: ORDER.index(row[0][len("bench_"):-len(".py")]))
    record.write_text(json.dumps({"results": results, "times": times}, default=str, indent=1) + "\n")
    end = C.machine_info(C.HEADER_LIBS)
    text = "\n".join(["## Summary of this run (`run_all.py`)", "",
                      f"- started with load average {info['load']}; ended with {end['load']}; "
                      f"{total / 60:.1f} min in all"
                      + (f" (this time only {', '.join(args.only)}; the others are from the run before)"
                         if args.only else ""), *C.machine_lines(end), "",
                      *summary_lines({k: v for k, v in results.items() if v}), "",
                      C.table(["script", "seconds", "status"], times)])
    C.update_section(out, "summary", text)
    print(text)
    return {"results": results, "times": times}


if __name__ == "__main__":
    main()
