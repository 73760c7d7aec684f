"""Reader of i-PI's per-bead XYZ trajectories (Kapil et al., Comput. Phys. Commun. 236, 214 (2019): i-PI 2.0).

A path-integral run of i-PI writes one file per bead and per quantity, named by its ``<output prefix>`` and the
trajectory's ``filename``: ``PREFIX.pos_K.xyz`` (positions of bead K, zero-padded to the width of the largest bead
index: ``pos_03`` with 10 beads or more), ``PREFIX.for_K.xyz`` (forces), ``PREFIX.vel_K.xyz`` (velocities) and
``PREFIX.xc.xyz`` (the centroid). Each frame is a plain XYZ frame whose comment line says what the file holds::

    # CELL(abcABC): a b c alpha beta gamma  Step: N  Bead: K positions{angstrom}  cell{atomic_unit}

The cell is given by its lengths and angles (or ``CELL(H)``: i-PI's upper-triangular matrix h, whose columns are the
cell vectors) in the unit of ``cell{...}``, the atom columns in the unit of the quantity's braces (``atomic_unit``:
Bohr, Hartree/Bohr, Bohr per atomic time unit; ``angstrom``, ``ev/ang``, ``m/s``, SI prefixes as i-PI takes them).
Everything is converted to metal units here (Å, eV/Å, Å/ps). i-PI places the cell as its h matrix: a along x,
b in the xy plane; the positions are in that frame.

:class:`IPISource` is the frame source of one bead: its positions file, with the forces and velocities of the sibling
files joined frame by frame by MD step. Files written at other strides follow the rule ``trajmodes watch`` follows
(:func:`~trajmodes.io.trajectories.ipi_files.coarser_forces`): forces every n times the positions' stride leave the
positions' frames without forces unread (said, with the share unused), other strides are refused naming both; and
velocities that lack some of the frames' steps are left out, the temperature unknown. Frames are indexed once by the XYZ frame scan
(:func:`~trajmodes.io.trajectories.xyz_format.xyz_frame_index`, the index saved beside the file) and parsed by the
compiled row parser in runs of frames, lazily, as every other reader. The MD time step and the temperature come from
the i-PI input XML beside the files (``<timestep units=...>``, ``<temperature units=...>``, ``<nbeads>``) or, for the
time step, from the properties file ``PREFIX.out`` (its ``step`` and ``time{...}`` columns).

The potential energy of each frame comes from the properties file too (:func:`~trajmodes.io.trajectories.ipi_files.read_properties_energy`), matched by MD
step: the bead's own column of ``bead_potentials`` (``<properties> [ step, bead_potentials{electronvolt} ]``), else
the bead-averaged ``potential``, which gives the TDEP free energy of a fit over the beads exactly (it is linear in U)
but not each sample's energy.
"""
from __future__ import annotations

import math
import os
import warnings

import numpy as np

from trajmodes import _fastparse
from trajmodes.errors import TrajectoryFormatError, TruncatedFrameWarning
from trajmodes.io.filesystem import contiguous_runs, is_gzip, line_number, plain_path, pread_all
from trajmodes.io.trajectories.base import (FrameSource, empty_frames, refuse_lammps_options, refuse_several_files)
from trajmodes.io.trajectories.xyz_format import ROW_STATUS, Layout, column_tokens, comment_at, xyz_frame_index
from trajmodes.io.trajectories.ipi_files import (BEAD, CELL_ABC, CELL_H, QUANTITIES, STEP, UNIT_TAG, UNITS,
                                                 IPIRunFiles, PropertiesEnergy, bead_file_parts, ipi_input_beside,
                                                 ipi_run_files, ipi_unit_factor, positions_file_of, properties_files,
                                                 properties_timestep, read_ipi_input, read_properties_column,
                                                 read_properties_energy, sibling_path, at_steps, step_times,
                                                 coarser_forces, velocities_left_out, velocities_hint)
from trajmodes.lattice.elements import masses_of

__all__ = ["IPISource", "IPIFile", "ipi_bead_count"]

#: a run of frames read at once by one os.pread, bytes
RUN_BYTES = 64 << 20
#: the ratio of a bead file's kinetic temperature to the properties file's that is one classical run (a 2-bead run
#: gives 2; a classical one 1 within the sampling noise of a few frames of a small crystal and i-PI's count of degrees
#: of freedom, 3N against 3N - 3)
RATIO_CLASSICAL = (0.7, 1.5)


def _abc_cell(a, b, c, alpha, beta, gamma) -> np.ndarray:
    """Rows a, b, c of i-PI's cell of lengths ``a b c`` and angles (degrees): i-PI's upper-triangular h transposed."""
    al, be, ga = np.radians([alpha, beta, gamma])
    bx, by = b * math.cos(ga), b * math.sin(ga)
    cx = c * math.cos(be)
    cy = (b * c * math.cos(al) - bx * cx) / by
    cz = math.sqrt(max(c * c - cx * cx - cy * cy, 0.0))
    return np.array([[a, 0.0, 0.0], [bx, by, 0.0], [cx, cy, cz]])


def _brace_tail(comment: bytes) -> bytes:
    """The unit braces of an i-PI comment line and what follows them: from the word before its first ``{`` on, after
    the last number before it (``positions{angstrom}  cell{angstrom}``)."""
    i = comment.find(b"{")
    if i < 0:
        return b""
    j = comment.rfind(b" ", 0, i) + 1
    return comment[j:]


class IPIFile:
    """One i-PI XYZ output file, indexed: the byte offset of every frame, its MD step, cell and bead, the quantity it
    holds and its unit. Picklable (no open file).

    Attributes
    ----------
    path : str
    n_frames, n_atoms : int
    steps : ndarray of int (n_frames,)
    cells : ndarray (n_frames, 3, 3) or None
        Rows a, b, c in Å; None when the comment lines state no cell.
    bead : int or None
        The ``Bead:`` of the comment lines.
    quantity : str
        The name in the comment's braces (``positions``, ``forces``, ``x_centroid``, ...).
    field : str
        What it gives (``positions``, ``forces``, ``velocities``).
    factor : float
        From the file's unit to metal units.
    unit : str
        The file's unit, as written.
    """

    def __init__(self, path):
        self.path = os.path.abspath(os.fspath(path))
        if not os.path.isfile(self.path):
            raise TrajectoryFormatError(self.path, "file does not exist", fix="check the path and the working directory")
        self.data_path = plain_path(self.path) if is_gzip(self.path) else self.path
        self._index()
        self._comments()

    def _index(self) -> None:
        dp = self.data_path
        if os.path.getsize(dp) == 0:
            raise TrajectoryFormatError(self.path, "the file is empty", frame=0, line=1,
                                        fix="check that the i-PI run wrote this file")
        idx = xyz_frame_index(dp)
        starts, counts = np.asarray(idx["starts"], np.int64), np.asarray(idx["counts"], np.int64)
        bad = int(idx["bad"])
        if bad >= 0:
            raise TrajectoryFormatError(self.path, "expected an atom count line (one integer)", frame=len(starts),
                                        line=line_number(dp, bad), fix="the file is damaged: repair or regenerate it")
        if len(starts) == 0:
            raise TrajectoryFormatError(self.path, "no complete frame", frame=0, line=1,
                                        fix="an XYZ frame is a count line, a comment line and that many atom lines")
        changed = np.flatnonzero(counts != counts[0])
        if len(changed):
            k = int(changed[0])
            raise TrajectoryFormatError(self.path, f"atom count changed from {counts[0]} to {counts[k]}", frame=k,
                                        line=line_number(dp, int(starts[k])),
                                        fix="a path-integral run keeps its atoms: the file is damaged")
        end = os.path.getsize(dp)
        if not int(idx["complete"]):
            # the last frame is cut (a run still writing, or stopped): dropped, as every reader does
            warnings.warn(f"{self.path}: frame {len(starts)} is incomplete (truncated file) and was dropped",
                          TruncatedFrameWarning, stacklevel=5)
            end = self._end_of(dp, starts)
        self.n_atoms = int(counts[0])
        self.offsets = np.append(starts, end).astype(np.int64)
        self.n_frames = len(starts)

    def _end_of(self, dp: str, starts: np.ndarray) -> int:
        """The byte after the last complete frame (which starts at ``starts[-1]``)."""
        with open(dp, "rb") as f:
            pos = int(starts[-1])
            f.seek(pos)
            for _ in range(int(f.readline().split()[0]) + 1):
                f.readline()
            return f.tell()

    def _comments(self) -> None:
        """Step, cell and bead of every frame, and the quantity and units of frame 0 (which every frame must keep)."""
        n = self.n_frames
        steps = np.empty(n, np.int64)
        cells = np.empty((n, 3, 3))
        beads = np.empty(n, np.int64)
        with open(self.data_path, "rb") as f:
            fd = f.fileno()
            c0 = comment_at(fd, int(self.offsets[0]))
            self._tags(c0)
            has = {"step": STEP.search(c0) is not None, "bead": BEAD.search(c0) is not None,
                   "cell": CELL_ABC.search(c0) is not None or CELL_H.search(c0) is not None}
            # the unit braces of every frame, cheaply: the comment from the word before its first brace on (i-PI
            # writes them after Step: and Bead:, so it differs by the step; equal to frame 0's past the numbers),
            # matched in full only where that tail is not frame 0's
            units0 = _brace_tail(c0)
            for k, s in enumerate(self.offsets[:-1].tolist()):
                c = c0 if k == 0 else comment_at(fd, s)
                if k and _brace_tail(c) != units0 and UNIT_TAG.findall(c) != self._tag_list:
                    self._refuse(k, s, f"the comment line states {self._said(c)}, but frame 0 "
                                       f"{self._said(c0)}", "write every frame with the same units: split the file")
                if has["step"]:
                    m = STEP.search(c)
                    if m is None:
                        self._refuse(k, s, "the comment line has no Step:", "frame 0 has one: the file is damaged")
                    steps[k] = int(m.group(1))
                if has["bead"]:
                    m = BEAD.search(c)
                    beads[k] = int(m.group(1)) if m else -1
                if has["cell"]:
                    cells[k] = self._cell(c, k, s)
        self.steps = steps if has["step"] else np.arange(n, dtype=np.int64)
        self.has_steps = has["step"]
        self.cells = cells if has["cell"] else None
        self.bead = int(beads[0]) if has["bead"] else None
        if has["bead"] and (beads != beads[0]).any():
            k = int(np.flatnonzero(beads != beads[0])[0])
            self._refuse(k, int(self.offsets[k]), f"the comment line says Bead: {beads[k]}, frame 0 Bead: {beads[0]}",
                         "one file holds one bead: the file is damaged or two files were joined")

    def _tags(self, comment: bytes) -> None:
        tags = {k.decode(): v.decode() for k, v in UNIT_TAG.findall(comment)}
        self._tag_list = UNIT_TAG.findall(comment)
        qty = next((k for k in tags if k in QUANTITIES), None)
        line = line_number(self.data_path, int(self.offsets[0])) + 1
        if qty is None:
            other = [k for k in tags if k != "cell"]
            raise TrajectoryFormatError(
                self.path, "the comment line names no quantity trajmodes reads (positions{unit}, forces{unit}, "
                           "velocities{unit}, x_centroid{unit})" + (f": it holds {', '.join(other)}" if other else ""),
                frame=0, line=line, fix="read an i-PI trajectory of positions, forces or velocities")
        self.quantity, (self.field, dim) = qty, QUANTITIES[qty]
        self.unit = tags[qty]
        self.factor = ipi_unit_factor(dim, self.unit)
        self.cell_unit = tags.get("cell", "atomic_unit")
        self.cell_factor = ipi_unit_factor("length", self.cell_unit)
        for what, f, u, d in ((qty, self.factor, self.unit, dim), ("cell", self.cell_factor, self.cell_unit, "length")):
            if f is None:
                raise TrajectoryFormatError(self.path, f"{what}{{{u}}}: {u!r} is not a unit of {d} trajmodes knows",
                                            frame=0, line=line,
                                            fix=f"write the trajectory's {d} in one of {', '.join(UNITS[d])} (or an "
                                                "SI-prefixed one)")

    @staticmethod
    def _said(comment: bytes) -> str:
        return " ".join(f"{k.decode()}{{{v.decode()}}}" for k, v in UNIT_TAG.findall(comment)) or "no units"

    def _refuse(self, k: int, start: int, what: str, fix: str):
        raise TrajectoryFormatError(self.path, what, frame=k, line=line_number(self.data_path, start) + 1, fix=fix)

    def _cell(self, comment: bytes, k: int, start: int) -> np.ndarray:
        m = CELL_ABC.search(comment)
        try:
            if m is not None:
                cell = _abc_cell(*np.array(m.group(1).split(), dtype=float))
            else:
                cell = np.array(CELL_H.search(comment).group(1).split(), dtype=float).reshape(3, 3).T
        except (AttributeError, ValueError):
            self._refuse(k, start, "the comment line has no readable CELL(abcABC): a b c alpha beta gamma",
                         "frame 0 has one: the file is damaged")
        cell = cell * self.cell_factor
        cell[np.abs(cell) < 1e-12 * np.abs(cell).max()] = 0.0         # cos(90 degrees) is not 0 in floating point
        if not abs(np.linalg.det(cell)) > 1e-9:
            self._refuse(k, start, "the cell spans no volume", "i-PI writes the cell of a periodic run: check it")
        return cell

    def species(self) -> np.ndarray:
        """The first token of frame 0's atom lines (the element names i-PI writes)."""
        lo, hi = int(self.offsets[0]), int(self.offsets[1])
        with open(self.data_path, "rb") as f:
            buf = pread_all(f.fileno(), hi - lo, lo)
        a = buf.find(b"\n", buf.find(b"\n") + 1) + 1
        sp = column_tokens(buf[a:], self.n_atoms, 0)
        if sp is None:
            raise TrajectoryFormatError(self.path, "an atom line has no name column", frame=0,
                                        line=line_number(self.data_path, lo) + 2, fix="the file is damaged")
        return sp.astype(str)

    def read(self, frames: np.ndarray, out: np.ndarray) -> None:
        """Parse the atom columns of ``frames`` (indices into this file, ascending) into ``out`` (len(frames),
        n_atoms, 3), in metal units."""
        cmap, _, w = Layout(4, {"species": 0, "positions": 1}).colmap(["positions"])
        with open(self.data_path, "rb") as f:
            for i0, i1 in contiguous_runs(frames, self.offsets[:-1], self.offsets[1:], max_bytes=RUN_BYTES):
                lo = int(self.offsets[frames[i0]])
                buf = pread_all(f.fileno(), int(self.offsets[frames[i1 - 1] + 1]) - lo, lo)
                for i in range(i0, i1):
                    off = int(self.offsets[frames[i]]) - lo
                    nl2 = buf.find(b"\n", buf.find(b"\n", off) + 1)
                    _, st, row, col = _fastparse.parse_rows(buf, nl2 + 1, self.n_atoms, cmap, out[i], w)
                    if st:
                        what = ROW_STATUS.get(st, f"parse error {st}")
                        raise TrajectoryFormatError(self.path, f"{what} (column {col + 1})", frame=int(frames[i]),
                                                    line=line_number(self.data_path, lo + nl2 + 1) + row,
                                                    fix="the file is damaged: repair or regenerate it")
        if self.factor != 1.0:
            out *= self.factor

    def stamp(self) -> tuple:
        st = os.stat(self.path)
        return (self.path, st.st_size, st.st_mtime_ns)


class IPISource(FrameSource):
    """One bead of an i-PI run (or its centroid): the positions file, with the forces and velocities files of the
    same bead joined frame by frame by MD step.

    Parameters
    ----------
    path : str or os.PathLike
        ``PREFIX.pos_K.xyz`` (or any i-PI XYZ file of positions, such as the centroid's ``PREFIX.xc.xyz``).
    forces, velocities : str, False or None
        The files of the bead's forces and velocities; None: the siblings ``PREFIX.for_K.xyz``
        and ``PREFIX.vel_K.xyz`` where they exist (:func:`~trajmodes.io.trajectories.ipi_files.sibling_path`); False: none.
    md_timestep, frame_interval : float, optional
        In ps; default the ``<timestep>`` of the i-PI input beside the files (:func:`~trajmodes.io.trajectories.ipi_files.ipi_input_beside`), else the
        properties file's (:func:`~trajmodes.io.trajectories.ipi_files.properties_timestep`).
    properties : str, False or None
        The properties file that gives each frame's ``potential_energy`` (:func:`~trajmodes.io.trajectories.ipi_files.read_properties_energy`: the
        bead's ``bead_potentials`` column, else the bead-averaged ``potential``), matched by MD step. None: the
        run's own beside the files (:func:`~trajmodes.io.trajectories.ipi_files.properties_files`), used where it has a row of every frame's step (else
        the frames have no potential energy and :attr:`energy_problem` says why); a path: that file, refused where a
        frame's step has no row; False: none. A centroid file gets none (the bead average is not the centroid's
        energy).

    Attributes
    ----------
    ipi_input : IPIInput or None
        The input file beside the outputs whose prefix is theirs.
    bead : int or None
        The bead index the comment lines state.
    frame_fields : tuple of str
        ``("potential_energy",)`` where the properties file gives every frame's, else empty.
    energy_from : str or None
        Where the potential energies come from, in words.
    energy_problem : str or None
        Why the frames have no potential energy although a properties file is beside them (a step without a row,
        no energy column, ...); None where they have it or no properties file is there.
    ensemble : (bool, str) or None
        Whether the run keeps its total energy and where that is said, as the input states its ensemble
        (:attr:`~trajmodes.io.trajectories.ipi_files.IPIInput.energy_conserved`; the error model takes it instead of
        the variance of the kinetic energy); None where the input does not say.
    write_velocities : str
        What the input needs for velocities, said where the run has none (the ``<output>`` line, or the stride to
        give velocities left out).
    """

    format_names = ("ipi", "i-pi")
    needs = ("an i-PI XYZ file needs a comment line with CELL(abcABC): (or CELL(H):) and a quantity with its unit "
             "in braces")
    format = "ipi"

    @classmethod
    def can_open(cls, head: bytes, path: str) -> bool:
        """An XYZ file whose comment line is i-PI's: a ``CELL(abcABC):`` or ``CELL(H):`` and a quantity with its unit
        in braces."""
        lines = head.lstrip().split(b"\n", 2)
        return (len(lines) > 1 and lines[0].strip().isdigit() and (CELL_ABC.search(lines[1]) is not None
                or CELL_H.search(lines[1]) is not None) and UNIT_TAG.search(lines[1]) is not None)

    @classmethod
    def from_options(cls, paths: list[str], fmt: str, format: str | None = None, *, units: str | None = None,
                     md_timestep: float | None = None, frame_interval: float | None = None, species=None,
                     masses=None, lj_scales=None, topology=None, **options) -> IPISource:
        """One i-PI file of positions; the units are those its comment lines state (``units=`` is refused)."""
        refuse_lammps_options(paths[0], fmt, options)
        refuse_several_files(paths, fmt)
        if units is not None or lj_scales is not None:
            raise ValueError(f"{paths[0]}: an i-PI file states its units on every comment line (positions{{...}}, "
                             "cell{...}); units= and lj_scales= do not apply")
        return cls(paths[0], md_timestep=md_timestep, frame_interval=frame_interval, masses=masses)

    def __init__(self, path, *, forces=None, velocities=None, md_timestep: float | None = None,
                 frame_interval: float | None = None, masses=None, properties=None):
        main = IPIFile(positions_file_of(os.fspath(path)))
        if main.field != "positions":
            raise TrajectoryFormatError(main.path, f"it holds {main.quantity}, not positions", frame=0,
                                        fix="open the positions file of the bead (PREFIX.pos_K.xyz): its forces "
                                            "and velocities files are joined to it")
        self.path = main.path
        self._files = {"positions": main}
        self._keep = np.arange(main.n_frames, dtype=np.int64)   # the frames of the positions file read
        self._left_out = None             # why the velocities file was left out
        for field, given in (("forces", forces), ("velocities", velocities)):
            p = sibling_path(main.path, field) if given is None else (given or None)
            if p is not None:
                joined = self._joined(IPIFile(p), field, main)
                if joined is not None:
                    self._files[field] = joined
        self.paths = [f.path for f in self._files.values()]
        self.n_frames, self.n_atoms = len(self._keep), main.n_atoms
        self.species = main.species()
        self.ids = np.arange(1, self.n_atoms + 1)
        self.masses = self._masses(masses)
        self.steps = main.steps[self._keep]
        self.bead = main.bead
        self.has_cell = main.cells is not None
        self.fields = tuple(f for f in ("positions", "velocities", "forces") if f in self._files)
        # the unit style a reference of the run (a LAMMPS data file, an XYZ file) is read in: the frames are converted
        # to metal units whatever unit i-PI wrote them in, and so is a reference, in A as LAMMPS' metal and real
        self.units = "metal"
        self.ipi_input = ipi_input_beside(main.path)
        inp = self.ipi_input
        self.ensemble = None if inp is None or inp.energy_conserved is None else (inp.energy_conserved,
                                                                                  inp.ensemble_said())
        stride = np.diff(main.steps)
        self.write_velocities = velocities_hint(int(stride.min()) if len(stride) and stride.min() > 0 else 1,
                                                self._left_out)
        self._times(md_timestep, frame_interval)
        self.frame_fields, self.energy_from, self.energy_problem = (), None, None
        self._energy = None
        self._properties = None
        if properties is not False:
            self._energies(None if properties is None else os.path.abspath(os.fspath(properties)))
        self.bead_count = self._bead_count()

    def _bead_count(self) -> str:
        """How the run's bead count is known, in words, after checking a bead file of a run whose input is not
        beside it: the kinetic temperature of its velocities against the ``temperature`` column of the properties
        file beside it, at the same steps. i-PI samples the momenta of each bead of a P-bead run at P T (Ceriotti,
        Parrinello, Markland and Manolopoulos, J. Chem. Phys. 133, 124104 (2010)) and writes the physical T in its
        properties, so a bead written alone (``<trajectory bead="0">``) has P times the properties' temperature.

        Raises
        ------
        trajmodes.errors.TrajectoryFormatError
            Velocities whose temperature is not the properties' (P >= 2 times it: a bead of a path-integral run;
            another ratio: velocities of another run).
        """
        from trajmodes.units import KB_EV, NATURAL_TIME_PS
        inp = self.ipi_input
        if inp is not None and inp.n_beads is not None:
            return f"{inp.n_beads} bead(s): the <nbeads> of {inp.path}"
        main = self._files["positions"]
        if main.bead is None and bead_file_parts(main.path) is None:
            return "one file of positions (no bead)"
        try:
            beads = len(ipi_run_files(main.path).beads)
        except (TrajectoryFormatError, OSError):
            beads = 1
        if beads > 1:
            return f"{beads} beads: the bead files beside it (the velocities of each sample {beads} T)"
        why = None
        vel = self._files.get("velocities")
        props = properties_files(main.path, inp)
        got = None
        if vel is None:
            why = "no velocities file"
        elif self.masses is None:
            why = "no masses"
        elif not props:
            why = "no properties file (PREFIX.out)"
        else:
            try:
                got = read_properties_column(props[0], "temperature", "temperature")
            except TrajectoryFormatError as e:
                why = f"its properties file cannot be read ({e.what})"
            if got is None and why is None:
                why = f"no step and temperature columns in {os.path.basename(props[0])}"
        frames = np.zeros(0, np.int64)
        if got is not None:
            t_props = at_steps(self.steps, got[0], got[1])
            frames = np.flatnonzero(np.isfinite(t_props))
            if not len(frames):
                why = f"no row of {os.path.basename(props[0])} at a step of the frames"
        if why is not None:
            return (f"not checked ({why}, and no i-PI input beside the files states <nbeads>): a bead of a "
                    "path-integral run written alone would be read as a classical run")
        take = min(len(frames), 64, max(8, 20_000 // self.n_atoms))   # a few thousand velocities: a 10 % verdict
        frames = frames[np.unique(np.linspace(0, len(frames) - 1, take).round().astype(np.int64))]
        v = np.empty((len(frames), self.n_atoms, 3))
        vel.read(vel.rows[frames], v)
        dof = 3 * self.n_atoms
        t_vel = float(np.mean((self.masses[None, :, None] * v * v).sum(axis=(1, 2)))) * NATURAL_TIME_PS ** 2 \
            / (dof * KB_EV)
        t_ref = float(np.mean(t_props[frames]))
        ratio = t_vel / t_ref if t_ref > 0 else np.inf
        said = (f"the kinetic temperature of {os.path.basename(vel.path)}, {t_vel:.1f} K over {len(frames)} frames, is "
                f"{ratio:.2f} times the {t_ref:.1f} K of the {got[2]} column of {props[0]} at the same steps")
        if RATIO_CLASSICAL[0] <= ratio <= RATIO_CLASSICAL[1]:
            return f"one bead: {said}"
        if ratio > RATIO_CLASSICAL[1]:
            n = int(round(ratio))
            raise TrajectoryFormatError(
                main.path, f"{said}: a bead of a path-integral run of about {n} beads written alone (i-PI samples "
                           "the momenta of each of P beads at P T), or velocities of another run",
                fix="fit a path-integral run over all its beads with trajmodes fit (write every bead: no bead= "
                    "attribute on the <trajectory> outputs) with its input beside the files; for a classical run, put "
                    "its input (<initialize nbeads=\"1\">) beside the files, or move the velocities file of another "
                    "run out of the folder")
        raise TrajectoryFormatError(
            vel.path, f"{said}: velocities of another run (an earlier run's file left beside a new run's positions?)",
            fix=f"move {os.path.basename(vel.path)} out of the folder, or put the run's input beside the files (its "
                "<output> says which files it writes)")

    def _energies(self, given: str | None) -> None:
        """Each frame's potential energy from the properties file (``given``, or the run's own beside it)."""
        main = self._files["positions"]
        parts = bead_file_parts(main.path)
        bead = main.bead if main.bead is not None else (parts[2] if parts is not None else None)
        if given is not None and not os.path.isfile(given):
            raise TrajectoryFormatError(given, "file does not exist", fix="give the properties file of the i-PI run "
                                        "(PREFIX.out: <properties filename=\"out\">)")
        candidates = [given] if given is not None else properties_files(main.path, self.ipi_input)
        if not candidates:
            return
        problem = None
        if main.quantity != "positions" or bead is None:
            problem = TrajectoryFormatError(main.path, f"it holds {main.quantity} of no bead: the properties' "
                                            "potential energy is the beads', not the centroid's",
                                            fix="read the beads (trajmodes.read_beads) for the energies")
        elif not main.has_steps:
            problem = TrajectoryFormatError(main.path, "the comment lines state no Step:, so the frames cannot be "
                                            "matched to the rows of the properties file", frame=0,
                                            fix="write the trajectory with i-PI 2 or later (it writes Step:)")
        else:
            n_beads = self.ipi_input.n_beads if self.ipi_input is not None else None
            for out in candidates:
                try:
                    got = read_properties_energy(out, bead, n_beads)
                    if got is None:
                        problem = TrajectoryFormatError(out, "no step column and potential energy (bead_potentials or "
                                                             "potential) in it",
                                                        fix="add step and bead_potentials{electronvolt} to the "
                                                            "<properties> of the input")
                        continue
                    self._energy = self._matched(got, main.path)
                except TrajectoryFormatError as e:
                    problem = e
                    continue
                self._properties, problem = out, None
                self.frame_fields = ("potential_energy",)
                self.energy_from = f"{got.column} of the i-PI properties file {out}"
                break
        if problem is not None:
            if given is not None:
                raise problem
            self.energy_problem = str(problem)
            if "no row of step" in problem.what and self._first_bead(main):      # said once a run
                warnings.warn(f"{main.path}: the frames have no potential energy (so no U_0 or free energy of a fit): "
                              f"{problem}", UserWarning, stacklevel=3)

    def _matched(self, got: PropertiesEnergy, positions: str) -> np.ndarray:
        """The energy of every frame read of the positions file ``positions`` from the rows of ``got`` of the
        frames' steps (the last row of a step written twice: a restarted run)."""
        where = {s: i for i, s in enumerate(got.steps.tolist())}
        steps = self.steps.tolist()
        missing = [k for k, s in enumerate(steps) if s not in where]
        if missing:
            k = missing[0]
            after = np.flatnonzero(got.steps > steps[k])
            line = int(got.lines[after[0]]) if len(after) else (int(got.lines[-1]) + 1 if len(got.lines) else None)
            stride = np.diff(np.unique(got.steps))
            said = f" (its rows every {int(stride.min())} steps)" if len(stride) else ""
            raise TrajectoryFormatError(
                got.path, f"no row of step {steps[k]}{said}, the step of frame {k} of {os.path.basename(positions)} "
                          f"({len(missing)} of its {len(steps)} frames have no row)", line=line,
                fix="write the properties with a stride that divides the trajectory's (<properties stride=...> of the "
                    "input), or read the frames without energies (properties=False)")
        rows = np.array([where[s] for s in steps], dtype=np.int64)
        self._energy_lines = got.lines[rows]            # each frame's line of the properties file (for messages)
        self._energy_column = got.column
        return got.energy[rows]

    def _check_energy(self, frames: np.ndarray, energy: np.ndarray) -> None:
        """Refuse a NaN or infinite energy of ``frames``, naming the properties file and its line (the row's)."""
        bad = np.flatnonzero(~np.isfinite(energy))
        if len(bad):
            k = int(frames[bad[0]])
            every = int((~np.isfinite(self._energy)).sum())
            raise TrajectoryFormatError(
                self._properties, f"{self._energy_column} is {self._energy[k]} at step {int(self.steps[k])} (frame {k}"
                                  f" of {os.path.basename(self.path)}; {every} of its {self.n_frames} frames)",
                line=int(self._energy_lines[k]),
                fix="the run's potential blew up there or the file is damaged: read the frames before that step "
                    f"(a slice), or move {os.path.basename(self._properties)} out of the folder to read them without "
                    "energies")

    def _masses(self, masses) -> np.ndarray | None:
        if masses is not None:
            table = dict(masses) if isinstance(masses, dict) else None
            if table is not None:
                missing = [s for s in dict.fromkeys(self.species.tolist()) if s not in table]
                if missing:
                    raise ValueError(f"{self.path}: no mass given for {', '.join(missing)}, which the file names: "
                                     "give a mass for every species of the file")
                return np.array([float(table[s]) for s in self.species])
            m = np.asarray(masses, dtype=float)
            if m.ndim == 0:
                return np.broadcast_to(m, (self.n_atoms,)).copy()
            names = list(dict.fromkeys(self.species.tolist()))          # in the order they first appear
            if m.ndim == 1 and len(m) == self.n_atoms:
                return m.copy()
            if m.ndim == 1 and len(m) == len(names):                    # one a species, as --species for types
                by = dict(zip(names, m.tolist()))
                return np.array([by[s] for s in self.species.tolist()])
            raise ValueError(f"{self.path}: {m.size} masses given, but the file names {len(names)} species "
                             f"({', '.join(names)}) of {self.n_atoms} atoms: give one mass per species, in the order "
                             "they first appear in the file (--masses " + ",".join("M" + str(k + 1) for k in
                                                                                  range(len(names)))
                             + "), or one per atom")
        uniq, inv = np.unique(self.species, return_inverse=True)
        m = masses_of(uniq)
        return None if m is None else m[inv]

    def _joined(self, other: IPIFile, field: str, main: IPIFile) -> IPIFile | None:
        """``other`` (the file of ``field``) checked against the positions file ``main``: the same atoms, the same
        bead, and the step of every frame read among its frames (:attr:`IPIFile.rows` maps them). Where some are not,
        the rule ``trajmodes watch`` follows: forces whose stride is a multiple of the positions' leave the frames
        without forces unread (:func:`~trajmodes.io.trajectories.ipi_files.coarser_forces`, said; other strides
        refused, naming both), and velocities are left out (None; the temperature unknown, said:
        :func:`~trajmodes.io.trajectories.ipi_files.velocities_left_out`)."""
        if other.field != field:
            raise TrajectoryFormatError(other.path, f"it holds {other.quantity}, not {field}", frame=0,
                                        fix=f"give the {field} file of the bead beside {os.path.basename(main.path)}")
        if other.n_atoms != main.n_atoms:
            raise TrajectoryFormatError(other.path, f"{other.n_atoms} atoms, but {main.n_atoms} in {main.path}",
                                        frame=0, fix="give the files of one run")
        if other.bead is not None and main.bead is not None and other.bead != main.bead:
            raise TrajectoryFormatError(other.path, f"it holds bead {other.bead}, {main.path} bead {main.bead}",
                                        frame=0, fix="give the files of one bead")
        steps = main.steps[self._keep]
        where = {int(s): i for i, s in enumerate(other.steps.tolist())}
        has = np.array([int(s) in where for s in steps.tolist()], dtype=bool)
        if not has.all():
            k = int(np.flatnonzero(~has)[0])
            step, name, pos_name = int(steps[k]), os.path.basename(other.path), os.path.basename(main.path)
            km = int(self._keep[k])
            p = int(main.steps[km] - main.steps[km - 1]) if km else (
                int(main.steps[1] - main.steps[0]) if main.n_frames > 1 else 0)
            before, after = other.steps[other.steps < step], other.steps[other.steps > step]
            f = int(after[0] - before[-1]) if len(before) and len(after) else (
                int(np.diff(other.steps).min()) if other.n_frames > 1 else 0)
            if field == "velocities":
                why = (f"{name} holds no frame after step {int(other.steps.max())}, while the positions have step "
                       f"{int(steps[-1])}" if not len(after) and has[:k].all() and k else
                       f"{name} is written every {f} steps, the positions every {p}" if f > 0 and p > 0 else
                       f"{name} has no frame of step {step}, which the positions have")
                if self._first_bead(main):
                    warnings.warn(f"{main.path}: {velocities_left_out(why, p or 1)}", UserWarning, stacklevel=4)
                self._left_out = why
                return None
            inside = other.steps[(other.steps >= steps[0]) & (other.steps <= steps[-1])]
            aligned = bool(np.isin(inside, steps).all())
            taken, what, fix = coarser_forces(name, pos_name, f, p, aligned, (int((~has).sum()), len(steps)))
            if not taken or f <= 0 or not has.any():
                raise TrajectoryFormatError(other.path, what if f > 0 and p > 0 else
                                            f"it has no frame of step {step}, which {pos_name} has (its frame {km}; "
                                            f"{int((~has).sum())} steps missing in all)",
                                            fix=f"{fix}, or read the positions alone (forces=False)")
            if self._first_bead(main):                      # said once a run (bead 0's file)
                warnings.warn(f"{main.path}: {what}; {fix}", UserWarning, stacklevel=4)
            self._keep, steps = self._keep[has], steps[has]
        other.rows = np.array([where[int(s)] for s in steps.tolist()], dtype=np.int64)
        return other

    @staticmethod
    def _first_bead(main: IPIFile) -> bool:
        """Whether ``main`` is bead 0's positions file (or of no bead): what every bead's file would say of the run
        is said of it alone."""
        parts = bead_file_parts(main.path)
        bead = main.bead if main.bead is not None else (parts[2] if parts is not None else None)
        return bead in (None, 0)

    def _times(self, md_timestep, frame_interval) -> None:
        from trajmodes.io.trajectories.times import frame_times
        found = None
        if self.ipi_input is not None and self.ipi_input.md_timestep is not None:
            found = (self.ipi_input.md_timestep, f"the <timestep> of the i-PI input {self.ipi_input.path}")
        else:
            found = properties_timestep(self.path)
        main = self._files["positions"]
        file_times, what = self._properties_times(found) if main.has_steps else (None, "")
        if file_times is None and md_timestep is None and frame_interval is None and self.ipi_input is not None:
            self._check_restart_timestep()
        axis = frame_times(self.path, self.steps, file_times, what_in_file=what, md_timestep=md_timestep,
                           frame_interval=frame_interval, found=found, has_steps=main.has_steps, stacklevel=6)
        self.times, self.md_timestep, self.time_axis = axis.times, axis.md_timestep, axis.source

    def _check_restart_timestep(self) -> None:
        """Warn where the run was restarted with another time step (:func:`restart_timestep_change`), the
        properties file giving no times to take instead."""
        said = restart_timestep_change(self.path, self.ipi_input)
        if said is not None:
            warnings.warn(f"{said}. Write time{{picosecond}} into the <properties> of the input (the times are then "
                          "matched by step), or give --md-timestep for a run of one time step", UserWarning,
                          stacklevel=6)

    def _properties_times(self, found) -> tuple[np.ndarray | None, str]:
        """The time of every frame from the ``time`` column of the properties file beside it (matched by step; a step
        between rows written at another stride on the line through them:
        :func:`~trajmodes.io.trajectories.ipi_files.step_times`), where it gives every frame's and its time per MD step
        changes along the run (a run restarted with another ``<timestep>``: i-PI's time goes on from the restart with
        the new step), with a warning that says so;
        ``(None, "")`` otherwise (one time step throughout: the steps x the time step ``found`` are the times)."""
        main = self._files["positions"]
        for out in properties_files(main.path, self.ipi_input):
            try:
                got = read_properties_column(out, "time", "time")
            except TrajectoryFormatError:
                continue
            if got is None:
                continue
            times = step_times(self.steps, got[0], got[1])       # between rows written at another stride: the line
            if not np.isfinite(times).all() or len(times) < 2:
                continue
            ds = np.diff(self.steps).astype(float)
            per_step = np.diff(times)[ds > 0] / ds[ds > 0]
            one = bool(np.allclose(per_step, np.median(per_step), rtol=1e-4)) if len(per_step) else True
            if one and (found is None or math.isclose(float(np.median(per_step)), found[0], rel_tol=1e-4)):
                return None, ""                   # one time step throughout, the one found: the steps x it
            if found is None:
                dt, where = float(per_step[0]), f"the first rows of {out}"
            else:
                dt, where = found
            k = int(np.flatnonzero(~np.isclose(np.diff(times), ds * dt, rtol=1e-4))[0])
            why = ("the run's time step throughout is not that one (an input edited after the run?)" if one else
                   "the run changed its time step (restarted with another <timestep>)")
            warnings.warn(f"{self.path}: the {got[2]} column of {out} says {np.diff(times)[k]:g} ps between the "
                          f"frames of MD steps {int(self.steps[k])} and {int(self.steps[k + 1])}, not their steps x "
                          f"the time step {dt:g} ps of {where}: {why}; the frames' times are the properties file's",
                          UserWarning, stacklevel=5)
            return times, f"the {got[2]} column (matched by step) of {out}, i-PI's properties,"
        return None, ""

    def read(self, frames, fields=None) -> dict:
        """Read frames by index (ascending); see :meth:`FrameSource.read`: positions (Å), velocities (Å/ps), forces
        (eV/Å) of the fields asked for, cells (Å, rows a, b, c), origins (zero) and, of the :attr:`frame_fields`
        asked for, ``potential_energy`` (eV)."""
        frames = np.asarray(frames, dtype=np.int64).ravel()
        if len(frames) and (frames.min() < 0 or frames.max() >= self.n_frames):
            raise IndexError(f"frames must lie in 0..{self.n_frames - 1}")
        wanted = tuple(f for f in self.fields if fields is None or f in fields)
        per_frame = tuple(f for f in self.frame_fields if fields is None or f in fields)
        out = empty_frames(len(frames), self.n_atoms, wanted + per_frame)
        if self.has_cell:
            out["cells"][:] = self._files["positions"].cells[self._keep[frames]]
        if "potential_energy" in per_frame:
            out["potential_energy"][:] = self._energy[frames]
            self._check_energy(frames, out["potential_energy"])
        for field in wanted:
            f = self._files[field]
            rows = self._keep[frames] if field == "positions" else f.rows[frames]
            if len(rows) > 1 and (np.diff(rows) <= 0).any():          # not ascending in that file: one at a time
                for i, r in enumerate(rows.tolist()):
                    f.read(np.array([r]), out[field][i:i + 1])
            else:
                f.read(rows, out[field])
        return out

    def run_files(self) -> IPIRunFiles:
        """The files of the path-integral run this bead belongs to (:func:`~trajmodes.io.trajectories.ipi_files.ipi_run_files`)."""
        return ipi_run_files(self.path)

    def frame_boxes(self, frames) -> tuple[np.ndarray, np.ndarray]:
        """The cells (n, 3, 3) and origins (n, 3) of ``frames``, Å, from the comment lines (read on opening)."""
        frames = np.asarray(frames, dtype=np.int64)
        return self._files["positions"].cells[self._keep[frames]], np.zeros((len(frames), 3))

    def token(self) -> tuple:
        extra = ()
        if self._properties is not None:
            st = os.stat(self._properties)
            extra = ((self._properties, st.st_size, st.st_mtime_ns),)
        return (type(self).__name__,) + tuple(f.stamp() for f in self._files.values()) + extra

    def describe(self) -> str:
        joined = [os.path.basename(f.path) for k, f in self._files.items() if k != "positions"]
        return f"i-PI {self.path}" + (f" (with {', '.join(joined)})" if joined else "")


def ipi_bead_count(path: str) -> str:
    """The bead count of the i-PI run of the output file ``path`` as :attr:`IPISource.bead_count` says it (the
    input's ``<nbeads>``, else the velocities' kinetic temperature against the properties file's), for a reader of
    the run's frames that does not open it with :class:`IPISource` (``trajmodes watch`` reads copies of its frames,
    without the properties file beside them). Only where the check can be made (no input states the bead count, a
    properties file is beside the files) is the source opened (its files indexed), without its warnings, which the
    frames' own reading gives; a run whose files cannot be opened yet (nothing written) is "not checked".

    Raises
    ------
    trajmodes.errors.TrajectoryFormatError
        A bead file whose velocities are at P >= 2 times the properties' temperature (a bead of a P-bead
        path-integral run written alone), or at another temperature (velocities of another run).
    """
    inp = ipi_input_beside(os.fspath(path))
    if inp is not None and inp.n_beads is not None:
        return f"{inp.n_beads} bead(s): the <nbeads> of {inp.path}"
    if not properties_files(positions_file_of(os.fspath(path)), inp):
        return ("not checked (no properties file (PREFIX.out), and no i-PI input beside the files states <nbeads>): "
                "a bead of a path-integral run written alone would be read as a classical run")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return IPISource(path, md_timestep=1.0, properties=False).bead_count
    except TrajectoryFormatError as e:
        if "kinetic temperature of" in e.what:
            raise
        return f"not checked ({e.what})"


def restart_timestep_change(path: str, inp) -> str | None:
    """What is wrong with the times of the i-PI run of the output file ``path`` (its input ``inp``, an
    :class:`~trajmodes.io.trajectories.ipi_files.IPIInput` or None): where i-PI's checkpoint ``RESTART`` beside the
    files, written after the input, states another ``<timestep>`` than the input (a run restarted with another time
    step), a sentence saying so (the frames' times, their steps x the input's step, are wrong after the restart);
    None otherwise (no input, no checkpoint, one written before the input, one of the same step, one too large to
    read)."""
    restart = os.path.join(os.path.dirname(os.path.abspath(path)), "RESTART")
    if inp is None or inp.md_timestep is None or not os.path.isfile(restart) or os.path.getsize(restart) > 64 << 20:
        return None
    if os.path.getmtime(restart) <= os.path.getmtime(inp.path):
        return None
    try:
        got = read_ipi_input(restart)
    except TrajectoryFormatError:
        return None
    if got is None or got.md_timestep is None or math.isclose(got.md_timestep, inp.md_timestep, rel_tol=1e-6):
        return None
    return (f"{path}: the i-PI checkpoint {restart} states a time step of {got.md_timestep * 1e3:g} fs, {inp.path} "
            f"{inp.md_timestep * 1e3:g} fs: the run was restarted with another time step, and the frames' times "
            "(their steps x the input's step) are wrong after the restart")
