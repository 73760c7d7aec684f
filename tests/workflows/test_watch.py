"""``trajmodes watch``: a real LAMMPS run followed while it is written, its live fit equal to ``trajmodes fit`` on the
same frames, no frame read twice or half, the starting transient of a run started hot left out, and the prediction
of the run length from the measured decrease of the error bars."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.support.lammps_md import lammps_module
from trajmodes.workflows.watch import Watch, WatchSettings, parse_time
from trajmodes.workflows.watch_frames import FrameFollower
from trajmodes.workflows.watch_model import find_transient, predict_target, statistical_inefficiency

ROOT = Path(__file__).resolve().parents[2]

# fcc argon (Lennard-Jones), 3x3x3 cells (108 atoms), started at T0 under a Nose-Hoover thermostat at T; the run is
# written in LOOPS pieces with a pause after each, so that a follower sees it grow
ARGON = """\
units metal
atom_style atomic
boundary p p p
lattice fcc 5.30
region box block 0 3 0 3 0 3
create_box 1 box
create_atoms 1 box
mass 1 39.948
pair_style lj/cut 7.5
pair_coeff 1 1 0.0104 3.40
write_data ar.data
velocity all create ${T0} 4928459 mom yes rot yes dist gaussian
timestep 0.004
fix 1 all nvt temp ${T} ${T} 0.2
dump d all custom 5 ar.lammpstrj id type x y z vx vy vz fx fy fz
dump_modify d sort id format float %.10g flush yes
thermo 100
variable i loop ${LOOPS}
label loop
run ${STEPS}
shell sleep ${PAUSE}
next i
jump SELF loop
"""

needs_lammps = pytest.mark.skipif(lammps_module() is None, reason="the lammps Python module is not installed")


def lammps_command(folder, T0, T, loops, steps, pause):
    """The command line of a LAMMPS run of ARGON in ``folder`` (a child process: it writes while the test reads)."""
    (Path(folder) / "in.ar").write_text(ARGON)
    code = ("import sys; sys.path.insert(0, %r); from tests.support.lammps_md import run_lammps_file; "
            "run_lammps_file(%r, 'in.ar', args=%r)" % (str(ROOT), str(folder), [
                "-var", "T0", str(T0), "-var", "T", str(T), "-var", "LOOPS", str(loops), "-var", "STEPS", str(steps),
                "-var", "PAUSE", str(pause)]))
    return [sys.executable, "-c", code]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A finished run at 40 K started at 40 K (800 frames, 16 ps)."""
    folder = tmp_path_factory.mktemp("argon")
    subprocess.run(lammps_command(folder, 40, 40, 4, 1000, 0), check=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
    return folder


def fitted_by_fit(folder, first, last, est_watch):
    """``EffectiveForceConstants.fit`` (what ``trajmodes fit`` fits) of frames [first, last) with the watch's
    settings."""
    from trajmodes.forceconstants import EffectiveForceConstants
    from trajmodes.trajectory import read
    traj = read(str(folder / "ar.lammpstrj"), reference=str(folder / "ar.data"))
    est = EffectiveForceConstants(cutoff2=est_watch.cutoff2, segments=est_watch.segments, folds=est_watch.folds)
    return est.fit(traj[first:last])


@pytest.mark.slow
@needs_lammps
def test_a_growing_lammps_run_is_followed_and_fitted_as_fit_fits_the_same_frames(finished_run, tmp_path):
    """LAMMPS writes a run started hot (150 K into a 40 K thermostat) in pieces while the watch follows it: every
    frame is taken once, in order; the transient is left out; the constants equal ``fit`` of the same frames."""
    warm = Watch(WatchSettings(str(finished_run / "ar.lammpstrj"), reference=str(finished_run / "ar.data"),
                               cutoff2=5.0, block_frames=4, segments=5, n_resamples=10))
    warm.read_new(40)
    warm.refit()                                   # the imports done before the run starts: the first update is quick
    env = dict(os.environ, OMP_NUM_THREADS="1")
    md = subprocess.Popen(lammps_command(tmp_path, 150, 40, 6, 250, 0.7), env=env)
    running = []
    try:
        while not (tmp_path / "ar.data").exists():
            assert md.poll() is None, "LAMMPS stopped before writing its data file"
            time.sleep(0.05)
        s = WatchSettings(str(tmp_path / "ar.lammpstrj"), reference=str(tmp_path / "ar.data"), cutoff2=5.0,
                          poll=0.1, idle=2.0, block_frames=4, segments=5, folds=5, n_resamples=40, target=1e-6)
        w = Watch(s)
        updates = []
        for u in w.follow():
            updates.append(u)
            running.append(md.poll() is None)
    finally:
        md.wait(timeout=120)
    assert md.returncode == 0
    last = updates[-1]
    # it grew while followed: two updates or more came before the run's end, each with more frames
    assert sum(running) >= 2 and np.all(np.diff([u.frames_read for u in updates]) > 0)
    size = os.path.getsize(tmp_path / "ar.lammpstrj")
    # every byte read once: the frames copied as they are read, a frame seen while incomplete kept, not read again
    assert w.follower.bytes_read == size
    from trajmodes.trajectory import read
    whole = read(str(tmp_path / "ar.lammpstrj"), reference=str(tmp_path / "ar.data"))
    assert last.frames_read == whole.n_frames == 6 * 250 // 5 + 1
    # every frame once, in order: the times the watch read are the run's
    np.testing.assert_allclose(w._series["time"], whole.times, rtol=0, atol=1e-12)
    # the hot start: the temperature relaxes, and the fit starts after it
    assert last.first_frame > 0 and "drifted" in last.transient.reason
    fit = fitted_by_fit(tmp_path, last.first_frame, last.frames_read, last.estimator)
    np.testing.assert_allclose(last.estimator.params_[2], fit.params_[2], rtol=1e-9, atol=1e-12)
    assert last.estimator.temperature_ == pytest.approx(fit.temperature_, rel=1e-12)


def _frames(path):
    import re
    text = Path(path).read_bytes()
    return text, [m.start() for m in re.finditer(rb"(?m)^ITEM: TIMESTEP", text)] + [len(text)]


@needs_lammps
def test_a_half_written_frame_is_left_for_the_next_poll(finished_run, tmp_path):
    """A writer that appends half a frame (cut inside a number), then the rest: the half frame is not taken, and
    the frames taken are those of the whole file, each once."""
    text, bounds = _frames(finished_run / "ar.lammpstrj")
    target = tmp_path / "grow.lammpstrj"
    cut = bounds[3] + (bounds[4] - bounds[3]) // 2 + 3            # inside frame 3
    target.write_bytes(text[:cut])
    f = FrameFollower(str(target))
    got = f.poll()
    assert len(got) == 3 and f.position == bounds[3]
    with open(target, "ab") as out:
        out.write(text[cut:bounds[4] - 1])                         # all but the last newline: still incomplete
    assert len(f.poll()) == 0
    with open(target, "ab") as out:
        out.write(text[bounds[4] - 1:bounds[6]])
    got = f.poll()
    assert got.starts.tolist() == bounds[3:5] + [bounds[5]] and got.ends.tolist() == bounds[4:7]
    assert f.frames == 6


def test_a_half_written_xyz_frame_is_left_for_the_next_poll(tmp_path):
    """The same for an extended XYZ file, and a file written over by a new run is refused."""
    rng = np.random.default_rng(3)
    frames = []
    for k in range(4):
        rows = "".join(f"Ar {x:.6f} {y:.6f} {z:.6f}\n" for x, y, z in rng.random((5, 3)))
        frames.append(f"5\nLattice=\"5 0 0 0 5 0 0 0 5\" Properties=species:S:1:pos:R:3 Time={k * 0.01}\n{rows}")
    text = "".join(frames).encode()
    ends = np.cumsum([len(x.encode()) for x in frames])
    path = tmp_path / "run.xyz"
    path.write_bytes(text[:ends[1] + 40])
    f = FrameFollower(str(path))
    assert f.poll().ends.tolist() == ends[:2].tolist()
    with open(path, "ab") as out:
        out.write(text[ends[1] + 40:])
    assert f.poll().ends.tolist() == ends[2:].tolist() and f.format == "xyz"
    path.write_bytes(text[:ends[0]])                              # shorter: another run
    with pytest.raises(ValueError, match="replaced or cut short"):
        f.poll()


def test_the_transient_of_a_drifting_series_is_found_and_a_stationary_one_kept_whole():
    rng = np.random.default_rng(7)
    n = 800
    noise = np.zeros(n)
    for i in range(1, n):                                         # AR(1), correlation time about 5 frames
        noise[i] = 0.8 * noise[i - 1] + rng.normal()
    stationary = 40.0 + noise
    hot = stationary + 120.0 * np.exp(-np.arange(n) / 30.0)
    assert find_transient(stationary, stationary, 8).frame == 0
    t = find_transient(hot, stationary, 8)
    assert 60 <= t.frame <= 240 and "kinetic temperature drifted" in t.reason
    # g of AR(1) with phi = 0.8 is (1 + phi) / (1 - phi) = 9
    assert statistical_inefficiency(noise) == pytest.approx(9.0, rel=0.35)


def test_the_prediction_measures_the_exponent_of_the_decrease():
    """Error bars that shrink as t^-0.35 (not the 1/sqrt(t) of independent samples) give that exponent and the time
    at which they reach the target; at the run's pace, the wall time."""
    t = np.array([2.0, 4.0, 6.0, 8.0])
    history = list(zip(t, 0.2 * t ** -0.35))
    p = predict_target(history, 0.05, pace=16.0)
    assert p.exponent == pytest.approx(0.35, rel=1e-9)
    total = (0.2 / 0.05) ** (1 / 0.35)
    assert p.more_time == pytest.approx(total - 8.0, rel=1e-9)
    assert p.wall_hours == pytest.approx((total - 8.0) / 16.0, rel=1e-9)
    assert "h at the run's pace of 16 ps per hour" in p.sentence(0.05)
    assert predict_target(history[:2], 0.05).reason.startswith("the error bars' decrease is measured over three")
    assert predict_target(history, 0.1).reached


def test_a_trend_past_the_target_is_not_called_reached_while_the_error_bar_is_above_it():
    """The fitted decrease has crossed the target but the current largest error bar (which scatters about it) has
    not: no "target reached" and no zero time still needed (it said both), but why there is no prediction."""
    p = predict_target([(10, .02), (20, .008), (30, .0045), (40, .0052)], 0.005)
    assert not p.reached and np.isnan(p.more_time)
    said = p.sentence(0.005)
    assert "target reached" not in said and "below the target already" in said and "0.0052" in said


def test_times_of_the_command_line():
    assert parse_time("2ps") == 2.0 and parse_time("500 fs") == 0.5 and parse_time("1ns") == 1000.0
    assert parse_time("3") == 3.0
    with pytest.raises(ValueError, match="not a time"):
        parse_time("2 hours")


@pytest.mark.slow
@needs_lammps
def test_replay_from_the_command_line_writes_the_outputs_and_runs_then(finished_run, tmp_path):
    from trajmodes.cli import main
    flag = tmp_path / "STOP"
    out = tmp_path / "w"
    status = main([
        "watch", str(finished_run / "ar.lammpstrj"), "--reference", str(finished_run / "ar.data"), "--cutoff2", "5",
        "--replay", "--every", "6ps", "--target", "0.02", "-o", str(out), "--then", f"touch {flag}"])
    assert status == 0
    assert flag.exists() and {p.name for p in out.iterdir()} >= {"watch.nc", "watch.png", "fc.nc"}
    import xarray as xr
    with xr.open_dataset(out / "watch.nc") as ds:
        assert ds.sizes["update"] >= 2 and (np.diff(ds.time.values) > 0).all()
        assert ds.attrs["reached"] == 1


def _write_extxyz(traj, frames, path, mode="w"):
    """Frames of ``traj`` as extended XYZ (positions A, velocities A/ps, forces eV/A, time ps), appended frame by
    frame as an ab initio MD code writes its run."""
    fr = traj.read(frames)
    cell = np.asarray(fr.cells if fr.cells is not None else traj.reference.cell)
    with open(path, mode) as out:
        for k, i in enumerate(frames):
            c = cell[k] if cell.ndim == 3 else cell
            lattice = " ".join(f"{x:.10f}" for x in c.ravel())
            out.write(f"{traj.n_atoms}\nLattice=\"{lattice}\" Properties=species:S:1:pos:R:3:vel:R:3:forces:R:3 "
                      f"Time={traj.times[i]:.6f} time_unit=ps pbc=\"T T T\"\n")
            for a in range(traj.n_atoms):
                row = np.concatenate([fr.positions[k, a], fr.velocities[k, a], fr.forces[k, a]])
                out.write("Ar " + " ".join(f"{x:.10f}" for x in row) + "\n")
            out.flush()


@needs_lammps
def test_an_extended_xyz_run_written_frame_by_frame_is_fitted_as_fit_fits_it(finished_run, tmp_path):
    """An ab initio-like run: frames appended to an extended XYZ file while it is followed; the constants of the last
    update are those of ``fit`` on the same frames, and every frame was taken once."""
    from trajmodes.forceconstants import EffectiveForceConstants
    from trajmodes.trajectory import read
    lmp = read(str(finished_run / "ar.lammpstrj"), reference=str(finished_run / "ar.data"))
    path = tmp_path / "run.xyz"
    _write_extxyz(lmp, np.arange(0, 50), path)
    s = WatchSettings(str(path), reference=str(finished_run / "ar.data"), cutoff2=5.0, block_frames=4, segments=5,
                      n_resamples=20, target=1e-6)
    w = Watch(s)
    assert w.read_new() == 50
    first = w.refit()
    _write_extxyz(lmp, np.arange(50, 120), path, mode="a")
    assert w.read_new() == 70
    last = w.refit()
    assert first.frames_read == 50 and last.frames_read == 120
    np.testing.assert_allclose(w._series["time"], lmp.times[:120], atol=1e-6)
    xyz = read(str(path), reference=str(finished_run / "ar.data"))
    fit = EffectiveForceConstants(cutoff2=5.0, segments=5, folds=5).fit(xyz[last.first_frame:])
    np.testing.assert_allclose(last.estimator.params_[2], fit.params_[2], rtol=1e-9, atol=1e-12)


def test_files_that_cannot_be_followed_are_refused_with_what_to_do(tmp_path):
    import gzip
    packed = tmp_path / "run.lammpstrj.gz"
    packed.write_bytes(gzip.compress(b"ITEM: TIMESTEP\n0\n"))
    with pytest.raises(ValueError, match="compressed.*gunzip"):
        FrameFollower(str(packed)).poll()
    other = tmp_path / "md.pwo"
    other.write_text("     Program PWSCF v.7.2 starts on 22Jul2025 at 10: 0: 0\n")
    with pytest.raises(ValueError, match="none of them.*trajmodes fit"):
        FrameFollower(str(other)).poll()
    from trajmodes.workflows.watch import followed_format_name
    assert followed_format_name("lammps") == "lammps-dump" and followed_format_name("extxyz") == "xyz"
    with pytest.raises(ValueError, match="--format vasp"):
        followed_format_name("vasp")
    with pytest.raises(ValueError, match="target must be a positive"):
        Watch(WatchSettings(str(other), target=0.0))


@needs_lammps
def test_an_interrupt_inside_an_update_leaves_the_last_one_and_the_frames_to_read(finished_run, monkeypatch):
    """Ctrl-C while new frames are being added: the last completed update is kept as it was, and the frames are
    read again by the next call (none lost, none twice)."""
    s = WatchSettings(str(finished_run / "ar.lammpstrj"), reference=str(finished_run / "ar.data"), cutoff2=5.0,
                      block_frames=4, segments=5, n_resamples=10, replay=True)
    w = Watch(s)
    assert w.read_new(40) == 40
    done = w.refit()
    real = w.growing.add

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(w.growing, "add", interrupted)
    with pytest.raises(KeyboardInterrupt):
        w.read_new(40)
    assert w.last is done and w.growing.n_frames == 40 and len(w._series["time"]) == 40 and w.follower.frames == 40
    monkeypatch.setattr(w.growing, "add", real)
    assert w.read_new(40) == 40
    assert w.growing.n_frames == 80 and (np.diff(w._series["time"]) > 0).all()


def _tiny_dump(path, n_frames, columns="id type x y z vx vy vz fx fy fz", head=""):
    """A LAMMPS text dump of a 4-atom fcc argon cell (a = 5.3 A), atoms displaced at random, ``head`` (e.g. the
    ``ITEM: UNITS`` / ``ITEM: TIME`` items of ``dump_modify units yes time yes``) before each ``ITEM: TIMESTEP``."""
    rng = np.random.default_rng(11)
    sites = 5.3 * np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
    names = columns.split()
    frames = []
    for k in range(n_frames):
        x = sites + 0.05 * rng.standard_normal((4, 3))
        values = {"x": x, "v": rng.standard_normal((4, 3)), "f": -0.5 * (x - sites)}
        rows = []
        for a in range(4):
            cells = []
            for name in names:
                if name == "id":
                    cells.append(str(a + 1))
                elif name == "type":
                    cells.append("1")
                else:
                    key = "x" if name in "xyz" else name[0]
                    cells.append(f"{values[key][a, 'xyz'.index(name[-1])]:.8f}")
            rows.append(" ".join(cells) + "\n")
        frames.append(head.format(time=k * 0.02) + f"ITEM: TIMESTEP\n{5 * k}\nITEM: NUMBER OF ATOMS\n4\n"
                      "ITEM: BOX BOUNDS pp pp pp\n0 5.3\n0 5.3\n0 5.3\n" f"ITEM: ATOMS {columns}\n" + "".join(rows))
    Path(path).write_text("".join(frames))
    return frames


def test_a_dump_with_its_units_and_time_items_is_split_into_its_frames(tmp_path):
    """``dump_modify units yes time yes`` puts ITEM: UNITS and ITEM: TIME before ITEM: TIMESTEP: a frame starts at
    the first of them (the follower refused such a dump as "not written frame after frame")."""
    frames = _tiny_dump(tmp_path / "t.lammpstrj", 6, head="ITEM: UNITS\nmetal\nITEM: TIME\n{time}\n")
    ends = np.cumsum([len(f.encode()) for f in frames])
    f = FrameFollower(str(tmp_path / "t.lammpstrj"))
    got = f.poll()
    assert got.starts.tolist() == [0] + ends[:-1].tolist() and got.ends.tolist() == ends.tolist()
    text = "".join(frames)
    (tmp_path / "t.lammpstrj").write_text(text[:ends[2]] + frames[3][:frames[3].index("ITEM: TIMESTEP")])
    f = FrameFollower(str(tmp_path / "t.lammpstrj"))          # a frame written up to its TIME item: not taken
    assert f.poll().ends.tolist() == ends[:3].tolist()


def test_a_run_without_forces_is_refused_naming_the_columns_to_add(tmp_path):
    _tiny_dump(tmp_path / "v.lammpstrj", 20, columns="id type x y z vx vy vz")
    w = Watch(WatchSettings(str(tmp_path / "v.lammpstrj"), options={"md_timestep": 0.004}))
    with pytest.raises(ValueError, match=r"has no forces: .*add fx fy fz to the dump's columns"):
        w.read_new()
    with pytest.raises(FileNotFoundError, match="does not exist: --replay follows a finished run"):
        Watch(WatchSettings(str(tmp_path / "missing.lammpstrj"), replay=True))


@needs_lammps
def test_a_restart_appending_to_the_dump_is_not_fitted_twice(finished_run, tmp_path):
    """A run restarted from an earlier restart file, appending to the same dump (``dump_modify append yes``),
    repeats the steps since that file: those frames are left out, as ``trajmodes fit`` leaves them out, also where
    the restart comes in a later read than the frames it repeats."""
    text, bounds = _frames(finished_run / "ar.lammpstrj")
    path = tmp_path / "restarted.lammpstrj"
    path.write_bytes(text[:bounds[60]] + text[bounds[40]:bounds[100]])          # frames 0-59, then 40-99 again
    w = Watch(WatchSettings(str(path), reference=str(finished_run / "ar.data"), cutoff2=5.0, block_frames=4,
                            segments=5, n_resamples=10, replay=True, options={"md_timestep": 0.004}))
    assert w.read_new(60) == 60
    with pytest.warns(UserWarning, match="20 new frame.s. repeat or go back in time"):
        w.read_new()
    from trajmodes.trajectory import read
    whole = read(str(finished_run / "ar.lammpstrj"))
    assert w.growing.n_frames == 100
    np.testing.assert_allclose(w._series["time"], whole.times[:100], rtol=0, atol=1e-12)


@needs_lammps
def test_a_replay_updates_every_given_time(finished_run):
    """``--replay --every 1ps``: after the first, the updates come at the first frame's time plus whole multiples
    of 1 ps (the replay read 1 ps of frames after a first read that did not end on the first update's time)."""
    w = Watch(WatchSettings(str(finished_run / "ar.lammpstrj"), reference=str(finished_run / "ar.data"), cutoff2=5.0,
                            block_frames=4, every=1.0, replay=True))
    due = []
    while len(due) < 5 and w.read_new(w._replay_step()):
        if w._due():
            due.append(w._series["time"][-1] - w._series["time"][0])
    assert len(due) == 5
    assert 1.0 <= due[0] < 2.0
    np.testing.assert_allclose(due[1:], [2.0, 3.0, 4.0, 5.0], rtol=0, atol=1e-9)


@needs_lammps
def test_reaching_the_target_writes_the_constants_says_so_and_then_runs_the_command(finished_run, tmp_path):
    """A followed run that reaches the target: the update that reaches it writes fc.nc (it was written by no update
    of a live run), the command ``then`` runs after it (it can stop the run once the constants are safe), its
    failure is said; a run without velocities shows no temperature rather than "nan"; the figure's log axes carry
    plain numbers (their minor ticks' labels overlapped)."""
    import dataclasses
    from trajmodes.plots import plot_watch
    from trajmodes.workflows.watch import watch
    from trajmodes.workflows.watch_outputs import watch_dataset
    text, bounds = _frames(finished_run / "ar.lammpstrj")
    path = tmp_path / "run.lammpstrj"
    path.write_bytes(text[:bounds[100]])
    for k, (then, said) in enumerate(((f"test -f {tmp_path / 'out0' / 'fc.nc'}", "done (exit status 0)"),
                                      ("exit 3", "it FAILED with exit status 3; run it yourself (the target was "
                                                 "reached)"))):
        folder = tmp_path / f"out{k}"                  # a folder each: a replay writes its update before reaching
        lines = []
        w = watch(WatchSettings(str(path), reference=str(finished_run / "ar.data"), cutoff2=5.0, block_frames=4,
                                segments=5, n_resamples=10, target=1.0, then=then, options={"md_timestep": 0.004},
                                replay=True, every=1.0),       # two updates: the target holds at both
                  lines.append, str(folder))
        assert w.reached_at is w.last and (folder / "fc.nc").exists()
        assert any(x.startswith("target reached: every frequency at the special points") and "fc.nc" in x
                   for x in lines)
        assert lines[-1].endswith(said)
    assert "T unknown (no velocities)" in dataclasses.replace(w.last, temperature=float("nan")).table(1.0)
    from matplotlib.ticker import NullFormatter
    fig = plot_watch(watch_dataset(w))
    assert isinstance(fig.axes[2].xaxis.get_minor_formatter(), NullFormatter)


@needs_lammps
def test_an_interrupt_while_the_figure_is_drawn_says_the_files_of_the_update_are_kept(finished_run, tmp_path,
                                                                                      monkeypatch, capsys):
    """Ctrl-C while ``trajmodes watch`` draws an update's figure: watch.nc and fc.nc of that update are in place,
    and the message says they are kept (it said "kept nothing")."""
    import trajmodes.plots
    from trajmodes.cli import main
    text, bounds = _frames(finished_run / "ar.lammpstrj")
    (tmp_path / "run.lammpstrj").write_bytes(text[:bounds[100]])

    def interrupted(ds, path):
        if int(ds.attrs["reached"]):               # the update that reaches the target (it holds at two in a row)
            raise KeyboardInterrupt
    monkeypatch.setattr(trajmodes.plots, "plot_watch", interrupted)
    out = tmp_path / "w"
    status = main(["watch", str(tmp_path / "run.lammpstrj"), "--reference", str(finished_run / "ar.data"),
                   "--md-timestep", "0.004", "--cutoff2", "5", "--target", "1", "--replay", "--every", "1ps",
                   "-o", str(out)])
    assert status == 130 and {p.name for p in out.iterdir()} == {"watch.nc", "fc.nc"}
    said = capsys.readouterr().err
    assert "kept" in said and "watch.nc" in said and "fc.nc" in said and "kept nothing" not in said


def test_an_output_folder_that_cannot_be_written_is_refused_before_the_first_update(tmp_path, capsys):
    from trajmodes.cli import main
    (tmp_path / "a-file").write_text("x")
    _tiny_dump(tmp_path / "t.lammpstrj", 20)
    status = main(["watch", str(tmp_path / "t.lammpstrj"), "--replay", "-o", str(tmp_path / "a-file" / "out")])
    assert status == 2
    assert "-o " in (err := capsys.readouterr().err) and "a-file is not a folder" in err


def test_a_watch_started_before_the_run_wrote_its_file_says_it_waits(tmp_path, capsys):
    """Started before the MD program wrote the dump: it says it waits (it waited silently), and with --idle that the
    file never came (it said the file "holds 0 complete frames")."""
    from trajmodes.cli import main
    status = main(["watch", str(tmp_path / "later.lammpstrj"), "--idle", "0.2", "--poll", "0.1",
                   "-o", str(tmp_path / "out")])
    said = capsys.readouterr().out
    assert status == 1
    assert "later.lammpstrj does not exist yet: waiting for the MD program to write it" in said
    assert "later.lammpstrj was not written within --idle 0.2 s" in said


@needs_lammps
def test_a_failing_then_command_makes_the_watch_exit_1(finished_run, tmp_path, capsys):
    from trajmodes.cli import main
    text, bounds = _frames(finished_run / "ar.lammpstrj")
    (tmp_path / "run.lammpstrj").write_bytes(text[:bounds[100]])
    status = main(["watch", str(tmp_path / "run.lammpstrj"), "--reference", str(finished_run / "ar.data"),
                   "--md-timestep", "0.004", "--cutoff2", "5", "--target", "1", "-o", str(tmp_path / "w"),
                   "--then", "exit 4", "--replay", "--every", "1ps"])      # two updates: the target holds at both
    assert status == 1 and "ran 'exit 4': it FAILED with exit status 4" in capsys.readouterr().out
    assert (tmp_path / "w" / "fc.nc").exists()
