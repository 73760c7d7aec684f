"""More broken LAMMPS dumps and data files, each class a clear error naming file, frame and line (or a correct
result): damaged items, impossible boxes, duplicate columns, absurd atom counts, types and elements that change,
64-bit ids, files out of order, and data files with NaN boxes, no atoms or a bad row."""
from __future__ import annotations

import resource
import warnings

import numpy as np
import pytest

from tests.support.paths import DATA
import trajmodes
from trajmodes.errors import ReferenceMismatchError, TrajectoryFormatError

DUMP = (DATA / "cu32_xu.lammpstrj").read_text().split("\n")       # 20 frames of 32 atoms, 41 lines each
PER = 41


def _write(tmp_path, lines, name="d.lammpstrj"):
    p = tmp_path / name
    p.write_text("\n".join(lines))
    return p


def _fails(p, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(TrajectoryFormatError) as err:
            t = trajmodes.read(p, md_timestep=0.001, **kw)
            t.positions.compute()
    return err.value


def _row(frame, atom):
    """0-based index in DUMP of the row of the atom_th atom of frame."""
    return frame * PER + 9 + atom


def _edit_rows(frames, atom, column, value):
    lines = list(DUMP)
    for k in frames:
        r = lines[_row(k, atom)].split()
        r[column] = value
        lines[_row(k, atom)] = " ".join(r)
    return lines


CASES = {  # name: (edit, frame, 1-based line, words)
    "misspelled TIMESTEP hides a frame": (lambda L: L.__setitem__(PER, "ITEM: TIMESTP"), None, PER + 1, "TIMESTP"),
    "NaN box bound": (lambda L: L.__setitem__(PER + 5, "nan 7.23"), 1, PER + 6, "NaN"),
    "inf box bound": (lambda L: L.__setitem__(PER + 7, "0 inf"), 1, PER + 8, "NaN or infinite"),
    "xhi below xlo": (lambda L: L.__setitem__(5, "7.23 0"), 0, 6, "xhi = 0.0 is not above xlo = 7.23"),
    "zero-volume box": (lambda L: L.__setitem__(6, "3 3"), 0, 7, "yhi = 3.0 is not above ylo = 3.0"),
    "duplicate column": (lambda L: L.__setitem__(8, "ITEM: ATOMS id type xu yu zu vx vy vz fx fx fz"), 0, 9,
                         "fx appear more than once"),
    "atom count of 10^12": (lambda L: L.__setitem__(3, "1000000000000"), 0, 1, "says 1000000000000"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_broken_dumps(tmp_path, case):
    edit, frame, line, words = CASES[case]
    lines = list(DUMP)
    edit(lines)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    err = _fails(_write(tmp_path, lines))
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 500_000     # KB: nothing huge allocated
    assert (err.frame, err.line) == (frame, line) and words in str(err), str(err)
    assert "d.lammpstrj" in str(err) and "np." not in str(err)


def test_type_changes_mid_run(tmp_path):
    err = _fails(_write(tmp_path, _edit_rows(range(7, 20), 4, 1, "2")))
    assert err.frame == 7 and err.line == 7 * PER + 14 and "type 2 here but of type 1" in str(err)


def test_element_changes_mid_run(tmp_path):
    lines = [ln.replace("ITEM: ATOMS id type", "ITEM: ATOMS id element") for ln in DUMP]
    for k in range(20):
        for a in range(32):
            r = lines[_row(k, a)].split()
            r[1] = "Ag" if (k == 19 and a == 3) else "Cu"
            lines[_row(k, a)] = " ".join(r)
    err = _fails(_write(tmp_path, lines))
    assert err.frame == 19 and err.line == 19 * PER + 13 and "Ag in this frame but Cu" in str(err)


def test_dump_types_beyond_the_data_file(tmp_path):
    p = _write(tmp_path, _edit_rows(range(20), 3, 1, "2"))
    with pytest.raises(ReferenceMismatchError, match="type 2 .* but of type 1 .*types up to 2.*only up to 1"):
        trajmodes.read(p, md_timestep=0.001, reference=DATA / "cu32.data")


def test_64_bit_ids(tmp_path):
    lines = list(DUMP)
    for k in range(20):
        for a in range(32):
            r = lines[_row(k, a)].split()
            r[0] = str(2 ** 60 + int(r[0]))
            lines[_row(k, a)] = " ".join(r)
    t = trajmodes.read(_write(tmp_path, lines), md_timestep=0.001)
    ref = trajmodes.read(DATA / "cu32_xu.lammpstrj", md_timestep=0.001)
    assert np.array_equal(t.source.ids, 2 ** 60 + ref.source.ids)
    np.testing.assert_array_equal(t.positions.compute(), ref.positions.compute())


def test_restart_files_out_of_order(tmp_path):
    a = _write(tmp_path, DUMP[:10 * PER], "a.lammpstrj")
    b = _write(tmp_path, DUMP[9 * PER:], "b.lammpstrj")                 # repeats frame 9, as a restart does
    with pytest.warns(UserWarning, match="out of time order.*a.lammpstrj, b.lammpstrj"):
        t = trajmodes.read([b, a], md_timestep=0.001)
    ref = trajmodes.read(DATA / "cu32_xu.lammpstrj", md_timestep=0.001)
    assert t.n_frames == 20 and np.array_equal(t.steps, ref.steps)


# ----------------------------------------------------------------------------- data files
DATAFILE = (DATA / "cu32.data").read_text()


@pytest.mark.parametrize("edit, words, line", [
    (lambda s: s.replace("0 7.23 xlo xhi", "0 nan xlo xhi"), "NaN or infinite", None),
    (lambda s: s.replace("0 7.23 ylo yhi", "7.23 0 ylo yhi"), "yhi is not above ylo", None),
    (lambda s: s.replace("32 atoms", "0 atoms"), "says 0 atoms", None),
    (lambda s: s.replace("\n5 1 3.615 0 0", "\n5 1 3.615 zero 0"), "cannot read this line", 20),
    (lambda s: s.replace("\n5 1 3.615 0 0", "\n5 1 3.615 nan 0"), "NaN or infinite position", 20),
    (lambda s: s.replace("\n5 1 3.615 0 0", "\n4 1 3.615 0 0"), "appear more than once", None),
])
def test_broken_data_files(tmp_path, edit, words, line):
    p = tmp_path / "ref.data"
    p.write_text(edit(DATAFILE))
    with pytest.raises(TrajectoryFormatError) as err:
        trajmodes.read(DATA / "cu32_xu.lammpstrj", md_timestep=0.001, reference=p)
    assert words in str(err.value) and "ref.data" in str(err.value), str(err.value)
    if line is not None:
        assert err.value.line == line
