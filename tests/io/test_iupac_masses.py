"""The element of a LAMMPS type from its ``mass`` command, at today's standard atomic weights (IUPAC/CIAAW, the values
LAMMPS users copy): ``mass 1 47.867`` is titanium.

Found with rutile TiO2 (tests/cli/test_noncubic_rutile.py): the fit printed ``primitive 1 x 2, O x 4`` and ``masses
of ...: 1 47.8670 amu, O 15.9994 amu``.  The element table (MDAnalysis' ``guesser.tables.masses``) holds older weights
(Ti 47.88, Ge 72.61, Se 78.96, Mo 95.94, Os 190.2) and ``trajmodes.lattice.elements.element_from_mass`` accepts
0.01 amu, so these elements stay nameless ("1") while O, Si, C, Ga, N, Cu are named.
"""
from __future__ import annotations

import shutil

import numpy as np
import pytest

import trajmodes
from tests.support.paths import DATA

DUMP = DATA / "cu32_unsorted.lammpstrj"            # types only (no element column), with forces


@pytest.mark.parametrize("element, mass", [("Ti", 47.867), ("Ge", 72.630), ("Se", 78.971), ("Mo", 95.95),
                                           ("Os", 190.23), ("Cu", 63.546), ("O", 15.999)])
def test_standard_atomic_weight_names_the_element(tmp_path, element, mass):
    shutil.copy(DUMP, tmp_path / "run.lammpstrj")
    (tmp_path / "in.run").write_text(f"units metal\nmass 1 {mass}\ntimestep 0.001\n"
                                     "dump d all custom 10 run.lammpstrj id type xu yu zu vx vy vz fx fy fz\n"
                                     "run 1000\n")
    traj = trajmodes.read(tmp_path / "run.lammpstrj")
    assert np.allclose(traj.masses, mass)
    assert set(map(str, traj.species)) == {element}, \
        f"mass {mass} (IUPAC standard atomic weight of {element}) named {set(map(str, traj.species))}"
