"""An MD run of a glass at low temperature: the relaxed 216-atom amorphous Si cell of tests/data/kaldo (a
Stillinger-Weber melt-quench, tests/support/amorphous.py) in LAMMPS with Si.sw, Langevin at T, one calibration of the
energy, then NVE (no thermostat: it would broaden the lines), dumped ``id type xu yu zu vx vy vz`` (the stages of
tests/support/lammps_md.py's ``LONG_IN``).

Used by tests/disorder/test_qhgk_md.py: the run projected onto the cell's harmonic modes (GlassPhonons), each mode's
line fitted. Runnable by hand::

    python -m tests.support.lammps_glass OUTDIR [--ps 100] [--temperature 50]
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.support.lammps_md import LONG_IN, long_run_info, long_run_main, require_potential, run_long_input

GLASS = """\
units           metal
atom_style      atomic
boundary        p p p
atom_modify     map array
read_data       {start}
mass            1 {mass}
pair_style      sw
pair_coeff      * * {potfile} Si
"""


def glass_crystal():
    """The relaxed 216-atom amorphous Si cell of tests/data/kaldo (the cell kALDo was given) as a Crystal."""
    from tests.support.kaldo_reference import CONSTANTS
    from trajmodes.lattice.crystal import Crystal
    z = np.load(CONSTANTS)
    return Crystal(z["cell"], z["positions"], ["Si"] * len(z["positions"]), masses=z["masses"])


def write_data(crystal, path) -> None:
    """A LAMMPS data file (atom_style atomic, one type) of a cell whose first vector lies along x, second in xy."""
    c = np.asarray(crystal.cell, float)
    if abs(c[0, 1]) > 1e-10 or abs(c[0, 2]) > 1e-10 or abs(c[1, 2]) > 1e-10:
        raise ValueError("the cell must be LAMMPS' lower-triangular form (a along x, b in the xy plane)")
    x = np.asarray(crystal.positions, float)
    lines = ["glass (tests/support/lammps_glass.py)", "", f"{len(x)} atoms", "1 atom types", "",
             f"0.0 {c[0, 0]:.12f} xlo xhi", f"0.0 {c[1, 1]:.12f} ylo yhi", f"0.0 {c[2, 2]:.12f} zlo zhi",
             f"{c[1, 0]:.12f} {c[2, 0]:.12f} {c[2, 1]:.12f} xy xz yz", "", "Atoms # atomic", ""]
    lines += [f"{i + 1} 1 {p[0]:.12f} {p[1]:.12f} {p[2]:.12f}" for i, p in enumerate(x)]
    Path(path).write_text("\n".join(lines) + "\n")


def generate(outdir, temperature: float = 50.0, ps: float = 100.0, dt: float = 0.002, nevery: int = 10,
             seed: int = 4242, crystal=None) -> dict:
    """Run (or reuse) the run in ``outdir``; dict(dump=, data=, crystal=, temperature=, info=). ``crystal``: another
    relaxed Stillinger-Weber Si cell (default :func:`glass_crystal`)."""
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    crystal = glass_crystal() if crystal is None else crystal
    params = dict(temperature=temperature, ps=ps, dt=dt, nevery=nevery, seed=seed, n_atoms=crystal.n_atoms,
                  first=np.round(crystal.positions[0], 6).tolist())
    paths = dict(dump=out / "glass.lammpstrj", data=out / "glass.data", start=out / "glass_start.data",
                 meta=out / "glass.json")
    info = long_run_info(paths["meta"], params, paths["dump"])
    if info is not None:
        return dict(paths, crystal=crystal, temperature=temperature, info=info)
    write_data(crystal, paths["start"])
    steps = lambda t: int(round(t / dt))   # noqa: E731
    ncalib = steps(5.0) // 10 * 10
    text = GLASS.format(start=paths["start"], mass=float(crystal.masses[0]), potfile=require_potential("Si.sw"))
    text += LONG_IN.format(T=temperature, T2=2 * temperature, dt=dt, seed=seed, seed2=seed + 1, data=paths["data"],
                           dump=paths["dump"], neq=steps(5.0), ncalib=ncalib, ncalib_n=ncalib // 10,
                           nrelax=steps(2.0), nevery=nevery, nprod=steps(ps) // nevery * nevery)
    for stale in out.glob(".glass.*lammpstrj*"):                    # frame indexes of a previous dump
        stale.unlink()
    info = run_long_input(text, out / "glass.log", paths["meta"], params)
    return dict(paths, crystal=crystal, temperature=temperature, info=info)


if __name__ == "__main__":
    long_run_main(generate, __doc__, temperature=50.0)
