"""Heat-current files that were refused with advice that could not be followed (issue 67): a ``fix ave/time ... mode
vector`` file (a block of rows per step) is read where it holds the current, and a run in LAMMPS units lj is read
with its physical scales (``--lj-scales``). Each file is written here."""
from __future__ import annotations

import numpy as np
import pytest

from tests.transport.test_heat_current_faults import BOX, _log, _run, _series
from trajmodes.cli import main
from trajmodes.errors import TrajectoryFormatError
from trajmodes.io.heat_current import read_heat_current
from trajmodes.units import KB_EV, conversion
from trajmodes.workflows import heat_current_conductivity

#: argon's Lennard-Jones scales: sigma A, epsilon eV, mass amu
ARGON = {"sigma": 3.405, "epsilon": 0.01032, "mass": 39.948}


def _vector_file(path, flux, every: int = 10, rows: int = 6, cut: int | None = None, skip: int | None = None):
    """What ``fix ID all ave/time 1 1 EVERY c_flux mode vector file PATH`` writes: per step a line ``step nrows``,
    then ``nrows`` lines ``row value``; the first three rows of c_flux (compute heat/flux) are ``flux``. ``cut``:
    the last block ends after this many rows; ``skip``: the block of this index loses its row 2."""
    lines = ["# Time-averaged data for fix jflux", "# TimeStep Number-of-rows", "# Row c_flux"]
    for k, j in enumerate(flux):
        values = list(j) + [0.5 * v for v in j][: rows - 3]
        block = [f"{r + 1} {v:.10g}" for r, v in enumerate(values)]
        if skip == k:
            del block[1]
        if cut is not None and k == len(flux) - 1:
            block = block[:cut]
        lines += [f"{every * k} {rows}"] + block
    path.write_text("\n".join(lines) + "\n")
    return lines


def test_a_fix_ave_time_file_in_mode_vector_is_read(tmp_path, capsys):
    """The blocks of mode vector give c_flux[1..3] per step, the same series as mode scalar's columns, with the
    interval, time step and units of the input beside it; it used to be refused with advice naming columns
    (--current flux) that the file does not have."""
    j = _series(600, 11)
    vec = tmp_path / "vec"
    vec.mkdir()
    _vector_file(vec / "J.txt", j)
    (vec / "in.heat").write_text("units metal\ntimestep 0.002\ncompute flux all heat/flux ke pe st\n"
                                 "fix jflux all ave/time 1 1 10 c_flux mode vector file J.txt\nrun 6000\n")
    scalar = tmp_path / "scalar"
    scalar.mkdir()
    (scalar / "J.txt").write_text("# Time-averaged data for fix jflux\n# TimeStep c_flux[1] c_flux[2] c_flux[3]\n"
                                  + "\n".join(f"{10 * k} {a:.10g} {b:.10g} {c:.10g}" for k, (a, b, c) in enumerate(j))
                                  + "\n")
    (scalar / "in.heat").write_text("units metal\ntimestep 0.002\ncompute flux all heat/flux ke pe st\n"
                                    "fix jflux all ave/time 1 1 10 c_flux[1] c_flux[2] c_flux[3] file J.txt\n"
                                    "run 6000\n")
    v, s = read_heat_current(vec / "J.txt"), read_heat_current(scalar / "J.txt")
    np.testing.assert_allclose(v.current, s.current, rtol=1e-12)
    np.testing.assert_array_equal(v.steps, s.steps)
    assert v.dt == pytest.approx(0.02) == s.dt and v.columns == ("c_flux[1]", "c_flux[2]", "c_flux[3]")
    assert v.lines[0] == 4 and v.lines[1] == 11                       # each block's 'step nrows' line
    assert any("mode vector: 6 rows of c_flux per block" in n for n in v.notes), v.notes
    assert "mode vector" in v.source
    args = ["--temperature", "300", "--volume", f"{BOX:g}", "--fstar", "10"]
    assert main(["conductivity", str(vec / "J.txt"), *args, "-o", str(tmp_path / "kv")]) == 0
    kv = capsys.readouterr().out
    assert main(["conductivity", str(scalar / "J.txt"), *args, "-o", str(tmp_path / "ks")]) == 0
    ks = capsys.readouterr().out
    assert next(ln for ln in kv.splitlines() if ln.startswith("kappa =")) == \
        next(ln for ln in ks.splitlines() if ln.startswith("kappa ="))


def test_a_mode_vector_file_that_is_not_whole(tmp_path):
    """A block cut short at the end of a file still being written is dropped and said; a row missing inside the
    file, or a block whose row count changes, is refused with its line."""
    j = _series(300, 12)
    path = tmp_path / "J.txt"
    _vector_file(path, j, cut=4)
    s = read_heat_current(path, md_timestep=0.001)
    assert len(s.current) == 299
    assert any("last block of the file, step 2990" in n and "cut short" in n for n in s.notes), s.notes
    lines = _vector_file(path, j, skip=100)
    bad = lines.index("1000 6") + 3                  # its row 3 where row 2 belongs
    with pytest.raises(TrajectoryFormatError, match=rf"J.txt, line {bad}: this line, '3 [-0-9.e]+', is not row 2 of "
                                                    r"the block of step 1000"):
        read_heat_current(path, md_timestep=0.001)
    lines = _vector_file(path, j)
    k = lines.index("500 6")
    lines[k:k + 7] = ["500 5"] + lines[k + 1:k + 6]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(TrajectoryFormatError, match=rf"J.txt, line {k + 1}: the block of step 500 has 5 rows, those "
                                                    r"before it 6"):
        read_heat_current(path, md_timestep=0.001)


def test_a_run_in_lj_units_is_read_with_its_scales(tmp_path, capsys):
    """A log in units lj (the current per atom, as thermo_modify norm's lj default prints it; reduced temperature,
    volume and time step): without its scales the refusal names --lj-scales; with them kappa is that of the same
    run written in metal units."""
    j = _series(4001, 13)
    T, dt = 90.0, 0.004                                  # K, ps
    metal = tmp_path / "metal" / "log.lammps"
    metal.parent.mkdir()
    c = conversion("lj", ARGON)
    j_lj = j / (c.energy * c.velocity) / 108                                   # per atom: norm yes in lj units
    temp_lj = T * KB_EV / c.energy
    lj = tmp_path / "lj" / "log.lammps"
    lj.parent.mkdir()
    run = _run(20000, 0, 5, j_lj)
    box_lj = BOX / c.length ** 3
    run = [ln if not ln.strip()[:1].isdigit() else
           " ".join([ln.split()[0], f"{temp_lj:.10g}", f"{box_lj:.10g}"] + ln.split()[3:]) for ln in run]
    metal_run = [ln if not ln.strip()[:1].isdigit() else
                 " ".join([ln.split()[0], f"{T:.10g}", f"{BOX:.10g}"] + ln.split()[3:])
                 for ln in _run(20000, 0, 5, j)]
    _log(metal, ["timestep        0.004", "thermo          5"], metal_run)
    lines = _log(lj, [f"timestep        {dt / c.time:.12g}", "thermo          5"], run, units="lj")
    with pytest.raises(TrajectoryFormatError, match=r"log.lammps, line 2: the heat current is in LAMMPS units lj "
                                                    r"\(its units command\).*--lj-scales SIGMA,EPSILON,MASS"):
        read_heat_current(lj)
    assert lines[1].startswith("units") and main(["conductivity", str(lj), "-o", str(tmp_path / "no")]) == 2
    assert "--lj-scales SIGMA,EPSILON,MASS" in capsys.readouterr().err
    got = read_heat_current(lj, lj_scales=ARGON)
    want = read_heat_current(metal)
    np.testing.assert_allclose(got.current, want.current, rtol=1e-8)
    assert got.dt == pytest.approx(want.dt, rel=1e-10)
    assert got.volume == pytest.approx(want.volume, rel=1e-8)
    np.testing.assert_allclose(got.temperature, want.temperature, rtol=1e-8)
    assert any(n.startswith("units lj: sigma 3.405 A") for n in got.notes), got.notes
    k_lj = heat_current_conductivity(str(lj), lj_scales=ARGON, fstar=10.0).cepstral
    k_metal = heat_current_conductivity(str(metal), fstar=10.0).cepstral
    assert float(k_lj.kappa) == pytest.approx(float(k_metal.kappa), rel=1e-6)
    out = tmp_path / "k"
    assert main(["conductivity", str(lj), "--lj-scales", "3.405,0.01032,39.948", "--fstar", "10", "-o",
                 str(out)]) == 0
    assert f"kappa = {float(k_metal.kappa):.5g}" in capsys.readouterr().out


def test_a_table_s_own_columns_are_checked(tmp_path, capsys):
    """A step that is not a whole number (it was cut to one: 10.5 read as 10), a Time column (LAMMPS' thermo keyword
    time) that says another interval than the time step, a constant current and a temperature of 0 K in one row are
    refused with the file and the line; a Time column gives the interval where nothing else does."""
    j = _series(2000, 14)

    def table(name, head, row):
        path = tmp_path / name
        path.write_text(head + "\n" + "\n".join(row(k, a, b, c) for k, (a, b, c) in enumerate(j)) + "\n")
        return path
    half = table("half.dat", "Step Jx Jy Jz", lambda k, a, b, c: f"{10 * k + (0.5 if k == 3 else 0)} {a} {b} {c}")
    with pytest.raises(TrajectoryFormatError, match=r"half.dat, line 5: the step 30.5 \(Step\) is not a whole number"):
        read_heat_current(half, md_timestep=0.001)
    timed = table("timed.dat", "Step Time Jx Jy Jz", lambda k, a, b, c: f"{10 * k} {0.05 * k:.4f} {a} {b} {c}")
    s = read_heat_current(timed)
    assert s.dt == pytest.approx(0.05) and any(n.startswith("0.05 ps between rows: the Time column") for n in s.notes)
    (tmp_path / "in.heat").write_text("units metal\ntimestep 0.001\ncompute flux all heat/flux ke pe st\n"
                                      "fix j all print 10 \"$(step) $(time) ${Jx} ${Jy} ${Jz}\" file timed.dat "
                                      "title \"Step Time Jx Jy Jz\"\nrun 20000\n")
    with pytest.raises(TrajectoryFormatError, match=r"timed.dat, line 2001: the Time column: 0 \(line 2\) to 99.95 "
                                                    r"\(line 2001\) over 1999 intervals, 0.05 ps between rows, but the "
                                                    r"steps and the run's time step give 0.01 ps"):
        read_heat_current(timed)
    s = read_heat_current(timed, md_timestep=0.005)
    assert s.dt == pytest.approx(0.05) and not any("Time column" in n for n in s.notes)
    const = table("const.dat", "Step Jx Jy Jz", lambda k, a, b, c: f"{10 * k} 1 2 3")
    with pytest.raises(ValueError, match=r"const.dat, 2000 rows at lines 2-2001: the current \(Jx, Jy, Jz\) is 1, 2, "
                                         r"3 in every row"):
        heat_current_conductivity(str(const), md_timestep=0.001, temperature=300.0, volume=1000.0)
    cold = table("cold.dat", "Step Temp Jx Jy Jz", lambda k, a, b, c: f"{10 * k} {0 if k == 5 else 300} {a} {b} {c}")
    with pytest.raises(ValueError, match=r"cold.dat, line 7: the temperature column is 0 K in this row"):
        heat_current_conductivity(str(cold), md_timestep=0.001, volume=1000.0)
    assert heat_current_conductivity(str(cold), md_timestep=0.001, volume=1000.0, temperature=300.0).temperature == 300
