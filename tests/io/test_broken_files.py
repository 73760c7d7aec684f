"""Broken files of every kind trajmodes reads, besides LAMMPS dumps and XYZ (their own corpora are in
test_broken_inputs.py and test_xyz.py): format detection, netCDF caches, force-constant files, slices.

Every case ends in a clear error that names the file and says what is wrong, never in another package's
complaint or a numpy traceback.
"""
from __future__ import annotations

import gzip
import warnings

import numpy as np
import pytest

from tests.support.paths import EXAMPLES
import trajmodes
from trajmodes.errors import TrajectoryFormatError

from tests.support.dumps import small_dump


def _read(path, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = trajmodes.read(path, **kw)
        t.positions.compute()
    return t


@pytest.fixture
def dump_bytes(tmp_path):
    p, _ = small_dump(tmp_path / "src.lammpstrj", n_frames=4, n_atoms=5)
    return p.read_bytes()


DETECTION = {  # name: (content maker, words the message must hold)
    "empty.lammpstrj": (lambda b: b"", ["empty"]),
    "twice.lammpstrj.gz": (lambda b: gzip.compress(gzip.compress(b)), ["compressed twice"]),
    "cut.lammpstrj.gz": (lambda b: gzip.compress(b * 50)[:200], ["truncated or damaged"]),
    "noise.dat": (lambda b: np.random.default_rng(0).bytes(5000), ["binary", "not a LAMMPS dump", "MDAnalysis"]),
    "damaged.lammpstrj": (lambda b: b"ITEX" + b[4:], ["'ITEX: TIMESTEP'", "not a LAMMPS dump", "not an XYZ",
                                                     "MDAnalysis cannot read it either"]),
}


@pytest.mark.parametrize("name", sorted(DETECTION))
def test_format_detection_says_why(tmp_path, dump_bytes, name):
    make, words = DETECTION[name]
    p = tmp_path / name
    p.write_bytes(make(dump_bytes))
    with pytest.raises(TrajectoryFormatError) as err:
        _read(p)
    msg = str(err.value)
    assert name in msg and "topology format" not in msg.split("either")[0], msg
    for w in words:
        assert w in msg, (w, msg)


# ----------------------------------------------------------------------------- netCDF caches
@pytest.fixture
def cache(tmp_path):
    p, _ = small_dump(tmp_path / "src.lammpstrj", n_frames=6, n_atoms=5)
    out = tmp_path / "cache.nc"
    _read(p).to_netcdf(out)
    return out


def _edit_nc(path, edit):
    import netCDF4
    with netCDF4.Dataset(path, "a") as ds:
        edit(ds)


def _drop_variable(src, dst, name):
    """Copy a netCDF file without one variable (netCDF4 cannot delete variables in place)."""
    import netCDF4
    with netCDF4.Dataset(src) as a, netCDF4.Dataset(dst, "w") as b:
        b.setncatts({k: a.getncattr(k) for k in a.ncattrs()})
        for d in a.dimensions.values():
            b.createDimension(d.name, len(d))
        for v in a.variables.values():
            if v.name != name:
                w = b.createVariable(v.name, v.datatype, v.dimensions)
                w.setncatts({k: v.getncattr(k) for k in v.ncattrs()})
                w[:] = v[:]


@pytest.mark.parametrize("name", ["time", "positions", "reference_positions", "species"])
def test_cache_missing_variable(tmp_path, cache, name):
    broken = tmp_path / f"no_{name}.nc"
    _drop_variable(cache, broken, name)
    with pytest.raises(TrajectoryFormatError) as err:
        _read(broken)
    msg = str(err.value)
    assert broken.name in msg and f"no variable '{name}'" in msg and "convert" in msg, msg


def test_cache_nan_positions_name_the_frame(cache):
    _edit_nc(cache, lambda ds: ds["positions"].__setitem__((4, 2, 1), np.nan))
    t = trajmodes.read(cache)
    assert np.isfinite(t[:4].positions.compute()).all()
    with pytest.raises(TrajectoryFormatError) as err:
        t.positions.compute()
    assert err.value.frame == 4 and "frame 4" in str(err.value) and "NaN" in str(err.value)


def test_cache_nan_reference(cache):
    _edit_nc(cache, lambda ds: ds["reference_positions"].__setitem__((0, 0), np.nan))
    with pytest.raises(TrajectoryFormatError, match="reference_positions.*NaN"):
        trajmodes.read(cache)


def test_cache_cut_short(tmp_path, cache):
    cut = tmp_path / "cut.nc"
    cut.write_bytes(cache.read_bytes()[:2000])
    with pytest.raises(TrajectoryFormatError) as err:
        trajmodes.read(cut)
    assert "cut.nc" in str(err.value)


# ----------------------------------------------------------------------------- selections
def test_empty_selection_is_a_clear_error(tmp_path):
    p, _ = small_dump(tmp_path / "d.lammpstrj", n_frames=6, n_atoms=5)
    t = _read(p)
    part = t[1000:5000:2]
    assert part.n_frames == 0
    for action in (lambda: part.to_netcdf(tmp_path / "part.nc"), part.displacements, lambda: part.reference):
        with pytest.raises(ValueError, match=r"\[1000:5000:2\] of a 6-frame trajectory selects no frames"):
            action()
    assert not list(tmp_path.glob("part.nc*")) and not list(tmp_path.glob(".part.nc*"))
    with pytest.raises(ValueError, match="step of a slice cannot be zero"):
        t[::0]
    with pytest.raises(IndexError, match="has 6 frames"):
        t[[0, 9]]


# ----------------------------------------------------------------------------- force-constant files
CU_FC = EXAMPLES / "fc" / "cu_eam"


def _fc_folder(tmp_path, edit):
    import shutil
    d = tmp_path / "fc"
    shutil.copytree(CU_FC, d)
    edit(d)
    return d


def _cut(name, keep):
    def edit(d):
        (d / name).write_bytes((d / name).read_bytes()[:keep])
    return edit


def _sub_line(name, line, new):
    def edit(d):
        lines = (d / name).read_text().split("\n")
        lines[line] = new
        (d / name).write_text("\n".join(lines))
    return edit


FC_CASES = {  # name: (edit of a copy of examples/fc/cu_eam, file blamed, words)
    "cut FORCE_CONSTANTS": (_cut("FORCE_CONSTANTS", 3000), "FORCE_CONSTANTS", "cut short"),
    "NaN in FORCE_CONSTANTS": (_sub_line("FORCE_CONSTANTS", 2, "  nan 0 0"), "FORCE_CONSTANTS", "NaN"),
    "wrong atom count": (_sub_line("FORCE_CONSTANTS", 0, "   1  100"), "FORCE_CONSTANTS", "promises"),
    "cut yaml": (_cut("phonopy_params.yaml", 1500), "phonopy_params.yaml", "not a readable phonopy yaml"),
}


@pytest.mark.parametrize("case", sorted(FC_CASES))
def test_broken_phonopy_files(tmp_path, case):
    from trajmodes import ForceConstants
    from trajmodes.errors import ForceConstantsFormatError
    edit, blamed, words = FC_CASES[case]
    d = _fc_folder(tmp_path, edit)
    with pytest.raises(ForceConstantsFormatError) as err:
        ForceConstants.read(d, "phonopy")
    msg = str(err.value)
    assert str(d / blamed) in msg and words in msg, msg


def test_broken_fc_on_the_command_line(tmp_path, capsys):
    from trajmodes.cli import main
    d = _fc_folder(tmp_path, FC_CASES["cut FORCE_CONSTANTS"][0])
    assert main(["phonons", str(d), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cut short" in err and not (tmp_path / "out").exists()


def _fc_nc(tmp_path):
    from trajmodes import ForceConstants
    p = tmp_path / "fc.nc"
    ForceConstants.read(CU_FC, "phonopy").write(p, "netcdf")
    return p


def test_broken_trajmodes_fc_files(tmp_path):
    from trajmodes import ForceConstants
    from trajmodes.errors import ForceConstantsFormatError
    good = _fc_nc(tmp_path)
    cut = tmp_path / "cut.nc"
    cut.write_bytes(good.read_bytes()[:3000])
    with pytest.raises(ForceConstantsFormatError, match="cut.nc: netCDF cannot open it"):
        ForceConstants.read(cut, "netcdf")
    nan = tmp_path / "nan.nc"
    nan.write_bytes(good.read_bytes())
    _edit_nc(nan, lambda ds: ds["fc2"].__setitem__((0, 5, 1, 1), np.nan))
    with pytest.raises(ForceConstantsFormatError, match="nan.nc: the fc2 force constants hold NaN"):
        ForceConstants.read(nan, "netcdf")
    missing = tmp_path / "missing.nc"
    _drop_variable(good, missing, "p2s")
    with pytest.raises(ForceConstantsFormatError, match="missing.nc: it has no variable 'p2s'"):
        ForceConstants.read(missing, "netcdf")
