"""trajmodes' force-constant fit against hiPhive and phono3py on the same real MD snapshots (an
established code on the same input).

Same data: 24 evenly spaced frames of ``examples/md/si_300K`` (real LAMMPS, Stillinger-Weber Si, 216
atoms, 300 K); the displacements are trajmodes' (``traj.displacements()``: minimum image from the
``.data`` reference) and hiPhive gets exactly those arrays with the same forces. Same model: cutoffs
r2 = 5.0 A, r3 = 4.0 A (10 + 27 parameters after the acoustic sum rule in both codes; the benchmark's
r2 = 6 / r3 = 5 case is in ``benchmarks/bench_fit.py``, the cutoffs here keep the test fast), both
orders fitted at once by ordinary least squares (trajmodes ``mode="simultaneous"``; hiPhive
``least-squares``, ``train_size=1.0``, no regularisation). hiPhive runs through
``benchmarks/hiphive_reference.py``, which turns its force constants into the compact arrays.

Mean force: trajmodes removes the mean force of every frame (over the atoms) before fitting; hiPhive
fits the forces as given. For these LAMMPS forces the mean is ~1e-11 eV/A (checked below), so the two
solve the same problem to far below the tolerances.

phono3py: both fc2 + fc3 pairs are written with ``ForceConstants.write`` (phono3py) and loaded with
``phono3py.load``; the RTA linewidths (``gamma``) at three grid points of a 4x4x4 mesh, 300 K and
1000 K, must agree. With Gaussian smearing (sigma = 0.1 THz) they agree to ~1e-13 relative. The
tetrahedron method (phono3py's default) is *not* used: on this small symmetric mesh it is
discontinuous in the frequencies (energy conservation lands exactly on tetrahedron vertices), so a
relative change of 1e-12 in fc2 alone moves single linewidths by 5-11 % (4x4x4) or ~5 % (5x5x5);
trajmodes' and hiPhive's constants differ by ~1e-13 and the tetrahedron linewidths by up to ~10 %,
which says nothing about either fit.

Run time ~15 s on 2 quiet cores (~24 s with other processes on them), most of it hiPhive's one-off
numba compilation and force-constant model of the 216-atom supercell (its first frame, 5-9 s), and
phonopy's symmetry search of the supercell when phono3py loads each pair (~1.5 s each).
hiPhive is in the ``test`` extra so that CI runs this; without it the module is skipped.
"""
from __future__ import annotations

import contextlib
import io
import shutil
import numpy as np
import pytest

pytest.importorskip("hiphive")
phono3py = pytest.importorskip("phono3py")

import trajmodes  # noqa: E402
from benchmarks.hiphive_reference import hiphive_fit  # noqa: E402
from tests.support.paths import EXAMPLES  # noqa: E402
from trajmodes import Crystal, EffectiveForceConstants  # noqa: E402
from trajmodes.lattice.paths import special_points  # noqa: E402
from trajmodes.phonons.harmonic.phonons import Phonons  # noqa: E402

MD = EXAMPLES / "md"

pytestmark = pytest.mark.slow       # hiPhive's fit (numba compilation) and phono3py linewidths: about 10 s

R2, R3 = 5.0, 4.0
N_FRAMES = 24


@pytest.fixture(scope="module")
def fits(tmp_path_factory):
    """(trajmodes estimator, hiPhive result, displacements, forces) on the same frames."""
    d = tmp_path_factory.mktemp("md_hiphive")
    for suffix in (".lammpstrj.gz", ".data"):
        shutil.copy2(MD / ("si_300K" + suffix), d / ("si_300K" + suffix))
    tr = trajmodes.read(d / "si_300K.lammpstrj.gz", reference=d / "si_300K.data")
    idx = np.unique(np.rint(np.linspace(0, tr.n_frames - 1, N_FRAMES)).astype(np.int64))
    tr = tr[idx]
    u = tr.displacements().compute()
    f = tr.forces.compute()
    est = EffectiveForceConstants(R2, R3, mode="simultaneous", folds=2).fit(tr)     # streamed from the dump
    ref = Crystal.from_structure(tr.reference)
    with contextlib.redirect_stdout(io.StringIO()):                                 # hiPhive prints its cluster space
        hh = hiphive_fit(ref, u, f, [R2, R3])
    return est, hh, u, f


def test_same_problem(fits):
    est, hh, u, f = fits
    assert u.shape == (N_FRAMES, 216, 3) and hh.n_frames == N_FRAMES
    assert int(est.scores_.n_frames) == N_FRAMES
    assert np.abs(f.mean(axis=1)).max() < 1e-8                       # what trajmodes removes and hiPhive keeps
    np.testing.assert_array_equal(est.p2s_, hh.p2s)


def test_parameter_counts(fits):
    est, hh, _, _ = fits
    for o in (2, 3):
        assert est.bases_[o].n_params == hh.n_dofs_by_order[o]          # after the acoustic sum rule
        assert est.bases_[o].n_raw == hh.n_dofs_no_asr_by_order[o]      # symmetry only
    assert (hh.n_dofs_by_order, hh.n_dofs_no_asr_by_order) == ({2: 10, 3: 27}, {2: 11, 3: 36})
    assert est.kernel_.n_params == hh.n_dofs


def test_force_constants_agree(fits):
    est, hh, _, _ = fits
    scale2, scale3 = np.abs(hh.fc2).max(), np.abs(hh.fc3).max()
    assert scale2 > 10 and scale3 > 10                                 # eV/A^2, eV/A^3: a real fit
    assert np.abs(est.fc2_ - hh.fc2).max() < 1e-9 * scale2            # observed ~3e-14 eV/A^2
    assert np.abs(est.fc3_ - hh.fc3).max() < 1e-9 * scale3            # observed ~1e-13 eV/A^3


def test_frequencies_gamma_x_l(fits):
    est, hh, _, _ = fits
    pts = special_points(est.force_constants_.primitive)                # in the primitive cell's basis
    q = np.array([pts["G"], pts["X"], pts["L"]], float)
    w_tm = Phonons(est.force_constants_).frequencies(q)
    w_hh = Phonons(hh.force_constants).frequencies(q)
    assert np.abs(w_tm - w_hh).max() < 1e-4                            # THz; observed ~1e-7
    assert np.abs(w_tm[0, :3]).max() < 1e-3 and 17 < w_tm[0, 3] < 18.5  # acoustic zero, SW optical ~17.7


def _linewidths(fc, folder, temperatures):
    fc.write(folder, "phono3py")
    ph3 = phono3py.load(str(folder / "phono3py_params.yaml"), fc2_filename=str(folder / "fc2.hdf5"),
                        fc3_filename=str(folder / "fc3.hdf5"), symmetrize_fc=False, produce_fc=True, log_level=0)
    np.testing.assert_allclose(np.abs(ph3.fc3).max(), np.abs(fc.fc3).max(), rtol=1e-12)
    ph3.mesh_numbers = [4, 4, 4]
    ph3.sigmas = [0.1]                                                 # THz, Gaussian smearing (see module doc)
    ph3.init_phph_interaction()
    with contextlib.redirect_stdout(io.StringIO()):
        ph3.run_thermal_conductivity(temperatures=temperatures, grid_points=[1, 2, 3])
    tc = ph3.thermal_conductivity
    return np.asarray(tc.gamma)[0], np.asarray(tc.frequencies)        # (T, gp, band) THz, (gp, band)


def test_phono3py_linewidths(fits, tmp_path):
    est, hh, _, _ = fits
    T = [300.0, 1000.0]
    g_tm, w_tm = _linewidths(est.force_constants_, tmp_path / "trajmodes", T)
    g_hh, w_hh = _linewidths(hh.force_constants, tmp_path / "hiphive", T)
    np.testing.assert_allclose(w_tm, w_hh, atol=1e-6)
    assert g_hh.shape == (2, 3, 6) and g_hh.min() > 0                  # every mode scatters
    assert np.all(g_hh[1] > 2 * g_hh[0])                                # ~ T: classical occupations
    rel = np.abs(g_tm - g_hh).max() / np.abs(g_hh).max()
    assert rel < 1e-8, rel                                              # observed ~2e-13
