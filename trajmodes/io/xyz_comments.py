"""What the comment lines of an XYZ trajectory say besides the cell, as a base class of
:class:`~trajmodes.io.xyz.XYZSource`: the time unit they state, the steps and times of every frame, and the
per-frame energy and pressure (ASE's ``energy=``, ``stress=`` or ``virial=``), in trajmodes' units. The keys and
their parsing are :mod:`trajmodes.io.xyz_format`.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from trajmodes import units as _units
from trajmodes.errors import TrajectoryFormatError
from trajmodes.io.base import FRAME_FIELDS, pressure_from_tensor
from trajmodes.io.files import line_number, pread_all
from trajmodes.io.xyz_format import (CP2K_STEP, CP2K_TIME, ENERGY, LAMMPS_ENERGY, LAMMPS_PRESSURE, STEP, STRESS,
                                     TIME, VIRIAL, comment_at, comment_tensor, comment_value, stated_time_unit)


#: the time unit of each LAMMPS unit style, in words
_TIME_UNIT_OF = {"metal": "ps", "real": "fs", "si": "s", "electron": "fs", "lj": "tau"}


class XYZComments:
    """The comment-line metadata of :class:`~trajmodes.io.xyz.XYZSource` (on its attributes: the conversion, the
    frame offsets, frame 0's comment)."""

    def _stated_units(self, kv: dict, line: int) -> None:
        """The unit style (``units=real``: a LAMMPS unit style), the time unit of ``time=`` and the velocity unit
        where the comment line states them (CP2K's comment: fs), applied to the conversion (times in ps, velocities
        in A/ps). A velocity unit stated alone (``velocity_unit=A/fs``) says nothing of ``time=``: its unit stays the
        style's, and the velocities are checked against the frames' displacements over those times."""
        self._stated_style(kv, line)
        try:
            t, v, said = stated_time_unit(kv)
        except ValueError as exc:
            raise TrajectoryFormatError(self.path, str(exc), frame=0, line=line,
                                        fix="write time_unit=fs (or ps, ns) on the comment lines") from None
        if t is None and self._cp2k:
            t, v, said = 1e-3, None, "CP2K's 'time =' (fs)"
        given = self._time_unit
        if given is not None and (t, v) != (None, None) and (t or v) != given[0]:
            raise TrajectoryFormatError(self.path, f"the comment line states {said}, but {given[2]}", frame=0,
                                        line=line, fix="drop the time unit from units=: the file's is used")
        if given is None and t is not None:
            self._time_stated = said
        if given is None and (t, v) != (None, None):
            self._time_unit = (t if t is not None else 1.0 * self._conv.time,
                               v if v is not None else self._conv.length / self._conv.velocity, said)
        if self._time_unit is not None:
            tt, tv, _ = self._time_unit
            self._conv = dataclasses.replace(self._conv, time=tt, velocity=self._conv.length / tv)

    def _stated_style(self, kv: dict, line: int) -> None:
        """``units=<LAMMPS unit style>`` on the comment line (``real``: A, fs, kcal/mol, A/fs, g/mol): the file's
        numbers are converted from that style; a different style given as ``units=`` is refused."""
        style = comment_value(kv, "units", "unit")
        if not isinstance(style, str) or style.strip().lower() not in _units.STYLES:
            return
        style = style.strip().lower()
        self._style_stated = f"units={style} on the comment lines"
        if self._style_given is not None and self._style_given != style:
            raise TrajectoryFormatError(self.path, f"the comment line states units={style}, but "
                                                   f"units={self._units_given!r} was given", frame=0, line=line,
                                        fix=f"drop units= (the file's units={style} is used) or pass "
                                            f"units={style!r}")
        try:
            self._conv = _units.conversion(style, self.lj_scales)
        except ValueError as exc:
            raise TrajectoryFormatError(self.path, f"the comment line states units={style}: {exc}", frame=0,
                                        line=line, fix="pass lj_scales= with the physical scales of the run") from None
        self.units = style
        if self._time_stated is None:
            self._time_stated = f"units={style}: {_TIME_UNIT_OF.get(style, 'its time unit')}"

    def _metadata(self) -> None:
        """Steps and times (ps) of every frame, from comment keys or ``timestep``; the per-frame energy and
        pressure from ``energy=``, ``stress=`` or ``virial=`` (:meth:`_frame_quantities`)."""
        n = self.n_frames
        c0 = self._comment0
        stamps = (("time", CP2K_TIME), ("step", CP2K_STEP)) if self._cp2k else (("time", TIME), ("step", STEP))
        keys = {name: rx for name, rx in stamps if rx.search(c0)}
        keys.update(self._result_keys())
        values = self._scan_keys(keys) if keys else {}
        times, steps = values.get("time"), values.get("step")
        from trajmodes.io.times import frame_times
        self.steps = steps if steps is not None else np.arange(n)
        said = "" if self._time_stated is None else f" ({self._time_stated})"
        try:
            axis = frame_times(self.path, self.steps, None if times is None else times * self._conv.time,
                               what_in_file=("CP2K's 'time ='" if self._cp2k else "time=") + said,
                               md_timestep=self._given_times[0], frame_interval=self._given_times[1],
                               has_steps=steps is not None, stacklevel=6)
        except TrajectoryFormatError as exc:
            exc.ase_may_read = False            # a repeated time: not a variant of the format that ASE reads
            if exc.frame is not None and exc.line is None:
                exc = TrajectoryFormatError(exc.path, exc.what, frame=exc.frame, fix=exc.fix,
                                            line=line_number(self.data_path, int(self._offsets[exc.frame])) + 1)
                exc.ase_may_read = False
            raise exc from None
        self.times, self.md_timestep, self.time_axis = axis.times, axis.md_timestep, axis.source
        self._frame_quantities(values)

    def _result_keys(self) -> dict:
        """The comment keys of ASE's results (energy, stress or else virial) on frame 0 or the last frame: a key
        on either is looked for on every frame (and must be there)."""
        ends = [self._comment0]
        if self.n_frames > 1:
            with open(self.data_path, "rb") as f:
                ends.append(comment_at(f.fileno(), int(self._offsets[self.n_frames - 1])))
        results = (("energy", ENERGY), ("stress", STRESS), ("virial", VIRIAL))
        if self._lammps_extxyz:                 # LAMMPS' keys: its Stress is the pressure tensor, not ASE's stress
            results = (("energy", LAMMPS_ENERGY), ("pressure", LAMMPS_PRESSURE))
        keys = {name: rx for name, rx in results if any(rx.search(c) for c in ends)}
        if "stress" in keys:
            keys.pop("virial", None)
        return keys

    def _frame_quantities(self, values: dict) -> None:
        """``potential_energy`` (eV) and the pressure tensor (GPa, P = -stress = virial / V) with its pressure,
        from the comment values in the file's units; sets :attr:`frame_fields`."""
        c = self._conv
        self._frame_data = {}
        if "energy" in values:
            self._frame_data["potential_energy"] = values["energy"] * c.energy
        if "pressure" in values:                # LAMMPS' dump extxyz: the pressure tensor, in the style's unit
            tensor = values["pressure"] * c.pressure
        elif "stress" in values:
            tensor = -values["stress"] * (c.energy / c.length ** 3 * _units.EV_A3_GPA)
        elif "virial" in values:
            volume = np.abs(np.linalg.det(values["cell"])) * c.length ** 3
            tensor = values["virial"] * (c.energy * _units.EV_A3_GPA) / volume[:, None, None]
        else:
            tensor = None
        if tensor is not None:
            self._frame_data["pressure"] = pressure_from_tensor(tensor)
            self._frame_data["pressure_tensor"] = tensor
        self.frame_fields = tuple(f for f in FRAME_FIELDS if f in self._frame_data)

    def _scan_keys(self, keys: dict) -> dict:
        """The values of the comment ``keys`` (name -> regex) of every frame, in the file's units: ``time``,
        ``energy`` (n_frames,), ``step`` (n_frames,) int, ``stress``, ``virial`` (n_frames, 3, 3), and with
        ``virial`` the ``cell`` of every frame (n_frames, 3, 3)."""
        n = self.n_frames
        parse = {"time": float, "step": int, "energy": float, "stress": comment_tensor, "virial": comment_tensor,
                 "pressure": comment_tensor}
        out = {k: [None] * n for k in keys}
        if "virial" in keys:
            out["cell"] = np.empty((n, 3, 3))
        with open(self.data_path, "rb") as f:
            fd = f.fileno()
            for k, s in enumerate(self._offsets[:-1].tolist()):
                c = comment_at(fd, s)
                for key, rx in keys.items():
                    m = rx.search(c)
                    try:
                        out[key][k] = parse[key](m.group(1))
                    except (AttributeError, ValueError) as exc:
                        why = f" ({exc})" if m is not None else ""
                        raise TrajectoryFormatError(
                            self.path, f"the comment line has no readable {key}= value{why}",
                            frame=k, line=line_number(self.data_path, s) + 1,
                            fix=f"write {key}= on every frame (or on none)") from None
                if "virial" in keys:
                    out["cell"][k] = self._virial_cell(fd, c, k, s)
        return {k: np.array(v, dtype=np.int64 if k == "step" else float) for k, v in out.items()}

    def _virial_cell(self, fd: int, comment: bytes, k: int, start: int) -> np.ndarray:
        """The cell of frame ``k`` (starting at byte ``start``), which ``virial=`` needs for the volume."""
        if not self.has_cell:
            raise TrajectoryFormatError(self.path, "virial= needs the cell volume, but the comment line has no "
                                                   "Lattice=", frame=k, line=line_number(self.data_path, start) + 1,
                                        fix="write Lattice=\"ax ay az bx by bz cx cy cz\" on every frame, or "
                                            "stress= instead of virial=")
        try:
            return self._cell(comment, k, start)
        except TrajectoryFormatError:                       # again, with the comment's own line
            return self._cell(comment, k, start + pread_all(fd, 1 << 16, start).find(b"\n") + 1)
