"""CP2K and GPAW trajectories through ase.io (trajmodes.io.trajectories.ase_reader, sequential access).

CP2K: its DCD trajectory (&MOTION / &PRINT / &TRAJECTORY FORMAT DCD_ALIGNED_CELL) is written by
tests/support/dft_outputs.write_cp2k_dcd in CP2K's layout (src/motion_utils.F, src/particle_methods.F): positions
(float32) and the cell (a, b, c, angles), no elements, no forces. GPAW: MD with GPAW runs through ASE's dynamics,
whose trajectories are ASE .traj files (read natively, tests/io/test_ase_reader.py); GPAW's text log holds each
SCF's positions, energy and forces, read here from the pieces of a GPAW 21.1 log that ASE's own tests use.
"""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("ase")
import ase.io  # noqa: E402

import trajmodes  # noqa: E402
from tests.support import dft_outputs  # noqa: E402
from trajmodes.io.trajectories.ase_reader import ASESource  # noqa: E402


def test_cp2k_dcd(tmp_path):
    """CP2K's DCD: positions to float32 precision (5e-7 A here), the cell when read as aligned (ASE's aligned=True,
    through ASESource's ase_kwargs), elements from species=; without aligned= there is no cell (ASE's rule: the
    cell of a DCD that was not written aligned does not match its coordinates)."""
    frames = dft_outputs.random_frames(6)
    p = dft_outputs.write_cp2k_dcd(tmp_path / "run-pos-1.dcd", frames, step_fs=1.0)
    src = ASESource(p, ase_format="cp2k-dcd", species=frames["symbols"], frame_interval=0.001,
                    ase_kwargs={"aligned": True})
    t = trajmodes.Trajectory(src, chunk_frames=4)
    assert (t.n_frames, src.access, tuple(t.species)) == (6, "sequential", tuple(frames["symbols"]))
    assert np.abs(t.positions.compute() - frames["positions"]).max() < 1e-6
    assert np.array_equal(t.cells.compute(), frames["cells"])
    assert t.forces is None and t.potential_energy is None
    plain = trajmodes.read(p, format="ase:cp2k-dcd", species=frames["symbols"], frame_interval=0.001)
    assert not plain.source.has_cell and np.allclose(plain.masses[-1], 72.61, atol=0.03)
    nameless = trajmodes.read(p, format="ase:cp2k-dcd", frame_interval=0.001)
    assert set(nameless.species) == {"X"} and nameless.masses is None


def test_gpaw_text_log(tmp_path):
    """A GPAW text log of three SCF configurations, each with forces (the pieces of ASE's GPAW 21.1 test log),
    reads as ase.io.read reads it: positions, cell, forces, energy."""
    gpaw = pytest.importorskip("ase.test.fio.test_gpaw")
    text = gpaw.header + gpaw.densities + (gpaw.atoms + gpaw.orbitals + gpaw.forces) * 3
    p = tmp_path / "gpaw.txt"
    p.write_text(text)
    t = trajmodes.read(p, format="ase:gpaw-out", frame_interval=0.001)
    ref = ase.io.read(p, index=":", format="gpaw-out")
    assert t.n_frames == len(ref) == 3 and t.source.access == "sequential"
    got = t.source.read(np.arange(3))
    for k, atoms in enumerate(ref):
        assert np.array_equal(got["positions"][k], atoms.positions)
        assert np.array_equal(got["cells"][k], atoms.cell.array)
        assert np.array_equal(got["forces"][k], atoms.calc.results["forces"])
        assert got["potential_energy"][k] == atoms.calc.results.get("free_energy", atoms.calc.results["energy"])
