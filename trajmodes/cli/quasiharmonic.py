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


def add_qha_parser(add) -> None:
    """The parser of ``trajmodes qha`` (``add``: the command adder of :func:`trajmodes.cli.app.build_parser`)."""
    from trajmodes.cli.options import HARMONIC_MESH, add_plot_format, mesh, positive, temperatures
    pq = add("qha", cmd_qha, "quasiharmonic free-energy minimisation with a pair or three-body potential: lattice "
                             "parameters, thermal expansion, bulk moduli, Grueneisen parameter and C_P against T",
             example="trajmodes qha examples/potentials/Si_SW1985.sw --structure diamond --a 5.431 "
                     "--temperatures 0:1500:100 "
                     "--mesh 8 -o si-qha")
    pq.add_argument("potential", metavar="POTENTIAL", help="LAMMPS Stillinger-Weber file (*.sw), or a pair potential "
                                                          "lj/cut:epsilon,sigma,cutoff | morse:D0,alpha,r0,cutoff | "
                                                          "buck:A,rho,C,cutoff (metal units)")
    from trajmodes.workflows.quasiharmonic import STRUCTURES
    pq.add_argument("--structure", choices=STRUCTURES, default="diamond", help="crystal (default diamond)")
    pq.add_argument("--species", help="element(s) of the crystal, A or A,B (default: the potential file's)")
    pq.add_argument("--a", type=positive, required=True, help="starting lattice parameter a in A")
    pq.add_argument("--c", type=positive, help="starting c in A (hexagonal structures; default ideal)")
    pq.add_argument("--u", type=positive, help="starting internal coordinate u (lonsdaleite, wurtzite; default 3/8)")
    pq.add_argument("--temperatures", type=temperatures, default=temperatures("0:1500:50"),
                    help="TMIN:TMAX:STEP (TMAX included) or T1,T2,... in K (default 0:1500:50)")
    pq.add_argument("--mesh", type=mesh, default=[HARMONIC_MESH] * 3,
                    help=f"q mesh of the free energy: N or N1,N2,N3 (default {HARMONIC_MESH})")
    pq.add_argument("--occupation", choices=["quantum", "classical"], default="quantum",
                    help="quantum (Bose-Einstein, zero-point energy; default) or classical (as classical MD samples)")
    pq.add_argument("--pressure", type=float, default=0.0, help="GPa (default 0)")
    pq.add_argument("--internal", choices=["relax", "zsisa", "fixed"], default="relax",
                    help="internal coordinates: relax with the free energy (default), zsisa (zero static internal "
                         "stress), or fixed fractions")
    pq.add_argument("-o", "--output", default="trajmodes-qha", help="output folder (default trajmodes-qha): qha.nc and "
                                                                  "the figure qha.png")
    add_plot_format(pq)
