"""A substitutional alloy with force-constant disorder at a few kelvin, in LAMMPS: fcc "Cu" and "Ni" (their standard
masses) at random on the sites of 4x4x4 conventional cells (256 atoms, half each), bonded by Lennard-Jones pairs of
one sigma (2.3 A) and three well depths, Cu-Cu 0.10 eV, Ni-Ni 0.20 eV and Cu-Ni 0.25 eV (a stiffer unlike bond), cut
between the first and second neighbour shells. The lattice constant puts the nearest neighbours at the minimum of
the pair potential, r0 = 2^(1/6) sigma, a = sqrt(2) r0 = 3.6509 A: every bond is at rest there whatever its species,
so the ideal sites are the static equilibrium of every arrangement (no static displacements) and the harmonic
constants of each bond are exactly phi''(r0) = 72 epsilon / (2^(1/3) sigma^2) along the bond and nothing across it
(phi'(r0) = 0): 1.08, 2.16 and 2.70 eV/A^2. Langevin at T, one calibration of the energy, then NVE (no thermostat),
dumped ``id type xu yu zu vx vy vz fx fy fz`` (the forces for the fits).

The potential is :data:`POTENTIAL` (the package's :class:`trajmodes.potentials.pair.LennardJones`, which writes the
LAMMPS commands), so its analytic constants are those the run has.
Runnable by hand: ``python tests/support/lammps_alloy.py OUTDIR [--ps 100] [--temperature 5]``.
"""
from __future__ import annotations

from pathlib import Path

from tests.support.lammps_md import LONG_IN, long_run_info, long_run_main, run_long_input
from trajmodes.lattice.crystal import masses_or_error
from trajmodes.potentials.pair import LennardJones

SIGMA = 2.3
R0 = 2.0 ** (1.0 / 6.0) * SIGMA
A0 = 2.0 ** 0.5 * R0
CUTOFF = 0.85 * A0                    # between the first (0.707 a) and second (a) shells
EPSILON = {("Cu", "Cu"): 0.10, ("Ni", "Ni"): 0.20, ("Cu", "Ni"): 0.25}
POTENTIAL = LennardJones({k: (v, SIGMA, CUTOFF) for k, v in EPSILON.items()}, cutoff=CUTOFF)
SPECIES = ("Cu", "Ni")
MASSES = dict(zip((1, 2), (float(m) for m in masses_or_error(list(SPECIES)))))
CELLS = 4


def bond_stiffness(a: str, b: str) -> float:
    """phi''(r0) of the pair (a, b), eV/A^2: the constant along a nearest-neighbour bond (minus the block's radial
    component)."""
    eps = EPSILON.get((a, b), EPSILON.get((b, a)))
    return 72.0 * eps / (2.0 ** (1.0 / 3.0) * SIGMA ** 2)


CRYSTAL = """\
units           metal
atom_style      atomic
boundary        p p p
atom_modify     map array
lattice         fcc {a}
region          box block 0 {n} 0 {n} 0 {n}
create_box      2 box
create_atoms    1 box
set             type 1 type/ratio 2 0.5 {seed}
mass            1 {m1}
mass            2 {m2}
{pair}
"""


def generate(outdir, temperature: float = 5.0, ps: float = 100.0, dt: float = 0.002, nevery: int = 10,
             seed: int = 24680) -> dict:
    """Run (or reuse) the run in ``outdir``; dict(dump=, data=, species={type: symbol}, masses={type: amu},
    temperature=, info=)."""
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    params = dict(fields="xu yu zu vx vy vz fx fy fz", temperature=temperature, ps=ps, dt=dt, nevery=nevery,
                  seed=seed, a=A0, epsilon=str(EPSILON), sigma=SIGMA, cutoff=CUTOFF, cells=CELLS)
    paths = dict(dump=out / "cuni_lj.lammpstrj", data=out / "cuni_lj.data", meta=out / "cuni_lj.json")
    species = dict(zip((1, 2), SPECIES))
    done = dict(paths, species=species, masses=MASSES, temperature=temperature)
    info = long_run_info(paths["meta"], params, paths["dump"])
    if info is not None:
        return dict(done, info=info)
    steps = lambda t: int(round(t / dt))   # noqa: E731
    text = CRYSTAL.format(a=A0, n=CELLS, seed=seed, m1=MASSES[1], m2=MASSES[2],
                          pair="\n".join(POTENTIAL.lammps_commands(list(SPECIES))))
    ncalib = steps(10.0) // 10 * 10
    text += LONG_IN.replace("xu yu zu vx vy vz", "xu yu zu vx vy vz fx fy fz").format(
                           T=temperature, T2=2 * temperature, dt=dt, seed=seed + 1, seed2=seed + 2,
                           data=paths["data"], dump=paths["dump"], neq=steps(10.0), ncalib=ncalib,
                           ncalib_n=ncalib // 10, nrelax=steps(5.0), nevery=nevery,
                           nprod=steps(ps) // nevery * nevery)
    info = run_long_input(text, out / "cuni_lj.log", paths["meta"], params)
    return dict(done, info=info)


if __name__ == "__main__":
    long_run_main(generate, __doc__, temperature=5.0)
