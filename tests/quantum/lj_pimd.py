"""Path-integral runs of a Lennard-Jones crystal under i-PI with trajmodes' own potential as the force field.

fcc Ne (sigma = 2.74 A, epsilon = 3.1 meV, the cutoff 7.0 A between the fifth and sixth neighbour shells; 2 x 2 x 2
conventional cells, 32 atoms, whose commensurate q-points hold X and L) at the lattice parameter of the potential's
static minimum, 4.2459 A; and fcc Ar, the same crystal in reduced units (sigma = 3.40 A, epsilon = 10.4 meV, the
cutoff 8.7 A = 2.56 sigma, again between the fifth and sixth shells; the static minimum 5.2687 A = 1.5496 sigma as
for Ne, found by minimizing the engine's energy over the lattice parameter). Ar differs from Ne only by the de Boer
parameter h / (sigma sqrt(m epsilon)): 0.19 against 0.59, a third of Ne's quantum delocalization in units of sigma.
i-PI evaluates the forces through ``<ffdirect>`` with the custom driver
``examples/notebooks/lj_ipi_driver.py`` (the tutorial's), which evaluates :class:`trajmodes.LennardJones`: the same
potential the self-consistent sampling evaluates through :class:`~trajmodes.potentials.engines.PotentialEngine`.

:func:`cached_lj_run` makes one run per set of arguments for a pytest session.
"""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

#: the driver file i-PI imports (and the run generator next to it)
DRIVER = Path(__file__).resolve().parents[2] / "examples" / "notebooks" / "lj_ipi_driver.py"

#: the potential: eV, A, A
EPSILON, SIGMA, CUTOFF = 0.0031, 2.74, 7.0
#: the lattice parameter of the static minimum with that cutoff (A) and the mass of Ne (amu)
A0, MASS = 4.2459, 20.1797
#: the crystals: epsilon (eV), sigma (A), cutoff (A), static lattice parameter (A), mass (amu)
SYSTEMS = {"Ne": dict(epsilon=EPSILON, sigma=SIGMA, cutoff=CUTOFF, a0=A0, mass=MASS),
           "Ar": dict(epsilon=0.0104, sigma=3.40, cutoff=8.7, a0=5.2687, mass=39.948)}

_RUNS: dict[str, Path] = {}


def driver():
    """The driver module (``lj_ipi_driver``: ``TrajmodesLJ``, ``ipi_lj_run``), imported from its file."""
    name = "lj_ipi_driver"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, DRIVER)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def crystal(system: str = "Ne"):
    """(supercell, primitive, LennardJones): 32 atoms of fcc ``system`` (a key of :data:`SYSTEMS`) at its static
    lattice parameter, and the potential."""
    from trajmodes.lattice.cubic import cubic_lattice
    from trajmodes.potentials.pair import LennardJones
    p = SYSTEMS[system]
    sc, prim = cubic_lattice("fcc", p["a0"], 2, [system], masses=[p["mass"]])
    return sc, prim, LennardJones(p["epsilon"], p["sigma"], cutoff=p["cutoff"])


def neon():
    """(supercell, primitive, LennardJones): 32 atoms of fcc Ne at :data:`A0`, and the potential."""
    return crystal("Ne")


def cached_lj_run(tmp_path_factory, system: str = "Ne", **kwargs) -> Path:
    """``ipi_lj_run`` of the crystal ``system`` (a key of :data:`SYSTEMS`) once per pytest session for the same
    arguments (``n_beads``, ``temperature``, ``steps``, ``seed``, ...), shared by the test workers
    (tests/support/session_store.py); returns the run's folder. ``timeout`` is not part of the run's identity."""
    from tests.support.session_store import once_per_session
    inputs = dict({k: v for k, v in kwargs.items() if k != "timeout"}, system=system, potential=SYSTEMS[system])
    key = json.dumps(inputs, sort_keys=True)
    if key not in _RUNS:
        sc, _, _ = crystal(system)
        p = SYSTEMS[system]

        def make(folder):
            driver().ipi_lj_run(folder, positions=sc.positions, cell=sc.cell, species=sc.species, masses=sc.masses,
                                epsilon=p["epsilon"], sigma=p["sigma"], cutoff=p["cutoff"], **kwargs)
        _RUNS[key] = once_per_session(tmp_path_factory, "lj_pimd", inputs, make)
    return _RUNS[key]
