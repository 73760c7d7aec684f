"""Rotational invariance and Huang conditions as exact constraints on the second-order fit."""
import numpy as np
import pytest

import trajmodes
from trajmodes.forceconstants.constraints import constraint_matrix, residual
from trajmodes.lattice.crystal import Crystal


def _tetragonal_fcc(n=3, a=3.615, c_over_a=1.04):
    """fcc Cu stretched along z: lower symmetry, where the conditions are not implied by symmetry."""
    cell = np.diag([a, a, a * c_over_a])
    basis = np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
    grid = np.array([[i, j, k] for i in range(n) for j in range(n) for k in range(n)])
    frac = (basis[None] + grid[:, None]).reshape(-1, 3) / n
    sc = cell * n
    return Crystal(sc, frac @ sc, ["Cu"] * len(frac))


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    crystal = _tetragonal_fcc()
    u = rng.normal(scale=0.08, size=(12, crystal.n_atoms, 3))
    f = rng.normal(scale=0.3, size=u.shape)           # forces that obey no condition at all
    return crystal, u, f


def test_conditions_hold_exactly_and_remove_parameters(data):
    crystal, u, f = data
    free = trajmodes.EffectiveForceConstants(cutoff2=4.0).fit_arrays(crystal, u, f)
    basis = free.bases_[2]
    C = constraint_matrix(basis, free.supercell_)
    assert np.linalg.matrix_rank(C, tol=1e-9) > 0                         # they bite here
    assert residual(free.force_constants_.compact(), basis, free.supercell_) > 1e-4
    for kinds in (("rotational",), ("huang",), ("rotational", "huang")):
        fit = trajmodes.EffectiveForceConstants(cutoff2=4.0, constraints=kinds).fit_arrays(crystal, u, f)
        n = int(fit.scores_.n_params.sel(order=2))
        # every atom of a Bravais lattice is an inversion centre, which implies rotational invariance;
        # the Huang conditions are not implied by the tetragonal symmetry
        assert n < basis.n_params if "huang" in kinds else n == basis.n_params
        assert residual(fit.force_constants_.compact(), free.bases_[2], free.supercell_, kinds) < 1e-10
        # the sum rule still holds
        assert np.abs(fit.force_constants_.compact().sum(axis=1)).max() < 1e-10


def test_constrained_fit_recovers_constants_that_satisfy_them(data):
    """Forces from constants that satisfy the conditions are fitted back exactly with them imposed."""
    crystal, u, _ = data
    free = trajmodes.EffectiveForceConstants(cutoff2=4.0, constraints=("rotational", "huang"))
    free.fit_arrays(crystal, u, np.random.default_rng(0).normal(size=u.shape))
    fc = free.force_constants_
    truth = fc.compact()                                                  # satisfies both by construction
    full = fc.full()
    forces = -np.einsum("ijab,tjb->tia", full, u)
    fit = trajmodes.EffectiveForceConstants(cutoff2=4.0, constraints=("rotational", "huang"),
                                            mode="simultaneous").fit_arrays(crystal, u, forces)
    assert np.abs(fit.force_constants_.compact() - truth).max() < 1e-10 * np.abs(truth).max()
    assert float(fit.scores_.r2.sel(order=2)) > 1 - 1e-12


def test_unknown_constraint():
    crystal = _tetragonal_fcc(2)
    rng = np.random.default_rng(1)
    u = rng.normal(scale=0.05, size=(4, crystal.n_atoms, 3))
    with pytest.raises(ValueError, match="unknown constraint"):
        trajmodes.EffectiveForceConstants(cutoff2=3.0, constraints="nonsense").fit_arrays(crystal, u, u)


def test_rotational_invariance_bites_off_inversion_centres():
    """In strained diamond the atoms are not inversion centres: rotational invariance removes a parameter."""
    a, n = 5.431, 2
    cell = np.diag([a, a, a * 1.04])
    fcc = np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
    basis = np.concatenate([fcc, fcc + 0.25])
    grid = np.array([[i, j, k] for i in range(n) for j in range(n) for k in range(n)])
    frac = (basis[None] + grid[:, None]).reshape(-1, 3) / n
    crystal = Crystal(cell * n, frac @ (cell * n), ["Si"] * len(frac))
    rng = np.random.default_rng(0)
    u = rng.normal(scale=0.05, size=(10, len(frac), 3))
    f = rng.normal(size=u.shape)
    free = trajmodes.EffectiveForceConstants(cutoff2=4.0).fit_arrays(crystal, u, f)
    rot = trajmodes.EffectiveForceConstants(cutoff2=4.0, constraints="rotational").fit_arrays(crystal, u, f)
    kinds = ("rotational",)
    assert residual(free.force_constants_.compact(), free.bases_[2], free.supercell_, kinds) > 0.1
    assert residual(rot.force_constants_.compact(), free.bases_[2], free.supercell_, kinds) < 1e-10
    assert int(rot.scores_.n_params.sel(order=2)) == free.bases_[2].n_params - 1
