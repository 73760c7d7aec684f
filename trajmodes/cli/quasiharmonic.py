"""``trajmodes qha``: quasiharmonic lattice parameters, thermal expansion, bulk moduli, Grueneisen parameter and
heat capacities of a crystal with a pair or three-body potential."""
from __future__ import annotations

import os
import time
import warnings

from trajmodes.cli.options import step


def cmd_qha(args, out) -> int:
    """Minimise the quasiharmonic Gibbs energy at each temperature: a netCDF file, a figure and a table."""
    import numpy as np
    from trajmodes.plots.quasiharmonic import plot_quasiharmonic
    from trajmodes.workflows.outputs import provenance, write_dataset
    from trajmodes.workflows.quasiharmonic import quasiharmonic
    t0 = time.perf_counter()
    label = os.path.basename(args.potential) if os.path.exists(args.potential) else args.potential
    model = quasiharmonic(args.potential, args.structure, args.a, species=args.species.split(",") if args.species
                          else None, c=args.c, u=args.u, mesh=args.mesh, occupation=args.occupation)
    qh, crystal, species = model.calculator, model.crystal, model.species
    T = np.atleast_1d(args.temperatures)
    mesh = "x".join(map(str, args.mesh))
    with step(f"minimising G = Phi_stat + F_vib + pV of {args.structure} ({crystal.n_atoms} atoms) at {len(T)} "
              f"temperature(s) on the {mesh} mesh ({args.occupation} statistics, internal coordinates: "
              f"{args.internal})"):
        with warnings.catch_warnings():                 # an instability is reported in the table below
            warnings.simplefilter("ignore", RuntimeWarning)
            ds = qh.minimize(T, pressure=args.pressure, internal=args.internal)
    prov = provenance([args.potential] if os.path.exists(args.potential) else [],
                      dict(potential=args.potential, structure=args.structure, a=args.a, c=args.c, u=args.u,
                           mesh=args.mesh, occupation=args.occupation, pressure_GPa=args.pressure,
                           internal=args.internal))
    written = [write_dataset(ds, os.path.join(args.output, "qha.nc"), out, prov)]
    fig = os.path.join(args.output, f"qha.{args.plot_format}")
    with step("drawing the figure"):
        plot_quasiharmonic(ds, out(fig), title=f"{label}: {args.structure} {'-'.join(species)}",
                           cube_edge=model.cube_edge)
    written.append(fig)
    lp = ds["lattice_parameters"].values
    cube = model.cube_edge
    cols = (f"{'a (A)':>10}" if cube else f"{'a (A)':>10} {'c (A)':>10}")
    lines = [f"{args.structure} {'-'.join(species)}, {label}; mesh {mesh}, "
             f"{args.occupation} statistics, p = {args.pressure:g} GPa",
             f"{'T (K)':>8} {cols} {'V (A^3/atom)':>13} {'alpha_V (1e-6/K)':>17} "
             f"{'B_T (GPa)':>10} {'B_S (GPa)':>10} {'gamma':>7} {'C_P (kB/atom)':>14}"]
    from trajmodes.units import KB_EV
    gamma = ds["gruneisen"].values
    n_atoms = int(ds.attrs["n_atoms"])
    near = ds["near_instability"].values
    for i, t in enumerate(ds["temperature"].values):
        abc = f"{lp[i, 0] * cube:10.5f}" if cube else f"{lp[i, 0]:10.5f} {lp[i, 2]:10.5f}"
        g = f"{gamma[i]:7.4f}" if np.isfinite(gamma[i]) else f"{'-':>7}"
        lines.append(f"{t:8.1f} {abc} {ds['volume'].values[i] / n_atoms:13.4f} "
                     f"{1e6 * ds['volumetric_expansion'].values[i]:17.4f} {ds['bulk_modulus_t'].values[i]:10.3f} "
                     f"{ds['bulk_modulus_s'].values[i]:10.3f} {g} "
                     f"{ds['heat_capacity_p'].values[i] / KB_EV / n_atoms:14.4f}" + ("  *" if near[i] else ""))
    if near.any():
        lines.append("* near the instability: B_T below 1/4 of its lowest-temperature value, the free-energy minimum "
                     "is about to vanish on heating (alpha and C_P diverge); the quasiharmonic approximation does not "
                     "describe the crystal there")
    if not np.isfinite(gamma).all():
        lines.append(f"gamma = V alpha_V B_T / C_V is 0/0 where C_V = 0 ({args.occupation} statistics at "
                     f"{', '.join(f'{t:g}' for t in ds['temperature'].values[~np.isfinite(gamma)])} K): not given there")
    if ds.attrs["unstable"]:
        lines.append(f"warning: {ds.attrs['unstable']}")
    lines.append(f"wrote {', '.join(written)} in {time.perf_counter() - t0:.2f} s")
    print("\n".join(lines))
    return 0
