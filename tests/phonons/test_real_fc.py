"""Real-data force constants (phonopy finite displacements, real LAMMPS forces; made by
examples/make_force_constants.py): physics checks and agreement with phonopy on the same files."""

import numpy as np
import pytest

from tests.support.paths import EXAMPLES
import trajmodes
from trajmodes.lattice.paths import special_points

phonopy = pytest.importorskip("phonopy")

FC = EXAMPLES / "fc"

#: frozen-phonon frequencies (THz) computed by LAMMPS alone, no phonopy (frozen_phonons() of
#: examples/make_force_constants.py, u = 0.005 A): an independent oracle for the fitted constants.
FROZEN = {"cu_eam": {"X": (5.2054, 7.8171)}, "si_sw": {"G": (17.8320,)}}


@pytest.fixture(scope="module", params=["cu_eam", "si_sw"])
def real(request):
    name = request.param
    fc = trajmodes.ForceConstants.read(FC / name, "phonopy")
    ph = trajmodes.Phonons(fc)
    ref = phonopy.load(str(FC / name / "phonopy_params.yaml"),
                       force_constants_filename=str(FC / name / "FORCE_CONSTANTS"),
                       is_nac=False, symmetrize_fc=False, log_level=0)
    return name, fc, ph, ref, special_points(fc.primitive)


def test_files_small_and_layout(real):
    name, fc, *_ = real
    assert all(f.stat().st_size < 2_000_000 for f in (FC / name).iterdir())
    assert fc.layout == "compact"
    assert fc.n_atoms == {"cu_eam": 108, "si_sw": 250}[name]
    assert fc.n_prim == {"cu_eam": 1, "si_sw": 2}[name]
    assert fc.asr_violation() < 1e-10


def test_equal_to_phonopy(real):
    _, _, ph, ref, sp = real
    rng = np.random.default_rng(7)
    q = np.vstack([rng.random((300, 3)) - 0.5, list(sp.values())])      # off-grid and special points
    ref.run_qpoints(q)
    assert np.abs(ph.frequencies(q) - ref.qpoints.frequencies).max() < 1e-6


def test_three_zero_modes_at_gamma(real):
    _, fc, ph, _, _ = real
    f = ph.frequencies([0, 0, 0])[0]
    assert np.abs(f[:3]).max() < 1e-4
    assert (f[3:] > 1.0).all()


def test_degeneracies_at_X_and_L(real):
    name, fc, ph, _, sp = real
    fX, fL = ph.frequencies([sp["X"], sp["L"]])
    if name == "cu_eam":                       # TA doubly degenerate along <100> and <111>
        for f in (fX, fL):
            assert f[1] - f[0] < 1e-6 and f[2] - f[1] > 1.0
    else:                                      # diamond: all X branches in pairs; L: TA pair, TO pair
        assert np.abs(fX[0::2] - fX[1::2]).max() < 1e-6
        assert np.diff(fX[1::2]).min() > 1.0
        assert fL[1] - fL[0] < 1e-6 and fL[5] - fL[4] < 1e-6
        assert fL[2] - fL[1] > 1.0 and fL[4] - fL[3] > 1.0


def test_frequency_range_and_frozen_phonons(real):
    """Ranges of these potentials at their 0 K lattice constants. Both overshoot experiment
    (Cu: 7.25 THz LA(X); Si: 15.5 THz TO(Gamma)): Mishin's EAM gives 7.82 THz at X, Stillinger-Weber
    17.83 THz at Gamma, the known stiff optical branch of SW. The frozen phonons pin them."""
    name, fc, ph, _, sp = real
    f = ph.mesh_frequencies([12, 12, 12]).frequencies
    if name == "cu_eam":
        assert 7.7 < f.max() < 7.95
        assert np.allclose(ph.frequencies(sp["X"])[0][1:], FROZEN[name]["X"], atol=2e-3)
    else:
        assert 17.5 < f.max() < 18.1
        assert np.allclose(ph.frequencies([0, 0, 0])[0][3:], FROZEN[name]["G"], atol=2e-3)
