"""Smoke runs of the benchmarks in benchmarks/: tiny sizes, no timing assertions.

Each script's ``main`` runs in quick mode and writes its section into a
Markdown file in a temporary directory (never benchmarks/README.md)."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


def load(name: str):
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location(f"matdiff_bench_{name}", BENCH / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up while the class is built
    spec.loader.exec_module(mod)
    return mod


def table_rows(markdown: str) -> list[list[str]]:
    """The body rows of every Markdown table in the text, as lists of cells."""
    rows = []
    for line in markdown.splitlines():
        if line.startswith("| ") and not line.startswith("|-"):
            rows.append([c.strip() for c in line.strip().strip("|").split("|")])
    return rows


def test_derivation_quick(tmp_path):
    mod = load("bench_derivation")
    out = tmp_path / "README.md"
    ids = ["seed-abs-gram", "seed-quad-grad", "seed-softmax-jac", "cb101-trAXB"]
    cases, _ = mod.load_cases()
    ids = [i for i in ids if i in {c.id for c in cases}] or [cases[0].id]
    argv = ["--quick", "--repeats", "1", "--sympy-repeats", "1", "--out", str(out)]
    for i in ids:
        argv += ["--case", i]
    res = mod.main(argv)
    got = {r["id"] for r in res["rows"]}
    assert got == set(ids)
    assert all("error" not in r for r in res["rows"])
    text = out.read_text()
    assert "## Derivation time" in text
    first_cells = {r[0] for r in table_rows(text)}
    assert set(ids) <= first_cells
    assert set(res["targets"]) and all(isinstance(v, bool) for v in res["targets"].values())
    if "seed-softmax-jac" in ids:
        assert next(r for r in res["rows"] if r["id"] == "seed-softmax-jac")["sympy"] is None
    # cold: one fresh interpreter per case for matdiff, and for SymPy where it derives the case
    for r in res["rows"]:
        assert len(r["first"]) == len(r["import"]) == 1 and r["first"][0] > 0 and r["import"][0] > 0
        assert len(r["sympy_first"]) == (1 if r["sympy"] is not None else 0)
    assert any(name.startswith("cold first call") for name in res["targets"])
    assert "**Cold**" in text and "`import matdiff`" in text


def test_scaling_quick(tmp_path):
    mod = load("bench_scaling")
    out = tmp_path / "README.md"
    res = mod.main(["--quick", "--sizes", "2,4", "--out", str(out)])
    assert set(res["results"]) == set(mod.FAMILIES)
    for rows in res["results"].values():
        assert [r["k"] for r in rows] == [2, 4]
        assert all("wall" in r for r in rows)
    text = out.read_text()
    assert "## Scaling" in text
    assert set(mod.FAMILIES) <= {r[0] for r in table_rows(text)}
    if res["plot"] is not None:
        assert Path(res["plot"]).exists() and Path(res["plot"]).parent == tmp_path


def test_eval_quick(tmp_path):
    mod = load("bench_eval")
    out = tmp_path / "README.md"
    res = mod.main(["--quick", "--repeats", "1", "--no-frameworks", "--out", str(out)])
    impls = {(r["problem"], r["impl"]) for r in res["rows"]}
    for p in ("quad-hess", "logreg-grad", "logreg-hess", "seed-grad"):
        for impl in ("matdiff codegen", "matdiff lambdify", "NumPy by hand", "JAX jit", "PyTorch torch.func"):
            assert (p, impl) in impls
    for r in res["rows"]:
        if r["impl"].startswith("matdiff") or r["impl"] == "NumPy by hand":
            assert "skip" not in r, r
            assert r["err"] < 1e-8
    text = out.read_text()
    assert "## Evaluation speed" in text
    assert len([r for r in table_rows(text) if r[0] == "seed-grad"]) == 5


def test_sections_are_replaced_not_appended(tmp_path):
    common = load("_common")
    out = tmp_path / "README.md"
    common.update_section(out, "x", "first")
    common.update_section(out, "y", "other")
    common.update_section(out, "x", "second")
    text = out.read_text()
    assert "second" in text and "first" not in text and "other" in text
    assert text.count("<!-- bench:x:start -->") == 1


@pytest.mark.parametrize("name", ["bench_derivation", "bench_scaling", "bench_eval"])
def test_quick_flag_and_out_option(name):
    mod = load(name)
    assert callable(mod.main)


def test_length_quick(tmp_path):
    mod = load("bench_length")
    out = tmp_path / "README.md"
    res = mod.main(["--quick", "--out", str(out)])
    sources = {r["source"] for r in res["rows"]}
    assert {"cookbook", "jacobians", "hessians"} <= sources
    assert not res["errors"], res["errors"]
    ratios = [r["ratio"] for r in res["rows"]]
    assert ratios == sorted(ratios, reverse=True)
    assert all(r["out_tokens"] > 0 and r["ref_tokens"] > 0 for r in res["rows"])
    assert set(res["targets"]) and all(isinstance(v, bool) for v in res["targets"].values())
    text = out.read_text()
    assert "## Answer length" in text
    assert {r["id"] for r in res["rows"]} <= {r[2] for r in table_rows(text)}


@pytest.mark.parametrize("n", range(1, 7))
def test_round_orders_let_each_implementation_follow_every_other_equally_often(n):
    common = load("_common")
    rows = common.round_orders(n)
    assert all(sorted(row) == list(range(n)) for row in rows)
    follows = {}
    for row in rows:
        for a, b in zip(row, row[1:]):
            follows[a, b] = follows.get((a, b), 0) + 1
    assert len(follows) == n * (n - 1) and len(set(follows.values())) <= 1
