#!/usr/bin/env python
"""Glass benchmark: Gamma modes, participation ratios and Allen-Feldman diffusivities of amorphous Si cells of about
500, 2000 and 10^4 atoms, with kALDo's dense route as the peer where it runs.

    python benchmarks/bench_glass.py [--cells 4,6,11] [--kaldo-cells 4] [--kaldo-python /work/kaldo-venv/bin/python]

Each cell (8 n^3 atoms) is melt-quenched once with Stillinger-Weber Si in LAMMPS (tests/support/amorphous.py; 2 ps at
3500 K, 4 ps quench to 300 K, relaxed to zero pressure and force; the 10^4-atom cell at diamond's density and by 2000
conjugate-gradient steps only) and cached under benchmarks/data. Every case then runs in a fresh
process under ``/usr/bin/time -v`` (wall time and peak resident memory of the whole process, imports included):

* ``trajmodes``: the sparse analytic constants (``StillingerWeber.sparse_force_constants``), then where the dense
  route fits (``gamma_modes`` without a window): every mode, participation ratios and Allen-Feldman diffusivities
  (Lorentzian, kALDo's ``diffusivity_bandwidth=0.5``); beyond (10^4 atoms): the modes of a 0.02 THz window
  (8.00-8.02 THz) by shift-invert Lanczos with their participation ratios, and D(nu) by the kernel polynomial method (256 moments,
  4 random vectors);
* ``kaldo``: kALDo (its own venv) on the same constants, ``Conductivity(method='qhgk').diffusivity`` with the same
  broadening: dense 3N x 3N matrices throughout.

Writes benchmarks/results/glass.json and glass.md.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / "data"
RESULTS = HERE / "results"
BANDWIDTH = 0.5                      # kALDo's diffusivity_bandwidth, rad/ps
WINDOW = (8.0, 8.02)                 # THz, the shift-invert window of the sparse route


def structure(cells: int) -> Path:
    """The melt-quenched cell of 8 cells^3 atoms and its sparse constants (cached)."""
    path = DATA / f"asi_{cells}.npz"
    if path.exists():
        return path
    sys.path.insert(0, str(ROOT))
    from tests.support.amorphous import melt_quench
    from tests.support.lammps_md import require_potential
    from trajmodes.lattice.crystal import Crystal
    from trajmodes.potentials.threebody import StillingerWeber
    big = cells >= 8                       # 10^4 atoms: diamond's density, 2000 CG iterations (minutes, not an hour)
    r = melt_quench(cells=cells, melt_ps=2.0, quench_ps=4.0, hold_ps=0.5, seed=cells, relax_box=not big,
                    max_iterations=2000 if big else 50000)
    crystal = Crystal(r["cell"], r["positions"], list(r["species"]))
    phi = StillingerWeber.from_lammps(require_potential("Si.sw")).sparse_force_constants(crystal).tocoo()
    DATA.mkdir(parents=True, exist_ok=True)
    np.savez(path, cell=crystal.cell, positions=crystal.positions, masses=crystal.masses, rows=phi.row,
             cols=phi.col, values=phi.data, melt_quench_s=r["seconds"])
    return path


def case_trajmodes(cells: int) -> dict:
    sys.path.insert(0, str(ROOT))
    from trajmodes.disorder import (GlassHarmonic, allen_feldman, allen_feldman_conductivity, gamma_modes,
                                    kaldo_broadening, kpm_diffusivity)
    from trajmodes.disorder.glass import dense_eigh_bytes
    from trajmodes.lattice.crystal import Crystal
    from trajmodes.potentials.threebody import StillingerWeber
    from trajmodes.resources import available_memory
    from tests.support.lammps_md import require_potential
    z = np.load(structure(cells))
    crystal = Crystal(z["cell"], z["positions"], ["Si"] * len(z["positions"]), masses=z["masses"])
    out, t = {"atoms": crystal.n_atoms}, time.perf_counter()
    model = GlassHarmonic.from_potential(StillingerWeber.from_lammps(require_potential("Si.sw")), crystal)
    out["constants_s"] = time.perf_counter() - t
    out["nnz"] = int(model.dynamical.nnz)
    dense = dense_eigh_bytes(3 * crystal.n_atoms) <= 0.5 * available_memory()
    t = time.perf_counter()
    if dense:
        modes = gamma_modes(model)
        out["modes_s"] = time.perf_counter() - t
        t = time.perf_counter()
        pr = modes.participation_ratios()
        af = allen_feldman(model, modes, **kaldo_broadening(BANDWIDTH))
        out["diffusivity_s"] = time.perf_counter() - t
        out.update(route="dense", modes=len(modes.frequencies), mean_pr=float(pr[3:].mean()),
                   mean_diffusivity=float(np.nanmean(af.diffusivity.values)),
                   kappa_300K=float(allen_feldman_conductivity(af, 300.0).conductivity.values[0]))
    else:
        modes = gamma_modes(model, window=WINDOW)
        pr = modes.participation_ratios()
        out["modes_s"] = time.perf_counter() - t
        print(f"window: {len(pr)} modes in {out['modes_s']:.1f} s", file=sys.stderr, flush=True)
        t = time.perf_counter()
        kp = kpm_diffusivity(model, np.linspace(1.0, 17.0, 33), n_moments=256, n_vectors=4)
        out["diffusivity_s"] = time.perf_counter() - t
        band = (kp.frequency.values >= 2) & (kp.frequency.values <= 12)
        out.update(route="sparse (shift-invert window, KPM)", modes=len(modes.frequencies),
                   mean_pr=float(pr.mean()), mean_diffusivity=float(np.nanmean(kp.diffusivity.values[band])))
    return out


def case_kaldo(cells: int) -> dict:
    import tempfile
    from ase import Atoms
    from kaldo.conductivity import Conductivity
    from kaldo.forceconstants import ForceConstants
    from kaldo.observables.secondorder import SecondOrder
    from kaldo.phonons import Phonons
    z = np.load(DATA / f"asi_{cells}.npz")
    n = len(z["positions"])
    t = time.perf_counter()
    phi = np.zeros((3 * n, 3 * n))
    np.add.at(phi, (z["rows"], z["cols"]), z["values"])
    atoms = Atoms(["Si"] * n, positions=z["positions"], cell=z["cell"], pbc=True)
    atoms.set_masses(z["masses"])
    with tempfile.TemporaryDirectory() as tmp:
        second = SecondOrder.from_supercell(atoms, grid_type="C", supercell=(1, 1, 1),
                                            value=phi.reshape(1, n, 3, 1, n, 3), folder=tmp)
        fc = ForceConstants(atoms=atoms, supercell=(1, 1, 1), folder=tmp, second_order=second)
        ph = Phonons(forceconstants=fc, is_classic=False, temperature=300.0, folder=tmp, storage="memory")
        pr = np.asarray(ph.participation_ratio, dtype=float).reshape(-1)
        cond = Conductivity(phonons=ph, method="qhgk", storage="memory", diffusivity_bandwidth=BANDWIDTH)
        kappa = np.asarray(cond.conductivity, dtype=float).sum(axis=0)
        d = np.asarray(cond.diffusivity, dtype=float).reshape(-1)
    return {"atoms": n, "total_s": time.perf_counter() - t, "mean_pr": float(pr[3:].mean()),
            "mean_diffusivity": float(d[3:].mean()), "kappa_300K": float(np.trace(kappa) / 3)}


def timed(cmd: list[str]) -> dict:
    """Run ``cmd`` under /usr/bin/time -v: its JSON (last line of stdout), wall seconds and peak RSS (MB)."""
    p = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True, cwd=ROOT,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{p.stderr[-3000:]}")
    rss = float(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1)) / 1024
    h, m, s = _elapsed(p.stderr)
    out = json.loads(p.stdout.strip().splitlines()[-1])
    out.update(wall_s=float(h) * 3600 + float(m) * 60 + float(s), peak_rss_mb=rss)
    return out


def _elapsed(stderr: str):
    text = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", stderr).group(1)
    parts = text.split(":")
    return (["0"] * (3 - len(parts)) + parts)


def table(rows: list[dict]) -> str:
    lines = ["| atoms | code | route | modes | peak RSS (MB) | wall (s) | constants (s) | modes (s) | "
             "diffusivity (s) | mean PR | mean D (mm^2/s) | kappa 300 K (W/(m K)) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        f = lambda k, fmt="{:.2f}": fmt.format(r[k]) if k in r else "-"      # noqa: E731
        route, modes = r.get("route", "dense (kALDo)"), r.get("modes", 3 * r["atoms"])
        lines.append(f"| {r['atoms']:,} | {r['code']} | {route} | {modes} | "
                     f"{r['peak_rss_mb']:.0f} | {r['wall_s']:.1f} | {f('constants_s')} | {f('modes_s')} | "
                     f"{f('diffusivity_s')} | {f('mean_pr', '{:.3f}')} | {f('mean_diffusivity', '{:.4f}')} | "
                     f"{f('kappa_300K', '{:.3f}')} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("what", nargs="?", default="all", choices=["all", "trajmodes", "kaldo"])
    p.add_argument("--cells", default="4,6,11")
    p.add_argument("--kaldo-cells", default="4")
    p.add_argument("--kaldo-python", default="/work/kaldo-venv/bin/python")
    a = p.parse_args(argv)
    cells = [int(c) for c in a.cells.split(",") if c]
    if a.what == "trajmodes":
        print(json.dumps(case_trajmodes(cells[0])))
        return
    if a.what == "kaldo":
        print(json.dumps(case_kaldo(cells[0])))
        return
    rows = []
    load0 = os.getloadavg()[0]
    for c in cells:
        structure(c)
        rows.append({"code": "trajmodes", **timed([sys.executable, __file__, "trajmodes", "--cells", str(c)])})
        print(rows[-1], flush=True)
        if str(c) in a.kaldo_cells.split(",") and Path(a.kaldo_python).exists():
            rows.append({"code": "kALDo", **timed([a.kaldo_python, __file__, "kaldo", "--cells", str(c)])})
            print(rows[-1], flush=True)
    meta = {"date": time.strftime("%Y-%m-%d %H:%M"), "cores": os.cpu_count(), "load_start": load0,
            "load_end": os.getloadavg()[0], "machine": platform.machine(), "command": " ".join(sys.argv)}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "glass.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    md = (f"Amorphous Si (Stillinger-Weber, melt-quenched), Gamma modes + participation ratios + Allen-Feldman "
          f"diffusivities; {meta['date']}, {meta['cores']} cores, load average {load0:.2f} at the start, "
          f"{meta['load_end']:.2f} at the end. `{meta['command']}`\n\n" + table(rows) + "\n")
    (RESULTS / "glass.md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()
