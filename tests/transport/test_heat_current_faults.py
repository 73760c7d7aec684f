"""Heat-current files that used to give a wrong conductivity without a word (issue 67): a log whose last ``timestep``
is not the production run's, a current printed per atom (``thermo_modify norm yes``), runs that do not continue each
other, a row cut short, missing, repeated or out of order, a current column named twice, an f* or integral reach out
of range, a per-atom stress of neither six nor nine columns, and refusals that named neither the file nor the line.
Each file is written here; each case gives the right number or a refusal that names the file, the line and what to
do, and says where every value it decided came from."""
from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from trajmodes.cli import main
from trajmodes.errors import TrajectoryFormatError
from trajmodes.io.heat_current import read_heat_current
from trajmodes.transport.cepstral import cepstral_conductivity, green_kubo_integral
from trajmodes.workflows import heat_current_conductivity

COLUMNS = "Step Temp Volume c_flux[1] c_flux[2] c_flux[3]"
BOX = 15.9 ** 3


def _series(n: int, seed: int = 0) -> np.ndarray:
    """A correlated current (n, 3): an autoregressive series, its spectrum smooth, its zero-frequency value finite."""
    rng = np.random.default_rng(seed)
    e = rng.normal(size=(n, 3))
    x = np.zeros((n, 3))
    for t in range(1, n):
        x[t] = 0.8 * x[t - 1] + e[t]
    return x


def _rows(steps, j, temp: float = 30.0, columns: str = COLUMNS) -> list:
    """Thermo rows (as LAMMPS prints them) of ``steps`` with the current ``j``."""
    if "Volume" in columns.split():
        return [f"{s:10d}   {temp:.6g}   {BOX:.7g}   {a:.10g}   {b:.10g}   {c:.10g}" for s, (a, b, c) in zip(steps, j)]
    return [f"{s:10d}   {temp:.6g}   {a:.10g}   {b:.10g}   {c:.10g}" for s, (a, b, c) in zip(steps, j)]


def _run(n: int, first: int, every: int, j, columns: str = COLUMNS, atoms: int = 108, end: bool = True) -> list:
    """The lines LAMMPS writes for ``run n`` from step ``first``, a thermo row every ``every`` steps."""
    steps = list(range(first, first + n + 1, every))
    out = [f"run             {n}", "Per MPI rank memory allocation (min/avg/max) = 5.36 | 5.36 | 5.36 Mbytes",
           "   " + "   ".join(columns.split())] + _rows(steps, j[:len(steps)], columns=columns)
    if end:
        out.append(f"Loop time of 0.1 on 1 procs for {n} steps with {atoms} atoms")
    return out


def _log(path, *parts, units: str = "metal") -> list:
    """A log: the echoed set-up, then ``parts`` (lists of lines: commands and runs); its lines."""
    lines = ["LAMMPS (22 Jul 2025 - Update 4)", f"units           {units}", "atom_style      atomic",
             "Created orthogonal box = (0 0 0) to (15.9 15.9 15.9)", "create_atoms    1 box", "Created 108 atoms",
             "compute         st all centroid/stress/atom NULL", "compute         flux all heat/flux ke pe st",
             f"thermo_style    custom {COLUMNS.lower().replace('volume', 'vol')}"]
    for part in parts:
        lines += part
    path.write_text("\n".join(lines) + "\n")
    return lines


def _line(lines: list, text: str, nth: int = 0) -> int:
    """1-based line of the ``nth`` line that starts with ``text``."""
    return [i + 1 for i, ln in enumerate(lines) if ln.startswith(text)][nth]


# 1. the time step in force for the run that wrote the rows

def test_the_time_step_of_the_run_that_wrote_the_current(tmp_path, capsys):
    """The production run at 0.004 ps writes the current; a later run at 0.001 ps does not: 5 steps x 0.004 ps
    between rows, said with its line, and the kappa of that series (the last timestep of the log gave 4x less)."""
    j = _series(4001)
    log = tmp_path / "log.lammps"
    lines = _log(log, ["timestep        0.004", "thermo          5"], _run(20000, 0, 5, j),
                 ["timestep        0.001", "thermo_style    custom step temp", "thermo          100"],
                 ["run             1000", "Per MPI rank memory allocation (min/avg/max) = 5.36 | 5.36 | 5.36 Mbytes",
                  "   Step          Temp", *[f"{s} 30.0" for s in range(20000, 21001, 100)],
                  "Loop time of 0.1 on 1 procs for 1000 steps with 108 atoms"])
    s = read_heat_current(log)
    assert s.dt == pytest.approx(0.02)
    ts = _line(lines, "timestep        0.004")
    assert any(f"timestep 0.004 ps: line {ts}" in n for n in s.notes), s.notes
    out = tmp_path / "k"
    assert main(["conductivity", str(log), "-o", str(out)]) == 0
    text = capsys.readouterr().out
    ref = cepstral_conductivity(j, 0.02, 30.0, BOX)
    assert float(xr.load_dataset(out / "cepstral.nc").kappa) == pytest.approx(float(ref.kappa), rel=1e-6)
    assert f"timestep 0.004 ps: line {ts}" in text and "4001 rows at lines" in text and "units metal: line 2" in text


# 2. a current printed per atom

def test_a_current_printed_per_atom_is_multiplied_back(tmp_path, capsys):
    """``thermo_modify norm yes``: LAMMPS printed the compute heat/flux values divided by the 108 atoms; they are
    multiplied back (said, with the line of the atom count), and kappa is that of the whole current. Variables are
    never divided; a column whose division is not known is refused with the line of thermo_modify."""
    j = _series(4001, 1)
    log = tmp_path / "log.lammps"
    lines = _log(log, ["timestep        0.004", "thermo          5", "thermo_modify   norm yes"],
                 _run(20000, 0, 5, j / 108))
    s = read_heat_current(log)
    np.testing.assert_allclose(s.current, j, rtol=1e-8, atol=1e-12)
    loop = _line(lines, "Loop time")
    assert any(f"multiplied by its 108 atoms (line {loop})" in n for n in s.notes), s.notes
    out = tmp_path / "k"
    assert main(["conductivity", str(log), "-o", str(out)]) == 0
    assert "printed per atom (thermo_modify norm yes" in capsys.readouterr().out
    ref = cepstral_conductivity(j, 0.02, 30.0, BOX)
    assert float(xr.load_dataset(out / "cepstral.nc").kappa) == pytest.approx(float(ref.kappa), rel=1e-6)
    # variables: never divided
    var = tmp_path / "var" / "log.lammps"
    var.parent.mkdir()
    vcols = "Step Temp Volume v_Jx v_Jy v_Jz"
    _log(var, ["timestep        0.004", "thermo          5", "thermo_modify   norm yes"], _run(2000, 0, 5, j, vcols))
    np.testing.assert_allclose(read_heat_current(var, current="J").current, j[:401], rtol=1e-8, atol=1e-12)
    # a fix's value under norm yes: refused, naming the line of thermo_modify
    fcols = "Step Temp Volume f_avg[1] f_avg[2] f_avg[3]"
    bad = tmp_path / "fix" / "log.lammps"
    bad.parent.mkdir()
    blines = _log(bad, ["timestep        0.004", "thermo          5", "thermo_modify   norm yes"],
                  _run(2000, 0, 5, j, fcols))
    with pytest.raises(TrajectoryFormatError, match=r"printed per atom .* thermo_modify norm no") as err:
        read_heat_current(bad, current="avg")
    assert str(bad) in str(err.value) and f"line {_line(blines, 'thermo_modify')}" in str(err.value)


# 3. runs that do not continue each other

def test_runs_that_do_not_continue_each_other_are_refused_naming_them(tmp_path, capsys):
    """A second run after reset_timestep 0, and two runs at different time steps or thermo intervals, are not one
    series: refused naming the runs and their lines; run=K reads one (and says how many rows)."""
    j = _series(1300, 2)
    log = tmp_path / "log.lammps"
    lines = _log(log, ["timestep        0.004", "thermo          5"], _run(1000, 0, 5, j),
                 ["reset_timestep  0"], _run(5000, 0, 5, j[201:]))
    with pytest.raises(TrajectoryFormatError, match=r"run 2 \(run 5000, line \d+\) does not continue run 1") as err:
        read_heat_current(log)
    msg = str(err.value)
    assert f"reset_timestep at line {_line(lines, 'reset_timestep')}" in msg and "run=K" in msg and str(log) in msg
    s = read_heat_current(log, run=2)
    np.testing.assert_allclose(s.current, j[201:1202], rtol=1e-8)
    assert s.steps[0] == 0 and s.steps[-1] == 5000 and len(s.current) == 1001
    assert any("1001 rows at lines" in n for n in s.notes) and any("not read: run 1" in n for n in s.notes)
    assert main(["conductivity", str(log), "-o", str(tmp_path / "k")]) != 0
    assert "does not continue" in capsys.readouterr().err
    # a time step changed between two runs whose steps continue
    two = tmp_path / "dt" / "log.lammps"
    two.parent.mkdir()
    _log(two, ["timestep        0.004", "thermo          5"], _run(1000, 0, 5, j),
         ["timestep        0.001"], _run(1000, 1000, 5, j[200:]))
    with pytest.raises(TrajectoryFormatError, match=r"timestep 0.004 ps then 0.001 ps"):
        read_heat_current(two)
    assert read_heat_current(two, run=2).dt == pytest.approx(0.005)
    # a thermo interval changed
    every = tmp_path / "every" / "log.lammps"
    every.parent.mkdir()
    _log(every, ["timestep        0.004", "thermo          5"], _run(1000, 0, 5, j),
         ["thermo          10"], _run(2000, 1000, 10, j[200:]))
    with pytest.raises(TrajectoryFormatError, match=r"a row every 5 steps then every 10"):
        read_heat_current(every)
    # runs that continue each other are joined, the shared step once, and it is said
    ok = tmp_path / "ok" / "log.lammps"
    ok.parent.mkdir()
    _log(ok, ["timestep        0.004", "thermo          5"], _run(1000, 0, 5, j), _run(1000, 1000, 5, j[200:]))
    s = read_heat_current(ok)
    assert len(s.current) == 401 and s.steps[-1] == 2000 and any("2 runs joined" in n for n in s.notes)
    # a run whose length is not a multiple of the thermo interval: its last row, and the next run's first, are off
    # the grid; dropped and said, the runs joined
    odd = tmp_path / "odd" / "log.lammps"
    odd.parent.mkdir()
    first = list(range(0, 1001, 5)) + [1003]
    second = [1003] + list(range(1005, 2001, 5))
    head = ["Per MPI rank memory allocation (min/avg/max) = 5.36 | 5.36 | 5.36 Mbytes",
            "   " + "   ".join(COLUMNS.split())]
    _log(odd, ["timestep        0.004", "thermo          5", "run             1003", *head, *_rows(first, j),
               "Loop time of 0.1 on 1 procs for 1003 steps with 108 atoms", "run             997", *head,
               *_rows(second, j[202:]), "Loop time of 0.1 on 1 procs for 997 steps with 108 atoms"])
    s = read_heat_current(odd)
    np.testing.assert_array_equal(s.steps, np.arange(0, 2001, 5))
    assert sum("off the grid of every 5 steps: not read" in n for n in s.notes) == 2, s.notes


# 4. rows cut short, missing, repeated or out of order

def test_a_row_cut_short_or_out_of_place_is_refused_with_its_line(tmp_path):
    """A table without a step column with one row cut short (it used to be skipped, every later row read one interval
    early): refused with its line; the last row of a file still being written is dropped and said. A step column
    that repeats a step with other values, or goes back, is refused with the line; a log's row cut short is named."""
    j = _series(400, 3)
    rows = [f"{a:.8g} {b:.8g} {c:.8g}" for a, b, c in j]
    table = tmp_path / "flux.dat"
    table.write_text("Jx Jy Jz\n" + "\n".join(rows[:100] + ["0.12 0.3"] + rows[101:]) + "\n")
    with pytest.raises(TrajectoryFormatError, match=r"flux.dat, line 102: this line, '0.12 0.3', is not a row"):
        read_heat_current(table)
    table.write_text("Jx Jy Jz\n" + "\n".join(rows[:-1] + ["0.12 0.3"]) + "\n")
    s = read_heat_current(table)
    assert len(s.current) == 399 and any("line 401" in n and "cut short" in n for n in s.notes)
    steps = list(range(0, 4000, 10))
    stepped = [f"{t} {r}" for t, r in zip(steps, rows)]
    rep = tmp_path / "rep.dat"
    rep.write_text("# step Jx Jy Jz\n" + "\n".join(stepped[:50] + [f"{steps[49]} 1 2 3"] + stepped[50:]) + "\n")
    with pytest.raises(TrajectoryFormatError, match=r"rep.dat, line 52: step 490 is written twice \(lines 51 and 52\)"):
        read_heat_current(rep, md_timestep=0.001)
    back = tmp_path / "back.dat"
    swapped = stepped[:50] + [stepped[51], stepped[50]] + stepped[52:]
    back.write_text("# step Jx Jy Jz\n" + "\n".join(swapped) + "\n")
    with pytest.raises(TrajectoryFormatError, match=r"back.dat, line 52: 1 row missing: step 490 \(line 51\) then "
                                                    r"step 510"):
        read_heat_current(back, md_timestep=0.001)
    back.write_text("# step Jx Jy Jz\n" + "\n".join(stepped[:50] + [stepped[45]] + stepped[50:]) + "\n")
    with pytest.raises(TrajectoryFormatError, match=r"back.dat, line 52: the steps go back: step 490 \(line 51\) "
                                                    r"then step 450"):
        read_heat_current(back, md_timestep=0.001)
    # a log: the row cut short is named where its step is missing
    log = tmp_path / "log" / "log.lammps"
    log.parent.mkdir()
    run = _run(1000, 0, 5, j)
    k = run.index(next(r for r in run if r.strip().startswith("500 ")))
    run[k] = run[k][:30]
    lines = _log(log, ["timestep        0.004", "thermo          5"], run)
    with pytest.raises(TrajectoryFormatError, match=r"1 row missing: step 495 .* then step 505 .*cut short") as err:
        read_heat_current(log)
    assert f"line {lines.index(run[k]) + 1}" in str(err.value)


def test_the_fix_that_wrote_the_table_gives_its_interval(tmp_path):
    """A fix ave/time file with the LAMMPS input beside it: the interval (Nfreq), the time step and the units come
    from the input, each said with its line; a running average (ave running) is refused."""
    j = _series(300, 4)
    avg = tmp_path / "flux.avg"
    avg.write_text("# Time-averaged data for fix avg\n# TimeStep c_flux[1] c_flux[2] c_flux[3]\n"
                   + "\n".join(f"{10 * (k + 1)} {a:.8g} {b:.8g} {c:.8g}" for k, (a, b, c) in enumerate(j)) + "\n")
    inp = tmp_path / "in.heat"
    inp.write_text("units real\ntimestep 2.0\ncompute flux all heat/flux ke pe st\n"
                   "fix avg all ave/time 2 5 10 c_flux[1] c_flux[2] c_flux[3] file flux.avg\nrun 3000\n")
    s = read_heat_current(avg)
    assert s.dt == pytest.approx(0.02) and s.units == "real"
    assert any("ave/time 2 5 10 (line 4 of" in n and "mean of 5 values" in n for n in s.notes), s.notes
    assert any("timestep 0.002 ps: line 2 of" in n for n in s.notes)
    inp.write_text("units metal\ntimestep 0.001\nfix avg all ave/time 1 10 10 c_flux[1] c_flux[2] c_flux[3] ave "
                   "running file flux.avg\nrun 3000\n")
    with pytest.raises(TrajectoryFormatError, match=r"in.heat, line 3: fix avg writes a running average"):
        read_heat_current(avg)
    # rows every 20 steps where the fix writes every 10: refused
    inp.write_text("units metal\ntimestep 0.001\nfix avg all ave/time 1 1 5 c_flux[1] c_flux[2] c_flux[3] file "
                   "flux.avg\nrun 3000\n")
    with pytest.raises(TrajectoryFormatError, match=r"off the grid|missing"):
        read_heat_current(avg)


# 5. one column named as several components

def test_a_column_named_twice_is_refused(tmp_path, capsys):
    j = _series(401, 5)
    log = tmp_path / "log.lammps"
    _log(log, ["timestep        0.004", "thermo          5"], _run(2000, 0, 5, j))
    with pytest.raises(TrajectoryFormatError, match=r"names c_flux\[1\] more than once"):
        read_heat_current(log, current="c_flux[1],c_flux[1],c_flux[1]")
    assert main(["conductivity", str(log), "--current", "c_flux[1],c_flux[1],c_flux[1]", "-o",
                 str(tmp_path / "k")]) != 0
    assert "more than once" in capsys.readouterr().err


# 6. f* and the integral's reach out of range

def test_fstar_and_max_time_out_of_range(tmp_path, capsys):
    """--fstar above the Nyquist frequency is refused (it used to become the Nyquist frequency, printed as given);
    --max-time past the run is cut to its longest lag and said; max_time=-5 and fstar=-1 are refused by the API as
    by the command line."""
    j = _series(2001, 6)
    log = tmp_path / "log.lammps"
    _log(log, ["timestep        0.004", "thermo          5"], _run(10000, 0, 5, j))
    assert main(["conductivity", str(log), "--fstar", "1000", "-o", str(tmp_path / "a")]) != 0
    err = capsys.readouterr().err
    assert "f* = 1000 THz is above the Nyquist frequency of rows every 0.02 ps, 25 THz" in err and str(log) in err
    out = tmp_path / "b"
    assert main(["conductivity", str(log), "--max-time", "1000", "--fstar", "14", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "longer than the run's longest lag, 40 ps" in text and "cut to it" in text
    assert float(xr.load_dataset(out / "green_kubo.nc").time[-1]) == pytest.approx(40.0)
    assert "14 THz given: one row in 2 kept" in text and "f* = 12.5 THz" in text
    for bad in (dict(max_time=-5), dict(fstar=-1.0), dict(max_time=float("nan"))):
        with pytest.raises(ValueError, match=f"{next(iter(bad))}=.*positive"):
            heat_current_conductivity(str(log), **bad)
    with pytest.raises(ValueError, match="max_time must be a positive"):
        green_kubo_integral(j, 0.02, 30.0, BOX, max_time=-5)


# 7. a per-atom stress of neither six nor nine columns

def test_eight_stress_columns_are_refused(tmp_path):
    import trajmodes
    cols = "id type xu yu zu vx vy vz c_pe " + " ".join(f"c_st[{k}]" for k in range(1, 9))
    frames = []
    for step in (0, 10, 20):
        frames.append(f"ITEM: TIMESTEP\n{step}\nITEM: NUMBER OF ATOMS\n2\nITEM: BOX BOUNDS pp pp pp\n0 6\n0 6\n0 6\n"
                      f"ITEM: ATOMS {cols}")
        frames += [f"{i + 1} 1 {1.0 + i} 1 1 0.1 0.2 0.3 -1 " + " ".join(["0.5"] * 8) for i in range(2)]
    dump = tmp_path / "eight.lammpstrj"
    dump.write_text("\n".join(frames) + "\n")
    with pytest.raises(TrajectoryFormatError, match=r"eight.lammpstrj, frame 0, line 9: the per-atom stress c_st has "
                                                    r"the 8 columns .* six .* or nine"):
        trajmodes.read(str(dump), species=["Ar"], masses=[39.948], md_timestep=0.001)


# 8. refusals that name the file and the row

def test_refusals_name_the_file_and_the_line(tmp_path):
    j = _series(401, 7)
    # a NaN row
    log = tmp_path / "log.lammps"
    run = _run(2000, 0, 5, j)
    k = run.index(next(r for r in run if r.strip().startswith("100 ")))
    run[k] = run[k].rsplit(" ", 1)[0] + " -nan"
    lines = _log(log, ["timestep        0.004", "thermo          5"], run)
    with pytest.raises(ValueError, match=rf"log.lammps, line {lines.index(run[k]) + 1}: c_flux\[3\] is nan"):
        heat_current_conductivity(str(log))
    # a zero time step
    zero = tmp_path / "zero" / "log.lammps"
    zero.parent.mkdir()
    zlines = _log(zero, ["timestep        0", "thermo          5"], _run(2000, 0, 5, j))
    with pytest.raises(ValueError, match=rf"zero/log.lammps, line {_line(zlines, 'timestep')}: the time step in "
                                         r"force for run 1 .* is 0"):
        heat_current_conductivity(str(zero))
    # a zero volume column
    vol = tmp_path / "vol.dat"
    vol.write_text("Step Volume Jx Jy Jz\n" + "\n".join(f"{10 * t} {0.0 if t == 7 else 100.0} {a} {b} {c}"
                                                        for t, (a, b, c) in enumerate(j)) + "\n")
    with pytest.raises(ValueError, match=r"vol.dat, line 9: the volume \(Volume\) is 0"):
        heat_current_conductivity(str(vol), md_timestep=0.001, temperature=300.0)
    # an all-zero current, a current too short: the file and its rows
    flat = tmp_path / "flat.dat"
    flat.write_text("Step Jx Jy Jz\n" + "\n".join(f"{10 * t} 0 0 0" for t in range(400)) + "\n")
    with pytest.raises(ValueError, match=r"flat.dat, 400 rows at lines 2-401: the current \(Jx, Jy, Jz\) is zero"):
        heat_current_conductivity(str(flat), md_timestep=0.001, temperature=300.0, volume=1000.0)
    short = tmp_path / "short.dat"
    short.write_text("Step Jx Jy Jz\n" + "\n".join(f"{10 * t} {a} {b} {c}" for t, (a, b, c) in enumerate(j[:20]))
                     + "\n")
    with pytest.raises(ValueError, match=r"short.dat, 20 rows at lines 2-21: .*fewer than"):
        heat_current_conductivity(str(short), md_timestep=0.001, temperature=300.0, volume=1000.0)
    # values given that are not positive: named as the option
    for bad in (dict(md_timestep=0.0), dict(volume=0.0), dict(temperature=-3.0), dict(frame_interval=-1.0)):
        with pytest.raises(ValueError, match=f"{next(iter(bad))}=.*positive"):
            heat_current_conductivity(str(short), **bad)


# 9. a current printed through variables that are not the current itself

def test_a_current_density_variable_is_refused_with_its_line(tmp_path):
    """``variable Jx equal c_flux[1]/vol`` (the pattern of LAMMPS' own compute heat/flux example) is a current
    density: read as J it made kappa V^2 too small (1e-6 W/(m K) for 1) without a word; it is refused naming the
    variable's line, while ``variable Jx equal c_flux[1]`` is read as before."""
    j = _series(2001)
    cols = "Step Temp Volume v_Jx v_Jy v_Jz"
    for expr, refused in (("c_flux[{k}]/vol", True), ("c_flux[{k}]", False)):
        log = tmp_path / f"log_{refused}.lammps"
        defs = [f"variable        J{a} equal {expr.format(k=k)}" for k, a in enumerate("xyz", 1)]
        lines = _log(log, defs + ["timestep        0.001", "thermo          5"], _run(10000, 0, 5, j, columns=cols))
        if refused:
            with pytest.raises(TrajectoryFormatError, match=r"v_Jx is the variable Jx = c_flux\[1\]/vol") as err:
                read_heat_current(log, current="v_Jx,v_Jy,v_Jz")
            assert f"line {_line(lines, 'variable        Jx')}" in str(err.value)
        else:
            s = read_heat_current(log, current="v_Jx,v_Jy,v_Jz")
            assert len(s.current) == 2001
