"""Command-line interface: ``trajmodes info``, ``convert``, ``run``, ``phonons``, ``fit`` and ``eam``."""
from __future__ import annotations

import argparse
import sys
import time
import warnings

import numpy as np


def _add_read_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", help="trajectory file(s): LAMMPS dump(s), XYZ, trajmodes .nc, or any "
                                            "MDAnalysis format")
    p.add_argument("--format", help="lammps, xyz, netcdf, or an MDAnalysis format (default: guessed)")
    p.add_argument("--reference", help="reference crystal: 'first' (default), 'average', or a LAMMPS data / "
                                       "structure file")
    p.add_argument("--units", default="metal", help="LAMMPS unit style of the data (default metal)")
    p.add_argument("--timestep", type=float, help="MD time step in ps (dumps without ITEM: TIME)")
    p.add_argument("--species", help="elements of the LAMMPS types, comma separated (type 1 first), e.g. Cu or Si,Ge")
    p.add_argument("--topology", help="topology file for MDAnalysis formats such as DCD or XTC")
    p.add_argument("--chunk-frames", type=int, help="frames per Dask chunk")


def _open(args):
    import trajmodes
    species = args.species.split(",") if args.species else None
    src = args.files if len(args.files) > 1 else args.files[0]
    return trajmodes.read(src, format=args.format, reference=args.reference, units=args.units,
                          timestep=args.timestep, species=species, topology=args.topology,
                          chunk_frames=args.chunk_frames)


def _fmt_cell(cell) -> list[str]:
    lengths = np.linalg.norm(cell, axis=1)
    a, b, c = cell
    ang = [np.degrees(np.arccos(np.dot(x, y) / np.linalg.norm(x) / np.linalg.norm(y))) for x, y in
           ((b, c), (a, c), (a, b))]
    return [f"  a = {lengths[0]:.5f}  b = {lengths[1]:.5f}  c = {lengths[2]:.5f} A;  "
            f"alpha = {ang[0]:.3f}  beta = {ang[1]:.3f}  gamma = {ang[2]:.3f} deg;  "
            f"volume = {abs(np.linalg.det(cell)):.4f} A^3"]


def cmd_info(args) -> int:
    _report(_open(args), args)
    return 0


def _report(traj, args):
    """Print the summary of ``traj`` (one streamed pass) and return it as an xarray Dataset."""
    from .summary import summarize
    src = traj.source
    out = [f"source:     {src.describe()}",
           f"format:     {src.format} (data in {src.units} units, shown in metal units)",
           f"frames:     {traj.n_frames} (steps {traj.steps[0]} .. {traj.steps[-1]}), "
           f"{traj.timestep:g} ps between frames, {traj.times[-1] - traj.times[0]:g} ps in all",
           f"atoms:      {traj.n_atoms}: " + ", ".join(f"{k} x {int((traj.species == k).sum())}"
                                                      for k in sorted(set(traj.species.tolist()))),
           "masses:     " + ("unknown (pass --species or a reference data file with Masses)"
                             if traj.masses is None else
                             ", ".join(f"{k} {traj.masses[traj.species == k][0]:.4f} amu"
                                       for k in sorted(set(traj.species.tolist())))),
           "fields:     " + ", ".join(src.fields) + (" (positions unwrapped)" if src.unwrapped else "")]
    ref = traj.reference
    if ref.cell is not None:
        out.append("box (reference):")
        out += _fmt_cell(ref.cell)
    print("\n".join(out), flush=True)
    t0 = time.perf_counter()
    s = summarize(traj)
    ref_name = args.reference or ("stored in the cache" if getattr(src, "reference", None) is not None else "first frame")
    lines = []
    if "temperature" in s:
        T = s.temperature.values
        lines.append(f"temperature: {T.mean():.2f} +- {T.std():.2f} K (min {T.min():.2f}, max {T.max():.2f}; "
                     "kinetic, 3N-3 degrees of freedom)")
    lines.append(f"displacements from the reference ({ref_name}):")
    for k in s.species.values:
        m = s.msd.sel(species=k).values
        lines.append(f"  {k}: <u^2> x y z = {m[0]:.5f} {m[1]:.5f} {m[2]:.5f} A^2, rms |u| = "
                     f"{float(s.rms_displacement.sel(species=k)):.4f} A")
    lines.append(f"  largest |u| = {float(s.max_displacement):.4f} A; mean-displacement drift over the run = "
                 f"{np.linalg.norm(s.drift.values[-1] - s.drift.values[0]):.4g} A")
    lines.append(f"(statistics streamed in {time.perf_counter() - t0:.2f} s)")
    print("\n".join(lines))
    return s


def cmd_convert(args) -> int:
    traj = _open(args)
    if args.stride > 1 or args.start or args.stop is not None:
        traj = traj[args.start:args.stop:args.stride]
    t0 = time.perf_counter()
    traj.to_netcdf(args.output, displacements=args.displacements)
    print(f"wrote {args.output}: {traj.n_frames} frames x {traj.n_atoms} atoms "
          f"({'displacements' if args.displacements else 'positions'}, "
          f"{', '.join(f for f in traj.source.fields if f != 'positions')}) in {time.perf_counter() - t0:.2f} s")
    return 0


def cmd_run(args) -> int:
    """The main job: summary, netCDF cache and summary plot; with forces also the effective (TDEP)
    force constants at the simulated temperature and their dispersion (against ``--compare``)."""
    import os
    from .plots import plot_summary
    os.makedirs(args.output, exist_ok=True)
    traj = _open(args)
    s = _report(traj, args)
    cache = os.path.join(args.output, "trajectory.nc")
    traj.to_netcdf(cache)
    from .io._files import atomic_write
    atomic_write(os.path.join(args.output, "summary.nc"), lambda tmp: s.to_netcdf(tmp))
    png = os.path.join(args.output, "summary.png")
    plot_summary(s, png, title=traj.source.describe())
    print(f"wrote {cache}, {os.path.join(args.output, 'summary.nc')}, {png}")
    if traj.forces is None or args.no_fit:
        return 0
    ref = traj.reference
    cutoff2 = args.cutoff2
    if cutoff2 is None and ref.cell is not None:   # the largest pair cutoff the supercell allows, at most 6 A
        cutoff2 = float(min(6.0, 0.49 * np.linalg.norm(ref.cell, axis=1).min()))
    print(f"\neffective force constants at the simulated temperature (r2 = {cutoff2:g} A):")
    fit_args = argparse.Namespace(**vars(args))
    fit_args.__dict__.update(cutoff2=cutoff2, cutoff3=args.cutoff3, mode="sequential", folds=5, cv="blocks",
                             stride=1, n_frames=None, symprec=1e-3, constraints=None,
                             output=os.path.join(args.output, "fc.nc"),
                             path=None, npoints=51, plot_format="png")
    return cmd_fit(fit_args)


def _mesh(text: str) -> list[int]:
    m = [int(x) for x in text.replace("x", ",").split(",") if x.strip()]
    if len(m) == 1:
        m *= 3
    if len(m) != 3 or min(m) < 1:
        raise argparse.ArgumentTypeError(f"mesh must be N or N1,N2,N3 (positive), not {text!r}")
    return m


def _temperatures(text: str) -> np.ndarray:
    """'T' or 'Tmin:Tmax:step' (Tmax included, as phonopy) or 'T1,T2,...' in K."""
    try:
        if ":" in text:
            lo, hi, step = (float(x) for x in text.split(":"))
            if step <= 0 or hi < lo:
                raise ValueError
            return np.arange(lo, hi + 0.5 * step, step)
        return np.array([float(x) for x in text.split(",")])
    except ValueError:
        raise argparse.ArgumentTypeError(f"temperatures must be TMIN:TMAX:STEP or T1,T2,... in K, "
                                         f"not {text!r}") from None


def load_force_constants(path: str):
    """ForceConstants from a trajmodes ``.nc`` file or phonopy files (a folder, a yaml, FORCE_CONSTANTS)."""
    import os
    from .force_constants import ForceConstants
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file or folder")
    if os.path.isfile(path) and path.endswith(".nc"):
        return ForceConstants.from_netcdf(path)
    return ForceConstants.from_phonopy(path)


def cmd_phonons(args) -> int:
    """Band structure, DOS and thermodynamics of force constants: netCDF files and figures."""
    import os
    from .io._files import atomic_write
    from .phonons import Phonons
    from .plots import plot_bands_dos, plot_thermal
    t0 = time.perf_counter()
    fc = load_force_constants(args.fc)
    ph = Phonons(fc)
    pr = fc.primitive
    os.makedirs(args.output, exist_ok=True)
    bands = ph.band_structure(args.path, npoints=args.npoints)
    dos = ph.dos(args.mesh, method=args.dos)
    thermal = ph.thermal_properties(args.temperatures, mesh=args.mesh)
    q, f, _ = ph.mesh(args.mesh)
    written = []
    for name, ds in (("band.nc", bands), ("dos.nc", dos), ("thermal.nc", thermal)):
        target = os.path.join(args.output, name)
        atomic_write(target, lambda tmp, ds=ds: ds.to_netcdf(tmp, engine="netcdf4"))
        written.append(target)
    composition = ", ".join(f"{k} x {int((pr.species == k).sum())}" for k in dict.fromkeys(pr.species.tolist()))
    title = (f"{os.path.basename(os.path.normpath(args.fc))}: {composition}, {pr.space_group_symbol} "
             f"(No. {pr.space_group_number}), supercell {fc.smap.matrix.tolist()}")
    fig1 = os.path.join(args.output, f"bands_dos.{args.format}")
    plot_bands_dos(bands, dos, fig1, title=title)
    fig2 = os.path.join(args.output, f"thermal.{args.format}")
    plot_thermal(thermal, fig2, title=title, n_modes=ph.n_branches)
    written += [fig1, fig2]
    # Gamma's three acoustic modes are zero up to round-off; everything else below -tol is imaginary
    gamma = (np.abs(q - np.rint(q)) < 1e-12).all(axis=1)
    fm = f.copy()
    fm[gamma, :3] = np.abs(fm[gamma, :3])
    fb = bands.frequency.values
    tol = args.imaginary_tol
    n_imag = int((fm < -tol).sum())
    lines = [f"force constants: {args.fc} ({fc.layout} layout, {fc.n_atoms}-atom supercell, matrix "
             f"{fc.smap.matrix.tolist()}, ASR violation {fc.asr_violation():.2e} eV/A^2)",
             f"primitive cell:  {pr.n_atoms} atoms ({composition}), space group {pr.space_group_symbol} "
             f"(No. {pr.space_group_number})",
             f"mesh {'x'.join(map(str, args.mesh))} ({len(q)} q): frequencies {f.min():.4f} .. {f.max():.4f} THz; "
             f"band path {' '.join(bands.attrs['tick_labels'])}: {fb.min():.4f} .. {fb.max():.4f} THz",
             f"acoustic modes at Gamma: {', '.join(f'{x:.2e}' for x in ph.frequencies([0, 0, 0])[0][:3])} THz"]
    if n_imag:
        worst = q[np.unravel_index(np.argmin(fm), fm.shape)[0]]
        lines.append(f"WARNING: {n_imag} imaginary modes on the mesh (below -{tol:g} THz), lowest "
                     f"{fm.min():.4f} THz at q = {np.round(worst, 4).tolist()}")
    else:
        lines.append(f"no imaginary modes (none below -{tol:g} THz on the mesh)")
    i300 = np.argmin(np.abs(thermal.temperature.values - 300.0))
    lines.append(f"thermal ({dos.attrs['method']} DOS, {'x'.join(map(str, args.mesh))} mesh): zero-point energy "
                 f"{float(thermal.zero_point_energy):.4f} kJ/mol; at {thermal.temperature.values[i300]:g} K "
                 f"F = {float(thermal.free_energy[i300]):.4f} kJ/mol, S = {float(thermal.entropy[i300]):.4f}, "
                 f"Cv = {float(thermal.heat_capacity[i300]):.4f} J/(K mol) per primitive cell")
    lines.append(f"wrote {', '.join(written)} in {time.perf_counter() - t0:.2f} s")
    print("\n".join(lines))
    return 0


def cmd_eam(args) -> int:
    """Analytic force constants of an EAM potential for a cubic crystal: BvK shell constants with the
    pair / embedding breakdown, force constants netCDF, band structure and a BvK comparison plot."""
    import os
    from . import bvk
    from .eam import EAM, cubic_dynamical_matrix, cubic_lattice, shell_constant_parts
    from .io._files import atomic_write
    from .phonons import Phonons
    from .plots import plot_bands_dos
    t0 = time.perf_counter()
    pot = EAM(args.potential)
    structure = args.structure.lower()
    if args.element:
        species = args.element.split(",")
    elif structure == "l12":
        if len(pot.elements) != 2:
            raise ValueError("l12 needs --element A,B (A3B) with a potential of two elements")
        species = list(pot.elements)
    else:
        species = pot.elements[:1]
    masses = [float(pot.masses[pot._types([s])[0]]) for s in species]
    os.makedirs(args.output, exist_ok=True)
    lines = [f"potential: {pot.paths[0]} ({pot.style}, elements {', '.join(pot.elements)}, cutoff {pot.cutoff:g} A)",
             f"crystal:   {structure} {species[0] + '3' + species[1] if structure == 'l12' else species[0]}, "
             f"a = {args.a:g} A, {args.supercell}^3 conventional-cell supercell"]
    written = []
    if structure in ("fcc", "bcc"):
        ds, fc = shell_constant_parts(pot, structure, args.a, element=species[0], supercell=args.supercell)
        total = ds["value"].sel(part="total")
        summed = ds["value"].sel(part="pair") + ds["value"].sel(part="e12") + ds["value"].sel(part="e3")
        lines.append(f"BvK shell constants (N/m, = -Phi; 002 Table I), total = pair + e12 + e3 = effective_pair + e3 "
                     f"(max |difference| {float(np.nanmax(np.abs(total - summed))):.1e}):")
        parts = list(ds["part"].values)
        lines.append(f"  {'const':6s}{'symbol':>10s}" + "".join(f"{p:>15s}" for p in parts))
        for k, name in enumerate(ds["constant"].values):
            lines.append(f"  {str(name):6s}{str(ds['paper_symbol'].values[k]):>10s}"
                         + "".join(f"{float(ds['value'].sel(part=p).values[k]):15.4f}" for p in parts))
        # closed form (002 eqs. 44, 48) against the supercell route at commensurate q
        n = args.supercell
        qc = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [1 / n, 0, 0], [2 / n, 1 / n, 0]])
        qr = (qc / args.a) @ fc.primitive.cell.T
        dev = np.abs(cubic_dynamical_matrix(pot, structure, args.a, qc, element=species[0])
                     - Phonons(fc).dynamical_matrix(qr)).max()
        lines.append(f"closed-form one-atom dynamical matrix (002 eqs. 44 + 48) vs supercell route: "
                     f"max |dD| {dev:.1e} eV/(A^2 amu)")
        target = os.path.join(args.output, "bvk.nc")
        atomic_write(target, lambda tmp: ds.to_netcdf(tmp, engine="netcdf4"))
        written.append(target)
        sources = {"EAM (analytic)": ds.sel(part="total")}
        for path in args.compare or []:
            other = load_force_constants(path)
            sources[os.path.basename(os.path.normpath(path))] = bvk.shell_constants(other, lattice=structure)
        fig = os.path.join(args.output, f"bvk.{args.format}")
        bvk.plot_bvk(sources, fig, title=f"{os.path.basename(args.potential)}: {structure} a = {args.a:g} A")
        written.append(fig)
        if len(sources) > 1:
            names = [str(c) for c in ds["constant"].values]
            for label, other in list(sources.items())[1:]:
                ov = dict(zip(map(str, other["constant"].values), other["value"].values))
                lines.append(f"  vs {label}: " + ", ".join(f"{c} {ov.get(c, np.nan):.3f}" for c in names[:5]) + " ...")
    else:
        sc, prim = cubic_lattice(structure, args.a, args.supercell, species, masses=masses)
        fc = pot.force_constants(sc, prim)
        lines.append("BvK shell constants need a one-atom fcc/bcc crystal: skipped for " + structure)
        if args.compare:
            lines.append("--compare ignored (BvK comparison is for fcc/bcc)")
    target = os.path.join(args.output, "fc.nc")
    fc.to_netcdf(target)
    written.append(target)
    ph = Phonons(fc)
    bands = ph.band_structure(args.path, npoints=args.npoints)
    dos = ph.dos(args.mesh)
    fb = bands.frequency.values
    fig = os.path.join(args.output, f"bands_dos.{args.format}")
    plot_bands_dos(bands, dos, fig, title=f"{os.path.basename(args.potential)}: {structure} a = {args.a:g} A "
                                          f"(analytic EAM)")
    written.append(fig)
    lines.append(f"force constants: ASR violation {fc.asr_violation():.1e} eV/A^2; band path "
                 f"{' '.join(bands.attrs['tick_labels'])}: {fb.min():.4f} .. {fb.max():.4f} THz")
    lines.append(f"wrote {', '.join(written)} in {time.perf_counter() - t0:.2f} s")
    print("\n".join(lines))
    return 0


def cmd_fit(args) -> int:
    """Effective (TDEP) force constants from MD forces: scores, the constants as netCDF, a dispersion plot."""
    import os
    import trajmodes
    from .fitting import EffectiveForceConstants
    from .io._files import atomic_write
    from .phonons import Phonons
    from .plots import plot_dispersion_comparison
    t0 = time.perf_counter()
    species = args.species.split(",") if args.species else None
    trajs = [trajmodes.read(f, format=args.format, reference=args.reference, units=args.units,
                            timestep=args.timestep, species=species, topology=args.topology,
                            chunk_frames=args.chunk_frames) for f in args.files]
    est = EffectiveForceConstants(cutoff2=args.cutoff2, cutoff3=args.cutoff3, mode=args.mode, folds=args.folds,
                                  stride=args.stride, n_frames=args.n_frames, symprec=args.symprec, cv=args.cv,
                                  constraints=tuple(c for c in (args.constraints or "").split(",") if c))
    est.fit(trajs if len(trajs) > 1 else trajs[0])
    fc = est.force_constants_
    pr = fc.primitive
    stem = args.output[:-3] if args.output.endswith(".nc") else args.output
    fc.to_netcdf(args.output)
    written = [args.output]
    if est.fc3_ is not None and not _has_variable(args.output, "fc3"):
        import xarray as xr
        ds = xr.Dataset(dict(fc3=(("prim_atom", "atom", "atom2", "xyz", "xyz2", "xyz3"), est.fc3_,
                                  {"units": "eV/Angstrom^3", "layout": "compact (n_prim, N, N, 3, 3, 3)"}),
                             p2s=("prim_atom", fc.p2s)))
        target = stem + ".fc3.nc"
        atomic_write(target, lambda tmp: ds.to_netcdf(tmp, engine="netcdf4"))
        written.append(target)
    scores = est.scores_.copy()
    scores.attrs["units"] = str(scores.attrs.get("units", ""))
    target = stem + ".scores.nc"
    atomic_write(target, lambda tmp: scores.to_netcdf(tmp, engine="netcdf4"))
    written.append(target)
    composition = ", ".join(f"{k} x {int((pr.species == k).sum())}" for k in dict.fromkeys(pr.species.tolist()))
    runs = f"{len(trajs)} trajector{'y' if len(trajs) == 1 else 'ies'}"
    lines = [f"fit: {runs}, {fc.n_atoms}-atom supercell {fc.smap.matrix.tolist()}, primitive "
             f"{composition} ({pr.space_group_symbol}); cutoffs r2 = {args.cutoff2:g} A"
             + (f", r3 = {args.cutoff3:g} A" if args.cutoff3 is not None else "") + f"; {args.mode} fit",
             est.scores_table()]
    bands = Phonons(fc).band_structure(args.path, npoints=args.npoints)
    ref_bands = None
    if args.compare:
        fc0 = load_force_constants(args.compare)
        ref_bands = _bands_on(Phonons(fc0), bands)
        diff = bands.frequency.values - ref_bands.frequency.values
        i = np.unravel_index(np.argmax(np.abs(diff)), diff.shape)
        lines.append(f"against {args.compare}: largest difference {diff[i]:+.4f} THz (branch {i[1]} at "
                     f"q = {np.round(bands.qpoint.values[i[0]], 4).tolist()}), mean {diff.mean():+.4f} THz")
    T = _mean_temperature(trajs)
    label = f"effective{'' if T is None else f' ({T:.0f} K)'}"
    fig = f"{stem}.{args.plot_format}"
    plot_dispersion_comparison(bands, fig, ref_bands, title=f"{os.path.basename(stem)}: {composition}, "
                               f"{args.mode} fit, r2 = {args.cutoff2:g} A", label=label,
                               reference_label=os.path.basename(os.path.normpath(args.compare)) if args.compare
                               else "0 K")
    written.append(fig)
    lines.append(f"wrote {', '.join(written)} in {time.perf_counter() - t0:.2f} s")
    print("\n".join(lines))
    return 0


def _bands_on(ph, bands):
    """Frequencies of ``ph`` on the q-points of ``bands`` (same coordinates)."""
    out = bands.copy()
    out["frequency"] = (("q", "branch"), ph.frequencies(bands.qpoint.values), bands.frequency.attrs)
    return out


def _has_variable(path: str, name: str) -> bool:
    import netCDF4
    with netCDF4.Dataset(path) as ds:
        return name in ds.variables


def _mean_temperature(trajs):
    """Mean kinetic temperature (K) over the runs, or None without velocities and masses."""
    try:
        vals = [float(t.temperature().mean().compute()) for t in trajs]
    except ValueError:
        return None
    return float(np.mean(vals))


# ----------------------------------------------------------------------------- project / lifetimes (issue 5)

def _degenerate_sum(P, H, tol=1e-3):
    """Sum spectra (q, branch, f) over branches of the same q with |harmonic| within tol (what fit_peaks fits)."""
    from .peaks import _degenerate_groups
    out = np.empty_like(P)
    for iq in range(P.shape[0]):
        for g in _degenerate_groups(H[iq], tol):
            out[iq, g] = P[iq, g].sum(axis=0)
    return out


def modes_table(ds) -> str:
    """Per-q/branch table of a ``trajmodes project`` dataset."""
    H = ds["frequency_harmonic"].values
    q = ds.qpoint.values
    g = {k: ds[f"peak_{k}"].values for k in ("frequency", "frequency_err", "shift", "fwhm", "fwhm_err",
                                            "lifetime", "status")}
    eq = ds["equipartition"].values
    star = ds["star"].values if "star" in ds.coords else np.arange(len(q))
    rows = [f"{'q':>4} {'q (reduced)':>22} {'star':>4} {'br':>2} {'harm':>8} {'nu':>8} {'+-':>6} {'shift':>7} "
            f"{'FWHM':>7} {'+-':>6} {'tau ps':>7} {'E/kT':>6}  status"]
    for iq in range(len(q)):
        for ib in range(H.shape[1]):
            rows.append(f"{iq:>4} {str(np.round(q[iq], 4).tolist()) if ib == 0 else '':>22} "
                        f"{int(star[iq]) if ib == 0 else '':>4} {ib:>2} {H[iq, ib]:8.4f} "
                        f"{g['frequency'][iq, ib]:8.4f} {g['frequency_err'][iq, ib]:6.4f} {g['shift'][iq, ib]:+7.4f} "
                        f"{g['fwhm'][iq, ib]:7.4f} {g['fwhm_err'][iq, ib]:6.4f} {g['lifetime'][iq, ib]:7.3f} "
                        f"{eq[iq, ib]:6.3f}  {g['status'][iq, ib]}")
    ok = g["status"] == "ok"
    nt = ~ds["translation"].values
    rows.append(f"{int(ok.sum())} of {ok.size} modes 'ok'; equipartition <E>/(k_B T) over the non-translation "
                f"modes: mean {np.nanmean(eq[nt]):.4f}, min {np.nanmin(eq[nt]):.4f}, max {np.nanmax(eq[nt]):.4f} "
                f"(T = {ds.attrs.get('temperature', float('nan')):.2f} K, {ds.attrs.get('temperature_source', '')}); "
                f"<PE>/<KE> mean {np.nanmean(ds['potential'].values[nt] / ds['kinetic'].values[nt]):.4f}")
    rows.append(f"FWHM and lifetime convention: {ds.attrs.get('peak_convention', '')}; peaks fitted with the "
                f"{ds.attrs.get('peak_model', '')} model"
                + (", averaged over degenerate branches and the star of q" if ds.attrs.get("star_averaged") else
                   ", averaged over degenerate branches"))
    return "\n".join(rows)


def modes_dataset(modes, resolution=0.05, full=False, model="lorentzian", star=True, temperature=None,
                  keep_q=False, window="hann", overlap=0.5, phonons=None):
    """Energies, spectra and peak fits of projected modes merged into one dataset (what ``project`` writes).

    With ``phonons`` (those the modes were projected on) the dataset also holds the harmonic dispersion along
    the default band path and the primitive cell's rotations (:func:`add_path_variables`), so that
    ``trajmodes lifetimes --plot`` can place every q on the path."""
    import trajmodes
    from .peaks import star_average
    energies = trajmodes.mode_energies(modes, temperature=temperature)
    spectra = trajmodes.mode_spectra(modes, resolution=resolution, full=full, window=window, overlap=overlap)
    fitted = star_average(spectra) if star else spectra
    peaks = trajmodes.fit_peaks(fitted, model=model)
    H = np.asarray(spectra["frequency_harmonic"].values, float)
    ds = spectra.copy()
    if star:
        ds = ds.assign_coords(star=fitted["star"], n_star=fitted["n_star"])
    ds["psd_fitted"] = (("q", "branch", "frequency"), _degenerate_sum(fitted["psd"].values, H),
                        dict(fitted["psd"].attrs, long_name="the spectrum the peak fit saw: psd "
                             + ("averaged over the star of q, " if star else "") + "summed over degenerate branches"))
    for n in ("kinetic", "potential", "total", "equipartition", "mode_temperature", "translation"):
        ds[n] = energies[n]
    for n, v in peaks.data_vars.items():
        ds[f"peak_{n}"] = v
    ds.attrs.update({f"spectra_{k}": v for k, v in spectra.attrs.items()})
    ds.attrs.update(temperature=energies.attrs["temperature"], temperature_source=energies.attrs["temperature_source"],
                    peak_model=model, peak_convention=peaks.attrs["convention"], star_averaged=int(bool(star)))
    if keep_q:
        for n in ("Q", "Qdot"):
            a = modes[n]
            ds[f"{n}_real"] = (a.dims, np.asarray(a.values.real), dict(a.attrs))
            ds[f"{n}_imag"] = (a.dims, np.asarray(a.values.imag), dict(a.attrs))
        ds = ds.assign_coords(time=modes["time"])
    if phonons is not None:
        ds = add_path_variables(ds, phonons)
    for k, v in list(ds.attrs.items()):
        if isinstance(v, (bool, np.bool_)):
            ds.attrs[k] = int(v)
    return ds


def add_path_variables(ds, phonons, npoints: int = 51):
    """``ds`` with the harmonic band path of ``phonons`` and the rotations of their primitive cell.

    Variables: ``path_frequency`` (path_q, branch) THz, coordinates ``path_distance``, ``path_qpoint``
    (path_q, reduced), ``path_segment``, ``path_label``; ``rotations`` (operation, row, column), the
    primitive cell's point-group rotations in its fractional coordinates (spglib's, x' = R x). Attrs
    ``path_tick_distance`` and ``path_tick_labels`` (comma separated)."""
    bands = phonons.band_structure(npoints=npoints)
    rot = np.unique(np.asarray(phonons.fc.primitive.rotations, int), axis=0)
    out = ds.assign(path_frequency=(("path_q", "branch"), bands.frequency.values,
                                    {"units": "THz", "long_name": "harmonic frequency along the band path"}),
                    rotations=(("operation", "row", "column"), rot,
                               {"units": "1", "long_name": "point-group rotations of the primitive cell, "
                                                          "fractional coordinates (x' = R x); q' = R^-T q"}))
    out = out.assign_coords(path_distance=("path_q", bands.distance.values, dict(bands.distance.attrs)),
                            path_qpoint=(("path_q", "reduced"), bands.qpoint.values, dict(bands.qpoint.attrs)),
                            path_segment=("path_q", bands.segment.values),
                            path_label=("path_q", bands.label.values.astype(str)))
    out.attrs.update(path_tick_distance=np.asarray(bands.attrs["tick_distance"], float),
                     path_tick_labels=",".join(map(str, bands.attrs["tick_labels"])))
    return out


def path_reference(ds, force_constants=None):
    """(bands, rotations, note) for :func:`trajmodes.plots.plot_linewidth_dispersion` from a project file.

    The path stored by ``project``; for older files without it, recomputed from ``force_constants`` (default:
    the file's ``force_constants`` attribute) when those can be read; else (None, None, a note why)."""
    import os
    import xarray as xr
    if "path_frequency" in ds and "rotations" in ds:
        bands = xr.Dataset({"frequency": (("q", "branch"), ds["path_frequency"].values)},
                           coords=dict(distance=("q", ds["path_distance"].values),
                                       qpoint=(("q", "reduced"), ds["path_qpoint"].values),
                                       segment=("q", ds["path_segment"].values),
                                       label=("q", ds["path_label"].values.astype(str))),
                           attrs=dict(tick_distance=[float(x) for x in np.atleast_1d(ds.attrs["path_tick_distance"])],
                                      tick_labels=str(ds.attrs["path_tick_labels"]).split(",")))
        return bands, ds["rotations"].values, ""
    fc = force_constants or ds.attrs.get("force_constants")
    if fc and os.path.exists(str(fc)):
        from .phonons import Phonons
        ph = Phonons(load_force_constants(str(fc)))
        ref = add_path_variables(ds[["peak_frequency"]], ph)
        bands, rot, _ = path_reference(ref)
        return bands, rot, f"path from {fc}"
    return None, None, ("no band path in this file (written before it was stored) and its force constants "
                        f"{fc!r} not found: q by index")


def cmd_project(args) -> int:
    """Project a trajectory onto phonon modes: energies, spectra, peak fits in one netCDF, and the table."""
    import trajmodes
    from .io._files import atomic_write
    from .phonons import Phonons
    t0 = time.perf_counter()
    traj = _open(args)
    ph = Phonons(load_force_constants(args.force_constants))
    modes = trajmodes.project(traj, ph)
    ds = modes_dataset(modes, resolution=args.resolution, full=args.full, model=args.model, star=not args.no_star,
                       temperature=args.temperature, keep_q=args.keep_q, phonons=ph)
    ds.attrs.update(source=str(traj.source.describe()), force_constants=str(args.force_constants))
    atomic_write(args.output, lambda tmp: ds.to_netcdf(tmp, engine="netcdf4"))
    print(modes_table(ds))
    print(f"{traj.n_frames} frames x {modes.sizes['q']} q x {modes.sizes['branch']} branches; spectra "
          f"{'full resolution' if args.full else 'Welch'} ({ds.attrs['spectra_resolution_thz']:.4f} THz bins, "
          f"{ds.attrs['spectra_n_segments']} segment(s)); wrote {args.output} in {time.perf_counter() - t0:.2f} s")
    return 0


def _parse_modes(text, nq, nb):
    out = []
    for item in text.split(","):
        try:
            a, b = item.split(":")
            iq, ib = int(a), int(b)
        except ValueError:
            raise ValueError(f"--modes takes q:branch pairs (q index, branch index) separated by commas, "
                             f"not {item!r}") from None
        if not (0 <= iq < nq and 0 <= ib < nb):
            raise ValueError(f"mode {item!r} out of range: q index 0..{nq - 1}, branch 0..{nb - 1}")
        out.append((iq, ib))
    return out


def _default_modes(ds, n=6):
    """The highest branch of the first stars with an 'ok' fit, then the lowest: up to n modes."""
    st = ds["peak_status"].values.astype(str)
    star = ds["star"].values if "star" in ds.coords else np.arange(st.shape[0])
    picked, seen = [], set()
    for ib in (st.shape[1] - 1, 0):
        for iq in range(st.shape[0]):
            if st[iq, ib] == "ok" and (star[iq], ib) not in seen and len(picked) < n:
                seen.add((star[iq], ib))
                picked.append((iq, ib))
                if len(picked) >= (n // 2 if ib else n):
                    break
    return picked or [(min(1, st.shape[0] - 1), st.shape[1] - 1)]


def cmd_lifetimes(args) -> int:
    """Read a ``trajmodes project`` file back: the table and, with --plot, the figures."""
    import os
    import xarray as xr
    from .plots import plot_linewidth_dispersion, plot_mode_fits, plot_sed
    if not os.path.exists(args.modes_file):
        raise FileNotFoundError(f"{args.modes_file}: no such file")
    with xr.open_dataset(args.modes_file) as f:
        ds = f.load()
    if "peak_frequency" not in ds:
        raise ValueError(f"{args.modes_file} is not a 'trajmodes project' file (no peak_frequency)")
    print(modes_table(ds))
    if args.plot:
        stem = args.output or (args.modes_file[:-3] if args.modes_file.endswith(".nc") else args.modes_file)
        nq, nb = ds["peak_frequency"].shape
        chosen = _parse_modes(args.modes, nq, nb) if args.modes else _default_modes(ds)
        title = os.path.basename(str(ds.attrs.get("source", args.modes_file)))
        figs = [f"{stem}_fits.{args.format}", f"{stem}_dispersion.{args.format}", f"{stem}_sed.{args.format}"]
        plot_mode_fits(ds, chosen, figs[0], title=title)
        bands, rotations, note = path_reference(ds, args.force_constants)
        if note:
            print(f"dispersion plot: {note}")
        plot_linewidth_dispersion(ds, figs[1], title=title, bands=bands, rotations=rotations, note=note)
        plot_sed(ds, figs[2], title=title)
        print(f"wrote {', '.join(figs)}")
    return 0


def _add_modes_parsers(sub) -> None:
    pj = sub.add_parser("project", help="project an MD trajectory onto phonon modes: mode energies, spectra, "
                                        "peak frequencies, linewidths and lifetimes in one netCDF")
    _add_read_options(pj)
    pj.add_argument("--force-constants", required=True, help="force constants: phonopy folder/file or trajmodes .nc")
    pj.add_argument("--resolution", type=float, default=0.05, help="Welch frequency bin in THz (default 0.05)")
    pj.add_argument("--full", action="store_true", help="one periodogram over the whole run (resolution 1/T)")
    pj.add_argument("--model", choices=["lorentzian", "dho", "lorentzian_windowed", "dho_windowed"],
                    default="lorentzian", help="peak model (default lorentzian); *_windowed: the expected "
                                               "windowed periodogram of the line, for FWHM near the resolution")
    pj.add_argument("--no-star", action="store_true", help="do not average the spectra over the star of q")
    pj.add_argument("--temperature", type=float, help="K, for the equipartition ratio (default: kinetic)")
    pj.add_argument("--keep-q", action="store_true", help="also store the Q and Qdot time series (real/imag)")
    pj.add_argument("-o", "--output", default="modes.nc", help="output netCDF (default modes.nc)")
    pj.set_defaults(func=cmd_project)
    pl = sub.add_parser("lifetimes", help="table and plots of a 'trajmodes project' file")
    pl.add_argument("modes_file", metavar="MODES_NC")
    pl.add_argument("--plot", action="store_true", help="spectra with fits, dispersion with FWHM bars, SED map")
    pl.add_argument("--modes", help="modes to plot with their fit: q:branch,... (q index as in the table)")
    pl.add_argument("-o", "--output", help="figure file prefix (default: the input without .nc)")
    pl.add_argument("--format", choices=["png", "pdf"], default="png", help="figure format (default png)")
    pl.add_argument("--force-constants", help="for files written before 'project' stored the band path: the "
                                              "force constants to draw it from (default: the path in the file)")
    pl.set_defaults(func=cmd_lifetimes)


def build_parser() -> argparse.ArgumentParser:
    from . import __version__
    p = argparse.ArgumentParser(prog="trajmodes", description="Phonons at the simulated temperature from MD "
                                                               "trajectories of crystals.")
    p.add_argument("--version", action="version", version=f"trajmodes {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    pi = sub.add_parser("info", help="frames, atoms, box, time step, temperature and displacement statistics")
    _add_read_options(pi)
    pi.set_defaults(func=cmd_info)
    pc = sub.add_parser("convert", help="write the trajectory as a chunked netCDF4 cache (fast re-reads)")
    _add_read_options(pc)
    pc.add_argument("-o", "--output", required=True, help="output .nc file")
    pc.add_argument("--displacements", action="store_true", help="store displacements from the reference "
                                                                 "instead of positions")
    pc.add_argument("--start", type=int, default=0, help="first frame")
    pc.add_argument("--stop", type=int, help="frame to stop before")
    pc.add_argument("--stride", type=int, default=1, help="keep every n-th frame")
    pc.set_defaults(func=cmd_convert)
    pr = sub.add_parser("run", help="the main job: summary, netCDF cache and plots in an output folder")
    _add_read_options(pr)
    pr.add_argument("-o", "--output", default="trajmodes-out", help="output folder (default trajmodes-out)")
    pr.add_argument("--cutoff2", type=float, help="pair cutoff of the effective fit in A (default: "
                                                  "min(6, 0.49 x the shortest supercell vector))")
    pr.add_argument("--cutoff3", type=float, help="triplet cutoff of the effective fit in A (default: none)")
    pr.add_argument("--compare", help="0 K force constants to plot the effective dispersion against "
                                      "(phonopy folder/file or trajmodes .nc)")
    pr.add_argument("--no-fit", action="store_true", help="skip the effective force constants")
    pr.set_defaults(func=cmd_run)
    pp = sub.add_parser("phonons", help="band structure, DOS and thermodynamics of force constants: "
                                        "netCDF files and figures")
    pp.add_argument("fc", metavar="FC_PATH", help="force constants: a phonopy folder (phonopy_params.yaml / "
                                                  "phonopy.yaml + FORCE_CONSTANTS or fc2.hdf5), one of those "
                                                  "files, or a trajmodes .nc file")
    pp.add_argument("--path", help="band path as special-point letters, pieces split by '|', e.g. 'GXU|KGL' "
                                   "(G = Gamma); default: the standard path of the Bravais lattice")
    pp.add_argument("--npoints", type=int, default=51, help="q-points per path segment (default 51)")
    pp.add_argument("--mesh", type=_mesh, default=[20, 20, 20], help="q mesh for DOS and thermodynamics: N or "
                                                                    "N1,N2,N3 (default 20)")
    pp.add_argument("--dos", choices=["tetrahedron", "gaussian"], default="tetrahedron",
                    help="DOS method (default tetrahedron)")
    pp.add_argument("--temperatures", type=_temperatures, default=_temperatures("0:1000:10"),
                    help="TMIN:TMAX:STEP (TMAX included) or T1,T2,... in K (default 0:1000:10)")
    pp.add_argument("--imaginary-tol", type=float, default=1e-2, help="modes below -TOL THz are reported as "
                                                                      "imaginary (default 0.01)")
    pp.add_argument("-o", "--output", default="trajmodes-phonons", help="output folder (default trajmodes-phonons)")
    pp.add_argument("--format", choices=["png", "pdf"], default="png", help="figure format (default png)")
    pp.set_defaults(func=cmd_phonons)
    pf = sub.add_parser("fit", help="effective (TDEP) 2nd- and 3rd-order force constants from MD forces: "
                                    "scores, netCDF and the effective dispersion")
    _add_read_options(pf)
    pf.set_defaults(reference=None)
    pf.add_argument("--cutoff2", type=float, default=6.0, help="pair cutoff in A (default 6)")
    pf.add_argument("--cutoff3", type=float, help="triplet cutoff in A (default: second order only)")
    pf.add_argument("--mode", choices=["sequential", "simultaneous"], default="sequential",
                    help="sequential (TDEP: fc2 alone, then fc3 on the residual; default) or simultaneous")
    pf.add_argument("--folds", type=int, default=5, help="cross-validation folds (default 5)")
    pf.add_argument("--cv", choices=["blocks", "interleaved"], default="blocks",
                    help="folds as contiguous blocks of frames (default) or frame %% folds")
    pf.add_argument("--stride", type=int, default=1, help="use every n-th frame")
    pf.add_argument("--n-frames", type=int, help="use this many evenly spaced frames of each trajectory")
    pf.add_argument("--symprec", type=float, default=1e-3, help="symmetry tolerance in A (default 1e-3)")
    pf.add_argument("--constraints", help="extra exact conditions on the 2nd order, comma separated: "
                                          "rotational, huang (default none)")
    pf.add_argument("-o", "--output", default="fc.nc", help="force constants netCDF (default fc.nc); scores go "
                                                            "to STEM.scores.nc, the plot to STEM.png")
    pf.add_argument("--compare", help="0 K force constants to plot against: phonopy folder/file or trajmodes .nc")
    pf.add_argument("--path", help="band path as special-point letters, e.g. 'GXU|KGL' (default: standard)")
    pf.add_argument("--npoints", type=int, default=51, help="q-points per path segment (default 51)")
    pf.add_argument("--plot-format", choices=["png", "pdf"], default="png", help="figure format (default png)")
    pf.set_defaults(func=cmd_fit)
    pe = sub.add_parser("eam", help="analytic force constants of an EAM potential (LAMMPS eam, eam/alloy, eam/fs) "
                                    "for a cubic crystal: BvK shell constants and their pair/embedding split, "
                                    "netCDF and plots")
    pe.add_argument("potential", metavar="POTENTIAL", help="LAMMPS EAM file (*.eam, *.eam.alloy, *.eam.fs)")
    pe.add_argument("--structure", choices=["fcc", "bcc", "l12"], default="fcc", help="crystal (default fcc)")
    pe.add_argument("--a", type=float, required=True, help="cubic lattice constant in A")
    pe.add_argument("--element", help="element (fcc/bcc; default the potential's first) or A,B for l12 A3B")
    pe.add_argument("--supercell", type=int, default=5, help="N x N x N conventional cells (default 5)")
    pe.add_argument("--compare", nargs="+", metavar="FC", help="force constants to compare BvK constants with: "
                                                               "phonopy folders/files or trajmodes .nc")
    pe.add_argument("--path", help="band path as special-point letters (default: standard)")
    pe.add_argument("--npoints", type=int, default=51, help="q-points per path segment (default 51)")
    pe.add_argument("--mesh", type=_mesh, default=[16, 16, 16], help="q mesh for the DOS (default 16)")
    pe.add_argument("-o", "--output", default="trajmodes-eam", help="output folder (default trajmodes-eam)")
    pe.add_argument("--format", choices=["png", "pdf"], default="png", help="figure format (default png)")
    pe.set_defaults(func=cmd_eam)
    _add_modes_parsers(sub)
    return p


def main(argv=None) -> int:
    from .errors import ReferenceMismatchError, TrajectoryFormatError
    args = build_parser().parse_args(argv)
    from dask.diagnostics import ProgressBar
    fmt = warnings.formatwarning
    warnings.formatwarning = lambda msg, cat, *a, **k: f"warning: {msg}\n"
    try:
        with ProgressBar(minimum=1.0, out=sys.stderr):   # every Dask computation longer than 1 s
            return args.func(args)
    except (TrajectoryFormatError, ReferenceMismatchError, FileNotFoundError, ValueError) as exc:
        print(f"trajmodes: error: {exc}", file=sys.stderr)
        return 2
    finally:
        warnings.formatwarning = fmt


if __name__ == "__main__":
    sys.exit(main())
