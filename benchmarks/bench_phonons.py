#!/usr/bin/env python
"""Phonon benchmark: frequencies and eigenvectors on a 40x40x40 mesh, trajmodes vs phonopy, one run.

    python benchmarks/bench_phonons.py [--mesh 40] [--repeats 5] [--fc examples/fc/si_sw] [--out benchmarks/results]

Case: diamond Si, Stillinger-Weber, 2-atom primitive cell,
force constants on a 5x5x5 supercell (250 atoms) from real LAMMPS forces
(``examples/make_force_constants.py``); 64000 q-points of a Gamma-centred 40x40x40 mesh, no symmetry
reduction, eigenvectors included.

Timed (best of ``--repeats`` interleaved rounds, every repetition stored; same process, same q-points,
same threads):

* core = dynamical matrices + diagonalisation of all q:
  trajmodes ``Phonons.frequencies_and_eigenvectors(q)``; phonopy (C) ``get_dynamical_matrices_at_qpoints``
  with ``lang="C"`` (its OpenMP C kernel) + ``diagonalize_dynamical_matrices(lang="C")`` (NumPy
  ``eigh`` on the stack), exactly the two calls ``Mesh._set_phonon`` makes; also phonopy's default
  Rust backend (``phonors``) for information;
* the dynamical-matrix and the diagonalisation parts separately (trajmodes: NumPy ``eigh`` over its
  q-blocks in its thread pool, ``Phonons.n_threads`` = ``os.cpu_count()`` by default);
* total wall: trajmodes ``Phonons(fc)`` (Wigner-Seitz images, H_R tables) + mesh + core; phonopy
  ``Phonopy.run_mesh(mesh, with_eigenvectors=True, is_mesh_symmetry=False)`` (grid, dynamical
  matrices, diagonalisation) on an object loaded beforehand (its loading is not timed).

Checks: max |nu_trajmodes - nu_phonopy| (THz) over all q and branches, max |D_trajmodes - D_phonopy|
(same phase convention), and the eigenvector residual max |D e - lambda e|.

Writes ``<out>/phonons.json`` (all numbers and the environment) and ``<out>/phonons.md`` (the table,
also printed).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def environment() -> dict:
    import phonopy
    import threadpoolctl
    from phonopy._lang import c_use_openmp, have_c_ext, have_phonors
    pools = [dict(api=p["internal_api"], threads=p["num_threads"], lib=os.path.basename(p["filepath"]))
             for p in threadpoolctl.threadpool_info()]
    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")),
               platform.processor()) if os.path.exists("/proc/cpuinfo") else platform.processor()
    return dict(python=platform.python_version(), numpy=np.__version__, phonopy=phonopy.__version__,
                cpu=cpu, cores=os.cpu_count(), phonopy_c_extension=have_c_ext(),
                phonopy_c_openmp=c_use_openmp(), phonopy_rust_phonors=have_phonors(), threadpools=pools,
                OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS"))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--fc", default=str(ROOT / "examples" / "fc" / "si_sw"), help="phonopy force-constant folder")
    p.add_argument("--mesh", type=int, default=40)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = p.parse_args(argv)

    import phonopy
    from phonopy.harmonic.dynamical_matrix import (diagonalize_dynamical_matrices,
                                                   get_dynamical_matrices_at_qpoints)
    import trajmodes
    from trajmodes.lattice.qpoints import mesh_qpoints
    from trajmodes.units import THZ

    fcdir = Path(args.fc)
    mesh = [args.mesh] * 3
    kw = dict(force_constants_filename=str(fcdir / "FORCE_CONSTANTS"), is_nac=False, symmetrize_fc=False,
              log_level=0)
    ph_c = phonopy.load(str(fcdir / "phonopy_params.yaml"), lang="C", **kw)
    ph_r = phonopy.load(str(fcdir / "phonopy_params.yaml"), lang="Rust", **kw)
    fc = trajmodes.ForceConstants.read(fcdir, "phonopy")
    nq = int(np.prod(mesh))
    case = dict(fc=str(fcdir.relative_to(ROOT) if fcdir.is_absolute() and ROOT in fcdir.parents else fcdir),
                n_prim=fc.n_prim, supercell_atoms=fc.n_atoms, supercell_matrix=fc.smap.matrix.tolist(),
                mesh=mesh, n_qpoints=nq, repeats=args.repeats)
    print(f"case: {case}", flush=True)

    # warm-up (imports, first-touch allocations, the Wigner-Seitz tables)
    ph_c.run_mesh(mesh, with_eigenvectors=True, is_mesh_symmetry=False)
    q = np.ascontiguousarray(ph_c.mesh.qpoints, dtype=float)
    ref_f = ph_c.mesh.frequencies.copy()
    tm = trajmodes.Phonons(fc)
    tm.frequencies_and_eigenvectors(q[:4096])
    blocks, nt = tm.dm.blocks(len(q))
    case.update(trajmodes_threads=nt, trajmodes_block=blocks[0].stop)
    dm_c = ph_c.dynamical_matrix
    dm_r = ph_r.dynamical_matrix
    get_dynamical_matrices_at_qpoints(dm_r, q[:4096], lang="Rust")

    def phonopy_core(dm, lang):
        D = get_dynamical_matrices_at_qpoints(dm, q, lang=lang)
        w, e = diagonalize_dynamical_matrices(D, with_eigenvectors=True, lang=lang)
        return np.sqrt(np.abs(w)) * np.sign(w) * THZ, e

    def trajmodes_total():
        ph = trajmodes.Phonons(fc)
        return ph.frequencies_and_eigenvectors(mesh_qpoints(mesh))

    def trajmodes_eigh(D):
        """NumPy eigh over trajmodes' q-blocks in its thread pool, as frequencies_and_eigenvectors runs it."""
        w = np.empty(D.shape[:2])
        v = np.empty_like(D)

        def block(b):
            w[b], v[b] = np.linalg.eigh(D[b])
        tm.dm.map_blocks(block, len(D))
        return w, v

    D_tm = tm.dynamical_matrix(q)
    D_ph = get_dynamical_matrices_at_qpoints(dm_c, q, lang="C")
    jobs = {  # core: dynamical matrices + diagonalisation (the target); parts; total wall
        "trajmodes_core": lambda: tm.frequencies_and_eigenvectors(q),
        "phonopy_c_core": lambda: phonopy_core(dm_c, "C"),
        "phonopy_rust_core": lambda: phonopy_core(dm_r, "Rust"),
        "trajmodes_dynmat": lambda: tm.dynamical_matrix(q),
        "phonopy_c_dynmat": lambda: get_dynamical_matrices_at_qpoints(dm_c, q, lang="C"),
        "phonopy_rust_dynmat": lambda: get_dynamical_matrices_at_qpoints(dm_r, q, lang="Rust"),
        "trajmodes_eigh": lambda: trajmodes_eigh(D_tm),
        "phonopy_c_eigh": lambda: diagonalize_dynamical_matrices(D_ph, with_eigenvectors=True, lang="C"),
        "phonopy_rust_eigh": lambda: diagonalize_dynamical_matrices(D_ph, with_eigenvectors=True, lang="Rust"),
        "trajmodes_total": trajmodes_total,
        "phonopy_c_total": lambda: ph_c.run_mesh(mesh, with_eigenvectors=True, is_mesh_symmetry=False),
        "phonopy_rust_total": lambda: ph_r.run_mesh(mesh, with_eigenvectors=True, is_mesh_symmetry=False),
        "trajmodes_build": lambda: trajmodes.Phonons(fc),
    }
    # interleaved rounds: every round times every job once, so a busy spell hits all of them alike
    times = {k: [] for k in jobs}
    outs = {}
    for _ in range(args.repeats):
        for k, fn in jobs.items():
            t0 = time.perf_counter()
            outs[k] = fn()
            times[k].append(time.perf_counter() - t0)
    r = {k: (min(v), v, outs[k]) for k, v in times.items()}

    # --- agreement ---------------------------------------------------------------------------------
    f_tm, e_tm = r["trajmodes_core"][2]
    f_c, _ = r["phonopy_c_core"][2]
    f_total = r["trajmodes_total"][2][0]
    q_tm = mesh_qpoints(mesh)
    same_order = bool(np.allclose(q_tm, q))
    lam = np.sign(f_tm) * (f_tm / THZ) ** 2
    resid = np.abs(np.einsum("qab,qbs->qas", D_tm, e_tm) - e_tm * lam[:, None, :]).max()
    checks = dict(max_df_core_THz=float(np.abs(f_tm - f_c).max()),
                  max_df_vs_run_mesh_THz=float(np.abs(f_tm - ref_f).max()),
                  max_df_total_vs_run_mesh_THz=float(np.abs(f_total - ref_f).max()) if same_order else None,
                  mesh_qpoints_same_order_as_phonopy=same_order,
                  max_abs_dD=float(np.abs(D_tm - D_ph).max()), max_abs_D=float(np.abs(D_ph).max()),
                  eigen_residual=float(resid), max_frequency_THz=float(f_tm.max()))

    timing = {k: dict(best_s=v[0], median_s=float(np.median(v[1])), all_s=v[1]) for k, v in r.items()}
    ratio = {k: r[f"phonopy_{b}_{k}"][0] / r[f"trajmodes_{k}"][0]
             for b in ("c",) for k in ("core", "dynmat", "eigh", "total")}
    ratio_rust = {k: r[f"phonopy_rust_{k}"][0] / r[f"trajmodes_{k}"][0] for k in ("core", "dynmat", "eigh", "total")}
    passed = ratio["core"] >= 1.0 and checks["max_df_core_THz"] < 1e-6
    result = dict(case=case, environment=environment(), timing=timing,
                  speedup_vs_phonopy_c=ratio, speedup_vs_phonopy_rust=ratio_rust, checks=checks,
                  target="core time (dynamical matrices + diagonalisation) <= phonopy C's, frequencies within 1e-6 THz",
                  verdict="PASS" if passed else "FAIL",
                  command="python benchmarks/bench_phonons.py " + " ".join(argv if argv is not None else sys.argv[1:]))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "phonons.json").write_text(json.dumps(result, indent=1))
    md = table(result)
    (out / "phonons.md").write_text(md)
    print(md)
    return 0


def table(res: dict) -> str:
    t = {k: v["best_s"] for k, v in res["timing"].items()}
    med = {k: v["median_s"] for k, v in res["timing"].items()}
    env, case, c = res["environment"], res["case"], res["checks"]
    rc, rr = res["speedup_vs_phonopy_c"], res["speedup_vs_phonopy_rust"]
    threads = ", ".join(f"{p['lib']} {p['api']} {p['threads']}" for p in env["threadpools"])
    lines = [f"Machine: {env['cpu']}, {env['cores']} cores; Python {env['python']}, numpy {env['numpy']}, "
             f"phonopy {env['phonopy']} (C extension {env['phonopy_c_extension']}, OpenMP {env['phonopy_c_openmp']}; "
             f"Rust phonors {env['phonopy_rust_phonors']}); thread pools: {threads}.",
             f"Case: {case['fc']}, {case['n_prim']}-atom primitive cell, force constants on "
             f"{case['supercell_matrix']} ({case['supercell_atoms']} atoms); {'x'.join(map(str, case['mesh']))} "
             f"mesh = {case['n_qpoints']} q, eigenvectors included, no mesh symmetry. Best of {case['repeats']} "
             "interleaved rounds (medians and every time in the json).",
             "",
             "| step | trajmodes (s) | phonopy C (s) | speed-up vs C | phonopy Rust (s) | speed-up vs Rust |",
             "|---|---|---|---|---|---|"]
    for k, name in (("core", "**dynamical matrices + diagonalisation** (the target)"),
                    ("dynmat", "dynamical matrices only"), ("eigh", "diagonalisation only"),
                    ("total", "total wall (trajmodes: Phonons(fc) + mesh + core; phonopy: run_mesh)")):
        lines.append(f"| {name} | {t['trajmodes_' + k]:.3f} | {t['phonopy_c_' + k]:.3f} | {rc[k]:.2f}x | "
                     f"{t['phonopy_rust_' + k]:.3f} | {rr[k]:.2f}x |")
    lines += ["", f"trajmodes threads: {case.get('trajmodes_threads')} (blocks of {case.get('trajmodes_block')} q).",
              "", f"trajmodes `Phonons(fc)` construction (Wigner-Seitz images, H_R tables): {t['trajmodes_build']:.3f} s.",
              f"Agreement: max |dnu| = {c['max_df_core_THz']:.1e} THz (vs phonopy C, all {case['n_qpoints']} q x "
              f"{3 * case['n_prim']} branches; run_mesh: {c['max_df_vs_run_mesh_THz']:.1e}); max |dD| = "
              f"{c['max_abs_dD']:.1e} of max |D| = {c['max_abs_D']:.2f} eV/(A^2 amu); eigenvector residual "
              f"max |De - lambda e| = {c['eigen_residual']:.1e}; highest frequency {c['max_frequency_THz']:.4f} THz.",
              "", f"Medians of the core: trajmodes {med['trajmodes_core']:.3f} s, phonopy C {med['phonopy_c_core']:.3f} s "
              f"({med['phonopy_c_core'] / med['trajmodes_core']:.2f}x), phonopy Rust {med['phonopy_rust_core']:.3f} s "
              "(best-of is the less load-sensitive number on a shared machine; all times in the json).",
              "", f"Target: {res['target']}. Verdict: **{res['verdict']}** (core speed-up vs phonopy C {rc['core']:.2f}x).",
              "", f"Command: `{res['command']}`", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
