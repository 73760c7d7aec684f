"""ForceConstants: layouts, sum rule, permutation symmetry, phonopy and netCDF files."""

import numpy as np
import pytest

from trajmodes import ForceConstants
from tests.support.crystals import diamond_si, supercell
from tests.support.morse import morse_fc

phonopy = pytest.importorskip("phonopy")


@pytest.fixture(scope="module")
def si_fc():
    prim = diamond_si()
    sc = supercell(prim, np.diag([3, 3, 3]), shuffle_seed=2)
    return ForceConstants(morse_fc(sc, D0=2.0, alpha=1.5, r0=2.35, cutoff=9.0), sc, prim)


def test_layouts(si_fc):
    assert si_fc.layout == "full"
    c = ForceConstants(si_fc.compact(), si_fc.supercell, si_fc.primitive)
    assert c.layout == "compact" and c.compact().shape == (2, 54, 3, 3)
    assert np.abs(c.full() - si_fc.fc2).max() < 1e-12
    assert np.abs(c.transposed() - c.fc2).max() < 1e-12


def test_asr_and_permutation(si_fc):
    rng = np.random.default_rng(0)
    noisy = si_fc.fc2 + rng.normal(0, 0.05, si_fc.fc2.shape)
    for fc in (ForceConstants(noisy, si_fc.supercell, si_fc.primitive),):
        assert fc.asr_violation() > 0.1
        s = fc.symmetrize_asr()
        assert s.asr_violation() < 1e-12
        assert np.abs(s.fc2 - s.fc2.transpose(1, 0, 3, 2)).max() < 1e-12
        assert np.abs(s.fc2.sum(axis=0)).max() < 1e-12
        # a projection: idempotent, leaves valid constants alone
        assert np.abs(s.symmetrize_asr().fc2 - s.fc2).max() < 1e-12
    assert np.abs(si_fc.symmetrize_asr().fc2 - si_fc.fc2).max() < 1e-12
    # compact layout: same projection as the full one for translation-invariant constants
    tr = ForceConstants(si_fc.compact() + rng.normal(0, 0.05, si_fc.compact().shape), si_fc.supercell, si_fc.primitive)
    sc = tr.symmetrize_asr()
    assert sc.asr_violation() < 1e-12
    full = ForceConstants(tr.full(), tr.supercell, tr.primitive).symmetrize_asr()
    assert np.abs(sc.full() - full.fc2).max() < 1e-12


@pytest.mark.parametrize("fmt", ["text", "hdf5"])
def test_phonopy_round_trip(si_fc, tmp_path, fmt):
    si_fc.write(tmp_path, "phonopy", fc_format=fmt)
    back = ForceConstants.read(tmp_path, "phonopy")
    # phonopy's supercell order differs; compare through the maps
    m0, m1 = si_fc.smap, back.smap
    ours = m0.index(m1.atom, m1.lattice)
    cols = si_fc.compact_columns(ours[back.p2s][:, None], ours[None, :])
    assert np.abs(back.compact() - si_fc.compact()[np.arange(2)[:, None], cols]).max() < 1e-10
    # files written by phonopy itself
    ph = phonopy.load(str(tmp_path / "phonopy_params.yaml"), is_nac=False, log_level=0,
                      force_constants_filename=str(tmp_path / ("FORCE_CONSTANTS" if fmt == "text" else "fc2.hdf5")))
    from phonopy.file_IO import write_FORCE_CONSTANTS
    d = tmp_path / "ph"
    d.mkdir()
    write_FORCE_CONSTANTS(ph.force_constants, filename=str(d / "FORCE_CONSTANTS"), p2s_map=ph.primitive.p2s_map)
    ph.save(str(d / "phonopy_params.yaml"), settings={"force_constants": False})
    again = ForceConstants.read(d / "FORCE_CONSTANTS", "phonopy")
    assert np.abs(again.compact() - np.asarray(ph.force_constants)).max() < 1e-10


def test_from_phonopy_missing(tmp_path):
    with pytest.raises(FileNotFoundError):
        ForceConstants.read(tmp_path, "phonopy")


def test_netcdf_round_trip(si_fc, tmp_path):
    p = tmp_path / "fc.nc"
    si_fc.write(p, "netcdf")
    back = ForceConstants.read(p, "netcdf")
    assert np.array_equal(back.fc2, si_fc.fc2) and back.layout == "full"
    assert np.array_equal(back.supercell.species, si_fc.supercell.species)
    assert np.array_equal(back.smap.lattice, si_fc.smap.lattice) and np.array_equal(back.p2s, si_fc.p2s)
    import netCDF4
    with netCDF4.Dataset(p) as ds:
        assert ds["fc2"].units == "eV/A^2"
    assert [f.name for f in tmp_path.iterdir()] == ["fc.nc"]
