"""The tutorials of examples/notebooks run, as stored, on the shipped examples, and draw their figures.

Each notebook is executed top to bottom in a ``python3`` kernel (nbclient + ipykernel), from a private copy of the
repository's ``examples/`` (the readers write frame indexes beside the files they read, which must not land in the
repository), with a time limit per cell, as the documentation site's build runs it (``docs/conf.py``,
``executed_notebook``): the executed copy is kept in the site's cache of tutorials, keyed on the notebook, the package
and the example data, and locked, so that the site built by ``tests/test_docs_site.py`` in another worker reads it, and
each notebook runs once; a process that waits for a notebook another one is running runs the notebooks nobody has run
yet meanwhile, so that the two run side by side. A cell that raises fails the test and names the cell; every notebook
must leave figures in its output. The notebooks are stored without outputs (``test_notebooks_are_stored_clean``), so
that what is in git is what runs here and diffs stay readable; open one in Jupyter and run it to see its figures.

A notebook that takes more than about 10 s on two cores is marked slow (:data:`SLOW`; today all seven).
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from tests.support.paths import EXAMPLES, ROOT

NOTEBOOKS = EXAMPLES / "notebooks"
#: notebooks that take more than about 10 s on two cores (measured 12-16 s each, 2026-11-25; the heat transport one
#: 30-35 s and the alloy one 22 s, as they run LAMMPS; the quantum-nuclei one 50 s, as it runs i-PI twice; the watch
#: one 60 s at a load average of 16, 2026-11-29, as its "MD program" writes for seconds and it starts the command)
SLOW: set[str] = {"01_md_to_phonons.ipynb", "02_linewidths.ipynb", "03_temperature_series.ipynb",
                  "04_heat_transport.ipynb", "05_alloy_lineshapes.ipynb", "06_quantum_nuclei.ipynb",
                  "07_watch_a_run.ipynb"}


def _notebooks() -> list[Path]:
    return sorted(NOTEBOOKS.glob("*.ipynb"))


def _params():
    return [pytest.param(p, id=p.stem, marks=[pytest.mark.slow] if p.name in SLOW else []) for p in _notebooks()]


def _docs_conf():
    """docs/conf.py as a module: the site's own way to run a tutorial and keep it (``executed_notebook``)."""
    spec = importlib.util.spec_from_file_location("trajmodes_docs_conf", ROOT / "docs" / "conf.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_there_are_the_seven_tutorials():
    names = [p.stem for p in _notebooks()]
    assert len(names) >= 7, names
    for key in ("md_to_phonons", "linewidths", "temperature_series", "heat_transport", "alloy_lineshapes",
                "quantum_nuclei", "watch_a_run"):
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
def test_notebook_runs(path):
    conf = _docs_conf()
    cache = Path(os.environ.get("TRAJMODES_DOCS_CACHE") or ROOT / "docs" / "_build" / "tutorials-cache")
    try:
        nb = conf.executed_notebook(path, cache, meanwhile=_notebooks())
    except Exception as exc:                      # the site's ExtensionError, naming the cell
        raise AssertionError(f"{path.name} fails:\n{exc}") from None
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    figures = sum("image/png" in o.get("data", {}) for o in outputs)
    assert figures >= 2, f"{path.name} drew {figures} figure(s) into the notebook"


def test_a_process_that_waits_for_a_notebook_runs_the_others_meanwhile(tmp_path, monkeypatch):
    """While another process runs the notebook it asks for (its lock held), ``executed_notebook`` runs the notebooks
    of ``meanwhile`` that are neither cached nor running elsewhere into the cache, then takes the one it asked for
    from the cache once the other process is done: each notebook runs once, and the site's build and this file's tests
    run different notebooks side by side instead of one waiting for the other."""
    import fcntl
    import threading

    import nbformat
    conf = _docs_conf()
    ran, done = [], threading.Event()

    def fake_execute(path):
        ran.append(path.name)
        if path.name == "c.ipynb":
            done.set()
        return nbformat.v4.new_notebook()
    monkeypatch.setattr(conf, "_execute", fake_execute)
    books = []
    for name in ("a", "b", "c", "d"):
        (tmp_path / f"{name}.ipynb").write_text(name)
        books.append(tmp_path / f"{name}.ipynb")
    cache = tmp_path / "cache"
    cache.mkdir()
    conf._from_cache(books[3], cache, "inputs")                      # d: already in the cache
    ran.clear()
    with open(cache / "a.lock", "w") as other:                      # another process runs a
        fcntl.flock(other, fcntl.LOCK_EX)
        result = {}
        waiter = threading.Thread(target=lambda: result.update(nb=conf.executed_notebook(
            books[0], cache, "inputs", meanwhile=books)))
        waiter.start()
        assert done.wait(60), f"the waiting process ran {ran}, not the free notebooks b and c"
        assert ran == ["b.ipynb", "c.ipynb"] and waiter.is_alive()
        conf._from_cache(books[0], cache, "inputs")                  # the other process's run of a, into the cache
    waiter.join(60)
    assert not waiter.is_alive() and result["nb"].cells == []
    assert ran == ["b.ipynb", "c.ipynb", "a.ipynb"], f"a notebook ran twice or not at all: {ran}"
    assert sorted(p.name.split("-")[0] for p in cache.glob("*.ipynb")) == ["a", "b", "c", "d"]
