"""``trajmodes sqw``: the dynamic structure factor and current correlations of an MD run along a band path, at given
q-points or powder averaged, as a netCDF file and figures."""
from __future__ import annotations

import os
import time

from trajmodes.cli.options import (input_files, qpoint_tokens, read_settings, read_trajectory, step,
                                   write_dataset)


def powder_range(text: str) -> tuple[float, float, int]:
    """``QMIN:QMAX:N``: |Q| from QMIN to QMAX rad/Angstrom in N shells."""
    try:
        lo, hi, n = text.split(":")
        lo, hi, n = float(lo), float(hi), int(n)
    except ValueError:
        raise ValueError(f"--powder takes QMIN:QMAX:N (rad/Angstrom, 2 pi included; N shells), not {text!r}") from None
    if not (0 <= lo < hi) or n < 1:
        raise ValueError(f"--powder {text}: need 0 <= QMIN < QMAX and N >= 1 shells")
    return lo, hi, n


def powder_qpoints(cell, q_min: float, q_max: float, n_shells: int, per_shell: int, seed: int = 0):
    """The commensurate Cartesian q with q_min <= |q| <= q_max in ``n_shells`` shells of equal width, at most
    ``per_shell`` of each (drawn at random); (q, shell, edges) as :func:`spherical_qpoints`."""
    import numpy as np
    from trajmodes.modes.scattering_qpoints import spherical_qpoints
    q, _, _ = spherical_qpoints(cell, q_max, n_shells=1)
    norm = np.linalg.norm(q, axis=1)
    edges = np.linspace(q_min, q_max, n_shells + 1)
    keep = norm >= q_min
    q, norm = q[keep], norm[keep]
    shell = np.clip(np.searchsorted(edges, norm, side="right") - 1, 0, n_shells - 1)
    rng = np.random.default_rng(seed)
    pick = [idx if len(idx) <= per_shell else np.sort(rng.choice(idx, per_shell, replace=False))
            for idx in (np.flatnonzero(shell == s) for s in range(n_shells))]
    sel = np.concatenate(pick) if pick else np.zeros(0, int)
    if not len(sel):
        raise ValueError(f"no q commensurate with the MD cell has {q_min:g} <= |q| <= {q_max:g} rad/Angstrom: the "
                         f"shortest is {2 * np.pi / np.linalg.norm(cell, axis=1).max():.4g} rad/Angstrom; widen --powder")
    return q[sel], shell[sel], edges


def _weights(name: str):
    return None if name == "none" else name


def cmd_sqw(args, out) -> int:
    """S(q, omega), F(q, t) and the current correlations of a run: ``sqw.nc`` and figures in a folder."""
    import numpy as np
    from trajmodes.io.provenance import provenance
    from trajmodes.modes.scattering_qpoints import path_qpoints, primitive_of, shell_average
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
        q_min, q_max, n = powder_range(args.powder)
        q, shell, edges = powder_qpoints(cell, q_min, q_max, n, args.per_shell)
        what = f"{len(q)} q in {n} |Q| shells from {q_min:g} to {q_max:g} rad/A"
    else:
        prim = primitive_of(traj.reference, traj.masses)
        if args.qpoints:
            q = qpoint_tokens(args.qpoints)
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
