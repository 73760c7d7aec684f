"""Real LAMMPS runs that write their heat current (``compute heat/flux``; the centroid stress: Surblys et al., Phys.
Rev. E 99, 051301 (2019)):

- :func:`argon_heat_run`: LJ argon, the current in the log's thermo columns, a ``fix ave/time`` file and a ``fix
  print`` file; two ``run`` commands, whose shared step the log repeats (``examples/md/ar_30K_heat.log.gz``);
- :func:`argon_heat_dump` and :func:`many_body_heat_dump`: the per-atom energies, stresses and velocities dumped,
  LAMMPS' own current in the log at the same steps (argon; EAM copper; Stillinger-Weber silicon)."""
from __future__ import annotations

from tests.support.lammps_md import run_lammps

#: the crystal: 108 atoms of fcc argon (Lennard-Jones), NVE from 60 K, 4 fs steps, the per-atom energies computed
ARGON_CRYSTAL = """\
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
"""

ARGON = ARGON_CRYSTAL + """\
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


#: a crystal dumped with what the heat current is made of: per-atom potential energy, centroid stress (nine columns)
#: or ordinary stress (six), velocities; the log prints LAMMPS' own current at every dumped step
HEAT_DUMP = """\
compute         st all {stress}
compute         flux all heat/flux ke pe st
thermo_style    custom step temp vol c_flux[1] c_flux[2] c_flux[3]
thermo_modify   format float %.17g
thermo          10
dump            d all custom 10 {dump} id type xu yu zu vx vy vz{forces} c_pe c_st[*]
dump_modify     d sort id format float %.17g units yes time yes
run             {steps}
"""
ARGON_DUMP = ARGON_CRYSTAL + HEAT_DUMP


def argon_heat_dump(folder, centroid: bool = True, steps: int = 200, forces: bool = False) -> dict:
    """The argon crystal dumped with its per-atom energies, stresses (``centroid``: the nine of ``compute
    centroid/stress/atom``, else the six of ``compute stress/atom``), velocities (and ``forces``, for a fit of the
    run's own constants) every 10 steps, and LAMMPS' own heat current in the log at the same steps, for ``steps``
    steps: paths of ``dump`` and ``log``."""
    files = {"dump": folder / "argon.lammpstrj", "log": folder / "log.lammps"}
    stress = "centroid/stress/atom NULL" if centroid else "stress/atom NULL"
    run_lammps(ARGON_DUMP.format(stress=stress, dump=files["dump"], steps=steps, forces=" fx fy fz" if forces else ""),
               files["log"])
    return files


def shared_argon_heat_dump(tmp_path_factory, centroid: bool = True, steps: int = 200, forces: bool = False) -> dict:
    """:func:`argon_heat_dump` made once per test session for the same arguments and shared by every test and test
    worker that asks for it (tests/support/session_store.py): the tests only read it, their outputs go to their own
    folders. Paths of ``dump`` and ``log``."""
    from tests.support.session_store import once_per_session
    inputs = dict(centroid=centroid, steps=steps, forces=forces, input=ARGON_DUMP)
    folder = once_per_session(tmp_path_factory, "argon_heat_dump", inputs,
                              lambda f: argon_heat_dump(f, centroid, steps, forces))
    return {"dump": folder / "argon.lammpstrj", "log": folder / "log.lammps"}


#: a crystal of a many-body potential dumped like ARGON_DUMP, with its input written next to the dump (so the reader
#: finds the pair_style it names): fcc Cu with EAM (its forces are sums of pair forces: the six-column stress gives
#: the same current as the centroid one), diamond Si with Stillinger-Weber (three-body: only the centroid stress gives
#: the right current; LAMMPS' sw does not provide it)
MANY_BODY_DUMP = """\
units           metal
atom_style      atomic
boundary        p p p
lattice         {lattice} {a}
region          box block 0 2 0 2 0 2
create_box      1 box
create_atoms    1 box
mass            1 {mass}
pair_style      {style}
pair_coeff      * * {potfile} {element}
velocity        all create {T} 2857 mom yes rot yes dist gaussian
timestep        0.001
fix             nve all nve
compute         ke all ke/atom
compute         pe all pe/atom
""" + HEAT_DUMP
SYSTEMS = {"cu": dict(lattice="fcc", a=3.6166, mass=63.55, style="eam/alloy", potfile="Cu_mishin1.eam.alloy",
                      element="Cu", T=600.0),
           "si": dict(lattice="diamond", a=5.4377, mass=28.0855, style="sw", potfile="Si.sw", element="Si", T=600.0)}


def many_body_heat_dump(folder, system: str = "cu", centroid: bool = True, steps: int = 200) -> dict:
    """2x2x2 conventional cells of ``system`` (``SYSTEMS``) dumped with per-atom energies, stresses (``centroid``:
    nine columns, else six) and velocities every 10 steps, LAMMPS' own heat current in the log, and the input beside
    the dump (``in.lammps``): paths of ``dump``, ``log`` and ``input``."""
    from tests.support.lammps_md import require_potential
    files = {"dump": folder / f"{system}.lammpstrj", "log": folder / "log.lammps", "input": folder / "in.lammps"}
    settings = dict(SYSTEMS[system])
    settings["potfile"] = require_potential(settings["potfile"])
    stress = "centroid/stress/atom NULL" if centroid else "stress/atom NULL"
    text = MANY_BODY_DUMP.format(stress=stress, dump=files["dump"], steps=steps, forces="", **settings)
    files["input"].write_text(text)
    run_lammps(text, files["log"])
    return files
