"""The summary's mean-square displacements of a crystal whose centre of mass stood elsewhere than in the reference
the user gave: the thermal <u_a^2> of each species, not the offset squared.

Found with real LAMMPS runs (tests/cli/test_noncubic_sic.py, tests/cli/test_noncubic_rutile.py): a Langevin
thermalisation (``fix langevin`` without ``zero yes``) moves the whole crystal by ~0.1 A before the NVT production,
which then keeps it there.  ``trajmodes run DUMP --reference DATA_0K`` drew, for hexagonal 2H-SiC at 300 K,
<u_y^2> = 0.0103 A^2 against <u_x^2> = 0.0027 (x and y are equivalent in a hexagonal crystal; the variances are
0.0027 both), and for tetragonal rutile Ti <u_x^2> = 0.0065 against <u_y^2> = 0.0045 (variances 0.0047, 0.0045):
the offset (the "drift" line beside it, constant at 0.10 and 0.057 A) squared and added to the thermal part.  The fit
of the same command measures from the run's own sites; the summary does not.
"""
from __future__ import annotations

import warnings

import numpy as np

import trajmodes
from trajmodes.trajectory.summary import summarize


def test_msd_is_the_thermal_part_when_the_crystal_sits_offset():
    rng = np.random.default_rng(7)
    a, n = 3.0, 4
    grid = np.stack(np.meshgrid(*(np.arange(n),) * 3, indexing="ij"), -1).reshape(-1, 3) * a
    cell = np.eye(3) * a * n
    frames, sigma = 400, 0.05
    offset = np.array([0.0, 0.1, 0.0])                    # the whole crystal moved, and stayed there
    pos = grid[None] + offset + rng.normal(0.0, sigma, (frames, len(grid), 3))
    pos -= (pos - grid[None]).mean(axis=1, keepdims=True) - offset       # no centre-of-mass motion in the run
    reference = trajmodes.Crystal(cell, grid, ["Cu"] * len(grid))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traj = trajmodes.from_arrays(pos, cell, ["Cu"] * len(grid), frame_interval=0.01, reference=reference)
        s = summarize(traj)
    np.testing.assert_allclose(s["drift"].values.mean(axis=0), offset, atol=1e-3)      # the offset is seen
    msd = s["msd"].values[0]
    np.testing.assert_allclose(msd, sigma ** 2, rtol=0.05,
                               err_msg=f"<u^2> per axis {msd} for an isotropic {sigma ** 2:.4f} A^2 and an offset "
                                       f"{offset} A: the offset squared is counted as thermal displacement")
