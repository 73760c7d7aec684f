"""The heat current read from what LAMMPS writes: its log's thermo columns, a ``fix ave/time`` file and a ``fix
print`` file of one real run (LJ argon, ``compute heat/flux`` with the centroid stress), and SporTran's example
tables; bad files get one clear line."""
import numpy as np
import pytest

from tests.support.lammps_heat import argon_heat_run
from tests.support.lammps_md import lammps_module
from tests.support.paths import DATA
from trajmodes.errors import TrajectoryFormatError
from trajmodes.io.heat_current import read_heat_current



@pytest.fixture(scope="module")
def argon(tmp_path_factory):
    if lammps_module() is None:
        pytest.skip("the lammps Python module is not installed")
    return argon_heat_run(tmp_path_factory.mktemp("argon"))


def test_the_log_the_ave_time_and_the_print_files_give_one_current(argon):
    """The three files of one run: the same 61 rows (steps 0-300 every 5; the step the two runs share once), the same
    current to the digits each prints, the time between rows from the log's timestep (0.004 ps x 5), the volume from
    the log's columns (108 atoms of fcc Ar at 5.30 A: 3^3 x 5.30^3 A^3), the temperature column."""
    log = read_heat_current(argon["log"])
    avg = read_heat_current(argon["avg"], md_timestep=0.004)
    prt = read_heat_current(argon["prt"], current="Jx,Jy,Jz", md_timestep=0.004)
    assert log.source == "LAMMPS log" and log.units == "metal" and log.columns == ("c_flux[1]", "c_flux[2]",
                                                                                  "c_flux[3]")
    for s in (log, avg, prt):
        np.testing.assert_array_equal(s.steps, np.arange(0, 301, 5))
        assert s.dt == pytest.approx(0.02)
    assert log.volume == pytest.approx(27 * 5.30 ** 3, rel=1e-12)
    assert log.temperature is not None and 30 < log.temperature.mean() < 60
    scale = np.abs(log.current).max()
    np.testing.assert_allclose(avg.current, log.current, rtol=0, atol=1e-5 * scale)
    np.testing.assert_allclose(prt.current, log.current, rtol=0, atol=1e-5 * scale)
    assert np.abs(log.current).max() > 0


def test_sportrans_tables_and_bad_files(tmp_path):
    """SporTran's NaCl table (a header of names, the heat flux and the Na centre-of-mass velocity as a second
    current) and its silica table (comment lines, then the header); files without a current, with several candidate
    currents or uneven rows are refused with the file, the line and what to do."""
    nacl = read_heat_current(DATA / "sportran" / "NaCl.dat.gz", others=("vcm[1]",))
    assert nacl.current.shape == (20000, 3) and nacl.others.shape == (1, 20000, 3)
    assert nacl.temperature.mean() == pytest.approx(1399.3477812, rel=1e-10)
    assert nacl.dt is None and nacl.volume is None and nacl.units is None
    silica = read_heat_current(DATA / "sportran" / "Silica.dat.gz")
    assert silica.current.shape == (100001, 3) and silica.columns[0] == "c_flux1[1]"
    bad = tmp_path / "none.dat"
    bad.write_text("step a b\n0 1 2\n1 2 3\n")
    with pytest.raises(TrajectoryFormatError, match="no heat-current columns"):
        read_heat_current(bad)
    two = tmp_path / "two.dat"
    two.write_text("step c_flux[1] c_flux[2] c_flux[3] c_heat[1] c_heat[2] c_heat[3]\n0 1 2 3 4 5 6\n")
    with pytest.raises(TrajectoryFormatError, match="c_flux, c_heat"):
        read_heat_current(two)
    assert read_heat_current(two, current="heat").current[0].tolist() == [4, 5, 6]
    uneven = tmp_path / "uneven.dat"
    uneven.write_text("Step Jx Jy Jz\n0 1 2 3\n10 1 2 3\n25 1 2 3\n")
    with pytest.raises(TrajectoryFormatError, match="not evenly spaced: step 10 then 25") as err:
        read_heat_current(uneven)
    assert "line 4" in str(err.value)


@pytest.mark.parametrize("centroid", [True, False], ids=["centroid stress", "stress/atom"])
def test_the_current_of_a_dump_is_lammps_own(tmp_path, centroid):
    """A dump of per-atom potential energies, stresses (nine centroid columns, or six) and velocities gives the heat
    current LAMMPS' compute heat/flux printed at the same steps, to 1e-6 of its largest value (both printed with 17
    digits; the kinetic energies from the atoms' masses and velocities)."""
    if lammps_module() is None:
        pytest.skip("the lammps Python module is not installed")
    import trajmodes
    from tests.support.lammps_heat import argon_heat_dump
    files = argon_heat_dump(tmp_path, centroid)
    traj = trajmodes.read(str(files["dump"]), species=["Ar"])
    assert "heat_current" in traj.frame_fields
    ours = traj.field("heat_current").compute()
    theirs = read_heat_current(files["log"])
    np.testing.assert_array_equal(theirs.steps, traj.steps)
    scale = np.abs(theirs.current).max()
    assert np.abs(ours - theirs.current).max() < 1e-6 * scale, np.abs(ours - theirs.current).max() / scale


def test_a_many_body_potential_needs_the_centroid_stress(tmp_path):
    """EAM copper (its forces are sums of pair forces): the nine centroid columns and the six of compute stress/atom
    both give LAMMPS' own current to 1e-6, and the same current as each other. Stillinger-Weber silicon (three-body): the six columns are refused, naming
    the pair style, the input it was read from and what to dump."""
    if lammps_module() is None:
        pytest.skip("the lammps Python module is not installed")
    import trajmodes
    from tests.support.lammps_heat import many_body_heat_dump
    from trajmodes.transport.current import heat_current_of_run
    from trajmodes.io.potentials.pair_style import potential_range_of
    currents = []
    for centroid in (True, False):
        folder = tmp_path / f"cu{int(centroid)}"
        folder.mkdir()
        files = many_body_heat_dump(folder, "cu", centroid)
        traj = trajmodes.read(str(files["dump"]), species=["Cu"], masses=[63.55])      # the input's mass
        assert len(traj.source.stress_columns) == (9 if centroid else 6)
        j, T, V = heat_current_of_run(traj)
        theirs = read_heat_current(files["log"])
        scale = np.abs(theirs.current).max()
        assert np.abs(j - theirs.current).max() < 1e-6 * scale
        assert V == pytest.approx(8 * 3.6166 ** 3, rel=1e-12) and 150 < T < 600
        currents.append(j)
    # the same run (same seed): EAM's forces are pairwise, so the two stresses give one current
    assert np.abs(currents[0] - currents[1]).max() < 1e-9 * np.abs(currents[0]).max()
    (tmp_path / "si").mkdir()
    bad = many_body_heat_dump(tmp_path / "si", "si", centroid=False)
    six = trajmodes.read(str(bad["dump"]), species=["Si"], masses=[28.0855])
    with pytest.raises(ValueError, match=r"six columns .* many-body potential .*pair_style sw, in (in|log)\.lammps.*"
                                         r"centroid/stress/atom"):
        heat_current_of_run(six, potential_range_of([six]))
