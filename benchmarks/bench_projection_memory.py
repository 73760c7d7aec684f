#!/usr/bin/env python
"""Projection memory benchmark: a 10^5-atom supercell, and Welch spectra of a trajectory larger than RAM.

    python benchmarks/bench_projection_memory.py large-cell [--cells 30] [--frames 48] [--chunks 4,16]
    python benchmarks/bench_projection_memory.py long-run [--size-gb 26] [--resolution 0.05]
    python benchmarks/bench_projection_memory.py all

Both cases project exact harmonic trajectories of fcc Cu (``benchmarks/harmonic_dump.py``: a few
normal modes of the EAM force constants ``examples/fc/cu_eam`` excited, written as a LAMMPS dump with
x and v) onto the eigenvectors of those force constants at every q commensurate with the MD cell, so
the answer is known: |Q| = A for the excited modes, their phase turns at the harmonic frequency, and
sum_{q,s} |Q|^2 = 2 K A^2 in every frame (Parseval: every other mode is at rest).

* ``large-cell``: 30 x 30 x 30 conventional cells = 108,000 atoms and 108,000 q (324,000 modes).
  A dense projector would be (3N)^2 complex = 1.7 TB and the phase tables nq x N = 187 GB; trajmodes
  projects by an FFT over the cell grid.  Peak RSS is measured for two chunk sizes (frames per task):
  it should follow the chunk, not N^2.
* ``long-run``: the 256-atom cell for as many frames as fill ``--size-gb`` (default 26 GB, more than
  this machine's 24 GB of RAM), projected and Welch-averaged (``mode_spectra``) in one streamed pass.
  The peak RSS is compared with that of a file 1/8 the size: bounded memory means the same RSS.

Every case runs in its own subprocess (its peak RSS is the kernel's VmHWM of that process).  Writes
``<out>/projection_memory.json`` and ``.md``.  Dumps go to ``--data`` (default benchmarks/data) and are
reused when present with the same parameters.
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
sys.path.insert(0, str(HERE))


def _rss_mb(key: str = "VmRSS") -> float:
    """Resident memory (VmRSS) or its peak (VmHWM) of this process in MB.

    VmHWM, not ``ru_maxrss``: Linux carries ``ru_maxrss`` over fork + exec, so a child would report
    the parent's peak (here: writing the dump) instead of its own.
    """
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _dump(data_dir: Path, cells: int, frames: int, n_modes: int, dt: float):
    from harmonic_dump import HarmonicCu
    h = HarmonicCu(cells, n_modes=n_modes, dt=dt)
    path = data_dir / f"harmonic_cu_{cells}c_{frames}f_{n_modes}m.lammpstrj"
    meta = path.with_suffix(".json")
    if not (path.exists() and meta.exists() and json.loads(meta.read_text()).get("frames") == frames):
        data_dir.mkdir(parents=True, exist_ok=True)
        info = h.write(str(path), frames)
        meta.write_text(json.dumps(info))
    return h, path


def child(case: str, cells: int, frames: int, chunk: int, n_modes: int, dt: float, data_dir: str,
          resolution: float) -> dict:
    """One measurement, in this process (run by the parent in a fresh interpreter)."""
    import dask
    import dask.array as da
    import trajmodes
    h, path = _dump(Path(data_dir), cells, frames, n_modes, dt)
    traj = trajmodes.read(str(path), reference=h.reference(), chunk_frames=chunk or None)
    modes = trajmodes.project(traj, h.phonons)
    qs = modes.qpoint.values
    iq = [int(np.flatnonzero(np.linalg.norm((qs - q) - np.rint(qs - q), axis=1) < 1e-9)[0]) for q in h.q]
    dask.compute(da.zeros(2, chunks=1).sum())          # dask's one-time imports, outside the timing
    setup_rss = _rss_mb()
    Q = modes.Q.data
    t0 = time.perf_counter()
    with dask.config.set(scheduler="threads"):
        if case == "large-cell":
            def reduce(block):        # per chunk: the excited modes' Q and sum |Q|^2, one pass
                return np.concatenate([block[:, iq, h.branch], (np.abs(block) ** 2).sum(axis=(1, 2))[:, None]], 1)
            out = da.map_blocks(reduce, Q, drop_axis=2, chunks=(Q.chunks[0], (len(iq) + 1,)),
                                dtype=complex).compute()
            sel, norm = out[:, :-1], out[:, -1].real
            seconds = time.perf_counter() - t0
            expect = h.expected_q(modes.time.values)
            res = dict(max_rel_err_excited=float(np.abs(sel - expect).max() / h.amplitude),
                       max_rel_err_parseval=float(np.abs(norm / (2 * len(h.q) * h.amplitude ** 2) - 1).max()))
        else:
            spectra = trajmodes.mode_spectra(modes, resolution=resolution)
            seconds = time.perf_counter() - t0
            psd = spectra.psd.values
            f = spectra.frequency.values
            peak = f[np.argmax(psd[iq, h.branch], axis=-1)]
            df = float(f[1] - f[0])
            ke = 0.5 * 1.0364269e-4 * h.amplitude ** 2 * h.omega ** 2        # eV: <1/2 |Qdot|^2>
            res = dict(max_peak_offset_bins=float(np.abs(peak - h.nu).max() / df), resolution_thz=df,
                       n_segments=int(spectra.attrs["n_segments"]),
                       max_rel_err_kinetic=float(np.abs(psd[iq, h.branch].sum(-1) * df / ke - 1).max()))
    return dict(case=case, atoms=h.n_atoms, qpoints=len(qs), modes_total=3 * len(qs), excited=len(h.q),
                frames=frames, chunk_frames=int(traj.chunk_frames), file_gb=os.path.getsize(path) / 1e9,
                seconds=seconds, frames_per_s=frames / seconds, rss_setup_mb=setup_rss,
                peak_rss_mb=_rss_mb("VmHWM"), **res)


def run_child(**kw) -> dict:
    # the dump is written here, not in the child: its peak RSS is the analysis alone
    _dump(Path(kw["data_dir"]), kw["cells"], kw["frames"], kw["n_modes"], kw["dt"])
    cmd = [sys.executable, __file__, "_child", json.dumps(kw)]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode:
        return dict(kw, status="error", stderr=out.stderr[-3000:])
    return dict(json.loads(out.stdout.strip().splitlines()[-1]), status="ok")


def main(argv=None) -> None:
    if argv is None and len(sys.argv) > 2 and sys.argv[1] == "_child":
        print(json.dumps(child(**json.loads(sys.argv[2]))))
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("case", choices=["large-cell", "long-run", "all"])
    ap.add_argument("--cells", type=int, default=30)
    ap.add_argument("--frames", type=int, default=48)
    ap.add_argument("--chunks", default="4,16", help="frames per task for large-cell, comma separated")
    ap.add_argument("--size-gb", type=float, default=26.0)
    ap.add_argument("--resolution", type=float, default=0.05)
    ap.add_argument("--modes", type=int, default=12)
    ap.add_argument("--dt", type=float, default=0.04)
    ap.add_argument("--data", default=str(HERE / "data"))
    ap.add_argument("--out", default=str(HERE / "results"))
    args = ap.parse_args(argv)
    rows = []
    if args.case in ("large-cell", "all"):
        for c in (int(x) for x in args.chunks.split(",")):
            rows.append(run_child(case="large-cell", cells=args.cells, frames=args.frames, chunk=c,
                                  n_modes=args.modes, dt=args.dt, data_dir=args.data, resolution=args.resolution))
            print(json.dumps(rows[-1]), flush=True)
    if args.case in ("long-run", "all"):
        per_frame = 256 * (6 * 14 + 6) + 260
        big = max(2, int(args.size_gb * 1e9 / per_frame))
        for frames in (big // 8, big):
            rows.append(run_child(case="long-run", cells=4, frames=frames, chunk=0, n_modes=args.modes,
                                  dt=args.dt, data_dir=args.data, resolution=args.resolution))
            print(json.dumps(rows[-1]), flush=True)
    for r in rows:                       # chunk=0 means the reader's default
        if r.get("chunk") == 0:
            r["chunk"] = None
    write_tables(rows, Path(args.out))


def write_tables(rows, out: Path) -> None:
    env = dict(python=platform.python_version(), numpy=np.__version__, cores=os.cpu_count(),
               ram_gb=os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9,
               load_average=os.getloadavg()[0])
    out.mkdir(parents=True, exist_ok=True)
    old = json.loads((out / "projection_memory.json").read_text()) if (out / "projection_memory.json").exists() else {}
    cases = {r["case"] for r in rows}
    kept = [r for r in old.get("rows", []) if r.get("case") not in cases]
    rows = kept + rows
    (out / "projection_memory.json").write_text(json.dumps(dict(environment=env, rows=rows), indent=1))
    lines = [f"Projection memory (benchmarks/bench_projection_memory.py), {env['cores']} cores, "
             f"{env['ram_gb']:.0f} GB RAM, load average {env['load_average']:.1f}.", "",
             "| case | atoms | modes | frames | file GB | frames/task | s | frames/s | RSS after setup MB | "
             "peak RSS MB | exactness |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r.get("status") != "ok":
            lines.append(f"| {r.get('case')} | | | | | | | | | | error: see JSON |")
            continue
        if r["case"] == "large-cell":
            exact = (f"excited Q rel. err {r['max_rel_err_excited']:.1e}; "
                     f"Parseval rel. err {r['max_rel_err_parseval']:.1e}")
        else:
            exact = (f"peaks within {r['max_peak_offset_bins']:.2f} bins of the harmonic nu; kinetic energy rel. "
                     f"err {r['max_rel_err_kinetic']:.1e}; {r['n_segments']} segments")
        lines.append(f"| {r['case']} | {r['atoms']} | {r['modes_total']} | {r['frames']} | {r['file_gb']:.2f} | "
                     f"{r['chunk_frames']} | {r['seconds']:.1f} | {r['frames_per_s']:.0f} | {r['rss_setup_mb']:.0f} | "
                     f"{r['peak_rss_mb']:.0f} | {exact} |")
    (out / "projection_memory.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
