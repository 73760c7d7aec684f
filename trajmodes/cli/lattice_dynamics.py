"""``trajmodes phonons`` and ``trajmodes eam``: lattice dynamics of force constants and of EAM potentials."""
from __future__ import annotations

import os
import time
import warnings

from trajmodes.cli.options import qpoint_tokens, step


def qpoint_lines(phonons, primitive, qpoints=None) -> list[str]:
    """The frequencies at ``qpoints`` (the ``--qpoints`` tokens; default the special points of the lattice, once
    each) as :class:`~trajmodes.workflows.qpoints.QpointFormat` prints them, and the format (for other q-points to
    print)."""
    from trajmodes.workflows.qpoints import QpointFormat
    fmt = QpointFormat(primitive)
    q = qpoint_tokens(qpoints) if qpoints else fmt.special_points()
    return fmt.table(q, phonons.frequencies(q)), fmt


def orbit_lines(dos) -> list[str]:
    """The line that says how the projected DOS is grouped: each orbit of symmetry-equivalent primitive atoms (the
    ``orbit`` coordinate of :meth:`trajmodes.Phonons.dos`) with its Wyckoff position and atoms; none for a crystal of
    one orbit."""
    import numpy as np
    if "projected" not in dos or "orbit" not in dos.coords:
        return []
    labels = dos.orbit.values.astype(str)
    if len(set(labels.tolist())) < 2:
        return []
    wyckoff = dos.wyckoff.values.astype(str) if "wyckoff" in dos.coords else None
    groups = []
    for label in dict.fromkeys(labels.tolist()):
        atoms = np.flatnonzero(labels == label)
        site = "" if wyckoff is None or f"({wyckoff[atoms[0]]}" in label else f" on {wyckoff[atoms[0]]}"
        groups.append(f"{label}: atom{'s' if len(atoms) > 1 else ''} {', '.join(map(str, atoms))}{site}")
    return ["projected DOS by orbit (symmetry-equivalent atoms summed in the figure; per atom in dos.nc): "
            + "; ".join(groups)]


def cmd_phonons(args, out) -> int:
    """Band structure, DOS and thermodynamics of force constants: netCDF files and figures."""
    import numpy as np
    from trajmodes.plots import plot_bands_dos, plot_thermal
    from trajmodes.workflows.lattice_dynamics import phonon_properties
    from trajmodes.workflows.outputs import provenance, write_dataset
    from trajmodes.workflows.reading import load_force_constants
    t0 = time.perf_counter()
    fc = load_force_constants(args.fc)
    with step(f"bands, DOS ({args.dos}, mesh {'x'.join(map(str, args.mesh))}) and thermodynamics"):
        res = phonon_properties(fc, path=args.path, npoints=args.npoints, mesh=args.mesh, dos=args.dos,
                                temperatures=args.temperatures)
    pr = fc.primitive
    prov = provenance([args.fc], dict(path=args.path, npoints=args.npoints, mesh=args.mesh, dos=args.dos))
    written = [write_dataset(ds, os.path.join(args.output, name), out, prov)
               for name, ds in (("band.nc", res.bands), ("dos.nc", res.dos), ("thermal.nc", res.thermal))]
    composition = ", ".join(f"{k} x {int((pr.species == k).sum())}" for k in dict.fromkeys(pr.species.tolist()))
    title = (f"{os.path.basename(os.path.normpath(args.fc))}: {composition}, {pr.space_group_symbol} "
             f"(No. {pr.space_group_number}), supercell {fc.smap.matrix.tolist()}")
    fig1 = os.path.join(args.output, f"bands_dos.{args.plot_format}")
    fig2 = os.path.join(args.output, f"thermal.{args.plot_format}")
    with step("drawing the figures"):
        plot_bands_dos(res.bands, res.dos, out(fig1), title=title)
        plot_thermal(res.thermal, out(fig2), title=title, n_modes=res.phonons.n_branches)
    written += [fig1, fig2]
    f, fb, thermal = res.mesh_frequencies, res.bands.frequency.values, res.thermal
    imag = res.imaginary(args.imaginary_tol)
    mesh = "x".join(map(str, args.mesh))
    lines = [f"force constants: {args.fc} ({fc.layout} layout, {fc.n_atoms}-atom supercell, matrix "
             f"{fc.smap.matrix.tolist()}, ASR violation {fc.asr_violation():.2e} eV/A^2)",
             f"primitive cell:  {pr.n_atoms} atoms ({composition}), space group {pr.space_group_symbol} "
             f"(No. {pr.space_group_number})",
             f"mesh {mesh} ({len(res.mesh_q)} q): frequencies {f.min():.4f} .. {f.max():.4f} THz; "
             f"band path {' '.join(res.bands.attrs['tick_labels'])}: {fb.min():.4f} .. {fb.max():.4f} THz",
             "acoustic modes at Gamma: " + ", ".join(f"{x:.2e}" for x in res.phonons.frequencies([0, 0, 0])[0][:3])
             + " THz"]
    lines += orbit_lines(res.dos)
    table, fmt = qpoint_lines(res.phonons, pr, args.qpoints)
    lines += table
    if imag.count:
        lines.append(f"WARNING: {imag.count} imaginary modes on the mesh (below -{args.imaginary_tol:g} THz), lowest "
                     f"{imag.lowest:.4f} THz at q = {fmt.describe(imag.qpoint)}")
    else:
        lines.append(f"no imaginary modes (none below -{args.imaginary_tol:g} THz on the mesh)")
    i300 = int(np.argmin(np.abs(thermal.temperature.values - 300.0)))
    lines.append(f"thermal ({res.dos.attrs['method']} DOS, {mesh} mesh): zero-point energy "
                 f"{float(thermal.zero_point_energy):.4f} kJ/mol; at {thermal.temperature.values[i300]:g} K "
                 f"F = {float(thermal.free_energy[i300]):.4f} kJ/mol, S = {float(thermal.entropy[i300]):.4f}, "
                 f"Cv = {float(thermal.heat_capacity[i300]):.4f} J/(K mol) per primitive cell")
    lines.append(f"wrote {', '.join(written)} in {time.perf_counter() - t0:.2f} s")
    print("\n".join(lines))
    return 0


def cmd_eam(args, out) -> int:
    """Analytic force constants of an EAM potential for a cubic crystal: BvK shell constants with the
    pair / embedding breakdown, force constants netCDF, band structure and a BvK comparison plot."""
    import numpy as np
    from trajmodes.plots import plot_bands_dos, plot_bvk
    from trajmodes.workflows.lattice_dynamics import eam_crystal, harmonic_bands, shell_constants_of
    from trajmodes.workflows.outputs import provenance, write_dataset
    t0 = time.perf_counter()
    structure = args.structure.lower()
    species = args.element.split(",") if args.element else None
    if len(set(args.supercell)) != 1:
        raise ValueError(f"--supercell {','.join(map(str, args.supercell))}: eam builds cubes of conventional cells; "
                         "give N or N,N,N")
    args.supercell = int(args.supercell[0])
    with step(f"{args.constants} force constants of {os.path.basename(args.potential)} ({structure}, a = {args.a:g} A)"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)           # the curvature check is printed below
            res = eam_crystal(args.potential, structure, args.a, species=species, supercell=args.supercell,
                              method=args.constants, step=args.displacement)
    pot, species = res.potential, list(res.species)
    prov = provenance([args.potential], dict(structure=structure, a=args.a, element=species,
                                             supercell=args.supercell, method=args.constants, step=args.displacement))
    lines = [f"potential: {pot.paths[0]} ({pot.style}, elements {', '.join(pot.elements)}, cutoff {pot.cutoff:g} A)",
             f"crystal:   {structure} {species[0] + '3' + species[1] if structure == 'l12' else species[0]}, "
             f"a = {args.a:g} A, {args.supercell}^3 conventional-cell supercell"]
    name = os.path.basename(args.potential)
    if res.curvature is not None:
        lines.append(("" if res.curvature.consistent or res.method != "analytic" else "warning: ")
                     + res.curvature.message(name, advice=res.method == "analytic"))
    if res.method == "finite-difference":
        lines.append(f"force constants: central differences of the forces, h = {args.displacement:g} A")
    written = []
    fc = res.force_constants
    if res.shells is not None:
        ds = res.shells
        total = ds["value"].sel(part="total")
        summed = ds["value"].sel(part="pair") + ds["value"].sel(part="e12") + ds["value"].sel(part="e3")
        lines.append("BvK shell constants (N/m, = -Phi; Riffe et al., Table I), total = pair + e12 + e3 = "
                     f"effective_pair + e3 (max |difference| {float(np.nanmax(np.abs(total - summed))):.1e}):")
        parts = list(ds["part"].values)
        width = max(15, max(len(str(p)) for p in parts) + 2)
        lines.append(f"  {'const':6s}{'symbol':>10s}" + "".join(f"{p:>{width}s}" for p in parts))
        for k, name in enumerate(ds["constant"].values):
            lines.append(f"  {str(name):6s}{str(ds['paper_symbol'].values[k]):>10s}"
                         + "".join(f"{float(ds['value'].sel(part=p).values[k]):{width}.4f}" for p in parts))
        lines.append("closed-form one-atom dynamical matrix (Riffe et al., eqs. 44 and 48) vs supercell route: "
                     f"max |dD| {res.closed_form_deviation:.1e} eV/(A^2 amu)")
        written.append(write_dataset(ds, os.path.join(args.output, "bvk.nc"), out, prov))
        sources = {"EAM (analytic)": ds.sel(part="total")}
        if "finite_difference" in ds["part"].values:
            sources[f"EAM (finite differences, h = {args.displacement:g} A)"] = ds.sel(part="finite_difference")
        for path in args.compare or []:
            sources[os.path.basename(os.path.normpath(path))] = shell_constants_of(path, lattice=structure)
        fig = os.path.join(args.output, f"bvk.{args.plot_format}")
        plot_bvk(sources, out(fig), title=f"{os.path.basename(args.potential)}: {structure} a = {args.a:g} A")
        written.append(fig)
        names = [str(c) for c in ds["constant"].values]
        for label, other in list(sources.items())[1:]:
            ov = dict(zip(map(str, other["constant"].values), other["value"].values))
            lines.append(f"  vs {label}: " + ", ".join(f"{c} {ov.get(c, np.nan):.3f}" for c in names[:5]) + " ...")
    else:
        lines.append("BvK shell constants need a one-atom fcc/bcc crystal: skipped for " + structure)
        if args.compare:
            lines.append("--compare ignored (the BvK comparison is for fcc/bcc)")
    target = os.path.join(args.output, "fc.nc")
    fc.write(out(target), "netcdf", attrs=prov)
    written.append(target)
    with step(f"band structure and DOS (mesh {'x'.join(map(str, args.mesh))})"):
        ph, bands, dos = harmonic_bands(fc, args.path, npoints=args.npoints, mesh=args.mesh)
    fb = bands.frequency.values
    fig = os.path.join(args.output, f"bands_dos.{args.plot_format}")
    with step("drawing the figures"):
        plot_bands_dos(bands, dos, out(fig), title=f"{os.path.basename(args.potential)}: {structure} "
                                                   f"a = {args.a:g} A (analytic EAM)")
    written.append(fig)
    lines.append(f"force constants: ASR violation {fc.asr_violation():.1e} eV/A^2; band path "
                 f"{' '.join(bands.attrs['tick_labels'])}: {fb.min():.4f} .. {fb.max():.4f} THz")
    lines += qpoint_lines(ph, fc.primitive, args.qpoints)[0]
    lines.append(f"wrote {', '.join(written)} in {time.perf_counter() - t0:.2f} s")
    print("\n".join(lines))
    return 0


def add_phonons_parser(add) -> None:
    """The parser of ``trajmodes phonons`` (``add``: the command adder of :func:`trajmodes.cli.app.build_parser`)."""
    from trajmodes.cli.options import HARMONIC_MESH, QPOINTS_HELP, add_plot_format, mesh, positive, positive_int, temperatures
    pp = add("phonons", cmd_phonons, "band structure, DOS and thermodynamics of force constants: netCDF files "
                                     "and figures",
             example="trajmodes phonons examples/fc/cu_eam --path 'GXU|KGL' -o ph")
    pp.add_argument("fc", metavar="FC_PATH", help="force constants: a phonopy folder (phonopy_params.yaml / "
                                                  "phonopy.yaml + FORCE_CONSTANTS or fc2.hdf5), one of those "
                                                  "files, or a trajmodes .nc file")
    pp.add_argument("--path", help="band path as special-point letters, pieces split by '|', e.g. 'GXU|KGL' "
                                   "(G = Gamma); default: the standard path of the Bravais lattice")
    pp.add_argument("--npoints", type=positive_int, default=51, help="q-points per path segment (default 51)")
    pp.add_argument("--mesh", type=mesh, default=[HARMONIC_MESH] * 3,
                    help=f"q mesh for DOS and thermodynamics: N or N1,N2,N3 (default {HARMONIC_MESH})")
    pp.add_argument("--dos", choices=["tetrahedron", "gaussian"], default="tetrahedron",
                    help="DOS method (default tetrahedron)")
    pp.add_argument("--temperatures", type=temperatures, default=None,
                    help="TMIN:TMAX:STEP (TMAX included) or T1,T2,... in K (default 0:1000:10)")
    pp.add_argument("--imaginary-tol", type=positive, default=1e-2, help="modes below -TOL THz are reported as "
                                                                          "imaginary (default 0.01)")
    pp.add_argument("--qpoints", nargs="+", metavar="Q", help=QPOINTS_HELP)
    pp.add_argument("-o", "--output", default="trajmodes-phonons", help="output folder (default trajmodes-phonons): "
                                                                          "band.nc, dos.nc, thermal.nc and the figures "
                                                                          "bands_dos.png, thermal.png")
    add_plot_format(pp)


def add_eam_parser(add) -> None:
    """The parser of ``trajmodes eam`` (``add``: the command adder of :func:`trajmodes.cli.app.build_parser`)."""
    from trajmodes.cli.options import HARMONIC_MESH, QPOINTS_HELP, add_plot_format, mesh, positive, positive_int, supercell_dims
    pe = add("eam", cmd_eam, "analytic force constants of an EAM potential (LAMMPS eam, eam/alloy, eam/fs) for a "
                             "cubic crystal: BvK shell constants and their pair/embedding split, netCDF and plots",
             example="trajmodes eam Cu_u3.eam --structure fcc --a 3.615 --supercell 5 -o cu-eam")
    pe.add_argument("potential", metavar="POTENTIAL", help="LAMMPS EAM file (*.eam, *.eam.alloy, *.eam.fs)")
    pe.add_argument("--structure", choices=["fcc", "bcc", "l12"], default="fcc", help="crystal (default fcc)")
    pe.add_argument("--a", type=positive, required=True, help="cubic lattice constant in A")
    pe.add_argument("--species", dest="element",
                    help="element (fcc/bcc; default the potential's first) or A,B for l12 A3B")
    pe.add_argument("--supercell", type=supercell_dims, default=[5, 5, 5],
                    help="N or N,N,N conventional cells: a cube (default 5)")
    pe.add_argument("--constants", choices=["analytic", "finite-difference"], default="analytic",
                    help="which force constants: the curvature of the splines (analytic, default) or central "
                         "differences of the forces (finite-difference: what MD and finite-displacement codes see; "
                         "the analytic ones are always checked against them)")
    pe.add_argument("--displacement", type=positive, default=0.01,
                    help="finite-difference displacement in A (default 0.01)")
    pe.add_argument("--compare", nargs="+", metavar="FC", help="force constants to compare BvK constants with: "
                                                               "phonopy folders/files or trajmodes .nc "
                                                               "(default: none)")
    pe.add_argument("--path", help="band path as special-point letters (default: standard)")
    pe.add_argument("--npoints", type=positive_int, default=51, help="q-points per path segment (default 51)")
    pe.add_argument("--mesh", type=mesh, default=[HARMONIC_MESH] * 3,
                    help=f"q mesh for the DOS: N or N1,N2,N3 (default {HARMONIC_MESH})")
    pe.add_argument("--qpoints", nargs="+", metavar="Q", help=QPOINTS_HELP)
    pe.add_argument("-o", "--output", default="trajmodes-eam", help="output folder (default trajmodes-eam): fc.nc and "
                                                                  "bands_dos.png; fcc and bcc also bvk.nc and bvk.png")
    add_plot_format(pe)
