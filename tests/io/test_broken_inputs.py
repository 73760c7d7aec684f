"""A corpus of broken LAMMPS dumps, made from a valid one: every defect gives a clear error.

The valid dump has 4 frames of 5 atoms and no ``ITEM: TIME``, so frame k (0-based) spans lines
14k+1 .. 14k+14: ``ITEM: TIMESTEP`` on 14k+1, its value on 14k+2, ``ITEM: ATOMS`` on 14k+9 and the
atom rows (ids 1..5 in order) on 14k+10 .. 14k+14.  Errors must name the file, and the frame and
line where one applies; defects in frames after the first must surface when the data are computed.
"""
from __future__ import annotations

import gzip
import os
import warnings

import numpy as np
import pytest

from trajmodes import ReferenceMismatchError, TrajectoryFormatError, TruncatedFrameWarning

from tests.support.dumps import random_truth, read_quiet, small_dump, write_dump

NA, NF = 5, 4


def row_line(frame: int, atom: int) -> int:
    return 14 * frame + 10 + atom


@pytest.fixture
def valid(tmp_path):
    path, truth = small_dump(tmp_path / "valid.lammpstrj", n_frames=NF, n_atoms=NA, seed=11)
    return path.read_text(), truth


def frames_of(text: str) -> list[str]:
    parts = text.split("ITEM: TIMESTEP\n")
    return ["ITEM: TIMESTEP\n" + p for p in parts[1:]]


def write(tmp_path, name: str, text: str | bytes):
    p = tmp_path / name
    p.write_bytes(text if isinstance(text, bytes) else text.encode())
    return p


def check(err, path, frame=None, line=None, match=None):
    msg = str(err.value)
    assert type(err.value) is TrajectoryFormatError or isinstance(err.value, TrajectoryFormatError)
    assert path.name in msg
    if frame is not None:
        assert err.value.frame == frame and f"frame {frame}" in msg
    if line is not None:
        assert err.value.line == line and f"line {line}" in msg
    if match is not None:
        assert match in msg, msg


def replace_row(text: str, frame: int, atom: int, new: str) -> str:
    lines = text.split("\n")
    lines[row_line(frame, atom) - 1] = new
    return "\n".join(lines)


def row(text: str, frame: int, atom: int) -> str:
    return text.split("\n")[row_line(frame, atom) - 1]


def fails_on_compute(path, **kw):
    """Open succeeds (the defect is in a later frame); computing raises."""
    t = read_quiet(path, **kw)
    assert t.n_frames >= 2
    np.asarray(t[0].positions.compute())  # frame 0 is fine
    with pytest.raises(TrajectoryFormatError) as err:
        t.positions.compute()
    return err


# --- truncation ------------------------------------------------------------------------------------
@pytest.mark.parametrize("cut", ["after_timestep_item", "after_timestep_value", "in_header", "no_rows",
                                 "two_rows", "mid_row", "mid_last_row"])
def test_truncated_last_frame_dropped(tmp_path, valid, cut):
    text, truth = valid
    last = frames_of(text)[-1]
    lines = last.split("\n")
    keep = {"after_timestep_item": "ITEM: TIMESTEP\n", "after_timestep_value": "\n".join(lines[:2]) + "\n",
            "in_header": "\n".join(lines[:6]) + "\n", "no_rows": "\n".join(lines[:9]) + "\n",
            "two_rows": "\n".join(lines[:11]) + "\n", "mid_row": "\n".join(lines[:11]) + "\n" + lines[11][:9],
            "mid_last_row": "\n".join(lines[:13]) + "\n" + " ".join(lines[13].split()[:6])}[cut]
    p = write(tmp_path, f"trunc_{cut}.lammpstrj", "".join(frames_of(text)[:-1]) + keep)
    with pytest.warns(TruncatedFrameWarning, match=p.name):
        t = read_quiet(p)
    assert t.n_frames == NF - 1
    assert np.array_equal(t.steps, truth.steps[:-1])
    assert np.array_equal(t.positions.compute(), truth.unwrapped()[:-1])
    assert np.array_equal(t.forces.compute(), truth.forces[:-1])


def test_only_frame_truncated(tmp_path, valid):
    text, _ = valid
    p = write(tmp_path, "only.lammpstrj", "\n".join(text.split("\n")[:12]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TruncatedFrameWarning)
        with pytest.raises(TrajectoryFormatError) as err:
            read_quiet(p)
    check(err, p, frame=0, match="no complete frame")


def test_truncated_middle_frame_of_concatenation(tmp_path, valid):
    text, truth = valid
    fr = frames_of(text)
    cut = "\n".join(fr[2].split("\n")[:11]) + "\n"  # frame 2 keeps 2 of its 5 atom lines
    p = write(tmp_path, "concat.lammpstrj", fr[0] + fr[1] + cut + fr[3])
    t = read_quiet(p)
    assert t.n_frames == 4
    assert np.array_equal(t[:2].positions.compute(), truth.unwrapped()[:2])
    assert np.array_equal(t[3].positions.compute()[0], truth.unwrapped()[3])  # after the damage: fine
    with pytest.raises(TrajectoryFormatError) as err:
        t.positions.compute()
    check(err, p, frame=2, line=row_line(2, 2), match="fewer atom lines")


def test_truncated_mid_line_then_concatenated(tmp_path, valid):
    text, _ = valid
    fr = frames_of(text)
    cut = "\n".join(fr[2].split("\n")[:11]) + "\n" + fr[2].split("\n")[11][:12]  # no newline
    p = write(tmp_path, "glued.lammpstrj", fr[0] + fr[1] + cut + fr[3])
    err = fails_on_compute(p)
    check(err, p, frame=2, line=row_line(2, 2))


def test_truncated_gzip(tmp_path, valid):
    text, _ = valid
    p = write(tmp_path, "cut.lammpstrj.gz", gzip.compress(text.encode())[:-40])
    with pytest.raises(TrajectoryFormatError) as err:
        read_quiet(p)
    check(err, p, match="gzip")


# --- columns ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("columns, match", [
    # a dump without 'id' is read in file order (tests/io/test_broken_inputs_3.py)
    ("id type xu yu zu vx vy q fx fy fz", "only some of the velocities"),
    ("id type xu yu q vx vy vz fx fy fz", "no complete set of position columns"),
    ("id type xu yu zu vx vy vz fx c_pe fz", "only some of the forces")])
def test_missing_columns(tmp_path, valid, columns, match):
    text, _ = valid
    p = write(tmp_path, "cols.lammpstrj", text.replace("ITEM: ATOMS id type xu yu zu vx vy vz fx fy fz",
                                                       "ITEM: ATOMS " + columns))
    with pytest.raises(TrajectoryFormatError) as err:
        read_quiet(p)
    check(err, p, frame=0, line=9, match=match)


def test_columns_change_mid_file(tmp_path, valid):
    text, _ = valid
    fr = frames_of(text)
    fr[2] = fr[2].replace("ITEM: ATOMS id type xu", "ITEM: ATOMS type id xu")
    p = write(tmp_path, "colchange.lammpstrj", "".join(fr))
    check(fails_on_compute(p), p, frame=2, line=14 * 2 + 1, match="columns changed")


def test_columns_differ_in_second_file(tmp_path):
    truth = random_truth(np.random.default_rng(2), 4, 3)
    a = write_dump(tmp_path / "part_a.lammpstrj", truth, ["id", "xu", "yu", "zu", "vx", "vy", "vz"],
                   frames=[0, 1])
    b = write_dump(tmp_path / "part_b.lammpstrj", truth, ["id", "xu", "yu", "zu"], frames=[2, 3])
    t = read_quiet([a, b])
    assert np.array_equal(t[:2].positions.compute(), truth.unwrapped()[:2])
    with pytest.raises(TrajectoryFormatError) as err:
        t.positions.compute()
    check(err, b, frame=0, line=1, match="columns changed")


def test_fewer_columns_in_a_row(tmp_path, valid):
    text, _ = valid
    r = row(text, 2, 3)
    p = write(tmp_path, "short_row.lammpstrj", replace_row(text, 2, 3, " ".join(r.split()[:-1])))
    check(fails_on_compute(p), p, frame=2, line=row_line(2, 3), match="fewer columns")


# --- atom counts and ids ------------------------------------------------------------------------------
def test_atom_count_changes(tmp_path, valid):
    text, _ = valid
    fr = frames_of(text)
    lines = fr[2].split("\n")
    lines[3] = str(NA - 1)
    del lines[13]
    fr[2] = "\n".join(lines)
    p = write(tmp_path, "natoms.lammpstrj", "".join(fr))
    check(fails_on_compute(p), p, frame=2, line=14 * 2 + 1, match="atom count changed from 5 to 4")


def test_fewer_rows_than_announced(tmp_path, valid):
    text, _ = valid
    fr = frames_of(text)
    lines = fr[1].split("\n")
    del lines[12]  # one atom line less, count unchanged
    fr[1] = "\n".join(lines)
    p = write(tmp_path, "fewrows.lammpstrj", "".join(fr))
    check(fails_on_compute(p), p, frame=1, line=row_line(1, 4), match="fewer atom lines")


def test_more_rows_than_announced(tmp_path, valid):
    text, _ = valid
    p = write(tmp_path, "morerows.lammpstrj",
              text.replace("ITEM: NUMBER OF ATOMS\n5\n", "ITEM: NUMBER OF ATOMS\n4\n", 1))
    with pytest.raises(TrajectoryFormatError) as err:
        read_quiet(p)
    check(err, p, frame=0, line=row_line(0, 4), match="more atom lines")


@pytest.mark.parametrize("count", ["0", "-3", "five"])
def test_bad_atom_count(tmp_path, valid, count):
    text, _ = valid
    p = write(tmp_path, "count.lammpstrj", text.replace("ITEM: NUMBER OF ATOMS\n5\n",
                                                        f"ITEM: NUMBER OF ATOMS\n{count}\n"))
    with pytest.raises(TrajectoryFormatError) as err:
        read_quiet(p)
    check(err, p, frame=0, line=4 if count == "five" else 1, match="frame header")   # "five": its own line


def test_duplicate_ids_first_frame(tmp_path, valid):
    text, _ = valid
    r = row(text, 0, 3).split()
    p = write(tmp_path, "dup0.lammpstrj", replace_row(text, 0, 3, " ".join(["3"] + r[1:])))
    with pytest.raises(TrajectoryFormatError) as err:
        read_quiet(p)
    check(err, p, frame=0, line=row_line(0, 3), match="duplicate atom ids [3]")


def test_duplicate_ids_later_frame(tmp_path, valid):
    text, _ = valid
    r = row(text, 2, 4).split()
    p = write(tmp_path, "dup2.lammpstrj", replace_row(text, 2, 4, " ".join(["2"] + r[1:])))
    check(fails_on_compute(p), p, frame=2, line=row_line(2, 4), match="[5] are missing and [2] repeated")


def test_id_not_in_first_frame(tmp_path, valid):
    text, _ = valid
    r = row(text, 3, 1).split()
    p = write(tmp_path, "unknown.lammpstrj", replace_row(text, 3, 1, " ".join(["17"] + r[1:])))
    check(fails_on_compute(p), p, frame=3, line=row_line(3, 1), match="[17] are not in the first frame")


@pytest.mark.parametrize("frame", [0, 2])
def test_non_integer_id(tmp_path, valid, frame):
    text, _ = valid
    r = row(text, frame, 2).split()
    p = write(tmp_path, "idfloat.lammpstrj", replace_row(text, frame, 2, " ".join(["3.5"] + r[1:])))
    if frame == 0:
        with pytest.raises(TrajectoryFormatError) as err:
            read_quiet(p)
    else:
        err = fails_on_compute(p)
    check(err, p, frame=frame, line=row_line(frame, 2), match="not an integer")


# --- values ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("token, match", [("nan", "NaN or infinite"), ("-inf", "NaN or infinite"),
                                          ("1e999", "NaN or infinite"), ("abc", "not a number"),
                                          ("1.2.3", "not a number"), ("0x1p3", "not a number"),
                                          ("1,5", "not a number"), ("1.5d0", "not a number")])
@pytest.mark.parametrize("frame", [0, 3])
def test_bad_values(tmp_path, valid, token, match, frame):
    text, _ = valid
    r = row(text, frame, 1).split()
    r[6] = token  # vy
    p = write(tmp_path, "values.lammpstrj", replace_row(text, frame, 1, " ".join(r)))
    if frame == 0:
        with pytest.raises(TrajectoryFormatError) as err:
            read_quiet(p)
    else:
        err = fails_on_compute(p)
    check(err, p, frame=frame, line=row_line(frame, 1), match=match)
    assert "'vy'" in str(err.value)


@pytest.mark.parametrize("value", ["abc", "12x", "", "1.5", "-"])
@pytest.mark.parametrize("frame", [0, 2, 3])
def test_bad_timestep(tmp_path, valid, value, frame):
    text, _ = valid
    lines = text.split("\n")
    lines[14 * frame + 1] = value
    p = write(tmp_path, "ts.lammpstrj", "\n".join(lines))
    with pytest.raises(TrajectoryFormatError) as err:
        read_quiet(p)
    check(err, p, frame=frame, line=14 * frame + 2, match="TIMESTEP")


def test_bad_box_in_later_frame(tmp_path, valid):
    text, _ = valid
    lines = text.split("\n")
    lines[14 * 2 + 5] = "0.0 seven"
    p = write(tmp_path, "box.lammpstrj", "\n".join(lines))
    check(fails_on_compute(p), p, frame=2, line=14 * 2 + 6, match="frame header")   # the bad bounds line


# --- not a dump at all -----------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", [None, "lammps"])
@pytest.mark.parametrize("content", ["", "hello world\nthis is not a trajectory\n", "\n\n\n",
                                     "ITEM: NUMBER OF ATOMS\n5\n"])
def test_not_a_dump(tmp_path, fmt, content):
    p = write(tmp_path, "notadump.lammpstrj", content)
    with pytest.raises(TrajectoryFormatError) as err:
        read_quiet(p, format=fmt)
    check(err, p)


# --- reference and units -----------------------------------------------------------------------------
def _fcc_dump(tmp_path):
    """A 32-atom fcc dump at small displacements, and its ideal sites."""
    a = 3.615
    basis = np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
    sites = np.array([np.array([i, j, k]) + b for i in range(2) for j in range(2) for k in range(2)
                      for b in basis]) / 2
    rng = np.random.default_rng(5)
    t = random_truth(rng, 3, 32)
    t.cells[:] = np.eye(3) * 2 * a
    t.origins[:] = 0
    t.frac = (sites + rng.normal(0, 0.01, (3, 32, 3))) % 1.0
    t.images[:] = 0
    p = write_dump(tmp_path / "fcc.lammpstrj", t, ["id", "type", "xu", "yu", "zu"])
    return p, sites @ t.cells[0]


def test_reference_ok(tmp_path):
    p, sites = _fcc_dump(tmp_path)
    t = read_quiet(p, reference=sites)
    u = t.displacements().compute()
    assert np.sqrt((u ** 2).sum(-1).mean()) < 0.2


@pytest.mark.parametrize("what, match", [("count", "atoms"), ("box", "cell"), ("order", "not in the same order")])
def test_reference_mismatch(tmp_path, what, match):
    p, sites = _fcc_dump(tmp_path)
    a = 3.615
    if what == "count":
        ref = sites[:-4]
    elif what == "box":
        from trajmodes import Structure
        ref = Structure(sites * 1.1, np.eye(3) * 2 * a * 1.1)
    else:
        ref = sites[np.random.default_rng(0).permutation(32)]
    with pytest.raises(ReferenceMismatchError, match=match):
        read_quiet(p, reference=ref)


def test_reference_data_file_wrong_atom_count(tmp_path, data_dir):
    p, _ = small_dump(tmp_path / "five.lammpstrj", n_atoms=5)
    with pytest.raises(ReferenceMismatchError, match="32 atoms"):
        read_quiet(p, reference=data_dir / "cu32.data")


def test_reference_data_file_wrong_box(data_dir):
    with pytest.raises(ReferenceMismatchError, match="cell"):
        read_quiet(data_dir / "cu32_triclinic.lammpstrj", reference=data_dir / "cu32.data")


def test_units_mismatch(tmp_path, valid):
    text, _ = valid
    p = write(tmp_path, "units.lammpstrj", "ITEM: UNITS\nreal\n" + text)
    with pytest.raises(TrajectoryFormatError) as err:
        read_quiet(p, units="si")
    check(err, p, match="ITEM: UNITS real")
    assert read_quiet(p).source.units == "real"  # the file is authoritative over the default


@pytest.mark.parametrize("make, kind", [(os.mkfifo, "named pipe"), (os.mkdir, "folder")])
def test_a_path_that_is_not_a_regular_file_is_refused_at_once(tmp_path, make, kind):
    """A FIFO given as a trajectory or a reference used to hang forever in the first read; a folder gave an
    IsADirectoryError. Both are refused before anything is read, with the path and what to do."""
    import trajmodes
    from trajmodes.errors import TrajectoryFormatError
    p = tmp_path / "run.lammpstrj"
    make(p)
    with pytest.raises(TrajectoryFormatError, match=kind) as err:
        trajmodes.read(p)
    assert str(p) in str(err.value) and "regular file" in str(err.value)
    from trajmodes.io import read_structure
    with pytest.raises(TrajectoryFormatError, match=kind):
        read_structure(p)


def test_a_fit_of_frames_without_a_cell_names_the_file(tmp_path):
    """A trajectory without a box (plain XYZ, CP2K's DCD without a unit cell) failed the fit with 'a structure
    without a cell is not a crystal', naming no file; the file and what to give are named."""
    import trajmodes
    from tests.support.paths import TESTS
    traj = trajmodes.read(TESTS / "data" / "cu32_plain.xyz", frame_interval=0.01)
    with pytest.warns(UserWarning, match="cu32_plain.xyz: no reference crystal was given"), \
            pytest.raises(ValueError, match=r"cu32_plain.xyz: neither the frames nor the reference hold a cell .* "
                                            r"give reference= a structure with the cell"):
        trajmodes.EffectiveForceConstants(cutoff2=3.0).fit(traj)
