"""An isotope-disordered LAMMPS crystal at a few kelvin: fcc Cu (EAM, Mishin et al. 2001), 4x4x4 conventional cells
(256 atoms), half the atoms (drawn at random) 15 % lighter and half 15 % heavier than 63.55 amu (a 30 % mass
contrast, g2 = 0.0225), at the potential's lattice constant 3.615 A; Langevin at T, one calibration of the energy,
then NVE (no thermostat: it would broaden the lines), dumped ``id type xu yu zu vx vy vz``.

At 5 K the crystal is harmonic to a fraction of a percent, so the lines of the run are those of the disordered
harmonic sample: what :func:`trajmodes.disorder.mass_disorder.exact_lineshapes` computes.
Runnable by hand: ``python tests/support/lammps_isotopes.py OUTDIR [--ps 200] [--temperature 5]``.
"""
from __future__ import annotations

from pathlib import Path

from tests.support.lammps_md import FCC_4X4X4, LONG_IN, long_run_info, long_run_main, require_potential, run_long_input

MASS = 63.55
CONTRAST = 0.30
A0 = 3.615

CRYSTAL = FCC_4X4X4 + """\
create_box      2 box
create_atoms    1 box
set             type 1 type/ratio 2 0.5 {seed}
pair_style      eam/alloy
pair_coeff      * * {potfile} Cu Cu
# after pair_coeff: eam/alloy sets every type's mass from the potential file
mass            1 {m1}
mass            2 {m2}
"""


def generate(outdir, temperature: float = 5.0, ps: float = 100.0, dt: float = 0.002, nevery: int = 10,
             seed: int = 12345) -> dict:
    """Run (or reuse) the run in ``outdir``; dict(dump=, data=, masses={type: amu}, temperature=, info=)."""
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    params = dict(temperature=temperature, ps=ps, dt=dt, nevery=nevery, seed=seed, contrast=CONTRAST, a=A0)
    masses = {1: MASS * (1 - CONTRAST / 2), 2: MASS * (1 + CONTRAST / 2)}
    paths = dict(dump=out / "cu_isotopes.lammpstrj", data=out / "cu_isotopes.data", meta=out / "cu_isotopes.json")
    info = long_run_info(paths["meta"], params, paths["dump"])
    if info is not None:
        return dict(paths, masses=masses, temperature=temperature, info=info)
    steps = lambda t: int(round(t / dt))   # noqa: E731
    text = CRYSTAL.format(a=A0, seed=seed, potfile=require_potential("Cu_mishin1.eam.alloy"), m1=masses[1],
                          m2=masses[2])
    ncalib = steps(10.0) // 10 * 10
    text += LONG_IN.format(T=temperature, T2=2 * temperature, dt=dt, seed=seed + 1, seed2=seed + 2,
                           data=paths["data"], dump=paths["dump"], neq=steps(10.0), ncalib=ncalib,
                           ncalib_n=ncalib // 10, nrelax=steps(5.0), nevery=nevery,
                           nprod=steps(ps) // nevery * nevery)
    info = run_long_input(text, out / "cu_isotopes.log", paths["meta"], params)
    return dict(paths, masses=masses, temperature=temperature, info=info)


if __name__ == "__main__":
    long_run_main(generate, __doc__, temperature=5.0)
