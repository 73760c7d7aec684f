"""A third corpus of broken and real-world inputs: each ends in a correct result or a clear error naming the file,
the frame and the line where one applies, and what to do.

- a misspelled ``ITEM:`` line of a LAMMPS dump (``ITEM: TIMESTP``, ``ITEM: ATOM id ...``);
- a UTF-8 byte-order mark at the start of a dump or XYZ file;
- a bzip2-, xz- or zstd-compressed dump;
- a float atom count (``256.0``) in a dump or an XYZ file;
- a netCDF file that is not a trajectory (trajmodes' force constants, any other netCDF);
- a LAMMPS dump without an ``id`` column;
- a VASP POSCAR under TDEP's names (``infile.ucposcar``, ``infile.ssposcar``) as a reference.
"""
from __future__ import annotations

import bz2
import lzma
import warnings

import numpy as np
import pytest

import trajmodes
from trajmodes import TrajectoryFormatError
from trajmodes.io import read_structure

from tests.support.dumps import read_quiet, small_dump


def _replace(text: str, old: str, new: str, occurrence: int) -> str:
    """``text`` with the ``occurrence``-th (0-based) ``old`` replaced by ``new``."""
    parts = text.split(old)
    return old.join(parts[:occurrence + 1]) + new + old.join(parts[occurrence + 1:])


def _line_of(text: str, needle: str, occurrence: int) -> int:
    """1-based line of the ``occurrence``-th occurrence of ``needle``."""
    at = -1
    for _ in range(occurrence + 1):
        at = text.index(needle, at + 1)
    return text.count("\n", 0, at) + 1


# --- 1. a misspelled ITEM: line ------------------------------------------------------------------------------
@pytest.mark.parametrize("good, bad", [("ITEM: TIMESTEP", "ITEM: TIMESTP"), ("ITEM: ATOMS id", "ITEM: ATOM id"),
                                       ("ITEM: NUMBER OF ATOMS", "ITEM: NUMBER OF ATOM"),
                                       ("ITEM: BOX BOUNDS", "ITEM: BOX BOUND"), ("ITEM: TIMESTEP", "ITEM: TIME STEP")])
@pytest.mark.parametrize("occurrence", [0, 2])
def test_misspelled_item_names_its_own_line_and_the_right_spelling(tmp_path, good, bad, occurrence):
    path, _ = small_dump(tmp_path / "good.lammpstrj")
    text = _replace(path.read_text(), good, bad, occurrence)
    path = tmp_path / "bad.lammpstrj"
    path.write_text(text)
    if good == "ITEM: TIMESTEP" and occurrence:
        # the misspelled header hides a frame's start, so the frames left read as unevenly spaced: said on opening
        with pytest.warns(UserWarning, match="the frames are not evenly spaced in time"):
            traj = read_quiet(path)
    else:
        traj = None
    with pytest.raises(TrajectoryFormatError) as err:
        (traj or read_quiet(path)).positions.compute()
    msg = str(err.value)
    assert err.value.line == _line_of(path.with_name("good.lammpstrj").read_text(), good, occurrence)
    assert repr(bad) in msg or repr(bad + text.split(bad, 1)[1].split("\n", 1)[0]) in msg
    assert f"should read {good!r}" in msg or f"should read '{good} " in msg
    if good == "ITEM: TIMESTEP" and occurrence:
        assert "after the atom lines of frame 1" in msg   # the frame before it is named as such, not blamed


def test_misspelled_timestep_of_a_one_frame_dump(tmp_path):
    path, _ = small_dump(tmp_path / "good.lammpstrj", n_frames=1)
    path.write_text(path.read_text().replace("ITEM: TIMESTEP", "ITEM: TIMESTP"))
    with pytest.raises(TrajectoryFormatError, match="should read 'ITEM: TIMESTEP'") as err:
        trajmodes.read(path, format="lammps")
    assert err.value.line == 1


# --- 2. a UTF-8 byte-order mark ------------------------------------------------------------------------------
XYZ = ("2\nLattice=\"5 0 0 0 5 0 0 0 5\" Properties=species:S:1:pos:R:3 time=0.0\nCu 0 0 0\nCu 1 1 1\n"
       "2\nLattice=\"5 0 0 0 5 0 0 0 5\" Properties=species:S:1:pos:R:3 time=0.01\nCu 0 0 0.1\nCu 1 1 1\n")


@pytest.mark.parametrize("kind, fmt", [("dump", None), ("dump", "lammps"), ("xyz", None), ("xyz", "xyz")])
def test_byte_order_mark_is_refused_with_the_command_that_removes_it(tmp_path, kind, fmt):
    if kind == "dump":
        path, _ = small_dump(tmp_path / "good.lammpstrj")
        data = path.read_bytes()
    else:
        data = XYZ.encode()
    path = tmp_path / f"bom.{'lammpstrj' if kind == 'dump' else 'xyz'}"
    path.write_bytes(b"\xef\xbb\xbf" + data)
    with pytest.raises(TrajectoryFormatError, match="starts with a UTF-8 byte-order mark") as err:
        read_quiet(path, format=fmt)
    assert "sed -i '1s/^\\xEF\\xBB\\xBF//' FILE" in str(err.value)
    assert err.value.line == 1
    with pytest.raises(TrajectoryFormatError, match="byte-order mark"):
        read_structure(path)


# --- 3. a compression trajmodes does not read ----------------------------------------------------------------
@pytest.mark.parametrize("name, compress, tool", [
    ("bzip2", bz2.compress, "bunzip2"), ("xz", lzma.compress, "unxz"),
    ("zstd", lambda b: b"\x28\xb5\x2f\xfd\x20\x00" + b"\x00" * 64, "unzstd")])
def test_bz2_xz_zstd_dump_says_what_it_is(tmp_path, name, compress, tool):
    path, _ = small_dump(tmp_path / "good.lammpstrj")
    packed = tmp_path / "run.lammpstrj.packed"
    packed.write_bytes(compress(path.read_bytes()))
    for fmt in (None, "lammps"):
        with pytest.raises(TrajectoryFormatError) as err:
            read_quiet(packed, format=fmt)
        msg = str(err.value)
        assert f"{name}-compressed" in msg and f"({tool} FILE)" in msg and "gzip" in msg
        assert "MDAnalysis" not in msg


# --- 4. a float atom count -----------------------------------------------------------------------------------
@pytest.mark.parametrize("occurrence", [0, 2])
def test_float_atom_count_in_a_dump(tmp_path, occurrence):
    path, _ = small_dump(tmp_path / "good.lammpstrj")
    text = _replace(path.read_text(), "ITEM: NUMBER OF ATOMS\n5\n", "ITEM: NUMBER OF ATOMS\n5.0\n", occurrence)
    path.write_text(text)
    with pytest.raises(TrajectoryFormatError, match="the atom count '5.0' after ITEM: NUMBER OF ATOMS is not a "
                                                    "whole number") as err:
        read_quiet(path).positions.compute()
    assert err.value.frame == occurrence
    assert err.value.line == _line_of(text, "ITEM: NUMBER OF ATOMS", occurrence) + 1
    assert "to 5" in err.value.fix


@pytest.mark.parametrize("frame", [0, 1])
def test_float_atom_count_in_an_xyz_file(tmp_path, frame):
    lines = XYZ.split("\n")
    lines[4 * frame] = "2.0"
    path = tmp_path / "float.xyz"
    path.write_text("\n".join(lines))
    with pytest.raises(TrajectoryFormatError, match="the atom count '2.0' is not a whole number") as err:
        read_quiet(path)
    assert (err.value.frame, err.value.line) == (frame, 4 * frame + 1)
    assert "ASE" not in str(err.value)


# --- 5. a netCDF file that is not a trajectory ---------------------------------------------------------------
@pytest.fixture(scope="module")
def fc_netcdf(tmp_path_factory):
    from tests.support.paths import EXAMPLES
    path = tmp_path_factory.mktemp("fcnc") / "fc.nc"
    trajmodes.ForceConstants.read(EXAMPLES / "fc" / "cu_eam", "phonopy").write(path, "netcdf")
    return path


@pytest.mark.parametrize("fmt", [None, "netcdf"])
def test_force_constants_netcdf_is_named_as_such(fc_netcdf, fmt):
    with pytest.raises(TrajectoryFormatError) as err:
        read_quiet(fc_netcdf, format=fmt)
    msg = str(err.value)
    assert "trajmodes second-order force constants" in msg and "fc2" in msg
    assert "trajmodes convert" in msg and "Trajectory.to_netcdf" in msg


def test_other_netcdf_names_its_title_and_variables(tmp_path):
    import netCDF4
    path = tmp_path / "ocean.nc"
    with netCDF4.Dataset(path, "w") as ds:
        ds.title = "ocean temperatures"
        ds.createDimension("x", 3)
        ds.createVariable("temperature", "f8", ("x",))[:] = 1.0
    for fn in (lambda: read_quiet(path), lambda: read_structure(path)):
        with pytest.raises(TrajectoryFormatError) as err:
            fn()
        msg = str(err.value)
        assert "ocean temperatures" in msg and "temperature" in msg and "trajmodes convert" in msg


# --- 6. a dump without an id column --------------------------------------------------------------------------
@pytest.mark.parametrize("columns", [["x", "y", "z"], ["type", "x", "y", "z", "vx", "vy", "vz"]])
def test_dump_without_ids_reads_in_file_order_with_one_warning(tmp_path, columns):
    path, truth = small_dump(tmp_path / "noid.lammpstrj", columns=columns)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        traj = trajmodes.read(path, md_timestep=0.001)
        pos = traj.positions.compute()
    said = [str(w.message) for w in caught if "no id column" in str(w.message)]
    assert len(said) == 1 and "dump_modify sort id" in said[0]
    np.testing.assert_array_equal(pos, truth.wrapped())
    if "vx" in columns:
        np.testing.assert_array_equal(traj.velocities.compute(), truth.velocities)
    np.testing.assert_array_equal(traj.cells.compute(), truth.cells)


@pytest.mark.filterwarnings("ignore:.*no id column")
def test_dump_without_ids_still_checks_every_frame(tmp_path):
    path, _ = small_dump(tmp_path / "noid.lammpstrj", columns=["type", "x", "y", "z"])
    text = path.read_text().split("\n")
    rows = [k for k, ln in enumerate(text) if ln.startswith("ITEM: ATOMS")]
    text[rows[2] + 3] += " 7.0"                      # a token too many in frame 2
    path.write_text("\n".join(text))
    with pytest.raises(TrajectoryFormatError, match="holds 5 values") as err:
        read_quiet(path).positions.compute()
    assert (err.value.frame, err.value.line) == (2, rows[2] + 4)


# --- 7. a POSCAR under TDEP's names --------------------------------------------------------------------------
POSCAR = ("Si diamond\n   5.43\n 0.0 0.5 0.5\n 0.5 0.0 0.5\n 0.5 0.5 0.0\n Si\n 2\nDirect coordinates\n"
          " 0.00 0.00 0.00\n 0.25 0.25 0.25\n")


@pytest.mark.parametrize("name", ["infile.ucposcar", "infile.ssposcar", "Si.structure"])
def test_poscar_recognised_by_its_content(tmp_path, name):
    path = tmp_path / name
    path.write_text(POSCAR)
    s = read_structure(path)
    np.testing.assert_allclose(s.cell, 5.43 * np.array([[0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]]))
    np.testing.assert_allclose(s.positions[1], [1.3575] * 3)
    assert list(s.species) == ["Si", "Si"]


def test_xyz_file_is_not_taken_for_a_poscar(tmp_path):
    path = tmp_path / "two.xyz"
    path.write_text(XYZ)
    s = read_structure(path)
    np.testing.assert_allclose(s.positions, [[0, 0, 0], [1, 1, 1]])
