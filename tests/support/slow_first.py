"""Under ``--dist loadfile`` the suite's slowest files start first.

pytest-xdist's loadfile hands each worker whole files, those with the most tests first: a file of a few long tests (a
LAMMPS run, a build, an i-PI run) then starts among the last ones, and one worker runs it while the other, done, idles.
Here the process that starts the workers keeps the order in which the workers collected the files (xdist's
``--no-loadscope-reorder``), and each worker puts the files of :data:`SLOW_FILES` first, in that order, then every
other file, the most tests first (xdist's own order, its ties in the order of collection). Asked for on the command
line, ``--no-loadscope-reorder`` keeps the collection's order as it is; without ``--dist loadfile`` nothing changes.

Hooks of tests/conftest.py (assigned there).
"""
from __future__ import annotations

from collections import Counter

import pytest

#: set where this module took over the order of the files from xdist (the process that starts the workers)
_TAKEN = pytest.StashKey[bool]()

#: test files that take the longest in one worker (seconds of a worker in a whole session on 2 cores, 2026-11-29;
#: "about": less what the DynaPhoPy reference's one phonopy object, the sanitizers' -O1 build and 7.5 ps of sampling per
#: point of the thermodynamic integration save, measured or counted alone),
#: longest first; the other files take 30 s or less each. Two files that wait for the same shared run
#: (tests/support/long_md.py, tests/support/session_store.py) are not next to each other, so that the two workers do
#: not start them together and one wait for the other's run.
SLOW_FILES = (
    "tests/test_docs_site.py",                              # the site's build (its tutorials), Chromium: 230 s
    "tests/modes/test_structure_factor.py",                 # S(q, omega) of 2000 frames on a process cluster: 100 s
    "tests/modes/test_modes_long_md.py",                    # the 400 ps Cu LAMMPS run, DynaPhoPy: about 90 s
    "tests/phonons/test_free_energy_ti.py",                 # thermodynamic integration in LAMMPS: about 80 s
    "tests/forceconstants/test_phono3py_datasets.py",       # Si PBEsol fc2 and kappa against phono3py: 77 s
    "tests/test_readme.py",                                 # the README's commands: 70 s
    "tests/quantum/test_quantum_anharmonic.py",             # the argon PIMD with i-PI: 66 s
    "tests/disorder/test_qhgk_md.py",                       # a Si LAMMPS run: 55 s
    "tests/series/test_series_md.py",                       # LAMMPS runs at three temperatures: 45 s
    "tests/modes/test_modes_long_si.py",                    # the 100 ps Si LAMMPS run, DynaPhoPy: about 42 s
    "tests/cli/test_noncubic_rutile.py",                    # a rutile LAMMPS run: 40 s
    "tests/test_sanitizers.py",                             # the kernels built under the sanitizers: about 35 s
)

#: the key of a worker's ``workerinput`` that asks it to put the files of :data:`SLOW_FILES` first
ASKED = "trajmodes_slow_files_first"


def pytest_configure(config):
    """In the process that starts the workers, under ``--dist loadfile`` and xdist's order (the most tests first):
    take the order of the workers' collection instead (made by :func:`pytest_collection_modifyitems`)."""
    if hasattr(config, "workerinput") or getattr(config.option, "dist", "no") != "loadfile":
        return
    if getattr(config.option, "loadscopereorder", False):
        config.option.loadscopereorder = False
        config.stash[_TAKEN] = True


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """pytest-xdist's hook, for each worker it starts: ask it for :func:`file_order` where the order was taken over."""
    if node.config.stash.get(_TAKEN, False):
        node.workerinput[ASKED] = True


def file_order(paths: list[str], slow: tuple[str, ...] | None = None) -> list[str]:
    """The files of ``paths`` (one entry per test, relative to the repository, "/" between folders) in the order the
    workers take them: those of ``slow`` (default :data:`SLOW_FILES`) first in its order, then the others, the most
    tests first (ties in the order of ``paths``)."""
    counts = Counter(paths)
    first = [p for p in (SLOW_FILES if slow is None else slow) if p in counts]
    rank = {p: k for k, p in enumerate(first)}
    rest = sorted((p for p in counts if p not in rank), key=lambda p: -counts[p])     # stable: ties as collected
    return first + rest


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session, config, items):
    """In a worker asked for it (:data:`ASKED`): the tests file by file in :func:`file_order`, each file's tests in
    their order."""
    if not getattr(config, "workerinput", {}).get(ASKED, False):
        return
    paths = [item.nodeid.split("::", 1)[0] for item in items]
    position = {p: k for k, p in enumerate(file_order(paths))}
    items[:] = [item for _, item in sorted(zip(paths, items), key=lambda pair: position[pair[0]])]
