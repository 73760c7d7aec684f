"""A DFT-MD run split over several files (restarts): VASP OUTCARs and vasprun.xml files of successive jobs, pw.x outputs
of a run and its restarts, ASE trajectories of a restarted ASE run, joined by trajmodes.read([...]) and the CLI into
one trajectory (trajmodes.io.trajectories.restarts.RestartedRun) under the rules of LAMMPS restarts.

Each case writes one run's frames (tests/support/dft_outputs.random_frames: what the formats carry, not physics) once
whole and once split, and the split files must read exactly as the whole file: positions, forces, energies,
pressure tensors, cells, MD steps and times, across Dask chunks that straddle the files. Files that are not one run
are refused, naming the file.
"""
from __future__ import annotations

import shutil
import warnings

import numpy as np
import pytest

pytest.importorskip("ase")
import ase.io  # noqa: E402

import trajmodes  # noqa: E402
from tests.support import dft_outputs  # noqa: E402
from tests.support.dft_outputs import frames_slice, random_frames  # noqa: E402
from trajmodes.errors import TrajectoryFormatError, TruncatedFrameWarning  # noqa: E402
from trajmodes.io.trajectories.espresso_format import PW_TIME_UNIT_PS  # noqa: E402
from trajmodes.io.trajectories.restarts import RestartedRun, first_of_each_step  # noqa: E402

N = 30
CUTS = (0, 10, 22, N)
NAMES = ("positions", "forces", "cells", "potential_energy", "pressure_tensor")


def _arrays(traj, names=NAMES) -> dict:
    import dask
    return dict(zip(names, dask.compute(*[getattr(traj, n) for n in names], scheduler="sync")))


def _same(joined, whole, names=NAMES, positions_atol: float = 0.0) -> None:
    """The joined run reads as the whole file (every array equal; positions to ``positions_atol`` A), with its steps
    and times."""
    assert joined.n_frames == whole.n_frames
    a, b = _arrays(joined, names), _arrays(whole, names)
    for name in names:
        tol = positions_atol if name == "positions" else 0.0
        assert np.abs(a[name] - b[name]).max() <= tol, name
    assert np.array_equal(joined.steps, whole.steps)
    assert np.allclose(joined.times, whole.times, rtol=1e-14, atol=0)


def _split(write, tmp_path, frames, name, cuts=CUTS, **kw) -> list:
    """The frames written whole (tmp_path/whole/name) and in parts (tmp_path/k/name)."""
    paths = []
    for k, (a, b) in enumerate(zip(cuts[:-1], cuts[1:])):
        (tmp_path / str(k)).mkdir()
        paths.append(write(tmp_path / str(k) / name, frames_slice(frames, a, b), **kw))
    (tmp_path / "whole").mkdir()
    return [write(tmp_path / "whole" / name, frames, **kw)] + paths


@pytest.mark.parametrize("kind", ["outcar", "vasprun"])
def test_vasp_jobs_join(tmp_path, kind):
    """The OUTCARs (vasprun.xml files) of three VASP jobs, each continuing the last (CONTCAR -> POSCAR), read as the
    job's whole file: steps go on from file to file, times are steps x POTIM; chunks straddle the files."""
    write, name = {"outcar": (dft_outputs.write_outcar, "OUTCAR"),
                   "vasprun": (dft_outputs.write_vasprun, "vasprun.xml")}[kind]
    whole, *parts = _split(write, tmp_path, random_frames(N), name, potim_fs=1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        joined = trajmodes.read(parts, chunk_frames=7)
    assert isinstance(joined.source, RestartedRun) and joined.source.paths == [str(p) for p in parts]
    assert joined.md_timestep == 0.001 and "POTIM" in joined.time_axis
    _same(joined, trajmodes.read(whole, chunk_frames=7))
    assert np.array_equal(joined.steps, np.arange(N))


def test_killed_vasp_job_and_its_restart(tmp_path):
    """A job killed inside an ionic step leaves its OUTCAR cut there: that frame is dropped (TruncatedFrameWarning),
    and the next job, which computes it again from the CONTCAR, continues the run."""
    frames = random_frames(N)
    whole, first, second = _split(dft_outputs.write_outcar, tmp_path, frames, "OUTCAR", cuts=(0, 12, N),
                                  potim_fs=1.0)
    text = first.read_text()
    first.write_text(text[:text.rindex("TOTAL-FORCE") + 400])       # killed in step 11's forces
    ahead = dft_outputs.write_outcar(tmp_path / "1" / "OUTCAR", frames_slice(frames, 11, N), potim_fs=1.0)
    with pytest.warns(TruncatedFrameWarning, match="0/OUTCAR: frame 11"):
        joined = trajmodes.read([first, ahead])
    _same(joined, trajmodes.read(whole))


@pytest.mark.parametrize("killed", [False, True])
def test_pwx_restarts_join(tmp_path, killed):
    """pw.x counts its iterations and time on across a restart (restart_mode = 'restart'): files given out of order
    are put in order (with a warning), and a run killed after an evaluation, which its restart evaluates again,
    leaves that step twice: the first is kept, silently (one repeat per junction is what a restart does). The
    restart prints no Time step line: the first file's gives the time step."""
    dt = 20 * PW_TIME_UNIT_PS
    frames = random_frames(N)
    (tmp_path / "whole").mkdir()
    whole = dft_outputs.write_espresso_out(tmp_path / "whole" / "md.pwo", frames, dt_ps=dt)
    cut = 12
    a = dft_outputs.write_espresso_out(tmp_path / "a.pwo", frames_slice(frames, 0, cut), dt_ps=dt,
                                       finished=not killed)
    start = cut - 1 if killed else cut
    b = dft_outputs.write_espresso_out(tmp_path / "b.pwo", frames_slice(frames, start), dt_ps=dt, first_step=start)
    with pytest.warns(UserWarning, match=r"given out of time order; reading them in the order of their first MD "
                                         r"step: a.pwo, b.pwo"):
        joined = trajmodes.read([b, a])
    assert joined.source.dropped == int(killed)
    assert joined.md_timestep == dt and "Time step = 20.00 a.u." in joined.time_axis
    _same(joined, trajmodes.read(whole), positions_atol=1e-6)    # a restart's first positions: alat units, %12.7f


def test_ase_md_restart_repeats_its_first_frame(tmp_path):
    """An ASE MD run restarted from the last frame of its .traj writes that frame again first: it is dropped; a
    file that does not repeat continues directly. frame_interval= applies to the joined run."""
    images = dft_outputs.ase_images(random_frames(N))
    paths = [tmp_path / f"md{k}.traj" for k in range(3)]
    ase.io.write(paths[0], images[:10])
    ase.io.write(paths[1], images[9:20])                           # restarted from frame 9
    ase.io.write(paths[2], images[20:])                            # continues without repeating
    ase.io.write(tmp_path / "whole.traj", images)
    joined = trajmodes.read(paths, frame_interval=0.002)
    assert joined.source.dropped == 1
    _same(joined, trajmodes.read(tmp_path / "whole.traj", frame_interval=0.002), NAMES + ("velocities",))
    assert joined.frame_interval == 0.002


def test_variable_cell_runs_join(tmp_path):
    """NPT-like frames (each frame's cell scaled by its own factor, 0.05% per frame) join across files."""
    frames = random_frames(N, scale=1 + 5e-4 * np.arange(N))
    whole, *parts = _split(dft_outputs.write_outcar, tmp_path, frames, "OUTCAR", potim_fs=1.0)
    _same(trajmodes.read(parts), trajmodes.read(whole))


def test_files_that_are_not_one_run(tmp_path):
    """Another atom count, species, masses, cell, time step, fields or format, or a pw.x run that counts its steps
    anew: each is refused, naming the file."""
    frames = random_frames(12)
    a = dft_outputs.write_outcar(tmp_path / "OUTCAR_a", frames_slice(frames, 0, 6), potim_fs=1.0)
    rest = frames_slice(frames, 6)

    def outcar(name, fr=rest, **kw):
        return dft_outputs.write_outcar(tmp_path / name, fr, **{"potim_fs": 1.0, **kw})

    swapped = dict(rest, symbols=["Ge"] + rest["symbols"][1:])
    bigger = dict(rest, cells=rest["cells"] * 1.01, positions=rest["positions"] * 1.01)
    cases = [(outcar("OUTCAR_species", swapped), r"OUTCAR_species: atom 1 is Ge, in .*OUTCAR_a it is Si"),
             (outcar("OUTCAR_mass", pomass={"Ge": 195.08}), r"OUTCAR_mass: the mass of atom 7 is 195.08 amu, in "
                                                           r".*OUTCAR_a 72.6\d* amu"),
             (outcar("OUTCAR_cell", bigger), r"OUTCAR_cell: the fixed cell of its first frame .* 1% apart, so it is "
                                             r"not a restart of that run"),
             (outcar("OUTCAR_dt", potim_fs=2.0), r"OUTCAR_dt: its MD time step is 2 fs, that of .*OUTCAR_a 1 fs"),
             (dft_outputs.write_vasprun(tmp_path / "vasprun.xml", rest, potim_fs=1.0),
              r"vasprun.xml: it is ase:vasp-xml, the first file \(.*OUTCAR_a\) ase:vasp-out")]
    for path, match in cases:
        with pytest.raises(TrajectoryFormatError, match=match):
            trajmodes.read([a, path])
    images = dft_outputs.ase_images(frames)
    ase.io.write(tmp_path / "a.traj", images[:6])
    ase.io.write(tmp_path / "short.traj", [im[:-1] for im in images[6:]])
    ase.io.write(tmp_path / "noforces.traj", dft_outputs.ase_images(rest, with_forces=False))
    for name, match in (("short.traj", r"short.traj: it has 7 atoms, .*a.traj has 8"),
                        ("noforces.traj", r"noforces.traj: its fields are positions, velocities, those of .*a.traj "
                                          r"positions, velocities, forces")):
        with pytest.raises(TrajectoryFormatError, match=match):
            trajmodes.read([tmp_path / "a.traj", tmp_path / name], frame_interval=0.001)
    dt = 20 * PW_TIME_UNIT_PS                                      # a new pw.x run from scratch: steps from 0 again
    p = dft_outputs.write_espresso_out(tmp_path / "a.pwo", frames_slice(frames, 0, 6), dt_ps=dt)
    q = dft_outputs.write_espresso_out(tmp_path / "b.pwo", rest, dt_ps=dt)
    with pytest.raises(TrajectoryFormatError, match=r"b.pwo, frame 0: its MD step 0 \(frame 0\) is also a step of "
                                                    r".*a.pwo, with other positions: it is not a restart"):
        trajmodes.read([p, q])


def test_first_of_each_step():
    """The LAMMPS rule: a frame is kept when its step is above every step before it."""
    assert first_of_each_step([0, 1, 2, 2, 3, 1, 4]).tolist() == [True, True, True, False, True, False, True]


def test_cli_reads_the_jobs_as_one_run(tmp_path, capsys):
    """trajmodes info OUTCAR_1 OUTCAR_2 OUTCAR_3: one run of all their frames."""
    from trajmodes.cli import main
    _, *parts = _split(dft_outputs.write_outcar, tmp_path, random_frames(N), "OUTCAR", potim_fs=1.0)
    files = []
    for k, p in enumerate(parts):
        files.append(tmp_path / f"OUTCAR_{k + 1}")
        shutil.copy(p, files[-1])
    assert main(["info"] + [str(f) for f in files]) == 0
    assert f"frames:     {N} (steps 0 .. {N - 1}), 0.001 ps between frames" in capsys.readouterr().out
