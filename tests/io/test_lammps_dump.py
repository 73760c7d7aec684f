"""LAMMPS text dumps: real LAMMPS output in every dump style, random valid dumps, the frame index."""
from __future__ import annotations

import gzip
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import trajmodes
from trajmodes import units
from trajmodes.io import filesystem as _files
from trajmodes.io.trajectories.lammps_data import read_data

from tests.support.dumps import (FORCE_COLUMNS, IMAGE_COLUMNS, POSITION_COLUMNS, VELOCITY_COLUMNS, dump_text,
                     parse_dump_text, random_truth, read_quiet, small_dump, stack, write_dump)

L = 7.2300000000000004  # the box edge of every orthogonal cu32 file
STEPS = np.arange(0, 200, 10)


@pytest.fixture(scope="module")
def xu(data_dir):
    """The reference run, cu32_xu, read eagerly."""
    return read_quiet(data_dir / "cu32_xu.lammpstrj").read()


# --- real LAMMPS output ------------------------------------------------------------------------------
def test_xu_values_are_the_printed_numbers(data_dir, xu):
    """Every number equals Python's float() of the printed token: the parser rounds correctly."""
    ref = parse_dump_text(data_dir / "cu32_xu.lammpstrj")
    assert len(ref) == 20 and [f["step"] for f in ref] == STEPS.tolist()
    assert np.array_equal(xu.positions, stack(ref, ("xu", "yu", "zu")))
    assert np.array_equal(xu.velocities, stack(ref, VELOCITY_COLUMNS))
    assert np.array_equal(xu.forces, stack(ref, FORCE_COLUMNS))
    assert np.array_equal(xu.cells, np.broadcast_to(np.eye(3) * L, (20, 3, 3)))
    assert np.array_equal(xu.origins, np.zeros((20, 3)))


def test_xu_metadata(data_dir):
    with pytest.warns(trajmodes.UnitsWarning, match="ITEM: TIME"):
        t = trajmodes.read(data_dir / "cu32_xu.lammpstrj")
    assert (t.n_frames, t.n_atoms) == (20, 32)
    assert np.array_equal(t.steps, STEPS)
    np.testing.assert_allclose(t.times, STEPS * 0.001, rtol=0, atol=1e-15)  # metal default dt
    assert t.source.fields == ("positions", "velocities", "forces")
    assert t.source.unwrapped and t.source.units == "metal"
    assert np.array_equal(t.source.ids, np.arange(1, 33))
    # a given step wins over the default (0.00105 ps: within the 10% that the check against the velocities leaves;
    # the run's own is 0.001, and 0.002 is refused: tests/io/test_time_step_check.py)
    t2 = trajmodes.read(data_dir / "cu32_xu.lammpstrj", md_timestep=0.00105)
    np.testing.assert_allclose(t2.times, STEPS * 0.00105, rtol=1e-15)


@pytest.mark.parametrize("name", ["cu32_x_image", "cu32_unsorted"])
def test_unwrapped_variants_identical(data_dir, xu, name):
    """Wrapped + image flags and unsorted ids give exactly the xu values."""
    d = read_quiet(data_dir / f"{name}.lammpstrj").read()
    for f in ("positions", "velocities", "forces", "cells"):
        assert np.array_equal(getattr(d, f), getattr(xu, f)), f


def test_scaled_unwrapped_permuted_columns(data_dir, xu):
    t = read_quiet(data_dir / "cu32_xsu_perm.lammpstrj")
    assert t.source.unwrapped
    d = t.read()
    np.testing.assert_allclose(d.positions, xu.positions, rtol=0, atol=1e-12)
    assert np.array_equal(d.velocities, xu.velocities)
    assert np.array_equal(d.forces, xu.forces)


@pytest.mark.parametrize("name", ["cu32_xs", "cu32_atom"])
def test_scaled_wrapped_equal_modulo_box(data_dir, xu, name):
    t = read_quiet(data_dir / f"{name}.lammpstrj")
    assert t.source.fields == ("positions",) and not t.source.unwrapped
    assert t.velocities is None and t.forces is None
    p = t.positions.compute()
    assert p.shape == (20, 32, 3)
    # wrapped (LAMMPS re-wraps only when it re-neighbours, so atoms may stray out a little)
    assert (p > -0.3).all() and (p < L + 0.3).all()
    d = (p - xu.positions) / L
    np.testing.assert_allclose(d - np.round(d), 0, atol=1e-13)
    assert np.abs(np.round(d)).max() == 1  # some atoms did cross the boundary
    ref = parse_dump_text(data_dir / f"{name}.lammpstrj")
    np.testing.assert_allclose(p, stack(ref, ("xs", "ys", "zs")) * L, rtol=0, atol=1e-14)


def test_atom_style_identical_to_xs(data_dir):
    a = read_quiet(data_dir / "cu32_atom.lammpstrj").positions.compute()
    b = read_quiet(data_dir / "cu32_xs.lammpstrj").positions.compute()
    assert np.array_equal(a, b)


def test_real_units_converted(data_dir, xu):
    path = data_dir / "cu32_real.lammpstrj"
    t = trajmodes.read(path)  # ITEM: UNITS and ITEM: TIME: no warning needed
    assert t.source.units == "real"
    np.testing.assert_allclose(t.times, STEPS * 1e-3, rtol=1e-15)  # ITEM: TIME in fs -> ps
    assert t.frame_interval == pytest.approx(0.01)
    raw = parse_dump_text(path)
    d = t.read()
    # the conversion factors themselves
    assert units.conversion("real").velocity == 1000.0
    assert units.KCALMOL_EV == pytest.approx(1 / 23.060549, rel=1e-7)
    assert np.array_equal(d.positions, stack(raw, ("xu", "yu", "zu")))
    assert np.array_equal(d.velocities, stack(raw, VELOCITY_COLUMNS) * 1000.0)
    assert np.array_equal(d.forces, stack(raw, FORCE_COLUMNS) * units.KCALMOL_EV)
    # the same physical run as the metal one, to the README's tolerances
    np.testing.assert_allclose(d.positions, xu.positions, rtol=0, atol=1e-6)
    np.testing.assert_allclose(d.velocities, xu.velocities, rtol=0, atol=5e-5)
    np.testing.assert_allclose(d.forces, xu.forces, rtol=0, atol=1e-5)
    # (without conversion the velocities would be 1000x off)
    assert np.abs(stack(raw, VELOCITY_COLUMNS) - xu.velocities).max() > 1.0


def test_explicit_units_matching_file(data_dir):
    t = trajmodes.read(data_dir / "cu32_real.lammpstrj", units="real")
    assert t.source.units == "real"


def test_restricted_triclinic_cell(data_dir):
    t = read_quiet(data_dir / "cu32_triclinic.lammpstrj")
    d = t.read()
    ref = read_data(data_dir / "cu32_triclinic.data")
    expect = np.array([[10.224764055957476, 0, 0], [5.1123820279787395, 8.854905420161188, 0],
                       [2.5561910139893698, 1.4758175700268645, 4.174242446240993]])
    np.testing.assert_allclose(ref.cell, expect, rtol=0, atol=1e-15)
    for k in range(20):
        np.testing.assert_allclose(d.cells[k], ref.cell, rtol=0, atol=1e-12)
    np.testing.assert_allclose(d.origins, 0, atol=1e-12)
    assert abs(np.linalg.det(d.cells[0])) == pytest.approx(8 * 3.615 ** 3, rel=1e-12)
    # positions are x + image @ cell: check against the text
    raw = parse_dump_text(data_dir / "cu32_triclinic.lammpstrj")
    x = stack(raw, ("x", "y", "z")) + stack(raw, IMAGE_COLUMNS) @ d.cells[0]
    np.testing.assert_allclose(d.positions, x, rtol=0, atol=1e-13)


def test_general_triclinic_cell(data_dir):
    g = read_quiet(data_dir / "cu32_general_triclinic.lammpstrj").read()
    r = read_quiet(data_dir / "cu32_triclinic.lammpstrj").read()
    ref = read_data(data_dir / "cu32_general_triclinic.data")
    np.testing.assert_allclose(ref.cell, [[0, 7.23, 7.23], [7.23, 0, 7.23], [3.615, 3.615, 0]], atol=1e-14)
    for k in range(20):
        np.testing.assert_allclose(g.cells[k], ref.cell, rtol=0, atol=1e-12)
    np.testing.assert_allclose(g.origins, 0, atol=1e-15)
    # general = restricted @ R with R a rotation
    R = np.linalg.solve(r.cells[0], g.cells[0])
    np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-14)
    assert np.linalg.det(R) == pytest.approx(1.0, abs=1e-14)
    np.testing.assert_allclose(r.positions @ R, g.positions, rtol=0, atol=2e-14)
    np.testing.assert_allclose(r.velocities @ R, g.velocities, rtol=0, atol=1e-14)
    np.testing.assert_allclose(r.forces @ R, g.forces, rtol=0, atol=1e-14)


@pytest.mark.parametrize("how", ["list", "glob"])
def test_restart_files_joined(data_dir, xu, how):
    a, b = data_dir / "cu32_restart_a.lammpstrj", data_dir / "cu32_restart_b.lammpstrj"
    src = [a, b] if how == "list" else str(data_dir / "cu32_restart_?.lammpstrj")
    t = read_quiet(src)
    assert t.n_frames == 20
    assert np.array_equal(t.steps, STEPS)
    assert (np.diff(t.steps) > 0).all()
    d = t.read()
    for f in ("positions", "velocities", "forces"):
        np.testing.assert_allclose(getattr(d, f), getattr(xu, f), rtol=0, atol=1e-14)
        keep = STEPS != 100  # step 100 may be either file's copy (they differ by ~4e-15)
        assert np.array_equal(getattr(d, f)[keep], getattr(xu, f)[keep])


def test_duplicate_step_in_one_file_dropped(tmp_path, data_dir):
    p = tmp_path / "dup.lammpstrj"
    p.write_bytes((data_dir / "cu32_restart_a.lammpstrj").read_bytes()
                  + (data_dir / "cu32_restart_b.lammpstrj").read_bytes())
    with pytest.warns(UserWarning, match="1 frame"):
        t = read_quiet(p)
    assert np.array_equal(t.steps, STEPS)


@pytest.mark.parametrize("name, natoms, element, mass, tmean", [
    ("cu_fcc_300K", 256, "Cu", 63.55, 293.0), ("si_diamond_300K", 216, "Si", 28.0855, 311.0)])
def test_examples(examples_dir, name, natoms, element, mass, tmean):
    data = {"cu_fcc_300K": "cu_fcc_4x4x4.data", "si_diamond_300K": "si_diamond_3x3x3.data"}[name]
    t = read_quiet(examples_dir / f"{name}.lammpstrj.gz", reference=examples_dir / data, md_timestep=0.001)
    assert (t.n_frames, t.n_atoms) == (200, natoms)
    assert np.array_equal(t.steps, np.arange(0, 2000, 10))
    np.testing.assert_allclose(t.times, np.arange(0, 2000, 10) * 0.001, rtol=1e-12, atol=1e-15)
    assert set(t.species.tolist()) == {element}
    np.testing.assert_allclose(t.masses, mass)
    T = t.temperature().compute()
    assert T.shape == (200,)
    assert abs(T.mean() - tmean) < 2.0          # README: 293 K (Cu), 311 K (Si)
    assert 200 < T.min() and T.max() < 400
    # the temperature computed independently
    v = t.velocities.compute()
    ke = 0.5 * mass * (v ** 2).sum(axis=(1, 2)) * units.AMU_A2_PS2_EV
    np.testing.assert_allclose(T, 2 * ke / ((3 * natoms - 3) * units.KB_EV), rtol=1e-12)
    # displacements from the ideal lattice: small, and exactly xu - x_data (no wrapping needed)
    u = t.displacements().compute()
    assert np.sqrt((u ** 2).sum(-1).mean()) < 0.3
    assert np.abs(u).max() < 0.4
    ref = read_data(examples_dir / data)
    np.testing.assert_allclose(u, t.positions.compute() - ref.positions, rtol=0, atol=1e-12)


def test_gzip_equals_plain(tmp_path, data_dir, xu):
    gz = tmp_path / "cu32_xu.lammpstrj.gz"
    gz.write_bytes(gzip.compress((data_dir / "cu32_xu.lammpstrj").read_bytes()))
    d = read_quiet(gz).read()
    for f in ("positions", "velocities", "forces", "cells"):
        assert np.array_equal(getattr(d, f), getattr(xu, f))
    assert not list(tmp_path.glob(".*.txt"))  # the decompressed copy goes to the cache folder


# --- random valid dumps --------------------------------------------------------------------------
@st.composite
def dump_case(draw):
    n_frames = draw(st.integers(1, 5))
    n_atoms = draw(st.integers(1, 7))
    seed = draw(st.integers(0, 2 ** 32 - 1))
    rng = np.random.default_rng(seed)
    signs = draw(st.tuples(*[st.sampled_from([-1, 0, 1])] * 3))
    truth = random_truth(rng, n_frames, n_atoms, triclinic=any(signs), tilt_signs=signs,
                         contiguous_ids=draw(st.booleans()), npt=draw(st.booleans()),
                         with_time=draw(st.booleans()))
    if draw(st.booleans()):  # awkward values: subnormals, huge and tiny exponents, signed zero
        special = np.array([5e-324, -2.2250738585072014e-308, 1.7976931348623157e308, -0.0, 1e-300,
                            0.1, 123456789.12345679, -1e22, 9007199254740993.0])
        truth.velocities.flat[rng.integers(0, truth.velocities.size, 4)] = rng.choice(special, 4)
        truth.forces.flat[rng.integers(0, truth.forces.size, 4)] = rng.choice(special, 4)
    kind = draw(st.sampled_from(list(POSITION_COLUMNS)))
    cols = ["id"] + list(POSITION_COLUMNS[kind])
    if draw(st.booleans()):
        cols.append("type")
    images = draw(st.booleans())
    if images:
        cols += list(IMAGE_COLUMNS)
    vel, frc = draw(st.booleans()), draw(st.booleans())
    cols += list(VELOCITY_COLUMNS) * vel + list(FORCE_COLUMNS) * frc
    if draw(st.booleans()):
        cols.append("c_pe")
    cols = draw(st.permutations(cols))
    shuffle = draw(st.booleans())
    orders = [rng.permutation(n_atoms) if shuffle else np.arange(n_atoms) for _ in range(n_frames)]
    unit = draw(st.sampled_from([None, "metal", "real"]))
    fmt = draw(st.sampled_from([repr, lambda x: "%.17g" % x, lambda x: "%.16e" % x, lambda x: "%24.17e" % x]))
    sep = draw(st.sampled_from([" ", "  ", [" ", "   ", "\t", " "]]))
    lead, trail = draw(st.sampled_from(["", " ", "   "])), draw(st.sampled_from(["", " ", "  \t"]))
    n_files = draw(st.integers(1, min(3, n_frames)))
    restart_dup = draw(st.booleans())
    gz = draw(st.booleans())
    chunk = draw(st.integers(1, 4))
    crlf, final_newline = draw(st.booleans()), draw(st.booleans())
    return dict(crlf=crlf, final_newline=final_newline, truth=truth, kind=kind, cols=cols, images=images, vel=vel, frc=frc, orders=orders, unit=unit,
                fmt=fmt, sep=sep, lead=lead, trail=trail, n_files=n_files, restart_dup=restart_dup, gz=gz,
                chunk=chunk)


def _write_case(c, folder: Path) -> list[Path]:
    t = c["truth"]
    bounds = np.linspace(0, t.n_frames, c["n_files"] + 1).round().astype(int)
    paths = []
    for k in range(c["n_files"]):
        frames = list(range(bounds[k], bounds[k + 1]))
        if c["restart_dup"] and k > 0:
            frames = [bounds[k] - 1] + frames  # a restart repeats the previous file's last step
        text = dump_text(t, c["cols"], frames=frames, orders=c["orders"], units=c["unit"], fmt=c["fmt"],
                         sep=c["sep"], lead=c["lead"], trail=c["trail"])
        if not c["final_newline"]:
            text = text.rstrip("\n")
        if c["crlf"]:
            text = text.replace("\n", "\r\n")
        p = folder / (f"part{k}.lammpstrj" + (".gz" if c["gz"] else ""))
        p.write_bytes(gzip.compress(text.encode()) if c["gz"] else text.encode())
        paths.append(p)
    return paths


# the same examples on every machine and run (derandomize: drawn from a hash of the test; no database of earlier
# failures replayed): a verdict that does not depend on the draw
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True,
          database=None)
@given(dump_case())
def test_random_dumps_round_trip(c):
    t = c["truth"]
    conv = units.conversion(c["unit"] or "metal")
    with tempfile.TemporaryDirectory() as tmp:
        paths = _write_case(c, Path(tmp))
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # valid input: no warning expected, except the assumed dt
            warnings.simplefilter("ignore", trajmodes.UnitsWarning)
            traj = trajmodes.read(paths if len(paths) > 1 else paths[0], chunk_frames=c["chunk"],
                                  md_timestep=0.004)
        assert (traj.n_frames, traj.n_atoms) == (t.n_frames, t.n_atoms)
        with np.errstate(over="ignore"):
            overflow = (c["vel"] and not np.isfinite(t.velocities * conv.velocity).all()) or \
                (c["frc"] and not np.isfinite(t.forces * conv.force).all())
        if overflow:        # a value that leaves the float range in metal units is refused, not passed on as inf
            with pytest.raises(trajmodes.TrajectoryFormatError, match="NaN or infinite"):
                traj.positions.compute()
            return
        assert np.array_equal(traj.steps, t.steps)
        assert np.array_equal(traj.source.ids, t.ids)
        if t.times is not None:
            assert np.array_equal(traj.times, t.times * conv.time)
        else:
            np.testing.assert_allclose(traj.times, t.steps * 0.004, rtol=1e-15)
        pos, cells, origins = traj.positions.compute(), traj.cells.compute(), traj.origins.compute()
        scale = np.abs(t.cells).max() + np.abs(t.origins).max()
        np.testing.assert_allclose(cells, t.cells, rtol=0, atol=1e-13 * scale)
        np.testing.assert_allclose(origins, t.origins, rtol=0, atol=1e-13 * scale)
        unwrapped = c["kind"] in ("xu", "xsu") or c["images"]
        assert traj.source.unwrapped == unwrapped
        expect = t.unwrapped() if unwrapped else t.wrapped()
        if c["kind"] == "xu":
            assert np.array_equal(pos, expect)  # bit for bit
        else:
            tol = 1e-12 * (scale + np.abs(t.images).max() * np.abs(t.cells).max())
            np.testing.assert_allclose(pos, expect, rtol=0, atol=tol)
        for field, on, ref, f in (("velocities", c["vel"], t.velocities, conv.velocity),
                                  ("forces", c["frc"], t.forces, conv.force)):
            arr = getattr(traj, field)
            if not on:
                assert arr is None
                continue
            assert np.array_equal(arr.compute(), ref * f if f != 1.0 else ref), field


@settings(max_examples=30, deadline=None, derandomize=True, database=None)    # the same examples everywhere
@given(st.integers(1, 6), st.integers(1, 6), st.integers(0, 2 ** 32 - 1), st.booleans())
def test_random_dump_gzip_matches_plain(n_frames, n_atoms, seed, tri):
    truth = random_truth(np.random.default_rng(seed), n_frames, n_atoms, triclinic=tri, with_time=True)
    cols = ["id", "type", "x", "y", "z", "ix", "iy", "iz", "vx", "vy", "vz", "fx", "fy", "fz"]
    with tempfile.TemporaryDirectory() as tmp:
        a = write_dump(Path(tmp) / "a.lammpstrj", truth, cols)
        b = write_dump(Path(tmp) / "b.lammpstrj.gz", truth, cols, gz=True)
        da, db = trajmodes.read(a).read(), trajmodes.read(b).read()
    for f in ("positions", "velocities", "forces", "cells", "origins"):
        assert np.array_equal(getattr(da, f), getattr(db, f)), f
    assert np.array_equal(da.velocities, truth.velocities)


# --- the frame index -----------------------------------------------------------------------------
def _fail(*a, **k):
    raise AssertionError("the dump was scanned again although its index is valid")


def test_index_written_and_reused(tmp_path, monkeypatch):
    p, truth = small_dump(tmp_path / "t.lammpstrj", n_frames=5)
    first = read_quiet(p).read()
    idx = tmp_path / ".t.lammpstrj.tmidx.npz"
    assert idx.exists()
    with np.load(idx) as z:
        assert np.array_equal(z["steps"], truth.steps)
        assert int(z["size"]) == os.path.getsize(p)
    from trajmodes import _fastparse
    monkeypatch.setattr(_fastparse, "scan_lammps", _fail)
    again = read_quiet(p)
    assert again.n_frames == 5
    assert np.array_equal(again.read().positions, first.positions)


def test_index_rebuilt_when_file_grows(tmp_path, monkeypatch):
    truth = random_truth(np.random.default_rng(3), 6, 4)
    cols = ["id", "xu", "yu", "zu", "vx", "vy", "vz"]
    p = tmp_path / "grow.lammpstrj"
    p.write_text(dump_text(truth, cols, frames=range(5)))
    assert read_quiet(p).n_frames == 5
    with open(p, "a") as f:
        f.write(dump_text(truth, cols, frames=[5]))
    t = read_quiet(p)
    assert t.n_frames == 6
    assert np.array_equal(t.steps, truth.steps)
    assert np.array_equal(t.positions.compute(), truth.unwrapped())


def test_index_rebuilt_when_file_rewritten_same_size(tmp_path):
    truth = random_truth(np.random.default_rng(4), 3, 4)
    p = tmp_path / "same.lammpstrj"
    p.write_text(dump_text(truth, ["id", "xu", "yu", "zu"]))
    read_quiet(p)
    st0 = os.stat(p)
    truth.frac[1, 0, 0] = truth.frac[1, 0, 0]  # same text, new mtime
    p.write_text(dump_text(truth, ["id", "xu", "yu", "zu"]))
    os.utime(p, ns=(st0.st_atime_ns, st0.st_mtime_ns + 10 ** 9))
    assert read_quiet(p).n_frames == 3


def test_stale_or_corrupt_index_ignored(tmp_path):
    p, truth = small_dump(tmp_path / "c.lammpstrj", n_frames=3)
    read_quiet(p)
    (tmp_path / ".c.lammpstrj.tmidx.npz").write_bytes(b"not an npz file")
    t = read_quiet(p)
    assert np.array_equal(t.steps, truth.steps)


def test_index_in_cache_for_read_only_folder(tmp_path, monkeypatch):
    ro = tmp_path / "ro"
    ro.mkdir()
    p, truth = small_dump(ro / "r.lammpstrj", n_frames=3)
    cache = tmp_path / "cache"
    monkeypatch.setenv("TRAJMODES_CACHE", str(cache))
    os.chmod(ro, 0o555)
    try:
        if os.access(ro, os.W_OK):  # running as root: chmod does not stop us, so pretend
            real = os.access
            monkeypatch.setattr(_files.os, "access",
                                lambda path, mode, *a, **k: False if Path(path) == ro else real(path, mode, *a, **k))
        t = read_quiet(p)
        assert np.array_equal(t.positions.compute(), truth.unwrapped())
        assert not list(ro.glob("*.tmidx.npz")) and not list(ro.glob(".*.tmidx.npz"))
        cached = list(cache.glob("r.lammpstrj.*.tmidx.npz"))
        assert len(cached) == 1
        from trajmodes import _fastparse
        monkeypatch.setattr(_fastparse, "scan_lammps", _fail)
        assert read_quiet(p).n_frames == 3  # reused from the cache
    finally:
        os.chmod(ro, 0o755)


def test_species_and_masses(tmp_path):
    truth = random_truth(np.random.default_rng(9), 2, 4)
    truth.types[:] = [2, 1, 2, 1]
    p = write_dump(tmp_path / "el.lammpstrj", truth, ["id", "type", "element", "xu", "yu", "zu"])
    t = read_quiet(p)
    assert t.species.tolist() == ["Cu"] * 4  # dumpgen writes element Cu
    np.testing.assert_allclose(t.masses, 63.546, rtol=1e-3)
    assert np.array_equal(t.positions.compute(), truth.unwrapped())
    q = write_dump(tmp_path / "ty.lammpstrj", truth, ["id", "type", "xu", "yu", "zu"])
    assert read_quiet(q).species.tolist() == ["2", "1", "2", "1"]
    t = read_quiet(q, species={1: "Ni", 2: "Al"}, masses={1: 58.69, 2: 26.98})
    assert t.species.tolist() == ["Al", "Ni", "Al", "Ni"]
    assert np.array_equal(t.masses, [26.98, 58.69, 26.98, 58.69])


@pytest.mark.parametrize("piece", [7, 1000, 1 << 22])
def test_row_token_counts_in_pieces_of_whole_lines(monkeypatch, piece):
    """The token count of every atom line (the read-time check of a dump's first frame) is made in pieces of whole
    lines: the same counts whatever the piece size, with or without a last newline, empty lines included (a frame of
    864,000 atoms took 2.1 GB of temporaries at once; its read now peaks at about what the imports take)."""
    from trajmodes.io.trajectories import lammps_format
    rng = np.random.default_rng(0)
    lines = [" ".join(["1.5"] * int(k)) + ("\t" if k % 3 == 0 else "") for k in rng.integers(0, 12, 5000)]
    monkeypatch.setattr(lammps_format, "TOKEN_COUNT_BYTES", piece)
    for tail in ("\n", ""):
        text = ("\n".join(lines) + tail).encode()
        want = [len(line.split()) for line in lines]
        assert lammps_format.row_token_counts(text).tolist() == want
