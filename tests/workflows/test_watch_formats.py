"""``trajmodes watch`` of VASP's OUTCAR and vasprun.xml (tests/support/dft_outputs writes them in VASP 6's layout)
and of classical i-PI runs (a real i-PI run, its files written again out of step): the files appended in pieces cut
inside a step, every step taken once and none half, the header (masses, POTIM) read once and given to every update,
the constants equal to ``fit`` of the same steps, every byte read once; files that do not grow step after step, and
i-PI path-integral runs, refused with what to do."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ase")

from tests.support import dft_outputs  # noqa: E402
from trajmodes.workflows.watch import Watch, WatchSettings, followed_format_name  # noqa: E402
from trajmodes.workflows.watch_frames import FrameFollower, open_frames  # noqa: E402

N = 60
POTIM_FS = 2.0
# an 8-atom diamond cell of one species: it has lattice translations, so the watch finds its ideal crystal
FRAMES = dft_outputs.random_frames(N, symbols=("Si",) * 8, seed=1)
WRITERS = {"outcar": (dft_outputs.write_outcar, "OUTCAR", b"FREE ENERGIE OF THE ION-ELECTRON SYSTEM", 5),
           "vasprun": (dft_outputs.write_vasprun, "vasprun.xml", b"</calculation>", 1)}


def _written(tmp_path, kind, pomass=None):
    """The whole run's text and the byte where each step ends (its end line's newline passed)."""
    write, name, mark, lines = WRITERS[kind]
    (tmp_path / "whole").mkdir()
    whole = write(tmp_path / "whole" / name, FRAMES, potim_fs=POTIM_FS, pomass=pomass)
    text = whole.read_bytes()
    ends, pos = [], text.find(mark)
    while pos >= 0:
        end = pos
        for _ in range(lines):
            end = text.index(b"\n", end) + 1
        ends.append(end)
        pos = text.find(mark, end)
    assert len(ends) == N
    return whole, text, ends, tmp_path / name


def _inside(text, ends, k, what):
    """A byte inside step ``k``: in its forces (a line cut inside a number) or in its closing line."""
    lo = ends[k - 1]
    if what == "forces":
        return text.index(b"TOTAL-FORCE" if b"TOTAL-FORCE" in text else b'name="forces"', lo) + 200
    return ends[k] - 3


@pytest.mark.parametrize("kind", ["outcar", "vasprun"])
def test_a_vasp_run_appended_in_pieces_cut_inside_steps_is_taken_step_by_step(tmp_path, kind):
    """Pieces that end inside a step's forces, then inside its closing line: the half step is left for the next
    poll, each step is taken once, and every update's file holds the header: the masses the run used (an INCAR
    POMASS, not the POTCAR's) and POTIM."""
    whole, text, ends, path = _written(tmp_path, kind, pomass={"Si": 29.5})
    cuts = [_inside(text, ends, 7, "forces"), _inside(text, ends, 20, "close"), ends[33] + 5, len(text)]
    f = FrameFollower(str(path))
    got, pos = [], 0
    for cut in cuts:
        with open(path, "ab") as out:
            out.write(text[pos:cut])
        pos = cut
        new = f.poll()
        got.append(new)
        if len(new):
            traj = open_frames(f.take(new), f.format, {})
            assert traj.n_frames == len(new)
            assert np.all(traj.masses == 29.5) and traj.md_timestep == pytest.approx(POTIM_FS * 1e-3, rel=1e-12)
            np.testing.assert_allclose(traj.forces.compute(), FRAMES["forces"][f.frames - len(new):f.frames],
                                       atol=1e-6)
    f.close()
    assert [len(g) for g in got] == [7, 13, 14, N - 34]
    assert f.format == {"outcar": "ase:vasp-out", "vasprun": "ase:vasp-xml"}[kind]
    assert np.concatenate([g.ends for g in got]).tolist() == ends


@pytest.mark.parametrize("kind", ["outcar", "vasprun"])
def test_a_growing_vasp_run_is_fitted_as_fit_fits_the_same_steps(tmp_path, kind):
    """The watch of a run written in three pieces: its times are the run's (POTIM x step), and the constants of the
    last update equal ``EffectiveForceConstants.fit`` of the whole file."""
    from trajmodes.forceconstants import EffectiveForceConstants
    from trajmodes.trajectory import read
    whole, text, ends, path = _written(tmp_path, kind)
    path.write_bytes(text[:_inside(text, ends, 19, "forces")])
    w = Watch(WatchSettings(str(path), cutoff2=2.6, block_frames=4, segments=5, n_resamples=10, target=1e-6))
    assert w.read_new() == 19
    w.refit()
    with open(path, "ab") as out:
        out.write(text[path.stat().st_size:ends[41] - 2])
    assert w.read_new() == 22
    with open(path, "ab") as out:
        out.write(text[path.stat().st_size:])
    assert w.read_new() == N - 41
    last = w.refit()
    w.follower.close()
    assert last.frames_read == N
    traj = read(str(whole), format=w.follower.format, reference="average")
    np.testing.assert_allclose(w._series["time"], np.arange(N) * POTIM_FS * 1e-3, rtol=0, atol=1e-12)
    np.testing.assert_allclose(traj.times, w._series["time"], rtol=0, atol=1e-12)
    fit = EffectiveForceConstants(cutoff2=2.6, segments=5, folds=last.estimator.folds).fit(traj[last.first_frame:])
    np.testing.assert_allclose(last.estimator.params_[2], fit.params_[2], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("kind", ["outcar", "vasprun"])
def test_a_vasp_file_cut_short_or_written_over_is_refused(tmp_path, kind):
    """A run that starts again over the file (shorter, or longer with another header) is refused, as a dump is."""
    whole, text, ends, path = _written(tmp_path, kind)
    path.write_bytes(text[:ends[30]])
    f = FrameFollower(str(path))
    assert len(f.poll()) == 31
    with open(path, "r+b") as out:                      # cut short in place
        out.truncate(ends[10])
    with pytest.raises(ValueError, match="replaced or cut short"):
        f.poll()
    path.write_bytes(text[:ends[30]])
    f = FrameFollower(str(path))
    assert len(f.poll()) == 31
    other = text.replace(b"vasp", b"VASP", 1) if kind == "vasprun" else text.replace(b"10:00:00", b"11:00:00", 1)
    assert other != text
    with open(path, "r+b") as out:                      # a new run written over it in place, already longer
        out.write(other)
    with pytest.raises(ValueError, match="replaced while it was followed.*watch the new run"):
        f.poll()


def test_a_vasprun_step_left_open_before_the_next_is_refused(tmp_path):
    whole, text, ends, path = _written(tmp_path, "vasprun")
    close = text.index(b"</calculation>", ends[2])
    path.write_bytes(text[:close] + text[close + len(b"</calculation>"):])
    f = FrameFollower(str(path))
    with pytest.raises(ValueError, match="not closed before the next one"):
        f.poll()


def test_format_names():
    """VASP's and i-PI's names on the command line."""
    assert followed_format_name("outcar") == followed_format_name("vasp-out") == "ase:vasp-out"
    assert followed_format_name("vasprun") == followed_format_name("ase:vasp-xml") == "ase:vasp-xml"
    with pytest.raises(ValueError, match="--format vasp.*vasp-out.*vasp-xml"):
        followed_format_name("vasp")
    assert followed_format_name("ipi") == followed_format_name("i-PI") == "ipi"


def test_steps_given_back_by_an_interrupt_are_found_again_after_the_header(tmp_path):
    """The watch gives the steps of an interrupted update back (its position and count as before the poll, 0 for
    the first): the header is not read again as a step, and the same steps are found."""
    whole, text, ends, path = _written(tmp_path, "outcar")
    path.write_bytes(text[:ends[9]])
    f = FrameFollower(str(path))
    first = f.poll()
    f.position, f.frames = 0, 0
    again = f.poll()
    assert len(again) == 10 and again.starts.tolist() == first.starts.tolist()
    assert again.starts[0] == len(f.head) == text.index(b"\n", text.index(b"Iteration")) + 1


# ---------------------------------------------------------------------------------------------------------- i-PI
def _ipi_frames(path):
    """The text of an i-PI XYZ file and the byte where each frame ends."""
    text = path.read_bytes()
    lines = text.split(b"\n")
    natoms = int(lines[0])
    ends, pos = [], 0
    while pos < len(text):
        for _ in range(natoms + 2):
            pos = text.index(b"\n", pos) + 1
        ends.append(pos)
    return text, ends


@pytest.fixture(scope="module")
def classical_ipi_run(tmp_path_factory):
    """A real i-PI run of one bead (classical): the harmonic fcc crystal of tests/quantum (32 atoms, springs of 1
    eV/A^2) under a PILE_L thermostat at 50 K, 600 steps of 1 fs, a frame every 5 (121 frames): positions in A, forces
    and velocities in atomic units, each in its file."""
    pytest.importorskip("ipi")
    from tests.quantum.support import cached_ipi_run, harmonic_fcc
    return cached_ipi_run(tmp_path_factory, **harmonic_fcc(), n_beads=1, temperature=50.0, steps=600, stride=5,
                          seed=7, centroid=False)


IPI_KINDS = ("pos", "for", "vel")


def test_a_classical_ipi_run_written_out_of_step_is_followed_as_fit_fits_it(classical_ipi_run, tmp_path):
    """The run's three files written again in pieces, each file ahead of the others in turn and each piece ending
    inside a frame: a step is taken only once its frame is whole in all three files, every step once, in order; the
    times are the input's time step x the steps; every byte is read once; the constants of the last update equal
    those ``trajmodes fit`` fits (its reading, ``open_run``) to the same frames, and the temperature its velocities
    give."""
    from trajmodes.forceconstants import EffectiveForceConstants
    from trajmodes.workflows.reading import open_run
    src = classical_ipi_run
    whole = {k: _ipi_frames(src / f"sim.{k}_0.xyz") for k in IPI_KINDS}
    n = len(whole["pos"][1])
    assert n == 121 and all(len(e) == n for _, e in whole.values())
    (tmp_path / "input.xml").write_bytes((src / "input.xml").read_bytes())
    for k in IPI_KINDS:
        (tmp_path / f"sim.{k}_0.xyz").write_bytes(b"")         # i-PI opens its outputs when it starts

    def write_to(k, frames, half=True):
        """File ``k`` holds ``frames`` whole frames (and half of the next)."""
        text, ends = whole[k]
        cut = ends[frames - 1] if frames else 0
        if half and frames < n:
            cut += (ends[frames] - cut) // 2
        path = tmp_path / f"sim.{k}_0.xyz"
        with open(path, "ab") as out:
            out.write(text[path.stat().st_size:cut])

    w = Watch(WatchSettings(str(tmp_path / "sim.pos_0.xyz"), cutoff2=4.0, block_frames=4, segments=5, n_resamples=10,
                            target=1e-6))
    got = []
    for pos, frc, vel in ((30, 20, 25), (35, 50, 60), (100, n, n), (n, n, n)):
        write_to("pos", pos), write_to("for", frc), write_to("vel", vel)
        got.append(w.read_new())
        if len(got) == 1:
            w.refit()
    assert got == [20, 15, 65, n - 100]
    assert w.follower.format == "ipi"
    assert w.follower.bytes_read == sum(len(text) for text, _ in whole.values())
    last = w.refit()
    w.follower.close()
    run = open_run(str(src / "sim.pos_0.xyz")).trajectory
    assert run.md_timestep == pytest.approx(1e-3, rel=1e-9)
    np.testing.assert_allclose(w._series["time"], run.times, rtol=0, atol=1e-12)
    np.testing.assert_allclose(w._series["time"], np.arange(n) * 5e-3, rtol=0, atol=1e-9)
    fit = EffectiveForceConstants(cutoff2=4.0, segments=5, folds=last.estimator.folds).fit(run[last.first_frame:])
    np.testing.assert_allclose(last.estimator.params_[2], fit.params_[2], rtol=1e-9, atol=1e-12)
    assert np.isfinite(fit.temperature_) and last.estimator.temperature_ == pytest.approx(fit.temperature_, rel=1e-12)


def test_a_finished_ipi_run_read_a_few_frames_at_a_time_is_the_whole_run(classical_ipi_run):
    """A replay reads at most the frames asked for each update, from all three files: every step once, in order."""
    w = Watch(WatchSettings(str(classical_ipi_run / "sim.for_0.xyz"), cutoff2=4.0, block_frames=4, segments=5,
                            n_resamples=10))
    got = []
    while True:
        k = w.read_new(16)
        if not k:
            break
        got.append(k)
    w.follower.close()
    assert got == [16] * 7 + [9]
    np.testing.assert_allclose(w._series["time"], np.arange(121) * 5e-3, rtol=0, atol=1e-9)


def _hand_written_ipi(folder, *, beads=1, force_steps=None, steps=(0, 10, 20, 30)):
    from tests.quantum.support import write_ipi_file
    rng = np.random.default_rng(5)
    x = rng.random((len(steps), 2, 3))
    for b in range(beads):
        write_ipi_file(folder / f"sim.pos_{b}.xyz", x, species=["Ar", "Ar"], abc=(5, 5, 5, 90, 90, 90), steps=steps,
                       bead=b)
        fs = steps if force_steps is None else force_steps
        write_ipi_file(folder / f"sim.for_{b}.xyz", rng.random((len(fs), 2, 3)), species=["Ar", "Ar"],
                       abc=(5, 5, 5, 90, 90, 90), steps=fs, bead=b, quantity="forces", unit="atomic_unit")


def test_an_ipi_path_integral_run_is_refused_with_what_to_do(tmp_path):
    _hand_written_ipi(tmp_path, beads=2)
    with pytest.raises(ValueError, match=r"run of 2 beads.*classical i-PI.*trajmodes fit .*sim.pos_1.xyz"):
        FrameFollower(str(tmp_path / "sim.for_1.xyz")).poll()


def test_ipi_forces_of_another_stride_than_a_multiple_of_the_positions_or_no_file_are_refused(tmp_path):
    """Forces every 15 steps, positions every 10: few steps have both; refused naming both strides and the i-PI
    ``stride`` attribute to set (forces every 20 steps are taken: the test below)."""
    _hand_written_ipi(tmp_path, force_steps=(0, 15, 30, 45))
    with pytest.raises(ValueError, match=r"sim.for_0.xyz is written every 15 steps and sim.pos_0.xyz every 10: .*"
                                         r"set the stride attribute of the forces <trajectory> .* to 10"):
        FrameFollower(str(tmp_path / "sim.pos_0.xyz")).poll()
    (tmp_path / "sim.for_0.xyz").unlink()
    with pytest.raises(ValueError, match=r"no forces file beside it.*filename=\"for\""):
        FrameFollower(str(tmp_path / "sim.pos_0.xyz")).poll()


def test_ipi_steps_given_back_by_an_interrupt_are_found_again(tmp_path):
    """The follower goes back to its state before a poll (an interrupted update): the same steps, with the forces
    file's frames kept for them, are found by the next poll."""
    _hand_written_ipi(tmp_path, steps=(0, 10, 20, 30, 40))
    f = FrameFollower(str(tmp_path / "sim.pos_0.xyz"))
    first = f.poll(2)
    state = f.mark()
    second = f.poll(2)
    f.rewind(state)
    again = f.poll()
    assert len(first) == 2 and again.starts.tolist() == second.starts.tolist() + [again.starts[-1]]
    assert len(again) == 3 and f.frames == 5
    forces = (tmp_path / "sim.for_0.xyz").read_bytes()
    assert Path(f.take(again)).with_name("sim.for_0.xyz").read_bytes() == forces[_ipi_frames(
        tmp_path / "sim.for_0.xyz")[1][1]:]
    f.close()


@pytest.mark.parametrize("name", ["cu32_xu.lammpstrj", "cu32.extxyz"])
def test_every_byte_of_a_growing_file_is_read_once(tmp_path, name):
    """A file appended in pieces cut inside frames (and inside a line): the bytes read, all polls together, are the
    file's, once each (the frames copied as they are read, the half frame kept for the next poll), and the private
    files hold every frame once."""
    text = (Path(__file__).parents[1] / "data" / name).read_bytes()
    path = tmp_path / name
    path.write_bytes(b"")
    f = FrameFollower(str(path))
    copied, cuts = [], [len(text) * k // 7 + 3 for k in range(1, 7)] + [len(text)]
    for cut in cuts:
        with open(path, "ab") as out:
            out.write(text[path.stat().st_size:cut])
        new = f.poll()
        if len(new):
            copied.append(Path(f.take(new)).read_bytes())
    f.close()
    assert len(copied) >= 5 and b"".join(copied) == text
    assert f.bytes_read == len(text)


def test_no_update_before_the_error_bars_have_their_four_blocks(tmp_path):
    """A run of 3 blocks of frames (24 steps of 8 per block; the block bootstrap of the error bars needs 4 time
    segments) gives no update and no error when it stops growing; at 4 blocks (32 steps) the first update comes."""
    whole, text, ends, path = _written(tmp_path, "outcar")
    path.write_bytes(text[:ends[23]])
    s = WatchSettings(str(path), cutoff2=2.6, n_resamples=10, idle=0, poll=0.01)
    assert list(Watch(s).follow()) == []
    path.write_bytes(text[:ends[31]])
    updates = list(Watch(s).follow())
    assert [u.frames_read for u in updates] == [32]


def test_a_lammps_write_that_ends_in_the_next_frames_first_item_takes_the_frame_before_alone(tmp_path):
    """A write that ends a few bytes into the next frame's first line (``ITEM: T``, too short to be known as an item):
    the frame before is taken as it is, without those bytes, and the next frame is taken whole at the next poll."""
    import re
    text = (Path(__file__).parents[1] / "data" / "cu32_xu.lammpstrj").read_bytes()
    bounds = [m.start() for m in re.finditer(rb"(?m)^ITEM: TIMESTEP", text)] + [len(text)]
    path = tmp_path / "grow.lammpstrj"
    path.write_bytes(text[:bounds[3] + 7])
    f = FrameFollower(str(path))
    first = f.poll()
    assert first.ends.tolist() == bounds[1:4] and Path(f.take(first)).read_bytes() == text[:bounds[3]]
    with open(path, "ab") as out:
        out.write(text[bounds[3] + 7:bounds[5]])
    second = f.poll()
    assert second.ends.tolist() == bounds[4:6] and Path(f.take(second)).read_bytes() == text[bounds[3]:bounds[5]]
    assert f.bytes_read == bounds[5]
    f.close()


def test_a_replay_reads_on_past_a_frame_longer_than_the_frames_before(tmp_path):
    """A replay reads about the bytes of the frames it asks for, sized from the frames seen; a later frame 200 times
    longer is read to its end (the bytes asked grow while no frame ends in them) and taken whole."""
    import threading
    rows = lambda n: "".join(f"Ar {k:.6f} 0.000000 0.000000\n" for k in range(n))  # noqa: E731
    frames = [f"{n}\nTime={k}\n{rows(n)}" for k, n in enumerate((2, 2, 2, 400, 2))]
    path = tmp_path / "run.xyz"
    path.write_text("".join(frames))
    f = FrameFollower(str(path))
    got = []
    reader = threading.Thread(target=lambda: got.extend(len(f.poll(1)) for _ in range(5)), daemon=True)
    reader.start()
    reader.join(timeout=60)
    assert not reader.is_alive(), "the poll did not come back (it read the same bytes again and again)"
    assert got == [1] * 5 and f.bytes_read == path.stat().st_size
    f.close()


def test_an_ipi_file_whose_comment_line_is_not_written_yet_is_not_taken_for_plain_xyz(tmp_path):
    """The first poll finds only the atom count line: the format waits for the comment line (i-PI's cell), and the
    run is then followed as i-PI's, joined to its forces."""
    _hand_written_ipi(tmp_path)
    pos = tmp_path / "sim.pos_0.xyz"
    text = pos.read_bytes()
    pos.write_bytes(text[:text.index(b"\n") + 5])
    f = FrameFollower(str(pos))
    assert len(f.poll()) == 0 and f.format is None
    pos.write_bytes(text)
    assert len(f.poll()) == 4 and f.format == "ipi"
    f.close()


@pytest.mark.parametrize("written", [b"", b"\n", b"ITE", b"ITEM: TIMES"])
def test_a_file_whose_first_line_is_not_written_yet_is_waited_for(tmp_path, written):
    """The MD program has created the file (empty) or written part of its first line: the watch waits for it, and
    the format is found once the line has ended."""
    path = tmp_path / "run.lammpstrj"
    path.write_bytes(written)
    f = FrameFollower(str(path))
    assert len(f.poll()) == 0 and f.format is None
    path.write_bytes(b"ITEM: TIMESTEP\n0\n")
    assert len(f.poll()) == 0 and f.format == "lammps-dump"


def test_an_ipi_run_restarted_from_an_earlier_checkpoint_is_followed_once(classical_ipi_run, tmp_path):
    """i-PI restarted from a checkpoint older than its last frames (a crash: the checkpoint at step 200, the files
    already at step 300) writes steps 200 to 300 again in every file: those frames are left out with a warning in
    every file alike, the first of each step kept, and every step of the run is taken once at its time (the watch
    stopped at the first repeated frame: "time goes back")."""
    src = classical_ipi_run
    (tmp_path / "input.xml").write_bytes((src / "input.xml").read_bytes())
    for k in IPI_KINDS:
        text, ends = _ipi_frames(src / f"sim.{k}_0.xyz")
        (tmp_path / f"sim.{k}_0.xyz").write_bytes(text[:ends[60]] + text[ends[39]:])     # frames 0-60, 40-120
    whole = Watch(WatchSettings(str(src / "sim.pos_0.xyz"), cutoff2=4.0, block_frames=4, segments=5, n_resamples=10,
                                replay=True))
    w = Watch(WatchSettings(str(tmp_path / "sim.pos_0.xyz"), cutoff2=4.0, block_frames=4, segments=5,
                            n_resamples=10, replay=True))
    with pytest.warns(UserWarning, match="21 new frame.s. repeat MD steps already read"):
        while w.read_new(50):
            pass
    while whole.read_new(50):
        pass
    w.follower.close()
    whole.follower.close()
    assert w.growing.n_frames == whole.growing.n_frames == 121
    np.testing.assert_allclose(w._series["time"], whole._series["time"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(w._series["msd"], whole._series["msd"], rtol=0, atol=1e-12)


def test_an_ipi_run_whose_positions_are_in_bohr_takes_a_reference_in_angstrom(classical_ipi_run, tmp_path):
    """i-PI's default unit of positions is the bohr (``<trajectory filename="pos"> positions </trajectory>``): the
    frames are read in A, and so is a reference of the run (a LAMMPS data file, metal units): the watch fits the same
    constants as from the positions written in A (the reference was read in bohr, "its cell differs by 89 %", and no
    reference could be given)."""
    from trajmodes.io import read_structure
    from trajmodes.units import BOHR_A
    src = classical_ipi_run
    for name in ("input.xml", "sim.for_0.xyz", "sim.vel_0.xyz"):
        (tmp_path / name).write_bytes((src / name).read_bytes())
    out = []
    for line in (src / "sim.pos_0.xyz").read_text().splitlines():
        w = line.split()
        if line.lstrip().startswith("#"):
            assert "positions{angstrom}" in line
            line = line.replace("positions{angstrom}", "positions{atomic_unit}")
        elif len(w) == 4:
            line = w[0] + "".join(f" {float(x) / BOHR_A:.10e}" for x in w[1:])
        out.append(line)
    (tmp_path / "sim.pos_0.xyz").write_text("\n".join(out) + "\n")
    first = Watch(WatchSettings(str(src / "sim.pos_0.xyz"), cutoff2=4.0, replay=True))
    assert first.read_new(32)
    ref = first.ideal
    first.follower.close()
    _write_data(tmp_path / "data.lmp", ref)
    got = []
    for run in (src, tmp_path):
        w = Watch(WatchSettings(str(run / "sim.pos_0.xyz"), reference=str(tmp_path / "data.lmp"), cutoff2=4.0,
                                block_frames=4, segments=5, n_resamples=10, replay=True))
        got.append(list(w.follow())[-1].frequency)
    np.testing.assert_allclose(got[1], got[0], rtol=1e-6, atol=1e-6)
    assert read_structure(tmp_path / "data.lmp").cell[0, 0] == pytest.approx(ref.cell[0, 0])


def _write_data(path, structure) -> None:
    """A LAMMPS data file (atomic style, orthogonal box, one type) of ``structure``, in A."""
    c, pos = np.asarray(structure.cell, float), np.asarray(structure.positions - structure.origin, float)
    rows = "\n".join(f"{k + 1} 1 {x:.12f} {y:.12f} {z:.12f}" for k, (x, y, z) in enumerate(pos.tolist()))
    path.write_text(f"data\n\n{len(pos)} atoms\n1 atom types\n\n0 {c[0, 0]:.12f} xlo xhi\n0 {c[1, 1]:.12f} ylo yhi\n"
                    f"0 {c[2, 2]:.12f} zlo zhi\n\nMasses\n\n1 {float(structure.masses[0]):.8f}\n\nAtoms # atomic\n\n"
                    f"{rows}\n")


def test_a_finished_ipi_run_followed_without_replay_stops_at_its_last_step(classical_ipi_run):
    """A finished i-PI run followed as if live (no --replay, no --idle before the safety net here): its input's
    <total_steps> (600) is the step its files end at, so the watch stops after the update of its last frames and says
    why (it waited for frames that never come, until killed)."""
    w = Watch(WatchSettings(str(classical_ipi_run / "sim.pos_0.xyz"), cutoff2=4.0, block_frames=4, segments=5,
                            n_resamples=10, poll=0.05, idle=60.0))
    updates = list(w.follow())
    assert updates and updates[-1].frames_read == 121
    assert w.finished is not None and "<total_steps> 600" in w.finished and "step 600" in w.finished, w.finished


# ------------------------------------------------------------------------------ i-PI files written at other strides
def _ipi_selected(src, folder, kind, keep) -> None:
    """The file of ``kind`` of the run ``src`` written into ``folder`` with only its frames ``keep`` (indices)."""
    text, ends = _ipi_frames(src / f"sim.{kind}_0.xyz")
    starts = [0] + ends[:-1]
    (folder / f"sim.{kind}_0.xyz").write_bytes(b"".join(text[starts[i]:ends[i]] for i in keep))


def _fitted_as_fit(update, folder):
    """The constants and temperature ``trajmodes fit`` (its reading, ``open_run``) fits to the frames of the run in
    ``folder`` from the update's first frame, asserted equal to the update's."""
    from trajmodes.forceconstants import EffectiveForceConstants
    from trajmodes.workflows.reading import open_run
    run = open_run(str(folder / "sim.pos_0.xyz")).trajectory
    fit = EffectiveForceConstants(cutoff2=4.0, segments=5, folds=update.estimator.folds).fit(run[update.first_frame:])
    np.testing.assert_allclose(update.estimator.params_[2], fit.params_[2], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(update.estimator.temperature_, fit.temperature_, rtol=1e-12)
    return run


def _replayed(folder, **kw):
    w = Watch(WatchSettings(str(folder / "sim.pos_0.xyz"), cutoff2=4.0, block_frames=4, segments=5, n_resamples=10,
                            **dict(dict(replay=True), **kw)))
    return w, list(w.follow())


@pytest.mark.parametrize("written", ["every 10 steps", "once"])
def test_ipi_velocities_written_more_rarely_than_the_positions_are_left_out(classical_ipi_run, tmp_path, written):
    """Velocities every 10 steps (the positions every 5), or written once (stride="100000": the first step only): the
    run is fitted from its positions and forces, every step, as ``trajmodes fit`` fits the run written without
    velocities, the temperature unknown, and one line says why (before: "sim.vel_0.xyz has no frame of step 5 ...
    run it again", or, written once, the replay stalled at one frame: "holds 1 complete frames")."""
    src = classical_ipi_run
    (tmp_path / "without").mkdir()
    for folder in (tmp_path, tmp_path / "without"):
        (folder / "input.xml").write_bytes((src / "input.xml").read_bytes())
        for k in ("pos", "for"):
            (folder / f"sim.{k}_0.xyz").write_bytes((src / f"sim.{k}_0.xyz").read_bytes())
    _ipi_selected(src, tmp_path, "vel", range(0, 121, 2) if written != "once" else [0])
    said = (r"sim.vel_0.xyz is written every 10 steps, the positions every 5: the temperature is left unknown"
            if written != "once" else
            r"sim.vel_0.xyz holds no frame after step 0, while the positions have step \d+: the temperature is left "
            r"unknown")
    with pytest.warns(UserWarning, match=said) as caught:
        w, updates = _replayed(tmp_path)
    assert sum("temperature is left unknown" in str(c.message) for c in caught) == 1
    last = updates[-1]
    assert last.frames_read == 121 and np.isnan(last.temperature) and "T unknown" in last.table(0.05)
    np.testing.assert_allclose(w._series["time"], np.arange(121) * 5e-3, rtol=0, atol=1e-9)
    _fitted_as_fit(last, tmp_path / "without")
    with pytest.warns(UserWarning, match=said):      # trajmodes fit leaves them out alike (before: refused)
        _fitted_as_fit(last, tmp_path)


def test_ipi_velocities_written_once_do_not_hold_a_live_watch_past_the_runs_end(classical_ipi_run, tmp_path):
    """Followed live (no --replay, no --idle before the safety net here), a run whose velocities were written once:
    the watch waits for them while the run may still write them; once its input's <total_steps> is reached it leaves
    them out and fits every step (before: it waited for a velocities frame of step 5 forever)."""
    src = classical_ipi_run
    (tmp_path / "input.xml").write_bytes((src / "input.xml").read_bytes())
    for k in ("pos", "for"):
        (tmp_path / f"sim.{k}_0.xyz").write_bytes((src / f"sim.{k}_0.xyz").read_bytes())
    _ipi_selected(src, tmp_path, "vel", [0])
    w = Watch(WatchSettings(str(tmp_path / "sim.pos_0.xyz"), cutoff2=4.0, block_frames=4, segments=5,
                            n_resamples=10, poll=0.05, idle=60.0))
    with pytest.warns(UserWarning, match=r"sim.vel_0.xyz holds no frame after step 0.*temperature is left unknown"):
        updates = list(w.follow())
    assert updates[-1].frames_read == 121 and np.isnan(updates[-1].temperature)
    assert w.finished is not None and "<total_steps> 600" in w.finished


def test_ipi_forces_written_every_other_positions_step_fit_the_steps_with_both(classical_ipi_run, tmp_path):
    """Forces every 10 steps, positions and velocities every 5: the steps that have forces are fitted (61 of 121),
    with one line saying half the positions are unused, as ``trajmodes fit`` fits the run written with every file at
    a stride of 10, its temperature too, and as ``trajmodes fit`` fits the run itself (before: refused, "sim.for_0.xyz
    has no frame of step 5", by both)."""
    src = classical_ipi_run
    (tmp_path / "common").mkdir()
    for folder in (tmp_path, tmp_path / "common"):
        (folder / "input.xml").write_bytes((src / "input.xml").read_bytes())
    for k in IPI_KINDS:
        _ipi_selected(src, tmp_path / "common", k, range(0, 121, 2))
        if k != "for":
            (tmp_path / f"sim.{k}_0.xyz").write_bytes((src / f"sim.{k}_0.xyz").read_bytes())
    _ipi_selected(src, tmp_path, "for", range(0, 121, 2))
    with pytest.warns(UserWarning, match=r"sim.for_0.xyz is written every 10 steps, the positions every 5: only the "
                                         r"steps with forces are fitted, and 1 in 2 of the positions' frames \(50%\) "
                                         r"are unused; .* stride=\"5\"") as caught:
        w, updates = _replayed(tmp_path)
    assert sum("are unused" in str(c.message) for c in caught) == 1
    last = updates[-1]
    assert last.frames_read == 61 and np.isfinite(last.temperature)
    np.testing.assert_allclose(w._series["time"], np.arange(61) * 10e-3, rtol=0, atol=1e-9)
    _fitted_as_fit(last, tmp_path / "common")
    with pytest.warns(UserWarning, match=r"only the steps with forces are fitted, and 60 of the positions' 121 frames "
                                         r"\(50%\) are unused"):
        _fitted_as_fit(last, tmp_path)           # trajmodes fit reads the same steps of the run (before: refused)


def test_an_ipi_velocities_file_behind_the_positions_is_waited_for_and_named(tmp_path):
    """While the run is written, velocities behind the positions (their next step may still come) are waited for: no
    step is taken before the velocities are known to have the positions' steps, a wait that lasts a poll names the
    file and its last step, and the steps are taken with the velocities once written; where the files are whole
    (a replay, the run ended), velocities that end before the positions' steps are left out instead."""
    from tests.quantum.support import write_ipi_file
    _hand_written_ipi(tmp_path, steps=(0, 10, 20, 30))
    v = np.random.default_rng(2).random((4, 2, 3))
    kw = dict(species=["Ar", "Ar"], abc=(5, 5, 5, 90, 90, 90), quantity="velocities", unit="atomic_unit")
    write_ipi_file(tmp_path / "sim.vel_0.xyz", v[:1], steps=(0,), **kw)
    f = FrameFollower(str(tmp_path / "sim.pos_0.xyz"))
    assert len(f.poll()) == 0
    with pytest.warns(UserWarning, match=r"waiting for sim.vel_0.xyz: its last frame is step 0, the positions' is "
                                         r"step 30"):
        assert len(f.poll()) == 0
    write_ipi_file(tmp_path / "sim.vel_0.xyz", v, steps=(0, 10, 20, 30), **kw)
    got = f.poll()
    assert len(got) == 4 and Path(f.take(got)).with_name("sim.vel_0.xyz").read_bytes() == (
        tmp_path / "sim.vel_0.xyz").read_bytes()
    f.close()
    write_ipi_file(tmp_path / "sim.vel_0.xyz", v[:1], steps=(0,), **kw)
    f = FrameFollower(str(tmp_path / "sim.pos_0.xyz"))
    f.ended = True
    with pytest.warns(UserWarning, match=r"sim.vel_0.xyz holds no frame after step 0, while the positions have step "
                                         r"30: the temperature is left unknown"):
        got = f.poll()
    assert len(got) == 4 and not Path(f.take(got)).with_name("sim.vel_0.xyz").exists()
    assert Path(f.take(got)).with_name("sim.for_0.xyz").exists()
    f.close()
