"""The checks an XYZ trajectory gets on opening and on reading, as a base class of
:class:`~trajmodes.io.xyz.XYZSource`: the time-scale check (a time unit misread by 1000 must not pass silently:
velocities against displacements, :func:`trajmodes.io.times.time_scale`) and the species checks (every atom keeps
frame 0's species: one vectorised comparison per run of frames read, then the frame and line that differ).
"""
from __future__ import annotations

import warnings

import numpy as np

from trajmodes.errors import TrajectoryFormatError, UnitsWarning
from trajmodes.io.files import line_number, pread_all


class XYZChecks:
    """The time-scale and species checks of :class:`~trajmodes.io.xyz.XYZSource` (on its attributes: the layout,
    frame offsets, species, ids, times)."""

    #: the time-scale check on opening reads this many consecutive frames from the start, and frames spread over
    #: the file (fewer for large frames: about 4 million atom lines in all)
    SCALE_CONSECUTIVE, SCALE_SPREAD, SCALE_ATOM_LINES = 5, 8, 4_000_000

    def _check_time_scale(self) -> None:
        """A time unit misread (fs as ps) must not pass silently. Velocities and frame times are checked against each
        other (the finite-difference velocities of consecutive frames: :func:`trajmodes.io.times.time_scale`)
        whenever the file has both, whatever units it or the caller states; the mean vibration frequency of the
        velocities (or of the finite differences) must be a crystal's, else the file is refused, or, where its units
        are stated (on the comment lines or by ``units=``), a :class:`~trajmodes.errors.UnitsWarning` says so."""
        import dataclasses

        from trajmodes.io.times import time_scale
        has_v = "velocities" in self.fields
        known = not self.time_axis.startswith("ASSUMED")
        stated = self._time_unit is not None or self._style_stated is not None
        if self.n_frames < 3 or not (has_v or known):
            return
        n = self.n_frames
        room = max(3, self.SCALE_ATOM_LINES // max(self.n_atoms, 1))
        run = np.arange(min(n, self.SCALE_CONSECUTIVE, room))
        spread = np.linspace(0, n - 1, max(0, min(self.SCALE_SPREAD, room - len(run)))).round().astype(np.int64)
        frames = np.union1d(run, spread)
        try:
            d = self.read(frames, fields=("positions", "velocities") if has_v else ("positions",))
        except TrajectoryFormatError:
            return                                          # a damaged frame: reading it says what is wrong
        got = time_scale(d["positions"], d["cells"], self.times[frames] if known else None, self.masses,
                         d.get("velocities"), consecutive=np.append(np.diff(frames) == 1, False))
        what = got.mismatch()
        if what is None:
            return
        if stated and got.mismatch() != dataclasses.replace(got, thz=None).mismatch():
            # the frequency alone is off, in units that are stated: said, not refused
            said = self._time_unit[2] if self._time_unit is not None else self._style_stated
            warnings.warn(f"{self.path}: {what}, in the units stated ({said}). If they are not the file's, read it "
                          "with the right units= (--units)", UnitsWarning, stacklevel=5)
            return
        err = TrajectoryFormatError(self.path, what, fix=self._time_scale_fix(got, known))
        err.ase_may_read = False                            # not a variant of the format: ASE would misread it too
        raise err

    def _time_scale_fix(self, got, known: bool) -> str:
        """What to do about a time-scale mismatch, from what the file and the caller state."""
        from trajmodes.io.times import SLOPE_RANGE
        said = self._time_unit[2] if self._time_unit is not None else self._style_stated
        off = got.slope is not None and not SLOPE_RANGE[0] <= got.slope <= SLOPE_RANGE[1]
        from_file = self.time_axis.startswith(("time=", "CP2K"))
        lammps = (" (LAMMPS' dump extxyz writes Time= and the velocities in the run's units: units='real' for a run "
                  "in real units)") if self._lammps_extxyz else ""
        if off and said:
            unit = {1e-3: "fs", 1.0: "ps", 1e3: "ns"}
            tu = unit.get(self._conv.time, f"{self._conv.time:g} ps")
            vu = unit.get(self._conv.length / self._conv.velocity, "another time unit")
            return (f"The units stated ({said}) do not fit the data: the frame times are read in {tu} and the "
                    f"velocities in A/{vu}. Correct the units stated (time_unit= and velocity_unit= on the comment "
                    "lines, or units='metal:fs', units='metal:A/fs' given)" + lammps)
        if off and got.slope > 1:
            return ("If the velocities are in A/fs and the times in ps, read the file with units='metal:A/fs' (--units "
                    "metal:A/fs) or write velocity_unit=A/fs on its comment lines")
        if off and from_file:
            return (f"The frame times are the {self.time_axis}, read in ps; if they are in fs, write time_unit=fs on "
                    "the comment lines, or read the file with units='metal:fs' (--units metal:fs: times and "
                    "velocities in fs)" + lammps)
        if from_file and self._lammps_extxyz:
            return ("The file is LAMMPS' dump extxyz, which writes Time=, the velocities, forces and energies in the "
                    "run's units: read it with units='real' (--units real) for a run in real units (fs, A/fs, "
                    "kcal/mol); units='metal:ps' reads it as ps (with a warning)")
        if from_file:
            return ("If the file is in fs (time= in fs, velocities in A/fs), read it with units='metal:fs' "
                    "(--units metal:fs) or write time_unit=fs on its comment lines; units='metal:ps' reads it as ps "
                    "(with a warning)")
        if known:
            return (f"The frame times come from the {self.time_axis}: md_timestep= and frame_interval= are in ps "
                    "(10 fs is 0.01); if the velocities are in A/fs, read with units='metal:fs' (--units metal:fs); "
                    "units='metal:ps' reads the file as it is (with a warning)")
        return ("If the velocities are in A/fs, read the file with units='metal:fs' (--units metal:fs); "
                "units='metal:ps' reads it as it is (with a warning)")

    @property
    def _lammps_extxyz(self) -> bool:
        """Whether frame 0's comment line is LAMMPS' ``dump extxyz`` header (``Timestep=`` and ``Time=`` keys)."""
        c = getattr(self, "_comment0", b"")
        return b"Timestep=" in c and b"Time=" in c

    def _species_gather(self, buf, offsets: np.ndarray) -> tuple | None:
        """The first bytes of every atom line of the frames at ``offsets`` in ``buf`` (frames, atoms, width), tabs
        as spaces, and the mask of the bytes that hold each atom's species token and the space after it; None when
        the species is not the first token of a line (the general check applies)."""
        if self._layout.first.get("species") != 0:
            return None
        if not hasattr(self, "_species_bytes"):
            sp = np.char.encode(self.species if self._perm is None else self.species[np.argsort(self._perm)])
            width = int(max(len(x) for x in sp.tolist())) + 1
            expect = np.full((self.n_atoms, width), 32, np.uint8)
            lens = np.array([len(x) for x in sp.tolist()])
            expect[:] = np.frombuffer(b"".join(x.ljust(width) for x in sp.tolist()), np.uint8).reshape(-1, width)
            self._species_bytes = (expect, np.arange(width)[None, :] <= lens[:, None])
        expect, mask = self._species_bytes
        a = np.frombuffer(buf, np.uint8)
        nl = np.flatnonzero(a == 10)
        j = np.searchsorted(nl, np.asarray(offsets, np.int64))            # the count line's newline
        at = j[:, None] + 1 + np.arange(self.n_atoms)[None, :]             # the newline before each atom line
        if at.max(initial=0) >= len(nl):
            nl = np.append(nl, len(a))
        starts = nl[np.minimum(at, len(nl) - 1)] + 1
        pos = np.minimum(starts[..., None] + np.arange(expect.shape[1]), len(a) - 1)
        got = a[pos]
        got = np.where((got == 9) | (got == 10) | (got == 13), 32, got)
        return got, expect, mask

    def _check_run_species(self, buf, offsets: np.ndarray, frames: np.ndarray) -> None:
        """Every atom keeps frame 0's species in the frames read (one vectorised comparison of the first bytes of
        the atom lines per run of frames; the frame that differs is then named with its line by
        :meth:`check_species`)."""
        if "species" not in self._layout.first or not len(frames):
            return
        gathered = self._species_gather(buf, offsets)
        if gathered is None:
            self.check_species(frames)
            return
        got, expect, mask = gathered
        bad = ((got != expect[None]) & mask[None]).any(axis=(1, 2))
        if bad.any():                    # atoms in another order, other whitespace, or another species: look closer
            self.check_species(frames[bad])

    def check_species(self, frames=None) -> None:
        """Raise :class:`TrajectoryFormatError` if a frame's species differ from frame 0's.

        Parameters
        ----------
        frames : array of int, optional
            Frames to check (default: all).
        """
        frames = np.arange(self.n_frames) if frames is None else np.asarray(frames).ravel()
        if "species" not in self._layout.first:
            return
        with open(self.data_path, "rb") as f:
            for k in frames.tolist():
                lo, hi = int(self._offsets[k]), int(self._offsets[k + 1])
                buf = pread_all(f.fileno(), hi - lo, lo)
                a = buf.find(b"\n", buf.find(b"\n") + 1) + 1
                try:
                    sp = self._species(buf[a:], k, 0)
                except TrajectoryFormatError:   # again, with the exact line (a costly count)
                    sp = self._species(buf[a:], k, line_number(self.data_path, lo + a))
                order = np.arange(self.n_atoms)
                if self._perm is not None:
                    order = np.argsort(self._column(buf[a:], "id", k, lo + a), kind="stable")
                bad = np.flatnonzero(sp[order] != self.species)
                if len(bad):
                    i = int(order[bad[0]])
                    line = line_number(self.data_path, lo + a)
                    who = f"atom id {int(self.ids[bad[0]])}" if self._perm is not None else f"atom {i + 1}"
                    raise TrajectoryFormatError(
                        self.path, f"species changed: {who} (atom line {i + 1} of this frame) is "
                        f"{sp[i]!r}, frame 0 had {self.species[bad[0]]!r} for that atom",
                        frame=k, line=line + i,
                        fix="trajmodes needs the same atoms in every frame")
