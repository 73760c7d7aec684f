"""Readers: LAMMPS dumps, (extended) XYZ, trajmodes' netCDF cache, every MDAnalysis format, and every ASE format (VASP,
Quantum ESPRESSO, ASE .traj, ...)."""
from __future__ import annotations

import glob
import os

from trajmodes.errors import TrajectoryFormatError
from trajmodes.lattice.structure import Structure
from trajmodes.io.base import FrameSource
# BOM, compression_of and byte_order_mark_error are imported from here too (their home: files, which the readers
# share without importing this package's __init__)
from trajmodes.io.files import BOM, byte_order_mark_error, compression_of

_LAMMPS = ("lammps", "lammps-dump", "lammpsdump", "dump", "lammpstrj")
_XYZ = ("xyz", "extxyz")
_NETCDF = ("nc", "netcdf", "trajmodes")
#: ``format="ase"`` (ASE guesses the format) or ``format="ase:<ASE format>"`` (e.g. ``"ase:vasp-out"``)
ASE_PREFIX = "ase"


_GZIP = b"\x1f\x8b"


def _head(path: str, n: int = 4096) -> bytes:
    """The first ``n`` bytes of the file's content, gzip decompressed.

    Raises
    ------
    TrajectoryFormatError
        For an empty file, a file compressed twice, or gzip data that cannot be decompressed at all.
    """
    import zlib
    _require_regular(path)
    with open(path, "rb") as f:
        raw = f.read(max(n, 1 << 16))
    if not raw:
        raise TrajectoryFormatError(path, "the file is empty", fix="Check that the run wrote it completely")
    if raw[:2] != _GZIP:
        return raw[:n]
    d = zlib.decompressobj(wbits=31)
    try:
        head = d.decompress(raw, n)
    except zlib.error as exc:
        raise TrajectoryFormatError(path, f"the gzip data are damaged ({exc})",
                                    fix="Copy the file again from where it was made") from None
    if not head:
        raise TrajectoryFormatError(path, "the gzip data hold no text (truncated or damaged)",
                                    fix="Copy the file again from where it was made") from None
    if head[:2] == _GZIP:
        raise TrajectoryFormatError(path, "the file is compressed twice (gzip inside gzip)",
                                    fix="Decompress it once: gunzip -c FILE > FILE_ONCE.gz (or rename it and "
                                        "gunzip it once)")
    return head


def _own_text_format(text: bytes) -> bool:
    """Whether ``text`` starts like a LAMMPS dump (an ``ITEM:`` line) or an XYZ file (an atom count line)."""
    text = text.lstrip()
    return text.startswith(b"ITEM") or text.split(b"\n", 1)[0].strip().isdigit()


def _refuse_unreadable(path: str, head: bytes) -> None:
    """Refuse, saying what it is, a file compressed in a way trajmodes does not read, or a LAMMPS dump or XYZ file
    that starts with a UTF-8 byte-order mark."""
    packed = compression_of(head)
    if packed is not None:
        raise TrajectoryFormatError(path, f"it is {packed[0]}", fix=packed[1])
    if head.startswith(BOM) and _own_text_format(head[3:]):
        raise byte_order_mark_error(path, head[3:])


def _is_netcdf(head: bytes) -> bool:
    return head[:3] == b"CDF" or head[:8] == b"\x89HDF\r\n\x1a\n"


def _why_not(head: bytes) -> list[str]:
    """Why ``head`` is none of trajmodes' own formats, one reason per format."""
    if _is_netcdf(head):
        return ["it is a netCDF/HDF5 file without trajmodes' format attribute, so not a trajmodes cache"]
    if head.startswith(BOM):
        return ["the file starts with a UTF-8 byte-order mark (bytes EF BB BF): save it without one (e.g. sed -i "
                "'1s/^\\xEF\\xBB\\xBF//' FILE)"] + _why_not(head[3:])
    text = head.lstrip()
    first = text.split(b"\n", 1)[0].strip()[:60].decode("utf-8", "replace")
    printable = sum(32 <= c < 127 or c in (9, 10, 13) for c in head[:512]) / max(len(head[:512]), 1)
    if printable < 0.9:
        return ["it is binary, not text, so not a LAMMPS dump or XYZ file",
                "it has no netCDF/HDF5 header, so not a trajmodes netCDF cache"]
    return [f"its first line {first!r} is not 'ITEM: TIMESTEP' (or another 'ITEM:' line), so not a LAMMPS dump",
            "its first line is not an atom count, so not an XYZ file",
            "it has no netCDF/HDF5 header, so not a trajmodes netCDF cache"]


#: the first bytes of ASE's binary trajectories (ASE's own magic strings of its ``traj`` format)
_ASE_TRAJ_MAGIC = (b"- of UlmASE-Trajectory", b"AFFormatASE-Trajectory")


def ase_format_of(path: str, head: bytes) -> str | None:
    """The ASE format of a file from its name (OUTCAR, vasprun.xml, XDATCAR, .traj, .pwo) or its first bytes (ASE's
    trajectory header, pw.x's ``Program PWSCF``, VASP's ``<modeling>`` XML or XDATCAR ``Direct configuration=``), or
    None. Imports nothing from ASE."""
    from trajmodes.io.ase_formats import name_format
    fmt = name_format(path)
    if fmt is not None:
        return fmt
    if head.startswith(_ASE_TRAJ_MAGIC):
        return "traj"
    if b"Program PWSCF" in head:
        return "espresso-out"
    if b"<modeling>" in head and b"vasp" in head.lower():
        return "vasp-xml"
    lines = head.split(b"\n", 8)
    if len(lines) > 7 and lines[7].lstrip().startswith(b"Direct configuration="):
        return "vasp-xdatcar"
    return None


def sniff(path: str) -> str:
    """Guess the format of ``path`` from its name and first bytes: lammps, xyz, netcdf, ``ase:<ASE format>`` (VASP
    OUTCAR, vasprun.xml and XDATCAR, pw.x output, ASE .traj: :func:`ase_format_of`) or mdanalysis.

    Raises
    ------
    TrajectoryFormatError
        For files that no reader can take: empty, compressed twice, or damaged gzip data.
    """
    head = _head(path)
    _refuse_unreadable(path, head)
    if _is_netcdf(head):
        from trajmodes.io.netcdf import CACHE_FIX, describe_netcdf, netcdf_kind
        kind = netcdf_kind(path)
        if kind is None:
            raise TrajectoryFormatError(path, "netCDF cannot open this netCDF/HDF5 file",
                                        fix="It is truncated or damaged: write or copy it again")
        if kind == "trajmodes":
            return "netcdf"
        ours, what = describe_netcdf(path) or (False, "")
        if ours:                                    # trajmodes' force constants, series, ...: no trajectory
            raise TrajectoryFormatError(path, f"it is {what}, not a trajectory", fix=CACHE_FIX)
        return "mdanalysis"
    text = head.lstrip()
    if text.startswith(b"ITEM:"):
        return "lammps"
    ase_fmt = ase_format_of(path, head)
    if ase_fmt is not None:
        return f"{ASE_PREFIX}:{ase_fmt}"
    lines = text.split(b"\n", 3)
    first = lines[0].strip()
    if first.isdigit() or _number(first) and len(lines) > 2 and len(lines[2].split()) >= 4:
        return "xyz"                                # a float atom count: the XYZ reader names the line
    return "mdanalysis"


def _number(token: bytes) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _is_ase(fmt: str) -> bool:
    return fmt == ASE_PREFIX or fmt.startswith(ASE_PREFIX + ":")


def _ase_source(path: str, fmt: str, *, units, lj_scales, md_timestep, frame_interval, species, masses):
    """An :class:`~trajmodes.io.ase_reader.ASESource` for ``format="ase"`` or ``"ase:<ASE format>"``."""
    if units not in (None, "metal") or lj_scales:
        raise ValueError(f"{path}: ASE gives Angstrom, eV and amu (converted at the boundary); units= and "
                         "lj_scales= do not apply to ASE formats")
    from trajmodes.io.ase_reader import ASESource
    return ASESource(path, ase_format=fmt.partition(":")[2] or None, md_timestep=md_timestep,
                     frame_interval=frame_interval, species=species, masses=masses)


def _ase_restarts(paths, fmt: str, given: bool, *, md_timestep, frame_interval, **options):
    """The files of one run restarted, each in the ASE format ``fmt`` (:mod:`trajmodes.io.restarts`): one
    :class:`~trajmodes.io.ase_reader.ASESource` per file, joined by :class:`~trajmodes.io.restarts.RestartedRun`
    (which states the time axis: the files' own warnings about it are left to it)."""
    import warnings
    from trajmodes.errors import UnitsWarning
    from trajmodes.io.restarts import RestartedRun
    parts = []
    for p in paths:
        other = fmt if given else sniff(p)
        if other.partition(":")[2] != fmt.partition(":")[2]:
            raise TrajectoryFormatError(p, f"it is {other}, the first file ({paths[0]}) {fmt}",
                                        fix="Join only the files of one run, all of one format")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UnitsWarning)
            parts.append(_ase_source(p, fmt, md_timestep=md_timestep, frame_interval=frame_interval, **options))
    return RestartedRun(parts, md_timestep=md_timestep, frame_interval=frame_interval)


def _mda_units(units: str | None) -> str | None:
    """MDAnalysis readers that declare units convert themselves; None or 'metal' means 'as declared'."""
    return None if units in (None, "metal") else units


def _expand(source) -> list[str]:
    items = [source] if isinstance(source, (str, os.PathLike)) else list(source)
    out = []
    for it in items:
        it = os.fspath(it)
        hits = sorted(glob.glob(it)) if any(ch in it for ch in "*?[") else [it]
        if not hits:
            raise FileNotFoundError(f"{it}: no file matches")
        out += hits
    for p in out:
        if not os.path.exists(p):
            raise FileNotFoundError(f"{p}: no such file")
        _require_regular(p)
    return out


def _require_regular(path: str) -> None:
    """Refuse a path that is not a regular file (a FIFO, a socket, a device, a folder): frames are found by their
    byte offsets and read more than once, which a pipe cannot give, and reading one would wait forever."""
    import stat
    mode = os.stat(path).st_mode
    if not stat.S_ISREG(mode):
        kind = ("a folder" if stat.S_ISDIR(mode) else "a named pipe (FIFO)" if stat.S_ISFIFO(mode) else
                "a socket" if stat.S_ISSOCK(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
                else "not a regular file")
        raise TrajectoryFormatError(path, f"it is {kind}, not a regular file: trajmodes finds frames by their byte "
                                          "offsets and reads them more than once",
                                    fix="Write the trajectory to a file first (a pipe or stream cannot be re-read)")


def _lammps_only(name: str, fmt: str, **options) -> None:
    """Refuse the options that only LAMMPS dumps take."""
    given = [k for k, v in options.items() if v is not None]
    if given:
        raise ValueError(f"{name}: {' and '.join(k + '=' for k in given)} {'is' if len(given) == 1 else 'are'} for "
                         f"LAMMPS dumps only, not {fmt} data (an extended XYZ file's energy= and stress= are read "
                         "from its comment lines without it)")


def open_source(source, *, format: str | None = None, units: str | None = None, lj_scales=None,
                md_timestep: float | None = None, frame_interval: float | None = None, species=None,
                masses=None, topology=None, thermo=None, energy_column: str | None = None,
                stress_columns=None) -> FrameSource:
    """A frame source for ``source`` (path, list or glob of paths, or MDAnalysis Universe).

    ``md_timestep`` and ``frame_interval`` (ps) are described in :mod:`trajmodes.io.times`; ``thermo`` (LAMMPS
    log files), ``energy_column`` and ``stress_columns`` in :class:`~trajmodes.io.lammps.LammpsDumpSource` (LAMMPS dumps only).
    """
    try:
        import MDAnalysis as mda
        if isinstance(source, mda.Universe):
            from trajmodes.io.mdanalysis import MDAnalysisSource
            _lammps_only("an MDAnalysis Universe", "mdanalysis", thermo=thermo, energy_column=energy_column,
                         stress_columns=stress_columns)
            return MDAnalysisSource(source, frame_interval=frame_interval, md_timestep=md_timestep,
                                    units=_mda_units(units), lj_scales=lj_scales)
    except ImportError:  # pragma: no cover
        pass
    paths = _expand(source)
    fmt = (format or sniff(paths[0])).lower()
    if fmt in _LAMMPS:
        from trajmodes.io.lammps import LammpsDumpSource
        return LammpsDumpSource(paths, units=units, lj_scales=lj_scales, md_timestep=md_timestep,
                                frame_interval=frame_interval, species=species,
                                masses=masses, thermo=thermo, energy_column=energy_column,
                                stress_columns=stress_columns)
    _lammps_only(paths[0], fmt, thermo=thermo, energy_column=energy_column, stress_columns=stress_columns)
    if len(paths) > 1 and fmt not in ("mdanalysis",) and not _is_ase(fmt):
        raise ValueError(f"several files are supported for LAMMPS dumps, the formats ASE reads (VASP, pw.x, ASE "
                         f".traj, ...) and MDAnalysis formats, not {fmt}")
    if _is_ase(fmt):
        if len(paths) > 1:
            return _ase_restarts(paths, fmt, format is not None, units=units, lj_scales=lj_scales,
                                 md_timestep=md_timestep, frame_interval=frame_interval, species=species,
                                 masses=masses)
        return _ase_source(paths[0], fmt, units=units, lj_scales=lj_scales, md_timestep=md_timestep,
                           frame_interval=frame_interval, species=species, masses=masses)
    if fmt in _XYZ:
        from trajmodes.io.xyz import XYZSource
        try:
            return XYZSource(paths[0], units=units, lj_scales=lj_scales, md_timestep=md_timestep,
                             frame_interval=frame_interval)
        except TrajectoryFormatError as exc:
            if format is not None or not getattr(exc, "ase_may_read", True):
                raise
            raise TrajectoryFormatError(exc.path, exc.what, frame=exc.frame, line=exc.line,
                                        fix=(exc.fix + ". " if exc.fix else "") + "ASE's extended XYZ reader may take "
                                            "this variant: format='ase:extxyz' (--format ase:extxyz)") from None
    if fmt in _NETCDF:
        from trajmodes.io.netcdf import NetCDFSource
        if md_timestep is not None or frame_interval is not None:
            raise ValueError(f"{paths[0]}: a trajmodes netCDF cache stores its frame times; md_timestep= and "
                             "frame_interval= are for files that have none")
        return NetCDFSource(paths[0])
    from trajmodes.io.mdanalysis import MDAnalysisSource
    import MDAnalysis as mda
    kw = {} if fmt == "mdanalysis" else {"format": format}
    try:
        u = mda.Universe(topology, *paths, **kw) if topology is not None else mda.Universe(*paths, **kw)
    except Exception as exc:  # MDAnalysis raises many types
        from trajmodes.io.mdanalysis import universe_error
        mismatch = universe_error(topology, paths) if topology is not None else \
            universe_error(paths[0], paths[1:]) if len(paths) > 1 else None
        if mismatch is not None:
            raise mismatch from None
        head = _head(paths[0])
        if _is_netcdf(head):
            from trajmodes.io.netcdf import CACHE_FIX, describe_netcdf
            said = describe_netcdf(paths[0])
            if said is not None:
                raise TrajectoryFormatError(paths[0], f"it is {said[1]}, not a trajectory trajmodes or MDAnalysis "
                                                      f"reads ({type(exc).__name__}: "
                                                      f"{str(exc).splitlines()[0] if str(exc) else ''})",
                                            fix=CACHE_FIX) from None
        why = "" if format else "; ".join(_why_not(head)) + "; and "
        raise TrajectoryFormatError(paths[0], f"{why}MDAnalysis cannot read it either ({type(exc).__name__}: "
                                              f"{str(exc).splitlines()[0] if str(exc) else ''})",
                                    fix="Check that the file is complete and of a trajectory format; pass "
                                        "format= (--format: 'lammps', 'xyz', an MDAnalysis format such as "
                                        "'DCD', or 'ase:<ASE format>' such as 'ase:vasp-out') and topology= "
                                        "(--topology) for formats without atom information") from None
    return MDAnalysisSource(u, frame_interval=frame_interval, md_timestep=md_timestep, units=_mda_units(units),
                            lj_scales=lj_scales)


def looks_like_poscar(head: bytes) -> bool:
    """Whether ``head`` has VASP's POSCAR layout, whatever the file's name (TDEP's ``infile.ucposcar`` and
    ``infile.ssposcar``, ``*.POSCAR``, ...): a comment line, the scale (one number or three), three lattice lines of
    three numbers, the species names (VASP 5; absent in VASP 4) and the atom counts, an optional ``Selective
    dynamics`` line, then ``Direct`` or ``Cartesian``."""
    lines = (head[3:] if head.startswith(BOM) else head).split(b"\n", 10)
    if len(lines) < 8:
        return False

    def numbers(line: bytes, n: int, kind=float) -> bool:
        toks = line.split()
        try:
            return len(toks) >= n and all(kind(t) is not None for t in toks[:n])
        except ValueError:
            return False
    if not (numbers(lines[1], 1) and all(numbers(ln, 3) for ln in lines[2:5])):
        return False
    k = 5
    names = lines[k].split()
    if names and all(t[:1].isalpha() for t in names):
        k += 1                                      # VASP 5: the species line
    counts = lines[k].split()
    if not counts or not numbers(lines[k], len(counts), int):
        return False
    k += 1
    if lines[k].strip()[:1] in (b"S", b"s"):        # Selective dynamics
        k += 1
    return k < len(lines) and lines[k].strip()[:1] in (b"D", b"d", b"C", b"c", b"K", b"k")


def read_structure(path, *, units: str | None = None, species=None) -> Structure:
    """Read one structure (a LAMMPS data file, a VASP POSCAR / CONTCAR, or the first frame of any trajectory format
    trajmodes reads, ASE's included)."""
    path = os.fspath(path)
    head = _head(path)
    _refuse_unreadable(path, head)
    base = os.path.basename(path)
    ase_fmt = None if head.lstrip().startswith(b"ITEM:") else ase_format_of(path, head)
    if ase_fmt is None and (base.startswith(("POSCAR", "CONTCAR")) or base.endswith(".vasp") or
                            looks_like_poscar(head)):
        ase_fmt = "vasp"
    if ase_fmt is not None:
        import warnings
        from trajmodes.errors import UnitsWarning
        with warnings.catch_warnings():                     # one structure: the frame times do not matter
            warnings.simplefilter("ignore", UnitsWarning)
            src = _ase_source(path, f"{ASE_PREFIX}:{ase_fmt}", units=units, lj_scales=None, md_timestep=None,
                              frame_interval=None, species=None, masses=None)
        d = src.read([0])
        masses = src.masses if src.masses_stated else None   # a POSCAR's are not those of the run (VASP's POMASS)
        return Structure(d["positions"][0], d["cells"][0] if src.has_cell else None, src.species, masses,
                         d["origins"][0])
    if head.lstrip().startswith(b"ITEM:") or head.lstrip().split(b"\n", 1)[0].strip().isdigit() or \
            head[:3] == b"CDF" or head[:4] == b"\x89HDF":
        src = open_source(path, units=units, species=species)
        d = src.read([0])
        return Structure(d["positions"][0], d["cells"][0] if src.has_cell else None, src.species, src.masses,
                         d["origins"][0])
    if b"atoms" in head and (b"xlo xhi" in head or b"avec" in head):
        from trajmodes.io.lammps_data import read_data
        return read_data(path, units=units or "metal", species=species)
    raise TrajectoryFormatError(path, "not a structure format trajmodes knows (LAMMPS data file, LAMMPS dump, "
                                "XYZ, trajmodes netCDF, VASP POSCAR/OUTCAR/vasprun.xml/XDATCAR, pw.x output, ASE "
                                ".traj)", fix="Pass a Structure or an array of positions")


__all__ = ["open_source", "read_structure", "sniff", "ase_format_of", "compression_of", "looks_like_poscar",
           "byte_order_mark_error", "FrameSource"]
