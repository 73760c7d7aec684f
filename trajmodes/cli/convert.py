"""``trajmodes convert-fc``: force constants from one code's files to another's (TDEP, ShengBTE, phonopy, phono3py,
hiPhive, GPUMD, trajmodes netCDF), refusing what the target format cannot hold
(:func:`~trajmodes.workflows.convert.convert_force_constants`)."""
from __future__ import annotations

from trajmodes.workflows.convert import ONE_FILE


def cmd_convert_fc(args, out) -> int:
    """Read force constants in one format and write them in another; one line says what was read and written."""
    from trajmodes.cli.interrupt import report
    from trajmodes.workflows.convert import convert_force_constants
    done = convert_force_constants(args.input, args.to, args.output, out, source_format=args.source_format,
                                   supercell=args.supercell, fc2_only=args.fc2_only, no_nac=args.no_nac,
                                   notify=report)
    left = f" (left out: {', '.join(done.dropped)})" if done.dropped else ""
    gone = (f"; removed {', '.join(done.stale)}: files of earlier constants in that folder that would be read with "
            "these" if args.to not in ONE_FILE and done.stale else "")
    print(f"read {done.source_format} {args.input}: {done.read}; wrote {args.to} {done.target}: "
          f"{', '.join(done.files)}{left}{gone}")
    return 0


def add_convert_fc_parser(add) -> None:
    """The parser of ``trajmodes convert-fc`` (``add``: the command adder of :func:`trajmodes.cli.app.build_parser`)."""
    from trajmodes.cli.options import supercell_dims
    from trajmodes.workflows.convert import FC_FORMATS
    pv = add("convert-fc", cmd_convert_fc, "force constants from one code's files to another's: TDEP, ShengBTE, "
                                           "phonopy, phono3py, hiPhive, GPUMD, trajmodes netCDF",
             example="trajmodes convert-fc examples/fc/cu_eam --to tdep -o cu_tdep")
    pv.add_argument("input", metavar="IN", help="force constants: a folder or file of TDEP (infile.forceconstant), "
                                                "ShengBTE (FORCE_CONSTANTS_2ND), phonopy, phono3py, GPUMD "
                                                "(fcs_order2.in), a hiPhive .fcp or .fcs file, or a .nc file")
    pv.add_argument("-o", "--output", required=True, help="output folder: the files of the --to format (netcdf "
                                                          "and hiphive write fc.nc and fc.fcs inside it; a name "
                                                          "ending in .nc or .fcs is that file)")
    pv.add_argument("--to", required=True, choices=FC_FORMATS, help="output format")
    pv.add_argument("--from", dest="source_format", choices=FC_FORMATS,
                    help="input format (default: known from the file names)")
    pv.add_argument("--supercell", type=supercell_dims, help="TDEP or ShengBTE input without its supercell file, or "
                                                   "a hiPhive potential (.fcp): the supercell as N or N1,N2,N3 unit "
                                                   "cells (default: the input's supercell file)")
    pv.add_argument("--fc2-only", action="store_true", help="leave the third-order constants out")
    pv.add_argument("--no-nac", action="store_true", help="leave the Born charges and dielectric tensor out")
