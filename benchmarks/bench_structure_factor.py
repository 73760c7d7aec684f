#!/usr/bin/env python
"""Dynamic structure factor benchmark: trajmodes against dynasor on the same LAMMPS dump, and peak memory against
the number of frames.

    python benchmarks/bench_structure_factor.py [--frames 2500] [--rounds 3] [--data benchmarks/data] [--out benchmarks/results]
    python benchmarks/bench_structure_factor.py --report      # the Markdown again from the saved JSON
    python benchmarks/bench_structure_factor.py --small [--rounds 3] [--compare DIR] [--trajmodes-root DIR]
    python benchmarks/bench_structure_factor.py --large [--cells 14] [--frames 1000] [--window 250] [--rounds 3]
                                                [--profile]

``--large``: where users wait. fcc Cu, ``--cells`` n (4 n^3 atoms: 10,976 at n = 14), ``--frames`` frames of x, v
(and f, unread) as LAMMPS writes them (``benchmarks/gen_dump.py``: thermal displacements and velocities, a new draw
every frame), the ideal crystal as the LAMMPS data file of the reference; the q commensurate with the cell on the
path Gamma-X-W-K-Gamma-L-U-W-L-K (60 q at n = 14) and a powder, 20 |q| shells from 0.3 to 6 rad/Angstrom with 5 q
each (100 q), 160 q in one call of each code (Cartesian, the same array); windows of 250 frames, a time origin at
every frame; coherent F(q, t) and S(q, omega) with the longitudinal and transverse current correlations (the
incoherent part is left out of both: dynasor sums it atom by atom over every window, out of reach at this size).
Both codes are timed the same way: the whole call (open the dump, read every frame, the sums, the transforms), by
wall clock; *cold* is the first call in a fresh process (imports not timed; dynasor's JIT compilation and
trajmodes' frame index included; the dump in the page cache for both), *warm* the later calls in one process, in
``--rounds`` interleaved rounds (the order of the two codes alternating), each round also timing trajmodes' reader
alone over the same frames and fields (x and v, every frame parsed: the floor of any code that reads the dump).
Reported: the median and the spread (min - max) of every time and of the per-round ratios, the load average
(``uptime``) before every round. ``--profile``: one more trajmodes call on one thread (Dask's synchronous
scheduler) under cProfile, its time split into the parse of the frames, the check of the time unit made on opening
the dump, the phases and their sums over the atoms, the FFT correlations and the rest. Writes ``<out>/structure_factor_large.{json,md}``.

``--small``: the overheads around the kernels on a small system: 2000 frames of 256 fcc Cu atoms (a 63 MB text dump
of x and v from ``benchmarks/gen_dump.py``, ``--cells 4``), the 8 q (h, 0, 0) 2 pi / L, h = 1 .. 8, of the MD cell,
windows of 251 frames, time origins every 10 frames and at every frame; both functions of both codes as above.
Interleaved rounds as above (dynasor warmed once on a short stretch first: its JIT compilation is not timed);
``--compare DIR`` also times the trajmodes of another checkout (an older commit) in each round, in a fresh process,
and ``--trajmodes-root DIR`` runs everything with that checkout's trajmodes. Writes
``<out>/structure_factor_small.{json,md}``.

Case: fcc Cu, Mishin EAM, 5 x 5 x 5 conventional cells (500 atoms), NVE from 600 K, a frame every 5 steps of 2 fs
(positions and velocities; LAMMPS through its Python module, made once and kept in ``--data``); the q-points
commensurate with the cell on the path Gamma-X-K-Gamma-L (16 q); windows of 250 frames (lags 0 .. 249, dynasor's
``window_size=249``), a time origin at every frame; F(q, t) and S(q, omega) coherent and incoherent and the
longitudinal and transverse current correlations.

* speed: ``trajmodes.read`` + ``dynamic_structure_factor`` against ``dynasor.Trajectory`` (its own LAMMPS reader,
  ``lammps_internal``) + ``compute_dynamic_structure_factors`` on the first ``--frames`` frames of the same file,
  same process, same machine. Rounds are interleaved: in each, dynasor runs once and then trajmodes (best of 3 calls),
  and the median of the per-round ratios is reported (it does not move with the machine's speed between phases).
  The numbers of the two are compared too (largest difference relative to each function's largest value).
  Target: trajmodes >= 20x dynasor.
* memory: trajmodes' peak RSS (the child process' VmHWM) for 1/8, 1/4, 1/2 and all of a 4x longer run, each in a
  fresh subprocess: a streamed pass keeps it flat in the number of frames once the run is longer than one wave of
  chunks (the ratio reported is all / half).

Writes ``<out>/structure_factor.json`` and ``<out>/structure_factor.md``.
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if "--trajmodes-root" in sys.argv:                       # time another checkout's trajmodes (set before any import)
    ROOT = Path(sys.argv[sys.argv.index("--trajmodes-root") + 1]).resolve()
sys.path.insert(0, str(ROOT))

CELLS, EVERY, DT_PS, WINDOW, STEP = 5, 5, 0.002, 250, 1
BAR = 20.0
#: dynasor works in fs and Angstrom/fs: its value times this is trajmodes' (ps, Angstrom/ps)
TO_OURS = {"Fqt": 1.0, "Sqw": 1e-3, "Clqt": 1e6, "Ctqt": 1e6, "Clqw": 1e3, "Ctqw": 1e3}


def environment() -> dict:
    env = dict(python=platform.python_version(), numpy=np.__version__, cores=os.cpu_count())
    for pkg in ("dynasor", "dask", "scipy", "lammps"):
        try:
            from importlib.metadata import version
            env[pkg] = version(pkg)
        except Exception:
            env[pkg] = None
    try:
        env["cpu"] = next(ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name"))
        env["load_average_at_start"] = os.getloadavg()[0]
    except Exception:
        pass
    return env


def make_run(folder: Path, frames: int) -> tuple[Path, Path]:
    """The LAMMPS dump (x, v) and data file of the case, made once (a sidecar records the parameters)."""
    from tests.support.lammps_md import require_potential, run_lammps
    folder.mkdir(parents=True, exist_ok=True)
    dump, data, meta = folder / f"sqw_cu_{frames}.lammpstrj", folder / f"sqw_cu_{frames}.data", \
        folder / f"sqw_cu_{frames}.json"
    params = dict(cells=CELLS, every=EVERY, dt=DT_PS, frames=frames, T0=600, seed=4321)
    if dump.exists() and meta.exists() and json.loads(meta.read_text()) == params:
        return dump, data
    text = (f"units metal\natom_style atomic\nboundary p p p\natom_modify map array\nlattice fcc 3.615\n"
            f"region box block 0 {CELLS} 0 {CELLS} 0 {CELLS}\ncreate_box 1 box\ncreate_atoms 1 box\nmass 1 63.546\n"
            f"write_data {data}\npair_style eam/alloy\npair_coeff * * {require_potential('Cu_mishin1.eam.alloy')} Cu\n"
            f"velocity all create 600 4321 mom yes rot no dist gaussian\ntimestep {DT_PS}\nfix 1 all nve\nrun 500\n"
            f"dump d all custom {EVERY} {dump} id type x y z vx vy vz\ndump_modify d sort id format float %.10g\n"
            f"run {EVERY * (frames - 1)}\n")
    t0 = time.perf_counter()
    run_lammps(text, folder / f"sqw_cu_{frames}.log")
    print(f"LAMMPS run of {frames} frames: {time.perf_counter() - t0:.1f} s", flush=True)
    meta.write_text(json.dumps(params))
    return dump, data


def qpoints(dump, data):
    """Reduced q of the path (commensurate with the cell) and the primitive cell."""
    import trajmodes
    from trajmodes.lattice.crystal import Crystal
    from trajmodes.modes.scattering_qpoints import path_qpoints
    traj = trajmodes.read(str(dump), species=["Cu"], md_timestep=DT_PS, reference=str(data))
    prim = Crystal.from_structure(traj.reference).primitive()
    q, _, _ = path_qpoints(prim, traj.reference.cell)
    return q, prim


def run_trajmodes(dump, data, frames, q, prim):
    import trajmodes
    traj = trajmodes.read(str(dump), species=["Cu"], md_timestep=DT_PS, reference=str(data))[:frames]
    return trajmodes.dynamic_structure_factor(traj, q, window=WINDOW, step=STEP, primitive=prim)


def run_dynasor(dump, frames, qc, dt_ps):
    import dynasor
    dynasor.logging_tools.set_logging_level("WARNING")
    traj = dynasor.Trajectory(str(dump), trajectory_format="lammps_internal", time_unit="ps", frame_stop=frames)
    return dynasor.compute_dynamic_structure_factors(traj, qc, dt=1e3 * dt_ps, window_size=WINDOW - 1,
                                                     window_step=STEP, calculate_currents=True,
                                                     calculate_incoherent=True)


def agreement(ds, sample) -> dict:
    out = {}
    for k in ("Fqt_coh", "Sqw_coh", "Fqt_incoh", "Sqw_incoh", "Clqt", "Ctqt", "Clqw", "Ctqw"):
        ref = np.asarray(getattr(sample, k)) * TO_OURS[k[:4] if k[:4] in TO_OURS else k[:3]]
        out[k] = float(np.abs(ds[k].values - ref).max() / np.abs(ref).max())
    return out


def speed(dump, data, frames, rounds):
    q, prim = qpoints(dump, data)
    ds = run_trajmodes(dump, data, frames, q, prim)                   # warm: frame index, imports
    res = dict(n_q=len(q), frames=frames, atoms=int(ds.attrs["n_atoms"]), window=WINDOW, step=STEP, rounds=[])
    for r in range(rounds):
        t0 = time.perf_counter()
        sample = run_dynasor(dump, frames, ds.q_cartesian.values, float(ds.attrs["frame_interval"]))
        t_dyn = time.perf_counter() - t0
        best = np.inf
        for _ in range(3):
            t0 = time.perf_counter()
            ds = run_trajmodes(dump, data, frames, q, prim)
            best = min(best, time.perf_counter() - t0)
        res["rounds"].append([t_dyn, best])
        print(f"round {r}: dynasor {t_dyn:.2f} s, trajmodes {best:.3f} s, ratio {t_dyn / best:.1f}x", flush=True)
        if r == 0:
            res["agreement"] = agreement(ds, sample)
    ratios = [d / t for d, t in res["rounds"]]
    res.update(median_ratio=float(np.median(ratios)), dynasor_seconds=float(np.median([d for d, _ in res["rounds"]])),
               trajmodes_seconds=float(np.median([t for _, t in res["rounds"]])))
    return res


def _child_peak(dump, data, frames) -> dict:
    """trajmodes' structure factor of the first ``frames`` frames in a fresh process: (seconds, peak RSS MB)."""
    code = (f"import sys, time; sys.path.insert(0, {str(HERE)!r}); sys.path.insert(0, {str(ROOT)!r})\n"
            "import bench_structure_factor as b\n"
            f"q, prim = b.qpoints({str(dump)!r}, {str(data)!r})\n"
            "t0 = time.perf_counter()\n"
            f"b.run_trajmodes({str(dump)!r}, {str(data)!r}, {frames}, q, prim)\n"
            "dt = time.perf_counter() - t0\n"
            "st = {l.split(':')[0]: int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM')}\n"
            "print(dt, st['VmHWM'] / 1024)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    dt, peak = out.stdout.split()[-2:]
    return dict(frames=frames, seconds=float(dt), peak_rss_mb=float(peak))


def memory(dump, data, frames):
    rows = [_child_peak(dump, data, n) for n in (frames // 8, frames // 4, frames // 2, frames)]
    for r in rows:
        print(f"memory: {r['frames']} frames, {r['seconds']:.2f} s, peak RSS {r['peak_rss_mb']:.0f} MB", flush=True)
    return dict(rows=rows, ratio=rows[-1]["peak_rss_mb"] / rows[-2]["peak_rss_mb"])


def write_md(res, path) -> str:
    env, sp, mem = res["environment"], res["speed"], res["memory"]
    ok = sp["median_ratio"] >= BAR
    L = [f"Case: fcc Cu (Mishin EAM), {sp['atoms']} atoms, NVE from 600 K, {sp['frames']} frames 0.01 ps apart "
         f"(x, v), {sp['n_q']} q on Gamma-X-K-Gamma-L, windows of {sp['window']} frames, an origin at every frame; "
         "coherent and incoherent F(q, t) and S(q, omega), C_L and C_T. "
         f"{env.get('cores')} cores ({env.get('cpu', '?')}), load average at start {env.get('load_average_at_start', '?')}; "
         f"dynasor {env.get('dynasor')}, dask {env.get('dask')}.", "",
         "| | dynasor | trajmodes | ratio | target |", "|---|---|---|---|---|",
         f"| both reading the same dump (dynasor `lammps_internal`, trajmodes `read`), s; median of "
         f"{len(sp['rounds'])} interleaved rounds (trajmodes best of 3 calls per round) | {sp['dynasor_seconds']:.1f} | "
         f"{sp['trajmodes_seconds']:.2f} | {sp['median_ratio']:.0f}x | >= {BAR:.0f}x {'**pass**' if ok else '**fail**'} |",
         "", "Per round (s): " + ", ".join(f"{d:.1f} / {t:.2f}" for d, t in sp["rounds"]) + " (dynasor / trajmodes).",
         "", f"Largest difference from dynasor's numbers, relative to each function's largest value: "
             f"{max(sp['agreement'].values()):.1e} (over {len(sp['agreement'])} functions).", "",
         "Peak memory of trajmodes (fresh process each, VmHWM) against the frames of one run:", "",
         "| frames | s | peak RSS (MB) |", "|---|---|---|"]
    L += [f"| {r['frames']} | {r['seconds']:.2f} | {r['peak_rss_mb']:.0f} |" for r in mem["rows"]]
    L += ["", f"Peak RSS at {mem['rows'][-1]['frames']} frames / at {mem['rows'][-2]['frames']}: {mem['ratio']:.2f} "
              f"({'flat' if mem['ratio'] < 1.1 else 'not flat'}). Memory is bounded by a wave of chunks (as many "
              "chunks as cores, 1250 frames each here) and the window's carry: a run shorter than a wave "
              f"({mem['rows'][0]['frames']} frames: one chunk) uses less, every longer one the same."]
    text = "\n".join(L) + "\n"
    Path(path).write_text(text)
    return text


SMALL = dict(cells=4, frames=2000, window=251, steps=(10, 1), n_q=8)


def make_small(folder: Path) -> Path:
    """The small case's dump: 2000 frames (and a few more) of 256 atoms from the project's generator."""
    from gen_dump import generate
    cells, frames = SMALL["cells"], SMALL["frames"]
    per_frame = 4 * cells ** 3 * 124 + 300                 # bytes of a frame of gen_dump's columns, a little over
    path = folder / f"sqw_small_{cells}.lammpstrj"
    meta = generate(str(path), frames * per_frame / 2 ** 30, cells=cells, quiet=True)
    if meta["n_frames"] < frames:
        raise RuntimeError(f"{path} has {meta['n_frames']} frames, fewer than {frames}")
    return path


def small_q() -> np.ndarray:
    from gen_dump import A_CU
    L = SMALL["cells"] * A_CU
    return 2 * np.pi / L * np.array([[h, 0.0, 0.0] for h in range(1, SMALL["n_q"] + 1)])


def run_trajmodes_small(dump, step):
    import trajmodes
    traj = trajmodes.read(str(dump), species=["Cu"], md_timestep=DT_PS)[:SMALL["frames"]]
    return trajmodes.dynamic_structure_factor(traj, small_q(), window=SMALL["window"], step=step, cartesian=True)


def speed_small(dump, rounds, compare=None) -> dict:
    import trajmodes
    global WINDOW, STEP
    res = dict(trajmodes=str(Path(trajmodes.__file__).parent.parent), atoms=4 * SMALL["cells"] ** 3,
               frames=SMALL["frames"], n_q=SMALL["n_q"], window=SMALL["window"], bytes=os.path.getsize(dump), steps={})
    WINDOW = SMALL["window"]
    for step in SMALL["steps"]:
        STEP = step
        ds = run_trajmodes_small(dump, step)                       # warm: frame index, imports
        run_dynasor(dump, SMALL["window"] + 49, small_q(), float(ds.attrs["frame_interval"]))   # warm: its JIT
        rows, old = [], []
        for r in range(rounds):
            t0 = time.perf_counter()
            sample = run_dynasor(dump, SMALL["frames"], small_q(), float(ds.attrs["frame_interval"]))
            t_dyn = time.perf_counter() - t0
            best = np.inf
            for _ in range(3):
                t0 = time.perf_counter()
                ds = run_trajmodes_small(dump, step)
                best = min(best, time.perf_counter() - t0)
            rows.append([t_dyn, best])
            print(f"step {step}, round {r}: dynasor {t_dyn:.2f} s, trajmodes {best:.3f} s, ratio {t_dyn / best:.1f}x",
                  flush=True)
            if compare:
                old.append(_time_other(compare, dump, step))
                print(f"  trajmodes of {compare}: {old[-1]:.3f} s, ratio {t_dyn / old[-1]:.1f}x", flush=True)
        res["steps"][str(step)] = dict(rounds=rows, agreement=agreement(ds, sample),
                                       median_ratio=float(np.median([d / t for d, t in rows])),
                                       dynasor_seconds=float(np.median([d for d, _ in rows])),
                                       trajmodes_seconds=float(np.median([t for _, t in rows])))
        if compare:
            res["steps"][str(step)].update(compare_seconds=old, compare_median_ratio=float(np.median(
                [d / t for (d, _), t in zip(rows, old)])))
    if compare:
        res["compare"] = str(compare)
    return res


def _time_other(root, dump, step) -> float:
    """Best of 3 calls of the small case with the trajmodes of the checkout ``root``, in a fresh process (after a
    warm call)."""
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--time-small", str(dump), str(step),
                          "--trajmodes-root", str(root)], capture_output=True, text=True, check=True)
    return float(out.stdout.split()[-1])


def write_small_md(res, path) -> str:
    env, sp = res["environment"], res["speed"]
    L = [f"Case: {sp['atoms']} fcc Cu atoms, {sp['frames']} frames of x and v ({sp['bytes'] / 1e6:.0f} MB of text, "
         f"benchmarks/gen_dump.py), {sp['n_q']} q (h 0 0) 2 pi / L, windows of {sp['window']} frames; coherent and "
         f"incoherent F(q, t) and S(q, omega), C_L and C_T. trajmodes from {sp['trajmodes']}. "
         f"{env.get('cores')} cores ({env.get('cpu', '?')}), load average at start "
         f"{env.get('load_average_at_start', '?')}; dynasor {env.get('dynasor')}, dask {env.get('dask')}.", "",
         "| origins every | dynasor (s) | trajmodes (s) | ratio (median of rounds) | target | max diff from dynasor |",
         "|---|---|---|---|---|---|"]
    for step, r in sp["steps"].items():
        if "compare_seconds" in r:
            L.append(f"| {step} frame{'s' if step != '1' else ''}, trajmodes of {sp['compare']} | "
                     f"{r['dynasor_seconds']:.2f} | {float(np.median(r['compare_seconds'])):.3f} | "
                     f"{r['compare_median_ratio']:.1f}x | | |")
        ok = r["median_ratio"] >= BAR
        L.append(f"| {step} frame{'s' if step != '1' else ''} | {r['dynasor_seconds']:.2f} | "
                 f"{r['trajmodes_seconds']:.3f} | {r['median_ratio']:.1f}x | >= {BAR:.0f}x "
                 f"{'**pass**' if ok else '**fail**'} | {max(r['agreement'].values()):.1e} |")
    L += [""] + [f"Per round, origins every {step} (s, dynasor / trajmodes): " +
                 ", ".join(f"{d:.2f} / {t:.3f}" for d, t in r["rounds"]) for step, r in sp["steps"].items()]
    text = "\n".join(L) + "\n"
    Path(path).write_text(text)
    return text


LARGE = dict(path="GXWKGLUWLK", powder=(0.3, 6.0, 20), per_shell=5, window=250, step=1, every=5)


def make_large(folder: Path, cells: int, frames: int) -> tuple[Path, Path]:
    """The large case's dump (at least ``frames`` frames, from ``gen_dump``) and the ideal crystal as a data file."""
    from gen_dump import A_CU, M_CU, fcc_positions, generate
    folder.mkdir(parents=True, exist_ok=True)
    n = 4 * cells ** 3
    per_frame = n * (len(f"{n} 1") + 9 * 18) + 300            # bytes of a frame of gen_dump's columns, a little over
    dump, data = folder / f"sqw_large_{cells}.lammpstrj", folder / f"sqw_large_{cells}.data"
    meta = generate(str(dump), (frames + 1) * per_frame / 2 ** 30, cells=cells, every=LARGE["every"], quiet=True)
    if meta["n_frames"] < frames:
        raise RuntimeError(f"{dump} has {meta['n_frames']} frames, fewer than {frames}: delete it and run again")
    r, L = fcc_positions(cells), cells * A_CU
    text = (f"fcc Cu, ideal\n\n{n} atoms\n1 atom types\n\n0 {L} xlo xhi\n0 {L} ylo yhi\n0 {L} zlo zhi\n\n"
            f"Masses\n\n1 {M_CU}\n\nAtoms # atomic\n\n" +
            "".join(f"{i + 1} 1 {x:.6f} {y:.6f} {z:.6f}\n" for i, (x, y, z) in enumerate(r)))
    if not data.exists() or data.read_text() != text:
        data.write_text(text)
    return dump, data


def large_q(dump, data) -> tuple[np.ndarray, int]:
    """Cartesian q (rad/Angstrom) of the large case, the path's first, and the number on the path."""
    import trajmodes
    from trajmodes.modes.scattering_qpoints import cartesian_qpoints
    from trajmodes.workflows.scattering import scattering_qpoints
    traj = trajmodes.read(str(dump), species=["Cu"], md_timestep=DT_PS, reference=str(data))
    cell = np.asarray(traj.lattice_cell, float)
    path = scattering_qpoints(traj, path=LARGE["path"])
    powder = scattering_qpoints(traj, powder=LARGE["powder"], per_shell=LARGE["per_shell"])
    q_path = cartesian_qpoints(path.qpoints, cell, path.primitive.cell)
    return np.concatenate([q_path, powder.qpoints]), len(q_path)


def run_trajmodes_large(dump, frames, q):
    import trajmodes
    traj = trajmodes.read(str(dump), species=["Cu"], md_timestep=DT_PS)[:frames]
    return trajmodes.dynamic_structure_factor(traj, q, window=LARGE["window"], step=LARGE["step"], cartesian=True,
                                              incoherent=False)


def read_alone(dump, frames) -> float:
    """trajmodes' reader over the frames and fields the structure factor reads (x, v), every value touched once."""
    import trajmodes
    traj = trajmodes.read(str(dump), species=["Cu"], md_timestep=DT_PS)[:frames]
    sums = traj.map_chunks(lambda d: np.array([d["positions"].sum() + d["velocities"].sum()]),
                           layer=("positions", "velocities"), shape=(), dtype=float, name="bench-read-alone",
                           per_chunk=True)
    return float(sums.sum().compute())


def run_dynasor_large(dump, frames, q):
    import dynasor
    dynasor.logging_tools.set_logging_level("WARNING")
    traj = dynasor.Trajectory(str(dump), trajectory_format="lammps_internal", time_unit="ps", frame_stop=frames)
    return dynasor.compute_dynamic_structure_factors(traj, q, dt=1e3 * DT_PS * LARGE["every"],
                                                     window_size=LARGE["window"] - 1, window_step=LARGE["step"],
                                                     calculate_currents=True, calculate_incoherent=False)


def _cold(code: str, dump, data, frames) -> tuple[float, float]:
    """The first call of ``code`` (trajmodes, dynasor or read) in a fresh process: wall and CPU seconds (imports not
    timed)."""
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--cold-large", code, str(dump), str(data),
                          str(frames), "--window", str(LARGE["window"])], capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"the cold {code} call failed:\n{out.stderr[-3000:]}")
    cpu, wall = out.stdout.split()[-2:]
    return float(wall), float(cpu)


def _cold_call(code, dump, data, frames) -> float:
    for module in ("dynasor", "trajmodes"):              # imports are not timed
        importlib.import_module(module)
    q, _ = large_q(dump, data)
    t0, c0 = time.perf_counter(), _cpu()
    {"trajmodes": lambda: run_trajmodes_large(dump, frames, q), "dynasor": lambda: run_dynasor_large(dump, frames, q),
     "read": lambda: read_alone(dump, frames)}[code]()
    return f"{_cpu() - c0} {time.perf_counter() - t0}"


def _cpu() -> float:
    """CPU seconds of this process, every thread, user and system."""
    import resource
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _spread(x) -> dict:
    x = np.asarray(x, float)
    return dict(median=float(np.median(x)), min=float(x.min()), max=float(x.max()))


def profile_large(dump, frames, q) -> dict:
    """One trajmodes call on one thread under cProfile: its time split by stage (seconds, share)."""
    import cProfile
    import pstats
    import dask
    prof = cProfile.Profile()
    with dask.config.set(scheduler="synchronous"):
        t0 = time.perf_counter()
        prof.runcall(run_trajmodes_large, dump, frames, q)
        total = time.perf_counter() - t0
    st = pstats.Stats(prof).stats
    own = {}
    for (file, _, name), (_, _, tt, _, _) in st.items():
        where = f"{file}:{name}"
        key = ("phases and their sums over the atoms (compiled)" if "_density" in where else
               "the time unit's check on opening (io.trajectories.times)" if "trajectories/times.py" in where or
               name == "minimum_image" else
               "parse of the frames" if "_fastparse" in where or "io/trajectories" in where else
               "FFT correlations" if "fft" in where.lower() else
               "numpy products (matmul, einsum)" if "matmul" in where or "einsum" in where else
               "the rest (graph, copies, Python)")
        own[key] = own.get(key, 0.0) + tt
    top = sorted(((tt, f"{Path(file).name}:{name}") for (file, _, name), (_, _, tt, _, _) in st.items()),
                 reverse=True)[:8]
    return dict(seconds=total, stages={k: dict(seconds=v, share=v / total) for k, v in own.items()},
                top=[[n, s] for s, n in top])


def speed_large(dump, data, frames, rounds, profile) -> dict:
    import trajmodes
    q, n_path = large_q(dump, data)
    res = dict(atoms=4 * int(round((trajmodes.read(str(dump), species=["Cu"], md_timestep=DT_PS).n_atoms / 4)
                                   ** (1 / 3))) ** 3, frames=frames, n_q=len(q), n_path=n_path,
               window=LARGE["window"], step=LARGE["step"], bytes_per_frame=os.path.getsize(dump) /
               trajmodes.read(str(dump), species=["Cu"], md_timestep=DT_PS).n_frames, path=LARGE["path"],
               powder=LARGE["powder"], per_shell=LARGE["per_shell"])
    res["cold"], res["cold_cpu"] = {}, {}
    for code in ("dynasor", "trajmodes", "read"):
        res["cold"][code], res["cold_cpu"][code] = _cold(code, dump, data, frames)
        print(f"cold (fresh process): {code} {res['cold'][code]:.2f} s ({res['cold_cpu'][code]:.2f} s CPU)",
              flush=True)
    rows = []
    for r in range(rounds):
        load = os.getloadavg()
        times = {}
        for code in (("dynasor", "trajmodes") if r % 2 == 0 else ("trajmodes", "dynasor")) + ("read",):
            t0, c0 = time.perf_counter(), _cpu()
            out = {"dynasor": lambda: run_dynasor_large(dump, frames, q),
                   "trajmodes": lambda: run_trajmodes_large(dump, frames, q),
                   "read": lambda: read_alone(dump, frames)}[code]()
            times[code] = time.perf_counter() - t0
            times[code + "_cpu"] = _cpu() - c0
            if r == 0 and code == "dynasor":
                sample = out
            if r == 0 and code == "trajmodes":
                ds = out
        rows.append(dict(load_average=load, **times))
        print(f"round {r} (load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}): dynasor {times['dynasor']:.2f} s, "
              f"trajmodes {times['trajmodes']:.2f} s, read alone {times['read']:.2f} s; dynasor / trajmodes "
              f"{times['dynasor'] / times['trajmodes']:.1f}x, trajmodes / read "
              f"{times['trajmodes'] / times['read']:.2f}x",
              flush=True)
        if r == 0:
            res["agreement"] = {k: v for k, v in agreement_of(ds, sample).items()}
    res["rounds"] = rows
    for code in ("dynasor", "trajmodes", "read"):
        res[code] = _spread([x[code] for x in rows])
        res[code + "_cpu"] = _spread([x[code + "_cpu"] for x in rows])
    res["ratio"] = _spread([x["dynasor"] / x["trajmodes"] for x in rows])
    res["ratio_cpu"] = _spread([x["dynasor_cpu"] / x["trajmodes_cpu"] for x in rows])
    res["over_read"] = _spread([x["trajmodes"] / x["read"] for x in rows])
    res["over_read_cpu"] = _spread([x["trajmodes_cpu"] / x["read_cpu"] for x in rows])
    if profile:
        res["profile"] = profile_large(dump, frames, q)
        for k, v in res["profile"]["stages"].items():
            print(f"profile (one thread, {res['profile']['seconds']:.1f} s): {k} {v['seconds']:.2f} s "
                  f"({100 * v['share']:.0f} %)", flush=True)
    return res


def agreement_of(ds, sample) -> dict:
    """Largest difference of each coherent function from dynasor's, relative to its largest value."""
    out = {}
    for k in ("Fqt_coh", "Sqw_coh", "Clqt", "Ctqt", "Clqw", "Ctqw"):
        ref = np.asarray(getattr(sample, k)) * TO_OURS[k[:4] if k[:4] in TO_OURS else k[:3]]
        out[k] = float(np.abs(ds[k].values - ref).max() / np.abs(ref).max())
    return out


def write_large_md(res, path) -> str:
    env, sp = res["environment"], res["speed"]
    f = lambda s: f"{s['median']:.2f} ({s['min']:.2f} - {s['max']:.2f})"  # noqa: E731
    ok = sp["ratio"]["median"] >= BAR
    L = [f"Case: {sp['atoms']} fcc Cu atoms, {sp['frames']} frames of x, v (and f, unread) "
         f"({sp['bytes_per_frame'] * sp['frames'] / 1e9:.2f} GB of text, benchmarks/gen_dump.py), {sp['n_q']} q "
         f"({sp['n_path']} on the path {sp['path']}, {sp['n_q'] - sp['n_path']} in {sp['powder'][2]} powder shells "
         f"{sp['powder'][0]} - {sp['powder'][1]} rad/Angstrom), windows of {sp['window']} frames, an origin every "
         f"{sp['step']} frame; coherent F(q, t), S(q, omega), C_L and C_T (no incoherent part in either code). "
         f"{env.get('cores')} cores ({env.get('cpu', '?')}), shared with other work (load averages per round below); "
         f"dynasor {env.get('dynasor')}, dask {env.get('dask')}. Command: `{res['command']}`.", "",
         "| | dynasor (s) | trajmodes (s) | trajmodes' reader alone (s) | dynasor / trajmodes | trajmodes / read |",
         "|---|---|---|---|---|---|",
         f"| cold: first call in a fresh process | {sp['cold']['dynasor']:.2f} | {sp['cold']['trajmodes']:.2f} | "
         f"{sp['cold']['read']:.2f} | {sp['cold']['dynasor'] / sp['cold']['trajmodes']:.1f}x | "
         f"{sp['cold']['trajmodes'] / sp['cold']['read']:.2f}x |",
         f"| warm: median (min - max) of {len(sp['rounds'])} interleaved rounds | {f(sp['dynasor'])} | "
         f"{f(sp['trajmodes'])} | {f(sp['read'])} | {f(sp['ratio'])}x | {f(sp['over_read'])}x |",
         f"| CPU seconds (every thread), cold | {sp['cold_cpu']['dynasor']:.2f} | {sp['cold_cpu']['trajmodes']:.2f} | "
         f"{sp['cold_cpu']['read']:.2f} | {sp['cold_cpu']['dynasor'] / sp['cold_cpu']['trajmodes']:.1f}x | "
         f"{sp['cold_cpu']['trajmodes'] / sp['cold_cpu']['read']:.2f}x |",
         f"| CPU seconds (every thread), warm | {f(sp['dynasor_cpu'])} | {f(sp['trajmodes_cpu'])} | "
         f"{f(sp['read_cpu'])} | {f(sp['ratio_cpu'])}x | {f(sp['over_read_cpu'])}x |", "",
         "The CPU seconds do not move with the other work on the machine as the wall times do (both codes use "
         "every core they get).", "",
         f"Target dynasor / trajmodes >= {BAR:.0f}x: {'**pass**' if ok else '**fail**'}; trajmodes within 1.5x of its "
         f"reader alone: {'**pass**' if sp['over_read']['median'] <= 1.5 else '**fail**'}.", "",
         "Per round (s, dynasor / trajmodes / read; load average 1, 5, 15 min before it): " + "; ".join(
             f"{x['dynasor']:.2f} / {x['trajmodes']:.2f} / {x['read']:.2f} (load {x['load_average'][0]:.2f}, "
             f"{x['load_average'][1]:.2f}, {x['load_average'][2]:.2f})" for x in sp["rounds"]), "",
         f"Largest difference from dynasor's numbers, relative to each function's largest value: "
         f"{max(sp['agreement'].values()):.1e} (over {len(sp['agreement'])} functions)."]
    if "profile" in sp:
        pr = sp["profile"]
        L += ["", f"Where trajmodes' time goes (one call on one thread, Dask's synchronous scheduler, cProfile: "
                  f"{pr['seconds']:.1f} s):", "", "| stage | s | share |", "|---|---|---|"]
        L += [f"| {k} | {v['seconds']:.2f} | {100 * v['share']:.0f} % |" for k, v in
              sorted(pr["stages"].items(), key=lambda kv: -kv[1]["seconds"])]
    text = "\n".join(L) + "\n"
    Path(path).write_text(text)
    return text


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--frames", type=int, default=2500, help="frames of the speed comparison (default 2500)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--data", default=str(HERE / "data"))
    p.add_argument("--out", default=str(HERE / "results"))
    p.add_argument("--report", action="store_true", help="rewrite the Markdown from the saved JSON, run nothing")
    p.add_argument("--small", action="store_true", help="the small case (256 atoms, origins every 10 and every frame)")
    p.add_argument("--trajmodes-root", help="time the trajmodes of this checkout (with --small)")
    p.add_argument("--label", default="", help="suffix of the --small result files")
    p.add_argument("--compare", help="with --small: also time the trajmodes of this checkout in every round")
    p.add_argument("--time-small", nargs=2, metavar=("DUMP", "STEP"), help=argparse.SUPPRESS)
    p.add_argument("--large", action="store_true", help="the large case (10^4 atoms, 160 q on a path and a powder)")
    p.add_argument("--cells", type=int, default=14, help="with --large: n x n x n fcc cells (default 14)")
    p.add_argument("--profile", action="store_true", help="with --large: profile one trajmodes call on one thread")
    p.add_argument("--window", type=int, default=LARGE["window"], help="with --large: frames per window (default 250)")
    p.add_argument("--cold-large", nargs=4, metavar=("CODE", "DUMP", "DATA", "FRAMES"), help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    LARGE["window"] = a.window
    if a.cold_large:
        code, dump, data, frames = a.cold_large
        sys.path.insert(0, str(HERE))
        print(_cold_call(code, dump, data, int(frames)))
        return None
    if a.large:
        sys.path.insert(0, str(HERE))
        frames = a.frames if "--frames" in (argv if argv is not None else sys.argv) else 1000
        res = dict(environment=environment(), command="python benchmarks/bench_structure_factor.py " + " ".join(
            argv if argv is not None else sys.argv[1:]), date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
        dump, data = make_large(Path(a.data), a.cells, frames)
        res["speed"] = speed_large(dump, data, frames, a.rounds, a.profile)
        out = Path(a.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "structure_factor_large.json").write_text(json.dumps(res, indent=1, default=str))
        print(write_large_md(res, out / "structure_factor_large.md"))
        return res
    if a.time_small:
        dump, step = a.time_small[0], int(a.time_small[1])
        run_trajmodes_small(dump, step)
        best = np.inf
        for _ in range(3):
            t0 = time.perf_counter()
            run_trajmodes_small(dump, step)
            best = min(best, time.perf_counter() - t0)
        print(best)
        return best
    if a.small:
        sys.path.insert(0, str(HERE))
        res = dict(environment=environment(), command="python benchmarks/bench_structure_factor.py " + " ".join(
            argv if argv is not None else sys.argv[1:]))
        res["speed"] = speed_small(make_small(Path(a.data)), a.rounds, a.compare)
        out = Path(a.out)
        out.mkdir(parents=True, exist_ok=True)
        stem = "structure_factor_small" + (f"_{a.label}" if a.label else "")
        (out / f"{stem}.json").write_text(json.dumps(res, indent=1, default=str))
        print(write_small_md(res, out / f"{stem}.md"))
        return res
    if a.report:
        res = json.loads((Path(a.out) / "structure_factor.json").read_text())
        res["memory"]["ratio"] = res["memory"]["rows"][-1]["peak_rss_mb"] / res["memory"]["rows"][-2]["peak_rss_mb"]
        print(write_md(res, Path(a.out) / "structure_factor.md"))
        return res
    res = dict(environment=environment(), command="python benchmarks/bench_structure_factor.py " + " ".join(
        argv if argv is not None else sys.argv[1:]))
    dump, data = make_run(Path(a.data), 4 * a.frames)
    res["speed"] = speed(dump, data, a.frames, a.rounds)
    res["memory"] = memory(dump, data, 4 * a.frames)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "structure_factor.json").write_text(json.dumps(res, indent=1, default=str))
    print(write_md(res, out / "structure_factor.md"))
    return res


if __name__ == "__main__":
    main()
