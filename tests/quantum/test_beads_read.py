"""Path-integral runs read as trajectories with a bead axis: i-PI's per-bead files (units from the comment lines,
the cell from CELL(abcABC), forces and velocities joined by step), LAMMPS fix pimd/langevin dumps, the centroid
across the cell boundary, the refusals, one parse of every bead file per pooled read, and real runs of i-PI
(a harmonic crystal: forces -H u exactly) and LAMMPS."""
import math
import shutil
from collections import Counter

import dask
import numpy as np
import pytest

import trajmodes
from tests.quantum.support import (cached_ipi_run, harmonic_fcc, lammps_pimd_run, write_ipi_file, write_ipi_input)
from trajmodes.errors import TrajectoryFormatError
from trajmodes.io.trajectories.ipi import IPIFile, IPISource
from trajmodes.io import find_beads
from trajmodes.units import BOHR_A, HARTREE_EV

#: hexagonal cell of the hand-written files, Bohr and degrees
ABC = (6.0, 6.0, 9.0, 90.0, 90.0, 120.0)
SPECIES = ["Mg", "O", "O"]


def _run(folder, n_beads=2, n_frames=4, steps=None, atoms=3, seed=0, forces=True, unit="atomic_unit"):
    """A hand-written i-PI run: positions and forces of every bead in ``unit``, the cell in Bohr; returns the
    arrays written."""
    rng = np.random.default_rng(seed)
    steps = list(range(0, 10 * n_frames, 10)) if steps is None else steps
    x = rng.uniform(0.5, 5.0, (n_beads, n_frames, atoms, 3))
    f = rng.normal(0, 0.01, (n_beads, n_frames, atoms, 3))
    for b in range(n_beads):
        write_ipi_file(folder / f"sim.pos_{b}.xyz", x[b], species=SPECIES[:atoms], abc=ABC, steps=steps, bead=b,
                       unit=unit, cell_unit="atomic_unit")
        if forces:
            write_ipi_file(folder / f"sim.for_{b}.xyz", f[b], species=SPECIES[:atoms], abc=ABC, steps=steps, bead=b,
                           quantity="forces", unit="atomic_unit", cell_unit="atomic_unit")
    write_ipi_input(folder, n_beads=n_beads)
    return x, f


def test_atomic_units_are_converted_and_the_cell_is_read_from_abc(tmp_path):
    x, f = _run(tmp_path)
    run = trajmodes.read_beads(tmp_path / "sim.pos_1.xyz")
    assert run.n_beads == 2 and run.n_frames == 4 and run.n_atoms == 3
    assert run.temperature == 100.0 and run.describe() == "i-PI path-integral run: 2 beads at 100 K (input.xml)"
    pos, frc = dask.compute(run.positions, run.forces)
    # written with 8 significant digits
    np.testing.assert_allclose(pos, x.transpose(1, 0, 2, 3) * BOHR_A, rtol=1e-7)
    np.testing.assert_allclose(frc, f.transpose(1, 0, 2, 3) * HARTREE_EV / BOHR_A, rtol=1e-7, atol=1e-12)
    a, c = 6.0 * BOHR_A, 9.0 * BOHR_A
    cell = run.beads[0].read([0]).cells[0]
    np.testing.assert_allclose(cell, [[a, 0, 0], [-a / 2, a * math.sqrt(3) / 2, 0], [0, 0, c]], atol=1e-12)
    np.testing.assert_array_equal(run.steps, [0, 10, 20, 30])
    np.testing.assert_allclose(run.times, np.array([0, 10, 20, 30]) * 0.5e-3)      # 0.5 fs steps from input.xml
    assert run.masses[0] == pytest.approx(24.305, abs=0.01)


def test_angstrom_files_are_read_as_they_are(tmp_path):
    x = np.array([[[0.5, 1.0, 1.5]], [[2.0, 2.5, 3.0]]])
    write_ipi_file(tmp_path / "sim.pos_0.xyz", x, species=["H"], abc=(4, 4, 4, 90, 90, 90), steps=[0, 5])
    write_ipi_input(tmp_path, n_beads=1)
    t = trajmodes.read(tmp_path / "sim.pos_0.xyz")
    assert isinstance(t.source, IPISource) and t.source.fields == ("positions",)
    np.testing.assert_allclose(t.read().positions, x)
    np.testing.assert_allclose(t.read().cells[1], np.eye(3) * 4.0)


def test_find_beads_from_any_file_or_the_prefix(tmp_path):
    _run(tmp_path, n_beads=3)
    write_ipi_file(tmp_path / "sim.xc.xyz", np.zeros((4, 3, 3)), species=SPECIES, abc=ABC, steps=[0, 10, 20, 30],
                   quantity="x_centroid", unit="atomic_unit", cell_unit="atomic_unit")
    want = tuple(str(tmp_path / f"sim.pos_{b}.xyz") for b in range(3))
    for given in ("sim.pos_2.xyz", "sim.for_0.xyz", "sim.xc.xyz", "sim"):
        files = find_beads(tmp_path / given)
        assert files.paths == want and files.kind == "ipi", given
        assert files.centroid == str(tmp_path / "sim.xc.xyz") and files.stated_beads == 3


def test_padded_bead_names_sort_by_bead(tmp_path):
    x = np.zeros((1, 1, 3))
    for b in range(11):
        write_ipi_file(tmp_path / f"sim.pos_{b:02d}.xyz", x + b, species=["H"], abc=(4, 4, 4, 90, 90, 90), steps=[0],
                       bead=b)
    write_ipi_input(tmp_path, n_beads=11)
    run = trajmodes.read_beads(tmp_path / "sim")
    assert run.n_beads == 11
    np.testing.assert_allclose(run.positions.compute()[0, :, 0, 0], np.arange(11.0))


def test_the_centroid_of_beads_across_the_boundary_is_whole(tmp_path):
    """Bead 0 at x = 0.1, bead 1 at x = L - 0.1 (its image at -0.1): the centroid is at 0, not at L / 2."""
    L = 8.0
    for b, x in enumerate((0.1, L - 0.1)):
        write_ipi_file(tmp_path / f"sim.pos_{b}.xyz", [[[x, 1.0, 2.0]]], species=["H"], abc=(L, L, L, 90, 90, 90),
                       steps=[0], bead=b)
    write_ipi_input(tmp_path)
    run = trajmodes.read_beads(tmp_path / "sim")
    np.testing.assert_allclose(run.centroid_positions().compute()[0, 0], [0.0, 1.0, 2.0], atol=1e-12)
    np.testing.assert_allclose(run.centroid.read().positions[0, 0], [0.0, 1.0, 2.0], atol=1e-12)


def test_missing_bead_is_refused(tmp_path):
    _run(tmp_path, n_beads=3)
    (tmp_path / "sim.pos_1.xyz").unlink()
    with pytest.raises(TrajectoryFormatError, match=r"sim\.pos_1\.xyz.*bead 1 of beads 0\.\.2 is missing"):
        find_beads(tmp_path / "sim.pos_0.xyz")


def test_nbeads_of_the_input_must_be_the_files(tmp_path):
    _run(tmp_path, n_beads=2)
    write_ipi_input(tmp_path, n_beads=4)
    with pytest.raises(TrajectoryFormatError, match=r"input\.xml.*<nbeads> is 4, but 2 bead files"):
        trajmodes.read_beads(tmp_path / "sim")


@pytest.mark.parametrize("what", ["frames", "atoms", "steps"])
def test_beads_of_other_frames_atoms_or_steps_are_refused(tmp_path, what):
    _run(tmp_path, n_beads=2)
    other = {"frames": dict(n_frames=3), "atoms": dict(atoms=2), "steps": dict(steps=[5, 15, 25, 35])}[what]
    (tmp_path / "b").mkdir()
    _run(tmp_path / "b", n_beads=1, **other)
    shutil.copy(tmp_path / "b" / "sim.pos_0.xyz", tmp_path / "sim.pos_1.xyz")
    (tmp_path / "sim.for_1.xyz").unlink()
    message = {"frames": "bead 1 has 3 frames, bead 0 4", "atoms": "bead 1 has 2 atoms, bead 0 3",
               "steps": "bead 1: frame 0 is step 5, bead 0's is step 0"}[what]
    with pytest.raises(TrajectoryFormatError, match=message):
        trajmodes.read_beads(tmp_path / "sim")


def test_forces_without_the_positions_steps_are_refused(tmp_path):
    _run(tmp_path, n_beads=1)
    f = np.zeros((2, 3, 3))
    write_ipi_file(tmp_path / "sim.for_0.xyz", f, species=SPECIES, abc=ABC, steps=[0, 15], quantity="forces",
                   unit="ev/ang")         # (forces every 20 steps, a multiple of the positions' 10, are read)
    with pytest.raises(TrajectoryFormatError, match=r"sim\.for_0\.xyz: sim\.for_0\.xyz is written every 15 steps "
                                                    r"and sim\.pos_0\.xyz every 10"):
        trajmodes.read(tmp_path / "sim.pos_0.xyz")
    t = IPISource(tmp_path / "sim.pos_0.xyz", forces=False)         # the positions alone
    assert t.fields == ("positions",)


def test_a_forces_file_is_no_positions_file(tmp_path):
    f = np.zeros((1, 3, 3))
    write_ipi_file(tmp_path / "x.xyz", f, species=SPECIES, abc=ABC, steps=[0], quantity="forces", unit="ev/ang")
    write_ipi_input(tmp_path, prefix="x")
    with pytest.raises(TrajectoryFormatError, match="it holds forces, not positions"):
        trajmodes.read(tmp_path / "x.xyz")


def test_temperature_unknown_is_refused_where_needed_and_can_be_given(tmp_path):
    _run(tmp_path)
    write_ipi_input(tmp_path, temperature="")
    run = trajmodes.read_beads(tmp_path / "sim")
    assert run.temperature is None
    with pytest.raises(ValueError, match=r"the quantum free energy needs the temperature.*temperature=<K>"):
        run.require_temperature("the quantum free energy")
    assert trajmodes.read_beads(tmp_path / "sim", temperature=75.0).require_temperature() == 75.0
    write_ipi_input(tmp_path)                                                      # it states 100 K
    with pytest.raises(ValueError, match="temperature=75 K was given, but .*input.xml states 100 K"):
        trajmodes.read_beads(tmp_path / "sim", temperature=75.0)


def test_every_bead_file_is_parsed_once_per_pooled_read(tmp_path, monkeypatch):
    """Bead positions, forces and the centroid from them, computed together: each bead file's frames parsed once
    (counted at the file parser, as tests/cli/test_one_pass.py counts a dump's)."""
    _run(tmp_path, n_beads=3, n_frames=6)
    run = trajmodes.read_beads(tmp_path / "sim", chunk_frames=2)
    log = []
    real = IPIFile.read

    def counting(self, frames, out):
        log.append((self.path.rsplit("/", 1)[-1], tuple(np.asarray(frames).tolist())))
        return real(self, frames, out)
    monkeypatch.setattr(IPIFile, "read", counting)
    pos, frc, cen = dask.compute(run.positions, run.forces, run.centroid_positions(), optimize_graph=False)
    per = Counter((name, k) for name, frames in log for k in frames)
    want = {(f"sim.{kind}_{b}.xyz", k): 1 for kind in ("pos", "for") for b in range(3) for k in range(6)}
    assert per == want, per
    assert len(log) == 2 * 3 * 3                        # one parse per file and chunk of 2 frames
    monkeypatch.setattr(IPIFile, "read", real)
    np.testing.assert_allclose(cen, run.centroid.read().positions, atol=1e-12)     # the centroid source's own read


def test_the_commands_find_and_open_every_bead_file_once(tmp_path, monkeypatch):
    """What the commands read (:func:`~trajmodes.workflows.reading.open_run`): the run's files found once (one search
    of the folder) and every file's header read once, by its bead's source."""
    import trajmodes.io.trajectories.bead_files as beads
    from trajmodes.workflows.reading import open_run
    _run(tmp_path, n_beads=3)
    searches, opened = [], []
    search, init = beads.ipi_run_files, IPIFile.__init__
    monkeypatch.setattr(beads, "ipi_run_files", lambda path: searches.append(path) or search(path))
    monkeypatch.setattr(IPIFile, "__init__", lambda self, path: opened.append(str(path).rsplit("/", 1)[-1])
                        or init(self, path))
    run = open_run(str(tmp_path / "sim.pos_1.xyz")).ring
    assert run.n_beads == 3 and len(searches) == 1
    assert Counter(opened) == {f"sim.{kind}_{b}.xyz": 1 for kind in ("pos", "for") for b in range(3)}, opened


# ----------------------------------------------------------------------------------------------- real runs
@pytest.fixture(scope="session")
def harmonic_run(tmp_path_factory):
    crystal = harmonic_fcc()
    return crystal, cached_ipi_run(tmp_path_factory, **crystal, n_beads=4, temperature=50.0, steps=200, stride=10,
                                   seed=31415)


def test_a_real_ipi_run_reads_back(harmonic_run):
    """i-PI 3 on a harmonic fcc crystal (32 atoms, 4 beads, PILE_L at 50 K, 200 steps of 1 fs, a frame every 10):
    the beads, the temperature, the frames, and the forces written in Hartree/Bohr equal -H u of the Hessian given
    (to the 6 digits i-PI writes)."""
    crystal, folder = harmonic_run
    run = trajmodes.read_beads(folder / "sim.pos_0.xyz")
    assert run.n_beads == 4 and run.temperature == 50.0 and run.n_frames == 21 and run.n_atoms == 32
    assert run.describe() == "i-PI path-integral run: 4 beads at 50 K (input.xml)"
    assert run.beads[0].source.units == "metal" and run.beads[0].source._files["forces"].unit == "atomic_unit"
    np.testing.assert_array_equal(run.steps, np.arange(0, 201, 10))
    np.testing.assert_allclose(run.times, np.arange(21) * 0.01, atol=1e-12)
    x, f, v = dask.compute(run.positions, run.forces, run.velocities)
    u = x - crystal["positions"]
    want = -(u.reshape(21, 4, -1) @ crystal["hessian"].T).reshape(u.shape)
    assert np.abs(f - want).max() < 2e-4 * np.abs(want).max() + 1e-5
    np.testing.assert_allclose(run.beads[1].read([3]).cells[0], crystal["cell"], rtol=1e-6)
    # the centroid file agrees with the beads' average (5 decimals written)
    np.testing.assert_allclose(trajmodes.read(folder / "sim.xc.xyz").read().positions,
                               run.centroid_positions().compute(), atol=2e-4)
    # the beads' velocities: the ring polymer at P T, mean kinetic energy 3/2 k_B P T per atom (roughly, 84 samples)
    ke = 0.5 * (crystal["masses"][None, None, :, None] * v ** 2).sum(-1).mean() * trajmodes.units.AMU_A2_PS2_EV
    assert ke / (1.5 * trajmodes.units.KB_EV * 4 * 50.0) == pytest.approx(1.0, rel=0.35)


def test_a_real_lammps_pimd_run_reads_back(tmp_path):
    """LAMMPS fix pimd/langevin, 2 partitions (beads) of LJ argon (108 atoms), 200 steps: the dumps found from one,
    the temperature and time step from in.pimd, the masses from its mass command."""
    lammps_pimd_run(tmp_path, n_beads=2, steps=200, stride=10)
    files = find_beads(tmp_path / "dump.pimd.1")
    assert files.kind == "lammps" and files.n_beads == 2 and files.temperature == 50.0 and files.md_timestep == 0.002
    assert files.describe() == "LAMMPS fix pimd path-integral run: 2 beads at 50 K (in.pimd)"
    run = trajmodes.read_beads(tmp_path / "dump.pimd.0")
    assert run.n_beads == 2 and run.n_frames == 21 and run.n_atoms == 108
    np.testing.assert_allclose(run.times, np.arange(21) * 0.02, atol=1e-12)
    np.testing.assert_allclose(run.masses, 39.948)
    x, f = dask.compute(run.positions, run.forces)
    assert x.shape == (21, 2, 108, 3) and np.isfinite(f).all() and np.abs(f[1:]).max() > 0
    (tmp_path / "dump.pimd.1").unlink()
    with pytest.raises(TrajectoryFormatError, match=r"in\.pimd: the input runs 2 partitions \(beads\), but 1 dumps"):
        trajmodes.read_beads(tmp_path / "dump.pimd.0")
