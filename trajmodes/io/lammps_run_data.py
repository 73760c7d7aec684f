"""What a LAMMPS text dump's run says beside its atom lines, as a base class of
:class:`~trajmodes.io.lammps.LammpsDumpSource`: the time of every frame (ITEM: TIME, else the timestep of the
LAMMPS input or log that names the dump, else LAMMPS' default) and the per-frame quantities (potential energy,
pressure and its tensor) from the log's thermo rows at the frames' steps or from the dump's energy and stress
columns (:data:`FROM_COLUMNS`).
"""
from __future__ import annotations

import os

import numpy as np

from trajmodes.errors import TrajectoryFormatError
from trajmodes.io.base import FRAME_FIELDS, take_frame_fields
from trajmodes.units import DEFAULT_DT

#: the per-frame quantities a dump's per-atom columns give, and the per-atom output each is summed from
FROM_COLUMNS = {"potential_energy": "energy", "pressure": "stress", "pressure_tensor": "stress"}


class DumpRunData:
    """The frame times and per-frame quantities of :class:`~trajmodes.io.lammps.LammpsDumpSource` (on its
    attributes: the paths, the steps and ITEM: TIME values, the conversion, the thermo log given)."""

    def _lammps_input(self, dump: str):
        """The LAMMPS settings of the run from the logs given as ``thermo=`` when one names the dump, else from an
        input or log beside it (:func:`trajmodes.io.times.lammps_settings_beside`)."""
        from trajmodes.io.times import lammps_settings_beside, lammps_settings_in
        for log in self.thermo_paths:
            found = lammps_settings_in(log, dump)
            if found is not None:
                return found
        return lammps_settings_beside(dump)

    def _frame_quantities(self) -> None:
        """The per-frame quantities of the log's rows at the frames' steps (converted to eV and GPa), kept in
        memory; with those of the energy and stress columns, sets :attr:`frame_fields`."""
        self._frame_data, self._thermo_lines = {}, None
        lay, c = self._layout, self._conv
        if self._thermo is not None:
            log = self._thermo
            got = log.match(self.steps, ", ".join(self.paths), self.n_atoms, self.units,
                            need_energy=lay.energy is None, segments=self._segments,
                            n_segments=self._n_segments)
            rows = got.pop("row")
            self._thermo_lines = (log.paths, log.file[rows], log.line[rows])      # for messages
            scale = {"potential_energy": c.energy, "pressure": c.pressure, "pressure_tensor": c.pressure}
            self._frame_data = {k: v * scale[k] for k, v in got.items()}
            self._thermo = None                      # the rows of the frames are kept, not the whole log
        have = set(self._frame_data) | {f for f, o in FROM_COLUMNS.items() if o in lay.outputs}
        self.frame_fields = tuple(f for f in FRAME_FIELDS if f in have)

    def _thermo_values(self, frames: np.ndarray, want: tuple) -> dict:
        """The log's quantities among ``want`` for ``frames``, checked finite (a NaN row is named in the log)."""
        out = take_frame_fields(self._frame_data, frames, want)
        for name, v in out.items():
            ok = np.isfinite(v.reshape(len(v), -1)).all(axis=1)
            if not ok.all():
                k = int(frames[np.flatnonzero(~ok)[0]])
                paths, file, lines = self._thermo_lines
                path, line = paths[int(file[k])], int(lines[k])
                raise TrajectoryFormatError(path, f"the thermo {name.replace('_', ' ')} at step {int(self.steps[k])} "
                                                  f"(frame {k} of the dump) is NaN or infinite", line=line,
                                            fix="Use the frames before it (slice the trajectory)")
        return out

    def _frame_times(self, md_timestep, frame_interval) -> None:
        from trajmodes.io.times import frame_times
        found = default = None
        inp = self._input
        if inp is not None:
            unit_dt = DEFAULT_DT.get(inp.units or self.units, 1.0)
            dt = (inp.md_timestep if inp.md_timestep is not None else unit_dt) * self._conv.time
            found = (dt, os.path.basename(inp.path) + ("" if inp.md_timestep is not None else
                                                       f" (it sets none: LAMMPS' default for {self.units} units)"))
        default = (DEFAULT_DT.get(self.units, 1.0) * self._conv.time,
                   f"the dump has no ITEM: TIME and no LAMMPS input or log beside it names it; LAMMPS' default "
                   f"timestep for {self.units} units")
        axis = frame_times(", ".join(self.paths), self.steps, self._raw_times * self._conv.time,
                           what_in_file="ITEM: TIME", md_timestep=md_timestep, frame_interval=frame_interval,
                           found=found, default=default, stacklevel=5)
        self.times, self.md_timestep, self.time_axis = axis.times, axis.md_timestep, axis.source
