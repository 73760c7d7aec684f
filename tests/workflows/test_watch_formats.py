"""``trajmodes watch`` of VASP's OUTCAR and vasprun.xml (tests/support/dft_outputs writes them in VASP 6's layout):
the file appended in pieces cut inside an ionic step, every step taken once and none half, the header (masses, POTIM)
read once and given to every update, the constants equal to ``fit`` of the same steps; files that do not grow step
after step, and i-PI runs, refused with what to do."""
from __future__ import annotations

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


def test_format_names_and_ipi_runs():
    """VASP's names on the command line; i-PI's trajectory files are refused naming what to do."""
    assert followed_format_name("outcar") == followed_format_name("vasp-out") == "ase:vasp-out"
    assert followed_format_name("vasprun") == followed_format_name("ase:vasp-xml") == "ase:vasp-xml"
    with pytest.raises(ValueError, match="--format vasp.*vasp-out.*vasp-xml"):
        followed_format_name("vasp")


def test_an_ipi_trajectory_is_refused_with_what_to_do(tmp_path):
    path = tmp_path / "sim.pos_0.xyz"
    path.write_text("2\n# CELL(abcABC):   10.0  10.0  10.0  90.0  90.0  90.0  Step: 0  Bead: 0 x_centroid{angstrom}"
                    "  cell{angstrom}\nAr 0 0 0\nAr 1 1 1\n")
    with pytest.raises(ValueError, match="i-PI.*trajmodes fit"):
        FrameFollower(str(path)).poll()


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
