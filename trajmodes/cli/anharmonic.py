"""``trajmodes anharmonic``: three-phonon linewidths, lifetimes, shifts and thermal conductivity of force
constants with a third-order part."""
from __future__ import annotations

import os
import time

from trajmodes.cli.options import step, write_dataset


def cmd_anharmonic(args, out) -> int:
    """Linewidths, shifts and RTA conductivity on a mesh: a netCDF file, a figure and a table."""
    import numpy as np
    from trajmodes.io.provenance import provenance
    from trajmodes.plots import plot_three_phonon
    from trajmodes.workflows import load_force_constants, three_phonon
    t0 = time.perf_counter()
    fc = load_force_constants(args.fc)
    if fc.fc3 is None:
        raise ValueError(f"{args.fc}: these force constants have no third-order part; fit them with --cutoff3 "
                         "(trajmodes fit) or give phono3py's fc3.hdf5 beside fc2.hdf5")
    mesh = "x".join(map(str, args.mesh))
    method = "tetrahedron" if args.smearing is None else f"Gaussian smearing {args.smearing:g} THz"
    T = np.atleast_1d(args.temperatures)
    with step(f"three-phonon self-energies on the {mesh} mesh ({method}, {args.occupation} occupations, "
              f"{len(T)} temperature(s)) and the RTA conductivity"):
        an, ds = three_phonon(fc, args.mesh, T, args.occupation, args.smearing, kappa=True)
    prov = provenance([args.fc], dict(mesh=args.mesh, smearing=args.smearing, occupation=args.occupation))
    written = [write_dataset(ds, os.path.join(args.output, "anharmonic.nc"), out, prov)]
    fig = os.path.join(args.output, f"anharmonic.{args.plot_format}")
    pr = fc.primitive
    with step("drawing the figure"):
        plot_three_phonon(ds, out(fig), title=f"{os.path.basename(os.path.normpath(args.fc))}: "
                                              f"{pr.space_group_symbol}, {pr.n_atoms}-atom primitive cell")
    written.append(fig)
    lines = [f"force constants: {args.fc} (fc3 on a {fc.n_atoms}-atom supercell); mesh {mesh}: "
             f"{len(an.grid.irreducible)} irreducible q of {an.grid.n_points}; {method}, {args.occupation}",
             f"{'T (K)':>8} {'kappa_xx':>10} {'kappa_yy':>10} {'kappa_zz':>10}  W/(m K) (RTA)   "
             f"median FWHM (THz)   median shift (THz)"]
    f = ds["frequency_harmonic"].values
    ok = f > an.interaction.cutoff_frequency
    for i, t in enumerate(T):
        k = ds["kappa"].values[i]
        lw = ds["linewidth"].values[i][ok]
        sh = ds["frequency_shift"].values[i][ok]
        lines.append(f"{t:8.1f} {k[0, 0]:10.3f} {k[1, 1]:10.3f} {k[2, 2]:10.3f}  {'':15} {np.median(lw):12.5f}"
                     f"{'':8}{np.median(sh):+12.5f}")
    lines.append(f"wrote {', '.join(written)} in {time.perf_counter() - t0:.2f} s")
    print("\n".join(lines))
    return 0
