"""Group velocities: analytic dD/dq against phonopy's GroupVelocity and finite differences."""
import numpy as np
import pytest

from trajmodes import Phonons
from tests.support.phonopy_cases import CASES, phonopy_case

phonopy = pytest.importorskip("phonopy")

HIGH_SYMMETRY = [[0, 0, 0], [0.5, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.25, 0.75], [0.375, 0.375, 0.75],
                 [0.1, 0.1, 0.1], [0.2, 0, 0.2], [0.1, 0, 0], [0.25, 0.25, 0.5]]


@pytest.mark.parametrize("name", list(CASES))
def test_against_phonopy(name):
    from phonopy.phonon.group_velocity import GroupVelocity
    prim, S, pot = CASES[name]
    fc, ph = phonopy_case(prim, S, **pot)
    q = np.concatenate([HIGH_SYMMETRY, np.random.default_rng(11).random((150, 3)) - 0.5])
    v = Phonons(fc).group_velocities(q)
    gv = GroupVelocity(ph.dynamical_matrix, symmetry=None)      # analytic derivative, no symmetrisation
    gv.run(q)
    vp = gv.group_velocities
    assert v.shape == (len(q), 3 * fc.n_prim, 3)
    # measured: 3e-13 (Cu), 1e-11 THz*A (Si, |v| up to 270): 1e-6 relative or absolute
    assert (np.abs(v - vp) <= 1e-6 * np.maximum(np.abs(vp), 1.0)).all()
    # high-symmetry points: degenerate subspaces present and handled the same way
    f = Phonons(fc).frequencies(q[:len(HIGH_SYMMETRY)])
    assert (np.abs(np.diff(f, axis=1)) < 1e-4).any()


def test_finite_difference_and_derivative():
    prim, S, pot = CASES["Cu-nondiag"]
    fc, _ = phonopy_case(prim, S, **pot)
    p = Phonons(fc)
    rng = np.random.default_rng(5)
    q = rng.random((20, 3)) - 0.5
    h = 1e-5                                               # 1/A, Cartesian without 2 pi
    v = p.group_velocities(q)
    for x in range(3):
        dq_red = h * fc.primitive.cell[:, x]               # q_red = q_cart @ cell.T: Cartesian x
        fd = (p.frequencies(q + dq_red) - p.frequencies(q - dq_red)) / (2 * h)
        dD = (p.dynamical_matrix(q + dq_red) - p.dynamical_matrix(q - dq_red)) / (2 * h)
        assert np.abs(p.dynamical_matrix_derivative(q)[:, x] - dD).max() < 1e-5 * np.abs(dD).max()
        assert np.abs(v[:, :, x] - fd).max() < 1e-5 * np.abs(fd).max()
    # acoustic modes at Gamma and imaginary modes: zero, as phonopy
    assert np.all(p.group_velocities([0, 0, 0]) == 0)
