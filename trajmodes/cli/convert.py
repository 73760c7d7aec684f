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
