"""Path-integral runs made by the tests: a harmonic crystal under i-PI (exact harmonic forces from a Hessian,
``<ffdebye>``; Kapil et al., Comput. Phys. Commun. 236, 214 (2019)), a Lennard-Jones crystal under LAMMPS' ``fix
pimd/langevin``, and i-PI output files written by hand for exact unit tests.

:func:`ipi_run` writes an i-PI input and runs ``i-pi input.xml`` in a folder (PIMD, PILE_L thermostat: Ceriotti,
Parrinello, Markland and Manolopoulos, J. Chem. Phys. 133, 124104 (2010)); :func:`cached_ipi_run` keeps one run per
set of arguments for a pytest session (``tmp_path_factory``), for every test module that needs it.
:func:`harmonic_fcc` is a crystal to run: fcc with nearest-neighbour springs, its Hessian in eV/A^2.
"""
from __future__ import annotations

import math
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np

#: the runs of this session: arguments -> output folder
_RUNS: dict[str, Path] = {}


def harmonic_fcc(n: int = 2, a: float = 5.3, k: float = 1.0, species: str = "Ar"):
    """fcc (n x n x n conventional cells, 4 n^3 atoms) with a spring of ``k`` eV/A^2 between nearest neighbours.

    Returns
    -------
    dict
        ``positions`` (atoms, 3) A, ``cell`` (3, 3) A (rows), ``species`` (atoms,), ``masses`` (atoms,) amu,
        ``hessian`` (3 atoms, 3 atoms) eV/A^2 (acoustic sum rule exact).
    """
    from trajmodes.lattice.elements import masses_of
    basis = np.array([[0, 0, 0], [0, .5, .5], [.5, 0, .5], [.5, .5, 0]])
    cells = np.array([[i, j, l] for i in range(n) for j in range(n) for l in range(n)], float)
    pos = ((cells[:, None, :] + basis[None]) * a).reshape(-1, 3)
    cell = np.eye(3) * n * a
    nat = len(pos)
    h = np.zeros((3 * nat, 3 * nat))
    d = pos[None, :, :] - pos[:, None, :]
    d -= np.round(d / (n * a)) * n * a
    r = np.linalg.norm(d, axis=-1)
    for i, j in zip(*np.nonzero(np.abs(r - a / math.sqrt(2)) < 1e-6)):
        e = d[i, j] / r[i, j]
        block = k * np.outer(e, e)
        h[3 * i:3 * i + 3, 3 * j:3 * j + 3] -= block
        h[3 * i:3 * i + 3, 3 * i:3 * i + 3] += block
    sp = np.array([species] * nat)
    return {"positions": pos, "cell": cell, "species": sp, "masses": masses_of(np.array([species]))[0] * np.ones(nat),
            "hessian": h}


def _cell_abc(cell: np.ndarray) -> tuple:
    a, b, c = np.linalg.norm(cell, axis=1)
    ang = lambda u, v: math.degrees(math.acos(np.dot(u, v) / np.linalg.norm(u) / np.linalg.norm(v)))  # noqa: E731
    return a, b, c, ang(cell[1], cell[2]), ang(cell[0], cell[2]), ang(cell[0], cell[1])


def ipi_run(folder, *, hessian, masses, positions, cell, species, n_beads: int = 4, temperature: float = 50.0,
            steps: int = 200, stride: int = 10, seed: int = 31415, timestep_fs: float = 1.0, tau_fs: float = 100.0,
            prefix: str = "sim", centroid: bool = True, timeout: float = 120.0, bead_potentials: bool = False) -> Path:
    """Run i-PI on a harmonic crystal (``<ffdebye>``: forces -H (x - x0) exactly) with ``n_beads`` beads, PILE_L at
    ``temperature`` K, and return the folder of its outputs.

    Parameters
    ----------
    folder : path
        Where the input and the outputs go (made if missing).
    hessian : (3N, 3N) eV/A^2
    masses : (N,) amu
    positions : (N, 3) A
        The reference positions (the minimum of the harmonic energy; the run starts there).
    cell : (3, 3) A, rows a, b, c
        In i-PI's orientation: a along x, b in the xy plane (a ValueError otherwise).
    species : (N,) str
    n_beads, temperature, steps, stride, seed
        Beads, K, MD steps, steps between frames written, the random seed.
    timestep_fs, tau_fs
        The MD step and the PILE_L centroid time constant, fs.
    bead_potentials : bool
        Write each bead's potential energy to the properties file too (``bead_potentials{electronvolt}``, one column
        per bead, after the bead-averaged ``potential{electronvolt}``).

    Returns
    -------
    Path
        The folder: ``input.xml``, ``PREFIX.pos_K.xyz`` (A), ``PREFIX.for_K.xyz`` (atomic units),
        ``PREFIX.vel_K.xyz`` (atomic units), ``PREFIX.xc.xyz`` (A), ``PREFIX.out``, ``run.json`` (the arguments and
        the wall time).
    """
    from ipi.utils.units import unit_to_internal
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    cell = np.asarray(cell, float)
    if abs(cell[0, 1]) + abs(cell[0, 2]) + abs(cell[1, 2]) > 1e-9:
        raise ValueError("give the cell in i-PI's orientation: a along x, b in the xy plane (rows a, b, c)")
    positions = np.asarray(positions, float)
    abc = _cell_abc(cell)
    lines = [f"{len(positions)}", "# CELL(abcABC): " + " ".join(f"{x:.10f}" for x in abc)
             + " positions{angstrom} cell{angstrom}"]
    lines += [f"{s} {x:.12f} {y:.12f} {z:.12f}" for s, (x, y, z) in zip(species, positions)]
    (folder / "init.xyz").write_text("\n".join(lines) + "\n")
    x0 = unit_to_internal("length", "angstrom", 1.0) * positions.ravel()
    arr = lambda v, fmt=".12g": ", ".join(f"{x:{fmt}}" for x in np.ravel(v))  # noqa: E731
    n3 = 3 * len(positions)
    beads = ", bead_potentials{electronvolt}" if bead_potentials else ""
    xc = (f'<trajectory filename="xc" stride="{stride}" format="xyz"> x_centroid{{angstrom}} </trajectory>'
          if centroid else "")
    (folder / "input.xml").write_text(f"""<simulation verbosity="low" safe_stride="100000000">
  <output prefix="{prefix}">
    <properties stride="{stride}" filename="out"> [ step, time{{picosecond}}, conserved{{electronvolt}},
      temperature{{kelvin}}, potential{{electronvolt}}{beads} ] </properties>
    <trajectory filename="pos" stride="{stride}" format="xyz"> positions{{angstrom}} </trajectory>
    <trajectory filename="for" stride="{stride}" format="xyz"> forces </trajectory>
    <trajectory filename="vel" stride="{stride}" format="xyz"> velocities </trajectory>
    {xc}
  </output>
  <total_steps> {steps} </total_steps>
  <prng><seed> {seed} </seed></prng>
  <ffdebye name="harmonic">
    <hessian shape="({n3},{n3})" units="ev/ang^2"> [ {arr(hessian)} ] </hessian>
    <x_reference> [ {arr(x0, '.15g')} ] </x_reference>
  </ffdebye>
  <system>
    <initialize nbeads="{n_beads}">
      <file mode="xyz"> init.xyz </file>
      <masses mode="manual" units="dalton"> [ {arr(masses)} ] </masses>
      <velocities mode="thermal" units="kelvin"> {temperature} </velocities>
    </initialize>
    <forces><force forcefield="harmonic"/></forces>
    <motion mode="dynamics">
      <dynamics mode="nvt">
        <timestep units="femtosecond"> {timestep_fs} </timestep>
        <thermostat mode="pile_l"><tau units="femtosecond"> {tau_fs} </tau></thermostat>
      </dynamics>
    </motion>
    <ensemble><temperature units="kelvin"> {temperature} </temperature></ensemble>
  </system>
</simulation>
""")
    from tests.quantum.lj_pimd import driver          # the launch the tutorial's i-PI runs use too
    return driver().run_ipi(folder, prefix, timeout, {"n_beads": n_beads, "temperature": temperature, "steps": steps,
                                                      "stride": stride, "seed": seed, "timestep_fs": timestep_fs})


def cached_ipi_run(tmp_path_factory, **kwargs) -> Path:
    """:func:`ipi_run` once per pytest session for the same arguments (arrays compared by value), shared by the test
    workers (tests/support/session_store.py); ``timeout`` is not part of the run's identity."""
    from tests.support.session_store import key_of, once_per_session
    inputs = {k: v for k, v in kwargs.items() if k != "timeout"}
    key = key_of(inputs)
    if key not in _RUNS:
        _RUNS[key] = once_per_session(tmp_path_factory, "ipi_run", inputs, lambda folder: ipi_run(folder, **kwargs))
    return _RUNS[key]


LAMMPS_PIMD = """\
# LJ argon, 3x3x3 fcc cells (108 atoms), path-integral MD with {n_beads} beads (one partition each)
variable        ibead world {beads}
units           metal
atom_style      atomic
boundary        p p p
atom_modify     map yes
lattice         fcc 5.3
region          box block 0 3 0 3 0 3
create_box      1 box
create_atoms    1 box
mass            1 39.948
pair_style      lj/cut 8.5
pair_coeff      1 1 0.0104 3.4
timestep        {dt}
fix             1 all pimd/langevin method nmpimd ensemble nvt temp {temperature} thermostat PILE_L {seed} tau 1.0
dump            1 all custom {stride} dump.pimd.${{ibead}} id type x y z vx vy vz fx fy fz
dump_modify     1 sort id
thermo          {stride}
run             {steps}
"""


def lammps_pimd_run(folder, *, n_beads: int = 2, temperature: float = 50.0, steps: int = 200, stride: int = 10,
                    dt: float = 0.002, seed: int = 12345, timeout: float = 60.0) -> Path:
    """LJ argon (108 atoms) under LAMMPS' ``fix pimd/langevin`` with ``n_beads`` partitions
    (``mpirun -np P lmp -partition Px1 -in in.pimd``); the folder with ``in.pimd`` and ``dump.pimd.K``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "in.pimd").write_text(LAMMPS_PIMD.format(n_beads=n_beads, beads=" ".join(map(str, range(n_beads))),
                                                       temperature=temperature, seed=seed, stride=stride,
                                                       steps=steps, dt=dt))
    env = dict(os.environ, OMP_NUM_THREADS="1")
    done = subprocess.run([shutil.which("mpirun") or "mpirun", "-np", str(n_beads), shutil.which("lmp") or "lmp",
                           "-partition", f"{n_beads}x1", "-in", "in.pimd", "-log", "log.lammps", "-screen", "none"],
                          cwd=folder, capture_output=True, text=True, timeout=timeout, env=env)
    if done.returncode != 0 or not (folder / "dump.pimd.0").exists():
        raise RuntimeError(f"lmp failed in {folder} ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return folder


def write_ipi_file(path, frames, *, species, abc, steps, bead=0, quantity="positions", unit="angstrom",
                   cell_unit="angstrom") -> Path:
    """An i-PI XYZ file written by hand: ``frames`` (n, atoms, 3) in ``unit``, the cell ``abc`` (a b c alpha beta
    gamma, in ``cell_unit`` and degrees), the MD ``steps`` of the frames and the ``bead``, as i-PI 3 writes them."""
    path = Path(path)
    out = []
    for x, step in zip(np.asarray(frames, float), steps):
        out.append(f"{len(x)}")
        out.append("# CELL(abcABC): " + "  ".join(f"{v:10.5f}" for v in abc)
                   + f"  Step: {step:10d}  Bead: {bead:5d} {quantity}{{{unit}}}  cell{{{cell_unit}}}")
        out += [f"{s:>8s} {p[0]:14.7e} {p[1]:14.7e} {p[2]:14.7e}" for s, p in zip(species, x)]
    path.write_text("\n".join(out) + "\n")
    return path


def write_ipi_input(folder, *, prefix="sim", n_beads=2, temperature="<temperature units=\"kelvin\"> 100 </temperature>",
                    timestep="<timestep units=\"femtosecond\"> 0.5 </timestep>") -> Path:
    """A minimal i-PI input XML (prefix, bead count, temperature and time step; what trajmodes reads of it)."""
    p = Path(folder) / "input.xml"
    p.write_text(f"""<simulation>
  <output prefix="{prefix}"> </output>
  <total_steps> 10 </total_steps>
  <system>
    <initialize nbeads="{n_beads}"> <file mode="xyz"> init.xyz </file> </initialize>
    <motion mode="dynamics"> <dynamics mode="nvt"> {timestep} </dynamics> </motion>
    <ensemble> {temperature} </ensemble>
  </system>
</simulation>
""")
    return p
