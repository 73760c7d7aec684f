#!/usr/bin/env python
"""The three-phonon commands with their defaults on a crystal of four atoms per cell: time and accuracy.

    python benchmarks/bench_defaults_gan.py [--data DIR] [--fc FC.nc] [--modes MODES.nc] [--rounds 1]
                                            [--before PYTHONPATH] [--dense 16,16,10 20,20,12] [--bulk-check 48]
                                            [--phono3py-subset 2] [--work DIR] [--out benchmarks/results]

Case: wurtzite GaN (LAMMPS Tersoff, Nord et al. 2003; ``tests/support/lammps_gan.py``), 576-atom 6 x 6 x 4 supercell
(4 atoms per primitive cell, two species), 20 ps NVT at 300 K, a frame every 10 fs; constants from ``trajmodes fit
DUMP --reference DATA --cutoff3 3.5`` (pair cutoff chosen from the data), the modes from ``trajmodes project DUMP
--reference DATA --force-constants fc.nc`` (Welch spectra). ``--data`` takes a folder holding
``gan_6x6x4_300K.lammpstrj`` and ``gan_6x6x4_0K.data`` (else the run is made, about a minute of LAMMPS), ``--fc`` and
``--modes`` existing constants and modes (else fitted and projected, some minutes; neither is timed).

Timed (each command in its own process, as a user runs it; wall clock and the CPU seconds of the process and its
threads; the 1-minute load average before and after, the machine may be shared):

* ``trajmodes anharmonic FC`` (defaults: 12 x 12 x 12 mesh, tetrahedra, quantum occupations, 300 K, RTA);
* ``trajmodes compare MODES FC`` (defaults: bulk mesh from ``--bulk-points 30000``, tetrahedra; smearing of the MD grid
  from the bulk widths; lineshapes on 401 frequencies).

``--before PATH`` runs the same commands with ``PYTHONPATH=PATH`` (another trajmodes, e.g. a copy of the package
before a change) interleaved with these, round by round.

Accuracy of each default against a denser setting:

* the mesh of ``anharmonic``: kappa (xx, zz), median FWHM and shift on each ``--dense`` mesh (tetrahedra); the widths
  and shifts of the default mesh against each denser one at the q-points they share; how much of each component of
  kappa half its modes carry (the concentration ``trajmodes anharmonic`` warns about);
* the bulk mesh of ``compare``: the numerical uncertainty it reports (its widths against the partner mesh's), and with
  ``--bulk-check n`` its widths against an n x n x n mesh at the same q-points;
* the lines of theory narrower than the lineshape axis (placed at their narrow-line limit), and the fractions of the MD
  shifts and widths explained.

``--phono3py-subset k``: phono3py (Rust kernels) on the same constants and the default mesh with tetrahedra, on k
irreducible q-points of the mesh, timed; its time for every irreducible q estimated from its time per triplet (as
``bench_anharmonic.py`` does at its headline mesh).

Writes ``<out>/defaults_gan.json`` and ``<out>/defaults_gan.md`` (the tables, also printed).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
NAME = "gan_6x6x4_300K"


def _load() -> float:
    return os.getloadavg()[0]


def timed(cmd: list, pythonpath: str | None = None) -> dict:
    """Run ``cmd`` (a trajmodes command line) in its own process: wall seconds, CPU seconds (user + system of the
    process and its threads), its peak RSS, the load before and after, and the tail of its output."""
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    else:
        env.pop("PYTHONPATH", None)
    with tempfile.TemporaryFile("w+") as log:
        l0, t0 = _load(), time.perf_counter()
        # from a folder of its own: `python -m` puts the working folder first on the path, before PYTHONPATH
        p = subprocess.Popen([sys.executable, "-m", "trajmodes", *cmd], env=env, stdout=log, stderr=subprocess.STDOUT,
                             cwd=tempfile.gettempdir())
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        log.seek(0)
        output = log.read()
    if p.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}):\n{output[-3000:]}")
    return dict(wall_s=wall, cpu_s=usage.ru_utime + usage.ru_stime, peak_MB=usage.ru_maxrss / 1024, load_before=l0,
                load_after=_load(), output=output[-6000:])


def make_inputs(args, work: Path) -> tuple[Path, Path]:
    """The constants and the modes (given, or made: the run, the fit, the projection)."""
    if args.fc and args.modes:
        return Path(args.fc), Path(args.modes)
    data = Path(args.data) if args.data else work / "md"
    dump, ref = data / f"{NAME}.lammpstrj", data / "gan_6x6x4_0K.data"
    if not dump.exists():
        sys.path.insert(0, str(ROOT))
        from tests.support.lammps_gan import generate
        generate(data, T=300.0, ps=20.0, nevery=10, cells=(6, 6, 4))
    fc = Path(args.fc) if args.fc else work / "fc" / "fc.nc"
    if not fc.exists():
        timed(["fit", str(dump), "--reference", str(ref), "--cutoff3", "3.5", "-o", str(fc.parent)])
    modes = Path(args.modes) if args.modes else work / "modes" / "modes.nc"
    if not modes.exists():
        timed(["project", str(dump), "--reference", str(ref), "--force-constants", str(fc), "-o", str(modes.parent)])
    return fc, modes


def mesh_accuracy(fc_path: Path, dense: list) -> dict:
    """kappa, median widths and shifts of the default mesh and the denser ones (tetrahedra, 300 K, quantum), the
    default's widths and shifts against each denser mesh's at their common q-points, and the concentration of
    kappa."""
    import numpy as np
    from trajmodes.workflows.anharmonic import kappa_concentration_lines
    from trajmodes.workflows import load_force_constants, three_phonon
    fc = load_force_constants(fc_path)
    out, sets = {}, {}
    for mesh in [[12, 12, 12]] + dense:
        t0 = time.perf_counter()
        ds = three_phonon(fc, mesh, [300.0], "quantum", None, kappa=True, static_shift=True).dataset
        f = ds["frequency_harmonic"].values
        live = f > 1e-3
        mk = ds["mode_kappa"].values[0]
        w = np.broadcast_to(ds["weight"].values[:, None], f.shape)
        top = {}
        for c, name in ((0, "xx"), (2, "zz")):
            x = mk[..., c, c].reshape(-1)
            order = np.argsort(x)[::-1]
            k = int(np.searchsorted(np.cumsum(x[order]), 0.5 * x.sum())) + 1
            top[name] = int(w.reshape(-1)[order[:k]].sum())
        key = "x".join(map(str, mesh))
        sets[key] = ds
        out[key] = dict(seconds=time.perf_counter() - t0, irreducible=int(len(f)), points=int(np.prod(mesh)),
                        kappa_xx=float(ds["kappa"].values[0, 0, 0]), kappa_zz=float(ds["kappa"].values[0, 2, 2]),
                        median_fwhm=float(np.median(ds["linewidth"].values[0][live])),
                        median_shift_dynamic=float(np.median(ds["frequency_shift_dynamic"].values[0][live])),
                        modes_with_half_of_kappa=top, warnings=kappa_concentration_lines(ds))
    base = sets["12x12x12"]
    qa = {tuple(x): i for i, x in enumerate(np.round(base["qpoint"].values % 1.0, 6) % 1.0)}
    for key, ds in sets.items():
        if key == "12x12x12":
            continue
        pairs = np.array([(qa[tuple(x)], j) for j, x in enumerate(np.round(ds["qpoint"].values % 1.0, 6) % 1.0)
                          if tuple(x) in qa])
        f = base["frequency_harmonic"].values[pairs[:, 0]]
        live = f > 1e-3
        a, b = (d["linewidth"].values[0][p][live] for d, p in ((base, pairs[:, 0]), (ds, pairs[:, 1])))
        rel = np.abs(a - b) / np.where(b > 0, b, np.nan)
        sa, sb = (d["frequency_shift_dynamic"].values[0][p][live] for d, p in ((base, pairs[:, 0]), (ds, pairs[:, 1])))
        out[key]["default_vs_this"] = dict(common_q=int(len(pairs)),
                                           fwhm_rel_median=float(np.nanmedian(rel)),
                                           fwhm_rel_p90=float(np.nanquantile(rel, 0.9)),
                                           shift_abs_median=float(np.median(np.abs(sa - sb))),
                                           shift_abs_p90=float(np.quantile(np.abs(sa - sb), 0.9)))
    return out


def compare_accuracy(cmp_path: Path, fc_path: Path, modes_path: Path, check: int | None) -> dict:
    """What the comparison says about its own bulk mesh and lines, and with ``check`` the bulk widths against an
    n x n x n mesh at the same q-points."""
    import numpy as np
    import xarray as xr
    ds = xr.open_dataset(cmp_path)
    a = ds.attrs
    f = ds["frequency_harmonic"].values
    live = f > 1e-3
    bulk, err = ds["pt_fwhm_bulk"].values, ds["pt_fwhm_bulk_err"].values
    rel = (err / np.where(bulk > 0, bulk, np.nan))[live]
    out = dict(bulk_mesh=list(map(int, a["bulk_mesh"])), partner=list(map(int, a["bulk_mesh_partner"])),
               smearing=float(a["smearing"]), epsilon=float(a["epsilon"]),
               bulk_vs_partner_rel_median=float(np.nanmedian(rel)), bulk_vs_partner_rel_p90=float(np.nanquantile(rel, 0.9)),
               shift_err_median=float(np.median(ds["pt_shift_err"].values[live])),
               lineshape_step=float(a["lineshape_step"]), lines_narrow=list(map(int, np.atleast_1d(a["n_lines_narrow"]))),
               lines=int(live.sum()), explained_peak_shift=float(ds["explained_peak_shift"].values[-1]),
               explained_centre_shift=float(ds["explained_centre_shift"].values[-1]),
               explained_fwhm=float(ds["explained_fwhm"].values[-1]),
               median_abs_shift_residual=float(a["median_abs_shift_residual"]))
    if check:
        from trajmodes.phonons.anharmonic.anharmonic import Anharmonic
        from trajmodes.workflows import load_force_constants
        fc = load_force_constants(fc_path)
        an = Anharmonic(fc, check, [float(a["temperature"])], occupation="classical", smearing=None)
        gps = an.grid_points(ds["qpoint"].values)
        reps, back = np.unique(an.grid.star_of[gps], return_inverse=True)
        t0 = time.perf_counter()
        dense = an.linewidths(reps)["linewidth"].values[0][back.reshape(-1)]
        r = (np.abs(bulk - dense) / np.where(dense > 0, dense, np.nan))[live]
        out["check"] = dict(mesh=check, seconds=time.perf_counter() - t0, rel_median=float(np.nanmedian(r)),
                            rel_p90=float(np.nanquantile(r, 0.9)))
    return out


def phono3py_subset(fc_path: Path, k: int) -> dict:
    """phono3py's tetrahedron widths on k irreducible q-points of the 12^3 mesh: its seconds per triplet and the
    estimate for all irreducible q; trajmodes' on the same q, for the ratio."""
    import numpy as np
    sys.path.insert(0, str(HERE))
    from bench_anharmonic import ir_grid_points, load_phono3py, run_phono3py, run_trajmodes, subset_positions, \
        triplet_counts
    from trajmodes.workflows import load_force_constants
    fc = load_force_constants(fc_path)
    with tempfile.TemporaryDirectory() as tmp:
        fc.write(tmp, "phono3py")
        ph3 = load_phono3py(tmp, "Rust")
        bz = ir_grid_points(ph3, 12)
        counts = triplet_counts(ph3, bz)
        pos = subset_positions(len(bz), k)
        p3 = run_phono3py(ph3, 12, None, grid_points=bz[pos])
        q = np.asarray(p3["qpoints"], float)
        tm = run_trajmodes(fc, 12, None, subset=q)
    sub = int(counts[pos].sum())
    per = p3["run_s"] / sub
    return dict(q_points=len(pos), triplets_subset=sub, triplets_all=int(counts.sum()), phono3py_subset_s=p3["run_s"],
                phono3py_setup_s=p3["setup_s"], trajmodes_subset_s=tm["run_s"],
                phono3py_all_estimated_s=p3["setup_s"] + per * int(counts.sum()))


def table(res: dict) -> str:
    env = res["environment"]
    L = ["# Three-phonon defaults on wurtzite GaN (576 atoms, 4 per cell): time and accuracy", "",
         f"{env['date']}, {env['cpu']}, {env['cores']} cores, Python {env['python']}. Each command in its own process "
         "(wall clock; CPU = user + system seconds of all its threads); load = 1-minute load average before-after.", "",
         "| command (defaults) | code | round | wall s | CPU s | peak MB | load |", "|---|---|---|---|---|---|---|"]
    for r in res["timings"]:
        L.append(f"| `trajmodes {r['command']}` | {r['code']} | {r['round']} | {r['wall_s']:.1f} | {r['cpu_s']:.1f} | "
                 f"{r['peak_MB']:.0f} | {r['load_before']:.1f}-{r['load_after']:.1f} |")
    m = res.get("mesh")
    if m:
        L += ["", "`anharmonic`'s mesh (tetrahedra, 300 K): kappa and widths against denser meshes", "",
              "| mesh | irreducible q | s (in-process) | kappa_xx | kappa_zz | modes with half of kappa_xx / zz | "
              "median FWHM THz | median Delta(nu0) - Delta(0) THz | 12^3 vs this: FWHM median (p90) rel. | "
              "shift median (p90) THz |", "|---|---|---|---|---|---|---|---|---|---|"]
        for key, r in m.items():
            d = r.get("default_vs_this")
            cmp = (f"{100 * d['fwhm_rel_median']:.1f} % ({100 * d['fwhm_rel_p90']:.0f} %) at {d['common_q']} q | "
                   f"{d['shift_abs_median']:.1e} ({d['shift_abs_p90']:.1e})") if d else "- | -"
            L.append(f"| {key} | {r['irreducible']} | {r['seconds']:.1f} | {r['kappa_xx']:.1f} | {r['kappa_zz']:.1f} | "
                     f"{r['modes_with_half_of_kappa']['xx']} / {r['modes_with_half_of_kappa']['zz']} of "
                     f"{12 * r['points']} | {r['median_fwhm']:.5f} | {r['median_shift_dynamic']:+.5f} | {cmp} |")
    c = res.get("compare")
    if c:
        L += ["", f"`compare`: bulk mesh {c['bulk_mesh'][0]}^3 (partner {c['partner'][0]}^3): widths differ by "
              f"{100 * c['bulk_vs_partner_rel_median']:.2f} % in the median ({100 * c['bulk_vs_partner_rel_p90']:.1f} % "
              f"at the 90th percentile); shifts by {c['shift_err_median']:.1e} THz (median)"
              + (f"; against {c['check']['mesh']}^3: {100 * c['check']['rel_median']:.2f} % "
                 f"({100 * c['check']['rel_p90']:.1f} %), {c['check']['seconds']:.0f} s" if "check" in c else "")
              + f". Smearing {c['smearing']:.4g} THz, epsilon {c['epsilon']:.4g} THz; lineshape axis step "
              f"{c['lineshape_step']:.4f} THz: {c['lines_narrow'][0]} of {c['lines']} lines of theory narrower, placed at "
              f"their narrow-line limit; theory explains {100 * c['explained_peak_shift']:.0f} % of the MD peak shifts, "
              f"{100 * c['explained_centre_shift']:.0f} % of the centre shifts, {100 * c['explained_fwhm']:.0f} % of the "
              f"widths; median |MD - predicted shift| {c['median_abs_shift_residual']:.4f} THz."]
    p = res.get("phono3py")
    if p:
        L += ["", f"phono3py (Rust) on the same constants, 12^3 tetrahedra, {p['q_points']} irreducible q "
              f"({p['triplets_subset']} triplets): {p['phono3py_subset_s']:.1f} s (trajmodes {p['trajmodes_subset_s']:.2f} "
              f"s); all {p['triplets_all']} triplets estimated {p['phono3py_all_estimated_s']:.0f} s (setup included)."]
    L += ["", f"Command: `{res['command']}`"]
    return "\n".join(L) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data"), ap.add_argument("--fc"), ap.add_argument("--modes")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--before", help="PYTHONPATH of another trajmodes to time beside this one")
    ap.add_argument("--dense", nargs="*", default=["16,16,10", "20,20,12"])
    ap.add_argument("--bulk-check", type=int, default=0)
    ap.add_argument("--phono3py-subset", type=int, default=0)
    ap.add_argument("--work", help="folder for the run, the fit and the outputs (default: a temporary one)")
    ap.add_argument("--out", default=str(HERE / "results"))
    args = ap.parse_args(argv)
    work = Path(args.work or tempfile.mkdtemp(prefix="bench_gan_"))
    work.mkdir(parents=True, exist_ok=True)
    fc, modes = make_inputs(args, work)
    codes = [("this", None)] + ([("before", args.before)] if args.before else [])
    timings = []
    for r in range(1, args.rounds + 1):
        for label, cmd in (("anharmonic", ["anharmonic", str(fc)]), ("compare", ["compare", str(modes), str(fc)])):
            for code, path in codes:
                res = timed(cmd + ["-o", str(work / f"{label}_{code}")], path)
                res.update(command=f"{label} (defaults)", code=code, round=r)
                timings.append(res)
                print(f"{label} {code} round {r}: {res['wall_s']:.1f} s wall, {res['cpu_s']:.1f} s CPU, load "
                      f"{res['load_before']:.1f}-{res['load_after']:.1f}", flush=True)
    import datetime
    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")),
               platform.processor()) if os.path.exists("/proc/cpuinfo") else platform.processor()
    res = dict(environment=dict(date=datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), cpu=cpu,
                                cores=os.cpu_count(), python=platform.python_version()),
               command="python benchmarks/bench_defaults_gan.py " + " ".join(argv if argv is not None else sys.argv[1:]),
               timings=timings)
    res["compare"] = compare_accuracy(work / "compare_this" / "comparison.nc", fc, modes, args.bulk_check or None)
    if args.dense is not None:
        res["mesh"] = mesh_accuracy(fc, [[int(x) for x in d.split(",")] for d in args.dense])
    if args.phono3py_subset:
        res["phono3py"] = phono3py_subset(fc, args.phono3py_subset)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "defaults_gan.json").write_text(json.dumps(res, indent=1, default=str))
    text = table(res)
    (out / "defaults_gan.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
