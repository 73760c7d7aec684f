"""A real LAMMPS run whose crystal drifts by several cells, fitted to the constants of the same run without drift.

Lennard-Jones argon (epsilon 0.0104 eV, sigma 3.40 A, cut at 8.5 A), 3x3x3 conventional fcc cells (108 atoms, box
15.9 A) at 40 K. The drifting run is what a user gets without care for the total momentum: velocities created without
``mom yes``, a Langevin thermalisation without ``zero yes``, then ``velocity all set 0.12 0.08 0.05 sum yes`` (a
net momentum) and NVT production dumped in wrapped coordinates: the crystal travels about 45 A, nearly three box
widths. The still run: ``mom yes``, ``zero yes``, no push. The production thermostat measures the temperature
without the centre of mass's motion (``compute temp/com``): a plain ``fix nvt`` counts the drift's kinetic energy as
heat and holds the crystal's own motion about 20% colder at this drift (its constants then differ by up to 7 error
bars: another run, not another fit). The relative motion of the two runs is then the same physics (the uniform parts
of the Langevin forces and of the velocities move only the centre of mass), and the fitted order-2 constants must
agree within 3 combined error bars (block bootstrap); before, the drifting run was refused ("the crystal moves as a
whole ... total momentum is not zero"), its displacements wrapping around the box. The fits' kinetic temperatures agree
too (the centre of mass's motion is no heat: before, the drifting run reported about 53 K), and so do the runs'
summaries (mean-square displacements; before, the drifting run's were 56 times the still run's). The same for the
crystal with two species of masses 10 and 200 amu on its sites (four atoms in the primitive cell): the drift taken out
is the centre of mass's (before, that run's temperature read about 60 K).
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import trajmodes
from trajmodes.forceconstants.fit import EffectiveForceConstants
from trajmodes.trajectory.displacements import displacement_drift
from trajmodes.trajectory.summary import summarize

from tests.support.lammps_md import lammps_module, run_lammps_in

pytestmark = [pytest.mark.slow,                      # two crystals, two LAMMPS runs each, fits with error bars (~14 s)
              pytest.mark.skipif(lammps_module() is None, reason="the lammps Python module is not installed")]

ARGON = """\
units           metal
atom_style      atomic
boundary        p p p
atom_modify     map array
lattice         fcc 5.30
region          box block 0 3 0 3 0 3
create_box      1 box
create_atoms    1 box
mass            1 39.948
pair_style      lj/cut 8.5
pair_coeff      1 1 0.0104 3.40
velocity        all create 80 4928459 {mom}
fix             heat all langevin 40 40 0.5 699483 {zero}
fix             move all nve
timestep        0.004
run             500
unfix           heat
unfix           move
{push}
fix             nvt all nvt temp 40 40 0.4
compute         internal all temp/com
fix_modify      nvt temp internal
dump            d all custom 20 {name}.lammpstrj id type x y z vx vy vz fx fy fz
dump_modify     d sort id
run             12500
"""

#: the same crystal of two species of masses 10 and 200 amu (one in four sites, the L1_2 order of Cu3Au; the same
#: Lennard-Jones between all): the drift is the centre of mass's, not the atoms' mean
TWO_MASSES = ARGON.replace("create_box      1 box\ncreate_atoms    1 box\nmass            1 39.948\n",
                           "create_box      2 box\ncreate_atoms    1 box basis 1 2\nmass            1 10.0\n"
                           "mass            2 200.0\n").replace("pair_coeff      1 1", "pair_coeff      * *")
CRYSTALS = {"argon": (ARGON, 1), "two_masses": (TWO_MASSES, 4)}           # input, atoms in the primitive cell

RUNS = {"still": dict(mom="mom yes", zero="zero yes", push=""),
        "drifting": dict(mom="mom no", zero="", push="velocity all set 0.12 0.08 0.05 sum yes")}


@pytest.fixture(scope="module", params=list(CRYSTALS))
def dumps(request, tmp_path_factory):
    text, n_prim = CRYSTALS[request.param]
    folder = tmp_path_factory.mktemp(f"{request.param}_drift")
    for name, how in RUNS.items():
        run_lammps_in(folder, text.format(name=name, **how), folder / f"{name}.log")
    return {name: folder / f"{name}.lammpstrj" for name in RUNS}, n_prim


def _travelled(traj) -> float:
    """How far the crystal went as a whole (A): the drift of its centre of mass frame by frame (one lattice vector
    apart at most between frames 0.08 ps apart), summed."""
    cell = traj.frame_structure(0).cell
    u = np.asarray(traj.displacements(reference=traj.frame_structure(0)).compute())
    f = displacement_drift(u, cell, traj.masses) @ np.linalg.inv(cell)
    step = np.diff(f, axis=0)
    path = np.cumsum(step - np.rint(step), axis=0) @ cell
    return float(np.linalg.norm(path, axis=1).max())


def test_a_run_carried_across_cells_by_a_net_momentum_gives_the_constants_of_the_run_standing_still(dumps):
    dumps, n_prim = dumps
    fits = {}
    msd = {}
    for name, dump in dumps.items():
        traj = trajmodes.read(dump, frame_interval=0.08)
        fits[name] = traj
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            msd[name] = float(summarize(traj)["msd"].values.mean())
    width = 3 * 5.30
    assert _travelled(fits["still"]) < 1e-3 and _travelled(fits["drifting"]) > 2 * width
    for name, traj in fits.items():
        with warnings.catch_warnings():
            warnings.simplefilter("error")              # no alarm: not a crystal left, not a drift
            warnings.filterwarnings("ignore", message=".*no reference crystal was given")
            # the thermostat's slow exchange of energy (the blocking analysis of the mean kinetic temperature: 1.78
            # for the drifting run of two masses, the drift taken out of the temperature), not a drift's alarm
            warnings.filterwarnings("ignore", message="the error of the run's mean kinetic temperature")
            fits[name] = EffectiveForceConstants(cutoff2=4.5).fit(traj).bootstrap()
    still, drifting = fits["still"], fits["drifting"]
    assert still.primitive_.n_atoms == drifting.primitive_.n_atoms == n_prim
    z = (drifting.params_[2] - still.params_[2]) / np.hypot(still.params_err_[2], drifting.params_err_[2])
    assert np.abs(z).max() < 3.0, f"order-2 parameters {drifting.params_[2]} against {still.params_[2]}: z = {z}"
    dT = drifting.temperature_ - still.temperature_
    assert abs(dT) < 3.0 * np.hypot(still.temperature_err_, drifting.temperature_err_), (still.temperature_,
                                                                                         drifting.temperature_)
    assert 0.8 < msd["drifting"] / msd["still"] < 1.25, msd
