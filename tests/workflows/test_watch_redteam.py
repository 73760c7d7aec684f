"""``trajmodes watch`` as a user meets it (findings of a red-team run, each fixed here with the case that showed it):
the command line's messages (a time that is not one, a folder given as the run, too few frames, why it stopped),
the species and masses of a dump that names neither, an earlier run's constants left in the output folder, and the
figure's time axis over many decades; and the runs it followed wrongly: an XYZ file without times, a crystal that
drifts or melts, a run still heating, an --every below the frame interval, a run written over the file followed, a
changing cell.

The run: a LAMMPS text dump written here, 2x2x2 cells of fcc argon (32 atoms) whose forces are those of
nearest-neighbour springs plus noise, without masses anywhere (``--species Ar`` gives them)."""
from __future__ import annotations

import contextlib
import io
import warnings
from pathlib import Path

import numpy as np
import pytest

from trajmodes.cli import main


def spring_dump(path, n_frames: int, seed: int = 5) -> None:
    """A LAMMPS text dump of 2x2x2 cells of fcc argon (32 atoms, a = 5.3 A, type 1, no masses): atoms displaced at
    random (0.05 A), forces of nearest-neighbour central springs (0.5 eV/A^2) plus noise (0.02 eV/A), velocities at
    random (A/ps), a frame every 5 MD steps (:func:`spring_frames` written by :func:`spring_dump_of`)."""
    _, box, frames = spring_frames(n_frames, seed)
    spring_dump_of(path, frames, box)


def run_cli(argv) -> tuple[int, str, str]:
    """``trajmodes ARGV``: its exit status, standard output and standard error."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main([str(a) for a in argv])
        except SystemExit as e:                        # argparse's errors
            status = e.code
    return status, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def replay(tmp_path_factory):
    """A replay of 48 frames (one update) to a target it cannot reach, into a folder that holds an earlier run's
    fc.nc."""
    work = tmp_path_factory.mktemp("watch-redteam")
    spring_dump(work / "run.lammpstrj", 48)
    out = work / "out"
    out.mkdir()
    (out / "fc.nc").write_bytes(b"the constants of an earlier run")
    status, said, err = run_cli(["watch", work / "run.lammpstrj", "--species", "Ar", "--md-timestep", "0.004",
                                 "--replay", "--target", "1e-6", "-o", out])
    return dict(work=work, out=out, status=status, said=said, err=err)


@pytest.mark.parametrize("every, says", [("2 s", "'2 s' is not a time: give a number with fs, ps or ns"),
                                         ("2min", "'2min' is not a time"),
                                         ("0", "'0': the time between updates must be positive")])
def test_an_every_that_is_not_a_time_says_what_a_time_is(tmp_path, every, says):
    """argparse said "invalid parse_time value: '2 s'": the message of what a time is was lost."""
    status, _, err = run_cli(["watch", tmp_path / "run.lammpstrj", "--every", every, "-o", tmp_path / "out"])
    assert status == 2 and f"argument --every: {says}" in err, err
    assert "invalid parse_time value" not in err


def test_a_folder_given_as_the_run_names_the_files_in_it(tmp_path):
    """A folder as RUN stopped with "[Errno 21] Is a directory"."""
    spring_dump(tmp_path / "run.lammpstrj", 2)
    (tmp_path / "in.ar").write_text("units metal\n")
    status, _, err = run_cli(["watch", tmp_path, "--idle", "1", "-o", tmp_path / "out"])
    assert status == 2 and "Errno" not in err
    assert f"{tmp_path} is a folder: give the file the MD program writes" in err
    assert f"e.g. {tmp_path / 'run.lammpstrj'}" in err and "in.ar" not in err


def test_too_few_frames_for_an_update_says_how_many_it_needs(tmp_path):
    """It said "holds 20 complete frames, fewer than the 16 an update needs": the count an update needs was not the
    watch's own."""
    from trajmodes.workflows.watch import MIN_BLOCKS, WATCH_DEFAULTS
    needed = MIN_BLOCKS * WATCH_DEFAULTS["block_frames"]
    assert needed > 20
    spring_dump(tmp_path / "run.lammpstrj", 20)
    status, said, _ = run_cli(["watch", tmp_path / "run.lammpstrj", "--species", "Ar", "--md-timestep", "0.004",
                               "--idle", "0.2", "--poll", "0.05", "-o", tmp_path / "out"])
    assert status == 1
    assert f"no update: {tmp_path / 'run.lammpstrj'} holds 20 complete frames, fewer than the {needed} an update " \
           "needs" in said, said


def test_species_of_a_dump_that_names_no_masses_are_given_on_the_command_line(replay):
    """The dump names no masses, and the watch said to give --species, an option it did not have."""
    assert replay["status"] == 0, replay["err"]
    assert "update 0: 48 frames fitted" in replay["said"]


def test_a_watch_that_stops_short_of_its_target_says_why_once(replay):
    """The last table's prediction line was printed a second time after it, without saying why the watch stopped."""
    said = replay["said"]
    assert said.count("no prediction yet") == 1, said
    last = said.rstrip().splitlines()[-1]
    assert last.startswith(f"end of the replay of {replay['work'] / 'run.lammpstrj'}; 48 frames taken (0.94 ps); the "
                           "target +-1e-06 THz is not reached (largest error bar "), last


def test_an_earlier_runs_constants_in_the_output_folder_are_moved_aside(replay):
    """An earlier run's fc.nc stayed beside a watch.nc whose target was not reached: it would be read as this
    watch's constants."""
    out = replay["out"]
    assert sorted(p.name for p in out.iterdir()) == ["fc.nc.earlier", "watch.nc", "watch.png"]
    assert (out / "fc.nc.earlier").read_bytes() == b"the constants of an earlier run"
    err = " ".join(replay["err"].split())
    assert f"{out / 'fc.nc'} held the constants of an earlier run" in err and "moved to" in err, err


def test_the_time_axis_of_a_prediction_decades_away_has_labels_that_do_not_overlap(replay):
    """A target far below the error bars (1e5 ps predicted): the labels at 1, 2 and 5 x 10^n of six decades ran into
    each other. Also: the line of error bars at their blocking plateau said "fit", and the panel did not say whether
    the target was reached."""
    import xarray as xr
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from trajmodes.plots import plot_watch
    with xr.open_dataset(replay["out"] / "watch.nc") as stored:
        ds = stored.load()
    ds["more_time"][-1] = 1.0e5
    ds["exponent"][-1] = 0.5
    ds["exponent_settled"][-1] = 1
    fig = plot_watch(ds)
    right = fig.axes[2]
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    lo, hi = right.get_xlim()
    boxes = [t.get_window_extent(renderer) for t, x in zip(right.xaxis.get_majorticklabels(), right.get_xticks())
             if t.get_text() and lo <= x <= hi]
    assert len(boxes) >= 3
    boxes.sort(key=lambda b: b.x0)
    assert all(a.x1 <= b.x0 for a, b in zip(boxes, boxes[1:])), [(b.x0, b.x1) for b in boxes]
    labels = [t.get_text() for t in right.get_legend().get_texts()]
    assert any(s.startswith("t^-1/2 at the plateau: 1e+05 ps needed") for s in labels), labels
    assert right.get_title() == "target 1e-06 THz not reached"
    ds.attrs.update(reached=1, reached_fitted_time=0.47)        # a replay that went on past the update reaching it
    assert plot_watch(ds).axes[2].get_title() == "target 1e-06 THz reached after 0.47 ps fitted"


def spring_frames(n_frames: int, seed: int = 5, drift=(0.0, 0.0, 0.0)):
    """Positions, forces and velocities of :func:`spring_dump`'s crystal: (sites, box, [(x, v, f)] per frame), the
    crystal carried by ``drift`` A per frame as a whole."""
    rng = np.random.default_rng(seed)
    a, n = 5.3, 2
    basis = np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
    grid = np.stack(np.meshgrid(*[np.arange(n)] * 3, indexing="ij"), -1).reshape(-1, 3)
    sites = a * (grid[:, None, :] + basis[None]).reshape(-1, 3)
    box = a * n
    d = sites[:, None, :] - sites[None, :, :]
    d -= box * np.round(d / box)
    pairs = np.argwhere(np.abs(np.linalg.norm(d, axis=2) - a / np.sqrt(2)) < 1e-6)
    unit = d[pairs[:, 0], pairs[:, 1]] / (a / np.sqrt(2))
    out = []
    for k in range(n_frames):
        u = 0.05 * rng.standard_normal(sites.shape)
        stretch = np.sum((u[pairs[:, 0]] - u[pairs[:, 1]]) * unit, axis=1)
        f = np.zeros_like(u)
        np.add.at(f, pairs[:, 0], -0.5 * stretch[:, None] * unit)
        f += 0.02 * rng.standard_normal(f.shape)
        v = rng.standard_normal(sites.shape)
        out.append((sites + u + k * np.asarray(drift, float), v, f))
    return sites, box, out


def spring_xyz(path, n_frames: int, seed: int = 5) -> None:
    """:func:`spring_dump`'s crystal as an extended XYZ file without times or steps (ASE's layout)."""
    sites, box, frames = spring_frames(n_frames, seed)
    text = []
    for x, v, f in frames:
        text.append(f"{len(x)}\nLattice=\"{box} 0 0 0 {box} 0 0 0 {box}\" Properties=species:S:1:pos:R:3:forces:R:3 "
                    "pbc=\"T T T\"\n" + "".join("Ar " + " ".join(f"{c:.8f}" for c in (*x[i], *f[i])) + "\n"
                                                for i in range(len(x))))
    Path(path).write_text("".join(text))


def test_a_file_without_times_and_a_given_frame_interval_is_fitted_whole(tmp_path):
    """W3: with --frame-interval on an XYZ file without times, every update's frames restarted at time 0 and were left
    out as repeats of a restarted run: 128 of 501 frames fitted. Every frame is taken, at its count x the interval."""
    from trajmodes.workflows.watch import Watch, WatchSettings
    spring_xyz(tmp_path / "run.extxyz", 300)
    w = Watch(WatchSettings(str(tmp_path / "run.extxyz"), replay=True, every=0.6, target=1e-6,
                            options={"frame_interval": 0.01}))
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)            # no frame left out as a repeat
        updates = list(w.follow())
    assert updates[-1].frames_read == 300
    assert updates[-1].time == pytest.approx(2.99)
    assert not w.times_assumed
    assert len(updates) >= 4


def spring_dump_of(path, frames, box) -> None:
    """:func:`spring_frames`' frames as a LAMMPS text dump (a frame every 5 MD steps); ``box`` A, or one per frame."""
    out = []
    boxes = np.broadcast_to(np.asarray(box, float), (len(frames),))
    for k, ((x, v, f), box) in enumerate(zip(frames, boxes)):
        rows = "".join(f"{i + 1} 1 " + " ".join(f"{c:.8f}" for c in (*x[i], *v[i], *f[i])) + "\n"
                       for i in range(len(x)))
        out.append(f"ITEM: TIMESTEP\n{5 * k}\nITEM: NUMBER OF ATOMS\n{len(x)}\nITEM: BOX BOUNDS pp pp pp\n"
                   f"0 {box}\n0 {box}\n0 {box}\nITEM: ATOMS id type x y z vx vy vz fx fy fz\n" + rows)
    Path(path).write_text("".join(out))


def _replayed(path, every=0.6, **kw):
    from trajmodes.workflows.watch import Watch, WatchSettings
    w = Watch(WatchSettings(str(path), replay=True, every=every, target=1e-6,
                            options={"species": ["Ar"], "md_timestep": 0.004}, **kw))
    return w, list(w.follow())


def test_a_crystal_that_drifts_as_a_whole_is_fitted_as_if_it_stood(tmp_path):
    """W1: a crystal carried 0.022 A per frame (a net momentum) was refused at an update after the first with "frame
    0 of ... is 2.24 A (rms) away from the reference: the atoms are not in the same order": every file was checked
    against the crystal's first place. The frequencies equal those of the same frames standing still, and the
    table says how far it moved (from the mean of the first 16 frames, the reference: 7.5 frames on)."""
    sites, box, still = spring_frames(160)
    _, _, moving = spring_frames(160, drift=(0.02, 0.01, 0.0))
    spring_dump_of(tmp_path / "still.lammpstrj", still, box)
    spring_dump_of(tmp_path / "moving.lammpstrj", moving, box)
    _, a = _replayed(tmp_path / "still.lammpstrj")
    _, b = _replayed(tmp_path / "moving.lammpstrj")
    assert len(a) == len(b) >= 3 and b[-1].frames_read == 160
    for x, y in zip(a, b):
        np.testing.assert_allclose(y.frequency, x.frequency, rtol=1e-7, atol=1e-7)
        np.testing.assert_allclose(y.frequency_err, x.frequency_err, rtol=1e-6, atol=1e-7)
    assert a[-1].drift < 0.05 and b[-1].drift == pytest.approx((159 - 7.5) * np.hypot(0.02, 0.01), abs=0.05)
    assert f"the crystal moved {b[-1].drift:.3g} A as a whole" in b[-1].table(1e-6)
    assert "as a whole" not in a[-1].table(1e-6)


def test_a_crystal_that_melts_is_refused_when_its_atoms_leave_their_sites(tmp_path):
    """W8: a crystal that melted was fitted as if it were one ("phonons" of a liquid) and then refused with a false
    "not the same order". Here the atoms of the second half of the run wander off their sites (a random walk of
    0.15 A per frame): the watch stops at the first file where most of them are farther than half the
    nearest-neighbour distance, after the updates of the crystal, and says why."""
    from trajmodes.workflows.watch import Watch, WatchSettings
    sites, box, frames = spring_frames(200)
    rng = np.random.default_rng(3)
    walk = np.cumsum(0.15 * rng.standard_normal((100, len(sites), 3)), axis=0)
    frames = frames[:100] + [(x + walk[k], v, f) for k, (x, v, f) in enumerate(frames[100:])]
    spring_dump_of(tmp_path / "melt.lammpstrj", frames, box)
    w = Watch(WatchSettings(str(tmp_path / "melt.lammpstrj"), replay=True, every=0.6, target=1e-6,
                            options={"species": ["Ar"], "md_timestep": 0.004}))
    got = []
    with pytest.raises(ValueError, match=r"atoms are farther than half the nearest-neighbour distance \(1.87 A\) "
                                         r"from their sites: the crystal melted"), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)          # the error bars of the walk's first frames
        for u in w.follow():
            got.append(u)
    assert got and got[-1].frames_read <= 100 + 32


def test_an_every_shorter_than_the_frames_interval_refits_per_read_and_says_so(tmp_path):
    """W2: `--every 1e-9ps` hung: the next update's time was stepped up to the last frame's by `every` at a time
    (t / every steps). It is now set at once, and a warning says the watch refits at every new batch of frames."""
    from trajmodes.workflows.watch import Watch, WatchSettings
    spring_dump(tmp_path / "run.lammpstrj", 48)
    w = Watch(WatchSettings(str(tmp_path / "run.lammpstrj"), replay=True, every=1e-6, target=1e-6,
                            options={"species": ["Ar"], "md_timestep": 0.004}))
    assert w.read_new(40) == 40
    with pytest.warns(UserWarning, match=r"--every 1e-06 ps is shorter than the 0.02 ps between the frames of "):
        assert w._due()
    assert w._next_time == pytest.approx(0.78 + 1e-6, abs=1e-9)
    assert not w._due()                             # no new frame: no update
    assert w.read_new(1) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # said once
        assert w._due()


def test_a_replay_makes_its_first_update_at_the_time_every_says(tmp_path):
    """W9: the first replayed update took 16 blocks (128 frames) whatever --every said: `--every 0.8ps` on 0.02 ps
    frames gave one update at the end of a 2 ps run. Now the updates come at 0.8 and 1.6 ps, and the end."""
    spring_dump(tmp_path / "run.lammpstrj", 100)
    _, got = _replayed(tmp_path / "run.lammpstrj", every=0.8)
    np.testing.assert_allclose([u.time for u in got], [0.8, 1.6, 1.98], atol=1e-9)


def test_a_run_heating_through_its_whole_first_update_is_not_stationary():
    """W5: a run heating from 200 K to 300 K through all its frames (no start of least marginal standard error
    stands out) was called "stationary" and the target reached. The halves of the frames kept now differ by far
    more than 4 standard errors; a stationary run's by fewer."""
    from trajmodes.workflows.watch_model import find_transient
    rng = np.random.default_rng(11)
    n = 72
    msd = 0.01 + 0.0005 * rng.standard_normal(n)
    heating = find_transient(np.linspace(200.0, 300.0, n) + 9.0 * rng.standard_normal(n), msd, 8)
    assert not heating.stationary
    assert "NOT STATIONARY yet: the kinetic temperature of the frames fitted went from" in heating.sentence()
    steady = find_transient(250.0 + 9.0 * rng.standard_normal(n), msd, 8)
    assert steady.stationary and "NOT STATIONARY" not in steady.sentence()


def test_a_heating_run_does_not_reach_its_target(tmp_path):
    """W5 in a watch: error bars below the target in a run whose temperature rises through every frame: the target
    is not called reached (a live watch would have stopped and run --then), and the table says why."""
    sites, box, frames = spring_frames(64)
    scale = np.sqrt(np.linspace(0.6, 1.0, 64))
    spring_dump_of(tmp_path / "heating.lammpstrj", [(x, v * c, f) for (x, v, f), c in zip(frames, scale)], box)
    from trajmodes.workflows.watch import Watch, WatchSettings
    w = Watch(WatchSettings(str(tmp_path / "heating.lammpstrj"), replay=True, target=5.0,
                            options={"species": ["Ar"], "md_timestep": 0.004}))
    got = list(w.follow())
    assert got and got[-1].worst_error() < 5.0
    assert w.reached_at is None and not got[-1].converged
    table = got[-1].table(5.0)
    assert "NOT STATIONARY yet" in table and "target reached" not in table
    assert "the error bars are below the target, but the run is not stationary yet" in table


def test_times_assumed_are_said_in_the_table_and_the_figure(tmp_path):
    """W6/P3: an XYZ file without times has 1 ps between frames ASSUMED; the updates, the target line and the
    figure's time axes spoke of ps as if the run had stated them (69 ps for 0.69 ps)."""
    import xarray as xr
    from trajmodes.plots import plot_watch
    spring_xyz(tmp_path / "run.extxyz", 80)
    status, said, err = run_cli(["watch", tmp_path / "run.extxyz", "--replay", "--every", "40ps", "--target", "10",
                                 "-o", tmp_path / "out"])
    assert status == 0, err
    assert "times ASSUMED: 1 ps between frames (the file gives no times; give --frame-interval)" in said
    assert "times ASSUMED, 1 ps between frames)" in said               # the target line
    with xr.open_dataset(tmp_path / "out" / "watch.nc") as stored:
        ds = stored.load()
    assert ds.attrs["time_axis"].startswith("ASSUMED")
    fig = plot_watch(ds)
    assert all(ax.get_xlabel().endswith("ASSUMED: 1 ps between frames") for ax in fig.axes[1:3])
    ds.attrs["time_axis"] = "from the run"
    assert "ASSUMED" not in plot_watch(ds).axes[1].get_xlabel()


def test_a_run_restarted_without_append_over_the_file_followed_is_named(tmp_path):
    """W7: a LAMMPS run restarted without `dump_modify append yes` opens the dump anew (the same file, cut); once it
    has written past the bytes read, the watch read from the middle of a frame and stopped with "text before the
    first ITEM: TIMESTEP line ...", no file named, no cause. It now says a new run was written over the run."""
    from trajmodes.workflows.watch_frames import FrameFollower
    path = tmp_path / "run.lammpstrj"
    spring_dump(path, 20)
    f = FrameFollower(str(path))
    assert len(f.poll()) == 20
    text = path.read_text()
    with open(path, "r+") as out:                          # the same file, cut and written anew by the new run
        out.truncate(0)
        out.write(text.replace("ITEM: TIMESTEP\n", "ITEM: TIMESTEP\n100") * 2)
    with pytest.raises(ValueError, match=f"{path}: a new run was written over the one followed .its first frame is "
                                         "not the one read at the start; a LAMMPS run restarted without dump_modify "
                                         "append yes"):
        f.poll()
    f.close()


def test_a_cell_that_changes_is_said_with_its_mean_volume(tmp_path):
    """W19: an NPT run whose volume swings by +-2 % had error bars that did not shrink, and the watch never mentioned
    the box. The update now gives the mean volume and its spread; a fixed cell says nothing of it."""
    sites, box, frames = spring_frames(64)
    scale = 1.0 + 0.01 * np.sin(2 * np.pi * np.arange(64) / 40.0)
    spring_dump_of(tmp_path / "npt.lammpstrj", [(x * c, v, f) for (x, v, f), c in zip(frames, scale)], box * scale)
    _, got = _replayed(tmp_path / "npt.lammpstrj", every=None)
    volumes = (box * scale) ** 3
    mean, spread = got[-1].volume
    assert mean == pytest.approx(volumes.mean(), rel=1e-6) and spread == pytest.approx(volumes.std(), rel=1e-6)
    assert f"the cell changes (a barostat): mean volume {mean:.6g} A^3 of the fitted frames" in got[-1].table(1e-6)
    spring_dump(tmp_path / "nvt.lammpstrj", 64)
    _, fixed = _replayed(tmp_path / "nvt.lammpstrj", every=None)
    assert fixed[-1].volume is None and "the cell changes" not in fixed[-1].table(1e-6)


def test_the_target_is_reached_when_it_holds_at_two_updates_in_a_row(tmp_path):
    """W5: the first update of a run still heating (its temperature not yet trending within it) had error bars below
    the target and was called "target reached": a live watch would have stopped and run --then. The target is now
    reached at the second update in a row below it."""
    spring_dump(tmp_path / "run.lammpstrj", 100)
    from trajmodes.workflows.watch import Watch, WatchSettings
    w = Watch(WatchSettings(str(tmp_path / "run.lammpstrj"), replay=True, every=0.8, target=5.0,
                            options={"species": ["Ar"], "md_timestep": 0.004}))
    got = list(w.follow())
    assert len(got) == 3 and all(u.worst_error() < 5.0 for u in got)
    assert not got[0].converged and got[1].converged and w.reached_at is got[1]
    assert "the error bars are below the target: the next update confirms it" in got[0].table(5.0)
    assert "target reached" in got[1].table(5.0)
