"""``trajmodes conductivity``: the Green-Kubo thermal conductivity of the heat current an MD run wrote."""
from __future__ import annotations

import os
import time

from trajmodes.cli.options import read_trajectory, step, write_dataset


def cmd_conductivity(args, out) -> int:
    """Green-Kubo conductivity by cepstral analysis, with the running integral and, asked for, the tensor: netCDF
    files and a figure."""
    import numpy as np
    from trajmodes.plots import plot_green_kubo, plot_modal_conductivity
    from trajmodes.workflows import heat_current_conductivity, provenance, sniff
    t0 = time.perf_counter()
    if len(args.files) == 1 and sniff(args.files[0]) not in ("lammps", "netcdf"):
        source, name = args.files[0], args.files[0]             # a table or log of the current the run wrote
        what = f"reading the heat current of {name} and its cepstral analysis"
    else:
        source, name = read_trajectory(args), ", ".join(args.files)
        what = f"the heat current of every frame of {name} (one pass) and its cepstral analysis" + (
            ", then its split over the modes (a second pass)" if args.force_constants else "")
    with step(what):
        res = heat_current_conductivity(source, current=args.current, others=tuple(args.other or ()),
                                        temperature=args.temperature, volume=args.volume,
                                        md_timestep=args.md_timestep, frame_interval=args.frame_interval,
                                        units=args.units, fstar=args.fstar,
                                        cutoff=None if args.coefficients is None else args.coefficients - 1,
                                        tensor=args.tensor, max_time=args.max_time,
                                        force_constants=args.force_constants)
    c = res.cepstral
    settings = dict(current=args.current, others=args.other, fstar=args.fstar, coefficients=args.coefficients,
                    temperature=res.temperature, volume=res.volume, frame_interval=res.dt)
    prov = provenance(list(args.files) + ([args.force_constants] if args.force_constants else []), settings)
    written = [write_dataset(c, os.path.join(args.output, "cepstral.nc"), out, prov),
               write_dataset(res.integral, os.path.join(args.output, "green_kubo.nc"), out, prov)]
    if res.tensor is not None:
        written.append(write_dataset(res.tensor, os.path.join(args.output, "tensor.nc"), out, prov))
    fig = os.path.join(args.output, f"conductivity.{args.plot_format}")
    rows = len(res.current)
    title = (f"{os.path.basename(args.files[0])}: {rows} rows every {res.dt:g} ps "
             f"({rows * res.dt:g} ps), {res.temperature:.6g} K, {res.volume:.6g} A^3")
    with step("drawing the figure"):
        plot_green_kubo(c, res.integral, out(fig), title=title)
    written.append(fig)
    if res.modal is not None:
        written.append(write_dataset(res.modal, os.path.join(args.output, "modal.nc"), out, prov))
        modes_fig = os.path.join(args.output, f"modes.{args.plot_format}")
        with step("drawing the modes' figure"):
            plot_modal_conductivity(res.modal, out(modes_fig), title=title)
        written.append(modes_fig)
    n_cur = c.attrs["n_currents"]
    lines = [f"heat current: {res.source}, {rows} rows every {res.dt:g} ps, {rows * res.dt:g} ps"
             + (f"; {n_cur - 1} other current(s) taken out (Bertossa et al., Phys. Rev. Lett. 122, 255901 (2019))"
                if n_cur > 1 else "")]
    lines += [f"  {note}" for note in res.notes]
    lines.append(f"cepstral analysis (Ercole, Marcolongo and Baroni, Sci. Rep. 7, 15835 (2017)): f* = "
                 f"{c.attrs['fstar_THz']:.4g} THz ("
                 + ("the band of 90 % of the current's power; --fstar to set it" if c.attrs["fstar_chosen"] else
                    "given") + f"), {c.sizes['frequency']} frequencies, P* = {c.attrs['cutoff'] + 1} cepstral "
                 f"coefficients ({'given' if c.attrs['cutoff_given'] else 'Akaike criterion'})")
    lines.append(f"kappa = {float(c.kappa):.5g} +- {float(c.kappa_err):.2g} W/(m K)")
    tail = res.integral.kappa_mean.values
    lines.append(f"running Green-Kubo integral{' of the heat current alone' if n_cur > 1 else ''} at "
                 f"{res.integral.time.values[-1]:g} ps: {tail[-1]:.5g} W/(m K) (no error bar: its noise grows as the "
                 "square root of the integration time)")
    if res.tensor is not None:
        k, e = res.tensor.kappa.values, res.tensor.kappa_err.values
        lines.append("tensor (W/(m K), rows x y z):")
        lines += ["  " + "  ".join(f"{k[a, b]:10.4g} +- {e[a, b]:<8.2g}" for b in range(3)) for a in range(3)]
    if res.modal is not None:
        m = res.modal
        branch = np.einsum("saa->s", m.kappa_branch.values) / 3
        lines.append(f"Green-Kubo modal analysis (Lv and Henry, New J. Phys. 18, 013028 (2016)), {m.frequency.size} "
                     f"modes of {os.path.basename(args.force_constants)} at tau = {m.attrs['tau_ps']:g} ps: the modes' "
                     f"shares sum to {np.trace(m.kappa.values) / 3:.5g} W/(m K), the running integral's "
                     f"{np.trace(m.kappa_green_kubo.values) / 3:.5g}")
        lines.append("  by branch (W/(m K)): " + ", ".join(f"{k:.4g}" for k in branch))
    if not np.isfinite(float(c.kappa)):
        lines.append("WARNING: the conductivity is not finite: check the units and the series")
    lines.append(f"wrote {', '.join(written)} in {time.perf_counter() - t0:.2f} s")
    print("\n".join(lines))
    return 0
