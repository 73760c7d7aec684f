"""``trajmodes sqw``: the dynamic structure factor and current correlations of an MD run along a band path, at given
q-points or powder averaged, as a netCDF file and figures."""
from __future__ import annotations

import os
import time

from trajmodes.cli.options import (input_files, qpoint_tokens, read_settings, read_trajectory, step,
                                   write_dataset)


def powder_range(text: str) -> tuple[float, float, int]:
    """``QMIN:QMAX:N``: |Q| from QMIN to QMAX rad/Angstrom (finite, 0 <= QMIN < QMAX) in N shells (a whole number,
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


def powder_qpoints(cell, text: str, per_shell: int, seed: int = 0):
    """The commensurate Cartesian q of ``--powder QMIN:QMAX:N`` in N shells of equal width, at most ``per_shell`` of
    each (drawn at random); (q, shell, edges) of :func:`~trajmodes.modes.scattering_qpoints.spherical_qpoints`, and
    (QMIN, QMAX, N). A range the run cannot resolve, or that asks for more than memory holds, is refused naming
    --powder and what to give instead, before anything large is allocated."""
    import numpy as np
    from trajmodes.modes.scattering_qpoints import spherical_qpoints
    q_min, q_max, n_shells = powder_range(text)
    try:
        q, shell, edges = spherical_qpoints(cell, q_max, n_shells=n_shells, max_per_shell=per_shell, seed=seed,
                                            q_min=q_min)
    except ValueError as exc:
        raise ValueError(f"--powder {text}: {exc}") from None
    if not len(q):
        raise ValueError(f"no q commensurate with the MD cell has {q_min:g} <= |q| <= {q_max:g} rad/Angstrom: the "
                         f"shortest is {2 * np.pi / np.linalg.norm(cell, axis=1).max():.4g} rad/Angstrom; widen --powder")
    return (q, shell, edges), (q_min, q_max, n_shells)


def _weights(name: str):
    return None if name == "none" else name


def cmd_sqw(args, out) -> int:
    """S(q, omega), F(q, t) and the current correlations of a run: ``sqw.nc`` and figures in a folder."""
    import numpy as np
    from trajmodes.io.provenance import provenance
    from trajmodes.modes.scattering_qpoints import cartesian_qpoints, path_qpoints, primitive_of, shell_average
    from trajmodes.modes.structure_factor import dynamic_structure_factor
    if os.path.isfile(args.output):
        raise ValueError(f"-o {args.output} is a file; sqw writes a folder of results")
    t0 = time.perf_counter()
    traj = read_trajectory(args)
    currents = "velocities" in traj.source.fields and not args.no_currents
    cell = np.asarray(traj.reference.cell, float)
    kw = dict(window=args.window, step=args.step, currents=currents, incoherent=not args.no_incoherent,
              weights=_weights(args.weights))
    prim = None
    if args.powder:
        (q, shell, edges), (q_min, q_max, n) = powder_qpoints(cell, args.powder, args.per_shell)
        what = f"{len(q)} q in {n} |Q| shells from {q_min:g} to {q_max:g} rad/A"
    else:
        prim = primitive_of(traj.reference, traj.masses)
        if args.qpoints:
            q = qpoint_tokens(args.qpoints)
            try:                                    # commensurate and resolvable, before the run is read
                cartesian_qpoints(q, cell, prim.cell)
            except ValueError as exc:
                raise ValueError(f"--qpoints: {exc}") from None
            what = f"{len(q)} q-points"
        else:
            from trajmodes.phonons.harmonic.bands import path_pieces
            pieces, labels = path_pieces(prim, args.path)
            q, dist, ticks = path_qpoints(prim, cell, pieces, labels)
            what = f"the {len(q)} commensurate q on {args.path}"
    with step(f"S(q, omega) of {traj.n_frames} frames at {what} (windows of {args.window} frames)"):
        ds = dynamic_structure_factor(traj, q, cartesian=bool(args.powder), primitive=prim, **kw)
    if args.powder:
        ds = shell_average(ds, shell, edges)
    elif not args.qpoints:
        ds = ds.assign_coords(path_distance=("q", dist, {"units": "1/Angstrom (no 2 pi)", "long_name": "band path"}))
        ds.attrs.update(path=args.path, path_tick_distance=np.array([t[0] for t in ticks]),
                        path_tick_labels=",".join(t[1] for t in ticks))
    ds.attrs.update(source=str(traj.source.describe()))
    inputs = input_files(traj, args) + ([args.force_constants] if args.force_constants else [])
    prov = provenance(inputs, dict(read_settings(args, traj), window=args.window, step=args.step,
                                   weights=args.weights, path=args.path, qpoints=args.qpoints, powder=args.powder,
                                   force_constants=args.force_constants, frames=traj.n_frames))
    written = [write_dataset(ds, os.path.join(args.output, "sqw.nc"), out, prov)]
    written += _figures(ds, args, out, prim)
    print(f"{traj.n_frames} frames x {traj.n_atoms} atoms, {what}; windows of {args.window} frames "
          f"({float(ds.time.values[-1]):.3g} ps, frequency resolution {float(ds.frequency.values[1]):.3g} THz), "
          f"time origins every {args.step} frame(s); weights: {ds.attrs['weights']}; "
          f"time axis: {traj.time_axis}")
    print(f"wrote {', '.join(written)} in {time.perf_counter() - t0:.1f} s")
    return 0


def _figures(ds, args, out, prim) -> list[str]:
    from trajmodes.plots.scattering import plot_currents_path, plot_sqw_path, plot_sqw_powder
    title = os.path.basename(str(ds.attrs.get("source", "")))
    fmt = args.plot_format
    if args.powder:
        target = os.path.join(args.output, f"sqw_powder.{fmt}")
        plot_sqw_powder(ds, out(target), title=title)
        return [target]
    if args.qpoints:
        return []                                   # a list of q is no path to draw along: the numbers are in sqw.nc
    bands = rotations = None
    if args.force_constants:
        import numpy as np
        from trajmodes.phonons.harmonic.phonons import Phonons
        from trajmodes.workflows import load_force_constants
        with step(f"dispersion of {args.force_constants} along {args.path}"):
            ph = Phonons(load_force_constants(args.force_constants))
            bands = ph.band_structure(args.path)
            rotations = np.unique(np.asarray(ph.force_constants.primitive.rotations, int), axis=0)
    targets = [os.path.join(args.output, f"sqw.{fmt}")]
    plot_sqw_path(ds, out(targets[0]), title=title, bands=bands, rotations=rotations)
    if "Clqw" in ds:
        targets.append(os.path.join(args.output, f"currents.{fmt}"))
        plot_currents_path(ds, out(targets[-1]), title=title, bands=bands, rotations=rotations)
    return targets
