"""GPUMD's path-integral output read as a run with beads: ``beads_dump_K.xyz`` (one extended XYZ file per bead,
``Time=`` in fs, velocities in A/fs) beside run.in (``ensemble pimd|rpmd|trpmd P ...``, ``time_step``,
``dump_beads``) and model.xyz. The data (tests/data/gpumd_pimd, its README) is an exact RPMD trajectory of a harmonic
fcc crystal written in GPUMD's format: the bead fit gives the crystal's constants to the 8 decimals written."""
from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import dask
import numpy as np
import pytest

import trajmodes
from tests.quantum.support import harmonic_fcc
from trajmodes.errors import TrajectoryFormatError
from trajmodes.io.trajectories.xyz import XYZSource
from trajmodes.io import find_beads
from trajmodes.units import AMU_A2_PS2_EV, KB_EV

DATA = Path(__file__).resolve().parents[1] / "data" / "gpumd_pimd"
CRYSTAL = harmonic_fcc()
P, T = 4, 50.0


def _reference():
    c = CRYSTAL
    return trajmodes.Crystal(c["cell"], c["positions"], list(c["species"]), c["masses"])


@pytest.fixture
def run_copy(tmp_path):
    """A copy of the run to break."""
    folder = tmp_path / "run"
    shutil.copytree(DATA, folder, ignore=shutil.ignore_patterns("*.py", "*.md", "*.tmidx.npz"))
    return folder


def _run_in(folder, text):
    (folder / "run.in").write_text(text)


def test_the_beads_are_found_from_any_bead_file_or_the_folder():
    want = tuple(str(DATA / f"beads_dump_{k}.xyz") for k in range(P))
    for given in (DATA / "beads_dump_2.xyz", DATA / "beads_dump_0.xyz", DATA):
        files = find_beads(given)
        assert files.kind == "gpumd" and files.paths == want, given
        assert files.stated_beads == P and files.temperature == T and files.md_timestep == pytest.approx(1e-3)
        assert files.input == str(DATA / "run.in") and files.stated_frames == 4
    assert files.describe() == "GPUMD path-integral run: 4 beads at 50 K (run.in)"
    found = trajmodes.io.identify(DATA / "beads_dump_1.xyz")
    assert found.kind == "path-integral" and found.format == "gpumd-beads" and found.beads.paths == want


def test_positions_velocities_forces_and_times_in_metal_units():
    """rpmd takes T2 of the pimd line before it; Time= (fs, accumulated over run.in's runs: 1000 steps of
    equilibration, then a frame every 10) read in ps; the velocities (A/fs) in A/ps: they are the exact derivative of
    the positions, and the forces -H u exactly."""
    run = trajmodes.read_beads(DATA / "beads_dump_0.xyz")
    assert run.n_beads == P and run.n_frames == 4 and run.n_atoms == 32 and run.temperature == T
    assert run.temperature_from == str(DATA / "run.in")
    np.testing.assert_allclose(run.times, [1.01, 1.02, 1.03, 1.04], atol=1e-12)
    np.testing.assert_allclose(run.masses, 39.948)                       # model.xyz's mass column
    x, v, f = dask.compute(run.positions, run.velocities, run.forces)
    assert x.shape == v.shape == f.shape == (4, P, 32, 3)
    np.testing.assert_allclose(run.beads[0].read([0]).cells[0], CRYSTAL["cell"], atol=1e-12)
    u = x - CRYSTAL["positions"]
    np.testing.assert_allclose(f, -(u.reshape(4, P, -1) @ CRYSTAL["hessian"]).reshape(u.shape), atol=2e-7)
    # A/ps: the central difference of the positions 10 fs apart matches the middle frames' velocities to O(dt^2)
    central = (x[2] - x[0]) / 0.02
    assert np.abs(central - v[1]).max() < 0.05 * np.abs(v[1]).max()
    assert 0.3 < np.abs(v).max() < 30                                   # A/ps (0.3-30 A/fs would be 1000 x this)
    # the ring polymer's momenta are at P T: 3/2 k_B P T per atom (roughly, 16 bead configurations of 32 atoms)
    ke = 0.5 * (run.masses[None, None, :, None] * v ** 2).sum(-1).mean() * AMU_A2_PS2_EV
    assert ke / (1.5 * KB_EV * P * T) == pytest.approx(1.0, rel=0.25)


def test_the_bead_fit_returns_the_crystals_constants():
    """The beads' configurations with their forces, pooled: the fit of the quantum ensemble gives the harmonic
    crystal's own constants (to the 8 decimals GPUMD writes)."""
    from trajmodes import EffectiveForceConstants, ForceConstants
    ref = _reference()
    run = trajmodes.read_beads(DATA, reference=ref)
    fit = EffectiveForceConstants(cutoff2=4.0).fit(run.pooled)
    n = len(CRYSTAL["positions"])
    truth = ForceConstants(CRYSTAL["hessian"].reshape(n, 3, n, 3).transpose(0, 2, 1, 3), ref)
    rel = np.abs(fit.force_constants_.full() - truth.full()).max() / np.abs(truth.full()).max()
    print(f"fit over {P} x {run.n_frames} bead configurations: largest relative error {rel:.1e}")
    assert rel < 1e-6


def test_a_bead_file_read_alone_is_in_metal_units():
    t = trajmodes.read(DATA / "beads_dump_3.xyz")
    assert isinstance(t.source, XYZSource) and "GPUMD's dump_beads" in t.source.time_axis
    np.testing.assert_allclose(t.times, [1.01, 1.02, 1.03, 1.04], atol=1e-12)
    raw = float((DATA / "beads_dump_3.xyz").read_text().splitlines()[2].split()[4])      # A/fs as written
    assert t.read([0]).velocities[0, 0, 0] == pytest.approx(raw * 1000.0)


def test_model_xyz_masses_are_the_atoms(run_copy):
    lines = (run_copy / "model.xyz").read_text().splitlines()
    (run_copy / "model.xyz").write_text("\n".join(lines[:2] + [ln.replace("39.94800000", "36.00000000")
                                                                 for ln in lines[2:]]) + "\n")
    np.testing.assert_allclose(trajmodes.read_beads(run_copy).masses, 36.0)
    lines[2] = lines[2].replace("Ar", "Ne")
    (run_copy / "model.xyz").write_text("\n".join(lines) + "\n")
    with pytest.raises(TrajectoryFormatError, match=r"model\.xyz.*line 3.*atom 1 is Ne, in the bead files Ar"):
        trajmodes.read_beads(run_copy)


def test_a_missing_bead_is_refused(run_copy):
    (run_copy / "beads_dump_1.xyz").unlink()
    with pytest.raises(TrajectoryFormatError, match=r"beads_dump_1\.xyz.*bead 1 of beads 0\.\.3 is missing"):
        find_beads(run_copy / "beads_dump_0.xyz")


def test_a_bead_count_other_than_run_ins_is_refused(run_copy):
    _run_in(run_copy, (DATA / "run.in").read_text().replace("pimd 4", "pimd 8").replace("rpmd 4", "rpmd 8"))
    with pytest.raises(TrajectoryFormatError, match=r"run\.in, line 11: ensemble rpmd runs 8 beads, but 4 bead files"):
        trajmodes.read_beads(run_copy / "beads_dump_0.xyz")


@pytest.mark.parametrize("what", ["frames", "times"])
def test_beads_of_other_frames_or_times_are_refused(run_copy, what):
    path = run_copy / "beads_dump_2.xyz"
    lines = path.read_text().splitlines(keepends=True)
    if what == "frames":
        path.write_text("".join(lines[:3 * 34]))
        message = r"beads_dump_2\.xyz.*bead 2 has 3 frames, bead 0 4"
    else:
        path.write_text("".join(ln.replace("Time=1020.0", "Time=1019.0") for ln in lines))
        message = r"beads_dump_2\.xyz.*bead 2: frame 1 is at 1.019 ps, bead 0's at 1.02 ps"
    with pytest.raises(TrajectoryFormatError, match=message):
        trajmodes.read_beads(run_copy)


def test_frames_appended_by_an_earlier_run_are_refused(run_copy):
    for k in range(P):
        path = run_copy / f"beads_dump_{k}.xyz"
        text = path.read_text()
        path.write_text(text + text)                     # GPUMD appends: the same run twice, time starts again
    with pytest.raises(TrajectoryFormatError, match=r"time goes back.*GPUMD opens beads_dump_K\.xyz for appending"):
        trajmodes.read_beads(run_copy)
    _run_in(run_copy, (DATA / "run.in").read_text().replace("run           40", "run           20"))
    for k in range(P):                                   # 4 frames where run.in writes 2
        path = run_copy / f"beads_dump_{k}.xyz"
        path.write_text(path.read_text()[:len(path.read_text()) // 2])
    with pytest.raises(TrajectoryFormatError, match=r"4 frames, but the runs with dump_beads of .*run\.in write 2"):
        trajmodes.read_beads(run_copy)


@pytest.mark.parametrize("case", ["no run.in", "no dump_beads", "ramp", "rpmd first"])
def test_without_a_temperature_what_needs_it_says_why_and_how_to_give_it(run_copy, case):
    text = (DATA / "run.in").read_text()
    if case == "no run.in":
        (run_copy / "run.in").unlink()
        why = r"no run\.in beside beads_dump_0\.xyz"
    elif case == "no dump_beads":
        _run_in(run_copy, text.replace("dump_beads    10 1 1", ""))
        why = r"run\.in: it has no run with dump_beads and a path-integral ensemble"
    elif case == "ramp":
        _run_in(run_copy, text.replace("ensemble      rpmd 4", "ensemble      pimd 4 50 80 100"))
        why = r"run\.in: line 11 ramps the temperature from 50 K to 80 K: the beads sample no one temperature"
    else:
        _run_in(run_copy, text.replace("ensemble      pimd 4 50 50 100", "ensemble      nvt_lan 50 50 100"))
        why = r"run\.in: ensemble rpmd \(line 11\) has no pimd line before it"
    run = trajmodes.read_beads(run_copy)
    assert run.temperature is None and run.n_beads == P
    with pytest.raises(ValueError, match=rf"the fit needs the temperature .*\({why}.*give temperature=<K> .*"
                                         r"\(--temperature\)"):
        run.require_temperature("the fit")
    assert trajmodes.read_beads(run_copy, temperature=60.0).require_temperature() == 60.0


def test_a_temperature_other_than_run_ins_is_refused():
    with pytest.raises(ValueError, match=r"temperature=70 K was given, but .*run\.in states 50 K"):
        trajmodes.read_beads(DATA, temperature=70.0)


def test_every_bead_file_is_parsed_once_per_pooled_read(monkeypatch):
    """Positions, velocities, forces and the centroid computed together: each bead file's frames parsed once."""
    from trajmodes.io.trajectories import xyz
    run = trajmodes.read_beads(DATA, chunk_frames=2)
    log = []
    real = xyz.XYZSource._parse_frame

    def counting(self, buf, off, lo, k, *args, **kwargs):
        log.append((Path(self.path).name, k))
        return real(self, buf, off, lo, k, *args, **kwargs)
    monkeypatch.setattr(xyz.XYZSource, "_parse_frame", counting)
    dask.compute(run.positions, run.velocities, run.forces, run.centroid_positions(), optimize_graph=False)
    assert Counter(log) == {(f"beads_dump_{b}.xyz", k): 1 for b in range(P) for k in range(4)}


def test_fit_on_the_command_line_pools_the_beads(tmp_path, capsys):
    from trajmodes.cli import main
    out = tmp_path / "fit"
    assert main(["fit", str(DATA), "--cutoff2", "4", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "GPUMD path-integral run: 4 beads at 50 K (run.in): the fit pools its 4 beads" in text
