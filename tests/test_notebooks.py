"""Every example notebook runs top to bottom without an error, and its
committed outputs are the ones it prints now (not stale).

The notebooks assert their own numerical claims (finite-difference agreement,
convergence, Hessian = Gauss–Newton + curvature, …), so an error here is either
a broken notebook or a matdiff regression that a notebook noticed.
Skipped when the ``notebooks`` extra (nbclient, nbformat, ipykernel, matplotlib)
is not installed.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")

NOTEBOOKS_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))


def _kernel_available() -> bool:
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec("python3")
    except NoSuchKernel:
        return False
    return True


def test_notebooks_exist():
    names = {p.name for p in NOTEBOOKS}
    assert {"01_tour.ipynb", "02_differentials.ipynb", "03_machine_learning.ipynb",
            "04_symmetric_and_gaussian.ipynb", "05_backprop.ipynb"} <= names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path):
    if not _kernel_available():
        pytest.skip("no 'python3' Jupyter kernel (python -m ipykernel install --user)")
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=False,
                                     resources={"metadata": {"path": str(NOTEBOOKS_DIR)}})
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as exc:  # the message names the cell and the traceback
        pytest.fail(f"{path.name} failed:\n{exc}", pytrace=False)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", ())
              if o.get("output_type") == "error"]
    assert not errors
    committed = nbformat.read(path, as_version=4)
    stale = [(i, want, got) for i, (want, got) in enumerate(zip(text_outputs(committed), text_outputs(nb)))
             if want != got]
    assert not stale, (f"{path.name}: the committed outputs are stale (python notebooks/build.py --execute); "
                       f"code cell {stale[0][0]}: {first_difference(stale[0][1], stale[0][2])}")


def first_difference(committed: str, now: str, context: int = 60) -> str:
    """Where two texts first differ, with a little context from each."""
    i = next((k for k, (a, b) in enumerate(zip(committed, now)) if a != b), min(len(committed), len(now)))
    lo = max(0, i - context)
    return f"committed …{committed[lo:i + context]!r}… now …{now[lo:i + context]!r}…"


VOLATILE = [
    (re.compile(r"0x[0-9a-fA-F]+"), "0x…"),  # memory addresses
    (re.compile(r"\d+(\.\d+)?(e-?\d+)?\s*(ms|µs|us|ns|s)\b"), "TIME"),  # timings
    (re.compile(r"-?\d(\.\d+)?e-(0?[5-9]|[1-9]\d)\b"), "TINY"),  # round-off: errors, residuals (BLAS's last digits)
    (re.compile(r"-(0\.0*)(?![0-9])"), r" \1"),  # a zero's sign, from round-off
    # which optional library (JAX, PyTorch or neither) the autodiff comparison used: the machine's, not matdiff's
    (re.compile(r"(JAX's grad agrees|PyTorch's autograd agrees) on every parameter|neither JAX nor PyTorch is "
                r"installed: the autodiff comparison is skipped"), "AUTODIFF COMPARISON"),
    (re.compile(r"max \|matdiff - jax\.grad\|: \S+|JAX is not installed \(pip install jax\): autodiff "
                r"comparison skipped"), "AUTODIFF COMPARISON"),
]


def text_outputs(nb) -> list[str]:
    """The text a reader sees under each code cell (printed text and results), volatile parts masked."""
    out = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        parts = [""]
        for o in cell.get("outputs", ()):
            if o.get("output_type") == "stream" and o.get("name") == "stdout":
                parts[-1] += o.get("text", "")  # printed text, however the kernel split it
            elif o.get("output_type") in ("execute_result", "display_data"):
                parts += [f"[{mime}] {value}" for mime, value in sorted(o.get("data", {}).items())
                          if mime.startswith("text/")] + [""]
        text = "\n".join(p.rstrip() for p in parts if p.strip())
        for pattern, mask in VOLATILE:
            text = pattern.sub(mask, text)
        out.append(text)
    return out
