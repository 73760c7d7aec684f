"""``trajmodes convert`` and ``trajmodes convert-fc``: a run (or part of it) as trajmodes' chunked netCDF cache, and
force constants from one code's files to another's (TDEP, ShengBTE, phonopy, phono3py, hiPhive, GPUMD, trajmodes
netCDF), refusing what the target format cannot hold.

Importing this module reads the registry of force-constant formats (:data:`FC_FORMATS`, the choices of
``convert-fc --to``), no heavy package.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass

from trajmodes.forceconstants.formats import format_names

__all__ = ["select_frames", "write_cache", "FC_FORMATS", "ONE_FILE", "refusal", "FCConversion",
           "convert_force_constants"]


# ----------------------------------------------------------------------------- trajmodes convert
def select_frames(trajectory, start: int = 0, stop: int | None = None, stride: int = 1):
    """The frames ``start:stop:stride`` of ``trajectory`` (lazy), the run itself where that is every frame; a start
    beyond the last frame, or a stop not after the start, is refused in one line."""
    n = trajectory.n_frames
    if start >= n:
        raise ValueError(f"--start {start} is beyond the last frame: the trajectory has {n} frames (0 .. {n - 1})")
    if stop is not None and stop <= start:
        raise ValueError(f"--stop {stop} must be after --start {start}")
    if stride > 1 or start or stop is not None:
        trajectory = trajectory[start:stop:stride]
    return trajectory


def write_cache(trajectory, path: str, *, displacements: bool = False, attrs=None) -> None:
    """Write ``trajectory`` to ``path`` as trajmodes' chunked netCDF cache (positions, or the ``displacements`` from
    its reference; :meth:`~trajmodes.trajectory.core.Trajectory.to_netcdf`) with the global attributes ``attrs``."""
    trajectory.to_netcdf(path, displacements=displacements, attrs=attrs)


# ----------------------------------------------------------------------------- trajmodes convert-fc
#: the force-constant formats, in the order of ``convert-fc --to`` (those of the registry of formats,
#: :func:`~trajmodes.forceconstants.formats.format_names`)
FC_FORMATS = format_names()

#: formats written as one file, with its suffix (the others are folders)
ONE_FILE = {"netcdf": ".nc", "hiphive": ".fcs"}


def refusal(fc, to: str) -> str | None:
    """Why ``fc`` cannot go into format ``to`` as it is (one line), or None."""
    if fc.fc3_sparse is not None and to == "phonopy":
        return ("phonopy files hold no third-order constants, and these have them: convert to phono3py, tdep, "
                "shengbte or netcdf, or give --fc2-only to leave them out")
    if fc.born is not None and to in ("gpumd", "hiphive"):     # TDEP: a polar file, short-range constants
        code, where = {"gpumd": ("GPUMD", "its force-constant potential has no long-range electrostatics"),
                       "hiphive": ("hiPhive", "hiPhive's force-constant files hold no long-range electrostatics")}[to]
        return (f"{code} force-constant files have no place for the Born charges and dielectric tensor these force "
                f"constants carry ({where}): give --no-nac to write them without, or convert to netcdf, phonopy, "
                "phono3py or shengbte")
    return None


def _describe(fc) -> str:
    parts = [f"fc2 ({fc.layout})"]
    if fc.fc3_sparse is not None:
        parts.append("fc3")
    if fc.born is not None:
        parts.append("Born charges")
    return (f"{' + '.join(parts)}, {fc.n_prim}-atom primitive cell, {fc.n_atoms}-atom supercell "
            f"{fc.smap.matrix.tolist()}")


@dataclass(frozen=True)
class FCConversion:
    """What :func:`convert_force_constants` read and wrote.

    Parameters
    ----------
    source_format : str
        The format read (given, or known from the file names).
    read : str
        The constants read, in words (orders, Born charges, cells).
    target : str
        The file or folder written.
    files : list of str
        The names of the files written (the file's own for a one-file format).
    dropped : list of str
        What was left out ("fc3", "Born charges").
    stale : list of str
        Files of earlier constants of the same format removed from the target folder (they would be read with the new
        ones).
    """

    source_format: str
    read: str
    target: str
    files: list
    dropped: list
    stale: list


def _write_folder(write, target: str, out, fmt: str, notify=None) -> tuple[list[str], list[str]]:
    """Run ``write(folder)`` on a fresh folder and stage every file it made as ``target/NAME``; files of the same
    format already in ``target`` that this write did not make (a third order of other constants, BORN of another
    crystal) would be read back with the new ones: they are removed. Returns the names written and removed."""
    from trajmodes.forceconstants.formats import fc_format
    parent = os.path.dirname(os.path.abspath(target))
    while not os.path.isdir(parent):
        parent = os.path.dirname(parent)
    tmp = tempfile.mkdtemp(prefix=f".trajmodes-staging-{os.getpid()}-", dir=parent)
    if notify is not None:
        notify("stage", tmp)                   # removed by the supervising process if this one must be killed
    try:
        write(tmp)
        names = sorted(os.listdir(tmp))
        for name in names:
            os.replace(os.path.join(tmp, name), out(os.path.join(target, name)))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    stale = [n for n in fc_format(fmt).files
             if n not in names and os.path.isfile(os.path.join(target, n))]
    for name in stale:
        os.remove(os.path.join(target, name))
    return names, stale


def convert_force_constants(source, to: str, target: str, out, *, source_format: str | None = None,
                            supercell=None, fc2_only: bool = False, no_nac: bool = False,
                            notify=None) -> FCConversion:
    """Read the force constants of ``source`` (a file or folder of ``source_format``, default known from the file
    names; ``supercell``, N1,N2,N3 unit cells, for files without theirs) and write them in the format ``to`` at
    ``target`` through the command's outputs ``out`` (:func:`~trajmodes.workflows.outputs.staged_outputs`): a
    one-file format (:data:`ONE_FILE`) as that file (``target`` names it, or the folder it goes into as ``fc.nc`` /
    ``fc.fcs``), the others as a folder. ``fc2_only`` leaves the third order out, ``no_nac`` the Born charges (the
    dipole part put back into short-range constants first); what the target format cannot hold is refused in one line
    (:func:`refusal`). ``notify(what, path)`` is told of the staging folder of a folder format.

    Parameters
    ----------
    source : str or path
        The force constants read: a file or a folder.
    to : str
        The format written (one of :data:`FC_FORMATS`).
    target : str or path
        Where they are written: the file of a one-file format (or the folder it goes into), else the folder.
    out : Outputs
        The command's staged outputs (:func:`~trajmodes.workflows.outputs.staged_outputs`).
    source_format : str, optional
        The format read; default known from the file names.
    supercell : str or (3,) int, optional
        N1,N2,N3 unit cells, for files that do not hold their supercell.
    fc2_only : bool
        Leave the third order out.
    no_nac : bool
        Leave the Born charges out (the dipole part put back into short-range constants first).
    notify : callable, optional
        ``notify(what, path)`` is told of the staging folder of a folder format.
    """
    from trajmodes.forceconstants.formats import detect_fc_format
    from trajmodes.forceconstants.model import ForceConstants
    from trajmodes.workflows.outputs import provenance
    fmt = source_format or detect_fc_format(source)
    fc = ForceConstants.read(source, fmt, **({} if supercell is None else {"supercell": supercell}))
    what = _describe(fc)
    dropped = []
    if fc2_only and fc.fc3_sparse is not None:
        fc, dropped = ForceConstants(fc.fc2, fc.supercell, fc.primitive, smap=fc.smap, p2s=fc.p2s, born=fc.born,
                                     epsilon=fc.epsilon, nac_factor=fc.nac_factor, short_range=fc.short_range,
                                     ewald_lambda=fc.ewald_lambda), dropped + ["fc3"]
    if no_nac and fc.born is not None:
        fc = fc.with_convention("full")        # short-range (polar TDEP) constants: the dipole part put back first
        fc, dropped = ForceConstants(fc.fc2, fc.supercell, fc.primitive, smap=fc.smap, p2s=fc.p2s,
                                     fc3=fc.fc3_sparse), dropped + ["Born charges"]
    why = refusal(fc, to)
    if why:
        raise ValueError(f"cannot write {source} as {to}: {why}")
    stale = []
    if to in ONE_FILE:
        if not str(target).endswith(ONE_FILE[to]):            # -o names a folder: the file inside it
            if os.path.isfile(target):
                raise ValueError(f"-o {target} is a file: -o names the folder the {to} file goes into")
            target = os.path.join(target, "fc" + ONE_FILE[to])
        if to == "netcdf":
            fc.write(out(target), "netcdf", attrs=provenance([source], {"source_format": fmt}))
        else:
            fc.write(out(target), to)
        files = [os.path.basename(target)]
    else:
        if os.path.isfile(target):
            raise ValueError(f"-o {target} is a file; {to} force constants go into a folder")
        options = {"tdep": {"source": source}, "shengbte": {"source": source},
                   "gpumd": {"source": source, "path": target}}
        files, stale = _write_folder(lambda d: fc.write(d, to, **options.get(to, {})), target, out, to,
                                     notify=notify)
    return FCConversion(fmt, what, target, files, dropped, stale)
