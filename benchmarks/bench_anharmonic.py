#!/usr/bin/env python
"""Three-phonon benchmark: linewidths and RTA thermal conductivity, trajmodes vs phono3py, same input, one run.

    python benchmarks/bench_anharmonic.py [--mesh 19] [--sigma 0.1] [--scaling 8 11 14] [--p3-full 8]
                                          [--p3-subset 3] [--rounds 3] [--long 20] [--threads N]
                                          [--lang Rust|C] [--no-profile] [--no-blas1] [--quick] [--out benchmarks/results]

Case: diamond Si, Stillinger-Weber, 2-atom primitive cell; fc2 (r2 = 6 A) and fc3 (r3 = 4 A) fitted
sequentially from the shipped MD run (``examples/md/si_300K``, 216-atom supercell) by
``EffectiveForceConstants``; the same constants handed to phono3py through ``ForceConstants.to_phono3py``
(fc2.hdf5, compact fc3.hdf5, no symmetrisation). One temperature, 300 K; Gaussian smearing (sigma
``--sigma`` THz) and the linear tetrahedron method.

Timed (interleaved rounds: every round runs each job once, phono3py then trajmodes; the median is
reported; a job whose first round takes longer than ``--long`` seconds is run once, and the table says so):

* phono3py (``--lang``, default its Rust kernels, its own default): ``init_phph_interaction(average_degenerate_weights=True)`` +
  ``run_thermal_conductivity(temperatures=[300], write_kappa=False)``: the linewidths of every irreducible q
  and the RTA kappa in one go;
* trajmodes: ``Anharmonic(fc, mesh, temperatures=[300], smearing=...)`` (frequencies on the grid, the
  lattice-sum tables, tetrahedra) + ``linewidths()`` (every irreducible q) = "linewidths"; that +
  ``thermal_conductivity(linewidths=lw)`` (velocities, heat capacities, the RTA sum; the same code path as
  ``thermal_conductivity()``, which computes the linewidths itself) = "RTA".

phono3py takes about 6 ms per q-point triplet here (it sums fc3 over every supercell atom), an hour for the
503800 triplets of the 19x19x19 mesh on 2 cores. At the headline mesh it therefore runs on ``--p3-subset``
irreducible q-points only (evenly spread over its list, Gamma left out), and trajmodes is timed on the same
q-points (``linewidths(qpoints=...)``, setup excluded on both sides): the measured like-for-like ratio.
phono3py's time for all irreducible q is then estimated as its setup + the subset time x (triplets of all
irreducible q / triplets of the subset), its cost being proportional to the triplets (phono3py's own
``get_triplets_at_q``); estimated numbers are marked "est.". Meshes in ``--p3-full`` run phono3py in full,
with kappa compared too. ``--scaling`` meshes run trajmodes alone (and phono3py where also in ``--p3-full``).

Accuracy, same run: max |gamma_tm - gamma_p3| / gamma_p3 over the modes with gamma_p3 > 1e-6 THz (q matched
by reduced coordinates and star), max |kappa_tm - kappa_p3| / max |kappa_p3| over the tensor.

Threads: ``--threads`` (default: every core) is set as OMP_NUM_THREADS (phono3py's OpenMP, OpenBLAS),
OPENBLAS_NUM_THREADS, MKL_NUM_THREADS, RAYON_NUM_THREADS (phono3py's Rust kernels) before anything is
imported, and as Dask's ``num_workers`` (trajmodes' loop over q-points). Peak memory is the process's RSS
high-water mark (``VmHWM``, reset through ``/proc/self/clear_refs`` before each timed call; a psutil sampler
where that is not allowed), for both codes.

At the headline mesh trajmodes is also timed with BLAS limited to one thread
(``threadpoolctl.threadpool_limits(1)`` around the call, Dask still on ``--threads`` workers), for
information: its q-loop runs small matrix products in every Dask thread, and multithreaded BLAS inside
them oversubscribes the cores (``--no-blas1`` skips it).

The profile (default on, ``--no-profile`` skips it): cProfile of ``Anharmonic.self_energy`` at one general q-point of the headline
mesh for each method, written to ``<out>/profile_anharmonic.txt``.

Writes ``<out>/anharmonic.json`` (every time of every round, the environment, all checks) and
``<out>/anharmonic.md`` (the tables, also printed). ``--quick`` (mesh 6, scaling 4, phono3py in full at
4 and 6, one round, no profile) is a smoke run of under a minute and writes ``anharmonic_quick.*``.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MD = ROOT / "examples" / "md"
METHODS = ("gaussian", "tetrahedron")


# -- memory: the RSS high-water mark of this process ------------------------------------------------
def _status() -> dict:
    with open("/proc/self/status") as fh:
        return {ln.split(":")[0]: int(ln.split()[1]) * 1024 for ln in fh if ln.startswith(("VmRSS", "VmHWM"))}


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


class PeakRSS:
    """Peak RSS (bytes) of this process while the block runs: VmHWM after resetting it, else psutil sampling."""

    def __enter__(self):
        self.start = _status()["VmRSS"]
        self.reset = _reset_peak()
        self._stop = threading.Event()
        self.sampled = self.start
        if not self.reset:
            import psutil
            proc = psutil.Process()

            def sample():
                while not self._stop.wait(0.02):
                    self.sampled = max(self.sampled, proc.memory_info().rss)
            self._thread = threading.Thread(target=sample, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        st = _status()
        self.peak = st["VmHWM"] if self.reset else max(self.sampled, st["VmRSS"])
        return False


# -- the input ------------------------------------------------------------------------------------
def fit_constants():
    import trajmodes
    traj = trajmodes.read(MD / "si_300K.lammpstrj.gz", reference=MD / "si_300K.data")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return trajmodes.EffectiveForceConstants(cutoff2=6.0, cutoff3=4.0, mode="sequential").fit(traj).force_constants_


def load_phono3py(folder: str, lang: str):
    import phono3py
    return phono3py.load(folder + "/phono3py_params.yaml", fc2_filename=folder + "/fc2.hdf5",
                         fc3_filename=folder + "/fc3.hdf5", symmetrize_fc=False, produce_fc=False, log_level=0,
                         lang=lang)


def environment(threads: int, lang: str) -> dict:
    import numpy as np
    import dask
    import phono3py
    import phonopy
    import threadpoolctl
    import trajmodes
    from phono3py._lang import c_omp_max_threads, have_c_ext, have_phonors
    pools = [dict(api=p["internal_api"], threads=p["num_threads"], lib=os.path.basename(p["filepath"]))
             for p in threadpoolctl.threadpool_info()]
    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")),
               platform.processor()) if os.path.exists("/proc/cpuinfo") else platform.processor()
    mem = next((int(ln.split()[1]) * 1024 for ln in open("/proc/meminfo") if ln.startswith("MemTotal")), None) \
        if os.path.exists("/proc/meminfo") else None
    return dict(python=platform.python_version(), numpy=np.__version__, dask=dask.__version__,
                trajmodes=getattr(trajmodes, "__version__", None),
                phono3py=phono3py.__version__, phonopy=phonopy.__version__, cpu=cpu, cores=os.cpu_count(),
                memory_bytes=mem, threads=threads, phono3py_lang=lang, phono3py_c_extension=have_c_ext(),
                phono3py_rust_phonors=have_phonors(), phono3py_c_omp_max_threads=c_omp_max_threads(),
                trajmodes_dask_num_workers=dask.config.get("num_workers", None), threadpools=pools,
                env={k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                                    "RAYON_NUM_THREADS")},
                loadavg_start=os.getloadavg())


# -- the two codes --------------------------------------------------------------------------------
def run_phono3py(ph3, mesh: int, sigma, grid_points=None) -> dict:
    import numpy as np
    ph3.mesh_numbers = [mesh] * 3
    ph3.sigmas = [sigma]
    with contextlib.redirect_stdout(io.StringIO()):
        t0 = time.perf_counter()
        # tetrahedron weights averaged over degenerate sets at q' and q'', as trajmodes does (without it phono3py's
        # tetrahedron widths depend on the eigenvector basis its solver picks); no effect with Gaussian smearing
        ph3.init_phph_interaction(average_degenerate_weights=True)
        t1 = time.perf_counter()
        ph3.run_thermal_conductivity(temperatures=[300.0], grid_points=grid_points, write_kappa=False)
        t2 = time.perf_counter()
    tc = ph3.thermal_conductivity
    return dict(setup_s=t1 - t0, run_s=t2 - t1, total_s=t2 - t0, gamma=np.asarray(tc.gamma)[0, 0].copy(),
                kappa=np.asarray(tc.kappa)[0, 0].copy(), qpoints=np.asarray(tc.qpoints, dtype=float).copy(),
                grid_points=np.asarray(tc.grid_points).copy())


def run_trajmodes(fc, mesh: int, sigma, subset=None) -> dict:
    """Full: Anharmonic + linewidths() + thermal_conductivity(linewidths=lw); subset: linewidths at the given
    reduced q-points on an Anharmonic built beforehand (not timed)."""
    from trajmodes.phonons.anharmonic import Anharmonic
    t0 = time.perf_counter()
    an = Anharmonic(fc, [mesh] * 3, temperatures=[300.0], smearing=sigma)
    t1 = time.perf_counter()
    if subset is not None:
        gps = an.grid_points(subset)
        t1 = time.perf_counter()
        lw = an.linewidths(qpoints=gps)
        t2 = time.perf_counter()
        return dict(run_s=t2 - t1, total_s=t2 - t1, gamma=lw["gamma"].values[0].copy(), grid_points=gps)
    lw = an.linewidths()
    t2 = time.perf_counter()
    ds = an.thermal_conductivity(linewidths=lw)
    t3 = time.perf_counter()
    return dict(setup_s=t1 - t0, linewidths_s=t2 - t1, kappa_s=t3 - t2, total_linewidths_s=t2 - t0,
                total_s=t3 - t0, gamma=lw["gamma"].values[0].copy(), kappa=ds["kappa"].values[0].copy(),
                grid=an.grid, n_irreducible=len(an.grid.irreducible), anharmonic=an)


def match_gamma(an_grid, p3_qpoints, tm_gamma_irr=None, tm_gamma_at=None):
    """trajmodes' gamma on phono3py's q-points: via the star (positions in trajmodes' irreducible list) or given
    row by row."""
    import numpy as np
    if tm_gamma_at is not None:
        return tm_gamma_at
    m = an_grid.mesh
    g = an_grid.index(np.rint(np.asarray(p3_qpoints) * m).astype(np.int64))
    return tm_gamma_irr[an_grid.irreducible_of[g]]


def rel_gamma(g_tm, g_p3, floor: float = 1e-6) -> float:
    import numpy as np
    sel = g_p3 > floor
    return float((np.abs(g_tm - g_p3)[sel] / g_p3[sel]).max()) if sel.any() else float("nan")


def voigt_to_tensor(k6):
    import numpy as np
    xx, yy, zz, yz, xz, xy = k6
    return np.array([[xx, xy, xz], [xy, yy, yz], [xz, yz, zz]])


def rel_kappa(k_tm, k_p3_voigt) -> float:
    import numpy as np
    K = voigt_to_tensor(k_p3_voigt)
    return float(np.abs(k_tm - K).max() / np.abs(K).max())


# -- rounds ---------------------------------------------------------------------------------------
def rounds(jobs: dict, n: int, long_s: float, log) -> dict:
    """Interleaved: every round runs every job still in play once; a job whose first run took > long_s is not
    repeated. Returns name -> dict(times=[...], peak=[...], rss_start=[...], last=result)."""
    out = {k: dict(times=[], peak=[], rss_start=[], last=None) for k in jobs}
    for r in range(n):
        for k, fn in jobs.items():
            if r > 0 and out[k]["times"][0] > long_s:
                continue
            with PeakRSS() as pk:
                res = fn()
            out[k]["times"].append(res["total_s"])
            out[k]["peak"].append(pk.peak)
            out[k]["rss_start"].append(pk.start)
            out[k]["parts"] = out[k].get("parts", []) + [{p: v for p, v in res.items() if p.endswith("_s")}]
            out[k]["last"] = res
            log(f"    round {r + 1} {k}: {res['total_s']:.2f} s (peak RSS {pk.peak / 1e6:.0f} MB)")
    for v in out.values():
        v["median_s"] = statistics.median(v["times"])
        v["rounds"] = len(v["times"])
        v["peak_MB"] = max(v["peak"]) / 1e6
        v["peak_over_start_MB"] = max(p - s for p, s in zip(v["peak"], v["rss_start"])) / 1e6
    return out


def _strip(v: dict) -> dict:
    return {k: x for k, x in v.items() if k != "last"}


def subset_positions(n_ir: int, k: int) -> list:
    import numpy as np
    return sorted({int(round(x)) for x in np.linspace(0, n_ir - 1, k + 2)[1:-1]} - {0}) or [min(1, n_ir - 1)]


def triplet_counts(ph3, bz_gps):
    import numpy as np
    from phono3py.phonon3.triplets import get_triplets_at_q
    return np.array([len(get_triplets_at_q(int(g), ph3.grid, lang="C")[1]) for g in bz_gps])


def ir_grid_points(ph3, mesh: int):
    from phonopy.phonon.grid import get_ir_grid_points
    ph3.mesh_numbers = [mesh] * 3
    ir, _, _ = get_ir_grid_points(ph3.grid)
    return ph3.grid.grg2bzg[ir]


# -- profile --------------------------------------------------------------------------------------
def profile(fc, mesh: int, sigma, out: Path) -> dict:
    import cProfile
    import pstats
    import numpy as np
    from trajmodes.phonons.anharmonic import Anharmonic
    text, summary = [], {}
    for method in METHODS:
        an = Anharmonic(fc, [mesh] * 3, temperatures=[300.0], smearing=sigma if method == "gaussian" else None)
        counts = np.array([len(an.grid.triplets(int(q))) for q in an.grid.irreducible])
        q = int(an.grid.irreducible[int(np.argmax(counts))])
        an.self_energy(q)                                                         # warm
        pr = cProfile.Profile()
        t0 = time.perf_counter()
        pr.enable()
        an.self_energy(q)
        pr.disable()
        wall = time.perf_counter() - t0
        s = io.StringIO()
        st = pstats.Stats(pr, stream=s).sort_stats("tottime")
        st.print_stats(14)
        text.append(f"=== {method}, {mesh}x{mesh}x{mesh}, self_energy at grid point {q} ({counts.max()} triplets), "
                    f"wall {wall:.3f} s (single thread: the q loop is what Dask parallelises)\n{s.getvalue()}")
        rows = sorted(st.stats.items(), key=lambda kv: -kv[1][2])[:6]
        summary[method] = dict(grid_point=q, triplets=int(counts.max()), wall_s=wall,
                               top_tottime=[dict(function=f"{Path(f).name}:{ln}({fn})", tottime_s=v[2],
                                                 share=v[2] / wall) for (f, ln, fn), v in rows])
    (out / "profile_anharmonic.txt").write_text("\n".join(text))
    return summary


# -- report ---------------------------------------------------------------------------------------
def _fmt_t(v, est=False, one=False):
    if v is None:
        return "-"
    s = f"{v:.1f}" if v >= 10 else f"{v:.2f}" if v >= 0.1 else f"{v:.3f}"
    return ("~" + s + " (est.)") if est else (s + " (1 round)") if one else s


def table(res: dict) -> str:
    env, cfg = res["environment"], res["config"]
    L = [f"# Three-phonon linewidths and RTA kappa: trajmodes vs phono3py {env['phono3py']} ({env['phono3py_lang']})",
         "",
         f"Si (SW), 2-atom primitive cell, fc2 r2 = 6 A + fc3 r3 = 4 A fitted from examples/md/si_300K (216-atom "
         f"supercell); 300 K; Gaussian sigma = {cfg['sigma']} THz or linear tetrahedra. {env['cores']} cores "
         f"({env['cpu']}); both codes on {env['threads']} threads (OMP_NUM_THREADS / OpenBLAS / Dask num_workers); "
         f"load average {env['loadavg_start'][0]:.2f} at start, {res['loadavg_end'][0]:.2f} at end. Median of up to "
         f"{cfg['rounds']} interleaved rounds; jobs longer than {cfg['long']} s ran once (marked). Seconds.",
         "", "| case | phono3py s | trajmodes s | ratio (phono3py / trajmodes) | max rel diff | peak MB (trajmodes; phono3py) |",
         "|---|---|---|---|---|---|"]
    for row in res["rows"]:
        L.append(f"| {row['case']} | {row['p3']} | {row['tm']} | {row['ratio']} | {row['diff']} | {row['peak']} |")
    L += ["", "Scaling with the mesh (trajmodes RTA = Anharmonic + linewidths + kappa; phono3py where run in full):", "",
          "| mesh | q-points | irreducible | triplets (all irreducible q) | trajmodes gaussian s | "
          "trajmodes tetrahedron s | phono3py gaussian s | phono3py tetrahedron s | trajmodes gaussian us/triplet | "
          "trajmodes tetrahedron us/triplet |",
          "|---|---|---|---|---|---|---|---|---|---|"]
    for s in res["scaling"]:
        L.append(f"| {s['mesh']}^3 | {s['n_points']} | {s['n_irreducible']} | {s['triplets']} | "
                 f"{_fmt_t(s.get('tm_gaussian_s'))} | {_fmt_t(s.get('tm_tetrahedron_s'))} | "
                 f"{_fmt_t(s.get('p3_gaussian_s'), s.get('p3_est'))} | {_fmt_t(s.get('p3_tetrahedron_s'), s.get('p3_est'))} | "
                 f"{s['tm_gaussian_us_per_triplet']:.1f} | {s['tm_tetrahedron_us_per_triplet']:.1f} |")
    if res.get("growth"):
        L += ["", "Growth: " + res["growth"]]
    L += ["", "Atoms in the primitive cell: not measured. The only fc3 input at hand is the 2-atom Si cell; the "
          "same constants on the 8-atom conventional cell would need a folded ForceConstants that trajmodes does not "
          "provide, and no other system ships with a fitted fc3. The work per triplet grows as (3n)^3 x the "
          "atoms fc3 couples (the contraction and the strengths) while the triplets per q stay those of the mesh.",
          "", "Notes:"]
    L += [f"- {n}" for n in res["notes"]]
    if res.get("profile"):
        L += ["", "Where trajmodes' time goes (cProfile of `self_energy` at the general q with the most triplets, "
              "one thread; full listing in profile_anharmonic.txt):", ""]
        for m, p in res["profile"].items():
            tops = "; ".join(f"{t['function']} {100 * t['share']:.0f}%" for t in p["top_tottime"][:4])
            L.append(f"- {m}: {p['wall_s']:.3f} s for {p['triplets']} triplets: {tops}")
    L += ["", f"Command: `{res['command']}`", ""]
    return "\n".join(L)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mesh", type=int, default=19, help="headline mesh (n x n x n)")
    ap.add_argument("--sigma", type=float, default=0.1, help="Gaussian smearing, THz")
    ap.add_argument("--scaling", type=int, nargs="*", default=[8, 11, 14], help="more meshes for trajmodes")
    ap.add_argument("--p3-full", type=int, nargs="*", default=[8], help="meshes where phono3py runs every q")
    ap.add_argument("--p3-subset", type=int, default=3, help="irreducible q for phono3py at the headline mesh")
    ap.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--long", type=float, default=20.0, help="a job whose first round is longer runs once")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--lang", default="Rust", choices=("C", "Rust"), help="phono3py backend (default Rust, phono3py's own "
                    "default; its C kernels cannot average tetrahedron weights over degenerate sets)")
    ap.add_argument("--no-profile", action="store_true")
    ap.add_argument("--no-blas1", action="store_true",
                    help="skip the info run of trajmodes with BLAS limited to 1 thread at the headline mesh")
    ap.add_argument("--quick", action="store_true", help="smoke run: mesh 6, scaling 4, one round")
    ap.add_argument("--out", default=str(HERE / "results"))
    args = ap.parse_args(argv)
    if args.quick:
        args.mesh, args.scaling, args.p3_full, args.rounds, args.no_profile = 6, [4], [4, 6], 1, True
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "RAYON_NUM_THREADS"):
        os.environ[var] = str(args.threads)

    import numpy as np
    import dask
    dask.config.set(num_workers=args.threads)
    sys.path.insert(0, str(ROOT))
    warnings.simplefilter("ignore")

    def log(msg):
        print(msg, flush=True)

    env = environment(args.threads, args.lang)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    fc = fit_constants()
    log(f"fitted fc2 + fc3 in {time.perf_counter() - t0:.1f} s")
    tmp = tempfile.TemporaryDirectory(prefix="bench_anharmonic_")
    fc.to_phono3py(tmp.name)
    ph3 = load_phono3py(tmp.name, args.lang)
    sig = {"gaussian": args.sigma, "tetrahedron": None}
    for s in sig.values():                     # warm-up, untimed: imports, first calls, the Dask pool
        run_phono3py(ph3, 3, s)
        run_trajmodes(fc, 3, s)
    meshes = sorted(set(args.scaling) | {args.mesh} | set(args.p3_full))
    results, rows, notes, scaling = {}, [], [], []

    for mesh in meshes:
        for method in args.methods:
            log(f"mesh {mesh}^3, {method}")
            s = sig[method]
            jobs = {}
            full = mesh in args.p3_full
            if full:
                jobs["phono3py"] = lambda m=mesh, s=s: run_phono3py(ph3, m, s)
            jobs["trajmodes"] = lambda m=mesh, s=s: run_trajmodes(fc, m, s)
            sub = None
            if mesh == args.mesh and not full:
                bz = ir_grid_points(ph3, mesh)
                pos = subset_positions(len(bz), args.p3_subset)
                counts = triplet_counts(ph3, bz)
                sub = dict(bz_grid_points=bz[pos].tolist(), positions=pos, triplets_subset=int(counts[pos].sum()),
                           triplets_all=int(counts.sum()), n_irreducible=len(bz))
                jobs["phono3py_subset"] = lambda m=mesh, s=s, g=bz[pos]: run_phono3py(ph3, m, s, grid_points=g)
                q_sub = None

                def tm_subset(m=mesh, s=s):
                    nonlocal q_sub
                    if q_sub is None:                   # phono3py's q-points of the subset (reduced)
                        q_sub = run_phono3py_q(ph3, m, bz[pos])
                    return run_trajmodes(fc, m, s, subset=q_sub)
                jobs["trajmodes_subset"] = tm_subset
            if mesh == args.mesh and not args.no_blas1:
                def tm_blas1(m=mesh, s=s):
                    from threadpoolctl import threadpool_limits
                    with threadpool_limits(1):          # BLAS 1 thread inside each of the Dask workers
                        return run_trajmodes(fc, m, s)
                jobs["trajmodes_blas1"] = tm_blas1
            r = rounds(jobs, args.rounds, args.long, log)
            tm = r["trajmodes"]
            last = tm["last"]
            entry = dict(mesh=mesh, method=method, sigma=s, jobs={k: _strip(v) for k, v in r.items()},
                         n_irreducible=last["n_irreducible"], n_points=mesh ** 3,
                         triplets=int(sum(len(last["grid"].triplets(int(q))) for q in last["grid"].irreducible)),
                         kappa_trajmodes=last["kappa"].tolist())
            lw_med = statistics.median(p["total_linewidths_s"] for p in tm["parts"])
            entry["trajmodes_linewidths_median_s"] = lw_med
            one_tm = tm["rounds"] == 1 and args.rounds > 1
            label = f"{mesh}^3 {method}" + (f" (sigma {s} THz)" if s else "")
            peak_tm = f"{tm['peak_MB']:.0f} (+{tm['peak_over_start_MB']:.0f})"
            if full:
                p3 = r["phono3py"]
                p3l = p3["last"]
                g_tm = match_gamma(last["grid"], p3l["qpoints"], tm_gamma_irr=last["gamma"])
                entry.update(gamma_max_rel_diff=rel_gamma(g_tm, p3l["gamma"]),
                             kappa_max_rel_diff=rel_kappa(last["kappa"], p3l["kappa"]),
                             kappa_phono3py_voigt=p3l["kappa"].tolist(),
                             gamma_max_abs_diff_THz=float(np.abs(g_tm - p3l["gamma"]).max()))
                one_p3 = p3["rounds"] == 1 and args.rounds > 1
                peak = f"{peak_tm}; {p3['peak_MB']:.0f}"
                rows.append(dict(case=f"{label}: linewidths of all {last['n_irreducible']} irreducible q "
                                      "(phono3py: its RTA run)", p3=_fmt_t(p3["median_s"], one=one_p3),
                                 tm=_fmt_t(lw_med, one=one_tm), ratio=f"{p3['median_s'] / lw_med:.0f}x",
                                 diff=f"gamma {entry['gamma_max_rel_diff']:.1e}", peak=peak))
                rows.append(dict(case=f"{label}: RTA kappa (incl. linewidths)", p3=_fmt_t(p3["median_s"], one=one_p3),
                                 tm=_fmt_t(tm["median_s"], one=one_tm), ratio=f"{p3['median_s'] / tm['median_s']:.0f}x",
                                 diff=f"kappa {entry['kappa_max_rel_diff']:.1e} (xx {last['kappa'][0, 0]:.1f} vs "
                                      f"{p3l['kappa'][0]:.1f} W/mK)", peak=peak))
                p3_total, p3_est = p3["median_s"], False
            elif sub is not None:
                ps, ts = r["phono3py_subset"], r["trajmodes_subset"]
                g_tm = ts["last"]["gamma"]
                entry.update(subset=sub, gamma_max_rel_diff_subset=rel_gamma(g_tm, ps["last"]["gamma"]),
                             gamma_max_abs_diff_subset_THz=float(np.abs(g_tm - ps["last"]["gamma"]).max()))
                ps_run = statistics.median(p["run_s"] for p in ps["parts"])
                ps_setup = statistics.median(p["setup_s"] for p in ps["parts"])
                p3_total = ps_setup + ps_run * sub["triplets_all"] / sub["triplets_subset"]
                p3_est = True
                entry.update(phono3py_estimated_full_s=p3_total, phono3py_subset_run_s=ps_run)
                one_ps = ps["rounds"] == 1 and args.rounds > 1
                nq = len(sub["positions"])
                rows.append(dict(case=f"{label}: linewidths of {nq} irreducible q ({sub['triplets_subset']} triplets), "
                                      "both measured, setup excluded",
                                 p3=_fmt_t(ps_run, one=one_ps), tm=_fmt_t(ts["median_s"]),
                                 ratio=f"{ps_run / ts['median_s']:.0f}x",
                                 diff=f"gamma {entry['gamma_max_rel_diff_subset']:.1e}",
                                 peak=f"{ts['peak_MB']:.0f}; {ps['peak_MB']:.0f}"))
                rows.append(dict(case=f"{label}: linewidths of all {sub['n_irreducible']} irreducible q "
                                      f"({sub['triplets_all']} triplets)",
                                 p3=_fmt_t(p3_total, est=True), tm=_fmt_t(lw_med, one=one_tm),
                                 ratio=f"~{p3_total / lw_med:.0f}x (est.)", diff="(subset above)", peak=peak_tm))
                rows.append(dict(case=f"{label}: RTA kappa (incl. linewidths)", p3=_fmt_t(p3_total, est=True),
                                 tm=_fmt_t(tm["median_s"], one=one_tm),
                                 ratio=f"~{p3_total / tm['median_s']:.0f}x (est.)",
                                 diff=f"- (kappa_xx trajmodes {last['kappa'][0, 0]:.1f} W/mK)", peak=peak_tm))
            else:
                p3_total, p3_est = None, False
                rows.append(dict(case=f"{label}: RTA kappa (incl. linewidths), trajmodes only", p3="-",
                                 tm=_fmt_t(tm["median_s"], one=one_tm), ratio="-",
                                 diff=f"- (kappa_xx {last['kappa'][0, 0]:.1f} W/mK)", peak=peak_tm))
            if "trajmodes_blas1" in r:
                b1 = r["trajmodes_blas1"]
                entry["trajmodes_blas1_median_s"] = b1["median_s"]
                entry["kappa_blas1_vs_default_max_abs"] = float(np.abs(b1["last"]["kappa"] - last["kappa"]).max())
                one_b1 = b1["rounds"] == 1 and args.rounds > 1
                ratio = f"~{p3_total / b1['median_s']:.0f}x (est.)" if p3_est else \
                    f"{p3_total / b1['median_s']:.0f}x" if p3_total else "-"
                rows.append(dict(case=f"{label}: RTA kappa, trajmodes with BLAS limited to 1 thread "
                                      "(threadpoolctl; Dask still on all threads), info",
                                 p3=_fmt_t(p3_total, est=p3_est) if p3_total else "-",
                                 tm=_fmt_t(b1["median_s"], one=one_b1), ratio=ratio,
                                 diff=f"{tm['median_s'] / b1['median_s']:.1f}x faster than "
                                      "the default", peak=f"{b1['peak_MB']:.0f} (+{b1['peak_over_start_MB']:.0f})"))
            entry["phono3py_total_s"], entry["phono3py_estimated"] = p3_total, p3_est
            results[f"{mesh}_{method}"] = entry
            sc = next((x for x in scaling if x["mesh"] == mesh), None)
            if sc is None:
                sc = dict(mesh=mesh, n_points=mesh ** 3, n_irreducible=entry["n_irreducible"],
                          triplets=entry["triplets"])
                scaling.append(sc)
            sc[f"tm_{method}_s"] = tm["median_s"]
            sc[f"tm_{method}_us_per_triplet"] = 1e6 * tm["median_s"] / entry["triplets"]
            if p3_total is not None:
                sc[f"p3_{method}_s"], sc["p3_est"] = p3_total, p3_est
            log(f"  trajmodes RTA {tm['median_s']:.2f} s, phono3py {p3_total if p3_total is None else round(p3_total, 2)}"
                f"{' (est.)' if p3_est else ''}")
    for sc in scaling:
        for m in METHODS:
            sc.setdefault(f"tm_{m}_us_per_triplet", float("nan"))
    # growth exponent in N (q-points) from the two largest meshes
    growth = []
    for m in args.methods:
        pts = [(s["n_points"], s[f"tm_{m}_s"]) for s in scaling if f"tm_{m}_s" in s]
        if len(pts) >= 2:
            (n1, t1), (n2, t2) = pts[-2], pts[-1]
            growth.append(f"trajmodes {m} time ~ N^{np.log(t2 / t1) / np.log(n2 / n1):.2f} between {n1} and {n2} "
                          "q-points (the triplets of all irreducible q grow as N^2 / |point group|)")
    notes.append("phono3py's kernels sum fc3 over every atom of the 216-atom supercell for each triplet; trajmodes "
                 "only over the atoms its fc3 couples (r3 = 4 A), which is most of the difference.")
    if any(r.get("phono3py_estimated") for r in results.values()):
        notes.append(f"At {args.mesh}^3 phono3py ran on {args.p3_subset} irreducible q only (about 6 ms per triplet "
                     "on 2 cores: roughly an hour for all q); the full phono3py time is extrapolated by triplet count. "
                     "Use --p3-full with the headline mesh for a measured full run.")
    for key, e in results.items():
        d = e.get("gamma_max_rel_diff", e.get("gamma_max_rel_diff_subset"))
        if d is not None and d > 1e-3:
            notes.append(f"{e['mesh']}^3 {e['method']}: gamma differs from phono3py by up to {100 * d:.1f}% "
                         "(relative); this method does not yet reproduce phono3py.")
    for e in results.values():
        if e.get("trajmodes_blas1_median_s") and e["trajmodes_blas1_median_s"] * 1.5 < \
                e["jobs"]["trajmodes"]["median_s"]:
            gain = e["jobs"]["trajmodes"]["median_s"] / e["trajmodes_blas1_median_s"]
            notes.append(f"{e['mesh']}^3 {e['method']}: trajmodes is {gain:.1f}x faster with BLAS limited to one thread: its Dask "
                         "q-loop calls small matrix products (interaction.reciprocal_fc3) from every worker thread "
                         "with a multithreaded BLAS underneath, which oversubscribes the cores.")
    res = dict(environment=env, config=dict(mesh=args.mesh, sigma=args.sigma, scaling=args.scaling,
                                            p3_full=args.p3_full, p3_subset=args.p3_subset, rounds=args.rounds,
                                            long=args.long, threads=args.threads, lang=args.lang, quick=args.quick),
               results=results, rows=rows, scaling=scaling, growth="; ".join(growth), notes=notes)
    if not args.no_profile:
        log("profile ...")
        res["profile"] = profile(fc, args.mesh, args.sigma, out)
    res["loadavg_end"] = os.getloadavg()
    res["command"] = "python benchmarks/bench_anharmonic.py " + " ".join(argv if argv is not None else sys.argv[1:])
    stem = "anharmonic_quick" if args.quick else "anharmonic"
    (out / f"{stem}.json").write_text(json.dumps(res, indent=1, default=float) + "\n")
    md = table(res)
    (out / f"{stem}.md").write_text(md)
    print(md)
    tmp.cleanup()
    return 0


def run_phono3py_q(ph3, mesh: int, bz_gps):
    """Reduced q of phono3py's BZ grid points at ``mesh``."""
    import numpy as np
    ph3.mesh_numbers = [mesh] * 3
    g = ph3.grid
    return np.asarray(g.addresses[bz_gps], dtype=float) / np.asarray(g.D_diag, dtype=float)


if __name__ == "__main__":
    sys.exit(main())
