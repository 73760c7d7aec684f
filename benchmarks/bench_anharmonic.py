#!/usr/bin/env python
"""Three-phonon benchmark: linewidths, RTA and LBTE thermal conductivity, trajmodes vs phono3py, same input, one run.

    python benchmarks/bench_anharmonic.py [--mesh 19] [--sigma 0.1] [--scaling 8 11 14] [--p3-full 8]
                                          [--p3-subset 3] [--lbte 8 14] [--lbte-reducible 8] [--cells 3 4 5 6]
                                          [--p3-cells ...] [--rounds 3] [--long 20] [--threads N] [--lang Rust|C]
                                          [--no-profile] [--no-blas1] [--quick] [--out benchmarks/results]

Case: diamond Si, Stillinger-Weber, 2-atom primitive cell; fc2 (r2 = 6 A) and fc3 (r3 = 4 A) fitted
sequentially from the shipped MD run (``examples/md/si_300K``, 216-atom supercell) by
``EffectiveForceConstants``; the same constants handed to phono3py through ``ForceConstants.write``
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

LBTE (``--lbte``, ``--lbte-reducible`` meshes; Gaussian ``--sigma``, 300 K): ``Anharmonic(...)`` +
``thermal_conductivity("lbte")`` against phono3py's ``init_phph_interaction`` + ``run_thermal_conductivity(is_LBTE=True)``,
the direct solution (Chaput, Phys. Rev. Lett. 110, 265506 (2013)) on both sides with the same collision matrix
(irreducible, 3 x 3 Cartesian blocks on the irreducible q, both codes' default; or reducible, every q of the mesh,
``reducible=True`` / ``is_reducible_collision_matrix=True``) and pinv cutoff 1e-8 THz; kappa_xx and the tensor
compared, and the RTA kappa that comes with both. The default largest mesh, 14^3, is about the largest on which
phono3py's LBTE ends within 5 minutes on 2 cores.

Atoms in the unit cell (``--cells`` m, ``--p3-cells``): the same constants with the 8-atom conventional cubic cell
as the unit cell (``conventional_constants``: the 216-atom supercell is 3 x 3 x 3 conventional cells, so the fc3
rows of the six other atoms are lattice translations of the fitted two; nothing is refitted), on the q-points of
m x m x m conventional cells: the m^3 mesh of the 8-atom cell and, on the 2-atom cell, the grid of the supercell
m M (M the conventional cell in primitive vectors; phono3py with ``use_grg``), the same 4 m^3 q-points folded or not.
Gaussian linewidths at all irreducible q, both codes, both cells, interleaved; checked: each code against phono3py
on each cell, and the 8-atom widths against the 2-atom ones at the q that fold onto each other.

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
``<out>/anharmonic.md`` (the tables, also printed); every row carries the 1-minute load average before and after
its rounds (``os.getloadavg``), as the machine may be shared. ``--quick`` (mesh 6, scaling 4, phono3py in full at
4 and 6, LBTE at 5 and 6 (reducible at 5), cells 3 and 4, one round, no profile) is a smoke run of about a minute
and writes ``anharmonic_quick.*``.
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


def load_phono3py(folder: str, lang: str, use_grg: bool = False):
    """phono3py on the constants written into ``folder``; ``use_grg``: meshes given as 3 x 3 supercell matrices
    (its generalised regular grids)."""
    import phono3py
    return phono3py.load(folder + "/phono3py_params.yaml", fc2_filename=folder + "/fc2.hdf5",
                         fc3_filename=folder + "/fc3.hdf5", symmetrize_fc=False, produce_fc=False, log_level=0,
                         lang=lang, use_grg=use_grg)


def conventional_constants(fc):
    """The same fc2 and fc3 with the 8-atom conventional cubic cell as the unit cell ("primitive" cell of the
    ForceConstants and of phono3py): the 216-atom supercell is 3 x 3 x 3 conventional cells, so nothing is refitted;
    the compact rows of the six atoms that are not in the 2-atom cell are its rows moved by the lattice translation
    that takes them there (fc3[i, j, k] = fc3[i - t, j - t, k - t]). Returns it and M, the conventional cell in
    primitive cell vectors (``conventional.cell = M @ primitive.cell``; |det M| = 4)."""
    import numpy as np
    from trajmodes.forceconstants.model import ForceConstants
    from trajmodes.lattice.crystal import Crystal
    sc = fc.supercell
    C = sc.cell / 3
    M = np.rint(C @ np.linalg.inv(fc.primitive.cell)).astype(int)
    if not np.allclose(M @ fc.primitive.cell, C) or round(abs(np.linalg.det(M))) != 4:
        raise ValueError("the supercell is not 3 x 3 x 3 conventional cells of the diamond lattice")
    pos = sc.ideal_positions(fc.primitive, fc.smap)
    f = pos @ np.linalg.inv(C)
    first = np.flatnonzero(((f > -1e-6) & (f < 1 - 1e-6)).all(axis=1))        # the atoms of one conventional cell
    conv = Crystal(C, pos[first], sc.species[first], sc.masses[first])
    full2 = fc.full()
    p2s = ForceConstants(full2, sc, conv).p2s
    cols = fc.compact_columns(p2s[:, None], np.arange(sc.n_atoms)[None, :])    # (8, N): j - t of every j
    a = fc.smap.atom[p2s]
    fc3 = fc.fc3[a[:, None, None], cols[:, :, None], cols[:, None, :]]
    return ForceConstants(full2[p2s], sc, conv, p2s=p2s, fc3=fc3), M


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
def _mesh(mesh):
    """n -> [n, n, n]; a 3 x 3 supercell matrix (a generalised regular grid) as it is."""
    import numpy as np
    return np.asarray(mesh) if np.ndim(mesh) == 2 else [int(mesh)] * 3


def _timed_phono3py(ph3, mesh, sigma, **run) -> tuple[float, float]:
    """phono3py's ``init_phph_interaction`` then ``run_thermal_conductivity(temperatures=[300], **run)``, quiet:
    (setup s, run s). Tetrahedron weights averaged over degenerate sets at q' and q'', as trajmodes does (without it
    phono3py's tetrahedron widths depend on the eigenvector basis its solver picks); no effect with Gaussian
    smearing."""
    ph3.mesh_numbers = _mesh(mesh)
    ph3.sigmas = [sigma]
    with contextlib.redirect_stdout(io.StringIO()):
        t0 = time.perf_counter()
        ph3.init_phph_interaction(average_degenerate_weights=True)
        t1 = time.perf_counter()
        ph3.run_thermal_conductivity(temperatures=[300.0], write_kappa=False, **run)
        t2 = time.perf_counter()
    return t1 - t0, t2 - t1


def run_phono3py(ph3, mesh, sigma, grid_points=None) -> dict:
    import numpy as np
    setup, run = _timed_phono3py(ph3, mesh, sigma, grid_points=grid_points)
    tc = ph3.thermal_conductivity
    return dict(setup_s=setup, run_s=run, total_s=setup + run, gamma=np.asarray(tc.gamma)[0, 0].copy(),
                kappa=np.asarray(tc.kappa)[0, 0].copy(), qpoints=np.asarray(tc.qpoints, dtype=float).copy(),
                grid_points=np.asarray(tc.grid_points).copy())


def run_trajmodes(fc, mesh, sigma, subset=None) -> dict:
    """Full: Anharmonic + linewidths() + thermal_conductivity(linewidths=lw); subset: linewidths at the given
    reduced q-points on an Anharmonic built beforehand (not timed)."""
    from trajmodes.phonons.anharmonic.anharmonic import Anharmonic
    t0 = time.perf_counter()
    an = Anharmonic(fc, _mesh(mesh), temperatures=[300.0], smearing=sigma)
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


PINV_CUTOFF = 1e-8       # THz: eigenvalues of the collision matrix at or below it are left out (phono3py's default)


def run_phono3py_lbte(ph3, mesh: int, sigma, reducible: bool = False) -> dict:
    """phono3py's direct solution: ``init_phph_interaction`` + ``run_thermal_conductivity(is_LBTE=True)``."""
    import numpy as np
    setup, run = _timed_phono3py(ph3, mesh, sigma, is_LBTE=True, is_reducible_collision_matrix=reducible,
                                 pinv_cutoff=PINV_CUTOFF, write_collision=False)
    tc = ph3.thermal_conductivity
    return dict(setup_s=setup, run_s=run, total_s=setup + run, kappa=np.asarray(tc.kappa)[0, 0].copy(),
                kappa_rta=np.asarray(tc.kappa_RTA)[0, 0].copy())


def run_trajmodes_lbte(fc, mesh: int, sigma, reducible: bool = False) -> dict:
    """``Anharmonic(...)`` + ``thermal_conductivity("lbte")`` (widths, collision matrix, its eigendecomposition)."""
    from trajmodes.phonons.anharmonic.anharmonic import Anharmonic
    t0 = time.perf_counter()
    an = Anharmonic(fc, _mesh(mesh), temperatures=[300.0], smearing=sigma)
    t1 = time.perf_counter()
    ds = an.thermal_conductivity("lbte", reducible=reducible, pinv_cutoff=PINV_CUTOFF)
    t2 = time.perf_counter()
    return dict(setup_s=t1 - t0, run_s=t2 - t1, total_s=t2 - t0, kappa=ds["kappa"].values[0].copy(),
                kappa_rta=ds["kappa_rta"].values[0].copy(), size=int(ds["collision_eigenvalues"].shape[1]),
                n_dropped=int(ds.attrs["n_dropped"][0]), n_irreducible=len(an.grid.irreducible))


def match_gamma(an_grid, p3_qpoints, tm_gamma_irr=None, tm_gamma_at=None):
    """trajmodes' gamma on phono3py's q-points: via the star (positions in trajmodes' irreducible list) or given
    row by row."""
    import numpy as np
    if tm_gamma_at is not None:
        return tm_gamma_at
    g = an_grid.index(an_grid.addresses_of(np.asarray(p3_qpoints, dtype=float)))
    return tm_gamma_irr[an_grid.irreducible_of[g]]


def folded_gamma_diff(an8, gamma8_irr, an2, gamma2_irr) -> float:
    """Largest relative difference between the widths on the conventional cell (``an8``, 24 branches at each of
    its irreducible q) and those of the primitive cell at the four q-points that fold onto each of them (``an2`` on
    the grid of the same q-points), branches matched by frequency."""
    import numpy as np
    C, A = an8.force_constants.primitive.cell, an2.force_constants.primitive.cell
    q8 = an8.grid.qpoints @ np.linalg.inv(C).T                      # Cartesian, 1/A without 2 pi
    q2 = an2.grid.qpoints @ np.linalg.inv(A).T
    g2 = gamma2_irr[an2.grid.irreducible_of]                         # every point of the grid, from its star
    a, b = [], []
    for k, q in enumerate(an8.grid.irreducible):
        d = (q2 - q8[q]) @ C.T                                       # integral: the same q modulo G_conventional
        match = np.flatnonzero(np.abs(d - np.rint(d)).max(axis=1) < 1e-6)
        f2 = an2.frequencies[match].ravel()
        a.append(gamma8_irr[k][np.argsort(an8.frequencies[q], kind="stable")])
        b.append(g2[match].ravel()[np.argsort(f2, kind="stable")])
    return rel_gamma(np.concatenate(a), np.concatenate(b))


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
    load0 = os.getloadavg()
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
    load1 = os.getloadavg()
    for v in out.values():
        v["loadavg_start"], v["loadavg_end"] = load0, load1        # (1, 5, 15 min) before and after the rounds
        v["median_s"] = statistics.median(v["times"])
        v["rounds"] = len(v["times"])
        v["peak_MB"] = max(v["peak"]) / 1e6
        v["peak_over_start_MB"] = max(p - s for p, s in zip(v["peak"], v["rss_start"])) / 1e6
    return out


def _strip(v: dict) -> dict:
    return {k: x for k, x in v.items() if k != "last"}


def _load(r: dict) -> str:
    """The 1-minute load average before and after a case's rounds, for its rows."""
    v = next(iter(r.values()))
    return f"{v['loadavg_start'][0]:.1f}-{v['loadavg_end'][0]:.1f}"


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
    from trajmodes.phonons.anharmonic.anharmonic import Anharmonic
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
         "", "| case | phono3py s | trajmodes s | ratio (phono3py / trajmodes) | max rel diff "
         "| peak MB (trajmodes; phono3py) | load (1 min, before-after) |",
         "|---|---|---|---|---|---|---|"]
    for row in res["rows"]:
        L.append(f"| {row['case']} | {row['p3']} | {row['tm']} | {row['ratio']} | {row['diff']} | {row['peak']} | "
                 f"{row.get('load', '-')} |")
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
    if any(r.get("collision_matrix") for r in res["results"].values()):
        L += ["", "LBTE rows: `Anharmonic(...).thermal_conductivity(\"lbte\")` against phono3py's "
              "`run_thermal_conductivity(is_LBTE=True)`, both on the collision matrix named (irreducible: 3 x 3 "
              "Cartesian blocks on the irreducible q; reducible: every q of the mesh, no symmetry), pinv cutoff "
              "1e-8 THz, Gaussian smearing, 300 K; times include the setup and the linewidths on both sides (Chaput, Phys. Rev. "
              "Lett. 110, 265506 (2013))."]
    if res.get("cells"):
        L += ["", "Atoms in the unit cell: the same fc2 and fc3 on the 2-atom primitive cell and on the 8-atom "
              "conventional cubic cell as the unit cell (the 216-atom supercell is 3 x 3 x 3 conventional cells; the "
              "fc3 rows of the other six atoms are lattice translations of the two), on the same q-points: m^3 on the "
              "8-atom cell, and on the 2-atom cell the grid of the supercell m M (M the conventional cell in primitive "
              "vectors, |det M| = 4: 4 m^3 q-points, each 8-atom q carries four of them folded). Gaussian linewidths "
              "at all irreducible q (trajmodes: Anharmonic + linewidths; phono3py: its RTA run); medians, seconds.", "",
              "| q-points (2-atom cell) | unit cell | irreducible q | triplets | trajmodes s | phono3py s | "
              "trajmodes us/triplet | phono3py us/triplet | kappa_xx RTA trajmodes; phono3py W/mK |",
              "|---|---|---|---|---|---|---|---|---|"]
        for c in res["cells"]:
            for n in (2, 8):
                d = c[f"cell_{n}"]
                p3 = d.get("p3_s")
                per = "-" if p3 is None else f"{1e6 * p3 / d['triplets']:.0f}"
                k3 = "-" if p3 is None else f"{d['kappa_xx_phono3py']:.1f}"
                tm_per = f"{1e6 * d['tm_linewidths_s'] / d['triplets']:.0f}"
                L.append(f"| {c['n_points_primitive']} | {n} atoms ({3 * n} bands), {d['n_points']} q | "
                         f"{d['n_irreducible']} | {d['triplets']} | {_fmt_t(d['tm_linewidths_s'])} | {_fmt_t(p3)} | "
                         f"{tm_per} | {per} | {d['kappa_xx_trajmodes']:.1f}; {k3} |")
        L += ["", "8-atom / 2-atom cell, same q-points: " + "; ".join(
            f"{c['n_points_primitive']} q: time x{c['tm_time_ratio_8_over_2']:.2f} trajmodes"
            + (f", x{c['p3_time_ratio_8_over_2']:.2f} phono3py" if "p3_time_ratio_8_over_2" in c else "")
            + f" ({c['triplet_ratio_2_over_8']:.1f}x fewer triplets; "
              f"per triplet x{c['tm_per_triplet_ratio_8_over_2']:.0f}"
            + (f" and x{c['p3_per_triplet_ratio_8_over_2']:.0f}" if "p3_per_triplet_ratio_8_over_2" in c else "")
            + f"; widths 8- vs 2-atom {c['gamma_8_vs_2_max_rel_diff']:.1e})" for c in res["cells"])
            + ". The (3n)^3 band triples of a triplet are 64x more on the 8-atom cell, the triplets up to 16x fewer "
            "(a quarter of the q-points, squared; fewer on small meshes, where more points lie on symmetry elements).",
            "", "The RTA kappa of the 8-atom cell differs from the 2-atom cell's at the same q-points in both codes "
            "alike: both average each band's group velocity over the little group of q (phonopy's convention), and on "
            "the folded cell that little group also exchanges branches that unfold to different q, so the averaged "
            "velocities of those degenerate sets are smaller; the widths themselves agree."]
    L += ["", "Notes:"]
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
    ap.add_argument("--lbte", type=int, nargs="*", default=[8, 14],
                    help="meshes for the LBTE comparison (irreducible collision matrix, Gaussian --sigma)")
    ap.add_argument("--lbte-reducible", type=int, nargs="*", default=[8],
                    help="meshes for the LBTE comparison with the reducible collision matrix (every q, no symmetry)")
    ap.add_argument("--cells", type=int, nargs="*", default=[3, 4, 5, 6],
                    help="m: the q-points of m x m x m conventional cells, on the 2-atom and the 8-atom unit cell")
    ap.add_argument("--p3-cells", type=int, nargs="*", default=None,
                    help="which of --cells phono3py runs (default: all)")
    ap.add_argument("--no-profile", action="store_true")
    ap.add_argument("--no-blas1", action="store_true",
                    help="skip the info run of trajmodes with BLAS limited to 1 thread at the headline mesh")
    ap.add_argument("--quick", action="store_true", help="smoke run: mesh 6, scaling 4, one round")
    ap.add_argument("--out", default=str(HERE / "results"))
    args = ap.parse_args(argv)
    if args.quick:
        args.mesh, args.scaling, args.p3_full, args.rounds, args.no_profile = 6, [4], [4, 6], 1, True
        args.lbte, args.lbte_reducible, args.cells = [5, 6], [5], [3, 4]
    if args.p3_cells is None:
        args.p3_cells = list(args.cells)
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
    fc.write(tmp.name, "phono3py")
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
            n_rows = len(rows)
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
                                      f"({sub['triplets_all']} triplets); phono3py ESTIMATED: its setup + the "
                                      f"{nq}-q subset time x {sub['triplets_all']}/{sub['triplets_subset']} triplets",
                                 p3=_fmt_t(p3_total, est=True), tm=_fmt_t(lw_med, one=one_tm),
                                 ratio=f"~{p3_total / lw_med:.0f}x (est.)", diff="(subset above)", peak=peak_tm))
                rows.append(dict(case=f"{label}: RTA kappa (incl. linewidths); phono3py ESTIMATED as above",
                                 p3=_fmt_t(p3_total, est=True),
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
            for row in rows[n_rows:]:
                row["load"] = _load(r)
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
    # -- the direct solution of the linearised Boltzmann equation, both codes on the same constants --------------
    if args.lbte or args.lbte_reducible:                   # warm-up, untimed: the first call of the LBTE paths
        run_phono3py_lbte(ph3, 3, args.sigma)
        run_trajmodes_lbte(fc, 3, args.sigma)
    for mesh, reducible in [(m, False) for m in args.lbte] + [(m, True) for m in args.lbte_reducible]:
        kind = "reducible" if reducible else "irreducible"
        log(f"LBTE {mesh}^3, gaussian, {kind} collision matrix")
        jobs = {"phono3py": lambda m=mesh, red=reducible: run_phono3py_lbte(ph3, m, args.sigma, red),
                "trajmodes": lambda m=mesh, red=reducible: run_trajmodes_lbte(fc, m, args.sigma, red)}
        r = rounds(jobs, args.rounds, args.long, log)
        p3, tm = r["phono3py"], r["trajmodes"]
        kp, kt, lt = p3["last"]["kappa"], tm["last"]["kappa"], tm["last"]
        entry = dict(mesh=mesh, method="gaussian", sigma=args.sigma, collision_matrix=kind, pinv_cutoff=PINV_CUTOFF,
                     jobs={k: _strip(v) for k, v in r.items()}, n_points=mesh ** 3, n_irreducible=lt["n_irreducible"],
                     matrix_size=lt["size"], n_dropped=lt["n_dropped"], kappa_trajmodes=kt.tolist(),
                     kappa_phono3py_voigt=kp.tolist(), kappa_xx_rel_diff=float(abs(kt[0, 0] / kp[0] - 1)),
                     kappa_max_rel_diff=rel_kappa(kt, kp), kappa_rta_trajmodes=lt["kappa_rta"].tolist(),
                     kappa_rta_phono3py_voigt=p3["last"]["kappa_rta"].tolist(),
                     kappa_rta_max_rel_diff=rel_kappa(lt["kappa_rta"], p3["last"]["kappa_rta"]))
        results[f"lbte_{mesh}_{kind}"] = entry
        one_p3, one_tm = (r[k]["rounds"] == 1 and args.rounds > 1 for k in ("phono3py", "trajmodes"))
        rows.append(dict(case=f"{mesh}^3 gaussian (sigma {args.sigma} THz): LBTE kappa, direct solution, {kind} "
                              f"collision matrix ({lt['size']} x {lt['size']}, pinv cutoff {PINV_CUTOFF:g} THz), "
                              "incl. the linewidths", p3=_fmt_t(p3["median_s"], one=one_p3),
                         tm=_fmt_t(tm["median_s"], one=one_tm), ratio=f"{p3['median_s'] / tm['median_s']:.0f}x",
                         diff=f"kappa_xx {entry['kappa_xx_rel_diff']:.1e} ({kt[0, 0]:.1f} vs {kp[0]:.1f} W/mK; "
                              f"RTA {lt['kappa_rta'][0, 0]:.1f}); tensor {entry['kappa_max_rel_diff']:.1e}",
                         peak=f"{tm['peak_MB']:.0f} (+{tm['peak_over_start_MB']:.0f}); {p3['peak_MB']:.0f}",
                         load=_load(r)))
        log(f"  trajmodes {tm['median_s']:.2f} s, phono3py {p3['median_s']:.2f} s, kappa_xx {kt[0, 0]:.2f} vs "
            f"{kp[0]:.2f} W/mK")

    # -- atoms in the unit cell: the same constants and q-points on the 2-atom and the 8-atom cell ------------------
    cells = []
    if args.cells:
        fc8, M = conventional_constants(fc)
        tmp8 = tempfile.TemporaryDirectory(prefix="bench_anharmonic_conv_")
        fc8.write(tmp8.name, "phono3py")
        ph8 = load_phono3py(tmp8.name, args.lang)
        ph2g = load_phono3py(tmp.name, args.lang, use_grg=True)
        s = args.sigma
        setups = {2: (fc, ph2g, lambda m: m * M), 8: (fc8, ph8, lambda m: m)}
        for fcx, phx, grid in setups.values():                  # warm-up, untimed
            run_phono3py(phx, grid(2), s)
            run_trajmodes(fcx, grid(2), s)
        for m in args.cells:
            log(f"cells: the q-points of {m}^3 conventional cells, 2-atom and 8-atom unit cell, gaussian")
            jobs = {}
            for n, (fcx, phx, grid) in setups.items():
                if m in args.p3_cells:
                    jobs[f"phono3py_{n}"] = lambda phx=phx, g=grid(m): run_phono3py(phx, g, s)
                jobs[f"trajmodes_{n}"] = lambda fcx=fcx, g=grid(m): run_trajmodes(fcx, g, s)
            r = rounds(jobs, args.rounds, args.long, log)
            c = dict(conventional_mesh=m, n_points_primitive=4 * m ** 3, sigma=s,
                     jobs={k: _strip(v) for k, v in r.items()})
            for n in setups:
                tm = r[f"trajmodes_{n}"]
                last = tm["last"]
                g = last["grid"]
                lw = statistics.median(p["total_linewidths_s"] for p in tm["parts"])
                d = dict(atoms=n, bands=3 * n, grid=g.matrix.tolist(), n_points=g.n_points,
                         n_irreducible=last["n_irreducible"],
                         triplets=int(sum(len(g.triplets(int(q))) for q in g.irreducible)),
                         tm_linewidths_s=lw, tm_rta_s=tm["median_s"], kappa_xx_trajmodes=float(last["kappa"][0, 0]),
                         one_tm=tm["rounds"] == 1 and args.rounds > 1, peak_tm=tm["peak_MB"])
                if f"phono3py_{n}" in r:
                    p3 = r[f"phono3py_{n}"]
                    g_tm = match_gamma(g, p3["last"]["qpoints"], tm_gamma_irr=last["gamma"])
                    d.update(p3_s=p3["median_s"], gamma_max_rel_diff=rel_gamma(g_tm, p3["last"]["gamma"]),
                             kappa_xx_phono3py=float(p3["last"]["kappa"][0]), kappa_max_rel_diff=rel_kappa(
                                 last["kappa"], p3["last"]["kappa"]),
                             one_p3=p3["rounds"] == 1 and args.rounds > 1, peak_p3=p3["peak_MB"])
                c[f"cell_{n}"] = d
            an2, an8 = r["trajmodes_2"]["last"]["anharmonic"], r["trajmodes_8"]["last"]["anharmonic"]
            c["gamma_8_vs_2_max_rel_diff"] = folded_gamma_diff(an8, r["trajmodes_8"]["last"]["gamma"], an2,
                                                               r["trajmodes_2"]["last"]["gamma"])
            c2, c8 = c["cell_2"], c["cell_8"]
            c["tm_time_ratio_8_over_2"] = c8["tm_linewidths_s"] / c2["tm_linewidths_s"]
            c["triplet_ratio_2_over_8"] = c2["triplets"] / c8["triplets"]
            c["tm_per_triplet_ratio_8_over_2"] = c["tm_time_ratio_8_over_2"] * c["triplet_ratio_2_over_8"]
            if "p3_s" in c8 and "p3_s" in c2:
                c["p3_time_ratio_8_over_2"] = c8["p3_s"] / c2["p3_s"]
                c["p3_per_triplet_ratio_8_over_2"] = c["p3_time_ratio_8_over_2"] * c["triplet_ratio_2_over_8"]
            cells.append(c)
            for n in setups:
                d = c[f"cell_{n}"]
                p3s = d.get("p3_s")
                diff = f"gamma {d['gamma_max_rel_diff']:.1e}" if p3s is not None else "-"
                if n == 8:
                    diff += f"; vs the 2-atom cell (same q, folded) {c['gamma_8_vs_2_max_rel_diff']:.1e}"
                where = f"grid of the supercell {m} M" if n == 2 else f"{m}^3 mesh"
                rows.append(dict(case=f"same {4 * m ** 3} q as {m}^3 conventional cells, {n}-atom unit cell "
                                      f"({where}), gaussian "
                                      f"(sigma {s} THz): linewidths of all {d['n_irreducible']} irreducible q "
                                      f"({d['triplets']} triplets) (phono3py: its RTA run)",
                                 p3=_fmt_t(p3s, one=d.get("one_p3")) if p3s is not None else "-",
                                 tm=_fmt_t(d["tm_linewidths_s"], one=d["one_tm"]),
                                 ratio=f"{p3s / d['tm_linewidths_s']:.0f}x" if p3s is not None else "-", diff=diff,
                                 peak=f"{d['peak_tm']:.0f}" + (f"; {d['peak_p3']:.0f}" if p3s is not None else ""),
                                 load=_load(r)))
            log(f"  8-atom / 2-atom time: trajmodes {c['tm_time_ratio_8_over_2']:.2f}"
                + (f", phono3py {c['p3_time_ratio_8_over_2']:.2f}" if "p3_time_ratio_8_over_2" in c else ""))
        tmp8.cleanup()

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
    for c in cells:
        d2 = c["cell_2"]
        if d2.get("kappa_max_rel_diff", 0.0) > 1e-4:
            notes.append(f"{d2['n_points']} q-points on the 2-atom cell (grid of the supercell "
                         f"{c['conventional_mesh']} M): the RTA kappa differs from phono3py's by "
                         f"{d2['kappa_max_rel_diff']:.1e} while the widths agree to {d2['gamma_max_rel_diff']:.1e}. "
                         "The two codes pick different representatives of some stars of this grid, and the velocities "
                         "of degenerate modes at zone-boundary points are averaged over the little group of the "
                         "representative (phonopy's convention, without reciprocal lattice vectors): a known effect "
                         "of up to 0.2 % on such grids; the LBTE on the same grid agrees to 1e-6.")
    for e in results.values():
        if e.get("trajmodes_blas1_median_s") and e["trajmodes_blas1_median_s"] * 1.5 < \
                e["jobs"]["trajmodes"]["median_s"]:
            gain = e["jobs"]["trajmodes"]["median_s"] / e["trajmodes_blas1_median_s"]
            notes.append(f"{e['mesh']}^3 {e['method']}: trajmodes is {gain:.1f}x faster with BLAS limited to one thread: its Dask "
                         "q-loop calls small matrix products (interaction.reciprocal_fc3) from every worker thread "
                         "with a multithreaded BLAS underneath, which oversubscribes the cores.")
    for c in cells:
        for d in (c["cell_2"], c["cell_8"]):
            d.pop("one_tm", None), d.pop("one_p3", None)
    res = dict(environment=env, config=dict(mesh=args.mesh, sigma=args.sigma, scaling=args.scaling,
                                            p3_full=args.p3_full, p3_subset=args.p3_subset, rounds=args.rounds,
                                            long=args.long, threads=args.threads, lang=args.lang, quick=args.quick,
                                            lbte=args.lbte, lbte_reducible=args.lbte_reducible, cells=args.cells,
                                            p3_cells=args.p3_cells),
               results=results, rows=rows, scaling=scaling, growth="; ".join(growth), cells=cells, notes=notes)
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
