"""Every example notebook runs top to bottom without an error.

The notebooks assert their own numerical claims (finite-difference agreement,
convergence, Hessian = Gauss–Newton + curvature, …), so an error here is either
a broken notebook or a matdiff regression that a notebook noticed.
Skipped when the ``notebooks`` extra (nbclient, nbformat, ipykernel, matplotlib)
is not installed.
"""
from __future__ import annotations

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
