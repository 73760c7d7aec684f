"""Frame source for the trajectory formats ASE reads: ab initio MD from VASP (OUTCAR, vasprun.xml, XDATCAR) and
Quantum ESPRESSO (pw.x output), ASE's own ``.traj``, extended XYZ variants, and every other format of ``ase.io``.

ASE, the Atomic Simulation Environment (Larsen et al., J. Phys.: Condens. Matter 29, 273002 (2017)), parses the
frames; this module serves them through the :class:`~trajmodes.io.trajectories.base.FrameSource` contract, so that they
become a lazy trajectory chunked over frames like any other. How a block of frames is read depends on the format:

``traj``
    ASE's own random access (:class:`ase.io.trajectory.TrajectoryReader`): any frame, directly.
text formats with a frame index (:data:`INDEXED`: ``vasp-out``, ``vasp-xml``, ``vasp-xdatcar``, ``espresso-out``,
``extxyz``, ``xyz``)
    The file is scanned once (memory-mapped, ``bytes.find``) for the byte range of every frame and of the header
    its frames need (the OUTCAR's header up to the first SCF iteration, vasprun.xml's parameters and atom list,
    XDATCAR's cell and species lines, pw.x's start-up summary); the index is saved beside the file (as the other
    readers' are, :func:`trajmodes.io.filesystem.save_index`). A read hands ASE the header and the text of at most
    :data:`RUN_BYTES` of frames at a time, so memory stays bounded whatever the file's size, and a chunk in the
    middle of the run is read without the frames before it.
any other format
    One sequential pass on opening (frame count, atoms, per-frame energy and stress, kept in memory); a read then
    streams ``ase.io.iread(path, index=slice(first, last + 1))``, a pass over the file up to the chunk's last
    frame (unless ASE's reader seeks, as for CP2K's DCD). Prefer one of the formats above for long runs, or
    convert once (``Trajectory.to_netcdf``).

What ASE does not read, the frame indexes read from the files' headers: the masses the program moved the atoms
with (VASP's POMASS, from the OUTCAR's ``Mass of Ions in am`` and vasprun.xml's ``atomtypes``; pw.x's ATOMIC_SPECIES
masses, from its start-up summary: :data:`MASS_FORMATS`), and the MD time step (VASP's POTIM when IBRION = 0;
pw.x's ``Time step = ... a.u.`` line, or for a restart, which prints none, the step that reproduces its ``time =
... pico-seconds`` lines, printed to 0.1 fs only; an ASE ``.traj`` written by ASE's molecular dynamics, the ``timestep``
in ASE time units and the ``interval`` between frames that the dynamics writes into the file's description). Times
given or read are checked against the velocities and displacements on opening, as the XYZ reader's are
(:func:`trajmodes.io.trajectories.times.time_scale`). The format modules build those indexes: which format a file is
and the index record, :mod:`trajmodes.io.trajectories.ase_formats`; VASP's OUTCAR, vasprun.xml and XDATCAR,
:mod:`trajmodes.io.trajectories.vasp_format`; pw.x output, :mod:`trajmodes.io.trajectories.espresso_format`. Each frame
ASE parses is checked against frame 0 (atom count, elements, the fields it carries) and written into a row of the output
arrays in trajmodes' units, from the results the file gave (ASE's single-point calculator, :func:`frame_results`).
Several files of one restarted run are joined by :class:`trajmodes.io.trajectories.restarts.RestartedRun`.

Units at the boundary: ASE's are already Å, eV and amu (positions, cells, forces in eV/Å, energies in eV).
Velocities are ASE's momenta / masses, in Å per ASE time unit sqrt(amu Å² / eV) = 10.18 fs, divided by
:data:`trajmodes.units.NATURAL_TIME_PS` to give Å/ps. ASE's stress is eV/Å³, positive under tension (Voigt order
xx yy zz yz xz xy); the pressure tensor is P = -stress x :data:`~trajmodes.units.EV_A3_GPA` GPa (LAMMPS' sign,
positive when compressed).
"""
from __future__ import annotations

import io
import mmap
import os
import warnings
from typing import NoReturn

import numpy as np

from trajmodes import units as _units
from trajmodes.errors import TrajectoryFormatError, TruncatedFrameWarning, UnitsWarning
from trajmodes.io.filesystem import (contiguous_runs, is_gzip, load_index, plain_path, pread_all, read_head,
                                     save_index)
from trajmodes.io.trajectories.ase_formats import PER_FRAME, FrameIndex, ase_format_of, guess_ase_format, index_xyz
from trajmodes.io.trajectories.base import (FRAME_FIELDS, FrameSource, empty_frames, pressure_from_tensor,
                                            read_time_scale, refuse_lammps_options, take_frame_fields,
                                            wanted_frame_fields)
from trajmodes.io.trajectories.espresso_format import PW_TIME_UNIT_PS, index_espresso
from trajmodes.io.trajectories.vasp_format import index_outcar, index_vasprun, index_xdatcar
from trajmodes.lattice.elements import masses_of

__all__ = ["ASESource", "INDEXED", "RUN_BYTES", "guess_ase_format"]

#: largest span of frame text handed to one ASE parse (the header comes on top), bytes: ASE's parsers hold the text
#: they are given several times over (as lines, as an XML tree), so a read's memory is a small multiple of this
RUN_BYTES = 4 << 20
#: ASE formats read through trajmodes' own frame index (the others: ``traj`` natively, the rest sequentially)
INDEXED = ("vasp-out", "vasp-xml", "vasp-xdatcar", "espresso-out", "extxyz", "xyz")
#: relative uncertainty of a time step recovered from a file's rounded times above which a warning asks for it
DT_RTOL = 1e-4
#: revision of the frame indexes saved beside the files (a new one rebuilds those saved before)
INDEX_REVISION = 3
#: ASE's energy results, force-consistent first (VASP's TOTEN; the same value as ``energy`` for most codes)
ENERGY_KEYS = ("free_energy", "energy")


class _NamedBytes(io.BytesIO):
    """Bytes handed to ASE as a file, with the ``name`` ASE's OUTCAR reader asks for (to find a CONTCAR beside it)."""

    def __init__(self, data: bytes, name: str):
        super().__init__(data)
        self.name = name


def _as_file(data: bytes, name: str, binary: bool):
    """A file object over ``data`` named ``name``: binary (for XML), or text decoded as Latin-1 (any byte is a
    character, so nothing fails to decode) and streamed, not copied into one string."""
    f = _NamedBytes(data, name)
    return f if binary else io.TextIOWrapper(f, encoding="latin-1")


#: formats whose files state the masses the program moved the atoms with, and where
MASS_FORMATS = {"vasp-out": "the OUTCAR's 'Mass of Ions in am' / POMASS lines",
                "vasp-xml": "the atomtypes mass column of vasprun.xml's atominfo",
                "espresso-out": "pw.x's 'atomic species valence mass' table"}
_TEXT_INDEXERS = {"vasp-out": index_outcar, "vasp-xml": index_vasprun, "vasp-xdatcar": index_xdatcar,
                  "espresso-out": index_espresso}


def frame_results(atoms) -> dict:
    """The results a file gave for a frame (ASE's single-point calculator), without computing anything."""
    calc = atoms.calc
    return dict(getattr(calc, "results", None) or {}) if calc is not None else {}


def _full_stress(s) -> np.ndarray:
    """A (3, 3) stress from ASE's Voigt six (xx yy zz yz xz xy) or a (3, 3) array."""
    s = np.asarray(s, float)
    if s.shape == (3, 3):
        return s
    if s.shape != (6,):
        raise ValueError(f"a stress of shape {s.shape}")
    xx, yy, zz, yz, xz, xy = s
    return np.array([[xx, xy, xz], [xy, yy, yz], [xz, yz, zz]])


# --------------------------------------------------------------------------------------------- the source
class ASESource(FrameSource):
    """A trajectory in any format ASE reads, served lazily in trajmodes' units.

    Parameters
    ----------
    path : str or os.PathLike
        The file (a gzipped text file is decompressed once into the cache folder, as for the other readers).
    ase_format : str, optional
        ASE's name of the format (``"vasp-out"``, ``"vasp-xml"``, ``"vasp-xdatcar"``, ``"espresso-out"``,
        ``"traj"``, ``"extxyz"``, ``"castep-md"``, ...); default: from the file's name (OUTCAR, vasprun.xml,
        XDATCAR, .traj, .pwo), else ASE's own guess (:func:`guess_ase_format`).
    md_timestep, frame_interval : float, optional
        In ps (:func:`trajmodes.io.trajectories.times.frame_times`). ``md_timestep`` needs MD step numbers: a VASP MD
        run's (IBRION = 0; its POTIM already gives the step), pw.x's ``Entering Dynamics: iteration``, XDATCAR's
        configuration numbers (taken as MD steps), or an ASE ``.traj`` whose description gives the ``interval`` the
        dynamics wrote frames at (its ``timestep`` already gives the step); otherwise give ``frame_interval``.
    species : sequence of str, optional
        Element of every atom, for formats that name none (ASE's ``X``, e.g. CP2K's DCD).
    masses : dict or sequence, optional
        amu, by element (``{"Si": 28.0855}``) or per atom. Default: the masses the file states (VASP's POMASS in an
        OUTCAR or vasprun.xml, pw.x's ATOMIC_SPECIES masses; an ASE ``.traj`` with masses set), else the standard
        atomic weights of the elements (with a warning for the formats that should state them).
    ase_kwargs : dict, optional
        Passed to ``ase.io.iread`` (e.g. ``{"ref_atoms": atoms, "aligned": True}`` for CP2K's DCD).

    Attributes
    ----------
    ase_format : str
        ASE's name of the format read.
    access : str
        ``"native"`` (``traj``), ``"indexed"`` (:data:`INDEXED`) or ``"sequential"`` (the others).
    fields : tuple of str
        ``positions``; ``velocities`` when the frames carry momenta (ASE ``.traj``, extended XYZ ``momenta``);
        ``forces`` when they carry forces. A field on frame 0 must be on every frame.
    frame_fields : tuple of str
        ``potential_energy`` (eV; ASE's force-consistent ``free_energy`` where the file gives it, e.g. VASP's
        TOTEN, else ``energy``); ``pressure_tensor`` and ``pressure`` (GPa, P = -stress) when frames carry a
        stress.
    masses_stated : bool
        Whether the masses are given or stated by the file (not the standard weights assumed).
    has_steps, steps_absolute : bool
        Whether the file numbers its MD steps, and whether it counts them from the start of the run across restarts
        (pw.x's ``iteration``; VASP counts each job's ionic steps anew).
    md_timestep_rtol : float
        The relative uncertainty of :attr:`md_timestep` (0 unless recovered from pw.x's rounded times).

    Notes
    -----
    Atoms keep the file's order (``ids`` 1..n). Positions are as the code wrote them (VASP wraps them into the cell):
    displacements are minimum-image differences, so that does not matter. A frame whose atom count,
    elements, or set of fields differs from frame 0's raises :class:`~trajmodes.errors.TrajectoryFormatError` naming
    the file and the frame, as does text ASE cannot parse; a truncated last frame is dropped with a
    :class:`~trajmodes.errors.TruncatedFrameWarning`.
    """

    unwrapped = False
    units = "metal"
    #: ``format="ase"`` (ASE guesses the format) or ``format="ase:<ASE format>"`` (e.g. ``"ase:vasp-out"``)
    format_names = ("ase",)
    needs = ("a format ASE reads needs its name or first bytes to say it (VASP OUTCAR, vasprun.xml, XDATCAR; pw.x "
             "output; ASE .traj)")

    @classmethod
    def takes(cls, fmt: str) -> bool:
        return fmt == "ase" or fmt.startswith("ase:")

    @classmethod
    def can_open(cls, head: bytes, path: str) -> bool:
        """A file ASE reads, known by its name or first bytes (:func:`~trajmodes.io.trajectories.ase_formats.
        ase_format_of`); imports nothing from ASE."""
        return ase_format_of(path, head) is not None

    @classmethod
    def format_name(cls, head: bytes, path: str) -> str:
        return f"ase:{ase_format_of(path, head)}"

    @classmethod
    def from_options(cls, paths: list[str], fmt: str, format: str | None = None, *, units: str | None = None,
                     lj_scales=None, md_timestep: float | None = None, frame_interval: float | None = None,
                     species=None, masses=None, **options) -> FrameSource:
        """One file, or the files of one restarted run, each in the ASE format of ``fmt`` (``ase:<ASE format>``,
        or ``ase``: ASE guesses), joined by :class:`~trajmodes.io.trajectories.restarts.RestartedRun` (which states
        the time axis: the files' own warnings about it are left to it)."""
        refuse_lammps_options(paths[0], fmt, options)
        if units not in (None, "metal") or lj_scales:
            raise ValueError(f"{paths[0]}: ASE gives Angstrom, eV and amu (converted at the boundary); units= and "
                             "lj_scales= do not apply to ASE formats")
        ase_format = fmt.partition(":")[2] or None
        if len(paths) == 1:
            return cls(paths[0], ase_format=ase_format, md_timestep=md_timestep, frame_interval=frame_interval,
                       species=species, masses=masses)
        from trajmodes.io.trajectories.restarts import RestartedRun
        parts = []
        for p in paths:
            if format is None:
                found = ase_format_of(p, read_head(p))
                other = f"ase:{found}" if found else "of no format ASE reads by its name or first bytes"
            else:
                other = fmt
            if other.partition(":")[2] != fmt.partition(":")[2]:
                raise TrajectoryFormatError(p, f"it is {other}, the first file ({paths[0]}) {fmt}",
                                            fix="Join only the files of one run, all of one format")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UnitsWarning)
                parts.append(cls(p, ase_format=ase_format, md_timestep=md_timestep, frame_interval=frame_interval,
                                 species=species, masses=masses))
        return RestartedRun(parts, md_timestep=md_timestep, frame_interval=frame_interval)

    def __init__(self, path, *, ase_format: str | None = None, md_timestep: float | None = None,
                 frame_interval: float | None = None, species=None, masses=None, ase_kwargs: dict | None = None):
        from importlib.util import find_spec
        if find_spec("ase") is None:  # pragma: no cover
            raise ImportError("reading this format needs ASE: pip install 'ase>=3.22'")
        self.path = os.path.abspath(os.fspath(path))
        self.paths = [self.path]
        if not os.path.isfile(self.path):
            raise TrajectoryFormatError(self.path, "file does not exist", fix="check the path and the working directory")
        if os.path.getsize(self.path) == 0:
            raise TrajectoryFormatError(self.path, "the file is empty", fix="check that the run wrote this file")
        self.ase_format = self._check_format(ase_format or guess_ase_format(self.path))
        self.format = f"ASE {self.ase_format}"
        self.ase_kwargs = dict(ase_kwargs or {})
        self._gz = self.ase_format in INDEXED and is_gzip(self.path)
        self.access = ("native" if self.ase_format == "traj" else
                       "indexed" if self.ase_format in INDEXED else "sequential")
        self._frame_data: dict = {}
        self._index: FrameIndex | None = None
        self._description: dict = {}
        if self.access == "native":
            first, last = self._open_traj()
        elif self.access == "indexed":
            first, last = self._open_indexed()
        else:
            first, last = self._open_sequential()
        self._setup(first, species, masses)
        if self.access == "indexed":
            self._check_last()
        elif last is not None:
            self._check_frame(last, self.n_frames - 1)
        self._times(md_timestep, frame_interval)
        self._check_time_scale()

    # ------------------------------------------------------------------ opening
    def _check_format(self, fmt: str) -> str:
        from ase.io.formats import ioformats
        fmt = str(fmt).lower()
        if fmt not in ioformats:
            close = [n for n in ioformats if fmt in n or n in fmt][:6]
            raise ValueError(f"{self.path}: {fmt!r} is not a format ASE knows" +
                             (f" (similar: {', '.join(close)})" if close else "") +
                             "; ase.io.formats.ioformats lists them, e.g. 'vasp-out', 'vasp-xml', 'espresso-out'")
        if not ioformats[fmt].can_read:
            raise ValueError(f"{self.path}: ASE cannot read the {fmt!r} format, only write it")
        return fmt

    @property
    def data_path(self) -> str:
        """The file actually read (the decompressed copy of a gzipped text file)."""
        return plain_path(self.path) if self._gz else self.path

    def _fail(self, what: str, frame: int | None, exc: BaseException | None = None,
              fix: str | None = None) -> NoReturn:
        """Raise :class:`TrajectoryFormatError` naming the file and ``frame`` (with ``exc``, ASE's complaint)."""
        why = "" if exc is None else f" ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"
        raise TrajectoryFormatError(self.path, what + why, frame=frame,
                                    fix=fix or "The file is damaged or truncated there, or not of the format "
                                               f"{self.ase_format!r}: check it, or give format='ase:<format>'"
                                    ) from None

    def _open_traj(self):
        from ase.io.trajectory import TrajectoryReader
        try:
            with TrajectoryReader(self.path) as r:
                #: what ASE's MD wrote into the file's header (its dynamics' todict(): md-type, timestep, interval)
                self._description = dict(getattr(r, "description", None) or {})
                n = len(r)
                if n == 0:
                    self._fail("the ASE trajectory holds no frame", 0)
                first = self._traj_frame(r, 0)
                good = n
                try:
                    last = r[n - 1]
                except Exception:
                    good, last = self._readable_prefix(r, n)
        except TrajectoryFormatError:
            raise
        except Exception as exc:
            self._fail("ASE cannot open this trajectory", None, exc)
        if good < n:
            warnings.warn(f"{self.path}: frames {good}..{n - 1} cannot be read (truncated file) and were dropped",
                          TruncatedFrameWarning, stacklevel=4)
        self.n_frames = good
        return first, last

    def _traj_frame(self, r, k: int):
        try:
            return r[k]
        except Exception as exc:
            self._fail("ASE cannot read this frame of the trajectory", k, exc)

    def _readable_prefix(self, r, n: int):
        """The number of frames that can be read (bisection: a truncated file loses its last ones) and the last."""
        lo, hi = 0, n - 1          # frame lo is readable, frame hi is not
        while hi - lo > 1:
            mid = (lo + hi) // 2
            try:
                r[mid]
                lo = mid
            except Exception:
                hi = mid
        return lo + 1, r[lo]

    def _open_indexed(self):
        dp = self.data_path
        kind = f"ase-{self.ase_format}-{INDEX_REVISION}"
        idx = load_index(dp, kind)
        if idx is None:
            if self.ase_format in ("extxyz", "xyz"):
                idx = index_xyz(dp, self.path)
            else:
                with open(dp, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
                    idx = _TEXT_INDEXERS[self.ase_format](mm, self.path)
            save_index(dp, kind, **idx)
        self._index = FrameIndex({k: (np.asarray(v) if np.ndim(v) else v.item() if hasattr(v, "item") else v)
                              for k, v in idx.items() if k not in ("version", "kind", "size", "mtime_ns")})
        n = len(self._index["starts"])
        if int(self._index["truncated"]) >= 0:
            warnings.warn(f"{self.path}: frame {int(self._index['truncated'])} is incomplete (truncated file) and "
                          "was dropped", TruncatedFrameWarning, stacklevel=4)
        if n == 0:
            self._fail(f"no complete frame (ASE {self.ase_format})", 0, fix="Check that the run wrote at least one "
                                                                           "complete step")
        self.n_frames = n
        return self._parse_run(np.array([0]))[0], None

    def _check_last(self) -> None:
        """Parse and check the last frame of an indexed file; one that cannot be read, or lacks what frame 0 has (the
        file ends inside its forces, say), is dropped with a :class:`TruncatedFrameWarning`."""
        k = self.n_frames - 1
        if k < 1:
            return
        try:
            self._check_frame(self._parse_run(np.array([k]))[0], k)
        except TrajectoryFormatError as exc:
            warnings.warn(f"{self.path}: frame {k} cannot be read ({exc.what}) and was dropped: the file is probably "
                          "truncated", TruncatedFrameWarning, stacklevel=5)
            self.n_frames = k
            self._index = FrameIndex({key: (v[:k] if key in PER_FRAME else v) for key, v in self._index.items()})

    def _open_sequential(self):
        """One pass over the file: frame count, atoms, fields, and the per-frame energy and stress (kept)."""
        first, last, n = None, None, 0
        energy, stress = [], []
        for k, atoms in self._iread(slice(None)):
            if k == 0:
                first = atoms
                self._setup(atoms, None, None)
            else:
                self._check_frame(atoms, k)
            res = frame_results(atoms)
            energy.append(self._energy_of(res, k) if "potential_energy" in self.frame_fields else np.nan)
            stress.append(self._stress_of(res, k) if "pressure_tensor" in self.frame_fields else None)
            last, n = atoms, k + 1
        if n == 0:
            self._fail(f"ASE finds no frame in this file (format {self.ase_format})", 0)
        self.n_frames = n
        if "potential_energy" in self.frame_fields:
            self._frame_data["potential_energy"] = np.asarray(energy, float)
        if "pressure_tensor" in self.frame_fields:
            t = np.asarray(stress, float)
            self._frame_data["pressure_tensor"] = t
            self._frame_data["pressure"] = pressure_from_tensor(t)
        return first, (last if n > 1 else None)

    def _setup(self, atoms, species, masses) -> None:
        """Atoms, fields and per-frame quantities from frame 0."""
        self.n_atoms = len(atoms)
        if self.n_atoms == 0:
            self._fail("frame 0 has no atoms", 0)
        self._numbers = np.asarray(atoms.numbers).copy()
        sp = np.asarray(atoms.get_chemical_symbols(), dtype=str)
        if species is not None:
            given = np.asarray(list(species.values()) if isinstance(species, dict) else species, dtype=str)
            if isinstance(species, dict) or len(given) != self.n_atoms:
                raise ValueError(f"{self.path}: species= must name the element of each of the {self.n_atoms} atoms "
                                 "(ASE formats have no LAMMPS types)")
            sp = given
        self.species = sp
        self.masses = self._masses(atoms, masses)
        self.ids = np.arange(1, self.n_atoms + 1)
        cell = np.asarray(atoms.cell.array, float)
        pbc = np.asarray(atoms.pbc, bool).reshape(-1)
        spans = bool(abs(np.linalg.det(cell)) > 1e-12)
        if spans and pbc.any() and not pbc.all():
            self._fail(f"the cell is periodic along some axes only (pbc {pbc.tolist()}: a slab or a wire), which "
                       "trajmodes does not take", 0, fix="Give a cell periodic along all three axes (pbc=\"T T T\" in "
                       "an extended XYZ), or none (a cluster)")
        # a cell that is not periodic (ASE's pbc False: a molecule or cluster in a box) is no crystal's cell
        self.has_cell = spans and bool(pbc.all())
        res = frame_results(atoms)
        f = ["positions"]
        if atoms.has("momenta"):
            f.append("velocities")
        if res.get("forces") is not None:
            f.append("forces")
        self.fields = tuple(f)
        self._energy_key = next((k for k in ENERGY_KEYS if res.get(k) is not None), None)
        ff = []
        if self._energy_key is not None:
            ff.append("potential_energy")
        if res.get("stress") is not None:
            ff += ["pressure", "pressure_tensor"]
        self.frame_fields = tuple(x for x in FRAME_FIELDS if x in ff)

    def _masses(self, atoms, masses) -> np.ndarray | None:
        """The masses: given, else those the file states (:data:`MASS_FORMATS`; an ASE ``.traj`` with masses set),
        else the standard atomic weights. Sets :attr:`masses_stated`."""
        self.masses_stated = True
        if masses is not None:
            if isinstance(masses, dict):
                try:
                    return np.array([float(masses[s]) for s in self.species])
                except KeyError as exc:
                    raise ValueError(f"{self.path}: masses= has no mass for {exc.args[0]!r}") from None
            m = np.asarray(masses, float).ravel()
            if m.shape != (self.n_atoms,):
                raise ValueError(f"{self.path}: masses= must give one mass per atom ({self.n_atoms}) or a dict by "
                                 "element")
            return m
        stated = self._index["masses"] if self._index is not None else np.zeros(0)
        if len(stated) == self.n_atoms:
            return np.asarray(stated, float).copy()
        if self.ase_format in MASS_FORMATS:
            warnings.warn(f"{self.path}: {MASS_FORMATS[self.ase_format]} not found, so the masses the run used are "
                          "unknown: the standard atomic weights are used. Pass masses= (--masses) if the run set "
                          "others", UserWarning, stacklevel=5)
        if "masses" in atoms.arrays:
            return np.asarray(atoms.arrays["masses"], float).copy()
        self.masses_stated = False
        uniq, inv = np.unique(self.species, return_inverse=True)
        m = masses_of(uniq)
        return None if m is None else m[inv]

    def _times(self, md_timestep, frame_interval) -> None:
        from trajmodes.io.trajectories.times import frame_times
        idx = self._index
        steps = None if idx is None or (idx["steps"] < 0).any() else np.asarray(idx["steps"], np.int64)
        dt = np.nan if idx is None else float(idx["dt"])
        found = (dt, str(idx["dt_note"])) if np.isfinite(dt) else None
        file_times = None if idx is None or found is not None or not np.isfinite(idx["times"]).all() else \
            idx["times"]
        md = self._md_description()
        if md is not None:                  # ASE's MD wrote its time step and interval: frame k is MD step k x interval
            dt, interval, note = md
            steps, found = np.arange(self.n_frames, dtype=np.int64) * interval, (dt, note)
        self.has_steps = steps is not None
        self.steps = steps if self.has_steps else np.arange(self.n_frames)
        #: pw.x counts MD steps from the start of the run, restarts included (VASP and XDATCAR from each job's)
        self.steps_absolute = self.has_steps and self.ase_format == "espresso-out"
        axis = frame_times(self.path, self.steps, file_times, what_in_file="pw.x's 'time = ... pico-seconds'",
                           md_timestep=md_timestep, frame_interval=frame_interval, found=found,
                           has_steps=self.has_steps, stacklevel=5)
        self.times, self.md_timestep, self.time_axis = axis.times, axis.md_timestep, axis.source
        from_file = found is not None and self.md_timestep == found[0]
        #: relative uncertainty of md_timestep (a time step recovered from pw.x's rounded times; else 0)
        self.md_timestep_rtol = float(idx["dt_unc"]) if from_file and idx is not None else 0.0
        #: where md_timestep comes from, in words
        self.md_timestep_source = found[1] if from_file else self.time_axis
        if self.md_timestep_rtol > DT_RTOL:
            warnings.warn(f"{self.path}: the MD time step comes from {found[1]}: pw.x prints no 'Time step' line "
                          "when it resumes a run, and its 'time = ... pico-seconds' lines have 0.1 fs. Give "
                          f"md_timestep=<ps> (--md-timestep; pw.x's dt x {PW_TIME_UNIT_PS:.6e} ps): every frequency "
                          "scales with it", UnitsWarning, stacklevel=5)
        if md is None and self._description_dt() is not None and md_timestep is None \
                and frame_interval is None and self.n_frames > 1:
            warnings.warn(f"{self.path}: the trajectory's description ({self._described()}) gives the MD time step, "
                          f"{self._description_dt() * 1e3:g} fs, but not how many steps lie between frames (no "
                          "'interval': an older ASE, or frames written by an observer of the user's own): give "
                          "frame_interval=<ps> (--frame-interval), the time step x the interval the frames were "
                          "written at", UnitsWarning, stacklevel=5)

    def _description_dt(self) -> float | None:
        """The MD time step (ps) of the ``.traj`` description (ASE's ``timestep``, in ASE's time unit
        sqrt(amu Å²/eV) = :data:`trajmodes.units.NATURAL_TIME_PS` ps), or None."""
        try:
            dt = float(self._description.get("timestep"))
        except (TypeError, ValueError):
            return None
        return dt * _units.NATURAL_TIME_PS if np.isfinite(dt) and dt > 0 else None

    def _described(self) -> str:
        """The description's MD keys in words."""
        d = self._description
        return ", ".join(f"{k} {d[k]:.6g}" if isinstance(d[k], float) else f"{k} {d[k]!r}"
                         for k in ("md-type", "timestep", "interval") if k in d)

    def _md_description(self) -> tuple | None:
        """(md_timestep ps, MD steps between frames, in words) from what ASE's molecular dynamics writes into a
        ``.traj`` it was given (``trajectory=`` of ``VelocityVerlet``, ``Langevin``, ``NVTBerendsen``, ...): the
        header's description ``{'type': 'molecular-dynamics', 'md-type': ..., 'timestep': <ASE time units>,
        'interval': <loginterval>}`` (ASE 3.23 on); None without both numbers (frames written by ``dyn.attach(traj.
        write, interval=k)``, whose file has no description)."""
        if self.ase_format != "traj" or not getattr(self, "_description", None):
            return None
        dt = self._description_dt()
        try:
            interval = int(self._description.get("interval"))
        except (TypeError, ValueError):
            return None
        if dt is None or interval < 1 or interval != self._description.get("interval"):
            return None
        return dt, interval, (f"the ASE trajectory's description ({self._described()}: ASE time units, "
                              f"{dt * 1e3:.4g} fs, a frame every {interval} MD steps)")

    #: the time-scale check on opening reads frames spread over the file besides the first consecutive ones (fewer for
    #: large frames), as the XYZ reader's (:class:`~trajmodes.io.trajectories.xyz.XYZSource`)
    SCALE_SPREAD, SCALE_ATOM_LINES = 8, 4_000_000

    def _check_time_scale(self) -> None:
        """The frame times against the velocities (ASE's momenta / masses) and the frames' displacements
        (:func:`trajmodes.io.trajectories.times.time_scale`, the first consecutive frames as
        :func:`~trajmodes.io.trajectories.times.interval_frames` sizes them), as the XYZ reader checks them: a time
        axis off by a factor (``frame_interval=0.001`` for frames 10 fs apart; a ``.traj`` whose frames were written at
        another interval than its description says) is refused, naming the ratio and what to give instead; the time
        axis notes the result. A sequentially read format is checked on its first frames only (a spread of frames
        would cost a pass over the file)."""
        n = self.n_frames
        if self._index is not None:
            frame_bytes = np.asarray(self._index["ends"], float) - np.asarray(self._index["starts"], float)
        else:
            frame_bytes = np.full(n, os.path.getsize(self.path) / max(n, 1))
        got = read_time_scale(self, frame_bytes, spread=self.SCALE_SPREAD if self.access != "sequential" else 0,
                              atom_lines=self.SCALE_ATOM_LINES)
        if got is None:
            return
        what = got.mismatch()
        if what is None:
            return
        if not got.disagrees:
            # the frequency alone is off: ASE's units are stated (A, eV, amu; momenta), so this is said, not refused
            warnings.warn(f"{self.path}: {what}, in ASE's units (momenta / masses in A per ASE time unit)",
                          UnitsWarning, stacklevel=5)
            return
        raise TrajectoryFormatError(self.path, what, fix=self._time_scale_fix())

    def _time_scale_fix(self) -> str:
        """What to do about frame times that disagree with the velocities."""
        md = self._md_description()
        if md is not None and self.time_axis.startswith("MD steps x timestep"):
            return (f"The frames are {md[0] * md[1]:g} ps apart by the ASE description of the file; if they were "
                    "written at another interval (an observer of your own beside the dynamics' trajectory=), give "
                    "frame_interval=<ps between frames> (--frame-interval)")
        return (f"The frame times come from the {self.time_axis}: md_timestep= and frame_interval= are in ps (10 fs "
                "is 0.01; ASE's timestep=2*units.fs is 0.002 ps, and frames written every 5 steps are 0.01 ps "
                "apart). Give the right one" + (", or none: the file's description gives them" if md is not None
                                               else ""))

    # ------------------------------------------------------------------ ASE calls
    def _iread(self, index):
        """(frame number, Atoms) from ``ase.io.iread`` over the whole file (sequential access)."""
        import ase.io
        k = (index.start or 0) if isinstance(index, slice) else 0
        try:
            for atoms in ase.io.iread(self.path, index=index, format=self.ase_format, parallel=False,
                                      **self.ase_kwargs):
                yield k, atoms
                k += 1
        except TrajectoryFormatError:
            raise
        except Exception as exc:
            self._fail(f"ASE ({self.ase_format}) cannot read this frame", k, exc)

    def _text(self, fd: int, lo: int, hi: int) -> bytes:
        return pread_all(fd, hi - lo, lo) if hi > lo else b""

    def _parse_run(self, frames: np.ndarray) -> list:
        """ASE's Atoms of consecutive ``frames`` (back to back in the file), parsed from their text and the header."""
        import ase.io
        idx = self._index
        a, b = int(frames[0]), int(frames[-1])
        with open(self.data_path, "rb") as f:
            fd = f.fileno()
            g = int(idx["group"][a])
            head = self._text(fd, int(idx["head_lo"][g]), int(idx["head_hi"][g])) if idx["need_head"][a] else b""
            body = self._text(fd, int(idx["starts"][a]), int(idx["ends"][b]))
        tail = b"\n</modeling>\n" if self.ase_format == "vasp-xml" else b""
        fobj = _as_file(head + body + tail, self.data_path, binary=self.ase_format == "vasp-xml")
        del head, body
        out = []
        try:
            for atoms in ase.io.iread(fobj, index=":", format=self.ase_format, parallel=False, **self.ase_kwargs):
                out.append(atoms)
        except Exception as exc:
            for k in range(a, b) if b > a else ():      # find the frame that fails, to name it
                self._parse_run(np.array([k]))
            self._fail(f"ASE ({self.ase_format}) cannot parse this frame", b, exc)
        if len(out) != b - a + 1:
            self._fail(f"ASE ({self.ase_format}) finds {len(out)} frame(s) in the text of frames {a}..{b}, the frame "
                       f"index {b - a + 1}", a, fix="The file changed or is damaged there: remove its index "
                                                    "(.NAME.tmidx.npz) and read it again, or check the file")
        return out

    def read(self, frames, fields=None) -> dict:
        """Read frames by index (ascending); see :meth:`FrameSource.read`.

        Returns positions (Å), velocities (Å/ps), forces (eV/Å), cells (Å, rows a, b, c; NaN without a cell) and
        origins (zeros), atoms in the file's order; and the :attr:`frame_fields` asked for (eV, GPa).
        """
        frames = np.asarray(frames, dtype=np.int64).ravel()
        if len(frames) and (frames.min() < 0 or frames.max() >= self.n_frames):
            raise IndexError(f"frames must lie in 0..{self.n_frames - 1}")
        per_frame = wanted_frame_fields(self, fields)
        if self.access == "sequential":
            stored = take_frame_fields(self._frame_data, frames, per_frame)
            if stored and fields is not None and not set(self.fields) & set(fields):
                return stored
        per_atom = self.fields if fields is None else tuple(f for f in self.fields if f in fields)
        todo = per_frame if self.access != "sequential" else ()
        out = empty_frames(len(frames), self.n_atoms, tuple(dict.fromkeys(("positions",) + per_atom + todo)))
        if self.access == "sequential":
            out.update(stored)
        if not len(frames):
            return out
        if self.access == "native":
            from ase.io.trajectory import TrajectoryReader
            with TrajectoryReader(self.path) as r:
                for i, k in enumerate(frames.tolist()):
                    self._fill(self._traj_frame(r, k), k, i, out, per_atom, todo)
        elif self.access == "indexed":
            idx = self._index
            for i0, i1 in contiguous_runs(frames, idx["starts"], idx["ends"], idx["group"], max_bytes=RUN_BYTES):
                for j, atoms in enumerate(self._parse_run(frames[i0:i1])):
                    self._fill(atoms, int(frames[i0 + j]), i0 + j, out, per_atom, todo)
        else:
            want = {int(k): i for i, k in enumerate(frames.tolist())}
            for k, atoms in self._iread(slice(int(frames[0]), int(frames[-1]) + 1)):
                if k in want:
                    self._fill(atoms, k, want[k], out, per_atom, todo)
        return out

    def token(self) -> tuple:
        """(class name, abs path, size, mtime_ns, ASE format, ASE keyword names)."""
        st = os.stat(self.path)
        return (type(self).__name__, self.path, st.st_size, st.st_mtime_ns, self.ase_format,
                tuple(sorted(self.ase_kwargs)))

    # -- each frame ASE parsed: checked against frame 0 and converted

    def _check_frame(self, atoms, k: int) -> None:
        """The atoms and the fields of frame ``k`` are those of frame 0."""
        if len(atoms) != self.n_atoms:
            self._fail(f"atom count changed from {self.n_atoms} to {len(atoms)}", k,
                       fix="trajmodes needs a fixed set of atoms; split the trajectory where the count changes")
        numbers = np.asarray(atoms.numbers)
        if not np.array_equal(numbers, self._numbers):
            i = int(np.flatnonzero(numbers != self._numbers)[0])
            from ase.data import chemical_symbols
            self._fail(f"species changed: atom {i + 1} is {chemical_symbols[numbers[i]]!r}, frame 0 had "
                       f"{chemical_symbols[self._numbers[i]]!r}", k, fix="trajmodes needs the same atoms in every "
                                                                          "frame")
        res = frame_results(atoms)
        if "forces" in self.fields:
            f = res.get("forces")
            if f is None:
                self._fail("this frame has no forces, frame 0 has", k, fix="Every frame must carry forces to fit "
                                                                           "force constants: drop the frames without "
                                                                           "(slice the trajectory) or rewrite the file")
            if np.shape(f) != (self.n_atoms, 3):
                self._fail(f"this frame has forces of shape {np.shape(f)} for {self.n_atoms} atoms", k)
        if "velocities" in self.fields and not atoms.has("momenta"):
            self._fail("this frame has no momenta (velocities), frame 0 has", k,
                       fix="Drop the frames without or rewrite the file")
        if "potential_energy" in self.frame_fields:
            self._energy_of(res, k)
        if "pressure_tensor" in self.frame_fields:
            self._stress_of(res, k)

    def _energy_of(self, res: dict, k: int) -> float:
        e = res.get(self._energy_key)
        if e is None:
            self._fail(f"this frame has no {self._energy_key}, frame 0 has", k, fix="Drop the frames without")
        return float(e)

    def _stress_of(self, res: dict, k: int) -> np.ndarray:
        s = res.get("stress")
        if s is None:
            self._fail("this frame has no stress, frame 0 has", k, fix="Drop the frames without")
        if np.shape(s) not in ((6,), (3, 3)):
            self._fail(f"this frame has a stress of shape {np.shape(s)}", k)
        return -_full_stress(s) * _units.EV_A3_GPA

    def _fill(self, atoms, k: int, i: int, out: dict, per_atom: tuple, per_frame: tuple) -> None:
        """Frame ``k`` (ASE's Atoms, checked) into row ``i`` of the output arrays, converted to trajmodes' units."""
        self._check_frame(atoms, k)
        out["positions"][i] = atoms.positions
        if self.has_cell:
            out["cells"][i] = atoms.cell.array
        res = frame_results(atoms)
        if "forces" in per_atom:
            out["forces"][i] = res["forces"]
        if "velocities" in per_atom:
            out["velocities"][i] = atoms.get_velocities() / _units.NATURAL_TIME_PS   # A per ASE time unit -> A/ps
        if "potential_energy" in per_frame:
            out["potential_energy"][i] = self._energy_of(res, k)
        if "pressure_tensor" in per_frame or "pressure" in per_frame:
            t = self._stress_of(res, k)
            if "pressure_tensor" in out:
                out["pressure_tensor"][i] = t
            if "pressure" in out:
                out["pressure"][i] = np.trace(t) / 3.0
