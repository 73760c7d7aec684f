"""``trajmodes convert-fc``: force constants from one code's files to another's (TDEP, ShengBTE, phonopy, phono3py,
hiPhive, GPUMD, trajmodes netCDF), refusing what the target format cannot hold."""
from __future__ import annotations

import os
import shutil
import tempfile

#: the formats, in the order of ``--to``
FC_FORMATS = ("tdep", "shengbte", "phonopy", "phono3py", "netcdf", "gpumd", "hiphive")

#: formats written as one file (the others are folders)
ONE_FILE = {"netcdf": ".nc", "hiphive": ".fcs"}

#: files whose presence (in a folder) or name says the format
_MARKS = {
    "tdep": ("infile.forceconstant", "outfile.forceconstant", "infile.forceconstant_thirdorder",
             "outfile.forceconstant_thirdorder", "infile.ucposcar", "infile.ssposcar",
             "infile.forceconstant_fourthorder", "outfile.forceconstant_fourthorder"),
    "shengbte": ("FORCE_CONSTANTS_2ND", "FORCE_CONSTANTS_3RD"),
    "phono3py": ("phono3py_params.yaml", "phono3py.yaml", "phono3py_disp.yaml", "fc3.hdf5"),
    "phonopy": ("phonopy_params.yaml", "phonopy.yaml", "phonopy_disp.yaml", "FORCE_CONSTANTS"),
    "gpumd": ("clusters_order2.in", "fcs_order2.in", "clusters_order3.in", "fcs_order3.in", "fcp.txt"),
}


def supercell_dims(text: str) -> list[int]:
    """``--supercell``: N or N1,N2,N3 unit cells (positive whole numbers)."""
    import argparse
    try:
        dims = [int(x) for x in text.replace("x", ",").split(",") if x.strip()]
    except ValueError:
        dims = []
    dims = dims * 3 if len(dims) == 1 else dims
    if len(dims) != 3 or min(dims) < 1:
        raise argparse.ArgumentTypeError(f"the supercell must be N or N1,N2,N3 unit cells (positive), not {text!r}")
    return dims


def detect_format(path: str) -> str:
    """The format of force constants at ``path`` (a file or a folder), from the file names.

    Raises
    ------
    FileNotFoundError
        Nothing there.
    ValueError
        No known file, or files of several formats in one folder.
    """
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file or folder")
    if os.path.isfile(path):
        name = os.path.basename(path)
        if name.endswith(".nc"):
            return "netcdf"
        if name.endswith((".fcp", ".fcs")):
            return "hiphive"
        for fmt, marks in _MARKS.items():
            if name in marks:
                return fmt
        if name in ("fc2.hdf5", "force_constants.hdf5"):
            return "phonopy"
        raise ValueError(f"{path}: not a force-constant file trajmodes knows by its name ("
                         + ", ".join(m for marks in _MARKS.values() for m in marks[:2]) + ", *.nc, *.fcp, *.fcs); "
                         "give --from")
    names = set(os.listdir(path))
    found = [fmt for fmt, marks in _MARKS.items() if names & set(marks)]
    if found[:2] == ["phono3py", "phonopy"]:         # a phono3py folder may hold a phonopy yaml as well
        found = ["phono3py"]
    if len(found) > 1:
        raise ValueError(f"{path} holds files of several formats ({', '.join(found)}): give --from")
    if not found:
        raise ValueError(f"{path}: no force-constant files in it (TDEP infile.forceconstant, ShengBTE "
                         "FORCE_CONSTANTS_2ND, phonopy_params.yaml, phono3py_params.yaml, GPUMD fcs_order2.in; or "
                         "give a .nc, .fcp or .fcs file)")
    return found[0]


def read_force_constants(path: str, fmt: str, supercell=None):
    """:class:`~trajmodes.ForceConstants` from ``path`` in format ``fmt`` (``supercell``: for TDEP and ShengBTE
    files without their supercell file, and hiPhive potentials)."""
    from trajmodes.forceconstants.model import ForceConstants
    if fmt == "hiphive":
        return ForceConstants.from_hiphive(path, supercell=supercell)
    if fmt == "gpumd":
        return ForceConstants.from_gpumd(path)
    if fmt == "tdep":
        return ForceConstants.from_tdep(path, supercell=supercell)
    if fmt == "shengbte":
        return ForceConstants.from_shengbte(path, supercell=supercell)
    if fmt == "phono3py":
        return ForceConstants.from_phono3py(path)
    if fmt == "phonopy":
        return ForceConstants.from_phonopy(path)
    return ForceConstants.from_netcdf(path)


def refusal(fc, to: str) -> str | None:
    """Why ``fc`` cannot go into format ``to`` as it is (one line), or None."""
    if fc.fc3 is not None and to == "phonopy":
        return ("phonopy files hold no third-order constants, and these have them: convert to phono3py, tdep, "
                "shengbte or netcdf, or give --fc2-only to leave them out")
    if fc.born is not None and to in ("tdep", "gpumd", "hiphive"):
        code, where = {"tdep": ("TDEP", "TDEP's polar files hold short-ranged constants with TDEP's own dipole-dipole "
                                        "part taken out"),
                       "gpumd": ("GPUMD", "its force-constant potential has no long-range electrostatics"),
                       "hiphive": ("hiPhive", "hiPhive's force-constant files hold no long-range electrostatics")}[to]
        return (f"{code} force-constant files have no place for the Born charges and dielectric tensor these force "
                f"constants carry ({where}): give --no-nac to write them without, or convert to netcdf, phonopy, "
                "phono3py or shengbte")
    return None


def _describe(fc) -> str:
    parts = [f"fc2 ({fc.layout})"]
    if fc.fc3 is not None:
        parts.append("fc3")
    if fc.born is not None:
        parts.append("Born charges")
    return (f"{' + '.join(parts)}, {fc.n_prim}-atom primitive cell, {fc.n_atoms}-atom supercell "
            f"{fc.smap.matrix.tolist()}")


#: files beside the marks that a format's reader also takes from its folder (Born charges, the other hdf5 name)
_READ_ALSO = {"phonopy": ("BORN", "fc2.hdf5", "force_constants.hdf5"), "phono3py": ("fc2.hdf5", "BORN"),
              "shengbte": ("CONTROL",)}


def _write_folder(write, target: str, out, fmt: str) -> tuple[list[str], list[str]]:
    """Run ``write(folder)`` on a fresh folder and stage every file it made as ``target/NAME``; files of the same
    format already in ``target`` that this write did not make (a third order of other constants, BORN of another
    crystal) would be read back with the new ones: they are removed. Returns the names written and removed."""
    parent = os.path.dirname(os.path.abspath(target))
    while not os.path.isdir(parent):
        parent = os.path.dirname(parent)
    tmp = tempfile.mkdtemp(prefix=f".trajmodes-staging-{os.getpid()}-", dir=parent)
    try:
        write(tmp)
        names = sorted(os.listdir(tmp))
        for name in names:
            os.replace(os.path.join(tmp, name), out(os.path.join(target, name)))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    stale = [n for n in _MARKS.get(fmt, ()) + _READ_ALSO.get(fmt, ())
             if n not in names and os.path.isfile(os.path.join(target, n))]
    for name in stale:
        os.remove(os.path.join(target, name))
    return names, stale


def cmd_convert_fc(args, out) -> int:
    """Read force constants in one format and write them in another; one line says what was read and written."""
    from trajmodes.forceconstants.model import ForceConstants
    src = args.input
    fmt = args.source_format or detect_format(src)
    fc = read_force_constants(src, fmt, supercell=args.supercell)
    what = _describe(fc)
    dropped = []
    if args.fc2_only and fc.fc3 is not None:
        fc, dropped = ForceConstants(fc.fc2, fc.supercell, fc.primitive, smap=fc.smap, p2s=fc.p2s, born=fc.born,
                                     epsilon=fc.epsilon, nac_factor=fc.nac_factor), dropped + ["fc3"]
    if args.no_nac and fc.born is not None:
        fc, dropped = ForceConstants(fc.fc2, fc.supercell, fc.primitive, smap=fc.smap, p2s=fc.p2s,
                                     fc3=fc.fc3), dropped + ["Born charges"]
    why = refusal(fc, args.to)
    if why:
        raise ValueError(f"cannot write {src} as {args.to}: {why}")
    target = args.output
    if args.to in ONE_FILE:
        if os.path.isdir(target):
            raise ValueError(f"-o {target} is a folder; {args.to} force constants go into one {ONE_FILE[args.to]} "
                             "file")
        if args.to == "netcdf":
            from trajmodes.io.provenance import provenance
            fc.to_netcdf(out(target), attrs=provenance([src], {"source_format": fmt}))
        else:
            fc.to_hiphive(out(target))
        files = [os.path.basename(target)]
    else:
        if os.path.isfile(target):
            raise ValueError(f"-o {target} is a file; {args.to} force constants go into a folder")
        writers = {"tdep": lambda d: fc.to_tdep(d, source=src), "shengbte": lambda d: fc.to_shengbte(d, source=src),
                   "phonopy": fc.to_phonopy, "phono3py": fc.to_phono3py,
                   "gpumd": lambda d: fc.to_gpumd(d, source=src, path=target)}
        files, stale = _write_folder(writers[args.to], target, out, args.to)
    left = f" (left out: {', '.join(dropped)})" if dropped else ""
    gone = (f"; removed {', '.join(stale)}: files of earlier constants in that folder that would be read with "
            "these" if args.to not in ONE_FILE and stale else "")
    print(f"read {fmt} {src}: {what}; wrote {args.to} {target}: {', '.join(files)}{left}{gone}")
    return 0
