"""Cells and models shared by the tests of trajmodes.disorder: two melt-quenched amorphous Si cells of
tests/support/amorphous.py, cached in tests/data (64 atoms: tests/data/glass/asi64.npz; 216 atoms with the analytic
Stillinger-Weber constants that kALDo was given: tests/data/kaldo)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import sparse

from tests.support.kaldo_reference import CONSTANTS
from trajmodes.lattice.crystal import Crystal
from trajmodes.potentials.threebody import StillingerWeber

DATA = Path(__file__).resolve().parents[1] / "data"

#: Stillinger-Weber Si (Stillinger and Weber 1985), the parameters of LAMMPS' Si.sw
SW_SI = {("Si", "Si", "Si"): [2.1683, 2.0951, 1.80, 21.0, 1.20, -1 / 3, 7.049556277, 0.6022245584, 4.0, 0.0, 0.0]}


@pytest.fixture(scope="session")
def sw():
    return StillingerWeber(SW_SI)


@pytest.fixture(scope="session")
def asi64() -> Crystal:
    z = np.load(DATA / "glass" / "asi64.npz")
    return Crystal(z["cell"], z["positions"], [str(s) for s in z["species"]])


@pytest.fixture(scope="session")
def asi216():
    """(crystal, Phi sparse eV/A^2) of the kALDo comparison."""
    z = np.load(CONSTANTS)
    n = len(z["positions"])
    crystal = Crystal(z["cell"], z["positions"], ["Si"] * n, masses=z["masses"])
    phi = sparse.csr_matrix((z["values"], (z["rows"], z["cols"])), shape=(3 * n, 3 * n))
    return crystal, phi
