"""Reference peak frequencies and linewidths from DynaPhoPy's FFT power-spectrum method.

Two checks compare trajmodes with DynaPhoPy's FFT method on the same trajectory: the peak frequencies at
commensurate q agree (within 0.02 THz), and trajmodes' projection is at least 100x faster per q-point. This
script is the DynaPhoPy side of both.

What it does, per system (``cu`` = examples/md/cu_300K, ``si`` = examples/md/si_300K):

* reads the LAMMPS dump (positions + velocities, 0.04 ps between frames) and the reference
  crystal (``.data``) with a small self-contained reader (no trajmodes import: the reference
  must not share code with what it checks);
* loads the phonopy force constants of ``examples/fc/<name>`` (fc supercell 3x3x3 conventional
  for Cu, 5x5x5 primitive for Si -- *not* the MD supercell) and transfers them, through
  phonopy's own Fourier interpolation (dynamical matrices at the q commensurate with the MD cell,
  then ``DynmatToForceConstants``), to force constants of the MD supercell written on the
  conventional cell (4x4x4 for Cu, 3x3x3 for Si).  At every q commensurate with the MD cell the
  dynamical matrix is therefore exactly phonopy's interpolated one, i.e. what a projection onto
  ``phonopy.load(examples/fc/...)`` eigenvectors uses;
* builds DynaPhoPy's ``Structure`` (conventional cell at the MD lattice parameter, primitive
  matrix, those force constants) and a ``Dynamics`` from the MD velocities reordered into
  DynaPhoPy's supercell atom order (basis atom outermost, then cells with x fastest);
* per q-point: ``Quasiparticle.set_reduced_q_vector``, power spectrum with algorithm 2
  ("Fast Fourier transform (Numpy)"; NOT the maximum-entropy default, which fits another lineshape),
  Lorentzian fit (fitting function 0) -> peak positions and FWHM per branch, timed.

DynaPhoPy defaults kept: ``use_symmetry=True`` (spectra averaged over the star of q and over
degenerate branches before fitting).  Frequencies are in THz, widths are DynaPhoPy's Lorentzian
FWHM in THz (its ``width`` parameter is the full width at half maximum).

Sampling: the Nyquist frequency 1/(2 dt) and the ``aliased`` flags (harmonic frequency above
Nyquist) come from the frame interval dt of the trajectory actually read.  The committed
examples: 0.04 ps between frames -> Nyquist 12.5 THz, 300 frames -> 12 ps -> native FFT
resolution 1/12 ps = 0.083 THz (DynaPhoPy interpolates its spectrum onto the requested grid).
Cu (max 7.8 THz) is fine.  There the SW Si optical modes (12.99-17.8 THz) lie above Nyquist: their
peaks fold to 25 - f; they are flagged ``aliased`` and their fits are not a reference.  The Si
q-points (Delta 1/3, Delta 2/3, X; Si L is not commensurate with the 3x3x3 conventional MD cell)
are acoustic-dominated for that reason; on a run sampled every 0.02 ps or finer (Nyquist >= 25
THz, e.g. ``python tests/support/lammps_md.py DIR --system si``) nothing is flagged and every branch,
optical included, is a reference.  SW Si lines at 300 K are very narrow (FWHM 0.003-0.025 THz on
200 ps): give ``resolution`` <= 0.005 THz there, or DynaPhoPy's fit can fail (position and width
0, ``fit_failed``) for a line narrower than its grid (the LA line at Delta 1/3 at 0.01 THz).

Usage::

    python benchmarks/dynaphopy_reference.py            # cu and si, table + JSON to stdout
    python benchmarks/dynaphopy_reference.py --system cu --json out.json
    python benchmarks/dynaphopy_reference.py --system cu --dump RUN.lammpstrj --data RUN.data
                                    # another trajectory of the same crystal (tests/support/lammps_md.py)
    python benchmarks/dynaphopy_reference.py --system si --dump RUN.lammpstrj --data RUN.data --resolution 0.005
                                    # the Si SW run of tests/support/lammps_md.py --system si (0.02 ps frames)

``run_dynaphopy(system)`` returns ``{q: (frequencies, linewidths)}`` (tuples of reduced q in the
primitive reciprocal basis -> numpy arrays per branch, in phonopy band order);
``run_dynaphopy(system, full=True)`` returns the richer per-q records (harmonic frequencies,
aliasing flags, timings).
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import io
import json
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]

FCC_BASIS = np.array([[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]])
DIAMOND_BASIS = np.vstack([FCC_BASIS, FCC_BASIS + 0.25])
FCC_PRIM = np.array([[0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]])  # columns = primitive vectors

# q in reduced coordinates of the primitive reciprocal lattice (phonopy convention for the
# primitive vectors a(0,1/2,1/2), a(1/2,0,1/2), a(1/2,1/2,0)).
SYSTEMS = {
    "cu": dict(run="cu_300K", fc="cu_eam", element="Cu", basis=FCC_BASIS, n=4,
               qpoints={"Gamma": (0, 0, 0), "X": (0, 0.5, 0.5), "L": (0.5, 0.5, 0.5),
                        "Delta_1/2": (0, 0.25, 0.25)}),
    "si": dict(run="si_300K", fc="si_sw", element="Si", basis=DIAMOND_BASIS, n=3,
               qpoints={"Delta_1/3": (0, 1 / 6, 1 / 6), "Delta_2/3": (0, 1 / 3, 1 / 3),
                        "X": (0, 0.5, 0.5)}),
}


# --------------------------------------------------------------------------- readers


def read_lammps_data(path):
    """Orthogonal-box LAMMPS data file (atomic style) -> (cell 3x3, positions by id, masses by id)."""
    lines = Path(path).read_text().splitlines()
    bounds, masses_by_type, atoms = {}, {}, []
    section = None
    for line in lines:
        s = line.split("#")[0].strip()
        if not s:
            continue
        toks = s.split()
        if len(toks) >= 4 and toks[2] in ("xlo", "ylo", "zlo"):
            bounds[toks[2][0]] = (float(toks[0]), float(toks[1]))
            continue
        if toks[0] in ("Masses", "Atoms", "Velocities"):
            section = toks[0]
            continue
        if section == "Masses":
            masses_by_type[int(toks[0])] = float(toks[1])
        elif section == "Atoms":
            atoms.append((int(toks[0]), int(toks[1]), float(toks[2]), float(toks[3]), float(toks[4])))
    atoms.sort()
    cell = np.diag([bounds[c][1] - bounds[c][0] for c in "xyz"])
    pos = np.array([a[2:] for a in atoms])
    masses = np.array([masses_by_type[a[1]] for a in atoms])
    return cell, pos, masses


def read_lammps_dump(path):
    """``dump custom id type xu yu zu vx vy vz ...`` (sorted or not) -> (times ps, x, v) in id order."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt") as f:
        lines = f.read().splitlines()
    times, xs, vs = [], [], []
    i, nat, cols = 0, None, None
    t_cur = None
    while i < len(lines):
        line = lines[i]
        if line.startswith("ITEM: TIME") and not line.startswith("ITEM: TIMESTEP"):
            t_cur = float(lines[i + 1]); i += 2; continue
        if line.startswith("ITEM: NUMBER OF ATOMS"):
            nat = int(lines[i + 1]); i += 2; continue
        if line.startswith("ITEM: ATOMS"):
            cols = line.split()[2:]
            block = np.array(" ".join(lines[i + 1:i + 1 + nat]).split(), dtype=float).reshape(nat, len(cols))
            block = block[np.argsort(block[:, cols.index("id")])]
            xs.append(block[:, [cols.index(c) for c in ("xu", "yu", "zu")]])
            vs.append(block[:, [cols.index(c) for c in ("vx", "vy", "vz")]])
            times.append(t_cur)
            i += 1 + nat
            continue
        i += 1
    return np.array(times, dtype=float), np.array(xs), np.array(vs)


def load_system(system, dump=None, data=None):
    """Everything both references need for one system (MD arrays, cells, force constants).

    ``dump``/``data``: another trajectory of the same crystal (same element, basis and n x n x n
    conventional MD cell as ``SYSTEMS[system]``, any lattice parameter, any length and frame
    interval), e.g. the long LAMMPS run of tests/support/lammps_md.py; default: the committed example run."""
    spec = SYSTEMS[system]
    md = REPO / "examples" / "md"
    if (dump is None) != (data is None):
        raise ValueError("give both dump and data, or neither")
    data = Path(data) if data is not None else md / f"{spec['run']}.data"
    dump = Path(dump) if dump is not None else md / f"{spec['run']}.lammpstrj.gz"
    cell, ref_pos, masses = read_lammps_data(data)
    times, x, v = read_lammps_dump(dump)
    n = spec["n"]
    a = cell[0, 0] / n
    if not np.allclose(cell, np.eye(3) * cell[0, 0]) or len(ref_pos) != n ** 3 * len(spec["basis"]):
        raise ValueError(f"{data}: not a cubic {n}x{n}x{n} conventional cell of {system}")
    return dict(spec=spec, name=system, md_cell=cell, ref_pos=ref_pos, masses=masses, times=times,
                x=x, v=v, n=n, a=a, conv_cell=np.eye(3) * a,
                run=spec["run"] if dump == md / f"{spec['run']}.lammpstrj.gz" else dump.name,
                dump=str(dump), data=str(data))


def source_phonopy(system):
    import phonopy
    d = REPO / "examples" / "fc" / SYSTEMS[system]["fc"]
    return phonopy.load(d / "phonopy_params.yaml", force_constants_filename=d / "FORCE_CONSTANTS",
                        is_symmetry=True, produce_fc=False, log_level=0)


def md_supercell_phonopy(sysd, masses=None):
    """Phonopy object on the conventional cell (MD lattice parameter), supercell = MD cell,
    with force constants transferred from the source fc by phonopy's Fourier interpolation.
    Built exactly as DynaPhoPy's ``get_phonon`` builds its own (same atom ordering)."""
    from phonopy import Phonopy
    from phonopy.harmonic.dynmat_to_fc import DynmatToForceConstants
    from phonopy.structure.atoms import PhonopyAtoms

    spec, n = sysd["spec"], sysd["n"]
    nb = len(spec["basis"])
    unit = PhonopyAtoms(symbols=[spec["element"]] * nb, scaled_positions=spec["basis"],
                        cell=sysd["conv_cell"])
    if masses is not None:
        unit.masses = [masses] * nb
    ph = Phonopy(unit, np.diag([n, n, n]), primitive_matrix=FCC_PRIM, symprec=1e-5)
    src = source_phonopy(sysd["name"])
    # primitive atoms must correspond (same fractional positions in the same primitive basis)
    fa, fb = src.primitive.scaled_positions, ph.primitive.scaled_positions
    d = fa[:, None, :] - fb[None, :, :]
    d -= np.round(d)
    perm = np.argmin(np.linalg.norm(d, axis=2), axis=0)  # ph atom j <- src atom perm[j]
    assert np.allclose(np.linalg.norm(d, axis=2)[perm, np.arange(len(perm))], 0, atol=1e-6)
    d2f = DynmatToForceConstants(ph.primitive, ph.supercell, is_full_fc=True)
    dms = []
    for q in d2f.commensurate_points:
        src.dynamical_matrix.run(q)
        D = src.dynamical_matrix.dynamical_matrix
        idx = np.concatenate([[3 * p, 3 * p + 1, 3 * p + 2] for p in perm])
        dms.append(D[np.ix_(idx, idx)])
    d2f.dynamical_matrices = np.array(dms)
    d2f.run()
    ph.force_constants = d2f.force_constants
    return ph


# --------------------------------------------------------------------------- DynaPhoPy


def dynaphopy_order(sysd):
    """Index into DynaPhoPy's supercell ordering for every MD atom (id order)."""
    n, basis = sysd["n"], sysd["spec"]["basis"]
    frac = sysd["ref_pos"] / sysd["a"]
    cellidx = np.floor(frac + 1e-6).astype(int) % n
    inner = frac - np.floor(frac + 1e-6)
    dd = inner[:, None, :] - basis[None, :, :]
    dd -= np.round(dd)
    k = np.argmin(np.linalg.norm(dd, axis=2), axis=1)
    assert np.allclose(np.linalg.norm(dd, axis=2)[np.arange(len(k)), k], 0, atol=1e-4)
    order = k * n ** 3 + cellidx[:, 0] + n * cellidx[:, 1] + n * n * cellidx[:, 2]
    assert len(np.unique(order)) == len(order)
    return order


@contextlib.contextmanager
def _quiet(enabled=True):
    if not enabled:
        yield
        return
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        yield


def run_dynaphopy(system="cu", qpoints=None, resolution=0.01, fmax=None, full=False, verbose=False,
                  use_symmetry=True, dump=None, data=None):
    """DynaPhoPy FFT + Lorentzian peaks at ``qpoints`` (default: the system's table).

    ``dump``/``data``: run on that trajectory instead of the committed example (see ``load_system``).
    ``resolution`` (THz) is DynaPhoPy's frequency grid AND its segment length: its FFT method cuts the
    series into pieces of round(1/(dt resolution)) frames (50%-ish overlap), takes the 'same'-mode
    autocorrelation of each (lags up to half the piece), FFTs it and averages the pieces."""
    import dynaphopy
    from dynaphopy.atoms import Structure
    from dynaphopy.dynamics import Dynamics
    from dynaphopy.interface.phonopy_link import ForceConstants
    from dynaphopy.analysis import fitting

    t0 = time.perf_counter()
    sysd = load_system(system, dump=dump, data=data)
    t_read = time.perf_counter() - t0
    spec, n = sysd["spec"], sysd["n"]
    nb = len(spec["basis"])
    ph = md_supercell_phonopy(sysd)
    fc = ForceConstants(ph.force_constants, supercell=np.diag([n, n, n]))
    structure = Structure(cell=sysd["conv_cell"], scaled_positions=spec["basis"],
                          atomic_elements=[spec["element"]] * nb, primitive_matrix=FCC_PRIM,
                          force_constants=fc)
    order = dynaphopy_order(sysd)
    v = np.empty_like(sysd["v"])
    v[:, order, :] = sysd["v"]
    # DynaPhoPy reads the MD velocities in A/ps (LAMMPS metal units are A/ps already)
    dyn = Dynamics(structure=structure, velocity=v.astype(complex), time=sysd["times"],
                   supercell=sysd["md_cell"])
    with _quiet(not verbose):
        calc = dynaphopy.Quasiparticle(dyn)
        calc.select_power_spectra_algorithm(2)  # FFT via numpy
        calc.select_fitting_function(0)          # Lorentzian
        calc.parameters.silent = True
        calc.parameters.use_symmetry = use_symmetry
    dt = float(np.mean(np.diff(sysd["times"])))
    nyquist = 0.5 / dt
    fmax = nyquist if fmax is None else fmax
    calc.parameters.frequency_range = np.arange(0, fmax + resolution / 2, resolution)
    setup_s = time.perf_counter() - t0

    qpoints = qpoints or spec["qpoints"]
    out, records = {}, {}
    for label, q in qpoints.items():
        q = np.asarray(q, dtype=float)
        comm = _commensurate(q, n)
        if not comm:
            records[label] = dict(q=q.tolist(), commensurate=False)
            continue
        t1 = time.perf_counter()
        with _quiet(not verbose):
            calc.set_reduced_q_vector(q)
            ps = calc.get_power_spectrum_phonon()
            t_ps = time.perf_counter() - t1
            harm = np.array(calc.get_frequencies())
            data = fitting.phonon_fitting_analysis(ps, calc.parameters.frequency_range,
                                                   harmonic_frequencies=harm,
                                                   thermal_expansion_shift=None,
                                                   show_plots=False, fitting_function_type=0,
                                                   use_degeneracy=use_symmetry, show_occupancy=False)
        t_q = time.perf_counter() - t1
        freqs = np.array(data["positions"], dtype=float)
        widths = np.array(data["widths"], dtype=float)
        aliased = harm > nyquist
        failed = (freqs == 0) & (widths == 0)
        out[tuple(float(x) for x in q)] = (freqs, widths)
        records[label] = dict(q=q.tolist(), commensurate=True, harmonic=harm.tolist(),
                              frequency=freqs.tolist(), fwhm=widths.tolist(),
                              fit_error=list(map(float, data["error"])),
                              aliased=aliased.tolist(), fit_failed=failed.tolist(),
                              folded_harmonic=np.where(aliased, 2 * nyquist - harm, harm).tolist(),
                              seconds=t_q, seconds_power_spectrum=t_ps)
    info = dict(system=system, run=sysd["run"], dump=sysd["dump"], data=sysd["data"], fc=spec["fc"],
                frames=int(len(sysd["times"])), read_seconds=t_read,
                dynaphopy_seconds=float(sum(r.get("seconds", 0.0) for r in records.values())),
                atoms=int(sysd["v"].shape[1]), dt_ps=dt, nyquist_THz=nyquist,
                native_resolution_THz=1.0 / (dt * len(sysd["times"])), grid_resolution_THz=resolution,
                setup_seconds=setup_s, use_symmetry=use_symmetry,
                dynaphopy_version=_version("dynaphopy"), phonopy_version=_version("phonopy"),
                method="DynaPhoPy power_spectra_algorithm=2 (FFT numpy), fitting_function=0 (Lorentzian)")
    if full:
        return dict(info=info, qpoints=records)
    return out


def _commensurate(q_prim, n):
    """q (reduced, primitive reciprocal basis) commensurate with the n x n x n conventional cell?"""
    # q_cart . a_conv_i / 2pi = sum_j q_prim_j b_j . a_conv_i ; b_j . A_i = (P^-1)_{j i}
    q_conv = np.asarray(q_prim) @ np.linalg.inv(FCC_PRIM)
    x = q_conv * n
    return bool(np.allclose(x, np.round(x), atol=1e-8))


def _version(pkg):
    try:
        from importlib.metadata import version
        return version(pkg)
    except Exception:
        return "?"


def format_table(result):
    info, recs = result["info"], result["qpoints"]
    rows = [f"DynaPhoPy FFT reference, {info['run']} ({info['atoms']} atoms, {info['frames']} frames, "
            f"dt {info['dt_ps']:.3f} ps, Nyquist {info['nyquist_THz']:.2f} THz, "
            f"native resolution {info['native_resolution_THz']:.3f} THz)",
            f"{'q':>10} {'q (red.)':>22} {'br':>3} {'harm':>8} {'peak':>8} {'FWHM':>7} {'flag':>9} {'s/q':>7}"]
    for label, r in recs.items():
        if not r["commensurate"]:
            rows.append(f"{label:>10} {str(np.round(r['q'], 4)):>22}   not commensurate with the MD cell")
            continue
        for b, (h, f, w) in enumerate(zip(r["harmonic"], r["frequency"], r["fwhm"])):
            flag = "aliased" if r["aliased"][b] else ("fitfail" if r["fit_failed"][b] else "")
            rows.append(f"{label if b == 0 else '':>10} {str(np.round(r['q'], 4)) if b == 0 else '':>22} "
                        f"{b:>3} {h:8.4f} {f:8.4f} {w:7.4f} {flag:>9} "
                        f"{r['seconds'] if b == 0 else float('nan'):7.3f}".replace("    nan", ""))
    return "\n".join(rows)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--system", choices=list(SYSTEMS) + ["all"], default="all")
    p.add_argument("--resolution", type=float, default=0.01,
                   help="frequency grid (THz) DynaPhoPy fits on; also its FFT piece length, round(1/(dt res)) frames")
    p.add_argument("--dump", help="another LAMMPS dump (id type xu yu zu vx vy vz, ITEM: TIME) of the same "
                   "crystal as --system, e.g. from tests/support/lammps_md.py; needs --data and one --system")
    p.add_argument("--data", help="the LAMMPS data file (ideal reference crystal) of --dump")
    p.add_argument("--json", help="write the full records here")
    p.add_argument("--verbose", action="store_true")
    args = p.parse_args(argv)
    systems = list(SYSTEMS) if args.system == "all" else [args.system]
    if (args.dump or args.data) and (len(systems) != 1 or not (args.dump and args.data)):
        p.error("--dump needs --data and a single --system")
    results = {}
    for s in systems:
        res = run_dynaphopy(s, resolution=args.resolution, full=True, verbose=args.verbose,
                            dump=args.dump, data=args.data)
        results[s] = res
        print(format_table(res))
        print()
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    main()
