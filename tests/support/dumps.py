"""Write synthetic LAMMPS text dumps with known values, for the reader tests.

A :class:`Truth` holds the exact data of a trajectory (fractional wrapped coordinates,
image flags, cells in LAMMPS' restricted form, velocities, forces, ids, steps); :func:`write_dump`
writes it in any column layout, with LAMMPS' conventions (bounding box of a tilted cell, scaled
columns relative to the origin, ``ITEM: UNITS`` once at the top, ``ITEM: TIME`` before each
``ITEM: TIMESTEP``).  Floats are written with ``repr`` (or another exact format), so what the
reader returns can be compared with the truth bit for bit.
"""
from __future__ import annotations

import gzip
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

POSITION_COLUMNS = {"xu": ("xu", "yu", "zu"), "x": ("x", "y", "z"), "xs": ("xs", "ys", "zs"),
                    "xsu": ("xsu", "ysu", "zsu")}
IMAGE_COLUMNS = ("ix", "iy", "iz")
VELOCITY_COLUMNS = ("vx", "vy", "vz")
FORCE_COLUMNS = ("fx", "fy", "fz")


@dataclass
class Truth:
    """Exact values of a trajectory; arrays are (n_frames, n_atoms, 3) in atom-id order."""

    ids: np.ndarray                 # (n_atoms,) ascending
    types: np.ndarray               # (n_atoms,)
    frac: np.ndarray                # wrapped fractional coordinates in [0, 1)
    images: np.ndarray              # int image flags
    cells: np.ndarray               # (n_frames, 3, 3) rows a, b, c, lower triangular (restricted)
    origins: np.ndarray             # (n_frames, 3)
    velocities: np.ndarray
    forces: np.ndarray
    steps: np.ndarray               # (n_frames,)
    times: np.ndarray | None = None  # (n_frames,) or None
    extra: dict = field(default_factory=dict)   # name -> (n_frames, n_atoms) floats

    @property
    def n_frames(self) -> int:
        return len(self.steps)

    @property
    def n_atoms(self) -> int:
        return len(self.ids)

    # Cartesian values as the columns hold them (each computed once, so the written string is exact)
    def wrapped(self) -> np.ndarray:
        return self.origins[:, None, :] + np.einsum("fai,fij->faj", self.frac, self.cells)

    def unwrapped(self) -> np.ndarray:
        return self.origins[:, None, :] + np.einsum("fai,fij->faj", self.frac + self.images, self.cells)

    def column_values(self, kind: str) -> np.ndarray:
        """The (n_frames, n_atoms, 3) numbers written for position column family ``kind``."""
        return {"xu": self.unwrapped, "x": self.wrapped, "xs": lambda: self.frac,
                "xsu": lambda: self.frac + self.images}[kind]()


def random_truth(rng: np.random.Generator, n_frames: int = 3, n_atoms: int = 4, *, triclinic: bool = False,
                 contiguous_ids: bool = True, npt: bool = False, with_time: bool = False,
                 tilt_signs=None) -> Truth:
    """A random, valid trajectory.

    ``tilt_signs`` (three of -1, 0, 1 for xy, xz, yz) fixes the signs of the tilts of a
    triclinic cell (random signs when None).
    """
    if contiguous_ids:
        ids = np.arange(1, n_atoms + 1)
    else:
        ids = np.sort(rng.choice(np.arange(1, 10 * n_atoms + 10), n_atoms, replace=False))
    lengths = rng.uniform(3.0, 30.0, 3)
    cell = np.diag(lengths)
    if triclinic:
        signs = rng.choice([-1, 1], 3) if tilt_signs is None else np.asarray(tilt_signs)
        mag = rng.uniform(0.05, 0.5, 3)
        cell[1, 0] = signs[0] * mag[0] * lengths[0]
        cell[2, 0] = signs[1] * mag[1] * lengths[0]
        cell[2, 1] = signs[2] * mag[2] * lengths[1]
    cells = np.repeat(cell[None], n_frames, axis=0)
    if npt:
        cells = cells * rng.uniform(0.98, 1.02, (n_frames, 1, 1))
    origins = np.repeat(rng.uniform(-10, 10, 3)[None], n_frames, axis=0)
    # evenly spaced MD steps (a random stride), as a dump of one run writes them: uneven ones would
    # (rightly) warn that the frames are not evenly spaced; the same draws as before keep the other values
    stride = int(rng.integers(1, 1000, n_frames)[0])
    steps = stride * np.arange(1, n_frames + 1) + int(rng.integers(0, 5))
    return Truth(ids=ids, types=rng.integers(1, 4, n_atoms), frac=rng.uniform(0, 1, (n_frames, n_atoms, 3)),
                 images=rng.integers(-3, 4, (n_frames, n_atoms, 3)), cells=cells, origins=origins,
                 velocities=rng.normal(0, 5, (n_frames, n_atoms, 3)),
                 forces=rng.normal(0, 1, (n_frames, n_atoms, 3)), steps=steps,
                 times=steps * 0.002 if with_time else None,
                 extra={"c_pe": rng.normal(-3, 1, (n_frames, n_atoms))})


def bounds_lines(cell: np.ndarray, origin: np.ndarray, fmt=repr) -> tuple[str, list[str]]:
    """``ITEM: BOX BOUNDS`` kind and its three lines (LAMMPS' bounding-box convention for tilts)."""
    lo = origin
    hi = origin + np.diag(cell)
    xy, xz, yz = cell[1, 0], cell[2, 0], cell[2, 1]
    if xy == 0 and xz == 0 and yz == 0:
        return "pp pp pp", [f"{fmt(float(lo[k]))} {fmt(float(hi[k]))}" for k in range(3)]
    xlo_b = lo[0] + min(0.0, xy, xz, xy + xz)
    xhi_b = hi[0] + max(0.0, xy, xz, xy + xz)
    ylo_b = lo[1] + min(0.0, yz)
    yhi_b = hi[1] + max(0.0, yz)
    return "xy xz yz pp pp pp", [f"{fmt(float(xlo_b))} {fmt(float(xhi_b))} {fmt(float(xy))}",
                                 f"{fmt(float(ylo_b))} {fmt(float(yhi_b))} {fmt(float(xz))}",
                                 f"{fmt(float(lo[2]))} {fmt(float(hi[2]))} {fmt(float(yz))}"]


def default_columns(kind: str = "xu", *, images: bool = False, velocities: bool = True,
                    forces: bool = True, types: bool = True, extra: bool = False) -> list[str]:
    cols = ["id"] + (["type"] if types else []) + list(POSITION_COLUMNS[kind])
    cols += list(IMAGE_COLUMNS) if images else []
    cols += list(VELOCITY_COLUMNS) if velocities else []
    cols += list(FORCE_COLUMNS) if forces else []
    cols += ["c_pe"] if extra else []
    return cols


def frame_text(truth: Truth, k: int, columns, *, order=None, units: str | None = None,
               fmt=repr, sep: str | list = " ", lead: str = "", trail: str = "") -> str:
    """Text of frame ``k``; atom rows in ``order`` (indices into the id-sorted atoms)."""
    order = np.arange(truth.n_atoms) if order is None else np.asarray(order)
    values = {}
    for kind, names in POSITION_COLUMNS.items():
        if any(c in columns for c in names):
            v = truth.column_values(kind)[k]
            for a, n in enumerate(names):
                values[n] = v[:, a]
    for a, n in enumerate(IMAGE_COLUMNS):
        values[n] = truth.images[k, :, a]
    for a, n in enumerate(VELOCITY_COLUMNS):
        values[n] = truth.velocities[k, :, a]
    for a, n in enumerate(FORCE_COLUMNS):
        values[n] = truth.forces[k, :, a]
    for n, v in truth.extra.items():
        values[n] = v[k]
    out = []
    if units is not None:
        out += ["ITEM: UNITS", units]
    if truth.times is not None:
        out += ["ITEM: TIME", repr(float(truth.times[k]))]
    kind_line, box = bounds_lines(truth.cells[k], truth.origins[k])
    out += ["ITEM: TIMESTEP", str(int(truth.steps[k])), "ITEM: NUMBER OF ATOMS", str(truth.n_atoms),
            f"ITEM: BOX BOUNDS {kind_line}", *box, "ITEM: ATOMS " + " ".join(columns)]
    for j, i in enumerate(order):
        toks = []
        for c in columns:
            if c == "id":
                toks.append(str(int(truth.ids[i])))
            elif c == "type":
                toks.append(str(int(truth.types[i])))
            elif c in IMAGE_COLUMNS:
                toks.append(str(int(values[c][i])))
            elif c == "element":
                toks.append("Cu")
            else:
                toks.append(fmt(float(values[c][i])))
        s = sep if isinstance(sep, str) else sep[(j * len(columns)) % len(sep)]
        out.append(lead + s.join(toks) + trail)
    return "\n".join(out) + "\n"


def dump_text(truth: Truth, columns, *, frames=None, orders=None, units: str | None = None, **kw) -> str:
    """Text of several frames (``ITEM: UNITS`` only in the first, as LAMMPS writes it)."""
    frames = range(truth.n_frames) if frames is None else frames
    parts = []
    for j, k in enumerate(frames):
        parts.append(frame_text(truth, k, columns, order=None if orders is None else orders[k],
                                units=units if j == 0 else None, **kw))
    return "".join(parts)


def write_dump(path, truth: Truth, columns, *, gz: bool = False, **kw) -> Path:
    """Write ``truth`` as a dump file (gzip-compressed when ``gz``); keywords as :func:`dump_text`."""
    path = Path(path)
    data = dump_text(truth, columns, **kw).encode()
    if gz:
        with gzip.open(path, "wb") as f:
            f.write(data)
    else:
        path.write_bytes(data)
    return path


def small_dump(path, n_frames: int = 4, n_atoms: int = 5, seed: int = 0, columns=None, **kw) -> tuple[Path, Truth]:
    """A small valid orthogonal dump with velocities and forces, and its truth."""
    truth = random_truth(np.random.default_rng(seed), n_frames, n_atoms)
    columns = columns or default_columns("xu")
    return write_dump(path, truth, columns, **kw), truth


def write_frames(path, frames, positions: np.ndarray, **vectors) -> Path:
    """A plain dump of orthogonal cells: ``frames`` gives the boxes (``cells``, ``origins``), ``positions`` (frames,
    atoms, 3) the ``xu yu zu`` columns and each of ``vectors`` (``velocities=``, ``forces=``: (frames, atoms, 3)) its
    three columns; ids from 1, all of type 1, steps 0, 10, 20, ..."""
    names = {"velocities": "vx vy vz", "forces": "fx fy fz"}
    path = Path(path)
    n_frames, n_atoms = positions.shape[:2]
    head = "ITEM: ATOMS id type xu yu zu" + "".join(" " + names[k] for k in vectors)
    with path.open("w") as f:
        for t in range(n_frames):
            lo, hi = frames.origins[t], frames.origins[t] + np.diag(frames.cells[t])
            f.write(f"ITEM: TIMESTEP\n{10 * t}\nITEM: NUMBER OF ATOMS\n{n_atoms}\nITEM: BOX BOUNDS pp pp pp\n")
            f.write("".join(f"{a:.10g} {b:.10g}\n" for a, b in zip(lo, hi)) + head + "\n")
            rows = np.concatenate([positions[t]] + [v[t] for v in vectors.values()], axis=1)
            f.write("".join(f"{i + 1} 1 " + " ".join(f"{x:.10g}" for x in row) + "\n" for i, row in enumerate(rows)))
    return path


def read_average(path):
    """``trajmodes.read`` of a Cu run with the time average as the reference, quietly."""
    import warnings

    import trajmodes
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return trajmodes.read(str(path), reference="average", species=["Cu"])


def count_parsed_frames(traj) -> list:
    """The frames ``traj``'s source parses from now on, one entry per read (the headers alone do not count)."""
    frames, read = [], traj.source.read

    def counting(fr, fields=None):
        frames.append(len(fr))
        return read(fr, fields)
    traj.source.read = counting
    return frames


def read_quiet(source, **kw):
    """``trajmodes.read`` without the warning about an assumed time step."""
    import warnings

    import trajmodes
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", trajmodes.UnitsWarning)
        return trajmodes.read(source, **kw)


def parse_dump_text(path) -> list[dict]:
    """Independent pure-Python parser of a (plain) dump: per frame, step and columns as float arrays
    (rows sorted by id)."""
    lines = Path(path).read_text().split("\n")
    frames, i = [], 0
    while i < len(lines):
        if lines[i].startswith("ITEM: TIMESTEP"):
            fr = {"step": int(lines[i + 1])}
            i += 2
            while not lines[i].startswith("ITEM: ATOMS"):
                if lines[i].startswith("ITEM: NUMBER OF ATOMS"):
                    n = int(lines[i + 1])
                if lines[i].startswith("ITEM: BOX BOUNDS"):
                    fr["box"] = np.array([[float(t) for t in lines[i + k].split()] for k in (1, 2, 3)])
                i += 1
            cols = lines[i].split()[2:]
            rows = np.array([[float(t) for t in lines[i + 1 + k].split()] for k in range(n)])
            rows = rows[np.argsort(rows[:, cols.index("id")])]
            fr.update({c: rows[:, j] for j, c in enumerate(cols)})
            frames.append(fr)
            i += 1 + n
        else:
            i += 1
    return frames


def stack(frames: list[dict], names) -> np.ndarray:
    """(n_frames, n_atoms, len(names)) array of the named columns."""
    return np.stack([np.stack([f[n] for n in names], axis=-1) for f in frames])
