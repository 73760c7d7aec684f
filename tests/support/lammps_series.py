"""Real LAMMPS runs for temperature / volume series and error-bar calibration (fcc Cu EAM, diamond Si SW).

Short canonical (NVT) runs of a small crystal at a given temperature T, lattice parameter a and velocity seed,
through the ``lammps`` Python module (test extra ``lammps[mpi]``; one MPI rank, OMP_NUM_THREADS=1), each cached in
an output folder. Runnable by hand::

    python tests/support/lammps_series.py OUTDIR --system si --T 300 --a 5.4377 --seed 1 --frames 200 --nevery 20
    python tests/support/lammps_series.py OUTDIR --system cu --cells 3 --T 600 --a npt --seed 7

(``--a npt``: at the 0 bar lattice parameter of :func:`npt_lattice_parameter`; no ``--a``: the static one.)

Systems (``SYSTEMS``): ``"cu"``, fcc Cu with ``Cu_mishin1.eam.alloy`` (static a = 3.615 A, default 4x4x4 conventional
cells = 256 atoms, dt 2 fs) and ``"si"``, diamond Si with ``Si.sw`` (static a = 5.431 A, default 3x3x3 = 216 atoms,
dt 1 fs); the crystals are those of tests/support/lammps_md.py (``CRYSTALS``) with ``cells`` conventional cells per
edge (Cu 3 = 108 atoms, Si 2 = 64 atoms for the small series).

:func:`generate_run` stages (``RUN_IN``):

1. ``write_data <name>.data``: the ideal crystal at ``a`` (the reference), before any velocity;
2. ``velocity create 2T seed``; Langevin thermalisation for ``equil_ps``: ``fix nve`` + ``fix langevin T T 0.1
   seed+17 zero yes`` + ``fix momentum 100 linear 1 1 1``;
3. ``reset_timestep 0``, production for ``frames * nevery`` steps (``frames + 1`` frames with step 0) under the
   ``thermostat`` of ``PRODUCTION`` (damping ``prod_damp``, default 0.1 ps): Nose-Hoover ``fix nvt`` (default), or
   ``fix langevin`` with ``fix store/force`` defined before it, so that the dumped forces are the interatomic ones
   without the Langevin drag and random forces (LAMMPS adds those to the per-atom forces), or the same at 0 bar
   under ``fix nph iso`` ("langevin-nph"),
   dumped every ``nevery`` steps to ``<name>.lammpstrj``: ``id type xu yu zu vx vy vz fx fy fz c_pe`` (``compute pe
   all pe/atom``), ``sort id``, ``%.10g``, ``units yes time yes``; thermo every ``nevery`` steps, ``step temp pe ke
   etotal press pxx pyy pzz pxy pxz pyz`` at ``%.10g``.

The whole LAMMPS log is kept (``-log <name>.log``). Its thermalisation block has no ``Step`` column (``thermo_style
custom elapsed ...``, header ``Elapsed Temp ...``) on purpose: its steps restart at 0 like the production's, and a
thermo reader that keys rows by step (trajmodes.io.trajectories.lammps_log keeps the first row of a repeated step) sees
only the production block, whose rows sit at exactly the dump's frame steps.

``<name>.json`` holds ``params`` (a cache hit needs the same ones and the dump, data and log files), the LAMMPS
version, wall seconds, ``n_atoms``, ``frames`` (with step 0), the production's mean temperature, potential energy
and pressure (from the thermo rows), and the standard deviation of the temperature. Default names encode the
system, cells, T, a and seed: ``si2_300K_a5.4377_s1``.

:func:`npt_lattice_parameter`: one NPT run (``NPT_IN``; as examples/make_npt_series.py: ``fix nph iso 0 0 1.0`` +
``fix langevin T T 0.1 seed zero yes``, from the static lattice) of ``ps`` ps, thermo every 10 steps; the mean of
``lx / cells`` over its second half, cached in ``npt_<system><cells>_<T>K_s<seed>.json`` with its block error.

Defaults (``DEFAULTS``): 400 frames every 10 steps, 10 ps of thermalisation, dt 2 fs (cu) or 1 fs (si); NPT 20 ps.

Timings measured here (LAMMPS 22 Jul 2025, one core of a shared 2-core machine, wall seconds of the whole run):
Si 64 atoms about 55 us per step thermalising, 85 us per step in production (dump and thermo every 10 steps):
0.65-0.95 s for a 400-frame nevery 10 run (10000 + 4000 steps); Si 64 atoms 600 frames nevery 20 (10000 + 12000
steps) 0.9-1.5 s; Cu 108 atoms 600 frames nevery 20 at 2 fs (5000 + 12000 steps) 1.6-3.3 s; the 20 ps NPT runs
0.7-2.1 s. Sixteen Si calibration runs, twelve runs of the T/V series and seven NPT runs: 42 s in all.
"""
from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path

if __package__ in (None, ""):                                   # run as a script: the repository root on the path
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.support.lammps_md import (CRYSTALS, THERMALISE, _thermo_rows, require_potential,  # noqa: E402
                                     run_lammps)

# system -> potential file, atoms per conventional cell, static (0 K) lattice parameter (A), default cells, dt (ps)
SYSTEMS = {
    "cu": dict(potential="Cu_mishin1.eam.alloy", basis=4, a0=3.615, cells=4, dt=0.002),
    "si": dict(potential="Si.sw", basis=8, a0=5.431, cells=3, dt=0.001),
}

RUN_IN = """\
neighbor        2.0 bin
neigh_modify    every 1 delay 0 check yes
write_data      {data}

# thermalisation: Langevin from 2T; no Step column, so that its rows do not collide with the production's steps
timestep        {dt}
thermo_style    custom elapsed temp pe ke etotal press
thermo          1000
""" + THERMALISE + """\
unfix           integrate

# production under the thermostat of PRODUCTION (damping {prod_damp} ps), a frame every {nevery} steps
reset_timestep  0
{production}
compute         pe all pe/atom
dump            traj all custom {nevery} {dump} id type xu yu zu vx vy vz {forces} c_pe
dump_modify     traj sort id format float %.10g units yes time yes{colnames}
thermo          {nevery}
thermo_style    custom step temp pe ke etotal press pxx pyy pzz pxy pxz pyz
thermo_modify   format float %.10g
run             {nprod}
"""
# production thermostats: Nose-Hoover, or Langevin with the interatomic forces stored before the Langevin drag
# and random forces are added (fix store/force is defined first, so it runs first in post_force) and dumped under
# the names fx fy fz
PRODUCTION = {
    "nose-hoover": dict(production="fix             thermostat all nvt temp {T} {T} {prod_damp}",
                        forces="fx fy fz", colnames=""),
    "langevin": dict(production="fix             clean all store/force\n"
                                "fix             integrate all nve\n"
                                "fix             bath all langevin {T} {T} {prod_damp} {seed3} zero yes",
                     forces="f_clean[1] f_clean[2] f_clean[3]",
                     colnames="\ndump_modify     traj colname 9 fx colname 10 fy colname 11 fz"),
    # NVE after the Langevin thermalisation: the run's energy, and with it its temperature, is the canonical draw of
    # the moment the thermostat stops (a random variable of the seeds, std about T / sqrt(3N) for a harmonic crystal)
    "nve": dict(production="fix             integrate all nve", forces="fx fy fz", colnames=""),
    # NPT at 0 bar (fix nph iso, Pdamp 1 ps) under the same Langevin thermostat: the box of every frame is dumped
    "langevin-nph": dict(production="fix             clean all store/force\n"
                                    "fix             integrate all nph iso 0.0 0.0 1.0\n"
                                    "fix             bath all langevin {T} {T} {prod_damp} {seed3} zero yes",
                         forces="f_clean[1] f_clean[2] f_clean[3]",
                         colnames="\ndump_modify     traj colname 9 fx colname 10 fy colname 11 fz"),
}
PROD_HEADER = ["Step", "Temp", "PotEng", "KinEng", "TotEng", "Press", "Pxx", "Pyy", "Pzz", "Pxy", "Pxz", "Pyz"]

NPT_IN = """\
neighbor        2.0 bin
neigh_modify    every 1 delay 0 check yes
timestep        {dt}
velocity        all create {T2} {seed} mom yes rot no dist gaussian
fix             baro all nph iso 0.0 0.0 {pdamp}
fix             bath all langevin {T} {T} 0.1 {seed2} zero yes
thermo          {every}
thermo_style    custom step temp pe press lx
thermo_modify   format float %.10g
run             {nsteps}
"""
NPT_HEADER = ["Step", "Temp", "PotEng", "Press", "Lx"]

DEFAULTS = dict(frames=400, nevery=10, equil_ps=10.0, dt=None, prod_damp=0.1)
NPT_DEFAULTS = dict(ps=20.0, dt=None, pdamp=1.0, every=10)


def _template_hash(*texts) -> str:
    return hashlib.sha256("".join(texts).encode()).hexdigest()[:16]


def crystal_input(system: str, a: float, cells: int, potfile) -> str:
    """The crystal commands of ``CRYSTALS[system]`` (lammps_md.py) with ``cells`` conventional cells per edge."""
    n = SYSTEMS[system]["basis"] * cells ** 3
    text = CRYSTALS[system].format(a=a, potfile=potfile)
    text, k = re.subn(r"^region\s+box\s+block\s+0 \d+ 0 \d+ 0 \d+\s*$",
                      f"region          box block 0 {cells} 0 {cells} 0 {cells}", text, flags=re.M)
    if k != 1:
        raise RuntimeError(f"CRYSTALS[{system!r}] in lammps_md.py has no 'region box block 0 n 0 n 0 n' line")
    return re.sub(r"\d+x\d+x\d+ conventional cells \(\d+ atoms\)",
                  f"{cells}x{cells}x{cells} conventional cells ({n} atoms)", text)


def _fmt(x: float) -> str:
    return format(float(x), ".5f").rstrip("0").rstrip(".")


def default_name(system: str, cells: int, T: float, a: float, seed: int) -> str:
    """``<system><cells>_<T>K_a<a>_s<seed>``, e.g. ``cu3_300K_a3.6319_s123`` (a to 1e-5 A)."""
    return f"{system}{cells}_{_fmt(T)}K_a{_fmt(a)}_s{seed}"


def _cached(meta: Path, params: dict, files) -> dict | None:
    if not meta.exists():
        return None
    try:
        m = json.loads(meta.read_text())
    except ValueError:
        return None
    if m.get("params") == params and all(Path(f).exists() for f in files):
        return m
    return None


def _potential(system: str) -> Path:
    return require_potential(SYSTEMS[system]["potential"])


def _mean(x) -> float:
    return sum(x) / len(x)


def generate_run(outdir, system: str, T: float, a: float, seed: int, *, frames: int = DEFAULTS["frames"],
                 nevery: int = DEFAULTS["nevery"], equil_ps: float = DEFAULTS["equil_ps"], dt: float | None = None,
                 prod_damp: float = DEFAULTS["prod_damp"], thermostat: str = "nose-hoover", name: str | None = None,
                 cells: int | None = None) -> dict:
    """Run (or reuse) one NVT run of ``system`` at temperature ``T`` and lattice parameter ``a``.

    Parameters
    ----------
    outdir : path
        Folder of the run's files (created).
    system : {"cu", "si"}
    T : float
        Temperature, K.
    a : float
        Lattice parameter of the conventional cubic cell, Angstrom.
    seed : int
        Velocity seed (> 0); the Langevin seed of the thermalisation is seed + 17.
    frames, nevery : int
        Production of ``frames * nevery`` steps, a frame every ``nevery`` (``frames + 1`` frames with step 0).
    equil_ps : float
        Langevin thermalisation (damp 0.1 ps) before the production, ps.
    dt : float, optional
        Timestep, ps (default: 0.002 for cu, 0.001 for si).
    prod_damp : float
        Damping time of the production thermostat, ps.
    thermostat : {"nose-hoover", "langevin", "langevin-nph", "nve"}
        Production thermostat (``PRODUCTION``; "langevin-nph": NPT at 0 bar, the box fluctuating, from ``a``; "nve":
        none, the energy the thermalisation left).
        Langevin redistributes energy between the modes on its damping time, which Nose-Hoover (one global
        friction) does not; its forces are kept out of the dumped ones.
    name : str, optional
        File stem (default :func:`default_name`).
    cells : int, optional
        Conventional cells per edge (default: 4 for cu, 3 for si).

    Returns
    -------
    dict
        ``dump``, ``data``, ``log``, ``meta`` (paths) and ``info`` (the JSON's content).
    """
    spec = SYSTEMS[system]
    cells = int(cells or spec["cells"])
    seed = int(seed)
    params = dict(system=system, cells=cells, n_atoms=spec["basis"] * cells ** 3, T=float(T), a=float(a),
                  seed=seed, seed2=seed + 17, seed3=seed + 29, frames=int(frames), nevery=int(nevery),
                  equil_ps=float(equil_ps), dt=float(dt or spec["dt"]), prod_damp=float(prod_damp),
                  thermostat=thermostat, potential=spec["potential"],
                  template=_template_hash(CRYSTALS[system], RUN_IN, *PRODUCTION[thermostat].values()))
    name = name or default_name(system, cells, T, a, seed)
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    paths = dict(dump=out / f"{name}.lammpstrj", data=out / f"{name}.data", log=out / f"{name}.log",
                 meta=out / f"{name}.json")
    hit = _cached(paths["meta"], params, [paths["dump"], paths["data"], paths["log"]])
    if hit is not None:
        return dict(paths, info=hit)

    p = params
    text = crystal_input(system, p["a"], cells, _potential(system)) + RUN_IN.format(
        data=paths["data"], dt=p["dt"], T=p["T"], T2=2 * p["T"], seed=seed, seed2=p["seed2"], seed3=p["seed3"],
        neq=int(round(p["equil_ps"] / p["dt"])), prod_damp=p["prod_damp"], nevery=p["nevery"], dump=paths["dump"],
        nprod=p["frames"] * p["nevery"],
        **{k: v.format(T=p["T"], prod_damp=p["prod_damp"], seed3=p["seed3"]) for k, v in PRODUCTION[thermostat].items()})
    for k in ("meta", "dump", "data"):
        paths[k].unlink(missing_ok=True)
    for stale in out.glob(f".{name}.*lammpstrj*"):              # frame indexes of a previous dump
        stale.unlink()
    version, seconds = run_lammps(text, paths["log"])
    rows = _thermo_rows(paths["log"].read_text().splitlines(), PROD_HEADER)
    if len(rows) != p["frames"] + 1:
        raise RuntimeError(f"{paths['log']}: {len(rows)} production thermo rows, expected {p['frames'] + 1}")
    temps = [r[1] for r in rows]
    mt = _mean(temps)
    info = dict(params=params, lammps_version=version, seconds=round(seconds, 3), n_atoms=p["n_atoms"],
                frames=p["frames"] + 1, production_steps=p["frames"] * p["nevery"],
                production_ps=p["frames"] * p["nevery"] * p["dt"],
                mean_temperature=mt, std_temperature=_mean([(t - mt) ** 2 for t in temps]) ** 0.5,
                mean_pe=_mean([r[2] for r in rows]), mean_pressure=_mean([r[5] for r in rows]))
    paths["meta"].write_text(json.dumps(info, indent=1) + "\n")
    return dict(paths, info=info)


#: the runs of the error-bar calibration (tests/series/test_series_md.py): system -> lattice parameter (A, the 0 bar
#: value at 300 K), conventional cells per edge, timestep (ps); frames every 0.02 ps (5 ps runs) or 0.04 ps (longer)
CALIBRATION = {"cu": dict(a=3.6319, cells=2, dt=0.002), "si": dict(a=5.43731, cells=2, dt=0.001)}


def calibration_run(outdir, system: str, thermostat: str, ps: float, seed: int, T: float = 300.0,
                    equil_ps: float = 5.0) -> dict:
    """One run of the error-bar calibration: ``system`` ("cu": 32 atoms, "si": 64 atoms, ``CALIBRATION``) at ``T``,
    ``ps`` ps of production under ``thermostat`` ("nose-hoover" with damping 0.5 ps, "nve", or "langevin"), after
    ``equil_ps`` ps of Langevin thermalisation from the velocity ``seed``: :func:`generate_run` under the name
    ``cal_<system><cells>_<thermostat>_<ps>ps_s<seed>``."""
    c = CALIBRATION[system]
    nevery = int(round((0.02 if ps <= 5 else 0.04) / c["dt"]))
    frames = int(round(ps / c["dt"] / nevery))
    return generate_run(outdir, system, T, c["a"], seed, cells=c["cells"], frames=frames, nevery=nevery, dt=c["dt"],
                        thermostat=thermostat, prod_damp=0.5, equil_ps=equil_ps,
                        name=f"cal_{system}{c['cells']}_{thermostat}_{_fmt(ps)}ps_s{seed}")


def _block_error(x, nblocks: int = 8) -> float:
    m = len(x) // nblocks
    means = [_mean(x[k * m:(k + 1) * m]) for k in range(nblocks)]
    mu = _mean(means)
    return (sum((b - mu) ** 2 for b in means) / (nblocks - 1) / nblocks) ** 0.5


def npt_lattice_parameter(outdir, system: str, T: float, seed: int, *, cells: int | None = None,
                          ps: float = NPT_DEFAULTS["ps"], dt: float | None = None, a0: float | None = None,
                          name: str | None = None) -> float:
    """Mean lattice parameter (A) of ``system`` at ``T`` and 0 bar from one NPT run (cached in ``outdir``).

    Langevin (damp 0.1 ps, seed + 17) and ``fix nph iso 0 0 1.0`` for ``ps`` ps from the lattice ``a0`` (default the
    static one) with velocities at 2T (``seed``); ``lx / cells`` every 10 steps, averaged over the second half.
    The JSON ``npt_<system><cells>_<T>K_s<seed>.json`` also holds its 8-block error, the mean temperature and
    pressure.
    """
    spec = SYSTEMS[system]
    cells = int(cells or spec["cells"])
    params = dict(system=system, cells=cells, T=float(T), seed=int(seed), seed2=int(seed) + 17, ps=float(ps),
                  dt=float(dt or spec["dt"]), a0=float(a0 or spec["a0"]), pdamp=NPT_DEFAULTS["pdamp"],
                  every=NPT_DEFAULTS["every"], potential=spec["potential"],
                  template=_template_hash(CRYSTALS[system], NPT_IN))
    name = name or f"npt_{system}{cells}_{_fmt(T)}K_s{seed}"
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    meta, log = out / f"{name}.json", out / f"{name}.log"
    hit = _cached(meta, params, [log])
    if hit is not None:
        return hit["a"]
    p = params
    nsteps = int(round(p["ps"] / p["dt"])) // (2 * p["every"]) * (2 * p["every"])
    text = crystal_input(system, p["a0"], cells, _potential(system)) + NPT_IN.format(
        dt=p["dt"], T=p["T"], T2=2 * p["T"], seed=p["seed"], seed2=p["seed2"], pdamp=p["pdamp"], every=p["every"],
        nsteps=nsteps)
    meta.unlink(missing_ok=True)
    version, seconds = run_lammps(text, log)
    rows = _thermo_rows(log.read_text().splitlines(), NPT_HEADER)
    half = [r for r in rows if r[0] > nsteps // 2]
    a = [r[4] / cells for r in half]
    info = dict(params=params, a=_mean(a), a_err=_block_error(a), a_std=_mean([(x - _mean(a)) ** 2 for x in a]) ** 0.5,
                n_samples=len(a), mean_temperature=_mean([r[1] for r in half]),
                mean_pressure=_mean([r[3] for r in half]), lammps_version=version, seconds=round(seconds, 3))
    meta.write_text(json.dumps(info, indent=1) + "\n")
    return info["a"]


def main(argv=None) -> int:
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir")
    ap.add_argument("--system", choices=sorted(SYSTEMS), default="si")
    ap.add_argument("--T", type=float, default=300.0, help="temperature, K (default 300)")
    ap.add_argument("--a", default=None, help="lattice parameter, A; 'npt': the 0 bar NPT value at T "
                                              "(default: the static one)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cells", type=int, help="conventional cells per edge (default cu 4, si 3)")
    ap.add_argument("--frames", type=int, default=DEFAULTS["frames"])
    ap.add_argument("--nevery", type=int, default=DEFAULTS["nevery"])
    ap.add_argument("--equil-ps", type=float, default=DEFAULTS["equil_ps"])
    ap.add_argument("--dt", type=float, help="timestep, ps (default cu 0.002, si 0.001)")
    ap.add_argument("--name", help="file stem")
    args = ap.parse_args(argv)
    if args.a is None:
        a = SYSTEMS[args.system]["a0"]
    elif args.a == "npt":
        a = round(npt_lattice_parameter(args.outdir, args.system, args.T, args.seed, cells=args.cells), 5)
    else:
        a = float(args.a)
    r = generate_run(args.outdir, args.system, args.T, a, args.seed, frames=args.frames, nevery=args.nevery,
                     equil_ps=args.equil_ps, dt=args.dt, name=args.name, cells=args.cells)
    print(json.dumps(dict({k: str(v) for k, v in r.items() if k != "info"}, info=r["info"]), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
