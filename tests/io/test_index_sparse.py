"""The sparse frame scan (a window of each frame) gives the index of the scan of every byte, and the first read of a
fresh dump reads it about once."""
import gzip
import os
import warnings

import numpy as np
import pytest

import trajmodes
from tests.support.dumps import read_quiet
from tests.support.paths import DATA, EXAMPLES
from trajmodes import _fastparse
from trajmodes.errors import TrajectoryFormatError
from trajmodes.io.trajectories import lammps_format
from trajmodes.io.trajectories.lammps_format import scan_sparse, scan_windows

FILES = sorted(DATA.glob("*.lammpstrj")) + sorted(EXAMPLES.glob("*.lammpstrj.gz"))
#: (min_frame, window, chunk): sparse from the second frame on with windows narrower and wider than the frames'
#: changes of length, and the defaults (these files' frames are all shorter than SPARSE_MIN_FRAME: scanned whole)
SETTINGS = [(1, (16, 16), 512), (1, (64, 256), 4096), (1000, (256, 4096), 1 << 16), (None, None, None)]


def whole(text: bytes) -> tuple:
    """The index of one scan of all of ``text``."""
    st, ts, tm = _fastparse.scan_lammps(text)
    return np.frombuffer(st, np.int64), np.frombuffer(ts, np.int64), np.frombuffer(tm)


def same(a, b) -> bool:
    return all(np.array_equal(x, y, equal_nan=True) for x, y in zip(a, b))


def plain_copy(path, tmp_path):
    """The text of ``path`` (gzip: decompressed, as the reader reads it) in a plain file."""
    text = gzip.open(path).read() if path.suffix == ".gz" else path.read_bytes()
    p = tmp_path / "dump.lammpstrj"
    p.write_bytes(text)
    return p, text


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
@pytest.mark.parametrize("min_frame, window, chunk", SETTINGS)
def test_shipped_dumps(path, min_frame, window, chunk, tmp_path):
    p, text = plain_copy(path, tmp_path)
    stats = {}
    got = scan_sparse(str(p), min_frame=min_frame, window=window, chunk=chunk, margin=300, stats=stats)
    assert same(got, whole(text)) and same(got, scan_windows(str(p)))
    assert len(got[0]) >= 10
    if window == (64, 256):                      # frames found in windows: most bytes not read
        assert stats["bytes_read"] < (0.1 if len(text) > 1e6 else 0.55) * len(text)


ATOMS_LINE = "ITEM: ATOMS id type x y z q"


def header(step: int, natoms: int) -> list:
    return ["ITEM: TIMESTEP", str(step), "ITEM: NUMBER OF ATOMS", str(natoms), "ITEM: BOX BOUNDS pp pp pp",
            "0 10.5", "-1.5e+01 3.25", "0 10", ATOMS_LINE]


def random_dump(rng, n_frames, natoms, *, time=False, units=False, crlf=False, cut=None) -> bytes:
    """A dump whose line widths vary (negative numbers, scientific notation, %g, steps of up to 10 digits); ``natoms``
    an int or one per frame; ``cut``: (frame, bytes) keeps only the first bytes of that frame (a frame cut short)."""
    counts = [natoms] * n_frames if np.isscalar(natoms) else list(natoms)
    fmts = ["%.10g", "%.3f", "%.6e", "%g", "%.1f"]
    frames = []
    first, stride = int(rng.integers(0, 10 ** int(rng.integers(1, 10)))), int(rng.integers(2, 10 ** 6))
    for k, n in enumerate(counts):
        step = first + k * stride
        head = (["ITEM: UNITS", "metal"] if units and k == 0 else []) + \
            (["ITEM: TIME", repr(float(rng.uniform(0, 1e3)))] if time else []) + header(step, n)
        rows = []
        for i in range(n):
            vals = rng.normal(0, 10.0 ** rng.integers(-3, 4), 4)
            rows.append(f"{i + 1} 1 " + " ".join(fmts[int(rng.integers(len(fmts)))] % v for v in vals)
                        + " " * int(rng.integers(0, 2)))
        sep = "\r\n" if crlf else "\n"
        frame = (sep.join(head + rows) + sep).encode()
        if cut is not None and cut[0] == k:
            frame = frame[:cut[1]]
        frames.append(frame)
    return b"".join(frames)


CASES = {
    "fixed": dict(n_frames=30, natoms=300),
    "time_units": dict(n_frames=30, natoms=300, time=True, units=True),
    "crlf": dict(n_frames=20, natoms=300, crlf=True),
    "atom_count_varies": dict(n_frames=30, natoms=[300 + (k * 37) % 90 - 45 for k in range(30)]),
    "atom_count_steps": dict(n_frames=30, natoms=[300] * 10 + [120] * 10 + [600] * 10),
    "tiny_frames": dict(n_frames=60, natoms=[1, 2, 3] * 20),
    "last_frame_cut": dict(n_frames=20, natoms=300, cut=(19, 9000)),
    "last_frame_cut_near_end": dict(n_frames=20, natoms=300, cut=(19, 24000)),
    "frame_cut_then_more": dict(n_frames=20, natoms=300, cut=(8, 7000)),
    "frame_cut_early_then_more": dict(n_frames=20, natoms=300, cut=(8, 100)),
    "one_frame": dict(n_frames=1, natoms=300),
}


@pytest.mark.parametrize("case", CASES, ids=str)
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("min_frame, window, chunk", SETTINGS[:3])
def test_dumps_of_varying_line_widths(case, seed, min_frame, window, chunk, tmp_path):
    text = random_dump(np.random.default_rng(seed), **CASES[case])
    p = tmp_path / "dump.lammpstrj"
    p.write_bytes(text)
    got = scan_sparse(str(p), min_frame=min_frame, window=window, chunk=chunk, margin=300)
    assert same(got, whole(text))


def test_gzip_dump_indexed_from_its_decompressed_copy(tmp_path, monkeypatch):
    """gzip cannot seek: the reader decompresses a .gz into the cache folder once, and the sparse scan reads that
    plain copy; the index is the whole scan's."""
    monkeypatch.setattr(lammps_format, "SPARSE_MIN_FRAME", 1)
    monkeypatch.setattr(lammps_format, "SPARSE_WINDOW", (256, 4096))
    src = EXAMPLES / "cu_fcc_300K.lammpstrj.gz"
    gz = tmp_path / src.name
    gz.write_bytes(src.read_bytes())
    t = read_quiet(gz)
    expect = whole(gzip.open(src).read())
    assert t.n_frames == len(expect[0])
    assert np.array_equal(t.steps, expect[1])


# --- the first read of a fresh dump reads it about once -------------------------------------------------------------
N_ATOMS, N_FRAMES = 5000, 32


def long_frames_dump(path, rng) -> None:
    """32 frames of 5,000 atoms (about 400 KB each) with line widths that vary: a few formatted row blocks, one chosen
    at random for each frame (as benchmarks/gen_dump.py makes them)."""
    ids = np.arange(1, N_ATOMS + 1)
    blocks = []
    for _ in range(4):
        vals = rng.normal(0, 1, (N_ATOMS, 6)) * [3, 3, 3, 5, 5, 5] + [5, 5, 5, 0, 0, 0]
        rows = "\n".join(f"{i} 1 " + " ".join("%.10g" % v for v in r) for i, r in zip(ids, vals))
        blocks.append((rows + "\n").encode())
    with open(path, "wb") as f:
        for k in range(N_FRAMES):
            f.write((f"ITEM: TIMESTEP\n{10 * k}\nITEM: NUMBER OF ATOMS\n{N_ATOMS}\nITEM: BOX BOUNDS pp pp pp\n"
                     "0 10\n0 10\n0 10\nITEM: ATOMS id type xu yu zu vx vy vz\n").encode())
            f.write(blocks[int(rng.integers(4))])


def _rchar() -> int:
    with open("/proc/self/io") as f:
        return int(next(line for line in f if line.startswith("rchar:")).split()[1])


@pytest.fixture
def fresh_dump(tmp_path, monkeypatch):
    """A dump of long frames (400 KB, SPARSE_CHUNK set to 256 KB) no command has read."""
    monkeypatch.setattr(lammps_format, "SPARSE_CHUNK", 256 << 10)
    p = tmp_path / "long.lammpstrj"
    long_frames_dump(p, np.random.default_rng(7))
    return p


def test_index_of_a_fresh_dump_reads_a_small_part(fresh_dump, monkeypatch):
    scanned = []
    real = _fastparse.scan_lammps

    def counting(buf, *args):
        scanned.append(len(buf))
        return real(buf, *args)
    monkeypatch.setattr(_fastparse, "scan_lammps", counting)
    t = read_quiet(fresh_dump, species=["Cu"])
    size = os.path.getsize(fresh_dump)
    # the first frame scanned whole (1/32 of the file), then about 20 KB of each 400 KB frame
    assert sum(scanned) < 0.12 * size
    assert t.n_frames == N_FRAMES
    monkeypatch.setattr(_fastparse, "scan_lammps", real)
    saved = np.load(fresh_dump.parent / f".{fresh_dump.name}.tmidx.npz")
    expect = whole(fresh_dump.read_bytes())
    assert same((saved["starts"], saved["steps"], saved["times"]), expect)
    assert same(scan_windows(str(fresh_dump)), expect)


@pytest.mark.skipif(not os.path.exists("/proc/self/io"), reason="needs Linux's /proc/self/io")
def test_first_read_of_a_fresh_dump_reads_it_about_once(fresh_dump, tmp_path):
    warm = tmp_path / "warm.lammpstrj"                 # the modules a read imports, imported before counting
    warm.write_bytes(random_dump(np.random.default_rng(0), 3, 5))
    read_quiet(warm).positions.compute()
    size = os.path.getsize(fresh_dump)
    before = _rchar()
    t = read_quiet(fresh_dump, species=["Cu"])
    x = t.positions.compute()
    read = _rchar() - before
    assert x.shape == (N_FRAMES, N_ATOMS, 3)
    # the frames parsed once; the index ~7 %, the first frame and the last read again to open the dump (2/32)
    assert read <= 1.2 * size, f"read {read / size:.2f} x the dump"


# --- the limit: a frame that hides a TIMESTEP line where no byte was read -------------------------------------------
def test_hidden_frame_is_refused_when_read(tmp_path, monkeypatch):
    """A frame cut short at a line's end, then a frame of fewer atoms that makes up its length, then frames as
    before: the sparse scan's window finds the frame after them where the cut one should have ended, and takes the two
    as one frame (the scan of every byte has them apart). That frame is no valid frame: reading it is refused, with
    the error that reading the cut one gives with the other index."""
    text = random_dump(np.random.default_rng(3), 7, 300)
    st, steps, _ = whole(text)
    length = int(st[3] - st[2])                                      # the sparse scan's guess for frame 3
    frame3 = text[st[3]:st[4]]
    cut = frame3[:frame3.rfind(b"\n", 0, len(frame3) // 2) + 1]      # frame 3 cut short after a whole line
    rows = frame3.split(ATOMS_LINE.encode() + b"\n")[1].split(b"\n")
    small = 0
    while True:                                                      # a frame of fewer atoms, the length to fill
        filler = ("\n".join(header(int(steps[3]) + 1, small)) + "\n").encode() + b"".join(r + b"\n"
                                                                                        for r in rows[:small])
        if len(cut) + len(filler) >= length:
            break
        small += 1
    damaged = text[:st[3]] + cut + filler + text[st[4]:]
    p = tmp_path / "damaged.lammpstrj"
    p.write_bytes(damaged)
    monkeypatch.setattr(lammps_format, "SPARSE_MIN_FRAME", 1)
    monkeypatch.setattr(lammps_format, "SPARSE_WINDOW", (256, 256))
    monkeypatch.setattr(lammps_format, "SPARSE_CHUNK", 4096)
    sparse, every = scan_sparse(str(p)), whole(damaged)
    assert len(sparse[0]) == len(every[0]) - 1                       # the filler frame's start is not found
    assert not same(sparse, every)
    said = "fewer atom lines than ITEM: NUMBER OF ATOMS says"
    with pytest.raises(TrajectoryFormatError, match=said) as sparse_error:
        read_quiet(p, species=["Cu"]).positions.compute()
    os.remove(p.parent / f".{p.name}.tmidx.npz")
    monkeypatch.setattr(lammps_format, "scan_sparse", lambda path, **kw: scan_windows(path))
    with pytest.raises(TrajectoryFormatError, match=said) as every_error, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)                 # the filler frame's step is off the others'
        read_quiet(p, species=["Cu"]).positions.compute()
    where = [(e.value.frame, e.value.line) for e in (sparse_error, every_error)]
    assert where[0] == where[1] and where[0][0] == 3                 # the same frame and line


def test_trajmodes_read_is_the_reader(tmp_path):
    """trajmodes.read of a dump goes through index_dump (the sparse scan), here on small frames: scanned whole."""
    p = tmp_path / "d.lammpstrj"
    p.write_bytes(random_dump(np.random.default_rng(5), 4, 3))
    assert trajmodes.read(p, species=["Cu"], md_timestep=0.001).n_frames == 4
