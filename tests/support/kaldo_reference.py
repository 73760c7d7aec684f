"""kALDo's Allen-Feldman diffusivities of the amorphous Si cell of tests/data/kaldo, the reference of
tests/disorder/test_kaldo.py.

Two steps, two interpreters (kALDo is never a dependency of trajmodes: it lives in a venv of its own)::

    # 1. the cell and its constants, with trajmodes (writes tests/data/kaldo/asi216_constants.npz)
    python -m tests.support.kaldo_reference constants
    # 2. kALDo on those constants (writes tests/data/kaldo/asi216_kaldo.npz)
    python3.11 -m venv /work/kaldo-venv && /work/kaldo-venv/bin/pip install kaldo==2.3.0
    /work/kaldo-venv/bin/python tests/support/kaldo_reference.py kaldo

Step 1 melts and quenches 216 atoms of Stillinger-Weber Si (tests/support/amorphous.py, seed 1) and stores the cell,
the positions, the masses and the analytic force constants Phi (eV/A^2, sparse: rows, columns, values of the 3N x 3N
matrix) of trajmodes.potentials (``StillingerWeber.sparse_force_constants``). Step 2 gives kALDo exactly those
constants (``SecondOrder`` of a (1, 1, 1) supercell: kALDo's amorphous route, the Gamma point only) and stores, for
each broadening in ``CASES``, ``Conductivity(method='qhgk').diffusivity`` (mm^2/s) and the frequencies (THz).
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parents[1] / "data" / "kaldo"
CONSTANTS = HERE / "asi216_constants.npz"
REFERENCE = HERE / "asi216_kaldo.npz"
#: (name, diffusivity_bandwidth rad/ps, diffusivity_shape, diffusivity_threshold)
CASES = [("lorentz", 0.5, "lorentz", None), ("gauss", 0.5, "gauss", None), ("lorentz_cut", 0.5, "lorentz", 2.0)]
TEMPERATURE = 300.0


def constants() -> None:
    from tests.support.amorphous import melt_quench
    from trajmodes.lattice.crystal import Crystal
    from trajmodes.potentials.threebody import StillingerWeber
    from tests.support.lammps_md import require_potential
    r = melt_quench(cells=3, seed=1)
    crystal = Crystal(r["cell"], r["positions"], list(r["species"]))
    phi = StillingerWeber.from_lammps(require_potential("Si.sw")).sparse_force_constants(crystal).tocoo()
    HERE.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(CONSTANTS, cell=crystal.cell, positions=crystal.positions, masses=crystal.masses,
                        rows=phi.row.astype(np.int32), cols=phi.col.astype(np.int32), values=phi.data)
    print(f"wrote {CONSTANTS} ({phi.nnz} non-zero constants)")


def kaldo() -> None:
    import kaldo
    from ase import Atoms
    from kaldo.conductivity import Conductivity
    from kaldo.forceconstants import ForceConstants
    from kaldo.observables.secondorder import SecondOrder
    from kaldo.phonons import Phonons
    z = np.load(CONSTANTS)
    n = len(z["positions"])
    phi = np.zeros((3 * n, 3 * n))
    np.add.at(phi, (z["rows"], z["cols"]), z["values"])
    atoms = Atoms(["Si"] * n, positions=z["positions"], cell=z["cell"], pbc=True)
    atoms.set_masses(z["masses"])
    out = {"kaldo_version": np.array(getattr(kaldo, "__version__", "2.3.0"))}
    with tempfile.TemporaryDirectory() as tmp:
        second = SecondOrder.from_supercell(atoms, grid_type="C", supercell=(1, 1, 1),
                                            value=phi.reshape(1, n, 3, 1, n, 3), folder=tmp)
        fc = ForceConstants(atoms=atoms, supercell=(1, 1, 1), folder=tmp, second_order=second)
        for name, b, shape, threshold in CASES:
            ph = Phonons(forceconstants=fc, is_classic=False, temperature=TEMPERATURE, folder=tmp,
                         storage="memory")
            cond = Conductivity(phonons=ph, method="qhgk", storage="memory", diffusivity_bandwidth=b,
                                diffusivity_shape=shape, diffusivity_threshold=threshold)
            out[f"conductivity_{name}"] = np.asarray(cond.conductivity, dtype=float).sum(axis=0)   # first: it
            out[f"diffusivity_{name}"] = np.asarray(cond.diffusivity, dtype=float).reshape(-1)    # sets this
            out["frequency"] = np.asarray(ph.frequency, dtype=float).reshape(-1)
            out["physical"] = np.asarray(ph.physical_mode).reshape(-1)
            out["participation_ratio"] = np.asarray(ph.participation_ratio, dtype=float).reshape(-1)
    np.savez_compressed(REFERENCE, **out)
    print(f"wrote {REFERENCE}")


if __name__ == "__main__":
    {"constants": constants, "kaldo": kaldo}[sys.argv[1]]()
