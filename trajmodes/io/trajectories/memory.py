"""Frames already in memory (numpy arrays, memory maps), e.g. from ASE or a user's own integrator."""
from __future__ import annotations

import numpy as np

from trajmodes.lattice.elements import masses_of
from trajmodes.io.trajectories.base import FrameSource, take_frame_fields, wanted_frame_fields


class ArraySource(FrameSource):
    """A trajectory held in arrays, served through the same contract as the file readers.

    Parameters
    ----------
    positions : array_like (n_frames, n_atoms, 3)
        Å, unwrapped (continuous in time) or wrapped into the cell.
    cell : array_like (3, 3) or (n_frames, 3, 3)
        Rows a, b, c in Å.
    species : sequence of str (n_atoms,)
        Element symbols.
    masses : array_like (n_atoms,), optional
        amu; default the standard atomic weights of ``species``.
    velocities, forces : array_like (n_frames, n_atoms, 3), optional
        Å/ps and eV/Å.
    frame_interval : float
        Time between frames in ps.
    unwrapped : bool
        Whether ``positions`` are continuous in time (default True).
    potential_energy : array_like (n_frames,), optional
        Potential energy of every frame (the whole cell), eV: the per-frame quantity ``potential_energy``.
    origins : array_like (3,) or (n_frames, 3), optional
        The cell's origin (LAMMPS' xlo ylo zlo), Å; default zero.

    Any array with numpy slicing works (``np.memmap`` and h5py datasets included): frames are copied
    chunk by chunk when a task asks for them, never all at once.
    """

    format = "memory"

    def __init__(self, positions, cell, species, masses=None, velocities=None, forces=None,
                 frame_interval: float = 0.001, unwrapped: bool = True, potential_energy=None, origins=None):
        if getattr(positions, "ndim", None) != 3 or positions.shape[-1] != 3:
            positions = np.asarray(positions, dtype=float)
            if positions.ndim != 3 or positions.shape[-1] != 3:
                raise ValueError(f"positions must have shape (n_frames, n_atoms, 3), not {positions.shape}")
        self.n_frames, self.n_atoms = int(positions.shape[0]), int(positions.shape[1])
        self._data = {"positions": positions}
        for name, arr in (("velocities", velocities), ("forces", forces)):
            if arr is not None:
                if tuple(arr.shape) != tuple(positions.shape):
                    raise ValueError(f"{name} has shape {tuple(arr.shape)}, positions {tuple(positions.shape)}")
                self._data[name] = arr
        cell = np.asarray(cell, dtype=float)
        if cell.shape not in ((3, 3), (self.n_frames, 3, 3)):
            raise ValueError(f"cell must have shape (3, 3) or ({self.n_frames}, 3, 3), not {cell.shape}")
        if not np.all(np.isfinite(cell)) or np.any(np.abs(np.linalg.det(cell)) < 1e-6):
            raise ValueError("the cell must be finite and non-degenerate")
        self._cell = cell
        origins = np.zeros(3) if origins is None else np.asarray(origins, dtype=float)
        if origins.shape not in ((3,), (self.n_frames, 3)) or not np.all(np.isfinite(origins)):
            raise ValueError(f"origins must be finite, of shape (3,) or ({self.n_frames}, 3), not {origins.shape}")
        self._origins = origins
        self.species = np.asarray(species, dtype=str)
        if self.species.shape != (self.n_atoms,):
            raise ValueError(f"species must list the {self.n_atoms} atoms, not shape {self.species.shape}")
        self.masses = np.asarray(masses, float) if masses is not None else masses_of(self.species)
        if self.masses.shape != (self.n_atoms,) or not np.all(np.isfinite(self.masses) & (self.masses > 0)):
            raise ValueError(f"masses must be one positive finite mass per atom in amu, ({self.n_atoms},), not "
                             f"shape {self.masses.shape}" + ("" if self.masses.shape != (self.n_atoms,) else
                                                             f" with {np.sum(~(self.masses > 0))} not positive"))
        from trajmodes.io.trajectories.times import positive_time
        dt = positive_time(frame_interval, "frame_interval")
        self.ids = np.arange(1, self.n_atoms + 1)
        self.steps = np.arange(self.n_frames)
        self.times = self.steps * dt
        self.md_timestep = None
        self.time_axis = f"frame_interval {dt:g} ps (given)"
        self.fields = tuple(f for f in ("positions", "velocities", "forces") if f in self._data)
        self._frame_data = {}
        if potential_energy is not None:
            e = np.asarray(potential_energy, dtype=float)
            if e.shape != (self.n_frames,):
                raise ValueError(f"potential_energy has shape {e.shape}: one value per frame ({self.n_frames},) in eV "
                                 "(the whole cell's potential energy)")
            bad = np.flatnonzero(~np.isfinite(e))
            if len(bad):
                raise ValueError(f"potential_energy is not finite at {len(bad)} frame(s), the first frame {bad[0]} "
                                 f"({e[bad[0]]}): give the potential energy of every frame in eV, or leave it out")
            self._frame_data["potential_energy"] = e
        self.frame_fields = tuple(self._frame_data)
        self.unwrapped = bool(unwrapped)
        self.paths = ["<memory>"]

    def token(self) -> tuple:
        return ("memory", id(self), self.n_frames, self.n_atoms)

    def read(self, frames, fields=None) -> dict:
        frames = np.asarray(frames, dtype=np.int64)
        lo, hi = int(frames[0]), int(frames[-1]) + 1
        contiguous = len(frames) == hi - lo and np.all(np.diff(frames) == 1)
        out = {}
        for name in (fields or self.fields):
            if name not in self._data:
                continue
            arr = self._data[name]
            out[name] = np.asarray(arr[lo:hi] if contiguous else arr[frames], dtype=float)
        out.update(take_frame_fields(self._frame_data, frames, wanted_frame_fields(self, fields)))
        cells = self._cell if self._cell.ndim == 2 else self._cell[frames]
        out["cells"] = np.broadcast_to(cells, (len(frames), 3, 3)).copy()
        origins = self._origins if self._origins.ndim == 1 else self._origins[frames]
        out["origins"] = np.broadcast_to(origins, (len(frames), 3)).copy()
        return out


def displacement_source(supercell, displacements, forces, *, paths=None) -> tuple:
    """Displaced copies of an ideal supercell with their forces as frames, and the ideal supercell as reference.

    Parameters
    ----------
    supercell : Crystal
        The ideal supercell (Å, amu).
    displacements, forces : array_like (n_sets, N, 3)
        Å and eV/Å (finite- or random-displacement data of phonopy, phono3py, hiPhive, ...).
    paths : list of str, optional
        The files the data came from (the source's ``paths``).

    Returns
    -------
    source : ArraySource
        Positions = ideal + displacement, the forces, the supercell's cell; frames 1 ps apart (a nominal axis).
    reference : Structure
        The ideal supercell.
    """
    from trajmodes.lattice.structure import Structure
    x = np.asarray(supercell.positions, dtype=float)
    u = np.asarray(displacements, dtype=float)
    f = np.asarray(forces, dtype=float)
    if u.ndim != 3 or u.shape[1:] != x.shape or f.shape != u.shape:
        raise ValueError(f"displacements {u.shape} and forces {f.shape} must both have shape (n_sets, {len(x)}, 3) "
                         "for the supercell's atoms")
    src = ArraySource(x + u, supercell.cell, supercell.species, masses=supercell.masses, forces=f,
                      frame_interval=1.0, unwrapped=True)
    src.displacement_set = True        # displaced from the exact reference by construction: no thermal mean sites
    if paths:
        src.paths = [str(p) for p in paths]
    ref = Structure(x, np.asarray(supercell.cell, float), np.asarray(supercell.species), np.asarray(supercell.masses,
                                                                                                      float))
    return src, ref
