"""The contract every frame source fulfils (trajmodes.io.trajectories.base), checked on every source kind with one run.

The run is tests/data/cu32_xu.lammpstrj (32 Cu atoms, 20 frames 0.01 ps apart; tests/data/README.md), its truth
parsed independently (tests.support.dumps.parse_dump_text). Each kind below writes the first ``n`` frames of that
run in its own format (or holds them in memory) and opens them; every check is parametrized over the kinds:

- the data: the truth's positions, velocities, forces, cells and times, to the precision of the format;
- consistency: ``n_frames``, ``n_atoms``, species, masses, ids, steps and times agree with each other and the arrays;
- pickling: the unpickled source (in this process, and in a freshly spawned one, as a Dask worker in another process
  gets it) reads the same frames, with the same token; the Dask arrays pickle with their graphs;
- threads: reads from several threads at once give the numbers one read gives;
- chunking: any ``chunk_frames`` (1, 3, 7, all, more than all) gives identical arrays and times, sliced or not;
- frame selection: ``traj[a:b:c]`` (negative steps, slices of slices, an int) and ``traj.read(frames)`` equal the
  same selection of the full arrays, steps and times;
- bad input: a missing file and a last frame cut anywhere are named (file, and frame where it applies): the frame is
  dropped with a ``TruncatedFrameWarning`` and the others read the same, or, for files that cannot be read in part
  (netCDF/HDF5, a cut gzip stream), a ``TrajectoryFormatError`` names the file.
"""
from __future__ import annotations

import gzip
import multiprocessing
import pickle
import re
import warnings
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import dask
import numpy as np
import pytest

import trajmodes
from tests.support.dumps import parse_dump_text, stack
from tests.support.paths import DATA
from trajmodes import units
from trajmodes.errors import TrajectoryFormatError, TruncatedFrameWarning

N_FRAMES, N_ATOMS, DT, MASS = 20, 32, 0.01, 63.546      # ps between frames; the standard atomic weight of Cu
VECTORS = ("positions", "velocities", "forces")


# --- the run, and each kind's files of its first n frames ---------------------------------------------------------
def _truth() -> dict:
    frames = parse_dump_text(DATA / "cu32_xu.lammpstrj")
    boxes = np.stack([f["box"] for f in frames])
    return {"positions": stack(frames, ("xu", "yu", "zu")), "velocities": stack(frames, ("vx", "vy", "vz")),
            "forces": stack(frames, ("fx", "fy", "fz")),
            "cells": np.stack([np.diag(b[:, 1] - b[:, 0]) for b in boxes]), "origins": boxes[:, :, 0],
            "steps": np.array([f["step"] for f in frames]), "times": 0.001 * np.array([f["step"] for f in frames])}


TRUTH = _truth()


def _text_frames(path: Path, marker: bytes) -> list[bytes]:
    """The frames of a text trajectory, each from its ``marker`` line (dumps), or of 2 + N_ATOMS lines (XYZ)."""
    data = path.read_bytes()
    if marker:
        starts = [m.start() for m in re.finditer(b"(?m)^" + re.escape(marker), data)]
        return [data[a:b] for a, b in zip(starts, starts[1:] + [len(data)])]
    lines = data.splitlines(keepends=True)
    per = N_ATOMS + 2
    return [b"".join(lines[k:k + per]) for k in range(0, len(lines), per)]


def _first_frames(name: str, marker: bytes = b"ITEM: TIMESTEP"):
    def build(d: Path, n: int) -> list[Path]:
        d.mkdir(parents=True, exist_ok=True)
        p = d / name
        p.write_bytes(b"".join(_text_frames(DATA / name, marker)[:n]))
        return [p]
    return build


def _restart_dumps(d: Path, n: int) -> list[Path]:
    """Steps 0..100 in one file, 100..190 (step 100 again) in the next: n frames once joined."""
    a, b = d / "cu32_restart_a.lammpstrj", d / "cu32_restart_b.lammpstrj"
    a.write_bytes((DATA / a.name).read_bytes())
    b.write_bytes(b"".join(_text_frames(DATA / b.name, b"ITEM: TIMESTEP")[:n - 10]))
    return [a, b]


def _lammps(paths, **kw):
    return trajmodes.read(paths if len(paths) > 1 else paths[0], md_timestep=0.001, species=["Cu"], **kw)


def _netcdf(d: Path, n: int) -> list[Path]:
    p = d / "cu32.nc"
    _lammps(_first_frames("cu32_xu.lammpstrj")(d / "dump", n)).to_netcdf(p)
    return [p]


def _images(n: int) -> list:
    import ase
    from ase.calculators.singlepoint import SinglePointCalculator
    images = []
    for k in range(n):
        atoms = ase.Atoms(["Cu"] * N_ATOMS, positions=TRUTH["positions"][k], cell=TRUTH["cells"][k], pbc=True)
        atoms.set_masses([MASS] * N_ATOMS)
        atoms.set_momenta(TRUTH["velocities"][k] * MASS * units.NATURAL_TIME_PS)   # A/ps -> ASE's momenta
        atoms.calc = SinglePointCalculator(atoms, forces=TRUTH["forces"][k])
        images.append(atoms)
    return images


def _ase_file(name: str, fmt: str | None = None):
    def build(d: Path, n: int) -> list[Path]:
        import ase.io
        p = d / name
        ase.io.write(p, _images(n), format=fmt)
        return [p]
    return build


def _ase_restart(d: Path, n: int) -> list[Path]:
    """An ASE MD restarted from its last frame: the second file starts with the first one's last frame."""
    import ase.io
    images = _images(n)
    a, b = d / "job1.traj", d / "job2.traj"
    ase.io.write(a, images[:11])
    ase.io.write(b, images[10:])
    return [a, b]


def _mda_universe(n: int):
    import MDAnalysis
    from MDAnalysis.coordinates.memory import MemoryReader
    u = MDAnalysis.Universe.empty(N_ATOMS, n_residues=1, atom_resindex=[0] * N_ATOMS, trajectory=False)
    for attr, values in (("names", ["Cu"] * N_ATOMS), ("types", ["Cu"] * N_ATOMS), ("elements", ["Cu"] * N_ATOMS),
                         ("masses", [MASS] * N_ATOMS), ("resnames", ["CU"]), ("resids", [1])):
        u.add_TopologyAttr(attr, values)
    f32 = np.float32
    u.load_new(TRUTH["positions"][:n].astype(f32), format=MemoryReader, dt=DT,
               dimensions=np.tile([7.23, 7.23, 7.23, 90.0, 90.0, 90.0], (n, 1)).astype(f32),
               velocities=TRUTH["velocities"][:n].astype(f32),
               forces=(TRUTH["forces"][:n] / units.KJMOL_EV).astype(f32))
    return u


def _trr(d: Path, n: int) -> list[Path]:
    """A GROMACS .trr (float32 positions, velocities and forces) with a PDB topology, written by MDAnalysis."""
    import MDAnalysis
    u = _mda_universe(n)
    top, trr = d / "top.pdb", d / "run.trr"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")              # PDB: no chainIDs, occupancies, ...
        u.atoms.write(top)
        with MDAnalysis.Writer(str(trr), N_ATOMS) as w:
            for _ in u.trajectory:
                w.write(u.atoms)
    return [top, trr]


def _open_trr(paths, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")              # MDAnalysis guessing what a PDB leaves out
        warnings.simplefilter("always", TruncatedFrameWarning)    # but not the reader's own: a cut frame dropped
        return trajmodes.read(paths[1], topology=paths[0], **kw)


def _open_universe(_paths, chunk_frames=None):
    return trajmodes.read(_mda_universe(N_FRAMES), chunk_frames=chunk_frames)


def _open_arrays(_paths, chunk_frames=None):
    return trajmodes.from_arrays(TRUTH["positions"], TRUTH["cells"], ["Cu"] * N_ATOMS, frame_interval=DT,
                                 velocities=TRUTH["velocities"], forces=TRUTH["forces"], chunk_frames=chunk_frames)


def _direct(module: str, cls: str, **kw):
    """The source class itself, on one path (the missing-file check of the class, not only of trajmodes.read)."""
    def make(path):
        import importlib
        return getattr(importlib.import_module(f"trajmodes.io.trajectories.{module}"), cls)(path, **kw)
    return make


@dataclass(frozen=True)
class Kind:
    """One kind of frame source over the run."""

    build: Callable | None                   # (folder, n) -> the files of the first n frames (None: in memory)
    open: Callable                           # (files, chunk_frames=...) -> Trajectory
    fields: tuple = VECTORS                  # the per-atom fields the source has
    tol: dict = field(default_factory=dict)  # largest difference from the truth per array (default: exact)
    wrapped: bool = False                    # positions wrapped into the cell: compared by minimum image
    gz: bool = False                         # the files are gzipped after they are written
    cut: str = "drop"                        # a cut last frame: "drop" (warning) or "error" (the file named)
    direct: Callable | None = None           # the source class on one missing path
    missing_error: type = FileNotFoundError  # what that raises
    token_kept: bool = True                  # the token survives pickling (not so for arrays: it is their id)
    steps: tuple = (0, 10)                   # first step and stride: MD steps, else frame numbers
    exact32: tuple = ()                      # arrays held in float32: equal to the truth rounded to float32
    last_file_frames: int = N_FRAMES         # frames in the last file (a dropped frame is named by its index there)


FLOAT32 = dict(positions=2e-6, velocities=2e-6, forces=2e-6, cells=2e-6, times=1e-8)   # times: float32 too
KINDS = {
    "lammps": Kind(_first_frames("cu32_xu.lammpstrj"), _lammps, direct=_direct("lammps", "LammpsDumpSource")),
    "lammps-unsorted": Kind(_first_frames("cu32_unsorted.lammpstrj"), _lammps),
    "lammps-gz": Kind(_first_frames("cu32_xu.lammpstrj"), _lammps, gz=True,
                      direct=_direct("lammps", "LammpsDumpSource")),
    "lammps-restart": Kind(_restart_dumps, _lammps, last_file_frames=10),
    "extxyz": Kind(_first_frames("cu32.extxyz", b""), lambda p, **kw: trajmodes.read(p[0], **kw),
                   direct=_direct("xyz", "XYZSource"), missing_error=TrajectoryFormatError),
    "extxyz-gz": Kind(_first_frames("cu32.extxyz", b""), lambda p, **kw: trajmodes.read(p[0], **kw), gz=True,
                      direct=_direct("xyz", "XYZSource"), missing_error=TrajectoryFormatError),
    "netcdf": Kind(_netcdf, lambda p, **kw: trajmodes.read(p[0], **kw), cut="error",
                   direct=_direct("netcdf", "NetCDFSource")),
    "ase-traj": Kind(_ase_file("run.traj"), lambda p, **kw: trajmodes.read(p[0], frame_interval=DT, **kw),
                     tol=dict(velocities=1e-13), direct=_direct("ase_reader", "ASESource"),
                     missing_error=TrajectoryFormatError, steps=(0, 1)),
    "ase-traj-restart": Kind(_ase_restart, lambda p, **kw: trajmodes.read(p, frame_interval=DT, **kw),
                             tol=dict(velocities=1e-13), steps=(0, 1), last_file_frames=10),
    "vasp-xdatcar": Kind(_ase_file("XDATCAR", "vasp-xdatcar"),
                         lambda p, **kw: trajmodes.read(p[0], md_timestep=DT, **kw), fields=("positions",),
                         tol=dict(positions=1e-7, cells=1e-12), wrapped=True,
                         direct=_direct("ase_reader", "ASESource"), missing_error=TrajectoryFormatError,
                         steps=(1, 1)),
    "mdanalysis-trr": Kind(_trr, _open_trr, tol=FLOAT32, direct=_direct("mdanalysis", "MDAnalysisSource"),
                           missing_error=TrajectoryFormatError, steps=(0, 1)),
    "mdanalysis-universe": Kind(None, _open_universe, tol=FLOAT32, steps=(0, 1),
                                exact32=("positions", "velocities")),
    "arrays": Kind(None, _open_arrays, token_kept=False, steps=(0, 1)),
}
FILE_KINDS = [k for k, v in KINDS.items() if v.build is not None]


def _gzip(paths: list[Path]) -> list[Path]:
    out = []
    for p in paths:
        g = p.with_name(p.name + ".gz")
        g.write_bytes(gzip.compress(p.read_bytes()))
        p.unlink()
        out.append(g)
    return out


def _write(kind: Kind, d: Path, n: int = N_FRAMES, cut: float | None = None) -> list[Path]:
    """The kind's files of the first n frames in ``d``; with ``cut``, the last file ends that fraction of the way
    into its last frame (before gzip: a run killed while writing)."""
    d.mkdir(parents=True, exist_ok=True)
    paths = kind.build(d, n)
    if cut is not None:
        (d / "shorter").mkdir()
        shorter = kind.build(d / "shorter", n - 1)      # where the last frame starts: the file without it
        start, data = shorter[-1].stat().st_size, paths[-1].read_bytes()
        paths[-1].write_bytes(data[:start + int(cut * (len(data) - start))])
    return _gzip(paths) if kind.gz else paths


@dataclass
class Opened:
    kind: Kind
    paths: list
    traj: trajmodes.Trajectory
    full: dict          # the arrays of the source's fields, cells and origins, read with the default chunks


@pytest.fixture(scope="module")
def opened(tmp_path_factory):
    """name -> the kind's trajectory of the whole run (default chunks) and its arrays, made once per module."""
    cache: dict = {}

    def get(name: str) -> Opened:
        if name not in cache:
            kind = KINDS[name]
            paths = _write(kind, tmp_path_factory.mktemp(name)) if kind.build else []
            traj = kind.open(paths)
            cache[name] = Opened(kind, paths, traj, _compute(traj, _fields(kind)))
        return cache[name]
    return get


def _compute(traj, names) -> dict:
    """The named arrays of ``traj``, computed together (one read of each chunk)."""
    return dict(zip(names, dask.compute(*(getattr(traj, f) for f in names))))


def _select(arrays: dict, frames) -> dict:
    return {f: a[frames] for f, a in arrays.items()}


def _fields(kind: Kind) -> tuple:
    return tuple(kind.fields) + ("cells", "origins")


def _assert_same(got: dict, want: dict, names, what: str = ""):
    for f in names:
        assert got[f].shape == want[f].shape, (what, f)
        assert np.array_equal(got[f], want[f]), (what, f)


def _min_image(d, cells):
    s = np.einsum("tai,tij->taj", d, np.linalg.inv(cells))
    return np.einsum("tai,tij->taj", s - np.round(s), cells)


# --- the checks ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", KINDS)
def test_reads_the_run(opened, name):
    """The arrays, steps and times are the run's, to the precision of the format; fields it lacks are None."""
    o = opened(name)
    assert o.traj.source.fields == o.kind.fields
    for f in VECTORS:
        assert (getattr(o.traj, f) is None) == (f not in o.kind.fields), f
    for f in _fields(o.kind):
        got, want = o.full[f], TRUTH[f]
        assert got.shape == want.shape and got.dtype == np.float64, f
        diff = _min_image(got - want, TRUTH["cells"]) if (f == "positions" and o.kind.wrapped) else got - want
        assert np.abs(diff).max() <= o.kind.tol.get(f, 0.0), (f, np.abs(diff).max())
    for f in o.kind.exact32:
        assert np.array_equal(o.full[f], TRUTH[f].astype(np.float32).astype(np.float64)), f
    first, stride = o.kind.steps
    assert np.array_equal(o.traj.steps, first + stride * np.arange(N_FRAMES))
    np.testing.assert_allclose(o.traj.times - o.traj.times[0], TRUTH["times"], rtol=0,
                               atol=o.kind.tol.get("times", 1e-12))


@pytest.mark.parametrize("name", KINDS)
def test_counts_species_masses_and_times_agree(opened, name):
    o = opened(name)
    t, src = o.traj, o.traj.source
    assert (t.n_frames, t.n_atoms) == (src.n_frames, src.n_atoms) == (N_FRAMES, N_ATOMS)
    for f in _fields(o.kind):
        assert o.full[f].shape[0] == N_FRAMES and getattr(t, f).chunks[0] == t.positions.chunks[0], f
    assert all(o.full[f].shape[1] == N_ATOMS for f in o.kind.fields)
    assert len(t.steps) == len(t.times) == len(src.steps) == len(src.times) == N_FRAMES
    assert np.array_equal(t.times, src.times) and np.array_equal(t.steps, src.steps)
    assert np.all(np.diff(t.steps) > 0)
    tol = o.kind.tol.get("times", 1e-12)
    np.testing.assert_allclose(np.diff(t.times), DT, rtol=0, atol=tol)
    assert t.frame_interval == pytest.approx(DT, rel=0, abs=tol)
    assert t.species.shape == src.species.shape == (N_ATOMS,) and set(t.species.tolist()) == {"Cu"}
    assert t.masses.shape == (N_ATOMS,) and np.allclose(t.masses, MASS, rtol=0, atol=1e-3)
    assert np.array_equal(src.ids, np.arange(1, N_ATOMS + 1))


def _read_pickled(blob: bytes, frames) -> dict:
    """In another process: unpickle a source and read frames (what a Dask worker does)."""
    return pickle.loads(blob).read(np.asarray(frames))


@pytest.fixture(scope="module")
def other_process():
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield pool


FRAME_SETS = ([3, 7], [0, 1, 2, 3], [5, 11, 12, 19], list(range(N_FRAMES)))


@pytest.mark.parametrize("name", KINDS)
def test_source_pickles(opened, other_process, name):
    """The unpickled source, here and in a spawned process, reads the frames the source reads; so do the arrays'
    graphs, pickled; the token (Dask's task names) is the same."""
    o = opened(name)
    src = o.traj.source
    blob = pickle.dumps(src)
    again = pickle.loads(blob)
    assert (again.n_frames, again.n_atoms) == (src.n_frames, src.n_atoms)
    assert np.array_equal(again.times, src.times) and list(again.species) == list(src.species)
    if o.kind.token_kept:
        assert again.token() == src.token()
    remote = [other_process.submit(_read_pickled, blob, frames) for frames in FRAME_SETS]
    for frames, fut in zip(FRAME_SETS, remote):
        want = _select(o.full, frames)
        _assert_same(again.read(np.array(frames)), want, _fields(o.kind), f"unpickled, frames {frames}")
        _assert_same(fut.result(timeout=120), want, _fields(o.kind), f"other process, frames {frames}")
    arrays = pickle.loads(pickle.dumps([getattr(o.traj, f) for f in _fields(o.kind)]))
    _assert_same(dict(zip(_fields(o.kind), dask.compute(*arrays))), o.full, _fields(o.kind), "pickled graph")


@pytest.mark.parametrize("name", KINDS)
def test_reads_from_threads(opened, name):
    """One source read from 8 threads at once (frame groups of every size, in any order, repeated) gives one
    read's numbers; so does a threaded Dask computation of one-frame chunks."""
    o = opened(name)
    src = o.traj.source
    rng = np.random.default_rng(0)
    groups = [np.sort(rng.choice(N_FRAMES, size=rng.integers(1, 8), replace=False)) for _ in range(48)]
    with ThreadPoolExecutor(8) as ex:
        outs = list(ex.map(src.read, groups))
    for frames, got in zip(groups, outs):
        _assert_same(got, _select(o.full, frames), _fields(o.kind), f"frames {frames}")
    t = o.kind.open(o.paths, chunk_frames=1)
    got = dask.compute(*(getattr(t, f) for f in _fields(o.kind)), scheduler="threads", num_workers=8)
    _assert_same(dict(zip(_fields(o.kind), got)), o.full, _fields(o.kind), "threads")


@pytest.mark.parametrize("name", KINDS)
def test_chunking_does_not_change_values(opened, name):
    o = opened(name)
    for chunk in (1, 3, 7, N_FRAMES, N_FRAMES + 30):
        t = o.kind.open(o.paths, chunk_frames=chunk)
        c = min(chunk, N_FRAMES)
        assert t.positions.chunks[0] == tuple([c] * (N_FRAMES // c) + ([N_FRAMES % c] if N_FRAMES % c else []))
        got = _compute(t, _fields(o.kind))
        _assert_same(got, o.full, _fields(o.kind), f"chunk_frames={chunk}")
        assert np.array_equal(t.times, o.traj.times) and np.array_equal(t.steps, o.traj.steps)
        sub = t[2:10:3]
        _assert_same({f: getattr(sub, f).compute() for f in o.kind.fields},
                     {f: o.full[f][2:10:3] for f in o.kind.fields}, o.kind.fields, f"chunk_frames={chunk}, [2:10:3]")


@pytest.mark.parametrize("key", [slice(2, 10, 3), slice(None, None, -1), slice(5, None), slice(-4, -1),
                                 slice(0, 20, 7), slice(19, 3, -5)], ids=str)
@pytest.mark.parametrize("name", KINDS)
def test_slicing_matches_numpy(opened, name, key):
    o = opened(name)
    sub = o.traj[key]
    frames = np.arange(N_FRAMES)[key]
    assert sub.n_frames == len(frames) and sub.n_atoms == N_ATOMS
    assert np.array_equal(sub.steps, o.traj.steps[key])
    np.testing.assert_array_equal(sub.times, o.traj.times[key])
    got = _compute(sub, _fields(o.kind))
    _assert_same(got, _select(o.full, frames), _fields(o.kind), str(key))


@pytest.mark.parametrize("name", KINDS)
def test_slice_of_slice_int_and_eager_read(opened, name):
    o = opened(name)
    t = o.traj
    sub = t[2:18][1::4]                                               # frames 3, 7, 11, 15
    assert np.array_equal(sub.steps, t.steps[3:18:4]) and np.array_equal(sub.times, t.times[3:18:4])
    got = _compute(sub, _fields(o.kind))
    _assert_same(got, _select(o.full, slice(3, 18, 4)), _fields(o.kind), "[2:18][1::4]")
    for k in (0, 7, -1):
        one = t[k]
        assert one.n_frames == 1 and one.steps[0] == t.steps[k]
        assert np.array_equal(one.positions.compute()[0], o.full["positions"][k])
    _assert_same(vars(t.read([1, 4, 5])), _select(o.full, [1, 4, 5]), _fields(o.kind), "read([1, 4, 5])")
    _assert_same(vars(t.read()), o.full, o.kind.fields, "read()")


@pytest.mark.parametrize("name", FILE_KINDS)
def test_missing_file_is_named(opened, name, tmp_path):
    """trajmodes.read, and the source class itself, name a file that is not there (the last of several)."""
    o = opened(name)
    missing = [*o.paths[:-1], tmp_path / o.paths[-1].name]
    with pytest.raises(FileNotFoundError, match=re.escape(str(missing[-1]))):
        o.kind.open(missing)
    if o.kind.direct is not None:
        with pytest.raises(o.kind.missing_error, match=re.escape(str(missing[-1]))):
            o.kind.direct(missing[-1])


CUTS = (0.02, 0.5, 0.98)        # how far into its last frame a file ends
XFAIL_CUTS: dict = {}           # (kind, cut) -> (exception, reason): a known reader bug, a strict xfail
CUT_CASES = [pytest.param(name, cut, id=f"{name}-{cut}",
                          marks=[pytest.mark.xfail(strict=True, raises=XFAIL_CUTS[name, cut][0],
                                                   reason=XFAIL_CUTS[name, cut][1])] if (name, cut) in XFAIL_CUTS else [])
             for name in FILE_KINDS for cut in CUTS]


@pytest.mark.parametrize("name, cut", CUT_CASES)
def test_cut_last_frame(opened, name, cut, tmp_path):
    """A file that ends inside its last frame (a killed run): the frame is dropped with a TruncatedFrameWarning
    naming the file and the frame, the others read as before; a netCDF file is refused, naming it."""
    o = opened(name)
    kind = o.kind
    paths = _write(kind, tmp_path, cut=cut)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if kind.cut == "error":
            with pytest.raises(TrajectoryFormatError, match=re.escape(str(paths[-1]))):
                kind.open(paths).positions.compute()
            return
        t = kind.open(paths)
    dropped = [str(w.message) for w in caught if issubclass(w.category, TruncatedFrameWarning)]
    last = kind.last_file_frames - 1
    assert len(dropped) == 1 and re.match(re.escape(str(paths[-1])) + rf": .*\bframes? {last}\b", dropped[0]), dropped
    assert t.n_frames == N_FRAMES - 1 and len(t.times) == N_FRAMES - 1
    assert np.array_equal(t.steps, o.traj.steps[:-1]) and np.array_equal(t.times, o.traj.times[:-1])
    got = _compute(t, _fields(kind))
    _assert_same(got, _select(o.full, slice(None, -1)), _fields(kind), f"cut at {cut}")


@pytest.mark.parametrize("name", [k for k in FILE_KINDS if KINDS[k].gz])
def test_cut_gzip_stream_is_named(opened, name, tmp_path):
    """A gzip file cut short (a copy interrupted) cannot be decompressed: the error names the file."""
    o = opened(name)
    cut = tmp_path / o.paths[-1].name
    data = o.paths[-1].read_bytes()
    cut.write_bytes(data[:int(0.9 * len(data))])
    with pytest.raises(TrajectoryFormatError, match=re.escape(str(cut)) + ".*truncated"):
        o.kind.open([cut]).positions.compute()
