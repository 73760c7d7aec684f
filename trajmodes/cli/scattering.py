"""``trajmodes sqw``: the dynamic structure factor and current correlations of an MD run along a band path, at given
q-points or powder averaged, as a netCDF file and figures."""
from __future__ import annotations

import os
import time

from trajmodes.cli.options import input_files, qpoint_tokens, read_settings, read_trajectory, step


def powder_range(text: str) -> tuple[float, float, int]:
    """``QMIN:QMAX:N``: |Q| from QMIN to QMAX rad/Å (finite, 0 <= QMIN < QMAX) in N shells (a whole number,
    at least 1; 1e3 is read as 1000)."""
    import math
    form = f"--powder takes QMIN:QMAX:N (rad/Angstrom, 2 pi included; N shells), not {text!r}"
    try:
        lo, hi, n = text.split(":")
        lo, hi, n = float(lo), float(hi), float(n)
    except ValueError:
        raise ValueError(form) from None
    if not (math.isfinite(lo) and math.isfinite(hi) and 0 <= lo < hi):
        raise ValueError(f"--powder {text}: need 0 <= QMIN < QMAX, both finite (rad/Angstrom)")
    if not (math.isfinite(n) and n >= 1 and n == int(n)):
        raise ValueError(f"--powder {text}: N, the number of |Q| shells, must be a whole number, at least 1")
    return lo, hi, int(n)


def _weights(name: str):
    return None if name == "none" else name


def cmd_sqw(args, out) -> int:
    """S(q, omega), F(q, t) and the current correlations of a run: ``sqw.nc`` and figures in a folder."""
    from trajmodes.workflows.outputs import provenance, write_dataset
    from trajmodes.workflows.scattering import check_correlation_window, scattering_qpoints, structure_factor
    if os.path.isfile(args.output):
        raise ValueError(f"-o {args.output} is a file; sqw writes a folder of results")
    t0 = time.perf_counter()
    traj = read_trajectory(args)
    check_correlation_window(traj, args.window, args.step)     # before the reference's pass over the run
    currents = "velocities" in traj.source.fields and not args.no_currents
    reading = traj.read_pass()          # the command's one read: the q-points' provisional frames held for it
    kw = dict(window=args.window, step=args.step, currents=currents, incoherent=not args.no_incoherent,
              weights=_weights(args.weights))
    if args.powder:
        q_min, q_max, n = powder_range(args.powder)
        try:                                        # before anything large is allocated
            sq = scattering_qpoints(traj, powder=(q_min, q_max, n), per_shell=args.per_shell, reading=reading)
        except ValueError as exc:
            raise ValueError(f"--powder {args.powder}: {exc}") from None
        what = f"{len(sq.qpoints)} q in {n} |Q| shells from {q_min:g} to {q_max:g} rad/A"
    elif args.qpoints:
        try:                                        # commensurate and resolvable, before the run is read
            sq = scattering_qpoints(traj, qpoints=qpoint_tokens(args.qpoints), reading=reading)
        except ValueError as exc:
            raise ValueError(f"--qpoints: {exc}") from None
        what = f"{len(sq.qpoints)} q-points"
    else:
        sq = scattering_qpoints(traj, path=args.path, reading=reading)
        what = f"the {len(sq.qpoints)} commensurate q on {args.path}"
    prim = sq.primitive
    overlay = None
    if args.force_constants and not (args.powder or args.qpoints):      # of this crystal: said before the pass
        from trajmodes.workflows.scattering import path_dispersion
        with step(f"dispersion of {args.force_constants} along {args.path}"):
            overlay = path_dispersion(args.force_constants, args.path, primitive=prim)
    with step(f"S(q, omega) of {traj.n_frames} frames at {what} (windows of {args.window} frames)"):
        ds = structure_factor(traj, sq, reading=reading, **kw)
    ds.attrs.update(source=str(traj.source.describe()))
    inputs = input_files(traj, args) + ([args.force_constants] if args.force_constants else [])
    prov = provenance(inputs, dict(read_settings(args, traj), window=args.window, step=args.step,
                                   weights=args.weights, path=args.path, qpoints=args.qpoints, powder=args.powder,
                                   force_constants=args.force_constants, frames=traj.n_frames))
    written = [write_dataset(ds, os.path.join(args.output, "sqw.nc"), out, prov)]
    written += _figures(ds, args, out, overlay)
    print(f"{traj.n_frames} frames x {traj.n_atoms} atoms, {what}; windows of {args.window} frames "
          f"({float(ds.time.values[-1]):.3g} ps, frequency resolution {float(ds.frequency.values[1]):.3g} THz), "
          f"time origins every {args.step} frame(s); weights: {ds.attrs['weights']}; "
          f"time axis: {traj.time_axis}")
    print(f"wrote {', '.join(written)} in {time.perf_counter() - t0:.1f} s")
    return 0


def _figures(ds, args, out, overlay) -> list[str]:
    from trajmodes.plots.scattering import plot_currents_path, plot_sqw_path, plot_sqw_powder
    title = os.path.basename(str(ds.attrs.get("source", "")))
    fmt = args.plot_format
    if args.powder:
        target = os.path.join(args.output, f"sqw_powder.{fmt}")
        plot_sqw_powder(ds, out(target), title=title)
        return [target]
    if args.qpoints:
        return []                                   # a list of q is no path to draw along: the numbers are in sqw.nc
    bands, rotations = overlay if overlay is not None else (None, None)
    targets = [os.path.join(args.output, f"sqw.{fmt}")]
    plot_sqw_path(ds, out(targets[0]), title=title, bands=bands, rotations=rotations)
    if "Clqw" in ds:
        targets.append(os.path.join(args.output, f"currents.{fmt}"))
        plot_currents_path(ds, out(targets[-1]), title=title, bands=bands, rotations=rotations)
    return targets


def add_sqw_parser(add) -> None:
    """The parser of ``trajmodes sqw`` (``add``: the command adder of :func:`trajmodes.cli.app.build_parser`)."""
    from trajmodes.cli.options import add_plot_format, add_read_options, positive_int
    pw = add("sqw", cmd_sqw, "dynamic structure factor S(q, omega), F(q, t) and current correlations of an MD run "
                             "along a band path, at q-points or powder averaged (dynasor's definitions), with "
                             "neutron or X-ray weights: sqw.nc and figures in a folder",
             example="trajmodes sqw examples/md/cu_300K.lammpstrj.gz --reference examples/md/cu_300K.data --path GXKGL "
                     "--window 60 --weights neutron -o cu-sqw")
    add_read_options(pw)
    qsel = pw.add_mutually_exclusive_group(required=True)
    qsel.add_argument("--path", help="band path as special-point letters, pieces split by '|', e.g. GXKGL: every q "
                                     "on it commensurate with the MD cell")
    qsel.add_argument("--qpoints", nargs="+", metavar="Q",
                      help="reduced q-points of the primitive cell, commensurate with the MD cell: 'h k l h k l ...' "
                           "or 'h,k,l;h,k,l'")
    qsel.add_argument("--powder", metavar="QMIN:QMAX:N", help="powder average: |Q| from QMIN to QMAX rad/A "
                                                              "(2 pi included) in N shells")
    pw.add_argument("--window", type=positive_int, required=True, help="frames per correlation window (lags 0 .. "
                                                                       "W-1; frequency resolution 1/((2W-1) dt))")
    pw.add_argument("--step", type=positive_int, default=1, help="frames between time origins (default 1)")
    pw.add_argument("--weights", choices=["neutron", "xray", "none"], default="none",
                    help="neutron: scattering lengths of Sears 1992; xray: form factors f0(|q|) of Waasmaier and "
                         "Kirfel 1995; none: every atom weighs 1 (default)")
    pw.add_argument("--per-shell", type=positive_int, default=20, help="--powder: at most this many q per shell, "
                                                                       "drawn at random (default 20)")
    pw.add_argument("--force-constants", help="draw their dispersion over the S(q, omega) map: phonopy folder/file "
                                              "or trajmodes .nc (harmonic or effective) (default: none)")
    pw.add_argument("--no-currents", action="store_true", help="leave out the current correlations")
    pw.add_argument("--no-incoherent", action="store_true", help="leave out the incoherent (self) part")
    pw.add_argument("-o", "--output", default="trajmodes-sqw", help="output folder (default trajmodes-sqw): sqw.nc; "
                                                                  "the figures sqw.png and currents.png along --path, "
                                                                  "sqw_powder.png with --powder")
    add_plot_format(pw)
