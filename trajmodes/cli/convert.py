"""``trajmodes convert-fc``: force constants from one code's files to another's (TDEP, ShengBTE, phonopy, phono3py,
hiPhive, GPUMD, trajmodes netCDF), refusing what the target format cannot hold."""
from __future__ import annotations

import os
import shutil
import tempfile

from trajmodes.workflows import format_names

#: the formats, in the order of ``--to`` (those of the registry of force-constant formats)
FC_FORMATS = format_names()

#: formats written as one file (the others are folders)
ONE_FILE = {"netcdf": ".nc", "hiphive": ".fcs"}



def refusal(fc, to: str) -> str | None:
    """Why ``fc`` cannot go into format ``to`` as it is (one line), or None."""
    if fc.fc3 is not None and to == "phonopy":
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
    if fc.fc3 is not None:
        parts.append("fc3")
    if fc.born is not None:
        parts.append("Born charges")
    return (f"{' + '.join(parts)}, {fc.n_prim}-atom primitive cell, {fc.n_atoms}-atom supercell "
            f"{fc.smap.matrix.tolist()}")


def _write_folder(write, target: str, out, fmt: str) -> tuple[list[str], list[str]]:
    """Run ``write(folder)`` on a fresh folder and stage every file it made as ``target/NAME``; files of the same
    format already in ``target`` that this write did not make (a third order of other constants, BORN of another
    crystal) would be read back with the new ones: they are removed. Returns the names written and removed."""
    parent = os.path.dirname(os.path.abspath(target))
    while not os.path.isdir(parent):
        parent = os.path.dirname(parent)
    tmp = tempfile.mkdtemp(prefix=f".trajmodes-staging-{os.getpid()}-", dir=parent)
    from trajmodes.cli.interrupt import report
    report("stage", tmp)                       # removed by the supervising process if this one must be killed
    try:
        write(tmp)
        names = sorted(os.listdir(tmp))
        for name in names:
            os.replace(os.path.join(tmp, name), out(os.path.join(target, name)))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    from trajmodes.workflows import fc_format
    stale = [n for n in fc_format(fmt).files
             if n not in names and os.path.isfile(os.path.join(target, n))]
    for name in stale:
        os.remove(os.path.join(target, name))
    return names, stale


def cmd_convert_fc(args, out) -> int:
    """Read force constants in one format and write them in another; one line says what was read and written."""
    from trajmodes.workflows import ForceConstants, detect_fc_format
    src = args.input
    fmt = args.source_format or detect_fc_format(src)
    fc = ForceConstants.read(src, fmt, **({} if args.supercell is None else {"supercell": args.supercell}))
    what = _describe(fc)
    dropped = []
    if args.fc2_only and fc.fc3 is not None:
        fc, dropped = ForceConstants(fc.fc2, fc.supercell, fc.primitive, smap=fc.smap, p2s=fc.p2s, born=fc.born,
                                     epsilon=fc.epsilon, nac_factor=fc.nac_factor, short_range=fc.short_range,
                                     ewald_lambda=fc.ewald_lambda), dropped + ["fc3"]
    if args.no_nac and fc.born is not None:
        fc = fc.with_convention("full")        # short-range (polar TDEP) constants: the dipole part put back first
        fc, dropped = ForceConstants(fc.fc2, fc.supercell, fc.primitive, smap=fc.smap, p2s=fc.p2s,
                                     fc3=fc.fc3), dropped + ["Born charges"]
    why = refusal(fc, args.to)
    if why:
        raise ValueError(f"cannot write {src} as {args.to}: {why}")
    target = args.output
    if args.to in ONE_FILE:
        if not str(target).endswith(ONE_FILE[args.to]):            # -o names a folder: the file inside it
            if os.path.isfile(target):
                raise ValueError(f"-o {target} is a file: -o names the folder the {args.to} file goes into")
            target = os.path.join(target, "fc" + ONE_FILE[args.to])
        if args.to == "netcdf":
            from trajmodes.workflows import provenance
            fc.write(out(target), "netcdf", attrs=provenance([src], {"source_format": fmt}))
        else:
            fc.write(out(target), args.to)
        files = [os.path.basename(target)]
    else:
        if os.path.isfile(target):
            raise ValueError(f"-o {target} is a file; {args.to} force constants go into a folder")
        options = {"tdep": {"source": src}, "shengbte": {"source": src}, "gpumd": {"source": src, "path": target}}
        files, stale = _write_folder(lambda d: fc.write(d, args.to, **options.get(args.to, {})), target, out, args.to)
    left = f" (left out: {', '.join(dropped)})" if dropped else ""
    gone = (f"; removed {', '.join(stale)}: files of earlier constants in that folder that would be read with "
            "these" if args.to not in ONE_FILE and stale else "")
    print(f"read {fmt} {src}: {what}; wrote {args.to} {target}: {', '.join(files)}{left}{gone}")
    return 0
