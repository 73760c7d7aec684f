"""Real LAMMPS runs of rutile TiO2 (P4_2/mnm: tetragonal, two species, six atoms per primitive cell, the free x of O at
4f) with the Matsui-Akaogi rigid-ion potential (M. Matsui and M. Akaogi, Mol. Simul. 6, 239 (1991)): Buckingham pairs
and Coulomb between fixed charges Ti +2.196, O -1.098 (``pair_style buck/coul/long`` with an Ewald sum).

The Buckingham terms follow from Matsui and Akaogi's atomic parameters (a_i, b_i in A, c_i in (kJ/mol)^1/2 A^3;
Ti 1.1823, 0.077, 22.5; O 1.6339, 0.117, 54.0) as A_ij = f (b_i + b_j) exp((a_i + a_j) / (b_i + b_j)) with
f = 4.184 kJ/(mol A), rho_ij = b_i + b_j, C_ij = c_i c_j: in eV (:data:`BUCKINGHAM`) Ti-Ti 31120.4, 0.154, 5.247;
Ti-O 16957.7, 0.194, 12.590; O-O 11782.8, 0.234, 30.222 (the values quoted in the literature for LAMMPS).

These parameters do not give the experimental lattice (a = 4.594, c = 2.959 A, x(O) = 0.3048 at 300 K): the relaxed
0 K crystal (real-space cutoff 10 A, Ewald to 1e-6; ``box/relax`` aniso, xy coupled) has a = 4.4929 A, c = 3.0103 A,
x(O) = 0.3033, -39.79 eV per TiO2 (the relaxation stops on LAMMPS' "linesearch alpha is zero" with -0.25 kbar along
a and -2.1 kbar along c left: the energy's own minimum, found without the virial, is at a = 4.4938, c = 3.0078 A).  An
Ewald sum written independently of LAMMPS (at the experimental x) puts the minimum at the same place, a ~ 4.49,
c ~ 3.01 A, and gives -8.6 GPa along a at the experimental lattice: it is the potential as these numbers define it.  Its
0 K rutile is stable (phonopy on the 216-atom supercell: no imaginary mode on an 8 x 8 x 8 mesh; next to Gamma its
interpolation without the non-analytic term has small imaginary acoustic modes, -0.8 THz at most).  The tests need a
stable polar rutile with its own free x, not the experimental one.

A run of 216 atoms (3 x 3 x 4 cells) takes about 2.4 s per ps on one core.

Used by tests/cli/test_noncubic_rutile.py; also runnable by hand::

    python tests/support/lammps_rutile.py OUTDIR [--T 600] [--ps 6] [--nevery 10] [--cells 3 3 4]

Stages, one LAMMPS instance on one thread: (1) the 0 K crystal of ``cells`` primitive (tetragonal) cells, atoms and
lattice relaxed, written as ``rutile_<cells>_0K.data`` (``atom_style charge``); (2) NVT at that 0 K lattice: Langevin
thermalisation at T (``neq_ps``), then Nose-Hoover production (Tdamp 0.1 ps) dumped every ``nevery`` steps of 1 fs:
``id type xu yu zu vx vy vz fx fy fz`` sorted by id, with ``ITEM: TIME``.  The input and the log lie beside the dump;
the parameters mark the run complete (``<name>.json``).
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.support.lammps_md import (NVT_PRODUCTION, crystal_main, crystal_run_done,  # noqa: E402
                                     crystal_run_files, run_crystal_input, run_lammps)

#: the starting lattice (A) and x of O, masses (amu) and charges (e) of types 1 (Ti) and 2 (O)
A0, C0, X0 = 4.594, 2.959, 0.3048
SPECIES = ("Ti", "O")
MASSES = (47.867, 15.9994)
CHARGES = (2.196, -1.098)
#: Matsui and Akaogi's a_i, b_i (A) and c_i ((kJ/mol)^1/2 A^3)
MATSUI_AKAOGI = {"Ti": (1.1823, 0.077, 22.5), "O": (1.6339, 0.117, 54.0)}
KJ_PER_MOL = 1.0 / 96.48533212                   # eV
CUTOFF = 10.0                                     # A, real space
EWALD = 1e-6                                      # Ewald's relative accuracy of the forces


def buckingham(i, j):
    """(A eV, rho A, C eV A^6) of the pair ``i``-``j`` from Matsui and Akaogi's atomic parameters."""
    ai, bi, ci = MATSUI_AKAOGI[i]
    aj, bj, cj = MATSUI_AKAOGI[j]
    rho = bi + bj
    return 4.184 * KJ_PER_MOL * rho * np.exp((ai + aj) / rho), rho, ci * cj * KJ_PER_MOL


BUCKINGHAM = {(i, j): buckingham(SPECIES[i - 1], SPECIES[j - 1]) for i, j in ((1, 1), (1, 2), (2, 2))}


def potential_commands(cutoff=CUTOFF, accuracy=EWALD):
    """The LAMMPS commands of the potential (after the atoms and their charges exist)."""
    lines = [f"mass 1 {MASSES[0]}", f"mass 2 {MASSES[1]}", f"pair_style buck/coul/long {cutoff}"]
    lines += [f"pair_coeff {i} {j} {A:.4f} {rho:.4f} {C:.4f}" for (i, j), (A, rho, C) in BUCKINGHAM.items()]
    return lines + [f"kspace_style ewald {accuracy:g}"]


RELAX_IN = """\
units           metal
atom_style      charge
boundary        p p p
read_data       {start}
{potential}
thermo          100
min_style       cg
min_modify      line quadratic
fix             relax all box/relax aniso 0.0 couple xy vmax 0.001
minimize        0 1e-10 5000 20000
minimize        0 1e-10 5000 20000
minimize        0 1e-10 5000 20000
unfix           relax
minimize        0 1e-12 5000 20000
write_data      {data} nocoeff
"""

RUN_IN = """\
# rutile TiO2 at {T} K, NVT at the 0 K lattice (Matsui and Akaogi 1991: Buckingham + Coulomb, Ti +2.196, O -1.098)
units           metal
atom_style      charge
boundary        p p p
atom_modify     map array
read_data       {data}
{potential}
""" + NVT_PRODUCTION


def rutile_cell(cells=(3, 3, 4), a=A0, c=C0, x=X0):
    """The rutile supercell of ``cells`` tetragonal cells: box rows, positions (A) and types (1 Ti, 2 O); the first six
    atoms are the cell at the origin."""
    prim = np.diag([a, a, c])
    frac = np.array([[0, 0, 0], [0.5, 0.5, 0.5], [x, x, 0], [1 - x, 1 - x, 0], [0.5 + x, 0.5 - x, 0.5],
                     [0.5 - x, 0.5 + x, 0.5]])
    types = np.array([1, 1, 2, 2, 2, 2])
    n = np.array(cells)
    grid = np.stack(np.meshgrid(*(np.arange(k) for k in n), indexing="ij"), -1).reshape(-1, 3)
    pos = ((grid[:, None, :] + frac[None]) @ prim).reshape(-1, 3)
    return prim * n[:, None], pos, np.tile(types, len(grid))


def write_start(path, cells):
    cell, pos, types = rutile_cell(cells)
    lines = ["rutile TiO2, x(O) = 0.3048", "", f"{len(pos)} atoms", "2 atom types", "",
             f"0 {cell[0, 0]:.10f} xlo xhi", f"0 {cell[1, 1]:.10f} ylo yhi", f"0 {cell[2, 2]:.10f} zlo zhi",
             "", "Atoms # charge", ""]
    lines += [f"{i + 1} {t} {CHARGES[t - 1]} {x:.10f} {y:.10f} {z:.10f}"
              for i, (t, (x, y, z)) in enumerate(zip(types, pos))]
    Path(path).write_text("\n".join(lines) + "\n")


def generate(outdir, T=600.0, ps=6.0, nevery=10, cells=(3, 3, 4), seed=4711, neq_ps=3.0):
    """Run (or reuse) the 0 K relaxation and the NVT run at ``T``; returns dict(dump=, data=, input=, log=)."""
    out, cells, files, meta, params = crystal_run_files(outdir, "rutile", T, ps, nevery, cells, seed, neq_ps)
    data = files["data"]
    if crystal_run_done(meta, params, files):
        return files
    potential = "\n".join(potential_commands())
    if not data.exists():
        start = out / "start.data"
        write_start(start, cells)
        run_lammps(RELAX_IN.format(start=start, potential=potential, data=data), out / "relax.log")
    text = RUN_IN.format(T=T, T2=2 * T, seed=seed, data=data.name, potential=potential, neq=int(neq_ps * 1000),
                         nevery=nevery, dump=files["dump"].name, nsteps=int(round(ps * 1000)))
    return run_crystal_input(out, text, files, meta, params)


def main(argv=None) -> int:
    return crystal_main(generate, __doc__, argv, T=600.0, ps=6.0, cells=(3, 3, 4))


if __name__ == "__main__":
    sys.exit(main())
