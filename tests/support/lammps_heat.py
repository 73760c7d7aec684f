"""A real LAMMPS run that writes its heat current: LJ argon, fcc, ``compute heat/flux`` with the centroid stress
(Surblys et al., Phys. Rev. E 99, 051301 (2019)), in the log's thermo columns, a ``fix ave/time`` file and a
``fix print`` file. The run in two parts (``run`` twice) repeats the step they share in the log."""
from __future__ import annotations

from tests.support.lammps_md import run_lammps

ARGON = """\
units           metal
atom_style      atomic
boundary        p p p
lattice         fcc 5.30
region          box block 0 3 0 3 0 3
create_box      1 box
create_atoms    1 box
mass            1 39.948
pair_style      lj/cut 8.5
pair_coeff      1 1 0.0104 3.40
velocity        all create 60.0 4928459 mom yes rot yes dist gaussian
timestep        0.004
fix             nve all nve
compute         ke all ke/atom
compute         pe all pe/atom
compute         st all centroid/stress/atom NULL
compute         flux all heat/flux ke pe st
thermo_style    custom step temp vol c_flux[1] c_flux[2] c_flux[3]
thermo          5
variable        Jx equal c_flux[1]
variable        Jy equal c_flux[2]
variable        Jz equal c_flux[3]
fix             avg all ave/time 5 1 5 c_flux[1] c_flux[2] c_flux[3] file {avg}
fix             prt all print 5 "$(step) ${{Jx}} ${{Jy}} ${{Jz}}" file {prt} screen no title "# step Jx Jy Jz"
run             {first}
run             {second}
"""


def argon_heat_run(folder, first: int = 200, second: int = 100) -> dict:
    """Run the argon input in ``folder``: paths of its ``log``, ``avg`` (fix ave/time) and ``prt`` (fix print) files."""
    files = {"log": folder / "log.lammps", "avg": folder / "flux.avg", "prt": folder / "flux.print"}
    run_lammps(ARGON.format(avg=files["avg"], prt=files["prt"], first=first, second=second), files["log"])
    return files
