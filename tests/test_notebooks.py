"""The tutorials of examples/notebooks run, as stored, on the shipped examples, and draw their figures.

Each notebook is executed top to bottom in a ``python3`` kernel (nbclient + ipykernel), from a private copy of the
repository's ``examples/`` (the readers write frame indexes beside the files they read, which must not land in the
repository), with a time limit per cell. A cell that raises fails the test and names the cell; every notebook must
leave figures in its output. The notebooks are stored without outputs (``test_notebooks_are_stored_clean``), so
that what is in git is what runs here and diffs stay readable; open one in Jupyter and run it to see its figures.

A notebook that takes more than about 10 s on two cores is marked slow (:data:`SLOW`; today all four).
"""
from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from tests.support.paths import EXAMPLES

NOTEBOOKS = EXAMPLES / "notebooks"
#: seconds any one cell may take (two shared cores, a cold cache)
CELL_TIMEOUT = 240
#: notebooks that take more than about 10 s on two cores (measured 12-16 s each, 2026-11-25; the heat transport one
#: 30-35 s, as it runs LAMMPS)
SLOW: set[str] = {"01_md_to_phonons.ipynb", "02_linewidths.ipynb", "03_temperature_series.ipynb",
                  "04_heat_transport.ipynb"}


def _notebooks() -> list[Path]:
    return sorted(NOTEBOOKS.glob("*.ipynb"))


def _params():
    return [pytest.param(p, id=p.stem, marks=[pytest.mark.slow] if p.name in SLOW else []) for p in _notebooks()]


@pytest.fixture(scope="module")
def examples_copy(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("notebooks") / "examples"
    shutil.copytree(EXAMPLES, d, ignore=shutil.ignore_patterns(".*", "__pycache__", "*.ipynb"))
    return d


def test_there_are_the_four_tutorials():
    names = [p.stem for p in _notebooks()]
    assert len(names) >= 4, names
    for key in ("md_to_phonons", "linewidths", "temperature_series", "heat_transport"):
        assert any(key in n for n in names), f"no tutorial on {key} in examples/notebooks: {names}"


@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: p.stem)
def test_notebooks_are_stored_clean(path):
    import nbformat
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3", f"{path.name}: kernel is not python3"
    for k, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, (
                f"{path.name} cell {k} is stored with its outputs: clear them (Jupyter: Edit > Clear All Outputs; "
                f"or jupyter nbconvert --clear-output --inplace {path.name})")


@pytest.mark.parametrize("path", _params())
def test_notebook_runs(path, examples_copy, monkeypatch, tmp_path):
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    here = examples_copy / "notebooks"
    monkeypatch.delenv("MPLBACKEND", raising=False)          # the kernel's inline backend draws into the notebook
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                            resources={"metadata": {"path": str(here)}})
    t0 = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as exc:
        nbformat.write(nb, tmp_path / path.name)
        raise AssertionError(f"{path.name} fails (executed copy: {tmp_path / path.name}):\n{exc}") from None
    seconds = time.perf_counter() - t0
    print(f"{path.name}: {seconds:.1f} s")
    nbformat.write(nb, tmp_path / path.name)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    figures = sum("image/png" in o.get("data", {}) for o in outputs)
    assert figures >= 2, f"{path.name} drew {figures} figure(s) into the notebook"
    if path.name not in SLOW:
        assert seconds < 120, f"{path.name} took {seconds:.0f} s: mark it slow (SLOW) or make it faster"
