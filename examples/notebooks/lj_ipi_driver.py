"""trajmodes' own Lennard-Jones potential as an i-PI force field (``<ffdirect>`` with ``<pes> custom </pes>``).

i-PI (V. Kapil et al., Comput. Phys. Commun. 236, 214 (2019); i-PI 3: Y. Litman et al., J. Chem. Phys. 161, 062504
(2024)) imports this file and builds :class:`TrajmodesLJ` with the ``<parameters>`` of the force field: ``epsilon``
(eV), ``sigma`` (A), ``cutoff`` (A) and ``species`` (one chemical symbol, or a list with one per atom). Each call gets
the cell and positions of one bead configuration, or lists of them (``batch_size`` > 1), in i-PI's atomic units
(bohr; the cell matrix h with the lattice vectors as its columns) and returns the energy in hartree, the forces in
hartree/bohr and the virial in hartree. The energies and forces are those of
:class:`trajmodes.potentials.engines.PotentialEngine` with :class:`trajmodes.LennardJones` (``pair_style lj/cut``,
unshifted, every periodic image within the cutoff), the same numbers a self-consistent sampling or a fit with that
engine uses. The virial is -sum_l r_l (x) dU/dr_l of the pairs (from the same
trajmodes terms: minus the static stress times the volume) with ``virial: true``, so that i-PI's pressure is
right; by default it is zero (NVT at a fixed cell never uses it, and it costs as much again as the forces).

The i-PI input::

    <ffdirect name="lj" threaded="true">
      <pes> custom </pes> <pes_path> /path/to/lj_ipi_driver.py </pes_path>
      <parameters> {epsilon: 0.0031, sigma: 2.74, cutoff: 7.0, species: Ne} </parameters>
      <batch_size> 8 </batch_size>
    </ffdirect>
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from ipi.pes.dummy import Dummy_driver

from trajmodes.units import BOHR_A, HARTREE_EV

__DRIVER_NAME__ = "trajmodes_lj"
__DRIVER_CLASS__ = "TrajmodesLJ"

# A per bohr and eV per hartree: trajmodes' (CODATA 2018), the constants its i-PI reader converts the forces back
# with, so that forces written in atomic units read back as the engine's; i-PI's own bohr and hartree (CODATA 2006) are
# 1.4e-8 and 1.0e-7 relative away, which scales the whole cell with the positions and moves nothing measurable.


class TrajmodesLJ(Dummy_driver):
    """trajmodes' Lennard-Jones (eV, A) between the atoms of one species, in i-PI's atomic units.

    A batch of bead configurations is evaluated at once over a list of pairs (every periodic image j + R of j with
    |x_j + R - x_i| < cutoff + ``skin`` at the positions the list was made from), with trajmodes' own pair function
    (:meth:`trajmodes.LennardJones.radial`) and its cutoff. While no atom has moved by more than ``skin / 2`` from
    where the list was made, the list holds every pair within the cutoff, and the numbers are those of
    :class:`trajmodes.potentials.engines.PotentialEngine` to round-off; a configuration where one has is evaluated
    by that engine itself (and the list is made again from it).
    """

    def __init__(self, epsilon, sigma, cutoff, species="Ne", virial=False, skin=1.5, *args, **kwargs):
        from trajmodes.potentials.pair import LennardJones
        self.lj = LennardJones(float(epsilon), float(sigma), cutoff=float(cutoff))
        self.species = species
        self.virial = str(virial).strip().lower() in ("1", "true", "yes")      # i-PI passes strings
        self.skin = float(skin)
        self._list = None
        super().__init__(*args, **kwargs)

    # -- the exact engine, and the list of pairs -------------------------------------------------------------------
    def engine(self, cell_rows, n_atoms):
        """:class:`~trajmodes.potentials.engines.PotentialEngine` of this potential on the cell (rows, A)."""
        from trajmodes.lattice.crystal import Crystal
        from trajmodes.potentials.engines import PotentialEngine
        species = [self.species] * n_atoms if isinstance(self.species, str) else list(self.species)
        return PotentialEngine(self.lj, Crystal(cell_rows, np.zeros((n_atoms, 3)), species))

    def _make_list(self, cell_rows, x):
        """Pairs (i < j, or i == j with an image R != 0 once) within cutoff + skin of the positions ``x`` (A)."""
        rc = self.lj.parameters(self.species if isinstance(self.species, str) else self.species[0],
                                self.species if isinstance(self.species, str) else self.species[0])["cutoff"]
        reach = rc + self.skin
        inv = np.linalg.inv(cell_rows)
        heights = 1.0 / np.linalg.norm(inv, axis=0)                    # distances between opposite faces
        n = np.ceil(reach / heights).astype(int)
        shifts = np.array([(a, b, c) for a in range(-n[0], n[0] + 1) for b in range(-n[1], n[1] + 1)
                           for c in range(-n[2], n[2] + 1)], float) @ cell_rows
        d = x[None, :, None, :] - x[:, None, None, :] + shifts[None, None]       # (i, j, image, 3)
        r = np.linalg.norm(d, axis=-1)
        i, j, k = np.nonzero(r < reach)
        keep = (i < j) | ((i == j) & _half(shifts[k]))
        i, j = i[keep], j[keep]
        incidence = np.zeros((len(x), len(i)))
        incidence[i, np.arange(len(i))] += 1.0
        incidence[j, np.arange(len(i))] -= 1.0                          # i == j (an atom and its image): nothing
        self._list = dict(cell=cell_rows.copy(), x0=x.copy(), i=i, j=j, shift=shifts[k[keep]], cutoff=rc,
                          incidence=incidence)

    def _listed(self, cell_rows, x):
        L = self._list
        if L is None or L["cell"].shape != cell_rows.shape or np.abs(L["cell"] - cell_rows).max() > 1e-10 \
                or len(L["x0"]) != len(x):
            return False
        u = x - L["x0"]
        u -= np.round(u @ np.linalg.inv(cell_rows)) @ cell_rows
        return np.linalg.norm(u, axis=1).max() < self.skin / 2

    def energies_forces(self, cell_rows, xs):
        """Energies (B,) eV and forces (B, N, 3) eV/A of configurations ``xs`` (B, N, 3) A in one cell (rows, A)."""
        xs = np.asarray(xs, float)
        if not self._listed(cell_rows, xs[0]):
            self._make_list(cell_rows, xs[0])
        L = self._list
        ok = np.array([self._listed(cell_rows, x) for x in xs])
        E = np.empty(len(xs))
        F = np.empty_like(xs)
        if ok.any():
            u = xs[ok] - L["x0"]
            u -= np.round(u @ np.linalg.inv(cell_rows)) @ cell_rows                    # each atom near its own x0
            x = L["x0"] + u
            d = x[:, L["j"]] + L["shift"] - x[:, L["i"]]                               # (B, pairs, 3)
            r = np.linalg.norm(d, axis=-1)
            inside = r < L["cutoff"]
            p = self.lj.parameters(*[self.species if isinstance(self.species, str) else self.species[0]] * 2)
            phi, dphi = self.lj.radial(np.where(inside, r, 1.0), p, order=1)
            E[ok] = np.where(inside, phi, 0.0).sum(-1)
            g = (np.where(inside, dphi / r, 0.0))[..., None] * d                      # dU/dx_j of each pair
            F[ok] = L["incidence"] @ g                                            # +g on i, -g on j
        if not ok.all():                                                          # moved too far: the engine
            batch = self.engine(cell_rows, xs.shape[1]).evaluate(xs[~ok], cell=cell_rows)
            E[~ok], F[~ok] = batch.energies, batch.forces
            self._make_list(cell_rows, xs[~ok][-1])
        return E, F

    # -- i-PI's interface ------------------------------------------------------------------------------------------
    def compute_structure(self, cell, pos):
        return self.compute([cell], [pos])[0]

    def compute(self, cell, pos):
        """One configuration (cell (3, 3), pos (N, 3) bohr) or lists of them: (energy Ha, forces Ha/bohr, virial Ha,
        extras) for each."""
        if not isinstance(cell, list):
            return self.compute([cell], [pos])[0]
        from trajmodes.lattice.crystal import Crystal
        rows = [np.asarray(h, float).T * BOHR_A for h in cell]           # i-PI: lattice vectors are the columns of h
        xs = [np.asarray(q, float).reshape(-1, 3) * BOHR_A for q in pos]
        E, F = np.empty(len(xs)), [None] * len(xs)
        same = all(np.array_equal(r, rows[0]) for r in rows)
        groups = [list(range(len(xs)))] if same else [[b] for b in range(len(xs))]
        for g in groups:
            e, f = self.energies_forces(rows[g[0]], np.stack([xs[b] for b in g]))
            for k, b in enumerate(g):
                E[b], F[b] = e[k], f[k]
        out = []
        for b in range(len(xs)):
            virial = np.zeros((3, 3))
            if self.virial:
                crystal = Crystal(rows[b], xs[b], [self.species] * len(xs[b]) if isinstance(self.species, str)
                                  else list(self.species))
                virial = -self.lj.stress(crystal) * crystal.volume / HARTREE_EV   # eV -> Ha; sum r (x) f
            out.append((float(E[b]) / HARTREE_EV, F[b] / HARTREE_EV * BOHR_A, virial, ""))   # eV/A -> Ha/bohr
        return out


def _half(shifts):
    """True for one of each pair of opposite nonzero lattice vectors (the first nonzero component positive)."""
    s = np.round(shifts, 9)
    first = np.where(s[:, 0] != 0, s[:, 0], np.where(s[:, 1] != 0, s[:, 1], s[:, 2]))
    return first > 0


# ------------------------------------------------------------------------------------------ a run of i-PI with it
def ipi_lj_run(folder, *, positions, cell, species, masses, epsilon, sigma, cutoff, n_beads=8, temperature=20.0,
               steps=2000, stride=10, seed=31415, timestep_fs=4.0, tau_fs=100.0, prefix="sim", timeout=600.0):
    """Write an i-PI input for a PIMD run (PILE_L thermostat: M. Ceriotti, M. Parrinello, T. E. Markland and
    D. E. Manolopoulos, J. Chem. Phys. 133, 124104 (2010)) of a crystal under :class:`TrajmodesLJ`, run
    ``i-pi input.xml`` in ``folder`` and return the folder.

    Parameters
    ----------
    folder : path
        Made if missing; ``input.xml``, ``init.xyz`` and the outputs go there.
    positions : (N, 3) A
        Where the run starts (every bead).
    cell : (3, 3) A, rows a, b, c
        In i-PI's orientation (a along x, b in the xy plane).
    species : (N,) str
        One species (the potential has one pair).
    masses : (N,) amu
    epsilon, sigma, cutoff
        The Lennard-Jones parameters: eV, A, A.
    n_beads : int
        P (1: classical MD with the same thermostat on the one bead).
    temperature, steps, stride, seed, timestep_fs, tau_fs
        K, MD steps, steps between the frames written, the random seed, the MD step (fs) and the PILE_L
        centroid time constant (fs).

    Returns
    -------
    pathlib.Path
        The folder, with ``PREFIX.pos_K.xyz`` (A; K zero-padded from 10 beads on) and ``PREFIX.for_K.xyz`` (hartree/bohr) for each bead K,
        ``PREFIX.xc.xyz`` (the centroid, A), ``PREFIX.out`` (step, time ps, conserved eV, temperature K,
        potential eV) and ``run.json`` (the arguments and the wall time, s).
    """
    import math
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    cell = np.asarray(cell, float)
    if abs(cell[0, 1]) + abs(cell[0, 2]) + abs(cell[1, 2]) > 1e-9:
        raise ValueError("give the cell in i-PI's orientation: a along x, b in the xy plane (rows a, b, c)")
    species = [str(s) for s in np.asarray(species)]
    if len(set(species)) != 1:
        raise ValueError(f"one species only (the potential has one pair), not {sorted(set(species))}")
    lengths = np.linalg.norm(cell, axis=1)
    ang = [math.degrees(math.acos(cell[i] @ cell[j] / lengths[i] / lengths[j])) for i, j in ((1, 2), (0, 2), (0, 1))]
    x = np.asarray(positions, float)
    lines = [f"{len(x)}", "# CELL(abcABC): " + " ".join(f"{v:.10f}" for v in [*lengths, *ang])
             + " positions{angstrom} cell{angstrom}"]
    lines += [f"{s} {p[0]:.12f} {p[1]:.12f} {p[2]:.12f}" for s, p in zip(species, x)]
    (folder / "init.xyz").write_text("\n".join(lines) + "\n")
    # i-PI's dictionary format: {key: value, ...}, no quotes; the values reach the driver as strings
    pars = f"{{epsilon: {float(epsilon)!r}, sigma: {float(sigma)!r}, cutoff: {float(cutoff)!r}, species: {species[0]}}}"
    m = ", ".join(f"{v:.10g}" for v in np.broadcast_to(np.asarray(masses, float), (len(x),)))
    (folder / "input.xml").write_text(f"""<simulation verbosity="low" safe_stride="100000000">
  <output prefix="{prefix}">
    <properties stride="{stride}" filename="out"> [ step, time{{picosecond}}, conserved{{electronvolt}},
      temperature{{kelvin}}, potential{{electronvolt}} ] </properties>
    <trajectory filename="pos" stride="{stride}" format="xyz"> positions{{angstrom}} </trajectory>
    <trajectory filename="for" stride="{stride}" format="xyz"> forces </trajectory>
    <trajectory filename="xc" stride="{stride}" format="xyz"> x_centroid{{angstrom}} </trajectory>
  </output>
  <total_steps> {int(steps)} </total_steps>
  <prng><seed> {int(seed)} </seed></prng>
  <ffdirect name="lj" threaded="true">
    <pes> custom </pes>
    <pes_path> {Path(__file__).resolve()} </pes_path>
    <parameters> {pars} </parameters>
    <batch_size> {int(n_beads)} </batch_size>
  </ffdirect>
  <system>
    <initialize nbeads="{int(n_beads)}">
      <file mode="xyz"> init.xyz </file>
      <masses mode="manual" units="dalton"> [ {m} ] </masses>
      <velocities mode="thermal" units="kelvin"> {float(temperature)} </velocities>
    </initialize>
    <forces><force forcefield="lj"/></forces>
    <motion mode="dynamics">
      <dynamics mode="nvt">
        <timestep units="femtosecond"> {float(timestep_fs)} </timestep>
        <thermostat mode="pile_l"><tau units="femtosecond"> {float(tau_fs)} </tau></thermostat>
      </dynamics>
    </motion>
    <ensemble><temperature units="kelvin"> {float(temperature)} </temperature></ensemble>
  </system>
</simulation>
""")
    return run_ipi(folder, prefix, timeout, dict(n_beads=n_beads, temperature=temperature, steps=steps, stride=stride,
                                                 seed=seed, timestep_fs=timestep_fs, tau_fs=tau_fs, epsilon=epsilon,
                                                 sigma=sigma, cutoff=cutoff))


def run_ipi(folder: Path, prefix: str, timeout: float, record: dict) -> Path:
    """Run ``i-pi input.xml`` in ``folder`` (its earlier ``prefix.*`` outputs and RESTART removed first) and write
    ``run.json``: ``record`` and the seconds i-PI took; the folder. Raises RuntimeError with i-PI's output where it
    fails or writes no positions file."""
    import json
    import shutil
    import subprocess
    import time
    for old in folder.glob(f"{prefix}.*"):
        old.unlink()
    (folder / "RESTART").unlink(missing_ok=True)
    start = time.perf_counter()
    done = subprocess.run([shutil.which("i-pi") or "i-pi", "input.xml"], cwd=folder, capture_output=True, text=True,
                          timeout=timeout)
    if done.returncode != 0 or not list(folder.glob(f"{prefix}.pos_*.xyz")):    # pos_0, or pos_00 from 10 beads
        raise RuntimeError(f"i-pi failed in {folder} ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    (folder / "run.json").write_text(json.dumps(dict(record, seconds=time.perf_counter() - start)))
    return folder
