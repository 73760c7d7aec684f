"""Tests of the extended / plain XYZ reader."""
from __future__ import annotations

import gzip
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from tests.support.paths import DATA
from trajmodes import units
from trajmodes.errors import TrajectoryFormatError, TruncatedFrameWarning, UnitsWarning
from trajmodes.io.trajectories.xyz import XYZSource

SPECIES = np.array(["Cu", "Cu", "Au", "Cu", "Au"])


def _fmt(a) -> str:
    return " ".join(repr(float(x)) for x in np.ravel(a))


def make_frames(n_frames=4, n_atoms=5, seed=0, npt=True):
    """Random positions, velocities, forces and triclinic cells."""
    rng = np.random.default_rng(seed)
    cell = np.array([[10.0, 0.0, 0.0], [1.3, 9.5, 0.0], [0.7, -0.4, 11.0]])
    cells = cell + (rng.normal(0, 0.01, (n_frames, 3, 3)) if npt else 0)
    return dict(positions=rng.normal(0, 3, (n_frames, n_atoms, 3)),
                velocities=rng.normal(0, 5, (n_frames, n_atoms, 3)),
                forces=rng.normal(0, 1, (n_frames, n_atoms, 3)),
                cells=np.broadcast_to(cells, (n_frames, 3, 3)).copy(),
                times=0.25 * np.arange(n_frames), steps=250 * np.arange(n_frames))


def write_extxyz(path, d, species=SPECIES, ids=None, vel_name="vel", vel=None, masses=None):
    """Write frames in extended XYZ with full-precision floats; atom lines in ``ids`` order."""
    n_frames, n_atoms = d["positions"].shape[:2]
    props = "species:S:1:pos:R:3:" + f"{vel_name}:R:3:forces:R:3"
    props += ":masses:R:1" if masses is not None else ""
    props += ":id:I:1" if ids is not None else ""
    vel = d["velocities"] if vel is None else vel
    lines = []
    for k in range(n_frames):
        lines += [str(n_atoms), f'Lattice="{_fmt(d["cells"][k])}" Properties={props} '
                  f'time={float(d["times"][k])!r} step={d["steps"][k]} pbc="T T T"']
        for i in range(n_atoms):
            row = [species[i], _fmt(d["positions"][k, i]), _fmt(vel[k, i]), _fmt(d["forces"][k, i])]
            row += [repr(float(masses[i]))] if masses is not None else []
            row += [str(ids[i])] if ids is not None else []
            lines.append(" ".join(row))
    Path(path).write_text("\n".join(lines) + "\n")


def test_extxyz_round_trip_exact(tmp_path):
    d = make_frames()
    p = tmp_path / "t.extxyz"
    write_extxyz(p, d)
    src = XYZSource(p)
    assert (src.n_frames, src.n_atoms, src.format) == (4, 5, "extxyz")
    assert src.fields == ("positions", "velocities", "forces") and src.has_cell
    assert list(src.species) == list(SPECIES)
    assert np.allclose(src.masses[[0, 2]], [63.546, 196.96655], atol=1e-2)
    assert np.array_equal(src.times, d["times"]) and np.array_equal(src.steps, d["steps"])
    out = src.read(np.arange(4))
    for f in ("positions", "velocities", "forces", "cells"):
        assert np.array_equal(out[f], d[f]), f
    part = src.read([1, 3])
    assert np.array_equal(part["positions"], d["positions"][[1, 3]])
    assert np.array_equal(part["cells"], d["cells"][[1, 3]])
    again = pickle.loads(pickle.dumps(src))
    assert np.array_equal(again.read([2])["forces"], d["forces"][[2]])
    assert src.token() == again.token() and src.token()[1] == str(p)


def test_ids_sort_atoms(tmp_path):
    d = make_frames(npt=False)
    ids = np.array([5, 3, 1, 4, 2])
    p = tmp_path / "ids.extxyz"
    write_extxyz(p, d, ids=ids)
    src = XYZSource(p)
    order = np.argsort(ids)
    assert np.array_equal(src.ids, [1, 2, 3, 4, 5])
    assert list(src.species) == list(SPECIES[order])
    assert np.array_equal(src.read([0, 1])["positions"], d["positions"][:2, order])


def test_momenta_and_masses(tmp_path):
    d = make_frames(npt=False)
    masses = np.array([1.5, 2.0, 3.0, 4.0, 5.0])
    p_ase = d["velocities"] * masses[:, None] * units.NATURAL_TIME_PS
    p = tmp_path / "mom.extxyz"
    write_extxyz(p, d, vel_name="momenta", vel=p_ase, masses=masses)
    src = XYZSource(p)
    assert np.array_equal(src.masses, masses)
    assert np.allclose(src.read([0, 1, 2])["velocities"], d["velocities"][:3], rtol=1e-14, atol=0)


def test_units_real(tmp_path):
    d = make_frames()
    p = tmp_path / "real.extxyz"
    write_extxyz(p, d)
    src = XYZSource(p, units="real")
    c = units.conversion("real")
    out = src.read([0, 1])
    assert np.allclose(out["velocities"], d["velocities"][:2] * 1e3, rtol=1e-15)
    assert np.allclose(out["forces"], d["forces"][:2] * c.force, rtol=1e-15)
    assert np.array_equal(out["positions"], d["positions"][:2])
    assert np.allclose(src.times, d["times"] * 1e-3)  # fs -> ps


def test_plain_xyz_and_timestep(tmp_path):
    d = make_frames(n_frames=3)
    lines = []
    for k in range(3):
        lines += ["5", "a plain comment"]
        lines += [f"{s} {_fmt(x)}" for s, x in zip(SPECIES, d["positions"][k])]
    p = tmp_path / "plain.xyz"
    p.write_text("\n".join(lines) + "\n")
    src = XYZSource(p, frame_interval=0.01)
    assert src.format == "xyz" and not src.has_cell and src.fields == ("positions",)
    out = src.read([0, 1, 2])
    assert np.array_equal(out["positions"], d["positions"]) and np.isnan(out["cells"]).all()
    assert np.allclose(src.times, [0, 0.01, 0.02]) and np.array_equal(src.steps, [0, 1, 2])
    with pytest.warns(UnitsWarning, match="timestep"):
        assert np.array_equal(XYZSource(p).times, [0.0, 1.0, 2.0])


def test_gzip(tmp_path, monkeypatch):
    monkeypatch.setenv("TRAJMODES_CACHE", str(tmp_path / "cache"))
    d = make_frames()
    p = tmp_path / "t.extxyz"
    write_extxyz(p, d)
    gz = tmp_path / "t.extxyz.gz"
    gz.write_bytes(gzip.compress(p.read_bytes()))
    src = XYZSource(gz)
    assert np.array_equal(src.read([0, 1, 2, 3])["velocities"], d["velocities"])
    copies = [f for f in os.listdir(tmp_path / "cache") if not f.endswith(".tmidx.npz")]
    assert len(copies) == 1
    assert src.token()[1] == str(gz)


def test_truncated_last_frame(tmp_path):
    d = make_frames()
    p = tmp_path / "t.extxyz"
    write_extxyz(p, d)
    text = p.read_text().splitlines(keepends=True)
    p.write_text("".join(text[:-2]))  # last frame loses its last atom line
    with pytest.warns(TruncatedFrameWarning, match=r"t\.extxyz.*frame 3"):
        src = XYZSource(p)
    assert src.n_frames == 3 and len(src.times) == 3
    assert np.array_equal(src.read([2])["positions"], d["positions"][[2]])
    p.write_text("".join(text)[:-10])  # last line cut mid-number
    with pytest.warns(TruncatedFrameWarning, match="frame 3"):
        assert XYZSource(p).n_frames == 3


def _broken(tmp_path, edit):
    d = make_frames()
    p = tmp_path / "broken.extxyz"
    write_extxyz(p, d)
    lines = p.read_text().split("\n")
    edit(lines)
    p.write_text("\n".join(lines))
    return p


def _tok(i, j, value):
    """An edit setting token j of line index i (or dropping tokens from j on if value is None)."""
    def edit(lines):
        t = lines[i].split()
        lines[i] = " ".join(t[:j] if value is None else t[:j] + [value] + t[j + 1:])
    return edit


def _sub(i, old, new):
    def edit(lines):
        lines[i] = lines[i].replace(old, new, 1)
    return edit


# line indices: frame k starts at 7k (count), 7k+1 (comment), atoms 7k+2 .. 7k+6
BROKEN = {  # case: (edit, frame, 1-based line)
    "non-numeric": (_tok(10, 2, "1.0abc"), 1, 11),
    "too few columns": (_tok(9, 5, None), 1, 10),
    "nan": (_tok(16, 2, "nan"), 2, 17),
    "inf": (_tok(27, 8, "-inf"), 3, 28),
    "no pos": (_sub(1, "pos:R:3", "xyz:R:3"), 0, 2),
    "bad properties": (_sub(1, "pos:R:3", "pos:R"), 0, 2),
    "lattice": (_sub(8, 'Lattice="', 'Lattice="1.0 '), 1, 9),
    "count changed": (_tok(14, 0, "6"), 2, 15),
    "count not integer": (_tok(21, 0, "five"), 3, 22),
    "species": (_sub(23, "Cu", "Ag"), 3, 24),
    "time missing in one frame": (_sub(15, "time=", "tyme="), 2, 16),
    "species missing in frame 0": (lambda L: L.__setitem__(4, " ".join(L[4].split()[1:])), 0, 5),
    "step missing in one frame": (_sub(22, "step=", "stop="), 3, 23),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_files_name_file_frame_line(tmp_path, case):
    edit, frame, line = BROKEN[case]
    p = _broken(tmp_path, edit)
    with pytest.raises(TrajectoryFormatError) as err:
        XYZSource(p).read(np.arange(4))
    msg = str(err.value)
    assert "broken.extxyz" in msg and "frame" in msg and "line" in msg, msg
    assert (err.value.frame, err.value.line) == (frame, line), msg


def test_species_check_on_request(tmp_path):
    d = make_frames(n_frames=5)
    p = _broken(tmp_path, lambda L: None)
    write_extxyz(p, d)
    lines = p.read_text().split("\n")
    lines[2 + 7 * 2] = lines[2 + 7 * 2].replace("Cu", "Ag", 1)  # frame 2, first atom
    p.write_text("\n".join(lines))
    src = XYZSource(p)  # only the last frame is checked on opening
    with pytest.raises(TrajectoryFormatError, match="species changed") as err:
        src.check_species()
    assert (err.value.frame, err.value.line) == (2, 17)


def _lammps_xu(path):
    """id-sorted (x, v, f) of tests/data/cu32_xu.lammpstrj, parsed with Python floats."""
    lines = Path(path).read_text().splitlines()
    n = int(lines[3])
    per = n + 9
    rows = np.array([[float(t) for t in line.split()] for k in range(len(lines) // per)
                     for line in lines[k * per + 9:(k + 1) * per]]).reshape(-1, n, 11)
    return rows[..., 2:5], rows[..., 5:8], rows[..., 8:11]


@pytest.mark.skipif(not (DATA / "cu32.extxyz").exists(), reason="tests/data/cu32.extxyz not made")
def test_real_lammps_extxyz():
    src = XYZSource(DATA / "cu32.extxyz")
    assert (src.n_atoms, src.n_frames, src.format) == (32, 20, "extxyz")
    assert np.array_equal(src.steps, 10 * np.arange(20))
    assert np.allclose(src.times, 0.01 * np.arange(20), rtol=1e-12, atol=0)
    assert set(src.species) == {"Cu"} and np.allclose(src.masses, 63.546)
    out = src.read(np.arange(20))
    assert np.array_equal(out["cells"], np.broadcast_to(7.23 * np.eye(3), (20, 3, 3)))
    if (DATA / "cu32_xu.lammpstrj").exists():
        x, v, f = _lammps_xu(DATA / "cu32_xu.lammpstrj")
        assert np.array_equal(out["positions"], x)
        assert np.array_equal(out["velocities"], v)
        assert np.array_equal(out["forces"], f)


@pytest.mark.skipif(not (DATA / "cu32_plain.xyz").exists(), reason="tests/data not made")
def test_real_lammps_plain_xyz():
    src = XYZSource(DATA / "cu32_plain.xyz", md_timestep=0.001)  # "Timestep: N" gives the steps
    assert src.format == "xyz" and not src.has_cell and src.n_frames == 20
    assert np.array_equal(src.steps, 10 * np.arange(20))
    assert np.allclose(src.times, 0.01 * np.arange(20))
    pos = src.read(np.arange(20))["positions"]
    if (DATA / "cu32_xu.lammpstrj").exists():  # plain xyz is wrapped into [0, 7.23)
        x, _, _ = _lammps_xu(DATA / "cu32_xu.lammpstrj")
        d = (pos - x) / 7.23
        assert np.allclose(d, np.round(d), atol=1e-12)


def test_windowed_scan_equals_whole_file_scan(tmp_path):
    """Tiny windows (frames straddling every boundary) give the one-shot scan's index."""
    from trajmodes import _fastparse
    from trajmodes.io.trajectories.xyz_format import scan_xyz_windows
    d = make_frames()
    p = tmp_path / "t.extxyz"
    write_extxyz(p, d)
    text = p.read_bytes()
    whole = _fastparse.scan_xyz(text)
    expect = (np.frombuffer(whole[0], np.int64), np.frombuffer(whole[1], np.int64))
    for window in (50, 333, 4096, 1 << 20):
        st, ct, complete, bad = scan_xyz_windows(str(p), window)
        assert np.array_equal(st, expect[0]) and np.array_equal(ct, expect[1]), window
        assert (complete, bad) == (1, -1)
    p.write_bytes(text[:text.rstrip(b"\n").rfind(b"\n") + 1])   # drop the last atom line
    st, ct, complete, bad = scan_xyz_windows(str(p), 333)
    assert complete == 0 and len(st) == len(expect[0]) - 1


def test_index_saved_and_reused(tmp_path, monkeypatch):
    d = make_frames()
    p = tmp_path / "t.extxyz"
    write_extxyz(p, d)
    XYZSource(p)
    assert (tmp_path / ".t.extxyz.tmidx.npz").exists()
    import trajmodes.io.trajectories.xyz_format as xyz_format
    monkeypatch.setattr(xyz_format, "scan_xyz_windows", lambda *a, **k: (_ for _ in ()).throw(AssertionError("rescan")))
    assert np.array_equal(XYZSource(p).read([1])["positions"][0], d["positions"][1])
