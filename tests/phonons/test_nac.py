"""Non-analytic correction (polar crystals, LO-TO) against phonopy's on the same force constants."""
import numpy as np
import pytest

from trajmodes import Crystal, ForceConstants, Phonons
from trajmodes.lattice.qpoints import commensurate_qpoints
from trajmodes.units import NAC_FACTOR
from tests.support.crystals import FCC, NONDIAG
from tests.support.morse import morse_fc

phonopy = pytest.importorskip("phonopy")

BORN = np.array([np.eye(3) * 1.1, -np.eye(3) * 1.1])
EPS = np.eye(3) * 2.4


def rocksalt() -> Crystal:
    a = 5.64
    return Crystal(FCC / 3.615 * a, np.array([[0, 0, 0], [.5, .5, .5]]) * a, ["Na", "Cl"])


def _case(S, born=BORN, eps=EPS, method="gonze"):
    """NaCl-like model: nearest-neighbour Morse bonds (stable, sum rule exact), Born charges +-1.1 e."""
    from phonopy.structure.atoms import PhonopyAtoms
    from trajmodes.io.forceconstants.phonopy import crystal_from_phonopy
    prim = rocksalt()
    ph = phonopy.Phonopy(PhonopyAtoms(symbols=list(prim.species), cell=prim.cell,
                                      scaled_positions=prim.scaled_positions, masses=prim.masses),
                         supercell_matrix=np.asarray(S).T, primitive_matrix=None, is_symmetry=False)
    sc = crystal_from_phonopy(ph.supercell)
    fc = morse_fc(sc, D0=0.5, alpha=1.2, r0=2.7, cutoff=3.5, nimg=1)
    ph.force_constants = fc
    ph.nac_params = {"born": born, "dielectric": eps, "factor": NAC_FACTOR, "method": method}
    return ForceConstants(fc, sc, prim, born=born, epsilon=eps), ph


@pytest.fixture(scope="module", params=["gonze", "wang"])
def case(request):
    return request.param, *_case(np.diag([4, 4, 4]), method=request.param)


DIRS = [[1, 0, 0], [1, 1, 0], [1, 1, 1], [0.3, -0.1, 0.7]]


def test_random_q_and_gamma_limits(case):
    method, fc, ph = case
    p = Phonons(fc, nac=method)
    rng = np.random.default_rng(5)
    q = np.concatenate([[[0.5, 0.5, 0], [0.01, 0, 0], [0.1, 0.2, -0.05]], rng.random((200, 3)) - 0.5])
    ph.run_qpoints(q)
    # acoustic zeros are sqrt(round-off); finite modes to 1e-6 THz
    assert np.abs(p.frequencies(q) - ph.qpoints.frequencies).max() < 1e-6
    tol = np.array([1e-6] * 3 + [1e-8] * 3)
    for d in DIRS:
        ph.run_qpoints([[0, 0, 0]], nac_q_direction=d)
        f0 = p.frequencies([0, 0, 0], q_direction=d)[0]
        assert (np.abs(f0 - ph.qpoints.frequencies[0]) < tol).all()
        # LO-TO: one LO above two degenerate TO, the same along every direction (cubic, isotropic Z)
        assert abs(f0[3] - f0[4]) < 1e-9 and f0[5] - f0[4] > 1.0
    # without a direction: the analytic (TO) matrix at Gamma, the NAC-free one
    f00 = p.frequencies([0, 0, 0])[0]
    assert np.abs(f00 - Phonons(fc, nac=False).frequencies([0, 0, 0])[0]).max() < 1e-6
    assert abs(f00[5] - f00[3]) < 1e-9


def test_lyddane_sachs_teller_splitting(case):
    """omega_LO^2 - omega_TO^2 = (4 pi e^2 / eps0-ish) Z^2 / (V eps_inf mu) (Gaussian/metal units here)."""
    method, fc, _ = case
    p = Phonons(fc, nac=method)
    f = p.frequencies([0, 0, 0], q_direction=[1, 0, 0])[0]
    m = fc.primitive.masses
    mu = m[0] * m[1] / (m[0] + m[1])
    dl = NAC_FACTOR * 4 * np.pi / fc.primitive.volume * 1.1 ** 2 / 2.4 / mu     # eV/(A^2 amu)
    from trajmodes.units import THZ
    assert abs(f[5] ** 2 - f[4] ** 2 - dl * THZ ** 2) < 1e-8 * f[5] ** 2


def test_band_structure_through_gamma(case):
    method, fc, ph = case
    p = Phonons(fc, nac=method)
    G, X, L = [0, 0, 0], [0.5, 0, 0.5], [0.5, 0.5, 0.5]
    pieces = [np.array([X, G, L])]
    bs = p.band_structure(pieces, npoints=21)
    from phonopy.phonon.band_structure import get_band_qpoints
    ph.run_band_structure(get_band_qpoints(pieces, npoints=21))
    fp = np.concatenate(ph.band_structure.frequencies)
    assert np.abs(bs.frequency.values - fp).max() < 1e-6
    # the two Gamma ends carry the LO-TO split limit
    at_g = np.flatnonzero(np.abs(bs.qpoint.values).sum(axis=1) < 1e-12)
    assert len(at_g) == 2 and (bs.frequency.values[at_g, 5] - bs.frequency.values[at_g, 4] > 1).all()


def test_group_velocities(case):
    method, fc, ph = case
    p = Phonons(fc, nac=method)
    q = np.random.default_rng(2).random((20, 3)) - 0.5
    v = p.group_velocities(q)
    # central differences of the NAC frequencies along x (non-degenerate here)
    h = 1e-6
    dq = h * fc.primitive.cell[:, 0]
    fd = (p.frequencies(q + dq) - p.frequencies(q - dq)) / (2 * h)
    f = p.frequencies(q)
    ok = (np.diff(f, axis=1, prepend=-1) > 1e-3) & (np.diff(f, axis=1, append=1e9) > 1e-3)
    assert np.abs(v[..., 0] - fd)[ok].max() < 1e-4 * np.abs(v).max()
    try:
        ph.run_qpoints(q, with_group_velocities=True)
    except Exception:          # pragma: no cover - phonopy without that NAC derivative
        return
    gv = ph.qpoints.group_velocities
    assert np.abs(v - gv)[ok].max() < 1e-4 * np.abs(v).max()


@pytest.mark.parametrize("S, aniso, tol", [(np.diag([4, 4, 4]), True, 1e-6), (NONDIAG, False, 1e-6),
                                           (NONDIAG, True, 5e-6)])
def test_nondiagonal_supercell_and_anisotropic_charges(S, aniso, tol):
    """``tol``: on commensurate zone-boundary points with several equally short images phonopy removes
    the dipole part at the image its Delaunay-ordered search finds first, we at ours; the G-sphere of
    the Ewald sum is centred on G = 0, not on K, so the two differ by ~1e-7 of the dipole part there
    (worst with anisotropic eps and a non-diagonal supercell: ~1.3e-6 THz)."""
    rng = np.random.default_rng(0)
    born, eps = BORN, EPS
    if aniso:
        born = BORN + rng.normal(0, 0.1, (2, 3, 3))
        born -= born.mean(axis=0)                      # charge neutrality
        eps = EPS + np.diag([0.0, 0.3, -0.2])
    fc, ph = _case(S, born=born, eps=eps)
    p = Phonons(fc)                                    # NAC on by default with Born charges
    assert p.nac == "gonze"
    q = np.concatenate([rng.random((60, 3)) - 0.5, [[0.02, 0, 0]]])
    ph.run_qpoints(q)
    assert np.abs(p.frequencies(q) - ph.qpoints.frequencies).max() < tol
    for d in DIRS:
        ph.run_qpoints([[0, 0, 0]], nac_q_direction=d)
        f0 = p.frequencies([[0, 0, 0]], q_direction=d)
        assert np.abs(f0 - ph.qpoints.frequencies)[0, 3:].max() < tol


def test_commensurate_points_and_api():
    S = np.asarray(NONDIAG)
    qc = commensurate_qpoints(S, centred=False)
    assert len(qc) == round(abs(np.linalg.det(S)))
    assert np.allclose(np.rint(qc @ S.T), qc @ S.T)
    fc, _ = _case(np.diag([2, 2, 2]))
    with pytest.raises(ValueError):
        Phonons(ForceConstants(fc.fc2, fc.supercell, fc.primitive), nac=True)
    with pytest.raises(ValueError):
        Phonons(fc, nac="ewald")
    with pytest.raises(ValueError):
        ForceConstants(fc.fc2, fc.supercell, fc.primitive, born=BORN)
    s = fc.symmetrize_asr()
    assert np.array_equal(s.born, fc.born) and np.array_equal(s.epsilon, fc.epsilon)


def test_netcdf_keeps_charges(tmp_path):
    fc, _ = _case(np.diag([2, 2, 2]))
    fc.write(tmp_path / "fc.nc")
    back = ForceConstants.read(tmp_path / "fc.nc")
    assert np.array_equal(back.born, fc.born) and np.array_equal(back.epsilon, fc.epsilon)


def _lo_to(p_or_ph, q, dirs):
    """Frequencies at q and at Gamma along each direction, (len(q) + len(dirs), 6) THz."""
    if isinstance(p_or_ph, Phonons):
        return np.concatenate([p_or_ph.frequencies(q)] + [p_or_ph.frequencies([0, 0, 0], q_direction=d)
                                                          for d in dirs])
    out = []
    p_or_ph.run_qpoints(q)
    out.append(p_or_ph.qpoints.frequencies)
    for d in dirs:
        p_or_ph.run_qpoints([[0, 0, 0]], nac_q_direction=d)
        out.append(p_or_ph.qpoints.frequencies)
    return np.concatenate(out)


def test_phonopy_files_with_born(tmp_path):
    """write(folder, "phonopy") writes nac_params into phonopy_params.yaml and a BORN; phonopy.load of them, and our
    read of the yaml, of the BORN alone, give our LO-TO frequencies."""
    fc, _ = _case(np.diag([2, 2, 2]))
    fc.write(tmp_path, "phonopy")
    assert (tmp_path / "BORN").exists()
    q = np.array([[0.1, 0.2, -0.05], [0.5, 0.5, 0], [0.02, 0, 0]])
    ours = _lo_to(Phonons(fc), q, DIRS)
    ph = phonopy.load(str(tmp_path / "phonopy_params.yaml"), log_level=0,
                      force_constants_filename=str(tmp_path / "FORCE_CONSTANTS"))
    assert ph.nac_params is not None
    assert np.abs(_lo_to(ph, q, DIRS) - ours).max() < 1e-6
    ph_born = phonopy.load(str(tmp_path / "phonopy_params.yaml"), log_level=0, born_filename=str(tmp_path / "BORN"),
                           force_constants_filename=str(tmp_path / "FORCE_CONSTANTS"))
    assert np.allclose(ph_born.nac_params["born"], fc.born) and np.allclose(ph_born.nac_params["dielectric"], fc.epsilon)
    back = ForceConstants.read(tmp_path, "phonopy")                     # the yaml's nac section
    assert np.allclose(back.born, fc.born, atol=1e-12) and back.nac_factor is None   # phonopy's default, 6 decimals in the yaml
    assert np.abs(_lo_to(Phonons(back), q, DIRS) - ours).max() < 1e-6
    assert ForceConstants.read(tmp_path, "phonopy", born=False).born is None
    # a BORN file alone (phonopy's format: independent atoms only, here Na and Cl), found in the folder
    d = tmp_path / "only_born"
    d.mkdir()
    ForceConstants(fc.fc2, fc.supercell, fc.primitive, smap=fc.smap, p2s=fc.p2s).write(d, "phonopy")
    (d / "BORN").write_text("# comment: default factor\n" + " ".join(map(str, EPS.ravel())) + "\n"
                            + "\n".join(" ".join(map(str, z.ravel())) for z in BORN) + "\n")
    b = ForceConstants.read(d, "phonopy")
    assert np.allclose(b.born, BORN) and np.allclose(b.epsilon, EPS) and b.nac_factor is None
    assert np.abs(_lo_to(Phonons(b), q, DIRS) - ours).max() < 1e-6
    # a factor on the BORN file's first line is kept and used
    (d / "BORN").write_text("10.0\n" + "\n".join((d / "BORN").read_text().splitlines()[1:]) + "\n")
    b = ForceConstants.read(d / "FORCE_CONSTANTS", "phonopy", born=d / "BORN")
    assert b.nac_factor == 10.0 and Phonons(b).nac_factor == 10.0
    b.write(d / "fc.nc")
    assert ForceConstants.read(d / "fc.nc").nac_factor == 10.0
