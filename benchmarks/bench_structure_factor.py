#!/usr/bin/env python
"""Dynamic structure factor benchmark: trajmodes against dynasor on the same LAMMPS dump, and peak memory against
the number of frames.

    python benchmarks/bench_structure_factor.py [--frames 2500] [--rounds 3] [--data benchmarks/data] [--out benchmarks/results]
    python benchmarks/bench_structure_factor.py --report      # the Markdown again from the saved JSON
    python benchmarks/bench_structure_factor.py --small [--rounds 3] [--compare DIR] [--trajmodes-root DIR]

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
    a = p.parse_args(argv)
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
