"""Fourth-order force constants: the symmetry basis, the fit, and TDEP's infile.forceconstant_fourthorder.

Checked against hiPhive's cluster space (the number of free fourth-order parameters), an analytic Morse crystal (its
fourth derivatives lie in the basis) and exact synthetic data (the fit recovers the parameters it was made from).
"""
import numpy as np
import pytest

from tests.support.morse import pair_fc4
from trajmodes.forceconstants.clusters import build_basis
from trajmodes.forceconstants.design import DesignKernel
from trajmodes.forceconstants.fit import EffectiveForceConstants
from trajmodes.forceconstants.model import ForceConstants
from trajmodes.forceconstants.cluster_constants import ClusterConstants
from trajmodes.lattice.cubic import cubic_lattice

A_CU = 3.61


@pytest.fixture(scope="module")
def cu108():
    return cubic_lattice("fcc", A_CU, 3, ["Cu"], [63.546])


def _keys(sites, N):
    s = np.asarray(sites, dtype=np.int64)
    return ((s[:, 0] * N + s[:, 1]) * N + s[:, 2]) * N + s[:, 3]


@pytest.mark.slow
@pytest.mark.parametrize("cutoff4", [2.6, 3.7])
def test_free_parameters_match_hiphive(cu108, cutoff4):
    """fcc: the fourth-order parameters left by the space group and the acoustic sum rule are those of hiPhive's
    ClusterSpace with the same cutoff (27 at the first shell, 88 at the second)."""
    hiphive = pytest.importorskip("hiphive")
    from ase.build import bulk
    sc, prim = cu108
    ours = build_basis(sc, 4, cutoff4, primitive=prim)
    cs = hiphive.ClusterSpace(bulk("Cu", "fcc", a=A_CU), [2.6, 2.6, cutoff4])
    assert ours.n_params == cs.get_n_dofs_by_order(4)
    assert ours.n_orbits == sum(1 for o in cs.orbits if o.order == 4)


def test_morse_fourth_derivatives_lie_in_the_basis(cu108):
    """The analytic fourth derivatives of a nearest-neighbour Morse crystal are reproduced by the basis to round-off:
    its symmetry and sum rule hold for a real potential, and every quartet the potential couples is listed."""
    sc, prim = cu108
    morse = pair_fc4(sc, prim, cutoff=3.0)
    assert morse.sum_rule_violation() < 1e-12
    basis = build_basis(sc, 4, 2.6, primitive=prim)
    where = {k: e for e, k in enumerate(_keys(basis.sites, sc.n_atoms))}
    target = np.zeros((basis.n_entries, 81))
    for key, block in zip(_keys(morse.sites, sc.n_atoms), morse.blocks.reshape(-1, 81)):
        target[where[key]] += block                     # a KeyError: a quartet of the potential missing
    E = basis.E.toarray()
    p = np.linalg.lstsq(E, target.ravel(), rcond=None)[0]
    assert np.abs(E @ p - target.ravel()).max() < 1e-12 * np.abs(target).max()


def _synthetic(sc, prim, n_frames=24, seed=1):
    est = EffectiveForceConstants(cutoff2=3.7, cutoff3=2.6, cutoff4=2.6, mode="simultaneous", folds=2, segments=4)
    est.prepare(sc)
    rng = np.random.default_rng(seed)
    p = {o: rng.normal(size=b.n_params) for o, b in est.bases_.items()}
    u = rng.normal(scale=0.1, size=(n_frames, sc.n_atoms, 3))
    lower = DesignKernel([est.bases_[2], est.bases_[3]], est.smap_, p2s=est.p2s_)
    f = (lower.design(u) @ np.concatenate([p[2], p[3]])).reshape(u.shape)
    q4 = ClusterConstants.from_basis(est.bases_[4], p[4])
    return est, p, u, f + q4.forces(u, est.p2s_, est.smap_), q4


@pytest.mark.slow
def test_fit_recovers_the_fourth_order_of_exact_forces(cu108):
    """Forces made from random parameters of all three orders (the fourth straight from its quartets, not through the
    design kernel) are fitted back to round-off, and the quartic energy from the normal equations is the direct one."""
    sc, prim = cu108
    est, p, u, f, q4 = _synthetic(sc, prim)
    est.fit_arrays(sc, u, f)
    for order in (2, 3, 4):
        assert np.abs(est.params_[order] - p[order]).max() < 1e-10
    assert est.scores_.r2.sel(order=4) > 1 - 1e-12 and est.scores_.attrs["cutoff4"] == 2.6
    direct = q4.energy(u, est.p2s_, est.smap_).mean()
    assert est.energies_["quartic"] == pytest.approx(direct, rel=1e-10)
    fc = est.force_constants_
    assert fc.fc4 is not None and len(fc.fc4) == est.bases_[4].n_entries
    assert np.abs(fc.fc4.forces(u[:2], fc.p2s, fc.smap) - q4.forces(u[:2], est.p2s_, est.smap_)).max() < 1e-10


@pytest.mark.slow
def test_sequential_fourth_order_leaves_the_lower_orders_alone(cu108):
    """TDEP's sequential fit: the second and third orders are those of the fit without a fourth; the fourth is fitted to
    what they leave."""
    sc, prim = cu108
    _, _, u, f, _ = _synthetic(sc, prim)
    kw = dict(cutoff2=3.7, cutoff3=2.6, folds=2, segments=4)
    with_four = EffectiveForceConstants(cutoff4=2.6, **kw).fit_arrays(sc, u, f)
    without = EffectiveForceConstants(**kw).fit_arrays(sc, u, f)
    assert np.abs(with_four.params_[2] - without.params_[2]).max() < 1e-12
    assert np.abs(with_four.params_[3] - without.params_[3]).max() < 1e-10
    assert with_four.scores_.rmse.sel(order=4) < with_four.scores_.rmse.sel(order=3)


@pytest.mark.parametrize("kw, message", [
    (dict(cutoff4=2.6), "give cutoff3 with cutoff4"),
    (dict(cutoff3=2.6, cutoff4="supercell"), "cutoff4 must be a distance"),
    (dict(cutoff3=2.6, cutoff4=-1.0), "cutoff4 must be a positive distance"),
])
def test_fourth_order_settings_are_checked_before_any_work(cu108, kw, message):
    sc, _ = cu108
    u = np.zeros((2, sc.n_atoms, 3))
    with pytest.raises(ValueError, match=message):
        EffectiveForceConstants(cutoff2=3.7, **kw).fit_arrays(sc, u, u)


def test_tdep_fourth_order_file_round_trip(cu108, tmp_path):
    """infile.forceconstant_fourthorder written and read back gives the same forces (quartets at their shortest
    images, 35 lines each), and a file cut short names its line."""
    sc, prim = cu108
    est, p, u, f, q4 = _synthetic(sc, prim, n_frames=4)
    est.fit_arrays(sc, u, f)
    fc = est.force_constants_
    fc.write(tmp_path, "tdep")
    path = tmp_path / "infile.forceconstant_fourthorder"
    lines = path.read_text().splitlines()
    assert int(lines[0].split()[0]) == 1 and int(lines[2].split()[0]) == len(fc.fc4)
    assert len(lines) == 3 + 35 * len(fc.fc4)
    back = ForceConstants.read(tmp_path, "tdep")
    assert back.fc4 is not None
    a = back.fc4.forces(u[:2], back.p2s, back.smap)
    b = fc.fc4.forces(u[:2], fc.p2s, fc.smap)
    assert np.abs(a - b).max() < 1e-12 * np.abs(b).max()
    path.write_text("\n".join(lines[:100]) + "\n")
    from trajmodes.errors import ForceConstantsFormatError
    with pytest.raises(ForceConstantsFormatError, match="infile.forceconstant_fourthorder"):
        ForceConstants.read(tmp_path, "tdep")


def test_netcdf_keeps_the_fourth_order(cu108, tmp_path):
    """trajmodes' own netCDF file holds the quartets and their blocks: read back bit for bit."""
    sc, prim = cu108
    est, _, u, f, _ = _synthetic(sc, prim, n_frames=4)
    fc = est.fit_arrays(sc, u, f).force_constants_
    fc.write(tmp_path / "fc.nc")
    back = ForceConstants.read(tmp_path / "fc.nc")
    assert np.array_equal(back.fc4.sites, fc.fc4.sites) and np.array_equal(back.fc4.blocks, fc.fc4.blocks)
    assert np.array_equal(back.fc3, fc.fc3) and np.array_equal(back.fc2, fc.fc2)


def test_tdep_quartets_that_fold_onto_the_same_atoms_are_added(cu108, tmp_path):
    """A quartet listed twice in infile.forceconstant_fourthorder (two images that fold onto the same atoms of the
    supercell) is one quartet of the constants with the two blocks added, as their forces add: the quartets read are
    those written, each once, the repeated one's block doubled."""
    sc, prim = cu108
    morse = pair_fc4(sc, prim, cutoff=3.0)
    fc = ForceConstants(np.zeros((1, sc.n_atoms, 3, 3)), sc, prim, fc4=morse)
    fc.write(tmp_path, "tdep")
    path = tmp_path / "infile.forceconstant_fourthorder"
    lines = path.read_text().splitlines()
    count = int(lines[2].split()[0])
    first = lines[3:3 + 35]                                           # the first quartet of atom 1, again at the end
    path.write_text("\n".join([*lines[:2], lines[2].replace(str(count), str(count + 1), 1), *lines[3:], *first])
                    + "\n")
    back = ForceConstants.read(tmp_path, "tdep").fc4
    assert len(back) == len(morse) and np.array_equal(back.sites, morse.sites)
    twice = np.flatnonzero(np.abs(back.blocks - morse.blocks).reshape(len(morse), -1).max(axis=1) > 1e-12)
    assert len(twice) == 1 and np.allclose(back.blocks[twice[0]], 2 * morse.blocks[twice[0]], rtol=1e-14, atol=0)


def test_fc_nc_with_a_quartet_listed_twice_reads_as_its_sum(cu108, tmp_path):
    """An fc.nc whose fc4_sites list a quartet twice (an earlier trajmodes kept TDEP's folded images as rows) is read
    as the constants it stood for: one quartet with the two blocks added."""
    import netCDF4
    sc, prim = cu108
    morse = pair_fc4(sc, prim, cutoff=3.0)
    ForceConstants(np.zeros((1, sc.n_atoms, 3, 3)), sc, prim, fc4=morse).write(tmp_path / "fc.nc")
    with netCDF4.Dataset(tmp_path / "fc.nc", "a") as ds:
        ds["fc4_sites"][1] = ds["fc4_sites"][0]
    back = ForceConstants.read(tmp_path / "fc.nc").fc4
    assert len(back) == len(morse) - 1
    assert np.array_equal(back.at(morse.sites[:1])[0], morse.blocks[0] + morse.blocks[1])
