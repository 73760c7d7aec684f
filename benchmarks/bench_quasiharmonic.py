#!/usr/bin/env python
"""Quasiharmonic benchmark: lattice parameter, thermal expansion and bulk modulus of diamond Si (Stillinger-Weber)
at many temperatures, trajmodes' analytic minimisation against phonopy's QHA route, in one run.

    python benchmarks/bench_quasiharmonic.py [--mesh 16] [--temperatures 50] [--volumes 11] [--out benchmarks/results]

trajmodes: ``QuasiHarmonic(sw, diamond, mesh).minimize(T)`` -- exact lattice sums of the potential, analytic
free-energy gradients (Taylor et al., Phys. Rev. B 59, 353 (1999), eq. 9), the irreducible q of the mesh, one
quasi-Newton minimisation per temperature; timed without and with the properties (elastic constants, thermal
expansion, C_P: the free-energy Hessian at each minimum).

phonopy: the route its users take -- per volume, finite displacements of a 16-atom supercell with forces from the
same potential (trajmodes' SW forces, which agree with LAMMPS to 1e-13), force constants, frequencies on the same
mesh with symmetry, thermal properties at the same temperatures; then ``PhonopyQHA`` (Vinet equation of state) for
V(T), B(T) and the thermal expansion.

Checks: the lattice parameter of both at every temperature (relative difference) and the bulk modulus.
Writes ``<out>/quasiharmonic.json`` and ``<out>/quasiharmonic.md`` (also printed).
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


def trajmodes_run(sw, mesh, T, properties):
    from trajmodes.lattice.prototypes import prototype
    from trajmodes.phonons.thermodynamics.quasiharmonic import QuasiHarmonic
    t0 = time.perf_counter()
    qh = QuasiHarmonic(sw, prototype("diamond", "Si", 5.431), mesh=mesh)
    ds = qh.minimize(T, properties=properties)
    return time.perf_counter() - t0, ds


def phonopy_run(sw, mesh, T, n_volumes):
    from tests.support.phonopy_qha import phonopy_qha
    t0 = time.perf_counter()
    V, B = phonopy_qha(sw, np.linspace(5.40, 5.50, n_volumes), mesh, T)
    return time.perf_counter() - t0, V, B


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--mesh", type=int, default=16)
    p.add_argument("--temperatures", type=int, default=50, help="number of temperatures from 0 to 1500 K")
    p.add_argument("--volumes", type=int, default=11, help="volumes of phonopy's route")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = p.parse_args()
    from trajmodes.potentials.threebody import StillingerWeber
    sw = StillingerWeber.from_lammps(ROOT / "examples" / "potentials" / "Si_SW1985.sw")
    T = np.linspace(0.0, 1500.0, args.temperatures)
    trajmodes_run(sw, 4, T[:3], properties=True)           # warm up both (imports, first calls)
    phonopy_run(sw, 4, T[:3], 5)
    load0 = os.getloadavg()[0]
    t_min, ds_min = trajmodes_run(sw, args.mesh, T, properties=False)
    t_all, ds = trajmodes_run(sw, args.mesh, T, properties=True)
    t_ph, V, B = phonopy_run(sw, args.mesh, T, args.volumes)
    n = len(V)                               # PhonopyQHA drops the last temperature
    a_tm = (4 * ds["volume"].values[:n]) ** (1 / 3)
    a_ph = (4 * V) ** (1 / 3)
    da = float(np.abs(a_tm / a_ph - 1).max())
    dB = float(np.abs(ds["bulk_modulus_t"].values[:n] / B - 1).max())
    result = dict(case=f"diamond Si, Stillinger-Weber (1985), {args.temperatures} temperatures 0-1500 K, "
                       f"{args.mesh}^3 mesh, quantum statistics",
                  trajmodes_minimisation_s=t_min, trajmodes_with_properties_s=t_all,
                  trajmodes_iterations=int(ds["iterations"].values.sum()),
                  phonopy_qha_s=t_ph, phonopy_volumes=args.volumes,
                  ratio_minimisation=t_ph / t_min, ratio_with_properties=t_ph / t_all,
                  max_rel_diff_a=da, max_rel_diff_B_T=dB, load_average=[load0, os.getloadavg()[0]],
                  environment=dict(python=platform.python_version(), numpy=np.__version__, cores=os.cpu_count()))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    md = "\n".join([
        f"# Quasiharmonic minimisation: {result['case']}", "",
        "| route | time (s) | phonopy / trajmodes |", "|---|---|---|",
        f"| trajmodes, minimisation (a, V, F, G at every T) | {t_min:.2f} | {t_ph / t_min:.1f}x |",
        f"| trajmodes, with elastic constants, alpha, C_P, gamma at every T | {t_all:.2f} | {t_ph / t_all:.1f}x |",
        f"| phonopy QHA ({args.volumes} volumes: displacements, fc, mesh, thermal properties; Vinet EOS) | "
        f"{t_ph:.2f} | 1 |", "",
        f"Agreement: lattice parameter max |a/a_phonopy - 1| = {da:.2e}; isothermal bulk modulus {dB:.2e}. "
        f"Load average {load0:.2f} -> {os.getloadavg()[0]:.2f}.", ""])
    for name, text in (("quasiharmonic.json", json.dumps(result, indent=1)), ("quasiharmonic.md", md)):
        tmp = out / (name + ".tmp")
        tmp.write_text(text)
        os.replace(tmp, out / name)
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
