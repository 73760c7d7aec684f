"""Small real LAMMPS runs (through the ``lammps`` Python module) for the check of a trajectory's time step against its
own positions and velocities (tests/io/test_time_step_check.py).

Each run: a small crystal at 300 K (Langevin, damp 0.1 ps, from velocities at 600 K, centre of mass at rest), then NVE
dumped every ``nevery`` MD steps as LAMMPS writes by default (``id type x y z vx vy vz``: wrapped positions, ``%g``,
no ``ITEM: TIME``), the MD time step set through a variable (``timestep ${dt}``) as in the input that started the
check. The systems (``SYSTEMS``): fcc Cu (EAM, Mishin 2001; highest mode 7.5 THz), diamond Si (Stillinger-Weber;
17.8 THz) and diamond C (Tersoff 1989 as in SiC.tersoff; about 40 THz), 2-3 conventional cells each.

Also runnable by hand::

    python tests/support/lammps_timestep.py OUTDIR SYSTEM DT NEVERY FRAMES [npt]
"""
from __future__ import annotations

import sys
from pathlib import Path

# system -> (lattice, a (A), cells per side, mass (amu), pair_style, potential file, element)
SYSTEMS = {
    "cu": ("fcc", 3.615, 3, 63.546, "eam/alloy", "Cu_mishin1.eam.alloy", "Cu"),
    "si": ("diamond", 5.431, 2, 28.0855, "sw", "Si.sw", "Si"),
    "c": ("diamond", 3.566, 2, 12.011, "tersoff", "SiC.tersoff", "C"),
}

RUN_IN = """\
units           metal
atom_style      atomic
boundary        p p p
atom_modify     map array
lattice         {lattice} {a}
region          box block 0 {n} 0 {n} 0 {n}
create_box      1 box
create_atoms    1 box
mass            1 {mass}
pair_style      {style}
pair_coeff      * * {potential} {element}
variable        dt equal {dt}
timestep        ${{dt}}
velocity        all create 600 {seed} mom yes rot no dist gaussian
fix             integrate all nve
fix             bath all langevin 300 300 0.1 {seed2} zero yes
run             {neq}
unfix           bath
{npt}dump            traj all custom {nevery} {dump} id type x y z vx vy vz
dump_modify     traj sort id
run             {nprod}
"""


def lammps_module():
    from tests.support.lammps_md import lammps_module as mod
    return mod()


def small_run(folder, system: str, dt: float, nevery: int, frames: int, *, npt: bool = False, seed: int = 4711,
              name: str | None = None) -> Path:
    """Run ``system`` at MD step ``dt`` (ps), dumping ``frames`` frames every ``nevery`` steps into
    ``folder/<name>.lammpstrj`` (the input beside it as ``in.<name>``); ``npt``: the production under a Nose-Hoover
    barostat at 0 bar (damp 0.5 ps) instead of NVE. Returns the dump's path."""
    from tests.support.lammps_md import find_potential, run_lammps
    mod = lammps_module()
    lattice, a, n, mass, style, potname, element = SYSTEMS[system]
    pot = find_potential(potname)
    if mod is None or pot is None:
        import pytest
        pytest.skip(f"LAMMPS (pip install 'lammps[mpi]') and its {potname} are needed")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    name = name or f"{system}_{nevery}"
    dump = folder / f"{name}.lammpstrj"
    text = RUN_IN.format(lattice=lattice, a=a, n=n, mass=mass, style=style, potential=pot, element=element, dt=dt,
                         seed=seed, seed2=seed + 17, neq=int(round(1.0 / dt)), nevery=nevery, dump=dump,
                         nprod=nevery * (frames - 1),
                         npt="unfix           integrate\nfix             ens all npt temp 300 300 0.1 iso 0 0 0.5\n"
                         if npt else "")
    (folder / f"in.{name}").write_text(text)
    run_lammps(text, "none")                         # one OpenMP thread, no log
    return dump


if __name__ == "__main__":
    out, system, dt, nevery, frames = sys.argv[1:6]
    print(small_run(out, system, float(dt), int(nevery), int(frames), npt=len(sys.argv) > 6))
