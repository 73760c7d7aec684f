"""One frame ASE parsed, as :class:`~trajmodes.io.ase_reader.ASESource` takes it (a base class of it): checked
against frame 0 (atom count, elements, the fields it carries) and written into a row of the output arrays in
trajmodes' units (velocities from ASE's momenta / masses in A/ps, the pressure tensor P = -stress in GPa), from the
results the file gave (ASE's single-point calculator, :func:`frame_results`).
"""
from __future__ import annotations

import numpy as np

from trajmodes import units as _units


class ASEFrames:
    """The per-frame checks and conversion of :class:`~trajmodes.io.ase_reader.ASESource` (on its attributes: the
    atoms, fields and frame fields of frame 0)."""

    def _check_frame(self, atoms, k: int) -> None:
        """The atoms and the fields of frame ``k`` are those of frame 0."""
        if len(atoms) != self.n_atoms:
            self._fail(f"atom count changed from {self.n_atoms} to {len(atoms)}", k,
                       fix="trajmodes needs a fixed set of atoms; split the trajectory where the count changes")
        numbers = np.asarray(atoms.numbers)
        if not np.array_equal(numbers, self._numbers):
            i = int(np.flatnonzero(numbers != self._numbers)[0])
            from ase.data import chemical_symbols
            self._fail(f"species changed: atom {i + 1} is {chemical_symbols[numbers[i]]!r}, frame 0 had "
                       f"{chemical_symbols[self._numbers[i]]!r}", k, fix="trajmodes needs the same atoms in every "
                                                                          "frame")
        res = frame_results(atoms)
        if "forces" in self.fields:
            f = res.get("forces")
            if f is None:
                self._fail("this frame has no forces, frame 0 has", k, fix="Every frame must carry forces to fit "
                                                                           "force constants: drop the frames without "
                                                                           "(slice the trajectory) or rewrite the file")
            if np.shape(f) != (self.n_atoms, 3):
                self._fail(f"this frame has forces of shape {np.shape(f)} for {self.n_atoms} atoms", k)
        if "velocities" in self.fields and not atoms.has("momenta"):
            self._fail("this frame has no momenta (velocities), frame 0 has", k,
                       fix="Drop the frames without or rewrite the file")
        if "potential_energy" in self.frame_fields:
            self._energy_of(res, k)
        if "pressure_tensor" in self.frame_fields:
            self._stress_of(res, k)

    def _energy_of(self, res: dict, k: int) -> float:
        e = res.get(self._energy_key)
        if e is None:
            self._fail(f"this frame has no {self._energy_key}, frame 0 has", k, fix="Drop the frames without")
        return float(e)

    def _stress_of(self, res: dict, k: int) -> np.ndarray:
        s = res.get("stress")
        if s is None:
            self._fail("this frame has no stress, frame 0 has", k, fix="Drop the frames without")
        if np.shape(s) not in ((6,), (3, 3)):
            self._fail(f"this frame has a stress of shape {np.shape(s)}", k)
        return -_full_stress(s) * _units.EV_A3_GPA

    def _fill(self, atoms, k: int, i: int, out: dict, per_atom: tuple, per_frame: tuple) -> None:
        """Frame ``k`` (ASE's Atoms, checked) into row ``i`` of the output arrays, converted to trajmodes' units."""
        self._check_frame(atoms, k)
        out["positions"][i] = atoms.positions
        if self.has_cell:
            out["cells"][i] = atoms.cell.array
        res = frame_results(atoms)
        if "forces" in per_atom:
            out["forces"][i] = res["forces"]
        if "velocities" in per_atom:
            out["velocities"][i] = atoms.get_velocities() / _units.NATURAL_TIME_PS   # A per ASE time unit -> A/ps
        if "potential_energy" in per_frame:
            out["potential_energy"][i] = self._energy_of(res, k)
        if "pressure_tensor" in per_frame or "pressure" in per_frame:
            t = self._stress_of(res, k)
            if "pressure_tensor" in out:
                out["pressure_tensor"][i] = t
            if "pressure" in out:
                out["pressure"][i] = np.trace(t) / 3.0


def frame_results(atoms) -> dict:
    """The results a file gave for a frame (ASE's single-point calculator), without computing anything."""
    calc = atoms.calc
    return dict(getattr(calc, "results", None) or {}) if calc is not None else {}


def _full_stress(s) -> np.ndarray:
    """A (3, 3) stress from ASE's Voigt six (xx yy zz yz xz xy) or a (3, 3) array."""
    s = np.asarray(s, float)
    if s.shape == (3, 3):
        return s
    if s.shape != (6,):
        raise ValueError(f"a stress of shape {s.shape}")
    xx, yy, zz, yz, xz, xy = s
    return np.array([[xx, xy, xz], [xy, yy, yz], [xz, yz, zz]])
