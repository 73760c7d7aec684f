"""trajmodes.from_arrays: a trajectory already in memory behaves exactly like the same frames read from a file."""

import numpy as np
import pytest

from tests.support.paths import DATA
import trajmodes
from tests.support.dumps import read_quiet



@pytest.fixture(scope="module")
def dumped():
    t = read_quiet(DATA / "cu32_xu.lammpstrj", chunk_frames=4, species=["Cu"])
    x, v, f, cells = (np.asarray(a) for a in (t.positions, t.velocities, t.forces, t.cells))
    return t, x, v, f, cells


def test_same_as_file(dumped):
    t, x, v, f, cells = dumped
    m = trajmodes.from_arrays(x, cells, t.species, masses=t.masses, velocities=v, forces=f,
                              frame_interval=float(t.times[1] - t.times[0]), chunk_frames=3)
    assert m.n_frames == t.n_frames and m.source.fields == ("positions", "velocities", "forces")
    np.testing.assert_array_equal(m.displacements().compute(), t.displacements().compute())
    np.testing.assert_allclose(m.temperature().compute(), t.temperature().compute(), rtol=1e-14)
    np.testing.assert_array_equal(m[2:7].forces.compute(), f[2:7])
    # a single cell for all frames, masses from the element symbols
    m1 = trajmodes.from_arrays(x, cells[0], t.species, frame_interval=0.01)
    np.testing.assert_allclose(m1.masses, 63.546, rtol=1e-4)


def test_memmap_is_read_per_chunk(dumped, tmp_path):
    t, x, *_ = dumped
    path = tmp_path / "x.npy"
    np.save(path, x)
    mm = np.load(path, mmap_mode="r")
    m = trajmodes.from_arrays(mm, t.cells[0].compute(), t.species, frame_interval=0.01, chunk_frames=2)
    np.testing.assert_array_equal(m.positions.compute(), x)


def test_bad_arrays_are_refused(dumped):
    t, x, v, _, cells = dumped
    with pytest.raises(ValueError, match="n_frames, n_atoms, 3"):
        trajmodes.from_arrays(x[..., :2], cells, t.species, frame_interval=0.01)
    with pytest.raises(ValueError, match="velocities has shape"):
        trajmodes.from_arrays(x, cells, t.species, velocities=v[:-1], frame_interval=0.01)
    with pytest.raises(ValueError, match="cell must have shape"):
        trajmodes.from_arrays(x, cells[:-1], t.species, frame_interval=0.01)
    with pytest.raises(ValueError, match="species must list"):
        trajmodes.from_arrays(x, cells, t.species[:-1], frame_interval=0.01)
    with pytest.raises(ValueError, match="frame_interval must be a positive"):
        trajmodes.from_arrays(x, cells, t.species, frame_interval=0.0)
    y = x.copy()
    y[5, 3, 1] = np.nan
    m = trajmodes.from_arrays(y, cells, t.species, frame_interval=0.01, chunk_frames=4)
    with pytest.raises(ValueError, match="positions of frame 5 .*NaN"):
        m.positions.compute()


def test_masses_that_are_not_one_positive_mass_per_atom_are_refused():
    """A masses array of another length was read in part (or broadcast), and zero, negative or NaN masses gave NaN
    or negative temperatures downstream: refused where the frames are given."""
    pos = np.zeros((2, 4, 3)) + np.arange(4)[None, :, None]
    cell = np.eye(3) * 10.0
    for masses, said in ((np.ones(5), r"\(4,\), not shape \(5,\)"), (np.ones(3), r"\(4,\), not shape \(3,\)"),
                         ([1.0, 1.0, 0.0, 1.0], "1 not positive"), ([1.0, -2.0, np.nan, 1.0], "2 not positive")):
        with pytest.raises(ValueError, match=said):
            trajmodes.from_arrays(pos, cell, ["Ar"] * 4, masses=masses, frame_interval=0.01)
    traj = trajmodes.from_arrays(pos, cell, ["Ar"] * 4, masses=[39.9] * 4, frame_interval=0.01)
    assert traj.masses.shape == (4,)
