"""Third-order force constants: storage in ForceConstants, netCDF round trip, phono3py files.

Oracle: the analytic second and third derivatives of a Morse pair potential on the ideal lattice,
summed over every periodic image (only two-atom terms exist for a pair potential). phono3py's
loaded fc3 is compared with the same analytic constants evaluated on *phono3py's* supercell (its own
atom order), so the reordering of ``write(folder, "phono3py")`` is checked independently.
"""

import numpy as np
import pytest

from trajmodes import Crystal, ForceConstants
from tests.support.morse import lattice_images, pair_terms
from tests.support.crystals import FCC, NONDIAG, supercell


def pair_fc23(crystal: Crystal, D0=0.3429, alpha=1.3588, r0=2.5562, cutoff=3.0, nimg=2):
    """Full fc2 (N, N, 3, 3) in eV/A^2 and fc3 (N, N, N, 3, 3, 3) in eV/A^3 of a truncated Morse
    pair potential U = 1/2 sum_{i != j, images} phi(|r_j + T - r_i|), on the ideal positions.

    With r = r_j - r_i, H = d2phi/dr dr and K = d3phi/dr dr dr:
    Phi_ij = -H (i != j), Phi_ii = sum H; Psi_iij = K, Psi_ijj = -K, Psi_iii = -sum K.
    """
    pos, A = crystal.positions, crystal.cell
    N = len(pos)
    T = lattice_images(A, nimg)
    r = pos[None, :, None, :] + T[None, None] - pos[:, None, None, :]       # (i, j, img, 3)
    ok, dd, n, (d1, d2, d3) = pair_terms(r, cutoff, D0, alpha, r0)
    I = np.eye(3)
    A2 = d2 - d1 / dd                                                      # phi'' - phi'/r
    H = A2[..., None, None] * n[..., :, None] * n[..., None, :] + (d1 / dd)[..., None, None] * I
    c1 = d3 - 3 * d2 / dd + 3 * d1 / dd ** 2
    nnn = n[..., :, None, None] * n[..., None, :, None] * n[..., None, None, :]
    sym = (I[:, :, None] * n[..., None, None, :] + I[:, None, :] * n[..., None, :, None]
           + I[None, :, :] * n[..., :, None, None])
    K = c1[..., None, None, None] * nnn + (A2 / dd)[..., None, None, None] * sym
    H = np.where(ok[..., None, None], H, 0).sum(axis=2)                     # (i, j, 3, 3)
    K = np.where(ok[..., None, None, None], K, 0).sum(axis=2)               # (i, j, 3, 3, 3)
    fc2 = -H
    fc2[np.arange(N), np.arange(N)] += H.sum(axis=1)
    assert not ok[np.arange(N), np.arange(N)].any(), "self-images within the cutoff"
    fc3 = np.zeros((N, N, N, 3, 3, 3))
    i, j = np.nonzero(~np.eye(N, dtype=bool))
    # ordered pairs: (i, j) sets Psi_iij = Psi_iji = Psi_jii = K_ij; (j, i) sets Psi_ijj = ... = K_ji = -K_ij
    fc3[i, i, j] = K[i, j]
    fc3[i, j, i] = K[i, j]
    fc3[j, i, i] = K[i, j]
    fc3[np.arange(N), np.arange(N), np.arange(N)] = -K.sum(axis=1)
    return fc2, fc3


def test_pair_fc3_is_derivative_of_fc2():
    """The analytic fc3 is the numerical derivative of the analytic fc2 (the oracle itself)."""
    prim = Crystal(FCC, [[0, 0, 0]], ["Cu"])
    sc = supercell(prim, 3 * np.eye(3, dtype=int))   # (2x2x2 would cancel fc3: +r and -r images coincide)
    fc2, fc3 = pair_fc23(sc)
    assert np.abs(fc3).max() > 1.0
    h, k, c = 1e-4, 3, 1
    plus = Crystal(sc.cell, sc.positions + np.eye(len(sc.positions))[:, [k]] * np.eye(3)[c] * h, sc.species)
    minus = Crystal(sc.cell, sc.positions - np.eye(len(sc.positions))[:, [k]] * np.eye(3)[c] * h, sc.species)
    num = (pair_fc23(plus)[0] - pair_fc23(minus)[0]) / (2 * h)
    assert np.abs(num - fc3[:, :, k, :, :, c]).max() < 1e-6 * np.abs(fc3).max()
    assert np.abs(fc3.sum(axis=2)).max() < 1e-12                             # sum rule
    assert np.abs(fc3 - fc3.transpose(1, 0, 2, 4, 3, 5)).max() < 1e-12      # permutation
    assert np.abs(fc3 - fc3.transpose(2, 1, 0, 5, 4, 3)).max() < 1e-12


@pytest.fixture(scope="module")
def cu_fc3():
    """fcc Cu, conventional 2x2x2 (32 atoms) as a non-diagonal supercell of the primitive cell,
    atoms shuffled; Morse nearest-neighbour only (r0 = nearest-neighbour distance: no forces)."""
    prim = Crystal(FCC, [[0, 0, 0]], ["Cu"])
    sc = supercell(prim, NONDIAG, shuffle_seed=5)
    fc2, fc3 = pair_fc23(sc)
    assert np.abs(fc3).max() > 1.0
    return prim, sc, ForceConstants(fc2, sc, prim, fc3=fc3), fc3


def test_fc3_layout_and_validation(cu_fc3):
    prim, sc, fc, full3 = cu_fc3
    assert fc.fc3.shape == (1, 32, 32, 3, 3, 3)
    assert np.array_equal(fc.fc3, full3[fc.p2s])
    assert "fc3" in repr(fc)
    assert fc.symmetrize_asr().fc3 is fc.fc3
    with pytest.raises(ValueError, match="fc3 has shape"):
        ForceConstants(fc.fc2, sc, prim, fc3=np.zeros((1, 32, 31, 3, 3, 3)))
    assert ForceConstants(fc.fc2, sc, prim).fc3 is None


def test_netcdf_round_trip_exact(cu_fc3, tmp_path):
    _, _, fc, _ = cu_fc3
    fc.write(tmp_path / "fc.nc")
    back = ForceConstants.read(tmp_path / "fc.nc")
    assert np.array_equal(back.fc3, fc.fc3) and np.array_equal(back.fc2, fc.fc2)
    import netCDF4
    with netCDF4.Dataset(tmp_path / "fc.nc") as ds:
        assert ds["fc3"].units == "eV/A^3"
    fc2only = ForceConstants(fc.fc2, fc.supercell, fc.primitive)
    fc2only.write(tmp_path / "fc2.nc")
    assert ForceConstants.read(tmp_path / "fc2.nc").fc3 is None


def test_phono3py_load_and_linewidths(cu_fc3, tmp_path):
    phono3py = pytest.importorskip("phono3py")
    _, _, fc, _ = cu_fc3
    fc.write(tmp_path, "phono3py")
    assert {"phono3py_params.yaml", "fc2.hdf5", "fc3.hdf5"} <= {p.name for p in tmp_path.iterdir()}
    ph3 = phono3py.load(str(tmp_path / "phono3py_params.yaml"), fc2_filename=str(tmp_path / "fc2.hdf5"),
                        fc3_filename=str(tmp_path / "fc3.hdf5"), symmetrize_fc=False, log_level=0)
    assert len(ph3.supercell) == 32
    # independent oracle: the analytic constants on phono3py's own supercell, in its own order
    psc = Crystal(np.asarray(ph3.supercell.cell), np.asarray(ph3.supercell.positions),
                  list(ph3.supercell.symbols))
    ref2, ref3 = pair_fc23(psc)
    p2s = np.asarray(ph3.primitive.p2s_map)
    assert np.abs(np.asarray(ph3.fc3) - ref3[p2s]).max() < 1e-12
    assert np.abs(np.asarray(ph3.fc2) - ref2[p2s]).max() < 1e-12
    # and back through read(folder, "phono3py")
    back = ForceConstants.read(tmp_path, "phono3py")
    assert np.abs(back.fc3 - ref3[p2s]).max() < 1e-12
    # a small linewidth calculation runs and gives finite, non-negative widths
    ph3.mesh_numbers = [4, 4, 4]
    ph3.init_phph_interaction()
    res = ph3.run_imag_self_energy(grid_points=[1], temperatures=[300.0], frequency_points_at_bands=True)
    gammas = np.asarray(res.gammas if res is not None else ph3.gammas)   # phono3py < 4.9 returns None
    assert np.all(np.isfinite(gammas)) and gammas.min() >= -1e-12 and gammas.max() > 0


def test_phono3py_two_atom_primitive(tmp_path):
    """Diamond (2-atom primitive cell, shuffled 54-atom supercell): rows and columns land on
    phono3py's p2s_map and atom order."""
    phono3py = pytest.importorskip("phono3py")
    a = 5.431
    prim = Crystal(FCC / 3.615 * a, np.array([[0, 0, 0], [.25, .25, .25]]) * a, ["Si", "Si"])
    sc = supercell(prim, 3 * np.eye(3, dtype=int), shuffle_seed=7)
    kw = dict(D0=2.0, alpha=1.5, r0=2.30, cutoff=2.6, nimg=1)
    fc2, fc3 = pair_fc23(sc, **kw)
    fc = ForceConstants(fc2, sc, prim, fc3=fc3)
    assert fc.fc3.shape == (2, 54, 54, 3, 3, 3)
    fc.write(tmp_path, "phono3py")
    ph3 = phono3py.load(str(tmp_path / "phono3py_params.yaml"), fc2_filename=str(tmp_path / "fc2.hdf5"),
                        fc3_filename=str(tmp_path / "fc3.hdf5"), symmetrize_fc=False, log_level=0)
    psc = Crystal(np.asarray(ph3.supercell.cell), np.asarray(ph3.supercell.positions),
                  list(ph3.supercell.symbols))
    ref2, ref3 = pair_fc23(psc, **kw)
    p2s = np.asarray(ph3.primitive.p2s_map)
    assert np.abs(np.asarray(ph3.fc3) - ref3[p2s]).max() < 1e-12
    assert np.abs(np.asarray(ph3.fc2) - ref2[p2s]).max() < 1e-12


def test_to_phono3py_needs_phono3py_message(cu_fc3, tmp_path, monkeypatch):
    import sys
    _, _, fc, _ = cu_fc3
    monkeypatch.setitem(sys.modules, "phono3py", None)
    with pytest.raises(ImportError, match="pip install phono3py"):
        fc.write(tmp_path, "phono3py")


def test_netcdf_fc3_as_triplets_with_a_committee_round_trip_bit_for_bit(cu_fc3, tmp_path):
    """fc.nc holds fc3 as the triplets with a nonzero block (the union over the constants and the committee's
    members, -0.0 counted), and gives the compact arrays of the constants and of every member back bit for bit."""
    import netCDF4
    prim, sc, fc, _ = cu_fc3
    rng = np.random.default_rng(7)
    zero = np.argwhere(~np.any(fc.fc3 != 0, axis=(3, 4, 5)))
    assert len(zero) > 2
    members = []
    for i in range(3):
        fc3 = fc.fc3 * (1 + 0.1 * rng.standard_normal(fc.fc3.shape))
        p, j, k = zero[i]
        fc3[p, j, k] = rng.standard_normal((3, 3, 3))            # a triplet only this member has
        if i == 0:
            fc3[tuple(zero[3]) + (0, 0, 0)] = -0.0               # a bit set: the sign of a zero
        members.append(ForceConstants(fc.compact() * (1 + 0.1 * i), sc, prim, fc3=fc3))
    p, j, k = zero[3]
    fc.write(tmp_path / "fc.nc", "netcdf", members=members)
    n_nonzero = int(np.any(fc.fc3 != 0, axis=(3, 4, 5)).sum())
    with netCDF4.Dataset(tmp_path / "fc.nc") as ds:
        assert ds["fc3_sites"].shape == (n_nonzero + 4, 3) and ds["fc3_sites"].dtype == np.int64
        assert ds["fc3"].dimensions[0] == "triplet" and ds["fc3"].shape == (n_nonzero + 4, 3, 3, 3)
        assert ds["fc3"].units == "eV/A^3" and "fc3_sites" in ds["fc3"].long_name
        assert ds.groups["committee"]["fc3"].shape == (3, n_nonzero + 4, 3, 3, 3)
    back = ForceConstants.read(tmp_path / "fc.nc")
    assert back.fc3.shape == fc.fc3.shape and back.fc3.tobytes() == fc.fc3.tobytes()
    for m, member in enumerate(members):
        b = ForceConstants.read(tmp_path / "fc.nc", member=m)
        assert b.fc3.tobytes() == member.fc3.tobytes()
        assert np.array_equal(b.compact(), member.compact())
    assert np.signbit(ForceConstants.read(tmp_path / "fc.nc", member=0).fc3[p, j, k, 0, 0, 0])


def test_netcdf_sparse_fc3_of_a_large_supercell_is_small(tmp_path):
    """512 atoms with fc3 on 60 triplets: the file holds 60 blocks, not the dense 56 MB compact array."""
    import netCDF4
    prim = Crystal(FCC, [[0, 0, 0]], ["Cu"])
    sc = supercell(prim, 8 * np.eye(3, dtype=int))
    N, rng = sc.n_atoms, np.random.default_rng(3)
    fc3 = np.zeros((1, N, N, 3, 3, 3))
    j, k = rng.choice(N, 60, replace=False), rng.choice(N, 60, replace=False)
    fc3[0, j, k] = rng.standard_normal((60, 3, 3, 3))
    fc = ForceConstants(np.zeros((1, N, 3, 3)), sc, prim, fc3=fc3)
    fc.write(tmp_path / "fc.nc")
    with netCDF4.Dataset(tmp_path / "fc.nc") as ds:
        assert ds["fc3"].shape == (60, 3, 3, 3)
    assert (tmp_path / "fc.nc").stat().st_size < 1_000_000
    assert ForceConstants.read(tmp_path / "fc.nc").fc3.tobytes() == fc3.tobytes()


def test_netcdf_reads_the_dense_fc3_of_an_older_file(cu_fc3, tmp_path):
    """A file of an older trajmodes holds the compact fc3 itself (prim_atom, atom, atom2, 3, 3, 3): read as it is."""
    import netCDF4
    _, _, fc, _ = cu_fc3
    fc.write(tmp_path / "fc.nc")
    with netCDF4.Dataset(tmp_path / "fc.nc", "a") as ds:
        ds.renameVariable("fc3", "unused_blocks")
        ds.renameVariable("fc3_sites", "unused_sites")
        ds.createDimension("atom2", fc.n_atoms)
        dims = ("prim_atom", "atom", "atom2", "cartesian", "cartesian2", "cartesian3")
        ds.createVariable("fc3", "f8", dims)[:] = fc.fc3
    assert ForceConstants.read(tmp_path / "fc.nc").fc3.tobytes() == fc.fc3.tobytes()
